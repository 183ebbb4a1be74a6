// The REST examples of the Azure docs for direct sharing ("Share gallery resources", REST tab),
// replayed as raw HTTPS requests with the api-versions the docs use. The docs' Add/Remove bodies
// repeat "type" and "ids" inside one object; they are sent as two groups first, and at the end as
// the docs print them (a JSON reader keeps the last "type" and "ids": the tenants). The docs' Reset
// body ends with a trailing comma, which Azure's JSON reader (Json.NET) accepts; it is sent as is.
// The docs list "galleries shared with subscription" under a resource group; the API (and the
// SDKs and CLI) have that list at subscription level, which is what is replayed.
import { expect } from 'chai';
import type { RunningEmulator } from '../azure-emulator/index.js';
import { ids, raw, startSample } from './helpers.js';

describe('emulator: REST examples of the direct-sharing docs', () => {
  let e: RunningEmulator;
  let owner: string;
  let consumer: string;
  let devConsumer: string;
  const rg = ids.galleryRG;
  const gallery = 'docsGallery';
  const base = `/subscriptions/${ids.gallerySubscription}/resourceGroups/${rg}/providers/Microsoft.Compute/galleries/${gallery}`;
  const uniqueName = `${ids.gallerySubscription}-DOCSGALLERY`;
  const location = `/subscriptions/${ids.fabrikamSubscription}/providers/Microsoft.Compute/Locations/westus`;

  before(async () => {
    e = await startSample();
    owner = await e.control.issueToken({ appId: ids.galleryOwner, tenantId: ids.contoso });
    consumer = await e.control.issueToken({ appId: ids.fabrikamDeployer, tenantId: ids.fabrikam });
    // Anyone in the shared subscription's tenant: the shared reads check the share, not RBAC.
    devConsumer = await e.control.issueToken({ appId: ids.portalAdmin, tenantId: ids.contoso });
  });
  after(async () => e.stop());

  it('creates a gallery for subscription / tenant-level sharing', async () => {
    const res = await raw(e, 'PUT', `${base}?api-version=2020-09-30`, { token: owner, body: { properties: { sharingProfile: { permissions: 'Groups' } }, location: 'westus' } });
    expect(res.status).to.equal(201);
    expect(res.body.properties?.sharingProfile?.permissions).to.equal('Groups');
    // An image with a version, so that there is something to consume.
    const image = await raw(e, 'PUT', `${base}/images/myImage1?api-version=2020-09-30`, {
      token: owner,
      body: { location: 'westus', properties: { osType: 'Linux', osState: 'Generalized', identifier: { publisher: 'p', offer: 'o', sku: 's' } } },
    });
    expect(image.status).to.equal(201);
    const version = await raw(e, 'PUT', `${base}/images/myImage1/versions/1.0.0?api-version=2020-09-30`, { token: owner, body: { location: 'westus', properties: { publishingProfile: { targetRegions: [{ name: 'West US' }] } } } });
    expect(version.status).to.equal(201);
  });

  it('shares the gallery to a subscription and a tenant (Add)', async () => {
    const res = await raw(e, 'POST', `${base}/share?api-version=2020-09-30`, {
      token: owner,
      body: { operationType: 'Add', groups: [{ type: 'Subscriptions', ids: [ids.devSubscription] }, { type: 'AADTenants', ids: [ids.fabrikam] }] },
    });
    expect([200, 202]).to.include(res.status);
  });

  it('gets uniqueId, permissions and groups with $expand=sharingProfile/Groups', async () => {
    const res = await raw(e, 'GET', `${base}?api-version=2020-09-30&$expand=sharingProfile/Groups`, { token: owner });
    expect(res.status).to.equal(200);
    expect(res.body.properties?.identifier?.uniqueName).to.equal(uniqueName);
    expect(res.body.properties?.sharingProfile?.groups).to.deep.equal([
      { type: 'Subscriptions', ids: [ids.devSubscription] },
      { type: 'AADTenants', ids: [ids.fabrikam] },
    ]);
  });

  it('lists galleries shared with the tenant', async () => {
    const res = await raw(e, 'GET', `${location}/SharedGalleries?api-version=2020-09-30&sharedTo=tenant`, { token: consumer });
    expect(res.status).to.equal(200);
    expect(res.body.value).to.deep.include({ name: uniqueName, location: 'westus', identifier: { uniqueId: `/SharedGalleries/${uniqueName}` }, properties: { artifactTags: {} } });
  });

  it('lists galleries, image definitions and versions shared with the subscription (no sharedTo)', async () => {
    const devLocation = `/subscriptions/${ids.devSubscription}/providers/Microsoft.Compute/Locations/westus`;
    const galleries = await raw(e, 'GET', `${devLocation}/SharedGalleries?api-version=2020-09-30`, { token: devConsumer });
    expect(galleries.status).to.equal(200);
    expect(galleries.body.value).to.deep.include({ name: uniqueName, location: 'westus', identifier: { uniqueId: `/SharedGalleries/${uniqueName}` }, properties: { artifactTags: {} } });
    const images = await raw(e, 'GET', `${devLocation}/sharedGalleries/${uniqueName}/images?api-version=2020-09-30`, { token: devConsumer });
    expect(images.body.value?.[0]?.identifier?.uniqueId).to.equal(`/SharedGalleries/${uniqueName}/Images/myImage1`);
    const versions = await raw(e, 'GET', `${devLocation}/sharedGalleries/${uniqueName}/images/myImage1/versions?api-version=2020-09-30`, { token: devConsumer });
    expect(versions.body.value?.[0]?.name).to.equal('1.0.0');
    // The Fabrikam subscription is not shared directly, only its tenant: nothing without sharedTo.
    const fabrikamOwn = await raw(e, 'GET', `${location}/SharedGalleries?api-version=2020-09-30`, { token: consumer });
    expect(fabrikamOwn.body.value).to.deep.equal([]);
  });

  it('lists and gets image definitions of the shared gallery', async () => {
    const list = await raw(e, 'GET', `${location}/sharedGalleries/${uniqueName}/images?api-version=2020-09-30&sharedTo=tenant`, { token: consumer });
    expect(list.body.value?.[0]?.identifier?.uniqueId).to.equal(`/SharedGalleries/${uniqueName}/Images/myImage1`);
    const one = await raw(e, 'GET', `${location}/SharedGalleries/${uniqueName}/Images/myImage1?api-version=2020-09-30`, { token: consumer });
    expect(one.status).to.equal(200);
    expect(one.body.name).to.equal('myImage1');
  });

  it('lists image versions and gets the sharedGalleryImageId of a version', async () => {
    const list = await raw(e, 'GET', `${location}/sharedGalleries/${uniqueName}/images/myImage1/versions?api-version=2020-09-30&sharedTo=tenant`, { token: consumer });
    expect(list.body.value?.[0]?.name).to.equal('1.0.0');
    const one = await raw(e, 'GET', `${location}/SharedGalleries/${uniqueName}/Images/myImage1/Versions/1.0.0?api-version=2020-09-30`, { token: consumer });
    expect(one.body.identifier?.uniqueId).to.equal(`/SharedGalleries/${uniqueName}/Images/myImage1/Versions/1.0.0`);
  });

  it('deploys a VM and a scale set from the shared image version', async () => {
    const subnet = `/subscriptions/${ids.fabrikamSubscription}/resourceGroups/${ids.fabrikamRG}/providers/Microsoft.Network/virtualNetworks/myVnet/subnets/default`;
    const nics = { networkApiVersion: '2020-11-01', networkInterfaceConfigurations: [{ name: 'nic', properties: { primary: true, ipConfigurations: [{ name: 'ip', properties: { subnet: { id: subnet } } }] } }] };
    const imageReference = { sharedGalleryImageId: `/sharedGalleries/${uniqueName}/images/myImage1/versions/1.0.0` };
    const vm = await raw(e, 'PUT', `/subscriptions/${ids.fabrikamSubscription}/resourceGroups/${ids.fabrikamRG}/providers/Microsoft.Compute/virtualMachines/docsVM?api-version=2021-03-01`, {
      token: consumer,
      body: { location: 'westus', properties: { hardwareProfile: { vmSize: 'Standard_D2s_v5' }, storageProfile: { imageReference }, osProfile: { computerName: 'docs', adminUsername: 'azureuser' }, networkProfile: nics } },
    });
    expect(vm.status).to.equal(201);
    expect(vm.body.properties?.storageProfile?.imageReference?.exactVersion).to.equal('1.0.0');
    const vmss = await raw(e, 'PUT', `/subscriptions/${ids.fabrikamSubscription}/resourceGroups/${ids.fabrikamRG}/providers/Microsoft.Compute/virtualMachineScaleSets/docsVMSS?api-version=2021-03-01`, {
      token: consumer,
      body: {
        location: 'westus',
        sku: { name: 'Standard_D2s_v5', capacity: 2 },
        properties: { upgradePolicy: { mode: 'Manual' }, virtualMachineProfile: { storageProfile: { imageReference }, osProfile: { computerNamePrefix: 'docs', adminUsername: 'azureuser' }, networkProfile: nics } },
      },
    });
    expect(vmss.status).to.equal(201);
  });

  it('removes access for a tenant (Remove), then resets the sharing profile (Reset)', async () => {
    const remove = await raw(e, 'POST', `${base}/share?api-version=2020-09-30`, { token: owner, body: { operationType: 'Remove', groups: [{ type: 'AADTenants', ids: [ids.fabrikam] }] } });
    expect([200, 202]).to.include(remove.status);
    const hidden = await raw(e, 'GET', `${location}/SharedGalleries?api-version=2020-09-30&sharedTo=tenant`, { token: consumer });
    expect(hidden.body.value).to.deep.equal([]);
    const reset = await raw(e, 'POST', `${base}/share?api-version=2020-09-30`, { token: owner, body: '{ \n "operationType" : "Reset", \n} \n' });
    expect([200, 202]).to.include(reset.status);
    const after = await raw(e, 'GET', `${base}?api-version=2020-09-30&$expand=sharingProfile/Groups`, { token: owner });
    expect(after.body.properties?.sharingProfile?.groups).to.deep.equal([]);
  });

  it('replays the docs\' Add and Remove bodies as printed (repeated keys: the last type and ids count)', async () => {
    const printed = (operationType: string) => `{ \n"operationType": "${operationType}", \n"groups":[  \n{ \n"type": "Subscriptions", \n"ids": [ \n"${ids.devSubscription}", \n"${ids.fabrikamSubscription}" \n], \n"type": "AADTenants", \n"ids": [ \n"${ids.fabrikam}", \n"${ids.contoso}" \n] \n} \n] \n} \n`;
    const add = await raw(e, 'POST', `${base}/share?api-version=2020-09-30`, { token: owner, body: printed('Add') });
    expect([200, 202]).to.include(add.status);
    const shared = await raw(e, 'GET', `${base}?api-version=2020-09-30&$expand=sharingProfile/Groups`, { token: owner });
    expect(shared.body.properties?.sharingProfile?.groups).to.deep.equal([{ type: 'AADTenants', ids: [ids.fabrikam, ids.contoso] }]);
    const remove = await raw(e, 'POST', `${base}/share?api-version=2020-09-30`, { token: owner, body: printed('Remove') });
    expect([200, 202]).to.include(remove.status);
    const after = await raw(e, 'GET', `${base}?api-version=2020-09-30&$expand=sharingProfile/Groups`, { token: owner });
    expect(after.body.properties?.sharingProfile?.groups).to.deep.equal([]);
  });

  it('still refuses a body that is not JSON (400 InvalidRequestContent)', async () => {
    const res = await raw(e, 'POST', `${base}/share?api-version=2020-09-30`, { token: owner, body: '{ "operationType": Reset }' });
    expect(res.status).to.equal(400);
    expect(res.body.error?.code).to.equal('InvalidRequestContent');
  });
});
