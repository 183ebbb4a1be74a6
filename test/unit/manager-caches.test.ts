// One cache per kind, shared by every controller that reads it: the manager hands out the same
// cache for a kind however often it is asked.
import { expect } from 'chai';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { GalleryShareKind, TenantGrantKind } from '../../src/api/v1alpha1/index.js';
import { Manager } from '../../src/runtime/manager.js';
import { OperatorMetrics } from '../../src/runtime/metrics.js';

function manager(watchNamespaces: string[], watchLabelSelector = ''): Manager {
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
  return new Manager({ kc, logger: pino({ level: 'silent' }), metrics: new OperatorMetrics({ processMetrics: false }), healthAddress: '', shutdownTimeoutMs: 1_000, component: 'test', watchNamespaces, watchLabelSelector });
}

describe('the manager\'s caches', () => {
  it('gives every controller the one cache of a kind, and another kind its own', () => {
    const m = manager([]);
    expect(m.cache(GalleryShareKind)).to.equal(m.cache(GalleryShareKind));
    expect(m.cache(TenantGrantKind)).not.to.equal(m.cache(GalleryShareKind));
  });

  it('reads lookups from the same cache unsharded, and a shard from one cache of every object beside its own', () => {
    const unsharded = manager([]);
    expect(unsharded.lookupCache(GalleryShareKind), 'one cache: each object held once').to.equal(unsharded.cache(GalleryShareKind));
    const shard = manager([], 'galleryshare.io/shard=a');
    expect(shard.lookupCache(GalleryShareKind)).not.to.equal(shard.cache(GalleryShareKind));
    expect(shard.lookupCache(GalleryShareKind), 'one lookup cache of a kind').to.equal(shard.lookupCache(GalleryShareKind));
    expect(shard.lookupCache(TenantGrantKind)).not.to.equal(shard.lookupCache(GalleryShareKind));
  });

});
