// Held long-running operations: started by a request whose path matches a hold, they stay
// InProgress (status, monitor, the gallery's running share) until the test releases them, however
// far the clock moves; a poller restored from its serialized state (a restarted client) then
// completes. The control API lists holds and operations, in process and over HTTPS.
import { expect } from 'chai';
import { restorePoller } from '@azure/arm-compute';
import { remoteControl, type EmulatorControl, type RunningEmulator } from '../azure-emulator/index.js';
import { galleryPath, ids, ownerCompute, raw, rejection, startSample } from './helpers.js';

const fast = { updateIntervalInMs: 5 };
const pathOf = (url: string | undefined) => {
  const parsed = new URL(url ?? '');
  return parsed.pathname + parsed.search;
};

describe('emulator: held operations', () => {
  let e: RunningEmulator;
  let token: string;
  before(async () => {
    e = await startSample();
  });
  after(async () => e.stop());
  beforeEach(async () => {
    await e.control.reset();
    token = await e.control.issueToken({ appId: ids.galleryOwner, tenantId: ids.contoso });
  });

  const groupsOf = async () => (await ownerCompute(e).galleries.get(ids.galleryRG, ids.gallery, { expand: 'SharingProfile/Groups' })).sharingProfile?.groups;
  const share = (body: unknown) => raw(e, 'POST', `${galleryPath}/share?api-version=2025-12-03`, { token, body });

  it('holds a share until released, however far the clock moves; a restored poller (a restarted client) then completes it', async () => {
    await e.control.setOptions({ retryAfterSeconds: 7 });
    const hold = await e.control.holdOperations({ path: '/share$' });
    expect(hold.path).to.equal('/share$');
    const client = ownerCompute(e);
    const poller = client.gallerySharingProfile.update(ids.galleryRG, ids.gallery, { operationType: 'Add', groups: [{ type: 'AADTenants', ids: [ids.fabrikam] }] }, fast);
    await poller.submitted();
    expect(poller.isDone).to.equal(false);
    const serialized = await poller.serialize(); // the first client goes away here, never awaited

    const [op, ...others] = await e.control.operations();
    expect(others).to.deep.equal([]);
    expect(op).to.include({ status: 'InProgress', held: true, method: 'POST', path: `${galleryPath}/share` });
    expect(op?.asyncOperationUrl).to.contain(`/operations/${op?.id}`);
    expect(op?.locationUrl).to.match(/monitor=true/);
    const shareRequest = (await e.control.requests()).find((r) => r.operation === 'GallerySharingProfile_Update');
    expect(shareRequest?.status).to.equal(202);

    await e.control.advanceClock(50 * 60_000); // tokens (and MSAL's cache) live an hour
    const status = await raw(e, 'GET', pathOf(op?.asyncOperationUrl), { token });
    expect(status.body.status).to.equal('InProgress');
    expect(status.headers['retry-after']).to.equal('7');
    const monitor = await raw(e, 'GET', pathOf(op?.locationUrl), { token });
    expect(monitor.status).to.equal(202);
    expect(monitor.headers['retry-after']).to.equal('7');
    const gallery = await client.galleries.get(ids.galleryRG, ids.gallery, { expand: 'SharingProfile/Groups' });
    expect(gallery.sharingStatus?.aggregatedState).to.equal('InProgress');
    expect(gallery.sharingProfile?.groups).to.deep.equal([]);
    const second = await share({ operationType: 'Reset' });
    expect(second.status).to.equal(409);
    expect(second.body.error?.code).to.equal('OperationNotAllowed');

    // A new client resumes from the serialized state: one poll still sees the operation running.
    const restored = restorePoller(ownerCompute(e), serialized, client.gallerySharingProfile.update, fast);
    await restored.poll();
    expect(restored.isDone).to.equal(false);

    await e.control.releaseOperations();
    expect(await e.control.holds()).to.deep.equal([]);
    const result = await restored.pollUntilDone();
    expect(result.operationType).to.equal('Add');
    expect(await groupsOf()).to.deep.equal([{ type: 'AADTenants', ids: [ids.fabrikam] }]);
    const [done] = await e.control.operations();
    expect(done).to.include({ id: op?.id, status: 'Succeeded', held: false });
    expect(done?.endTime).to.be.a('string');
    const after = await client.galleries.get(ids.galleryRG, ids.gallery);
    expect(after.sharingStatus?.aggregatedState).to.equal('Succeeded');
    expect((await share({ operationType: 'Reset' })).status).to.equal(202);
  });

  it('holds only operations started by matching requests, even when operations take no time', async () => {
    await e.control.holdOperations({ path: '/galleries/slowgallery$' });
    const client = ownerCompute(e);
    const quick = await client.galleries.createOrUpdate(ids.galleryRG, 'quickGallery', { location: 'westus' });
    expect(quick.provisioningState).to.equal('Succeeded');
    const poller = client.galleries.createOrUpdate(ids.galleryRG, 'slowGallery', { location: 'westus' }, fast);
    await poller.submitted();
    expect(poller.isDone).to.equal(false);
    const put = (await e.control.requests()).find((r) => r.operation === 'Galleries_CreateOrUpdate' && r.path.endsWith('/slowGallery'));
    expect(put?.status).to.equal(201);
    expect((await client.galleries.get(ids.galleryRG, 'slowGallery')).provisioningState).to.equal('Creating');
    // A share of another gallery is not held: it completes at once.
    await client.gallerySharingProfile.update(ids.galleryRG, ids.gallery, { operationType: 'Add', groups: [{ type: 'AADTenants', ids: [ids.fabrikam] }] }, fast);
    const operations = await e.control.operations();
    expect(operations.map((o) => [o.method, o.path?.split('/').pop(), o.status, o.held])).to.have.deep.members([
      ['PUT', 'slowGallery', 'InProgress', true],
      ['POST', 'share', 'Succeeded', false],
    ]);
    await e.control.releaseOperations();
    expect((await poller).provisioningState).to.equal('Succeeded');
    expect((await client.galleries.get(ids.galleryRG, 'slowGallery')).provisioningState).to.equal('Succeeded');
  });

  it('holds every operation without a path: a PATCH stays Updating, a DELETE keeps the gallery Deleting until released', async () => {
    const client = ownerCompute(e);
    await client.galleries.createOrUpdate(ids.galleryRG, 'doomed', { location: 'westus' });
    await e.control.holdOperations();
    const update = client.galleries.update(ids.galleryRG, 'doomed', { description: 'held' }, fast);
    await update.submitted();
    expect(update.isDone).to.equal(false);
    const updating = await client.galleries.get(ids.galleryRG, 'doomed');
    expect([updating.provisioningState, updating.description]).to.deep.equal(['Updating', 'held']);
    await e.control.releaseOperations();
    expect((await update).provisioningState).to.equal('Succeeded');

    await e.control.holdOperations({ path: 'DOOMED$' });
    const deletion = client.galleries.delete(ids.galleryRG, 'doomed', fast);
    await deletion.submitted();
    await e.control.advanceClock(50 * 60_000);
    expect((await client.galleries.get(ids.galleryRG, 'doomed')).provisioningState).to.equal('Deleting');
    await e.control.releaseOperations();
    await deletion;
    expect((await rejection(client.galleries.get(ids.galleryRG, 'doomed'))).code).to.equal('ResourceNotFound');
  });

  it('keeps holds through clearFaults; reset removes them and the held operations', async () => {
    await e.control.holdOperations({ path: '/share$' });
    const started = await share({ operationType: 'Add', groups: [{ type: 'AADTenants', ids: [ids.fabrikam] }] });
    expect(started.status).to.equal(202);
    await e.control.clearFaults();
    expect(await e.control.holds()).to.have.length(1);
    expect((await raw(e, 'GET', pathOf(started.headers['azure-asyncoperation'] as string), { token })).body.status).to.equal('InProgress');
    await e.control.reset();
    expect(await e.control.holds()).to.deep.equal([]);
    expect(await e.control.operations()).to.deep.equal([]);
    expect((await raw(e, 'GET', pathOf(started.headers['azure-asyncoperation'] as string), { token })).status).to.equal(404);
    const again = await share({ operationType: 'Add', groups: [{ type: 'AADTenants', ids: [ids.fabrikam] }] });
    expect((await raw(e, 'GET', pathOf(again.headers['azure-asyncoperation'] as string), { token })).body.status).to.equal('Succeeded');
  });

  it('does not hold a share answered synchronously (shareMode sync): there is no operation', async () => {
    await e.control.setOptions({ shareMode: 'sync' });
    await e.control.holdOperations();
    expect((await share({ operationType: 'Add', groups: [{ type: 'AADTenants', ids: [ids.fabrikam] }] })).status).to.equal(200);
    expect(await groupsOf()).to.deep.equal([{ type: 'AADTenants', ids: [ids.fabrikam] }]);
    expect(await e.control.operations()).to.deep.equal([]);
  });

  it('holds, lists and releases over HTTPS; refuses a bad pattern with 400', async () => {
    const control: EmulatorControl = remoteControl(e.armEndpoint, e.caPem);
    const hold = await control.holdOperations({ path: '/share$' });
    expect(await control.holds()).to.deep.equal([hold]);
    const started = await share({ operationType: 'Add', groups: [{ type: 'AADTenants', ids: [ids.fabrikam] }] });
    const [op] = await control.operations();
    expect(op).to.include({ held: true, status: 'InProgress' });
    expect(op?.asyncOperationUrl).to.equal(started.headers['azure-asyncoperation']);
    expect(op?.locationUrl).to.equal(started.headers['location']);
    await control.releaseOperations();
    expect(await control.holds()).to.deep.equal([]);
    expect((await raw(e, 'GET', pathOf(op?.asyncOperationUrl), { token })).body.status).to.equal('Succeeded');
    expect(await groupsOf()).to.deep.equal([{ type: 'AADTenants', ids: [ids.fabrikam] }]);
    expect((await rejection(control.holdOperations({ path: '(' }))).message).to.contain('400');
    expect((await rejection(e.control.holdOperations({ path: '(' }))).message).to.match(/regular expression/i);
  });
});
