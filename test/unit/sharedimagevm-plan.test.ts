// SharedImageVM's pure planning and request bodies: what is made, changed or refused for each
// observation, and what the operator sends Azure (delete options, If-None-Match decisions, the
// owner tag, no OS profile for a specialized image).
import { expect } from 'chai';
import type { SharedImageVM, TenantGrant } from '../../src/api/v1alpha1/index.js';
import type { AzureClients } from '../../src/azure/clients.js';
import type { CredentialResolver } from '../../src/controllers/shared/credentials.js';
import { SharedImageVMHandler } from '../../src/controllers/sharedimagevm/handler.js';
import { imageChecker } from '../../src/controllers/sharedimagevm/image-verdict.js';
import { classifyFailure } from '../../src/controllers/shared/failures.js';
import type { ImageCheckCache, ObservedImage } from '../../src/azure/images.js';
import type { ObservedMachine } from '../../src/azure/virtual-machines.js';
import { ADOPT_ANNOTATION, OWNER_TAG, planSharedImageVM, planVmDeletion, scaleSetBody, vmBody, type ImageVerdict } from '../../src/controllers/sharedimagevm/plan.js';

const SUB = '56ceae0c-1804-418b-9cda-5ce6d858f5b6';
const subnet = `/subscriptions/${SUB}/resourceGroups/myResourceGroup/providers/Microsoft.Network/virtualNetworks/myVnet/subnets/default`;
const sharedId = '/SharedGalleries/baa78062-9e05-4cbe-bc20-1fc5ea242262-MYGALLERY/Images/ubuntu-2404/Versions/latest';
const OWNER = 'SharedImageVM fabrikam/web-1';

function vm(spec: Partial<SharedImageVM['spec']> = {}, annotations?: Record<string, string>, status?: SharedImageVM['status']): SharedImageVM {
  return {
    apiVersion: 'galleryshare.io/v1alpha1',
    kind: 'SharedImageVM',
    metadata: { name: 'web-1', namespace: 'fabrikam', generation: 1, ...(annotations ? { annotations } : {}) },
    spec: {
      image: { sharedGalleryImageId: sharedId },
      subscriptionId: SUB,
      resourceGroup: 'myResourceGroup',
      location: 'westus',
      size: 'Standard_D2s_v5',
      adminUsername: 'azureuser',
      sshPublicKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHm9hfKhG2cEz0X3xqwNqpLdj5yDsYq0mGc4y4yVf1Zb azureuser@fabrikam'],
      network: { subnetId: subnet },
      ...spec,
    },
    ...(status ? { status } : {}),
  };
}

const okImage: Extract<ImageVerdict, { ok: true }> = { ok: true, version: '1.2.0', osType: 'Linux', osState: 'Generalized', warnings: [] };

const machine = (over: Partial<ObservedMachine> = {}): ObservedMachine => ({
  kind: 'virtualMachine',
  id: `/subscriptions/${SUB}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/virtualMachines/web-1`,
  location: 'westus',
  tags: { [OWNER_TAG]: OWNER },
  provisioningState: 'Succeeded',
  powerState: 'running',
  size: 'Standard_D2s_v5',
  image: { sharedGalleryImageId: sharedId, exactVersion: '1.2.0' },
  ...over,
});

describe('SharedImageVM plan', () => {
  it('no VM and the image fits: create it (only if none exists)', () => {
    const plan = planSharedImageVM(vm(), { image: okImage });
    expect(plan.actions).to.deep.equal([{ type: 'create', kind: 'virtualMachine', image: okImage, replace: false }]);
  });

  it('a VM deleted behind the operator\'s back is made again, with a Warning event', () => {
    const plan = planSharedImageVM(vm({}, undefined, { observedGeneration: 1, resourceId: machine().id }), { image: okImage });
    expect(plan.actions.map((a) => a.type)).to.deep.equal(['create']);
    expect(plan.events?.map((e) => e.reason)).to.deep.equal(['Recreating']);
  });

  it('an image that does not fit: Stalled with its reason, nothing made; one still replicating: Reconciling', () => {
    const refused = planSharedImageVM(vm(), { image: { ok: false, reason: 'SpecializedImageWithOsProfile', message: 'No.', replicating: false } });
    expect(refused.stalled?.reason).to.equal('SpecializedImageWithOsProfile');
    expect(refused.actions).to.deep.equal([]);
    const replicating = planSharedImageVM(vm(), { image: { ok: false, reason: 'ImageReplicating', message: 'Soon.', replicating: true } });
    expect(replicating.waiting?.reason).to.equal('ImageReplicating');
    expect(replicating.stalled).to.equal(undefined);
  });

  it('a subnet that cannot take the VM (missing, another region, no right to join): Stalled with its reason before any write', () => {
    const plan = planSharedImageVM(vm(), { image: okImage, subnetProblem: { reason: 'SubnetInOtherRegion', message: 'Use a subnet in westus.' } });
    expect(plan.stalled?.reason).to.equal('SubnetInOtherRegion');
    expect(plan.actions).to.deep.equal([]);
  });

  it('a VM of that name it did not make: Stalled ResourceExists, unless the adoption annotation says take it', () => {
    const foreign = machine({ tags: {} });
    expect(planSharedImageVM(vm(), { machine: foreign }).stalled?.reason).to.equal('ResourceExists');
    const adopted = planSharedImageVM(vm({}, { [ADOPT_ANNOTATION]: 'true' }), { machine: foreign });
    expect(adopted.actions).to.deep.equal([{ type: 'update', kind: 'virtualMachine', tags: { [OWNER_TAG]: OWNER } }]);
  });

  it("a failed VM someone else made is not ours to PUT again: Stalled ResourceExists", () => {
    expect(planSharedImageVM(vm(), { machine: machine({ provisioningState: 'Failed', tags: {} }), image: okImage }).stalled?.reason).to.equal('ResourceExists');
  });

  it('tags: the spec\'s tags and the owner tag are PATCHed when Azure lacks them; tags others added stay', () => {
    const plan = planSharedImageVM(vm({ tags: { team: 'web' } }), { machine: machine({ tags: { [OWNER_TAG]: OWNER, added: 'by-someone' } }) });
    expect(plan.actions).to.deep.equal([{ type: 'update', kind: 'virtualMachine', tags: { [OWNER_TAG]: OWNER, added: 'by-someone', team: 'web' } }]);
  });

  it('a failed create of ours is PUT again (not deleted)', () => {
    const plan = planSharedImageVM(vm(), { machine: machine({ provisioningState: 'Failed' }), image: okImage });
    expect(plan.actions).to.deep.equal([{ type: 'create', kind: 'virtualMachine', image: okImage, replace: true }]);
  });

  it('drift: a new size resizes; a new capacity scales; a scale set\'s new image updates its model', () => {
    expect(planSharedImageVM(vm({ size: 'Standard_D4s_v5' }), { machine: machine() }).actions).to.deep.equal([{ type: 'update', kind: 'virtualMachine', size: 'Standard_D4s_v5' }]);
    const set = vm({ scaleSet: { capacity: 5, orchestrationMode: 'Flexible' }, image: { sharedGalleryImageId: sharedId.replace('latest', '1.3.0') } });
    const observed = machine({ kind: 'virtualMachineScaleSet', capacity: 3, powerState: undefined });
    expect(planSharedImageVM(set, { machine: observed, image: okImage }).actions).to.deep.equal([
      { type: 'update', kind: 'virtualMachineScaleSet', capacity: 5, imageReference: { sharedGalleryImageId: sharedId.replace('latest', '1.3.0') } },
    ]);
  });

  it("a scale set's latest is pinned to the resolved version in its model, and moved when a newer one appears", () => {
    const set = vm({ scaleSet: { capacity: 2, orchestrationMode: 'Flexible' } });
    const pinned = sharedId.replace('latest', '1.2.0');
    const running = machine({ kind: 'virtualMachineScaleSet', capacity: 2, powerState: undefined, image: { sharedGalleryImageId: pinned } });
    expect(planSharedImageVM(set, { machine: running, image: okImage }).actions, 'the pinned version is still the latest').to.deep.equal([]);
    expect(planSharedImageVM(set, { machine: running, image: { ...okImage, version: '1.3.0' } }).actions).to.deep.equal([
      { type: 'update', kind: 'virtualMachineScaleSet', imageReference: { sharedGalleryImageId: sharedId.replace('latest', '1.3.0') } },
    ]);
    const body = scaleSetBody(set.spec, { name: 'web-1', computerName: 'web-1', owner: { kind: 'SharedImageVM', namespace: 'fabrikam', name: 'web-1' }, image: okImage });
    expect(at(body, 'virtualMachineProfile', 'storageProfile', 'imageReference')).to.deep.equal({ sharedGalleryImageId: pinned });
  });

  it('in step: nothing to do, Provisioned and ImageAvailable True without reading the image again', () => {
    const plan = planSharedImageVM(vm(), { machine: machine() });
    expect(plan.actions).to.deep.equal([]);
    expect(plan.details.map((d) => `${d.type}=${d.status}`)).to.deep.equal(['ImageAvailable=True', 'Provisioned=True']);
  });

  it('waiting for the TenantGrant: Reconciling, nothing read or made', () => {
    const plan = planSharedImageVM(vm(), { grantWait: { reason: 'TenantGrantNotReady', message: 'Waiting for TenantGrant g.' } });
    expect(plan.waiting?.reason).to.equal('TenantGrantNotReady');
    expect(plan.actions).to.deep.equal([]);
  });

  it('deletion deletes only a machine it made', () => {
    expect(planVmDeletion(vm(), { machine: machine() }).actions).to.deep.equal([{ type: 'delete', kind: 'virtualMachine' }]);
    expect(planVmDeletion(vm(), { machine: machine({ tags: {} }) }).actions).to.deep.equal([]);
    expect(planVmDeletion(vm(), {}).actions).to.deep.equal([]);
  });
});

/** The value at a path of a request body, as JSON (what goes on the wire). */
function at(body: unknown, ...path: (string | number)[]): unknown {
  let node: unknown = JSON.parse(JSON.stringify(body));
  for (const key of path) node = (node as Record<string | number, unknown> | undefined)?.[key];
  return node;
}

describe('SharedImageVM request bodies', () => {
  const inputs = { name: 'web-1', computerName: 'web-1', owner: { kind: 'SharedImageVM', namespace: 'fabrikam', name: 'web-1' }, image: okImage };

  it('a VM: its NIC made by itself in the subnet, every delete option Delete, the owner tag, SSH keys', () => {
    const body = vmBody(vm({ network: { subnetId: subnet, publicIP: true }, tags: { team: 'web' } }).spec, inputs);
    expect(at(body, 'tags')).to.deep.equal({ team: 'web', [OWNER_TAG]: OWNER });
    expect(at(body, 'storageProfile', 'osDisk', 'deleteOption')).to.equal('Delete');
    const nic = at(body, 'networkProfile', 'networkInterfaceConfigurations', 0);
    expect(at(nic, 'deleteOption')).to.equal('Delete');
    expect(at(nic, 'ipConfigurations', 0, 'subnet', 'id')).to.equal(subnet);
    expect(at(nic, 'ipConfigurations', 0, 'publicIPAddressConfiguration', 'deleteOption')).to.equal('Delete');
    expect(at(body, 'osProfile', 'linuxConfiguration', 'ssh', 'publicKeys', 0, 'path')).to.equal('/home/azureuser/.ssh/authorized_keys');
    expect(at(body, 'storageProfile', 'imageReference')).to.deep.equal({ sharedGalleryImageId: sharedId });
  });

  it('a specialized image gets no OS profile; a security type is sent with Secure Boot and vTPM; a purchase plan is sent', () => {
    const body = vmBody(vm({ securityType: "TrustedLaunch" }).spec, { ...inputs, image: { ...okImage, osState: 'Specialized', purchasePlan: { name: 'p', publisher: 'q', product: 'r' } } });
    expect(at(body, 'osProfile')).to.equal(undefined);
    expect(at(body, 'securityProfile')).to.deep.equal({ securityType: 'TrustedLaunch', uefiSettings: { secureBootEnabled: true, vTpmEnabled: true } });
    expect(at(body, 'plan')).to.deep.equal({ name: 'p', publisher: 'q', product: 'r' });
  });

  it('the data of userDataSecretRef goes in as custom data (cloud-init), or as userData without an OS profile; zones too', () => {
    const data = Buffer.from('#cloud-config').toString('base64');
    const body = vmBody(vm({ zones: ['2'] }).spec, { ...inputs, userData: data });
    expect(at(body, 'osProfile', 'customData')).to.equal(data);
    expect(at(body, 'userData')).to.equal(undefined);
    expect(at(body, 'zones')).to.deep.equal(['2']);
    const specialized = vmBody(vm().spec, { ...inputs, image: { ...okImage, osState: 'Specialized' }, userData: data });
    expect(at(specialized, 'userData')).to.equal(data);
  });

  it('a confidential VM says how its OS disk encrypts the guest state', () => {
    expect(at(vmBody(vm({ securityType: 'ConfidentialVM' }).spec, inputs), 'storageProfile', 'osDisk', 'managedDisk', 'securityProfile')).to.deep.equal({ securityEncryptionType: 'VMGuestStateOnly' });
  });

  it('a Flexible scale set: orchestration mode, fault domain count, network API version and a computer name prefix', () => {
    const body = scaleSetBody(vm({ scaleSet: { capacity: 3, orchestrationMode: 'Flexible' } }).spec, inputs);
    expect(at(body, 'orchestrationMode')).to.equal('Flexible');
    expect(at(body, 'platformFaultDomainCount')).to.equal(1);
    expect(at(body, 'virtualMachineProfile', 'networkProfile', 'networkApiVersion')).to.equal('2020-11-01');
    expect(at(body, 'virtualMachineProfile', 'osProfile', 'computerNamePrefix')).to.equal('web-1');
    expect(at(body, 'virtualMachineProfile', 'osProfile', 'computerName')).to.equal(undefined);
    expect(at(body, 'sku')).to.deep.equal({ name: 'Standard_D2s_v5', capacity: 3 });
  });
});

describe('SharedImageVM and its TenantGrant', () => {
  const grantFor = (targetRG: string): TenantGrant => ({
    apiVersion: 'galleryshare.io/v1alpha1',
    kind: 'TenantGrant',
    metadata: { name: 'contoso-to-fabrikam', namespace: 'fabrikam' },
    spec: {
      application: { clientId: '05de60fa-8991-4b07-9bb1-78a2a5bb1e21', credentialsRef: { name: 'gallery-app' } },
      source: { tenantId: '6dc731fe-2682-41a6-a97e-5fb246cc86f9', gallery: { subscriptionId: 'baa78062-9e05-4cbe-bc20-1fc5ea242262', resourceGroup: 'myGalleryRG', name: 'myGallery' } },
      target: { tenantId: 'c333bccd-7e4f-4c18-bcc2-ba10fdc7b25a', subscriptionId: SUB, resourceGroup: targetRG },
    },
  });
  const handlerWith = (grant: TenantGrant) =>
    new SharedImageVMHandler({
      azure: {} as AzureClients,
      credentials: {} as CredentialResolver,
      policy: { allowCommunitySharing: false, requireObjectCredentials: false },
      grant: () => grant,
      checkImage: () => Promise.reject(new Error('not called')),
      computerName: (name) => name,
    });
  const viaGrant = (image: SharedImageVM['spec']['image']) => vm({ image, tenantGrantRef: { name: 'contoso-to-fabrikam' } });
  const galleryImage = { id: '/subscriptions/baa78062-9e05-4cbe-bc20-1fc5ea242262/resourceGroups/myGalleryRG/providers/Microsoft.Compute/galleries/myGallery/images/ubuntu-2404/versions/1.0.0' };

  it("refuses, before any Azure call, a VM outside the grant's target or an image outside its source gallery (TenantGrantMismatch)", () => {
    expect(handlerWith(grantFor('myResourceGroup')).preconditions(viaGrant(galleryImage), 'reconcile')).to.equal(undefined);
    expect(handlerWith(grantFor('otherRG')).preconditions(viaGrant(galleryImage), 'reconcile')?.reason).to.equal('TenantGrantMismatch');
    const otherGallery = { id: galleryImage.id.replace('myGallery', 'otherGallery') };
    expect(handlerWith(grantFor('myResourceGroup')).preconditions(viaGrant(otherGallery), 'reconcile')?.message).to.include("not in the grant's source gallery");
  });
});

describe('SharedImageVM image verdicts and refusals that pass by themselves', () => {
  it('a verdict that lets no VM be made is read again at the next look (its cache entry dropped); one that does, stands', async () => {
    const invalidated: unknown[] = [];
    const cacheWith = (image: unknown) => ({ get: () => Promise.resolve(image), invalidate: (key: unknown) => invalidated.push(key) }) as unknown as ImageCheckCache<ObservedImage | undefined>;
    const azure = { computeClient: () => ({}) } as unknown as AzureClients;
    const check = (image: unknown) => imageChecker(azure, cacheWith(image))(vm(), { credential: {} as never, identityKey: 'k' }, new AbortController().signal);
    expect((await check(undefined)).ok).to.equal(false);
    expect(invalidated).to.have.length(1);
    const image: ObservedImage = {
      source: 'shared',
      definition: { osType: 'Linux', osState: 'Generalized', hyperVGeneration: 'V2', architecture: 'x64' },
      versions: [{ name: '1.0.0', excludeFromLatest: false, regions: [{ name: 'westus', excludeFromLatest: false }] }],
    };
    expect(await check(image)).to.deep.include({ ok: true, version: '1.0.0' });
    expect(invalidated).to.have.length(1);
  });

  it('GalleryImageNotFound at create in the VM\'s region, for a shared or community image the check found there, is replication (transient); for an RBAC id it is not', () => {
    const handler = new SharedImageVMHandler({ azure: {} as AzureClients, credentials: {} as CredentialResolver, policy: { allowCommunitySharing: false, requireObjectCredentials: false }, grant: () => undefined, checkImage: () => Promise.reject(new Error('not called')), computerName: (n) => n });
    const refused = Object.assign(new Error('The gallery image /SharedGalleries/x/Images/ubuntu-2404/Versions/1.0.0 is not available in westus region. Please contact image owner to replicate to this region, or change your requested region.'), { name: 'RestError', statusCode: 404, code: 'GalleryImageNotFound' });
    expect(classifyFailure(refused, 'creating the VM', handler.transience(vm(), Date.now())).kind).to.equal('transient');
    const byId = vm({ image: { id: '/subscriptions/baa78062-9e05-4cbe-bc20-1fc5ea242262/resourceGroups/g/providers/Microsoft.Compute/galleries/myGallery/images/ubuntu-2404/versions/1.0.0' } });
    expect(classifyFailure(refused, 'creating the VM', handler.transience(byId, Date.now())).kind).to.equal('terminal');
  });
});
