// The request log's `effect` for ARM writes answered 2xx (created, changed, unchanged, deleted,
// absent), what an audit of "writes beyond what the plans called for" counts; and the fields it
// needs to tell requests sent inside a Retry-After window apart: start and answer times, the
// subscription, the caller, Retry-After of a 429.
import { expect } from 'chai';
import type { RunningEmulator } from '../azure-emulator/index.js';
import type { RequestLogEntry } from '../azure-emulator/request-log.js';
import { deployerCompute, fabrikamSubnet, galleryPath, ids, ownerCompute, raw, startSample } from './helpers.js';

const fast = { updateIntervalInMs: 5 };
const reader = 'acdd72a7-3385-48ef-bd42-f606fba81ae7';
const assignmentName = '33333333-3333-4333-8333-333333333333';
const uniqueName = `${ids.gallerySubscription}-MYGALLERY`;
const vmBody = {
  location: 'westus',
  hardwareProfile: { vmSize: 'Standard_D2s_v5' },
  storageProfile: { imageReference: { sharedGalleryImageId: `/SharedGalleries/${uniqueName}/Images/ubuntu-2404/Versions/latest` } },
  osProfile: { computerName: 'effects-vm', adminUsername: 'azureuser', linuxConfiguration: { disablePasswordAuthentication: true } },
  networkProfile: { networkApiVersion: '2022-11-01', networkInterfaceConfigurations: [{ name: 'nic', primary: true, deleteOption: 'Delete', ipConfigurations: [{ name: 'ip', subnet: { id: fabrikamSubnet } }] }] },
};

describe('emulator: write effects in the request log', () => {
  let e: RunningEmulator;
  let owner: string;
  before(async () => {
    e = await startSample();
  });
  after(async () => e.stop());
  beforeEach(async () => {
    await e.control.reset();
    owner = await e.control.issueToken({ appId: ids.galleryOwner, tenantId: ids.contoso });
  });

  const galleryUrl = (name: string) => `/subscriptions/${ids.gallerySubscription}/resourceGroups/${ids.galleryRG}/providers/Microsoft.Compute/galleries/${name}?api-version=2025-03-03`;
  const assignmentUrl = `${galleryPath}/providers/Microsoft.Authorization/roleAssignments/${assignmentName}?api-version=2022-04-01`;
  const assignmentBody = { properties: { roleDefinitionId: `/subscriptions/${ids.gallerySubscription}/providers/Microsoft.Authorization/roleDefinitions/${reader}`, principalId: ids.imageConsumersGroup } };
  const shareUrl = `${galleryPath}/share?api-version=2025-03-03`;
  const addDev = { operationType: 'Add', groups: [{ type: 'Subscriptions', ids: [ids.devSubscription] }] };

  /** The effects logged for the requests since the last clear, in order, with their statuses. */
  async function effects(): Promise<string[]> {
    const log = await e.control.requests();
    await e.control.clearRequests();
    return log.map((r) => `${r.method} ${r.status} ${r.effect ?? '-'}`);
  }

  it('gallery PUT and PATCH: created, unchanged when the body changes nothing kept, changed otherwise; DELETE deleted, then absent', async () => {
    await e.control.clearRequests();
    const body = { location: 'westus', properties: { description: 'one' }, tags: { team: 'a' } };
    expect((await raw(e, 'PUT', galleryUrl('effects'), { token: owner, body })).status).to.equal(201);
    await raw(e, 'PUT', galleryUrl('effects'), { token: owner, body });
    await raw(e, 'PUT', galleryUrl('effects'), { token: owner, body: { ...body, properties: { description: 'two' } } });
    await raw(e, 'PATCH', galleryUrl('effects'), { token: owner, body: { tags: { team: 'a' } } });
    await raw(e, 'PATCH', galleryUrl('effects'), { token: owner, body: { tags: { team: 'b' } } });
    await raw(e, 'GET', galleryUrl('effects'), { token: owner });
    await raw(e, 'DELETE', galleryUrl('effects'), { token: owner });
    await raw(e, 'DELETE', galleryUrl('effects'), { token: owner });
    expect(await effects()).to.deep.equal(['PUT 201 created', 'PUT 200 unchanged', 'PUT 200 changed', 'PATCH 200 unchanged', 'PATCH 200 changed', 'GET 200 -', 'DELETE 200 deleted', 'DELETE 204 absent']);
  });

  it('a refused write has no effect', async () => {
    await e.control.clearRequests();
    const refused = await raw(e, 'DELETE', `${galleryPath}?api-version=2025-03-03`, { token: owner }); // it holds images: 409
    expect(refused.status).to.equal(409);
    expect(await effects()).to.deep.equal(['DELETE 409 -']);
  });

  it('role assignments: created, the same PUT again (200) unchanged, deleted, absent', async () => {
    await e.control.clearRequests();
    await raw(e, 'PUT', assignmentUrl, { token: owner, body: assignmentBody });
    await raw(e, 'PUT', assignmentUrl, { token: owner, body: assignmentBody });
    await raw(e, 'DELETE', assignmentUrl, { token: owner });
    await raw(e, 'DELETE', assignmentUrl, { token: owner });
    expect(await effects()).to.deep.equal(['PUT 201 created', 'PUT 200 unchanged', 'DELETE 200 deleted', 'DELETE 204 absent']);
  });

  it('share: an Add whose groups are all present is unchanged, as are a Remove of absent groups and a Reset of nothing', async () => {
    const remove = { operationType: 'Remove', groups: [{ type: 'Subscriptions', ids: [ids.devSubscription] }] };
    await e.control.clearRequests();
    for (const body of [addDev, addDev, remove, remove, addDev, { operationType: 'Reset' }, { operationType: 'Reset' }]) {
      expect((await raw(e, 'POST', shareUrl, { token: owner, body })).status).to.equal(202);
    }
    const shares = (await effects()).filter((x) => x.startsWith('POST'));
    expect(shares).to.deep.equal(['POST 202 changed', 'POST 202 unchanged', 'POST 202 changed', 'POST 202 unchanged', 'POST 202 changed', 'POST 202 changed', 'POST 202 unchanged']);
  });

  it("a long-running share's effect is on its start entry, decided when it is answered (before the change shows)", async () => {
    await e.control.setOptions({ lroDurationMs: 60_000 });
    await e.control.clearRequests();
    const started = await raw(e, 'POST', shareUrl, { token: owner, body: addDev });
    expect(started.status).to.equal(202);
    const gallery = await raw(e, 'GET', `${galleryPath}?api-version=2025-03-03&$expand=SharingProfile/Groups`, { token: owner });
    expect(JSON.stringify(gallery.body)).to.not.contain(ids.devSubscription);
    expect(await effects()).to.deep.equal(['POST 202 changed', 'GET 200 -']);
  });

  it('a DELETE while its long-running delete runs is unchanged', async () => {
    await e.control.setOptions({ lroDurationMs: 60_000 });
    await raw(e, 'PUT', galleryUrl('slow'), { token: owner, body: { location: 'westus' } });
    await e.control.clearRequests();
    await raw(e, 'DELETE', galleryUrl('slow'), { token: owner });
    await raw(e, 'DELETE', galleryUrl('slow'), { token: owner });
    expect(await effects()).to.deep.equal(['DELETE 202 deleted', 'DELETE 202 unchanged']);
  });

  it('VMs: a PUT with the same body unchanged, power actions changed only when the power state changes (restart always)', async () => {
    await ownerCompute(e).gallerySharingProfile.update(ids.galleryRG, ids.gallery, { operationType: 'Add', groups: [{ type: 'AADTenants', ids: [ids.fabrikam] }] }, fast);
    const deployer = deployerCompute(e);
    await e.control.clearRequests();
    await deployer.virtualMachines.beginCreateOrUpdateAndWait(ids.fabrikamRG, 'effects', vmBody, fast);
    await deployer.virtualMachines.beginCreateOrUpdateAndWait(ids.fabrikamRG, 'effects', vmBody, fast);
    await deployer.virtualMachines.beginCreateOrUpdateAndWait(ids.fabrikamRG, 'effects', { ...vmBody, tags: { env: 'x' } }, fast);
    await deployer.virtualMachines.beginPowerOffAndWait(ids.fabrikamRG, 'effects', fast);
    await deployer.virtualMachines.beginPowerOffAndWait(ids.fabrikamRG, 'effects', fast);
    await deployer.virtualMachines.beginRestartAndWait(ids.fabrikamRG, 'effects', fast);
    const writes = (await e.control.requests()).filter((r) => r.method !== 'GET' && r.operation?.startsWith('VirtualMachines_'));
    expect(writes.map((r) => `${r.operation} ${r.effect}`)).to.deep.equal([
      'VirtualMachines_CreateOrUpdate created',
      'VirtualMachines_CreateOrUpdate unchanged',
      'VirtualMachines_CreateOrUpdate changed',
      'VirtualMachines_PowerOff changed',
      'VirtualMachines_PowerOff unchanged',
      'VirtualMachines_Restart changed',
    ]);
  });

  it('logs start and answer times, the subscription and the caller, and the Retry-After of a 429', async () => {
    await e.control.setOptions({ throttling: { enabled: true, reads: 1, readsPerSecond: 0.01 } });
    await e.control.clearRequests();
    await raw(e, 'GET', `${galleryPath}?api-version=2025-03-03`, { token: owner });
    await raw(e, 'GET', `${galleryPath}?api-version=2025-03-03`, { token: owner });
    const [ok, throttled] = (await e.control.requests()) as [RequestLogEntry, RequestLogEntry];
    const principal = (JSON.parse(Buffer.from(owner.split('.')[1]!, 'base64url').toString()) as { oid: string }).oid;
    for (const entry of [ok, throttled]) {
      expect(entry.subscriptionId).to.equal(ids.gallerySubscription);
      expect(entry.principalId).to.equal(principal);
      expect(Date.parse(entry.startTime)).to.be.at.most(Date.parse(entry.time));
    }
    expect(Date.parse(ok.time)).to.be.at.most(Date.parse(throttled.startTime));
    expect(ok.retryAfterSeconds).to.equal(undefined);
    expect(throttled.status).to.equal(429);
    expect(throttled.retryAfterSeconds).to.equal(100);
    // An injected 429 too, whatever the case of its header.
    await e.control.addFault({ method: 'GET', path: 'galleries/myGallery$', status: 429, headers: { 'Retry-After': '7' }, count: 1 });
    await e.control.clearRequests();
    await raw(e, 'GET', `${galleryPath}?api-version=2025-03-03`, { token: owner });
    expect((await e.control.requests())[0]).to.include({ status: 429, retryAfterSeconds: 7 });
  });
});
