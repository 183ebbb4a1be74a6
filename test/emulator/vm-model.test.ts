// What a VM or scale set PUT and PATCH carry besides the image: If-None-Match / If-Match (412),
// tags, the instance view, scale set orchestration modes (Flexible's requirements, immutability),
// a scale set's image changed by PUT and PATCH, capacity, and image definitions whose SecurityType
// feature refuses VMs without the matching securityProfile. Through @azure/arm-compute.
import { expect } from 'chai';
import type { RunningEmulator } from '../azure-emulator/index.js';
import { deployerCompute, fabrikamSubnet, ids, ownerCompute, raw, rejection, sampleSeed, startSample } from './helpers.js';

const fast = { updateIntervalInMs: 5 };
const uniqueName = `${ids.gallerySubscription}-MYGALLERY`;
const shared = (image: string, version = 'latest') => ({ sharedGalleryImageId: `/SharedGalleries/${uniqueName}/Images/${image}/Versions/${version}` });
const osProfile = { computerName: 'model-vm', adminUsername: 'azureuser', linuxConfiguration: { disablePasswordAuthentication: true } };
const networkProfile = { networkApiVersion: '2022-11-01', networkInterfaceConfigurations: [{ name: 'nic', primary: true, deleteOption: 'Delete', ipConfigurations: [{ name: 'ip', subnet: { id: fabrikamSubnet } }] }] };

describe('emulator: VM and scale set models (preconditions, tags, instance view, orchestration, security type)', () => {
  let e: RunningEmulator;
  before(async () => {
    const seed = sampleSeed();
    // A Trusted Launch image and a ConfidentialVM one next to ubuntu-2404, from the seed's securityType.
    seed.galleries![0]!.images!.push(
      { name: 'ubuntu-tl', hyperVGeneration: 'V2', securityType: 'TrustedLaunch', identifier: { publisher: 'Contoso', offer: 'ubuntu', sku: 'tl' }, versions: [{ name: '1.0.0' }] },
      { name: 'ubuntu-cvm', hyperVGeneration: 'V2', securityType: 'ConfidentialVM', identifier: { publisher: 'Contoso', offer: 'ubuntu', sku: 'cvm' }, versions: [{ name: '1.0.0' }] },
      { name: 'ubuntu-tls', hyperVGeneration: 'V2', securityType: 'TrustedLaunchSupported', identifier: { publisher: 'Contoso', offer: 'ubuntu', sku: 'tls' }, versions: [{ name: '1.0.0' }] },
    );
    e = await startSample({ seed });
  });
  after(async () => e.stop());
  beforeEach(async () => {
    await e.control.reset();
    await ownerCompute(e).gallerySharingProfile.update(ids.galleryRG, ids.gallery, { operationType: 'Add', groups: [{ type: 'AADTenants', ids: [ids.fabrikam] }] }, fast);
  });

  const deployer = () => deployerCompute(e);
  const vmBody = (extra: Record<string, unknown> = {}) => ({ location: 'westus', hardwareProfile: { vmSize: 'Standard_D2s_v5' }, storageProfile: { imageReference: shared('ubuntu-2404') }, osProfile, networkProfile, ...extra });
  const scaleSetBody = (extra: Record<string, unknown> = {}, profile: Record<string, unknown> = {}) => ({
    location: 'westus',
    sku: { name: 'Standard_D2s_v5', capacity: 2 },
    orchestrationMode: 'Flexible',
    platformFaultDomainCount: 1,
    virtualMachineProfile: { storageProfile: { imageReference: shared('ubuntu-2404', '1.0.0') }, osProfile: { computerNamePrefix: 'pool', adminUsername: 'azureuser' }, networkProfile, ...profile },
    ...extra,
  });

  it('creates with If-None-Match: * once; a second create answers 412 PreconditionFailed (VMs and scale sets); If-Match checks the etag', async () => {
    const created = await deployer().virtualMachines.createOrUpdate(ids.fabrikamRG, 'once', vmBody(), { ...fast, ifNoneMatch: '*' });
    expect(created.provisioningState).to.equal('Succeeded');
    const again = await rejection(deployer().virtualMachines.createOrUpdate(ids.fabrikamRG, 'once', vmBody(), { ...fast, ifNoneMatch: '*' }));
    expect(again.statusCode).to.equal(412);
    expect(again.code).to.equal('PreconditionFailed');
    const current = await deployer().virtualMachines.get(ids.fabrikamRG, 'once');
    expect(current.etag).to.match(/^"\d+"$/);
    const stale = await rejection(deployer().virtualMachines.createOrUpdate(ids.fabrikamRG, 'once', vmBody(), { ...fast, ifMatch: '"999"' }));
    expect(stale.statusCode).to.equal(412);
    const updated = await deployer().virtualMachines.createOrUpdate(ids.fabrikamRG, 'once', vmBody(), { ...fast, ifMatch: current.etag! });
    expect(updated.etag).to.not.equal(current.etag);

    await deployer().virtualMachineScaleSets.createOrUpdate(ids.fabrikamRG, 'pool-once', scaleSetBody(), { ...fast, ifNoneMatch: '*' });
    const twice = await rejection(deployer().virtualMachineScaleSets.createOrUpdate(ids.fabrikamRG, 'pool-once', scaleSetBody(), { ...fast, ifNoneMatch: '*' }));
    expect(twice.statusCode).to.equal(412);
    expect(twice.code).to.equal('PreconditionFailed');
    // Nothing was changed by the refused PUTs.
    const puts = (await e.control.requests()).filter((r) => r.method === 'PUT' && r.operation?.endsWith('_CreateOrUpdate') && r.operation.startsWith('VirtualMachine')).map((r) => r.status);
    expect(puts).to.deep.equal([201, 412, 412, 200, 201, 412]);
  });

  it('keeps tags and shows the instance view (provisioning and power state, computer name)', async () => {
    const created = await deployer().virtualMachines.createOrUpdate(ids.fabrikamRG, 'tagged', vmBody({ tags: { owner: 'galleryshare', 'galleryshare.io/object': 'ns/web' } }), fast);
    expect(created.tags).to.deep.equal({ owner: 'galleryshare', 'galleryshare.io/object': 'ns/web' });
    const patched = await deployer().virtualMachines.update(ids.fabrikamRG, 'tagged', { tags: { owner: 'someone-else' } }, fast);
    expect(patched.tags).to.deep.equal({ owner: 'someone-else' });
    const view = await deployer().virtualMachines.instanceView(ids.fabrikamRG, 'tagged');
    expect(view.computerName).to.equal('model-vm');
    expect(view.statuses?.map((s) => s.code)).to.deep.equal(['ProvisioningState/succeeded', 'PowerState/running']);
    const expanded = await deployer().virtualMachines.get(ids.fabrikamRG, 'tagged', { expand: 'instanceView' });
    expect(expanded.instanceView?.computerName).to.equal('model-vm');
    const pool = await deployer().virtualMachineScaleSets.createOrUpdate(ids.fabrikamRG, 'tagged-pool', scaleSetBody({ tags: { owner: 'galleryshare' } }), fast);
    expect(pool.tags).to.deep.equal({ owner: 'galleryshare' });
  });

  it('requires platformFaultDomainCount and networkApiVersion for a Flexible scale set (400 InvalidParameter)', async () => {
    const noFaultDomains = await rejection(deployer().virtualMachineScaleSets.createOrUpdate(ids.fabrikamRG, 'flex', scaleSetBody({ platformFaultDomainCount: undefined }), fast));
    expect(noFaultDomains.statusCode).to.equal(400);
    expect(noFaultDomains.code).to.equal('InvalidParameter');
    expect(noFaultDomains.message).to.contain('platformFaultDomainCount');
    const noNetworkApi = await rejection(
      deployer().virtualMachineScaleSets.createOrUpdate(ids.fabrikamRG, 'flex', scaleSetBody({}, { networkProfile: { networkInterfaceConfigurations: networkProfile.networkInterfaceConfigurations } }), fast),
    );
    expect(noNetworkApi.code).to.equal('InvalidParameter');
    expect(noNetworkApi.message).to.contain('networkApiVersion');
    const flex = await deployer().virtualMachineScaleSets.createOrUpdate(ids.fabrikamRG, 'flex', scaleSetBody(), fast);
    expect(flex.orchestrationMode).to.equal('Flexible');
    expect(flex.platformFaultDomainCount).to.equal(1);
    // Uniform needs neither, and is the API's default.
    const uniform = await deployer().virtualMachineScaleSets.createOrUpdate(
      ids.fabrikamRG,
      'uni',
      scaleSetBody({ orchestrationMode: undefined, platformFaultDomainCount: undefined, upgradePolicy: { mode: 'Manual' } }, { networkProfile: { networkInterfaceConfigurations: networkProfile.networkInterfaceConfigurations } }),
      fast,
    );
    expect(uniform.orchestrationMode).to.equal('Uniform');
  });

  it('refuses a change of orchestration mode (409 PropertyChangeNotAllowed) and lets the image and capacity change by PUT and PATCH', async () => {
    await deployer().virtualMachineScaleSets.createOrUpdate(ids.fabrikamRG, 'pool', scaleSetBody(), fast);
    const toUniform = await rejection(deployer().virtualMachineScaleSets.createOrUpdate(ids.fabrikamRG, 'pool', scaleSetBody({ orchestrationMode: 'Uniform' }), fast));
    expect(toUniform.statusCode).to.equal(409);
    expect(toUniform.code).to.equal('PropertyChangeNotAllowed');
    expect(toUniform.message).to.contain('orchestrationMode');
    // The SDK's update model has no orchestrationMode: a raw PATCH.
    const token = await e.control.issueToken({ appId: ids.fabrikamDeployer, tenantId: ids.fabrikam });
    const poolPath = `/subscriptions/${ids.fabrikamSubscription}/resourceGroups/${ids.fabrikamRG}/providers/Microsoft.Compute/virtualMachineScaleSets/pool?api-version=2024-11-01`;
    const patchedMode = await raw(e, 'PATCH', poolPath, { token, body: { properties: { orchestrationMode: 'Uniform' } } });
    expect(patchedMode.status).to.equal(409);
    expect(patchedMode.body.error?.code).to.equal('PropertyChangeNotAllowed');

    await ownerCompute(e).galleryImageVersions.createOrUpdate(ids.galleryRG, ids.gallery, 'ubuntu-2404', '2.0.0', { location: 'westus', publishingProfile: { targetRegions: [{ name: 'westus' }] } }, fast);
    const moved = await deployer().virtualMachineScaleSets.createOrUpdate(
      ids.fabrikamRG,
      'pool',
      scaleSetBody({ sku: { name: 'Standard_D2s_v5', capacity: 4 } }, { storageProfile: { imageReference: shared('ubuntu-2404', '2.0.0') } }),
      fast,
    );
    expect(moved.virtualMachineProfile?.storageProfile?.imageReference?.exactVersion).to.equal('2.0.0');
    expect(moved.sku?.capacity).to.equal(4);
    const back = await deployer().virtualMachineScaleSets.update(ids.fabrikamRG, 'pool', { virtualMachineProfile: { storageProfile: { imageReference: shared('ubuntu-2404', '1.0.0') } }, sku: { capacity: 1 } }, fast);
    expect(back.virtualMachineProfile?.storageProfile?.imageReference?.exactVersion).to.equal('1.0.0');
    expect(back.virtualMachineProfile?.storageProfile?.imageReference?.sharedGalleryImageId).to.contain('/Versions/1.0.0');
    expect(back.sku?.capacity).to.equal(1);
    // The new image is checked as at creation.
    const missing = await rejection(deployer().virtualMachineScaleSets.update(ids.fabrikamRG, 'pool', { virtualMachineProfile: { storageProfile: { imageReference: shared('ubuntu-2404', '9.0.0') } } }, fast));
    expect(missing.code).to.equal('GalleryImageNotFound');
    // A VM's image still cannot change.
    await deployer().virtualMachines.createOrUpdate(ids.fabrikamRG, 'fixed', vmBody(), fast);
    const vmImage = await rejection(deployer().virtualMachines.createOrUpdate(ids.fabrikamRG, 'fixed', vmBody({ storageProfile: { imageReference: shared('ubuntu-2404', '2.0.0') } }), fast));
    expect(vmImage.code).to.equal('PropertyChangeNotAllowed');
  });

  it('shows the SecurityType feature of a definition, and refuses VMs and scale sets without the security type it requires (400 BadRequest)', async () => {
    const definition = await ownerCompute(e).galleryImages.get(ids.galleryRG, ids.gallery, 'ubuntu-tl');
    expect(definition.features?.map((f) => ({ name: f.name, value: f.value }))).to.deep.equal([{ name: 'SecurityType', value: 'TrustedLaunch' }]);
    const consumer = await e.control.issueToken({ appId: ids.fabrikamDeployer, tenantId: ids.fabrikam });
    const sharedImage = await raw(e, 'GET', `/subscriptions/${ids.fabrikamSubscription}/providers/Microsoft.Compute/locations/westus/sharedGalleries/${uniqueName}/images/ubuntu-tl?api-version=2023-07-03`, { token: consumer });
    expect(sharedImage.body.properties?.features).to.deep.equal([{ name: 'SecurityType', value: 'TrustedLaunch' }]);

    const without = await rejection(deployer().virtualMachines.createOrUpdate(ids.fabrikamRG, 'tl-1', vmBody({ storageProfile: { imageReference: shared('ubuntu-tl') } }), fast));
    expect(without.statusCode).to.equal(400);
    expect(without.code).to.equal('BadRequest');
    expect(without.message).to.equal("The provided gallery image only supports creation of VMs and VM Scale Sets with 'TrustedLaunch' security type.");
    const standard = await rejection(deployer().virtualMachines.createOrUpdate(ids.fabrikamRG, 'tl-1', vmBody({ storageProfile: { imageReference: shared('ubuntu-tl') }, securityProfile: { securityType: 'Standard' } }), fast));
    expect(standard.code).to.equal('BadRequest');
    const trusted = await deployer().virtualMachines.createOrUpdate(
      ids.fabrikamRG,
      'tl-1',
      vmBody({ storageProfile: { imageReference: shared('ubuntu-tl') }, securityProfile: { securityType: 'TrustedLaunch', uefiSettings: { secureBootEnabled: true, vTpmEnabled: true } } }),
      fast,
    );
    expect(trusted.securityProfile?.securityType).to.equal('TrustedLaunch');
    const confidential = await rejection(deployer().virtualMachines.createOrUpdate(ids.fabrikamRG, 'cvm-1', vmBody({ storageProfile: { imageReference: shared('ubuntu-cvm') }, securityProfile: { securityType: 'TrustedLaunch' } }), fast));
    expect(confidential.message).to.contain("'ConfidentialVM' security type");
    // TrustedLaunchSupported allows both.
    expect((await deployer().virtualMachines.createOrUpdate(ids.fabrikamRG, 'tls-1', vmBody({ storageProfile: { imageReference: shared('ubuntu-tls') } }), fast)).provisioningState).to.equal('Succeeded');
    const pool = await rejection(deployer().virtualMachineScaleSets.createOrUpdate(ids.fabrikamRG, 'tl-pool', scaleSetBody({}, { storageProfile: { imageReference: shared('ubuntu-tl', '1.0.0') } }), fast));
    expect(pool.code).to.equal('BadRequest');
    const trustedPool = await deployer().virtualMachineScaleSets.createOrUpdate(
      ids.fabrikamRG,
      'tl-pool',
      scaleSetBody({}, { storageProfile: { imageReference: shared('ubuntu-tl', '1.0.0') }, securityProfile: { securityType: 'TrustedLaunch' } }),
      fast,
    );
    expect(trustedPool.provisioningState).to.equal('Succeeded');
  });
});
