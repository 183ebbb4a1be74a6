// Which GalleryShare holds a gallery (handler.preconditions): the oldest one naming it. A shard
// reads the claims from a cache of every shard's GalleryShares, a watch apart from its own: it
// decides only once that cache holds the object itself (and so every older one): cachesCurrent,
// until which the shared reconciler does nothing.
import { expect } from 'chai';
import type { GalleryShare } from '../../src/api/v1alpha1/index.js';
import type { AzureClients } from '../../src/azure/clients.js';
import { GalleryShareHandler } from '../../src/controllers/galleryshare/handler.js';
import type { CredentialResolver } from '../../src/controllers/shared/credentials.js';

const S1 = '11111111-1111-4111-8111-111111111111';
const share = (namespace: string, name: string, uid: string, creationTimestamp: string): GalleryShare => ({
  apiVersion: 'galleryshare.io/v1alpha1',
  kind: 'GalleryShare',
  metadata: { name, namespace, uid, creationTimestamp, generation: 1 },
  spec: { gallery: { subscriptionId: S1, resourceGroup: 'rg', name: 'g' }, permission: 'Groups' },
});

describe('GalleryShare claims across shards', () => {
  const older = share('team-a', 'first', 'uid-1', '2026-11-30T10:00:00Z');
  const newer = share('team-b', 'second', 'uid-2', '2026-11-30T10:00:05Z');

  it('decides only once the cache of every GalleryShare holds this one, then stalls the newer with GalleryClaimed', () => {
    let everyShare: GalleryShare[] = [older];
    const handler = new GalleryShareHandler({
      azure: {} as AzureClients,
      credentials: {} as CredentialResolver,
      policy: { allowCommunitySharing: false, requireObjectCredentials: false },
      sharesOfGallery: () => everyShare,
      claimsCurrent: (gs) => everyShare.some((o) => o.metadata.uid === gs.metadata.uid),
    });
    expect(handler.cachesCurrent(newer), 'not yet in the cache of every GalleryShare').to.equal(false);
    expect(handler.cachesCurrent(older)).to.equal(true);

    everyShare = [older, newer];
    expect(handler.cachesCurrent(newer)).to.equal(true);
    expect(handler.preconditions(newer, 'reconcile')).to.deep.include({ reason: 'GalleryClaimed' });
    expect(handler.preconditions(newer, 'reconcile')!.message).to.include('GalleryShare team-a/first already manages gallery g');
    expect(handler.preconditions(older, 'reconcile'), 'the older one holds the gallery').to.equal(undefined);
  });

  it('unsharded (no claimsCurrent), the cache read is the one the object came from: always current', () => {
    const handler = new GalleryShareHandler({ azure: {} as AzureClients, credentials: {} as CredentialResolver, policy: { allowCommunitySharing: false, requireObjectCredentials: false }, sharesOfGallery: () => [] });
    expect(handler.cachesCurrent(newer)).to.equal(true);
  });
});
