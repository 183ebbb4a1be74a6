// The informer's resilience on a real API server, with a loopback TCP proxy between the two that
// can cut or freeze the connections.
// - 410 Gone: while the informer is cut off, an object it knows is deleted, another is created
//   and etcd is compacted past its resourceVersion, as a cluster does every five minutes. Its
//   next watch fails with 410 Expired and it must relist: the deletion it never saw as a watch
//   event still reaches the cache and its handlers.
// - A silent stall: the watch connection stays open but nothing more arrives (a dropped NAT
//   entry, a hung proxy; client-node watches have been known to stall this way). The watchdog
//   must notice and start a new watch.
//
// These tests have a control plane of their own, started with --watch-cache=false: the watch
// cache would otherwise serve the old resourceVersion from memory for a while after compaction,
// and the informer would simply resume.
import { expect } from 'chai';
import { join } from 'node:path';
import pino from 'pino';
import { GROUP, VERSION, type GalleryShare } from '../../src/api/v1alpha1/index.js';
import { Informer } from '../../src/runtime/informer.js';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { kubeListerWatcher } from '../../src/runtime/list-watch.js';
import { startControlPlane, type ControlPlane } from '../support/control-plane.js';
import { CuttableProxy } from '../support/cuttable-proxy.js';
import { createTestNamespace, installCrds, kubeClients, loadYamlDocuments, repoRoot } from '../support/kube.js';

const sample = loadYamlDocuments(join(repoRoot, 'config/samples/galleryshare.yaml'))[0] as unknown as GalleryShare;

async function eventually(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('informer resilience (own control plane, no watch cache)', function () {
  this.timeout(180_000);
  let controlPlane: ControlPlane;
  let proxy: CuttableProxy;
  let admin: KubeClient;
  const cleanups: (() => Promise<void> | void)[] = [];

  before(async () => {
    controlPlane = await startControlPlane({ apiserverArgs: ['--watch-cache=false'] });
    await installCrds(kubeClients(controlPlane.kubeconfigPath));
    proxy = await new CuttableProxy(Number(new URL(controlPlane.server).port)).listen();
    admin = new KubeClient(kubeClients(controlPlane.kubeconfigPath).kc);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    proxy.reconnect();
  });
  after(async () => {
    admin?.close();
    await proxy?.close();
    await controlPlane?.stop();
  });

  /** A namespace, and a way to create sample GalleryShares in it (directly, not through the proxy). */
  async function testNamespace(prefix: string) {
    const namespace = await createTestNamespace(kubeClients(controlPlane.kubeconfigPath), prefix);
    const collection = `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares`;
    const create = (name: string) => admin.create<GalleryShare>(collection, { ...sample, metadata: { name } });
    return { namespace, collection, create };
  }

  /** An informer that reaches the API server only through the proxy, with what it reports. */
  async function informerThroughProxy(collection: string, options: { watchTimeoutSeconds: number; stallGraceMs?: number }) {
    const viaProxy = kubeClients(controlPlane.kubeconfigPath);
    viaProxy.kc.clusters[0] = { ...viaProxy.kc.clusters[0]!, server: `https://127.0.0.1:${proxy.port}` };
    const client = new KubeClient(viaProxy.kc);
    const restarts: string[] = [];
    const events: string[] = [];
    const informer = new Informer<GalleryShare>({
      listerWatcher: kubeListerWatcher<GalleryShare>(viaProxy.kc, client, collection),
      logger: pino({ level: 'silent' }),
      ...options,
      onWatchRestart: (reason) => restarts.push(reason),
    });
    informer.onChange((event, obj) => events.push(`${event}:${obj.metadata.name}`));
    cleanups.push(async () => {
      await informer.stop();
      client.close();
    });
    await informer.start();
    return { informer, restarts, events };
  }

  it('relists after compaction and reports what it missed, the deletion included', async () => {
    const { namespace, collection, create } = await testNamespace('relist');
    await create('kept');
    await create('deleted-while-away');
    const { informer, restarts, events } = await informerThroughProxy(collection, { watchTimeoutSeconds: 120 });
    expect(informer.keys().sort()).to.deep.equal([`${namespace}/deleted-while-away`, `${namespace}/kept`]);
    // Let the watch be established before cutting it.
    await new Promise((r) => setTimeout(r, 500));

    proxy.disconnect();
    await eventually(() => restarts.includes('error'), 'the informer to notice the cut');
    await admin.delete(`${collection}/deleted-while-away`);
    await create('created-while-away');
    await controlPlane.compactEtcd();
    proxy.reconnect();

    await eventually(() => restarts.includes('gone'), 'a 410 Gone from the resumed watch');
    await eventually(() => informer.keys().length === 2 && informer.get(`${namespace}/created-while-away`) !== undefined, 'the relist');
    expect(informer.keys().sort()).to.deep.equal([`${namespace}/created-while-away`, `${namespace}/kept`]);
    expect(events).to.include.members(['deleted:deleted-while-away', 'added:created-while-away']);
    expect(events.filter((e) => e === 'added:kept'), 'an unchanged object is not reported again').to.have.length(1);

    // And the informer watches again after the relist.
    await create('after-relist');
    await eventually(() => informer.get(`${namespace}/after-relist`) !== undefined, 'the watch after the relist');
  });

  it('restarts a watch that stays open but goes silent', async () => {
    const { namespace, collection, create } = await testNamespace('stall');
    // The server ends each watch after about 2 s; a watch silent for 2 s more is taken as stalled.
    const { informer, restarts } = await informerThroughProxy(collection, { watchTimeoutSeconds: 2, stallGraceMs: 2_000 });
    await create('before');
    await eventually(() => informer.get(`${namespace}/before`) !== undefined, 'the first watch event');

    proxy.freeze();
    await create('during-the-stall');
    await eventually(() => restarts.includes('stalled'), 'the watchdog to restart the silent watch', 15_000);
    await eventually(() => informer.get(`${namespace}/during-the-stall`) !== undefined, 'the object created during the stall');
    expect(restarts.filter((r) => r === 'gone'), 'resumed from its resourceVersion, no relist needed').to.deep.equal([]);
  });
});
