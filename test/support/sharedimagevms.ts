// SharedImageVMs in the integration tests: a world for them (the sample seed plus a gallery of
// test images shared with Fabrikam, a community gallery, a VM-creating identity without read
// access, and subnets in two regions of two subscriptions), the manifest every test starts from,
// waiting for a state (which kstatus itself must read as the operator's own model does), and what
// the emulator holds (the VM, its NIC and disk) and was asked (VM PUTs).
import { expect } from 'chai';
import { GROUP, VERSION, type SharedImageVM } from '../../src/api/v1alpha1/index.js';
import type { Condition } from '../../src/api/v1alpha1/common.js';
import { kstatus } from '../../src/runtime/kstatus.js';
import type { KubeClient } from '../../src/runtime/kube-client.js';
import type { RunningEmulator } from '../azure-emulator/index.js';
import type { RequestLogEntry } from '../azure-emulator/request-log.js';
import type { Seed, SeedImage } from '../azure-emulator/seed.js';
import { ids, raw, sampleSeed, secrets, type RawResponse } from '../emulator/helpers.js';
import type { KubeClients } from './kube.js';
import { expectKstatusAgrees } from './real-kstatus.js';

export type VM = SharedImageVM;

/** The test images' gallery (Contoso), directly shared with Fabrikam's tenant and subscription. */
export const TEST_GALLERY = 'sivmGallery';
export const TEST_GALLERY_PATH = `/subscriptions/${ids.gallerySubscription}/resourceGroups/${ids.galleryRG}/providers/Microsoft.Compute/galleries/${TEST_GALLERY}`;
/** Its unique name, as the consumer sees it (`{subscriptionId}-{NAME}`). */
export const TEST_GALLERY_UNIQUE = `${ids.gallerySubscription}-${TEST_GALLERY.toUpperCase()}`;
/** A community-shared gallery and its public name. */
export const COMMUNITY_GALLERY = 'sivmPublic';
export const COMMUNITY_PUBLIC_NAME = 'sivmpub-3f0c2a51-7d4e-4b6a-9c1e-2a5b7d9e0f13';

/** A Contoso app that may create VMs in the dev subscription but reads no gallery. */
export const DEV_DEPLOYER = '4e7a1c35-9b2d-4f6e-8a0c-3d5b7e9f1a26';
export const DEV_DEPLOYER_SECRET = 'dev-deployer-secret';
/** Resource group of the dev subscription (Contoso) where RBAC-id VMs go, with subnets in westus and eastus. */
export const DEV_RG = 'devVmRG';
export const FABRIKAM_EAST_VNET = 'eastVnet';

export const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHm9hfKhG2cEz0X3xqwNqpLdj5yDsYq0mGc4y4yVf1Zb azureuser@fabrikam';

export function subnetId(subscription: string, resourceGroup: string, vnet: string, subnet = 'default'): string {
  return `/subscriptions/${subscription}/resourceGroups/${resourceGroup}/providers/Microsoft.Network/virtualNetworks/${vnet}/subnets/${subnet}`;
}
/** The samples' subnet (Fabrikam, westus). */
export const SAMPLE_SUBNET = subnetId(ids.fabrikamSubscription, ids.fabrikamRG, 'myVnet');
export const FABRIKAM_EAST_SUBNET = subnetId(ids.fabrikamSubscription, ids.fabrikamRG, FABRIKAM_EAST_VNET);
export const DEV_WEST_SUBNET = subnetId(ids.devSubscription, DEV_RG, 'devWest');
export const DEV_EAST_SUBNET = subnetId(ids.devSubscription, DEV_RG, 'devEast');

/** A Linux generalized Gen2 image; `versions` default: 1.0.0 in westus. */
const image = (name: string, extra: Partial<SeedImage> = {}): SeedImage => ({
  name,
  osType: 'Linux',
  osState: 'Generalized',
  hyperVGeneration: 'V2',
  identifier: { publisher: 'Contoso', offer: name, sku: '1' },
  versions: [{ name: '1.0.0', targetRegions: ['westus'] }],
  ...extra,
});

/**
 * The sample world plus what the SharedImageVM tests need:
 * - sivmGallery (Contoso, westus), shared with Fabrikam's tenant and subscription:
 *   ubuntu (1.0.0, 1.1.0, 1.2.0 excluded from latest: latest is 1.1.0), specialized, trusted
 *   (TrustedLaunch required), westonly (westus only), replicating (eastus still replicating,
 *   600 s), windows (Windows, generalized), eol (1.0.0 past its end of life);
 * - sivmPublic, community-shared, with image ubuntu 1.0.0;
 * - subnets: Fabrikam eastVnet (eastus); dev subscription devWest (westus), devEast (eastus);
 * - gallery-owner Owner of the dev subscription; dev-deployer (Contoso) Contributor there only.
 */
export function sivmSeed(): Seed {
  const seed = sampleSeed();
  seed.applications!.push({ appId: DEV_DEPLOYER, name: 'dev-deployer', homeTenant: ids.contoso, secrets: [DEV_DEPLOYER_SECRET] });
  seed.roleAssignments!.push(
    { scope: `/subscriptions/${ids.devSubscription}`, principal: ids.galleryOwner, role: 'Owner' },
    { scope: `/subscriptions/${ids.devSubscription}`, principal: DEV_DEPLOYER, role: 'Contributor' },
  );
  seed.galleries!.push(
    {
      id: TEST_GALLERY_PATH,
      location: 'westus',
      permission: 'Groups',
      sharedWith: { tenants: [ids.fabrikam], subscriptions: [ids.fabrikamSubscription] },
      images: [
        image('ubuntu', {
          versions: [
            { name: '1.0.0', targetRegions: ['westus'] },
            { name: '1.1.0', targetRegions: ['westus'] },
            { name: '1.2.0', targetRegions: ['westus'], excludeFromLatest: true },
          ],
        }),
        image('specialized', { osState: 'Specialized' }),
        image('trusted', { securityType: 'TrustedLaunch' }),
        image('westonly'),
        image('replicating', { versions: [{ name: '1.0.0', targetRegions: ['westus', { name: 'eastus', replicationSeconds: 600 }] }] }),
        image('windows', { osType: 'Windows' }),
        image('eol', { versions: [{ name: '1.0.0', targetRegions: ['westus'], endOfLifeDate: '2020-01-01T00:00:00Z' }] }),
      ],
    },
    {
      subscription: ids.gallerySubscription,
      resourceGroup: ids.galleryRG,
      name: COMMUNITY_GALLERY,
      location: 'westus',
      permission: 'Community',
      community: { publisherUri: 'https://contoso.example.com', publisherContact: 'images@contoso.example.com', eula: 'https://contoso.example.com/eula', publicNamePrefix: 'sivmpub', enabled: true, publicNames: [COMMUNITY_PUBLIC_NAME] },
      images: [image('ubuntu')],
    },
  );
  seed.virtualNetworks!.push(
    { subscription: ids.fabrikamSubscription, resourceGroup: ids.fabrikamRG, name: FABRIKAM_EAST_VNET, location: 'eastus', addressSpace: ['10.1.0.0/16'], subnets: [{ name: 'default', addressPrefix: '10.1.0.0/24' }] },
    { subscription: ids.devSubscription, resourceGroup: DEV_RG, name: 'devWest', location: 'westus', addressSpace: ['10.2.0.0/16'], subnets: [{ name: 'default', addressPrefix: '10.2.0.0/24' }] },
    { subscription: ids.devSubscription, resourceGroup: DEV_RG, name: 'devEast', location: 'eastus', addressSpace: ['10.3.0.0/16'], subnets: [{ name: 'default', addressPrefix: '10.3.0.0/24' }] },
  );
  return seed;
}

/** `/SharedGalleries/...` reference of a test image. */
export const sharedImage = (img: string, version = 'latest') => `/SharedGalleries/${TEST_GALLERY_UNIQUE}/Images/${img}/Versions/${version}`;
/** RBAC id of a test image version. */
export const rbacImage = (img: string, version = '1.0.0') => `${TEST_GALLERY_PATH}/images/${img}/versions/${version}`;
export const communityImage = (img: string, version = 'latest') => `/CommunityGalleries/${COMMUNITY_PUBLIC_NAME}/Images/${img}/Versions/${version}`;

/** Secrets an object may name: fabrikam-deployer (the sample's), gallery-owner and dev-deployer (Contoso). */
export async function createVmSecrets(clients: KubeClients, namespace: string): Promise<void> {
  const make = (name: string, tenantId: string, clientId: string, clientSecret: string) =>
    clients.core.createNamespacedSecret({ namespace, body: { metadata: { name }, stringData: { tenantId, clientId, clientSecret } } });
  await make('fabrikam-deployer', ids.fabrikam, ids.fabrikamDeployer, secrets[ids.fabrikamDeployer]!);
  await make('gallery-owner', ids.contoso, ids.galleryOwner, secrets[ids.galleryOwner]!);
  await make('dev-deployer', ids.contoso, DEV_DEPLOYER, DEV_DEPLOYER_SECRET);
}

export type VmSpec = SharedImageVM['spec'];

/**
 * The sample VM (config/samples/sharedimagevm.yaml) with a test image: Fabrikam's subscription,
 * the sample subnet, fabrikam-deployer's Secret; `spec` replaces fields.
 */
export function vmManifest(name: string, spec: Partial<VmSpec> = {}, annotations?: Record<string, string>): VM {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'SharedImageVM',
    metadata: { name, ...(annotations ? { annotations } : {}) },
    spec: {
      image: { sharedGalleryImageId: sharedImage('ubuntu') },
      azureCredentialsRef: { name: 'fabrikam-deployer' },
      subscriptionId: ids.fabrikamSubscription,
      resourceGroup: ids.fabrikamRG,
      location: 'westus',
      size: 'Standard_D2s_v5',
      adminUsername: 'azureuser',
      sshPublicKeys: [SSH_KEY],
      network: { subnetId: SAMPLE_SUBNET, publicIP: false },
      deletionPolicy: 'Delete',
      ...spec,
    },
  };
}

/** The same in the dev subscription (Contoso), as gallery-owner, from an RBAC id. */
export function devVmManifest(name: string, spec: Partial<VmSpec> = {}): VM {
  return vmManifest(name, { image: { id: rbacImage('ubuntu') }, azureCredentialsRef: { name: 'gallery-owner' }, subscriptionId: ids.devSubscription, resourceGroup: DEV_RG, network: { subnetId: DEV_WEST_SUBNET }, ...spec });
}

export function sharedImageVMs(namespace: string): string {
  return `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/sharedimagevms`;
}
export function vmPath(namespace: string, name: string): string {
  return `${sharedImageVMs(namespace)}/${name}`;
}

export function condition(vm: VM | undefined, type: string): Condition | undefined {
  return vm?.status?.conditions?.find((c) => c.type === type);
}

/** Ready for the current spec: kstatus Current, Ready True for this generation. */
export function isReady(vm: VM): boolean {
  const ready = condition(vm, 'Ready');
  return kstatus(vm) === 'Current' && ready?.status === 'True' && ready.observedGeneration === vm.metadata.generation;
}

/** Stalled (kstatus Failed) for this generation, with `reason` when given. */
export function isStalled(reason?: string): (vm: VM) => boolean {
  return (vm) => {
    const stalled = condition(vm, 'Stalled');
    return kstatus(vm) === 'Failed' && stalled?.status === 'True' && (reason === undefined || stalled.reason === reason) && vm.status?.observedGeneration === vm.metadata.generation;
  };
}

/** Reconciling (kstatus InProgress) with `reason` when given. */
export function isReconciling(reason?: string): (vm: VM) => boolean {
  return (vm) => {
    const reconciling = condition(vm, 'Reconciling');
    return kstatus(vm) === 'InProgress' && reconciling?.status === 'True' && (reason === undefined || reconciling.reason === reason);
  };
}

/** Waits until the SharedImageVM satisfies `until` (default Ready), then checks that the real kstatus reads that state alike. */
export async function waitForVM(
  client: KubeClient,
  namespace: string,
  name: string,
  until: (vm: VM) => boolean = isReady,
  options: { what?: string; timeoutMs?: number; logs?: () => string; seen?: (vm: VM) => void } = {},
): Promise<VM> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const vm = await client.get<VM>(vmPath(namespace, name)).catch(() => undefined);
    if (vm) options.seen?.(vm);
    if (vm && until(vm)) {
      await expectKstatusAgrees(vm, `${namespace}/${name} (${options.what ?? 'Ready'})`);
      return vm;
    }
    if (Date.now() > deadline) {
      const logs = options.logs ? `\noperator log (end):\n${options.logs().slice(-4000)}` : '';
      throw new Error(`${namespace}/${name} not ${options.what ?? 'Ready'}: ${JSON.stringify(vm?.status)}${logs}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the object is gone (the operator removed its finalizer). */
export async function waitUntilGone(client: KubeClient, path: string, timeoutMs = 30_000, logs?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const obj = await client.get<VM>(path).catch(() => undefined);
    if (!obj) return;
    if (Date.now() > deadline) throw new Error(`${path} still exists: ${JSON.stringify(obj.status?.conditions)}${logs ? `\n${logs().slice(-4000)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// --- Azure's side -----------------------------------------------------------------------------

export function vmId(subscription: string, resourceGroup: string, name: string, kind: 'virtualMachines' | 'virtualMachineScaleSets' = 'virtualMachines'): string {
  return `/subscriptions/${subscription}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/${kind}/${name}`;
}

/** An ARM request as the portal admin of the tenant that holds `subscription`. */
export async function admin(azure: RunningEmulator, method: string, path: string, body?: unknown): Promise<RawResponse> {
  const tenant = path.toLowerCase().includes(ids.fabrikamSubscription) ? ids.fabrikam : ids.contoso;
  const token = await azure.control.adminToken(tenant);
  const version = /microsoft\.network/i.test(path) ? '2024-05-01' : '2024-07-01';
  return raw(azure, method, `${path}${path.includes('?') ? '&' : '?'}api-version=${version}`, { token, body });
}

/** An ARM resource body as the tests read it (deep property access without a schema). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AzureBody = Record<string, any>;

/** The resource as Azure holds it (body), or undefined when it is not there (404). */
export async function azureResource(azure: RunningEmulator, path: string): Promise<AzureBody | undefined> {
  const res = await admin(azure, 'GET', path);
  if (res.status === 404) return undefined;
  expect(res.status, `GET ${path}: ${res.text}`).to.equal(200);
  return res.body;
}

/** PUTs of VMs or scale sets named `name` in the request log. */
export async function machinePuts(azure: RunningEmulator, name: string): Promise<RequestLogEntry[]> {
  const re = new RegExp(`/providers/microsoft\\.compute/(virtualmachines|virtualmachinescalesets)/${name}$`, 'i');
  return (await azure.control.requests()).filter((r) => r.method === 'PUT' && re.test(r.path));
}

/** Every write (PUT, PATCH, POST, DELETE) on a VM or scale set named `name`. */
export async function machineWrites(azure: RunningEmulator, name: string): Promise<RequestLogEntry[]> {
  const re = new RegExp(`/providers/microsoft\\.compute/(virtualmachines|virtualmachinescalesets)/${name}(/|$)`, 'i');
  return (await azure.control.requests()).filter((r) => r.method !== 'GET' && re.test(r.path));
}

/** Events of one SharedImageVM. */
export async function vmEvents(clients: KubeClients, namespace: string, name: string): Promise<{ reason: string; type: string; message: string }[]> {
  const events = await clients.core.listNamespacedEvent({ namespace });
  return events.items.filter((e) => e.involvedObject.name === name && e.involvedObject.kind === 'SharedImageVM').map((e) => ({ reason: e.reason ?? '', type: e.type ?? '', message: e.message ?? '' }));
}

/** A unique object (and VM) name: VMs of every test share the sample resource group. */
export const uniqueName = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 7)}`;
