// The share action through gallerySharingProfile.update: Add, Remove, Reset, EnableCommunity,
// answered as a long-running operation or synchronously; the limits; who may share.
import { expect } from 'chai';
import type { RunningEmulator } from '../azure-emulator/index.js';
import { galleryPath, ids, ownerCompute, raw, rejection, secretCredential, compute, startSample } from './helpers.js';

const fast = { updateIntervalInMs: 5 };
const guid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('emulator: gallery sharing', () => {
  let e: RunningEmulator;
  before(async () => {
    e = await startSample();
  });
  after(async () => e.stop());
  beforeEach(async () => e.control.reset());

  const groupsOf = async () => (await ownerCompute(e).galleries.get(ids.galleryRG, ids.gallery, { expand: 'SharingProfile/Groups' })).sharingProfile?.groups;

  it('adds and removes subscriptions and tenants (202 + polling, the default)', async () => {
    const client = ownerCompute(e);
    const added = await client.gallerySharingProfile.update(
      ids.galleryRG,
      ids.gallery,
      { operationType: 'Add', groups: [{ type: 'Subscriptions', ids: [ids.devSubscription] }, { type: 'AADTenants', ids: [ids.fabrikam] }] },
      fast,
    );
    expect(added.operationType).to.equal('Add');
    expect(await groupsOf()).to.deep.equal([
      { type: 'Subscriptions', ids: [ids.devSubscription] },
      { type: 'AADTenants', ids: [ids.fabrikam] },
    ]);
    const share = (await e.control.requests()).find((r) => r.operation === 'GallerySharingProfile_Update')!;
    expect(share.status).to.equal(202);
    await client.gallerySharingProfile.update(ids.galleryRG, ids.gallery, { operationType: 'Remove', groups: [{ type: 'AADTenants', ids: [ids.fabrikam] }] }, fast);
    expect(await groupsOf()).to.deep.equal([{ type: 'Subscriptions', ids: [ids.devSubscription] }]);
  });

  it('answers 202 with Azure-AsyncOperation, Location and Retry-After, and applies the change when the operation completes', async () => {
    await e.control.setOptions({ lroDurationMs: 60_000, retryAfterSeconds: 3 });
    const token = await e.control.issueToken({ appId: ids.galleryOwner, tenantId: ids.contoso });
    const res = await raw(e, 'POST', `${galleryPath}/share?api-version=2025-12-03`, { token, body: { operationType: 'Add', groups: [{ type: 'Subscriptions', ids: [ids.devSubscription] }] } });
    expect(res.status).to.equal(202);
    expect(res.headers['azure-asyncoperation']).to.match(/\/operations\//);
    expect(res.headers['location']).to.match(/monitor=true/);
    expect(res.headers['retry-after']).to.equal('3');
    const during = await ownerCompute(e).galleries.get(ids.galleryRG, ids.gallery, { expand: 'SharingProfile/Groups' });
    expect(during.sharingStatus?.aggregatedState).to.equal('InProgress');
    expect(during.sharingProfile?.groups).to.deep.equal([]);
    const monitor = new URL(res.headers['location'] as string);
    expect((await raw(e, 'GET', monitor.pathname + monitor.search, { token })).status).to.equal(202);
    const second = await raw(e, 'POST', `${galleryPath}/share?api-version=2025-12-03`, { token, body: { operationType: 'Reset' } });
    expect(second.status).to.equal(409);
    await e.control.advanceClock(60_000);
    const result = await raw(e, 'GET', monitor.pathname + monitor.search, { token });
    expect(result.status).to.equal(200);
    expect(result.body.operationType).to.equal('Add');
    const after = await ownerCompute(e).galleries.get(ids.galleryRG, ids.gallery, { expand: 'SharingProfile/Groups' });
    expect(after.sharingStatus?.aggregatedState).to.equal('Succeeded');
    expect(after.sharingProfile?.groups).to.deep.equal([{ type: 'Subscriptions', ids: [ids.devSubscription] }]);
  });

  it('lets the SDK poller wait for a share that takes time, then shows the change', async () => {
    await e.control.setOptions({ lroDurationMs: 40 });
    const client = ownerCompute(e);
    const result = await client.gallerySharingProfile.update(ids.galleryRG, ids.gallery, { operationType: 'Add', groups: [{ type: 'AADTenants', ids: [ids.fabrikam] }] }, fast);
    expect(result.operationType).to.equal('Add');
    expect(await groupsOf()).to.deep.equal([{ type: 'AADTenants', ids: [ids.fabrikam] }]);
    const polls = (await e.control.requests()).filter((r) => r.operation === 'Operations_Get');
    expect(polls.length).to.be.greaterThan(1);
  });

  it('answers 200 synchronously when configured', async () => {
    await e.control.setOptions({ shareMode: 'sync' });
    const result = await ownerCompute(e).gallerySharingProfile.update(ids.galleryRG, ids.gallery, { operationType: 'Add', groups: [{ type: 'AADTenants', ids: [ids.fabrikam] }] });
    expect(result.groups).to.deep.equal([{ type: 'AADTenants', ids: [ids.fabrikam] }]);
    const share = (await e.control.requests()).find((r) => r.operation === 'GallerySharingProfile_Update')!;
    expect(share.status).to.equal(200);
  });

  it('resets the groups (the permission stays)', async () => {
    const client = ownerCompute(e);
    await client.gallerySharingProfile.update(ids.galleryRG, ids.gallery, { operationType: 'Add', groups: [{ type: 'AADTenants', ids: [ids.fabrikam] }] }, fast);
    await client.gallerySharingProfile.update(ids.galleryRG, ids.gallery, { operationType: 'Reset' }, fast);
    expect(await groupsOf()).to.deep.equal([]);
    expect((await client.galleries.get(ids.galleryRG, ids.gallery)).sharingProfile?.permissions).to.equal('Groups');
  });

  it('refuses more than 30 subscriptions and more than 5 tenants with 400', async () => {
    const client = ownerCompute(e);
    const subs = await rejection(client.gallerySharingProfile.update(ids.galleryRG, ids.gallery, { operationType: 'Add', groups: [{ type: 'Subscriptions', ids: Array.from({ length: 31 }, (_, i) => guid(i)) }] }, fast));
    expect(subs.statusCode).to.equal(400);
    expect(subs.code).to.equal('InvalidParameter');
    await client.gallerySharingProfile.update(ids.galleryRG, ids.gallery, { operationType: 'Add', groups: [{ type: 'Subscriptions', ids: Array.from({ length: 30 }, (_, i) => guid(i)) }] }, fast);
    const tenants = await rejection(client.gallerySharingProfile.update(ids.galleryRG, ids.gallery, { operationType: 'Add', groups: [{ type: 'AADTenants', ids: Array.from({ length: 6 }, (_, i) => guid(100 + i)) }] }, fast));
    expect(tenants.statusCode).to.equal(400);
  });

  it('counts the limits over what is already shared, not per request', async () => {
    const client = ownerCompute(e);
    const add = (type: string, members: string[]) => client.gallerySharingProfile.update(ids.galleryRG, ids.gallery, { operationType: 'Add', groups: [{ type, ids: members }] }, fast);
    await add('Subscriptions', Array.from({ length: 29 }, (_, i) => guid(i)));
    await add('Subscriptions', [guid(0), guid(29)]); // one already there: 30 in all
    const thirtyFirst = await rejection(add('Subscriptions', [guid(30)]));
    expect(thirtyFirst.statusCode).to.equal(400);
    expect(thirtyFirst.code).to.equal('InvalidParameter');
    await add('AADTenants', Array.from({ length: 4 }, (_, i) => guid(100 + i)));
    await add('AADTenants', [guid(104)]);
    expect((await rejection(add('AADTenants', [guid(105)]))).code).to.equal('InvalidParameter');
    const groups = await groupsOf();
    expect(groups?.map((g) => [g.type, g.ids?.length])).to.deep.equal([['Subscriptions', 30], ['AADTenants', 5]]);
    // Removing makes room again.
    await client.gallerySharingProfile.update(ids.galleryRG, ids.gallery, { operationType: 'Remove', groups: [{ type: 'Subscriptions', ids: [guid(0)] }] }, fast);
    await add('Subscriptions', [guid(30)]);
  });

  it('refuses EnableCommunity on a gallery that is not Community, and Remove on one that is not Groups', async () => {
    const client = ownerCompute(e);
    const enable = await rejection(client.gallerySharingProfile.update(ids.galleryRG, ids.gallery, { operationType: 'EnableCommunity' }, fast));
    expect(enable.statusCode).to.equal(400);
    expect(enable.code).to.equal('InvalidParameter');
    const remove = await rejection(client.gallerySharingProfile.update(ids.galleryRG, 'contosoPublic', { operationType: 'Remove', groups: [{ type: 'AADTenants', ids: [ids.fabrikam] }] }, fast));
    expect(remove.code).to.equal('InvalidParameter');
  });

  it('answers EnableCommunity and Reset synchronously too when configured', async () => {
    await e.control.setOptions({ shareMode: 'sync' });
    const client = ownerCompute(e);
    expect((await client.gallerySharingProfile.update(ids.galleryRG, 'contosoPublic', { operationType: 'EnableCommunity' })).operationType).to.equal('EnableCommunity');
    expect((await client.galleries.get(ids.galleryRG, 'contosoPublic')).sharingProfile?.communityGalleryInfo?.communityGalleryEnabled).to.equal(true);
    expect((await client.gallerySharingProfile.update(ids.galleryRG, 'contosoPublic', { operationType: 'Reset' })).operationType).to.equal('Reset');
    expect((await client.galleries.get(ids.galleryRG, 'contosoPublic')).sharingProfile?.communityGalleryInfo?.communityGalleryEnabled).to.equal(false);
    const statuses = (await e.control.requests()).filter((r) => r.operation === 'GallerySharingProfile_Update').map((r) => r.status);
    expect(statuses).to.deep.equal([200, 200]);
  });

  it('refuses Add on a gallery whose permission is not Groups', async () => {
    const failure = await rejection(ownerCompute(e).gallerySharingProfile.update(ids.galleryRG, 'contosoPublic', { operationType: 'Add', groups: [{ type: 'AADTenants', ids: [ids.fabrikam] }] }, fast));
    expect(failure.code).to.equal('InvalidParameter');
  });

  it('enables community sharing under the public names the gallery got when it was made Community; Reset disables it and keeps them', async () => {
    const client = ownerCompute(e);
    const info = async () => (await client.galleries.get(ids.galleryRG, 'contosoPublic')).sharingProfile?.communityGalleryInfo;
    const before = await info();
    expect(before?.communityGalleryEnabled).to.equal(false);
    expect(before?.publicNames).to.have.length(1);
    expect(before?.publicNames?.[0]).to.match(/^contoso-[0-9a-f-]{36}$/);
    await client.gallerySharingProfile.update(ids.galleryRG, 'contosoPublic', { operationType: 'EnableCommunity' }, fast);
    expect(await info()).to.include({ communityGalleryEnabled: true }).and.to.have.deep.property('publicNames', before?.publicNames);
    await client.gallerySharingProfile.update(ids.galleryRG, 'contosoPublic', { operationType: 'Reset' }, fast);
    expect(await info()).to.include({ communityGalleryEnabled: false }).and.to.have.deep.property('publicNames', before?.publicNames);
  });

  it('shows EnableCommunity only when its operation completes (communityGalleryEnabled false while it runs)', async () => {
    await e.control.holdOperations({ path: '/share$' });
    const client = ownerCompute(e);
    const poller = client.gallerySharingProfile.update(ids.galleryRG, 'contosoPublic', { operationType: 'EnableCommunity' }, fast);
    await poller.submitted();
    const running = await client.galleries.get(ids.galleryRG, 'contosoPublic');
    expect(running.sharingStatus?.aggregatedState).to.equal('InProgress');
    expect(running.sharingProfile?.communityGalleryInfo?.communityGalleryEnabled).to.equal(false);
    await e.control.releaseOperations();
    await poller;
    expect((await client.galleries.get(ids.galleryRG, 'contosoPublic')).sharingProfile?.communityGalleryInfo?.communityGalleryEnabled).to.equal(true);
  });

  it('lets Compute Gallery Sharing Admin share but not Contributor (share/action is in its NotActions)', async () => {
    // The gallery app has a service principal in its home tenant; give it Contributor only.
    const appOid = e.emulator.world.servicePrincipal(ids.galleryApp, ids.contoso)!.objectId;
    await e.control.assignRole(`/subscriptions/${ids.gallerySubscription}`, appOid, 'Contributor');
    const contributor = compute(e, secretCredential(e, ids.contoso, ids.galleryApp), ids.gallerySubscription);
    const failure = await rejection(contributor.gallerySharingProfile.update(ids.galleryRG, ids.gallery, { operationType: 'Reset' }, fast));
    expect(failure.statusCode).to.equal(403);
    expect(failure.message).to.contain('Microsoft.Compute/galleries/share/action');
    await e.control.assignRole(galleryPath, appOid, 'Compute Gallery Sharing Admin');
    await contributor.gallerySharingProfile.update(ids.galleryRG, ids.gallery, { operationType: 'Reset' }, fast);
  });
});
