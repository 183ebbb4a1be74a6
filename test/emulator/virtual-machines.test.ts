// Virtual machines and scale sets from gallery images through @azure/arm-compute: the image checks
// (visibility, latest, replication, osProfile, cross-tenant auxiliary tokens), pollers, PATCH, DELETE.
import { expect } from 'chai';
import { ComputeManagementClient } from '@azure/arm-compute';
import type { RunningEmulator } from '../azure-emulator/index.js';
import { compute, deployerCompute, galleryPath, ids, ownerCompute, putVnet, raw, rejection, secretCredential, startSample } from './helpers.js';

const fast = { updateIntervalInMs: 5 };
const uniqueName = `${ids.gallerySubscription}-MYGALLERY`;
const subnet = `/subscriptions/${ids.fabrikamSubscription}/resourceGroups/${ids.fabrikamRG}/providers/Microsoft.Network/virtualNetworks/myVnet/subnets/default`;
const osProfile = { computerName: 'web-1', adminUsername: 'azureuser', linuxConfiguration: { disablePasswordAuthentication: true, ssh: { publicKeys: [{ path: '/home/azureuser/.ssh/authorized_keys', keyData: 'ssh-ed25519 AAAA' }] } } };
const networkProfile = (subnetId = subnet) => ({
  networkApiVersion: '2020-11-01',
  networkInterfaceConfigurations: [{ name: 'nic', primary: true, deleteOption: 'Delete', ipConfigurations: [{ name: 'ip', subnet: { id: subnetId } }] }],
});

describe('emulator: virtual machines and scale sets', () => {
  let e: RunningEmulator;
  before(async () => {
    e = await startSample();
  });
  after(async () => e.stop());
  beforeEach(async () => e.control.reset());

  const deployer = () => deployerCompute(e);
  const shareWithFabrikam = () => ownerCompute(e).gallerySharingProfile.update(ids.galleryRG, ids.gallery, { operationType: 'Add', groups: [{ type: 'AADTenants', ids: [ids.fabrikam] }] }, fast);
  const vm = (client: ComputeManagementClient, name: string, imageReference: Record<string, string>, extra: Record<string, unknown> = {}) =>
    client.virtualMachines.createOrUpdate(ids.fabrikamRG, name, { location: 'westus', hardwareProfile: { vmSize: 'Standard_D2s_v5' }, storageProfile: { imageReference }, osProfile, networkProfile: networkProfile(), ...extra }, fast);

  it('creates a VM from a shared image (latest), reports power state, resizes and deletes it', async () => {
    await shareWithFabrikam();
    const created = await vm(deployer(), 'web-1', { sharedGalleryImageId: `/SharedGalleries/${uniqueName}/Images/ubuntu-2404/Versions/latest` });
    expect(created.provisioningState).to.equal('Succeeded');
    expect(created.storageProfile?.imageReference?.exactVersion).to.equal('1.0.0');
    expect(created.storageProfile?.osDisk?.osType).to.equal('Linux');
    const withView = await deployer().virtualMachines.get(ids.fabrikamRG, 'web-1', { expand: 'instanceView' });
    expect(withView.instanceView?.statuses?.map((s) => s.code)).to.include('PowerState/running');
    const resized = await deployer().virtualMachines.update(ids.fabrikamRG, 'web-1', { hardwareProfile: { vmSize: 'Standard_D4s_v5' } }, fast);
    expect(resized.hardwareProfile?.vmSize).to.equal('Standard_D4s_v5');
    await deployer().virtualMachines.delete(ids.fabrikamRG, 'web-1', fast);
    expect((await rejection(deployer().virtualMachines.get(ids.fabrikamRG, 'web-1'))).statusCode).to.equal(404);
  });

  it('creates through a long-running operation when configured', async () => {
    await shareWithFabrikam();
    await e.control.setOptions({ lroDurationMs: 30 });
    const created = await vm(deployer(), 'slow', { sharedGalleryImageId: `/SharedGalleries/${uniqueName}/Images/ubuntu-2404/Versions/1.0.0` });
    expect(created.provisioningState).to.equal('Succeeded');
    expect((await e.control.counters())['Operations_Get']).to.be.greaterThan(0);
    const resized = await deployer().virtualMachines.update(ids.fabrikamRG, 'slow', { hardwareProfile: { vmSize: 'Standard_D8s_v5' } }, fast);
    expect(resized.hardwareProfile?.vmSize).to.equal('Standard_D8s_v5');
    expect(resized.provisioningState).to.equal('Succeeded');
    await deployer().virtualMachines.delete(ids.fabrikamRG, 'slow', fast);
    expect((await rejection(deployer().virtualMachines.get(ids.fabrikamRG, 'slow'))).statusCode).to.equal(404);
    const statuses = (await e.control.requests()).filter((r) => r.operation?.startsWith('VirtualMachines_') && r.method !== 'GET').map((r) => `${r.method} ${r.status}`);
    expect(statuses).to.deep.equal(['PUT 201', 'PATCH 200', 'DELETE 202']);
  });

  it('answers a slow PUT 201 with Azure-AsyncOperation; the instance view shows creating, then running', async () => {
    await shareWithFabrikam();
    await e.control.setOptions({ lroDurationMs: 120_000, retryAfterSeconds: 5 });
    const token = await e.control.issueToken({ appId: ids.fabrikamDeployer, tenantId: ids.fabrikam });
    const path = `/subscriptions/${ids.fabrikamSubscription}/resourceGroups/${ids.fabrikamRG}/providers/Microsoft.Compute/virtualMachines/raw-1`;
    const body = {
      location: 'westus',
      properties: {
        hardwareProfile: { vmSize: 'Standard_D2s_v5' },
        storageProfile: { imageReference: { sharedGalleryImageId: `/SharedGalleries/${uniqueName}/Images/ubuntu-2404/Versions/latest` } },
        osProfile,
        networkProfile: { networkApiVersion: '2020-11-01', networkInterfaceConfigurations: [{ name: 'nic', properties: { primary: true, ipConfigurations: [{ name: 'ip', properties: { subnet: { id: subnet } } }] } }] },
      },
    };
    const put = await raw(e, 'PUT', `${path}?api-version=2026-04-01`, { token, body });
    expect(put.status).to.equal(201);
    expect(put.body.properties?.provisioningState).to.equal('Creating');
    expect(put.headers['azure-asyncoperation']).to.match(/\/providers\/Microsoft\.Compute\/locations\/westus\/operations\//);
    expect(put.headers['retry-after']).to.equal('5');
    const during = await raw(e, 'GET', `${path}?api-version=2026-04-01&$expand=instanceView`, { token });
    expect((during.body.properties?.instanceView?.statuses as unknown as { code: string }[]).map((s) => s.code)).to.deep.equal(['ProvisioningState/creating', 'PowerState/starting']);
    const operation = new URL(put.headers['azure-asyncoperation'] as string);
    expect((await raw(e, 'GET', operation.pathname + operation.search, { token })).body.status).to.equal('InProgress');
    await e.control.advanceClock(120_000);
    expect((await raw(e, 'GET', operation.pathname + operation.search, { token })).body.status).to.equal('Succeeded');
    const after = await raw(e, 'GET', `${path}/instanceView?api-version=2026-04-01`, { token });
    expect((after.body.statuses as unknown as { code: string }[]).map((s) => s.code)).to.deep.equal(['ProvisioningState/succeeded', 'PowerState/running']);
  });

  it('powers a VM off and on', async () => {
    await shareWithFabrikam();
    await vm(deployer(), 'power-1', { sharedGalleryImageId: `/SharedGalleries/${uniqueName}/Images/ubuntu-2404/Versions/latest` });
    await deployer().virtualMachines.powerOff(ids.fabrikamRG, 'power-1', fast);
    const stopped = await deployer().virtualMachines.instanceView(ids.fabrikamRG, 'power-1');
    expect(stopped.statuses?.map((s) => s.code)).to.include('PowerState/stopped');
    await deployer().virtualMachines.start(ids.fabrikamRG, 'power-1', fast);
    expect((await deployer().virtualMachines.instanceView(ids.fabrikamRG, 'power-1')).statuses?.map((s) => s.code)).to.include('PowerState/running');
  });

  it('refuses a shared image that is not shared with the caller (404 GalleryImageNotFound)', async () => {
    const failure = await rejection(vm(deployer(), 'web-2', { sharedGalleryImageId: `/SharedGalleries/${uniqueName}/Images/ubuntu-2404/Versions/latest` }));
    expect(failure.statusCode).to.equal(404);
    expect(failure.code).to.equal('GalleryImageNotFound');
  });

  it('refuses a version not replicated to the region (404 GalleryImageNotFound) and skips it for latest', async () => {
    await shareWithFabrikam();
    await e.control.setOptions({ replicationDurationMs: 3_600_000 });
    await ownerCompute(e).galleryImageVersions.createOrUpdate(ids.galleryRG, ids.gallery, 'ubuntu-2404', '2.0.0', { location: 'westus', publishingProfile: { targetRegions: [{ name: 'westus' }] } }, fast);
    const failure = await rejection(vm(deployer(), 'web-3', { sharedGalleryImageId: `/SharedGalleries/${uniqueName}/Images/ubuntu-2404/Versions/2.0.0` }));
    expect(failure.code).to.equal('GalleryImageNotFound');
    expect(failure.message).to.contain('is not available in westus region');
    const latest = await vm(deployer(), 'web-4', { sharedGalleryImageId: `/SharedGalleries/${uniqueName}/Images/ubuntu-2404/Versions/latest` });
    expect(latest.storageProfile?.imageReference?.exactVersion).to.equal('1.0.0');
    await e.control.advanceClock(3_600_000);
    const newer = await vm(deployer(), 'web-5', { sharedGalleryImageId: `/SharedGalleries/${uniqueName}/Images/ubuntu-2404/Versions/latest` });
    expect(newer.storageProfile?.imageReference?.exactVersion).to.equal('2.0.0');
  });

  it('requires osProfile for a generalized image and refuses it for a specialized one', async () => {
    await shareWithFabrikam();
    const missing = await rejection(vm(deployer(), 'web-6', { sharedGalleryImageId: `/SharedGalleries/${uniqueName}/Images/ubuntu-2404/Versions/latest` }, { osProfile: undefined }));
    expect(missing.code).to.equal('InvalidParameter');
    const owner = ownerCompute(e);
    await owner.galleryImages.createOrUpdate(ids.galleryRG, ids.gallery, 'golden-disk', { location: 'westus', osType: 'Linux', osState: 'Specialized', identifier: { publisher: 'Contoso', offer: 'disk', sku: '1' } }, fast);
    await owner.galleryImageVersions.createOrUpdate(ids.galleryRG, ids.gallery, 'golden-disk', '1.0.0', { location: 'westus' }, fast);
    const refused = await rejection(vm(deployer(), 'web-7', { sharedGalleryImageId: `/SharedGalleries/${uniqueName}/Images/golden-disk/Versions/1.0.0` }));
    expect(refused.code).to.equal('InvalidParameter');
    expect(refused.message).to.equal("Parameter 'osProfile' is not allowed.");
    const specialized = await vm(deployer(), 'web-8', { sharedGalleryImageId: `/SharedGalleries/${uniqueName}/Images/golden-disk/Versions/1.0.0` }, { osProfile: undefined });
    expect(specialized.provisioningState).to.equal('Succeeded');
  });

  it('refuses a subnet of another subscription', async () => {
    await shareWithFabrikam();
    const failure = await rejection(
      vm(deployer(), 'web-9', { sharedGalleryImageId: `/SharedGalleries/${uniqueName}/Images/ubuntu-2404/Versions/latest` }, { networkProfile: networkProfile(subnet.replace(ids.fabrikamSubscription, ids.devSubscription)) }),
    );
    expect(failure.statusCode).to.equal(400);
  });

  it('checks RBAC on an image id in the same tenant', async () => {
    const devOwner = compute(e, secretCredential(e, ids.contoso, ids.galleryApp), ids.devSubscription);
    const appOid = e.emulator.world.servicePrincipal(ids.galleryApp, ids.contoso)!.objectId;
    await e.control.assignRole(`/subscriptions/${ids.devSubscription}`, appOid, 'Contributor');
    // The resource group is made by the seeded admin (the portal), with a raw ARM call.
    const admin = await e.control.adminToken(ids.contoso);
    expect((await raw(e, 'PUT', `/subscriptions/${ids.devSubscription}/resourceGroups/dev?api-version=2021-04-01`, { token: admin, body: { location: 'westus' } })).status).to.equal(201);
    const devSubnet = await putVnet(e, { tenantId: ids.contoso, subscription: ids.devSubscription, resourceGroup: 'dev', name: 'v', location: 'westus' });
    const create = () =>
      devOwner.virtualMachines.createOrUpdate('dev', 'vm1', { location: 'westus', storageProfile: { imageReference: { id: `${galleryPath}/images/ubuntu-2404/versions/1.0.0` } }, osProfile, networkProfile: networkProfile(devSubnet) }, fast);
    const failure = await rejection(create());
    expect(failure.statusCode).to.equal(403);
    expect(failure.code).to.equal('AuthorizationFailed');
    expect(failure.message).to.contain('Microsoft.Compute/galleries/images/versions/read');
    await e.control.assignRole(galleryPath, appOid, 'Compute Gallery Image Reader');
    expect((await create()).provisioningState).to.equal('Succeeded');
  });

  it('creates a scale set across tenants only with an auxiliary token (LinkedAuthorizationFailed otherwise)', async () => {
    const fabrikamOid = await e.control.grantConsent(ids.galleryApp, ids.fabrikam);
    await e.control.assignRole(`/subscriptions/${ids.fabrikamSubscription}/resourceGroups/${ids.fabrikamRG}`, fabrikamOid, 'Contributor');
    await e.control.assignRole(galleryPath, e.emulator.world.servicePrincipal(ids.galleryApp, ids.contoso)!.objectId, 'Reader');
    const contosoCredential = secretCredential(e, ids.contoso, ids.galleryApp);
    const auxiliary = {
      policy: {
        name: 'auxiliaryToken',
        sendRequest: async (request: { headers: { set(name: string, value: string): void } }, next: (r: typeof request) => Promise<unknown>) => {
          const token = await contosoCredential.getToken(e.armScope);
          request.headers.set('x-ms-authorization-auxiliary', `Bearer ${token.token}`);
          return next(request);
        },
      },
      position: 'perCall' as const,
    };
    const plain = compute(e, secretCredential(e, ids.fabrikam, ids.galleryApp), ids.fabrikamSubscription);
    const scaleSet = {
      location: 'westus',
      sku: { name: 'Standard_D2s_v5', capacity: 3 },
      upgradePolicy: { mode: 'Manual' },
      virtualMachineProfile: { storageProfile: { imageReference: { id: `${galleryPath}/images/ubuntu-2404/versions/1.0.0` } }, osProfile: { computerNamePrefix: 'web', adminUsername: 'azureuser' }, networkProfile: networkProfile() },
    } as const;
    const failure = await rejection(plain.virtualMachineScaleSets.createOrUpdate(ids.fabrikamRG, 'web-pool', scaleSet, fast));
    expect(failure.statusCode).to.equal(403);
    expect(failure.code).to.equal('LinkedAuthorizationFailed');

    const withAux = new ComputeManagementClient(secretCredential(e, ids.fabrikam, ids.galleryApp), ids.fabrikamSubscription, {
      endpoint: e.armEndpoint,
      credentials: { scopes: [e.armScope] },
      tlsOptions: { ca: e.caPem },
      additionalPolicies: [auxiliary as never],
    });
    const created = await withAux.virtualMachineScaleSets.createOrUpdate(ids.fabrikamRG, 'web-pool', scaleSet, fast);
    expect(created.sku?.capacity).to.equal(3);
    expect(created.provisioningState).to.equal('Succeeded');
    const put = (await e.control.requests()).filter((r) => r.operation === 'VirtualMachineScaleSets_CreateOrUpdate');
    expect(put.map((r) => [r.status, r.auxiliary])).to.deep.equal([[403, false], [201, true]]);
    const scaled = await withAux.virtualMachineScaleSets.update(ids.fabrikamRG, 'web-pool', { sku: { capacity: 5 } }, fast);
    expect(scaled.sku?.capacity).to.equal(5);
    const view = await withAux.virtualMachineScaleSets.getInstanceView(ids.fabrikamRG, 'web-pool');
    expect(view.virtualMachine?.statusesSummary?.[0]?.count).to.equal(5);
    await withAux.virtualMachineScaleSets.delete(ids.fabrikamRG, 'web-pool', fast);
  });

  it('creates a VM from a community image', async () => {
    const owner = ownerCompute(e);
    await owner.galleryImages.createOrUpdate(ids.galleryRG, 'contosoPublic', 'tools', { location: 'westus', osType: 'Linux', osState: 'Generalized', identifier: { publisher: 'Contoso', offer: 'tools', sku: '1' } }, fast);
    await owner.galleryImageVersions.createOrUpdate(ids.galleryRG, 'contosoPublic', 'tools', '1.2.3', { location: 'westus' }, fast);
    await owner.gallerySharingProfile.update(ids.galleryRG, 'contosoPublic', { operationType: 'EnableCommunity' }, fast);
    const publicName = (await owner.galleries.get(ids.galleryRG, 'contosoPublic')).sharingProfile!.communityGalleryInfo!.publicNames![0]!;
    const created = await vm(deployer(), 'pub-1', { communityGalleryImageId: `/CommunityGalleries/${publicName}/Images/tools/Versions/latest` });
    expect(created.storageProfile?.imageReference?.exactVersion).to.equal('1.2.3');
  });
});
