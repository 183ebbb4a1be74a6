// Galleries through @azure/arm-compute: create (sync and as a long-running operation), get with
// and without $expand, $select, update, list, the permission-change rules and the deletion rules.
import { expect } from 'chai';
import type { RunningEmulator } from '../azure-emulator/index.js';
import { galleryPath, ids, ownerCompute, raw, rejection, secretCredential, startSample } from './helpers.js';

describe('emulator: galleries', () => {
  let e: RunningEmulator;
  before(async () => {
    e = await startSample();
  });
  after(async () => e.stop());
  beforeEach(async () => e.control.reset());

  it('creates a gallery with permission Groups and derives identifier.uniqueName', async () => {
    const client = ownerCompute(e);
    const gallery = await client.galleries.createOrUpdate(ids.galleryRG, 'shared.Gallery_2', { location: 'eastus', description: 'x', sharingProfile: { permissions: 'Groups' } });
    expect(gallery.provisioningState).to.equal('Succeeded');
    expect(gallery.identifier?.uniqueName).to.equal(`${ids.gallerySubscription}-SHARED.GALLERY_2`);
    expect(gallery.sharingProfile?.permissions).to.equal('Groups');
    expect(gallery.id).to.equal(`/subscriptions/${ids.gallerySubscription}/resourceGroups/${ids.galleryRG}/providers/Microsoft.Compute/galleries/shared.Gallery_2`);
  });

  it('answers a create as a long-running operation when configured, and the poller completes', async () => {
    await e.control.setOptions({ lroDurationMs: 40 });
    const client = ownerCompute(e);
    // Retry-After 0 is ignored by core-lro, so the poll interval is set here.
    const poller = client.galleries.createOrUpdate(ids.galleryRG, 'slowGallery', { location: 'westus' }, { updateIntervalInMs: 5 });
    const gallery = await poller;
    expect(gallery.provisioningState).to.equal('Succeeded');
    const counters = await e.control.counters();
    expect(counters['Operations_Get']).to.be.greaterThan(0);
    const put = (await e.control.requests()).find((r) => r.operation === 'Galleries_CreateOrUpdate')!;
    expect(put.status).to.equal(201);
  });

  it('shows Creating while the operation runs, with Azure-AsyncOperation and Retry-After', async () => {
    await e.control.setOptions({ lroDurationMs: 60_000, retryAfterSeconds: 7 });
    const token = await e.control.issueToken({ appId: ids.galleryOwner, tenantId: ids.contoso });
    const path = `${galleryPath.slice(0, galleryPath.lastIndexOf('/'))}/pending?api-version=2025-12-03`;
    const put = await raw(e, 'PUT', path, { token, body: { location: 'westus' } });
    expect(put.status).to.equal(201);
    expect(put.body.properties?.provisioningState).to.equal('Creating');
    expect(put.headers['retry-after']).to.equal('7');
    const status = await raw(e, 'GET', new URL(put.headers['azure-asyncoperation'] as string).pathname + '?api-version=2025-12-03', { token });
    expect(status.body.status).to.equal('InProgress');
    await e.control.advanceClock(60_000);
    const done = await raw(e, 'GET', new URL(put.headers['azure-asyncoperation'] as string).pathname + '?api-version=2025-12-03', { token });
    expect(done.body.status).to.equal('Succeeded');
    expect((await raw(e, 'GET', path, { token })).body.properties?.provisioningState).to.equal('Succeeded');
  });

  it('returns groups only with $expand=SharingProfile/Groups (or $select=Permissions)', async () => {
    const client = ownerCompute(e);
    await client.gallerySharingProfile.update(ids.galleryRG, ids.gallery, { operationType: 'Add', groups: [{ type: 'Subscriptions', ids: [ids.devSubscription] }] });
    const plain = await client.galleries.get(ids.galleryRG, ids.gallery);
    expect(plain.sharingProfile?.groups).to.equal(undefined);
    const expanded = await client.galleries.get(ids.galleryRG, ids.gallery, { expand: 'SharingProfile/Groups' });
    expect(expanded.sharingProfile?.groups).to.deep.equal([{ type: 'Subscriptions', ids: [ids.devSubscription] }]);
    const selected = await client.galleries.get(ids.galleryRG, ids.gallery, { select: 'Permissions' });
    expect(selected.sharingProfile?.permissions).to.equal('Groups');
    expect(selected.sharingProfile?.groups).to.have.length(1);
  });

  it('never takes groups from PUT or PATCH (they are read-only; only the share action writes them)', async () => {
    const token = await e.control.issueToken({ appId: ids.galleryOwner, tenantId: ids.contoso });
    const groups = [{ type: 'AADTenants', ids: [ids.fabrikam] }];
    const put = await raw(e, 'PUT', `${galleryPath}?api-version=2025-12-03`, { token, body: { location: 'westus', properties: { sharingProfile: { permissions: 'Groups', groups } } } });
    expect(put.status).to.equal(200);
    const patch = await raw(e, 'PATCH', `${galleryPath}?api-version=2025-12-03`, { token, body: { properties: { sharingProfile: { groups } } } });
    expect(patch.status).to.equal(200);
    expect((await ownerCompute(e).galleries.get(ids.galleryRG, ids.gallery, { expand: 'SharingProfile/Groups' })).sharingProfile?.groups).to.deep.equal([]);
  });

  it('updates a gallery with PATCH', async () => {
    const updated = await ownerCompute(e).galleries.update(ids.galleryRG, ids.gallery, { description: 'new words', tags: { team: 'images' } });
    expect(updated.description).to.equal('new words');
    expect(updated.tags).to.deep.equal({ team: 'images' });
  });

  it('allows Private <-> Community and refuses changes to or from Groups with 400 InvalidParameter', async () => {
    const client = ownerCompute(e);
    await client.galleries.createOrUpdate(ids.galleryRG, 'flexible', { location: 'westus' });
    const community = await client.galleries.createOrUpdate(ids.galleryRG, 'flexible', {
      location: 'westus',
      sharingProfile: { permissions: 'Community', communityGalleryInfo: { publisherUri: 'https://p', publisherContact: 'a@b', eula: 'https://e', publicNamePrefix: 'flex' } },
    });
    expect(community.sharingProfile?.permissions).to.equal('Community');
    expect(community.sharingProfile?.communityGalleryInfo?.communityGalleryEnabled).to.equal(false);
    const back = await client.galleries.update(ids.galleryRG, 'flexible', { sharingProfile: { permissions: 'Private' } });
    expect(back.sharingProfile?.permissions).to.equal('Private');
    // The public names stay with the gallery (the emulator's choice): Community again, same names.
    expect(back.sharingProfile?.communityGalleryInfo?.publicNames).to.deep.equal(community.sharingProfile?.communityGalleryInfo?.publicNames);
    const again = await client.galleries.update(ids.galleryRG, 'flexible', { sharingProfile: { permissions: 'Community' } });
    expect(again.sharingProfile?.communityGalleryInfo?.publicNames).to.deep.equal(community.sharingProfile?.communityGalleryInfo?.publicNames);
    const toGroups = await rejection(client.galleries.update(ids.galleryRG, 'flexible', { sharingProfile: { permissions: 'Groups' } }));
    expect(toGroups.statusCode).to.equal(400);
    expect(toGroups.code).to.equal('InvalidParameter');
    const fromGroups = await rejection(client.galleries.createOrUpdate(ids.galleryRG, ids.gallery, { location: 'westus', sharingProfile: { permissions: 'Private' } }));
    expect(fromGroups.code).to.equal('InvalidParameter');
  });

  it('assigns the public names when a gallery is made Community with communityGalleryInfo (PUT or PATCH), not yet community-shared', async () => {
    const client = ownerCompute(e);
    const info = { publisherUri: 'https://p', publisherContact: 'a@b', eula: 'https://e', publicNamePrefix: 'flex' };
    const created = await client.galleries.createOrUpdate(ids.galleryRG, 'bornPublic', { location: 'westus', sharingProfile: { permissions: 'Community', communityGalleryInfo: info } });
    expect(created.sharingProfile?.communityGalleryInfo).to.include({ communityGalleryEnabled: false, publicNamePrefix: 'flex' });
    expect(created.sharingProfile?.communityGalleryInfo?.publicNames).to.have.length(1);
    expect(created.sharingProfile?.communityGalleryInfo?.publicNames?.[0]).to.match(/^flex-[0-9a-f-]{36}$/);

    const privateOne = await client.galleries.createOrUpdate(ids.galleryRG, 'laterPublic', { location: 'westus' });
    expect(privateOne.sharingProfile?.communityGalleryInfo).to.equal(undefined);
    const patched = await client.galleries.update(ids.galleryRG, 'laterPublic', { sharingProfile: { permissions: 'Community', communityGalleryInfo: { ...info, publicNamePrefix: 'later' } } });
    const names = patched.sharingProfile?.communityGalleryInfo?.publicNames;
    expect(patched.sharingProfile?.communityGalleryInfo?.communityGalleryEnabled).to.equal(false);
    expect(names?.[0]).to.match(/^later-[0-9a-f-]{36}$/);
    // Another update (a new EULA) keeps them; so does GET.
    const eula = await client.galleries.update(ids.galleryRG, 'laterPublic', { sharingProfile: { permissions: 'Community', communityGalleryInfo: { ...info, publicNamePrefix: 'later', eula: 'https://e2' } } });
    expect(eula.sharingProfile?.communityGalleryInfo).to.include({ eula: 'https://e2' }).and.to.have.deep.property('publicNames', names);
    expect((await client.galleries.get(ids.galleryRG, 'laterPublic')).sharingProfile?.communityGalleryInfo?.publicNames).to.deep.equal(names);
  });

  it('keeps a community-shared gallery Community until its sharing is reset', async () => {
    const client = ownerCompute(e);
    await client.gallerySharingProfile.update(ids.galleryRG, 'contosoPublic', { operationType: 'EnableCommunity' }, { updateIntervalInMs: 5 });
    const refused = await rejection(client.galleries.update(ids.galleryRG, 'contosoPublic', { sharingProfile: { permissions: 'Private' } }));
    expect(refused.statusCode).to.equal(400);
    expect(refused.code).to.equal('InvalidParameter');
    await client.gallerySharingProfile.update(ids.galleryRG, 'contosoPublic', { operationType: 'Reset' }, { updateIntervalInMs: 5 });
    expect((await client.galleries.update(ids.galleryRG, 'contosoPublic', { sharingProfile: { permissions: 'Private' } })).sharingProfile?.permissions).to.equal('Private');
  });

  it('refuses a Community gallery without communityGalleryInfo', async () => {
    const failure = await rejection(ownerCompute(e).galleries.createOrUpdate(ids.galleryRG, 'noInfo', { location: 'westus', sharingProfile: { permissions: 'Community' } }));
    expect(failure.code).to.equal('InvalidParameter');
  });

  it('refuses names with dashes', async () => {
    const failure = await rejection(ownerCompute(e).galleries.createOrUpdate(ids.galleryRG, 'my-gallery', { location: 'westus' }));
    expect(failure.statusCode).to.equal(400);
    expect(failure.code).to.equal('InvalidParameter');
  });

  it('keeps gallery names unique within a subscription (409)', async () => {
    const admin = await e.control.adminToken(ids.contoso);
    expect((await raw(e, 'PUT', `/subscriptions/${ids.gallerySubscription}/resourceGroups/otherRG?api-version=2021-04-01`, { token: admin, body: { location: 'westus' } })).status).to.equal(201);
    const failure = await rejection(ownerCompute(e).galleries.createOrUpdate('otherRG', 'MYGALLERY', { location: 'westus' }));
    expect(failure.statusCode).to.equal(409);
  });

  it('answers 404 ResourceGroupNotFound and ResourceNotFound', async () => {
    const client = ownerCompute(e);
    expect((await rejection(client.galleries.get('nope', 'x'))).code).to.equal('ResourceGroupNotFound');
    expect((await rejection(client.galleries.get(ids.galleryRG, 'x'))).code).to.equal('ResourceNotFound');
  });

  it('lists galleries by resource group and subscription', async () => {
    const client = ownerCompute(e);
    const byGroup: string[] = [];
    for await (const g of client.galleries.listByResourceGroup(ids.galleryRG)) byGroup.push(g.name!);
    expect(byGroup.sort()).to.deep.equal(['contosoPublic', 'myGallery']);
  });

  it('refuses to delete a gallery that holds images (409 CannotDeleteResource)', async () => {
    const failure = await rejection(ownerCompute(e).galleries.delete(ids.galleryRG, ids.gallery));
    expect(failure.statusCode).to.equal(409);
    expect(failure.code).to.equal('CannotDeleteResource');
  });

  it('refuses to delete a community-shared gallery until it is reset', async () => {
    const client = ownerCompute(e);
    await client.gallerySharingProfile.update(ids.galleryRG, 'contosoPublic', { operationType: 'EnableCommunity' });
    const failure = await rejection(client.galleries.delete(ids.galleryRG, 'contosoPublic'));
    expect(failure.code).to.equal('CannotDeleteResource');
    await client.gallerySharingProfile.update(ids.galleryRG, 'contosoPublic', { operationType: 'Reset' });
    await client.galleries.delete(ids.galleryRG, 'contosoPublic');
    expect((await rejection(client.galleries.get(ids.galleryRG, 'contosoPublic'))).code).to.equal('ResourceNotFound');
  });

  it('deletes through a long-running operation when configured', async () => {
    await e.control.setOptions({ lroDurationMs: 30 });
    const client = ownerCompute(e);
    await client.galleries.createOrUpdate(ids.galleryRG, 'doomed', { location: 'westus' }, { updateIntervalInMs: 5 });
    await client.galleries.delete(ids.galleryRG, 'doomed', { updateIntervalInMs: 5 });
    expect((await rejection(client.galleries.get(ids.galleryRG, 'doomed'))).code).to.equal('ResourceNotFound');
  });

  it('lets the seeded admin change things behind the operator\'s back through ARM', async () => {
    const admin = secretCredential(e, ids.contoso, ids.portalAdmin);
    const token = (await admin.getToken(e.armScope)).token;
    const res = await raw(e, 'PATCH', `${galleryPath}?api-version=2025-12-03`, { token, body: { properties: { description: 'changed in the portal' } } });
    expect(res.status).to.equal(200);
    expect((await ownerCompute(e).galleries.get(ids.galleryRG, ids.gallery)).description).to.equal('changed in the portal');
  });
});
