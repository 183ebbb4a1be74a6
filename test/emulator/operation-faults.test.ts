// Create failures injected as the operation's error (operationError faults): the PUT is accepted
// with Azure-AsyncOperation, the operation ends Failed with the code (AllocationFailed, ...), the
// VM shows provisioningState Failed, and a re-PUT of the failed VM succeeds. Through @azure/arm-compute.
import { expect } from 'chai';
import type { RunningEmulator } from '../azure-emulator/index.js';
import { deployerCompute, fabrikamSubnet, ids, ownerCompute, raw, rejection, startSample } from './helpers.js';

const fast = { updateIntervalInMs: 5 };
const uniqueName = `${ids.gallerySubscription}-MYGALLERY`;
const imageReference = { sharedGalleryImageId: `/SharedGalleries/${uniqueName}/Images/ubuntu-2404/Versions/latest` };
const osProfile = { computerName: 'vm', adminUsername: 'azureuser', linuxConfiguration: { disablePasswordAuthentication: true } };
const networkProfile = { networkApiVersion: '2022-11-01', networkInterfaceConfigurations: [{ name: 'nic', primary: true, deleteOption: 'Delete', ipConfigurations: [{ name: 'ip', subnet: { id: fabrikamSubnet } }] }] };
const vmBody = { location: 'westus', hardwareProfile: { vmSize: 'Standard_D2s_v5' }, storageProfile: { imageReference }, osProfile, networkProfile };

describe('emulator: injected operation errors of VM and scale set creation', () => {
  let e: RunningEmulator;
  before(async () => {
    e = await startSample();
  });
  after(async () => e.stop());
  beforeEach(async () => {
    await e.control.reset();
    await ownerCompute(e).gallerySharingProfile.update(ids.galleryRG, ids.gallery, { operationType: 'Add', groups: [{ type: 'AADTenants', ids: [ids.fabrikam] }] }, fast);
  });

  it('fails the next create with AllocationFailed as the operation error; the VM is Failed; a re-PUT succeeds', async () => {
    const fault = await e.control.addFault({ path: '/virtualMachines/alloc-1$', operationError: { code: 'AllocationFailed' }, count: 1 });
    const failure = await rejection(deployerCompute(e).virtualMachines.createOrUpdate(ids.fabrikamRG, 'alloc-1', vmBody, fast));
    // core-lro reports a failed operation as "The long-running operation has failed. {code}. {message}" (no code field).
    expect(failure.message).to.contain('AllocationFailed. Allocation failed.').and.contain('sufficient capacity');
    const put = (await e.control.requests()).find((r) => r.operation === 'VirtualMachines_CreateOrUpdate');
    expect(put?.status).to.equal(201);
    expect(put?.faultId).to.equal(fault.id);
    const failed = await deployerCompute(e).virtualMachines.get(ids.fabrikamRG, 'alloc-1', { expand: 'instanceView' });
    expect(failed.provisioningState).to.equal('Failed');
    expect(failed.instanceView?.statuses?.[0]?.code).to.equal('ProvisioningState/failed/AllocationFailed');
    expect(failed.instanceView?.statuses?.[0]?.level).to.equal('Error');
    const again = await deployerCompute(e).virtualMachines.createOrUpdate(ids.fabrikamRG, 'alloc-1', vmBody, fast);
    expect(again.provisioningState).to.equal('Succeeded');
    expect((await deployerCompute(e).virtualMachines.instanceView(ids.fabrikamRG, 'alloc-1')).statuses?.map((s) => s.code)).to.deep.equal(['ProvisioningState/succeeded', 'PowerState/running']);
  });

  it('answers 201 with Azure-AsyncOperation even without lroDurationMs, InProgress while the operation runs, then Failed with the code', async () => {
    await e.control.setOptions({ lroDurationMs: 60_000 });
    await e.control.addFault({ path: '/virtualMachines/', operationError: { code: 'ZonalAllocationFailed', message: 'no room in zone 2' }, count: 2 });
    const token = await e.control.issueToken({ appId: ids.fabrikamDeployer, tenantId: ids.fabrikam });
    const path = `/subscriptions/${ids.fabrikamSubscription}/resourceGroups/${ids.fabrikamRG}/providers/Microsoft.Compute/virtualMachines/zonal?api-version=2024-11-01`;
    const body = {
      location: 'westus',
      zones: ['2'],
      properties: {
        hardwareProfile: { vmSize: 'Standard_D2s_v5' },
        storageProfile: { imageReference },
        osProfile,
        networkProfile: { networkApiVersion: '2022-11-01', networkInterfaceConfigurations: [{ name: 'nic', properties: { ipConfigurations: [{ name: 'ip', properties: { subnet: { id: fabrikamSubnet } } }] } }] },
      },
    };
    const put = await raw(e, 'PUT', path, { token, body });
    expect(put.status).to.equal(201);
    expect(put.body.properties?.provisioningState).to.equal('Creating');
    const operation = new URL(String(put.headers['azure-asyncoperation']));
    expect((await raw(e, 'GET', operation.pathname + operation.search, { token })).body.status).to.equal('InProgress');
    await e.control.advanceClock(60_000);
    const done = await raw(e, 'GET', operation.pathname + operation.search, { token });
    expect(done.body.status).to.equal('Failed');
    expect(done.body.error).to.deep.equal({ code: 'ZonalAllocationFailed', message: 'no room in zone 2' });
    expect((await raw(e, 'GET', path, { token })).body.properties?.provisioningState).to.equal('Failed');
    // GETs and polls did not use up the fault (it matches PUTs only): the second PUT fails too, the third succeeds.
    await raw(e, 'PUT', path, { token, body });
    await e.control.advanceClock(60_000);
    expect((await raw(e, 'GET', path, { token })).body.properties?.provisioningState).to.equal('Failed');
    await raw(e, 'PUT', path, { token, body });
    await e.control.advanceClock(60_000);
    expect((await raw(e, 'GET', path, { token })).body.properties?.provisioningState).to.equal('Succeeded');
  });

  it('fails a scale set create with the code given (SkuNotAvailable, QuotaExceeded, InternalExecutionError)', async () => {
    for (const code of ['SkuNotAvailable', 'QuotaExceeded', 'OperationNotAllowed', 'RequestDisallowedByPolicy', 'InternalExecutionError']) {
      await e.control.addFault({ path: '/virtualMachineScaleSets/pool$', operationError: { code }, count: 1 });
      const failure = await rejection(
        deployerCompute(e).virtualMachineScaleSets.createOrUpdate(
          ids.fabrikamRG,
          'pool',
          {
            location: 'westus',
            sku: { name: 'Standard_D2s_v5', capacity: 2 },
            orchestrationMode: 'Flexible',
            platformFaultDomainCount: 1,
            virtualMachineProfile: { storageProfile: { imageReference }, osProfile: { computerNamePrefix: 'p', adminUsername: 'azureuser' }, networkProfile },
          },
          fast,
        ),
      );
      expect(failure.message, code).to.contain(`has failed. ${code}.`);
      expect((await deployerCompute(e).virtualMachineScaleSets.get(ids.fabrikamRG, 'pool')).provisioningState).to.equal('Failed');
    }
    expect((await deployerCompute(e).virtualMachineScaleSets.update(ids.fabrikamRG, 'pool', { sku: { capacity: 3 } }, fast)).provisioningState).to.equal('Succeeded');
  });

  it('refuses an operationError fault without a code', async () => {
    const res = await raw(e, 'POST', '/__emulator/faults', { body: { path: 'x', operationError: {} } });
    expect(res.status).to.equal(400);
  });
});
