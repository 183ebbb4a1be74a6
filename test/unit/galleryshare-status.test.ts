// GalleryShare's status from what a reconcile observed (handler.status, pure): the adoption
// record is made from the first look before the object's first change, kept in step with Azure
// afterwards, never made up for an object that acted without one; and a status written without a
// read of the gallery claims nothing about its sharing.
import { expect } from 'chai';
import type { GalleryShare, GalleryShareStatus } from '../../src/api/v1alpha1/index.js';
import { GalleryShareHandler } from '../../src/controllers/galleryshare/handler.js';
import type { Observation } from '../../src/controllers/galleryshare/plan.js';
import type { AzureClients } from '../../src/azure/clients.js';
import type { CredentialResolver } from '../../src/controllers/shared/credentials.js';

const S1 = '11111111-1111-4111-8111-111111111111';
const S2 = '22222222-2222-4222-8222-222222222222';
const handler = new GalleryShareHandler({ azure: {} as AzureClients, credentials: {} as CredentialResolver, policy: { allowCommunitySharing: false, requireObjectCredentials: false }, sharesOfGallery: () => [] });
const gs: GalleryShare = {
  apiVersion: 'galleryshare.io/v1alpha1',
  kind: 'GalleryShare',
  metadata: { name: 'golden', namespace: 'platform', generation: 1 },
  spec: { gallery: { subscriptionId: S1, resourceGroup: 'rg', name: 'g' }, permission: 'Groups', directShare: { subscriptions: [S1, S2] } },
};
const seen = (subscriptions: string[]): Observation => ({
  gallery: { uniqueName: `${S1}-G`, permission: 'Groups', subscriptions, tenants: [], communityEnabled: false, communityPublicNames: [] },
  roleAssignments: [],
});
const acted: GalleryShareStatus = { observedGeneration: 1, conditions: [{ type: 'DirectShareSynced', status: 'True', reason: 'Synced', message: '', lastTransitionTime: '2026-11-29T10:00:00Z', observedGeneration: 1 }] };

describe('GalleryShare status (handler.status)', () => {
  it('records what the gallery held before the first change, from the look before it, not after it', () => {
    const status = handler.status(gs, seen([S1, S2]), { before: seen([S1]), current: undefined, gone: false });
    expect(status.adopted).to.deep.equal({ permission: 'Groups', subscriptions: [S1], tenants: [], communityPublished: false });
    expect(status.directShare).to.deep.equal({ subscriptions: [S1, S2], tenants: [] });
  });

  it('keeps the record in step with Azure: an adopted entry that left stops counting', () => {
    const current: GalleryShareStatus = { ...acted, adopted: { permission: 'Groups', subscriptions: [S1, S2], tenants: [], communityPublished: false } };
    expect(handler.status(gs, seen([S2]), { current, gone: false }).adopted?.subscriptions).to.deep.equal([S2]);
  });

  it('never makes a record up for an object that acted without one (a status restored without it)', () => {
    expect(handler.status(gs, seen([S1]), { before: seen([S1]), current: acted, gone: false }).adopted).to.equal(undefined);
  });

  it('without a read of the gallery, claims nothing of its sharing; keeps the record, and the unique name unless the gallery is gone', () => {
    const current: GalleryShareStatus = { ...acted, galleryUniqueName: `${S1}-G`, directShare: { subscriptions: [S1], tenants: [] }, adopted: { permission: 'Groups', subscriptions: [], tenants: [], communityPublished: false } };
    expect(handler.status(gs, undefined, { current, gone: false })).to.deep.equal({ galleryUniqueName: `${S1}-G`, adopted: current.adopted });
    expect(handler.status(gs, undefined, { current, gone: true })).to.deep.equal({ adopted: current.adopted });
  });

  it('names public names only while published', () => {
    const named: Observation = { ...seen([]), gallery: { ...seen([]).gallery, permission: 'Community', communityEnabled: false, communityPublicNames: ['contoso-1'] } };
    expect(handler.status(gs, named, { current: acted, gone: false }).communityPublicNames).to.equal(undefined);
    expect(handler.status(gs, { ...named, gallery: { ...named.gallery, communityEnabled: true } }, { current: acted, gone: false }).communityPublicNames).to.deep.equal(['contoso-1']);
  });
});
