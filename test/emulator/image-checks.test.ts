// The image checks of a VM PUT that the other VM tests leave out: `latest` with excludeFromLatest
// (global and per region), an image id without a version, a community id not (or no longer) public,
// and a gallery image id in another tenant through core-rest-pipeline's auxiliary-token policy
// (missing, expired, wrong-tenant or unauthorized auxiliary tokens).
import { expect } from 'chai';
import { ComputeManagementClient } from '@azure/arm-compute';
import { auxiliaryAuthenticationHeaderPolicy } from '@azure/core-rest-pipeline';
import type { RunningEmulator } from '../azure-emulator/index.js';
import { deployerCompute, fabrikamSubnet, galleryPath, ids, ownerCompute, putVnet, raw, rejection, secretCredential, startSample } from './helpers.js';

const fast = { updateIntervalInMs: 5 };
const uniqueName = `${ids.gallerySubscription}-MYGALLERY`;
const osProfile = { computerName: 'vm', adminUsername: 'azureuser', linuxConfiguration: { disablePasswordAuthentication: true } };
const networkProfile = (subnetId: string) => ({
  networkApiVersion: '2020-11-01',
  networkInterfaceConfigurations: [{ name: 'nic', primary: true, ipConfigurations: [{ name: 'ip', subnet: { id: subnetId } }] }],
});
const fabrikamNetwork = networkProfile(fabrikamSubnet);

describe('emulator: image checks of VM creation', () => {
  let e: RunningEmulator;
  before(async () => {
    e = await startSample();
  });
  after(async () => e.stop());
  beforeEach(async () => e.control.reset());

  const deployer = () => deployerCompute(e);
  // A subnet in the VM's region (Azure refuses one in another region).
  const subnets: Record<string, string> = {};
  const subnetIn = async (location: string) =>
    location === 'westus' ? fabrikamSubnet : (subnets[location] ??= await putVnet(e, { tenantId: ids.fabrikam, subscription: ids.fabrikamSubscription, resourceGroup: ids.fabrikamRG, name: `vnet-${location}`, location }));
  beforeEach(() => {
    for (const key of Object.keys(subnets)) delete subnets[key];
  });
  const createVm = async (client: ComputeManagementClient, name: string, location: string, imageReference: Record<string, string>) =>
    client.virtualMachines.createOrUpdate(ids.fabrikamRG, name, { location, storageProfile: { imageReference }, osProfile, networkProfile: networkProfile(await subnetIn(location)) }, fast);
  const shared = (version: string) => ({ sharedGalleryImageId: `/SharedGalleries/${uniqueName}/Images/ubuntu-2404/Versions/${version}` });
  const exactVersion = async (name: string, location: string, version: string) => (await createVm(deployer(), name, location, shared(version))).storageProfile?.imageReference?.exactVersion;

  describe('latest', () => {
    beforeEach(async () => {
      const owner = ownerCompute(e);
      await owner.gallerySharingProfile.update(ids.galleryRG, ids.gallery, { operationType: 'Add', groups: [{ type: 'AADTenants', ids: [ids.fabrikam] }] }, fast);
      // 1.1.0 is excluded everywhere; 1.2.0 is excluded in westus only.
      await owner.galleryImageVersions.createOrUpdate(
        ids.galleryRG, ids.gallery, 'ubuntu-2404', '1.1.0',
        { location: 'westus', publishingProfile: { excludeFromLatest: true, targetRegions: [{ name: 'westus' }, { name: 'eastus' }] } },
        fast,
      );
      await owner.galleryImageVersions.createOrUpdate(
        ids.galleryRG, ids.gallery, 'ubuntu-2404', '1.2.0',
        { location: 'westus', publishingProfile: { targetRegions: [{ name: 'westus', excludeFromLatest: true }, { name: 'eastus' }] } },
        fast,
      );
    });

    it('skips versions excluded from latest, globally or for the region', async () => {
      expect(await exactVersion('w1', 'westus', 'latest')).to.equal('1.0.0');
      expect(await exactVersion('e1', 'eastus', 'latest')).to.equal('1.2.0');
      // An excluded version can still be named.
      expect(await exactVersion('w2', 'westus', '1.1.0')).to.equal('1.1.0');
      await ownerCompute(e).galleryImageVersions.update(ids.galleryRG, ids.gallery, 'ubuntu-2404', '1.1.0', { publishingProfile: { excludeFromLatest: false } }, fast);
      expect(await exactVersion('w3', 'westus', 'latest')).to.equal('1.1.0');
    });

    it('answers 404 GalleryImageNotFound when no version qualifies as latest in the region', async () => {
      const failure = await rejection(exactVersion('n1', 'northeurope', 'latest'));
      expect(failure.statusCode).to.equal(404);
      expect(failure.code).to.equal('GalleryImageNotFound');
      expect(failure.message).to.contain('There is no latest image version exists for');
      expect(failure.message).to.contain('northeurope');
    });
  });

  it('takes an image id without /versions/ as latest (RBAC in the same tenant)', async () => {
    const owner = ownerCompute(e);
    const subnet = await putVnet(e, { tenantId: ids.contoso, subscription: ids.gallerySubscription, resourceGroup: ids.galleryRG, name: 'vnet', location: 'eastus' });
    const created = await owner.virtualMachines.createOrUpdate(
      ids.galleryRG,
      'same-tenant',
      { location: 'eastus', storageProfile: { imageReference: { id: `${galleryPath}/images/ubuntu-2404` } }, osProfile, networkProfile: networkProfile(subnet) },
      fast,
    );
    expect(created.storageProfile?.imageReference?.exactVersion).to.equal('1.0.0');
  });

  it('refuses a community image id before the gallery is community-shared and once it no longer is (404 GalleryImageNotFound)', async () => {
    const owner = ownerCompute(e);
    await owner.galleryImages.createOrUpdate(ids.galleryRG, 'contosoPublic', 'tools', { location: 'westus', osType: 'Linux', osState: 'Generalized', identifier: { publisher: 'Contoso', offer: 'tools', sku: '1' } }, fast);
    await owner.galleryImageVersions.createOrUpdate(ids.galleryRG, 'contosoPublic', 'tools', '1.0.0', { location: 'westus' }, fast);
    const publicName = (await owner.galleries.get(ids.galleryRG, 'contosoPublic')).sharingProfile!.communityGalleryInfo!.publicNames![0]!;
    const reference = { communityGalleryImageId: `/CommunityGalleries/${publicName}/Images/tools/Versions/1.0.0` };
    const early = await rejection(createVm(deployer(), 'pub-0', 'westus', reference));
    expect([early.statusCode, early.code]).to.deep.equal([404, 'GalleryImageNotFound']);
    await owner.gallerySharingProfile.update(ids.galleryRG, 'contosoPublic', { operationType: 'EnableCommunity' }, fast);
    expect((await createVm(deployer(), 'pub-1', 'westus', reference)).provisioningState).to.equal('Succeeded');
    await owner.gallerySharingProfile.update(ids.galleryRG, 'contosoPublic', { operationType: 'Reset' }, fast);
    const failure = await rejection(createVm(deployer(), 'pub-2', 'westus', reference));
    expect(failure.statusCode).to.equal(404);
    expect(failure.code).to.equal('GalleryImageNotFound');
  });

  describe('an image id in another tenant', () => {
    const imageId = `${galleryPath}/images/ubuntu-2404/versions/1.0.0`;
    const vmPath = `/subscriptions/${ids.fabrikamSubscription}/resourceGroups/${ids.fabrikamRG}/providers/Microsoft.Compute/virtualMachines/cross?api-version=2026-04-01`;
    // The wire form (the SDK moves primary and ipConfigurations under properties).
    const wireNetwork = { networkApiVersion: '2020-11-01', networkInterfaceConfigurations: [{ name: 'nic', properties: { primary: true, ipConfigurations: [{ name: 'ip', properties: { subnet: { id: fabrikamSubnet } } }] } }] };
    const vmBody = { location: 'westus', properties: { storageProfile: { imageReference: { id: imageId } }, osProfile, networkProfile: wireNetwork } };
    let contosoOid: string;

    beforeEach(async () => {
      // The multi-tenant app, consented in Fabrikam, deploys there; its Contoso principal reads the image.
      const fabrikamOid = await e.control.grantConsent(ids.galleryApp, ids.fabrikam);
      await e.control.assignRole(`/subscriptions/${ids.fabrikamSubscription}/resourceGroups/${ids.fabrikamRG}`, fabrikamOid, 'Contributor');
      contosoOid = e.emulator.world.servicePrincipal(ids.galleryApp, ids.contoso)!.objectId;
    });

    const clientWithAuxiliary = () =>
      new ComputeManagementClient(secretCredential(e, ids.fabrikam, ids.galleryApp), ids.fabrikamSubscription, {
        endpoint: e.armEndpoint,
        credentials: { scopes: [e.armScope] },
        tlsOptions: { ca: e.caPem },
        additionalPolicies: [{ policy: auxiliaryAuthenticationHeaderPolicy({ credentials: [secretCredential(e, ids.contoso, ids.galleryApp)], scopes: [e.armScope] }), position: 'perRetry' }],
      });

    it('creates the VM with the auxiliary-token policy once the image tenant principal may read the image', async () => {
      const unauthorized = await rejection(clientWithAuxiliary().virtualMachines.createOrUpdate(ids.fabrikamRG, 'cross', { location: 'westus', storageProfile: { imageReference: { id: imageId } }, osProfile, networkProfile: fabrikamNetwork }, fast));
      expect(unauthorized.statusCode).to.equal(403);
      expect(unauthorized.code).to.equal('LinkedAuthorizationFailed');
      expect(unauthorized.message).to.contain(contosoOid);
      expect(unauthorized.message).to.contain('Microsoft.Compute/galleries/images/versions/read');
      await e.control.assignRole(galleryPath, contosoOid, 'Compute Gallery Image Reader');
      const created = await clientWithAuxiliary().virtualMachines.createOrUpdate(ids.fabrikamRG, 'cross', { location: 'westus', storageProfile: { imageReference: { id: imageId } }, osProfile, networkProfile: fabrikamNetwork }, fast);
      expect(created.storageProfile?.imageReference?.exactVersion).to.equal('1.0.0');
      const puts = (await e.control.requests()).filter((r) => r.operation === 'VirtualMachines_CreateOrUpdate');
      expect(puts.map((r) => [r.status, r.auxiliary, r.tenantId])).to.deep.equal([
        [403, true, ids.fabrikam],
        [201, true, ids.fabrikam],
      ]);
    });

    it('answers 403 LinkedAuthorizationFailed without an auxiliary token, or with one of the wrong tenant', async () => {
      await e.control.assignRole(galleryPath, contosoOid, 'Reader');
      const token = await e.control.issueToken({ appId: ids.galleryApp, tenantId: ids.fabrikam });
      const without = await raw(e, 'PUT', vmPath, { token, body: vmBody });
      expect(without.status).to.equal(403);
      expect(without.body.error?.code).to.equal('LinkedAuthorizationFailed');
      const wrongTenant = await raw(e, 'PUT', vmPath, { token, body: vmBody, headers: { 'x-ms-authorization-auxiliary': `Bearer ${token}` } });
      expect(wrongTenant.status).to.equal(403);
      expect(wrongTenant.body.error?.code).to.equal('LinkedAuthorizationFailed');
      const auxiliary = await e.control.issueToken({ appId: ids.galleryApp, tenantId: ids.contoso });
      const ok = await raw(e, 'PUT', vmPath, { token, body: vmBody, headers: { 'x-ms-authorization-auxiliary': `Bearer ${token}, Bearer ${auxiliary}` } });
      expect(ok.status).to.equal(201);
    });

    it('answers 401 for an expired auxiliary token', async () => {
      await e.control.assignRole(galleryPath, contosoOid, 'Reader');
      const auxiliary = await e.control.issueToken({ appId: ids.galleryApp, tenantId: ids.contoso, lifetimeSeconds: 60 });
      await e.control.advanceClock(61_000);
      const token = await e.control.issueToken({ appId: ids.galleryApp, tenantId: ids.fabrikam });
      const res = await raw(e, 'PUT', vmPath, { token, body: vmBody, headers: { 'x-ms-authorization-auxiliary': `Bearer ${auxiliary}` } });
      expect(res.status).to.equal(401);
      expect(res.body.error?.code).to.equal('ExpiredAuthenticationToken');
    });
  });
});
