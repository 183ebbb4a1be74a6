// Microsoft.Network as VMs touch it: seeded and PUT virtual networks and subnets, the NICs and public
// IPs a VM makes for itself (with addresses from the subnet), Azure's refusals of a missing, foreign
// or other-region subnet, and what a VM's deletion does to its NIC, public IP and OS disk by their
// delete options (Detach by default). VMs through @azure/arm-compute; Network by raw HTTPS (the
// project has no Network SDK).
import { expect } from 'chai';
import type { RunningEmulator } from '../azure-emulator/index.js';
import { buildWorld, SeedError } from '../azure-emulator/seed.js';
import { deployerCompute, fabrikamSubnet, ids, putVnet, raw, rejection, sampleSeed, startSample } from './helpers.js';

const fast = { updateIntervalInMs: 5 };
const uniqueName = `${ids.gallerySubscription}-MYGALLERY`;
const rg = `/subscriptions/${ids.fabrikamSubscription}/resourceGroups/${ids.fabrikamRG}`;
const osProfile = { computerName: 'vm', adminUsername: 'azureuser', linuxConfiguration: { disablePasswordAuthentication: true } };
/** A string leaf of a loosely read answer. */
const text = (value: unknown): string => (typeof value === 'string' ? value : '');
const image = { sharedGalleryImageId: `/SharedGalleries/${uniqueName}/Images/ubuntu-2404/Versions/latest` };

interface NicOptions {
  subnet?: string;
  nicDelete?: 'Delete' | 'Detach';
  publicIp?: 'Delete' | 'Detach' | 'none';
}

const networkProfile = (o: NicOptions = {}) => ({
  networkApiVersion: '2022-11-01',
  networkInterfaceConfigurations: [
    {
      name: 'nic',
      primary: true,
      ...(o.nicDelete ? { deleteOption: o.nicDelete } : {}),
      ipConfigurations: [
        {
          name: 'ipconfig',
          subnet: { id: o.subnet ?? fabrikamSubnet },
          ...(o.publicIp && o.publicIp !== 'none' ? { publicIPAddressConfiguration: { name: 'pip', deleteOption: o.publicIp, sku: { name: 'Standard' } } } : {}),
        },
      ],
    },
  ],
});

describe('emulator: virtual networks, NICs, public IPs and OS disks of VMs', () => {
  let e: RunningEmulator;
  let admin: string;
  before(async () => {
    e = await startSample();
  });
  after(async () => e.stop());
  beforeEach(async () => {
    await e.control.reset();
    const owner = await e.control.adminToken(ids.contoso);
    await raw(e, 'POST', `/subscriptions/${ids.gallerySubscription}/resourceGroups/${ids.galleryRG}/providers/Microsoft.Compute/galleries/${ids.gallery}/share?api-version=2023-07-03`, {
      token: owner,
      body: { operationType: 'Add', groups: [{ type: 'AADTenants', ids: [ids.fabrikam] }] },
    });
    admin = await e.control.adminToken(ids.fabrikam);
  });

  const get = async (path: string) => raw(e, 'GET', `${path}?api-version=2024-05-01`, { token: admin });
  const createVm = (name: string, o: NicOptions & { osDisk?: 'Delete' | 'Detach'; location?: string } = {}) =>
    deployerCompute(e).virtualMachines.createOrUpdate(
      ids.fabrikamRG,
      name,
      {
        location: o.location ?? 'westus',
        hardwareProfile: { vmSize: 'Standard_D2s_v5' },
        storageProfile: { imageReference: image, ...(o.osDisk ? { osDisk: { createOption: 'FromImage', deleteOption: o.osDisk } } : {}) },
        osProfile,
        networkProfile: networkProfile(o),
      },
      fast,
    );

  it('serves the seeded vnet and its subnet, and vnets and subnets made by PUT', async () => {
    const seeded = await get(`${rg}/providers/Microsoft.Network/virtualNetworks/myVnet`);
    expect(seeded.status).to.equal(200);
    expect(seeded.body.location).to.equal('westus');
    expect(seeded.body.properties?.addressSpace?.addressPrefixes).to.deep.equal(['10.0.0.0/16']);
    expect(seeded.body.properties?.subnets?.[0]?.id).to.equal(fabrikamSubnet);
    const subnet = await get(fabrikamSubnet);
    expect(subnet.body.properties?.addressPrefix).to.equal('10.0.0.0/24');

    const vnet = `${rg}/providers/Microsoft.Network/virtualNetworks/east`;
    const put = await raw(e, 'PUT', `${vnet}?api-version=2024-05-01`, { token: admin, body: { location: 'eastus', properties: { addressSpace: { addressPrefixes: ['10.5.0.0/16'] }, subnets: [{ name: 'a', properties: { addressPrefix: '10.5.1.0/24' } }] } } });
    expect(put.status).to.equal(201);
    expect(put.body.properties?.subnets?.[0]?.properties?.addressPrefix).to.equal('10.5.1.0/24');
    const second = await raw(e, 'PUT', `${vnet}/subnets/b?api-version=2024-05-01`, { token: admin, body: { properties: { addressPrefix: '10.5.2.0/24' } } });
    expect(second.status).to.equal(201);
    const list = await get(`${vnet}/subnets`);
    expect((list.body.value as unknown as { name: string }[]).map((s) => s.name)).to.deep.equal(['a', 'b']);
    const outside = await raw(e, 'PUT', `${vnet}/subnets/c?api-version=2024-05-01`, { token: admin, body: { properties: { addressPrefix: '10.6.0.0/24' } } });
    expect(outside.status).to.equal(400);
    expect(outside.body.error?.code).to.equal('NetcfgSubnetRangeOutsideVnet');
    expect((await raw(e, 'DELETE', `${vnet}/subnets/b?api-version=2024-05-01`, { token: admin })).status).to.equal(200);
    expect((await get(`${vnet}/subnets/b`)).status).to.equal(404);
    const vnets = await get(`${rg}/providers/Microsoft.Network/virtualNetworks`);
    expect((vnets.body.value as unknown as { name: string }[]).map((v) => v.name).sort()).to.deep.equal(['east', 'myVnet']);
  });

  it('refuses seeds with a subnet outside its vnet, an unseeded subscription or an unknown image security type', () => {
    const outside = sampleSeed();
    outside.virtualNetworks = [{ subscription: ids.fabrikamSubscription, resourceGroup: 'r', name: 'v', location: 'westus', addressSpace: ['10.0.0.0/16'], subnets: [{ name: 's', addressPrefix: '10.1.0.0/24' }] }];
    expect(() => buildWorld(outside, 0)).to.throw(SeedError, /virtual network v: Subnet 's' is not valid because its IP address range is outside/);
    const unseeded = sampleSeed();
    unseeded.virtualNetworks = [{ subscription: '00000000-0000-4000-8000-000000000009', resourceGroup: 'r', name: 'v', location: 'westus' }];
    expect(() => buildWorld(unseeded, 0)).to.throw(SeedError, /virtual network v/);
    const security = sampleSeed();
    security.galleries![0]!.images![0]!.securityType = 'Trusted';
    expect(() => buildWorld(security, 0)).to.throw(SeedError, /securityType 'Trusted'/);
  });

  it('gives a VM the NIC it describes, with a private IP from the subnet, and a public IP when asked', async () => {
    const vm = await createVm('net-1', { publicIp: 'Delete' });
    const nicId = vm.networkProfile?.networkInterfaces?.[0]?.id ?? '';
    expect(nicId).to.equal(`${rg}/providers/Microsoft.Network/networkInterfaces/net-1-nic`);
    expect(vm.networkProfile?.networkInterfaces?.[0]?.deleteOption).to.equal('Detach');
    const nic = await get(nicId);
    expect(nic.status).to.equal(200);
    expect(nic.body.properties?.virtualMachine?.id).to.equal(vm.id);
    const ip = nic.body.properties?.ipConfigurations?.[0]?.properties;
    expect(ip?.privateIPAddress).to.equal('10.0.0.4');
    expect(ip?.subnet?.id).to.equal(fabrikamSubnet);
    const pip = await get(text(ip?.publicIPAddress?.id));
    expect(pip.status).to.equal(200);
    expect(pip.body.properties?.ipAddress).to.match(/^\d+\.\d+\.\d+\.\d+$/);
    expect(pip.body.sku?.name).to.equal('Standard');

    const other = await createVm('net-2');
    const otherNic = await get(other.networkProfile?.networkInterfaces?.[0]?.id ?? '');
    expect(otherNic.body.properties?.ipConfigurations?.[0]?.properties?.privateIPAddress).to.equal('10.0.0.5');
    // An update keeps the NIC and its address.
    const again = await createVm('net-1', { publicIp: 'Delete' });
    expect(again.networkProfile?.networkInterfaces?.[0]?.id).to.equal(nicId);
    expect((await get(nicId)).body.properties?.ipConfigurations?.[0]?.properties?.privateIPAddress).to.equal('10.0.0.4');
    const subnet = await get(fabrikamSubnet);
    expect(subnet.body.properties?.ipConfigurations).to.have.length(2);
    const nics = await get(`${rg}/providers/Microsoft.Network/networkInterfaces`);
    expect(nics.body.value).to.have.length(2);
  });

  it('refuses a missing subnet or vnet, a subnet in another region and one of another subscription (400 InvalidResourceReference)', async () => {
    const missingSubnet = await rejection(createVm('bad-1', { subnet: fabrikamSubnet.replace('/subnets/default', '/subnets/nope') }));
    expect(missingSubnet.statusCode).to.equal(400);
    expect(missingSubnet.code).to.equal('InvalidResourceReference');
    expect(missingSubnet.message).to.contain('/subnets/nope referenced by resource').and.contain('was not found');
    const missingVnet = await rejection(createVm('bad-2', { subnet: fabrikamSubnet.replace('/myVnet/', '/nope/') }));
    expect(missingVnet.code).to.equal('InvalidResourceReference');
    const otherRegion = await rejection(createVm('bad-3', { location: 'eastus' }));
    expect(otherRegion.statusCode).to.equal(400);
    expect(otherRegion.code).to.equal('InvalidResourceReference');
    expect(otherRegion.message).to.contain('both resources are in the same region');
    const foreign = await rejection(createVm('bad-4', { subnet: fabrikamSubnet.replace(ids.fabrikamSubscription, ids.devSubscription) }));
    expect(foreign.code).to.equal('InvalidResourceReference');
    const notASubnet = await rejection(createVm('bad-5', { subnet: `${rg}/providers/Microsoft.Network/virtualNetworks/myVnet` }));
    expect(notASubnet.code).to.equal('InvalidJsonReferenceFormat');
    expect((await get(`${rg}/providers/Microsoft.Network/networkInterfaces`)).body.value).to.deep.equal([]);
    const scaleSet = await rejection(
      deployerCompute(e).virtualMachineScaleSets.createOrUpdate(
        ids.fabrikamRG,
        'bad-pool',
        {
          location: 'westus',
          sku: { name: 'Standard_D2s_v5', capacity: 1 },
          orchestrationMode: 'Uniform',
          upgradePolicy: { mode: 'Manual' },
          virtualMachineProfile: { storageProfile: { imageReference: image }, osProfile: { computerNamePrefix: 'p', adminUsername: 'azureuser' }, networkProfile: networkProfile({ subnet: fabrikamSubnet.replace('default', 'nope') }) },
        },
        fast,
      ),
    );
    expect(scaleSet.code).to.equal('InvalidResourceReference');
  });

  it('needs subnets/join/action on a subnet outside the caller\'s scope (403 LinkedAuthorizationFailed)', async () => {
    // A shared network in another resource group, where the deployer (Contributor on myResourceGroup) has no role.
    const subnet = await putVnet(e, { tenantId: ids.fabrikam, subscription: ids.fabrikamSubscription, resourceGroup: 'networkRG', name: 'hub', location: 'westus', octet: 7 });
    const refused = await rejection(createVm('joined', { subnet }));
    expect(refused.statusCode).to.equal(403);
    expect(refused.code).to.equal('LinkedAuthorizationFailed');
    expect(refused.message).to.contain('Microsoft.Network/virtualNetworks/subnets/join/action').and.contain(subnet);
    const deployerOid = e.emulator.world.servicePrincipal(ids.fabrikamDeployer, ids.fabrikam)!.objectId;
    await e.control.assignRole(subnet.slice(0, subnet.indexOf('/subnets/')), deployerOid, 'Contributor');
    const vm = await createVm('joined', { subnet });
    const nic = await get(vm.networkProfile?.networkInterfaces?.[0]?.id ?? '');
    expect(nic.body.properties?.ipConfigurations?.[0]?.properties?.privateIPAddress).to.equal('10.7.0.4');
  });

  it('leaves the NIC, public IP and OS disk behind by default (Detach), detached and deletable', async () => {
    const vm = await createVm('keep-1', { publicIp: 'Detach' });
    const nicId = vm.networkProfile?.networkInterfaces?.[0]?.id ?? '';
    const diskId = vm.storageProfile?.osDisk?.managedDisk?.id ?? '';
    expect(vm.storageProfile?.osDisk?.deleteOption).to.equal('Detach');
    expect(diskId).to.equal(`${rg}/providers/Microsoft.Compute/disks/${vm.storageProfile?.osDisk?.name}`);
    const disk = await get(diskId);
    expect(disk.body.managedBy).to.equal(vm.id);
    expect(disk.body.properties?.diskState).to.equal('Attached');
    const inUse = await raw(e, 'DELETE', `${nicId}?api-version=2024-05-01`, { token: admin });
    expect(inUse.status).to.equal(400);
    expect(inUse.body.error?.code).to.equal('NicInUse');
    const subnetInUse = await raw(e, 'DELETE', `${fabrikamSubnet}?api-version=2024-05-01`, { token: admin });
    expect(subnetInUse.body.error?.code).to.equal('InUseSubnetCannotBeDeleted');
    const diskInUse = await raw(e, 'DELETE', `${diskId}?api-version=2024-03-02`, { token: admin });
    expect(diskInUse.status).to.equal(409);

    await deployerCompute(e).virtualMachines.delete(ids.fabrikamRG, 'keep-1', fast);
    const nic = await get(nicId);
    expect(nic.status).to.equal(200);
    expect(nic.body.properties?.virtualMachine).to.equal(undefined);
    const pipId = text(nic.body.properties?.ipConfigurations?.[0]?.properties?.publicIPAddress?.id);
    expect((await get(pipId)).status).to.equal(200);
    const left = await get(diskId);
    expect(left.status).to.equal(200);
    expect(left.body.managedBy).to.equal(undefined);
    expect(left.body.properties?.diskState).to.equal('Unattached');
    expect((await deployerCompute(e).disks.get(ids.fabrikamRG, text(left.body.name))).diskState).to.equal('Unattached');
    expect((await raw(e, 'DELETE', `${nicId}?api-version=2024-05-01`, { token: admin })).status).to.equal(200);
    expect((await raw(e, 'DELETE', `${diskId}?api-version=2024-03-02`, { token: admin })).status).to.equal(200);
  });

  it('deletes the NIC, public IP and OS disk with the VM when their deleteOption is Delete (also through a long-running delete)', async () => {
    for (const lroDurationMs of [0, 20]) {
      await e.control.setOptions({ lroDurationMs });
      const name = `gone-${lroDurationMs}`;
      const vm = await createVm(name, { nicDelete: 'Delete', publicIp: 'Delete', osDisk: 'Delete' });
      const nicId = vm.networkProfile?.networkInterfaces?.[0]?.id ?? '';
      const nic = await get(nicId);
      const pipId = text(nic.body.properties?.ipConfigurations?.[0]?.properties?.publicIPAddress?.id);
      const diskId = vm.storageProfile?.osDisk?.managedDisk?.id ?? '';
      await deployerCompute(e).virtualMachines.delete(ids.fabrikamRG, name, fast);
      expect((await get(nicId)).status, 'NIC').to.equal(404);
      expect((await get(pipId)).status, 'public IP').to.equal(404);
      expect((await get(diskId)).status, 'disk').to.equal(404);
    }
    // The subnet is free again.
    expect((await get(fabrikamSubnet)).body.properties?.ipConfigurations).to.equal(undefined);
  });
});
