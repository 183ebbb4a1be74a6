// A workload of the operator's three kinds at scale, deterministic from a seed: the emulator's
// world (tenants, subscriptions, galleries with images, groups, resource groups, virtual networks,
// apps with secrets) and the Kubernetes objects with their credentials Secrets, spread over
// subscriptions as Azure's limits require (at most 100 galleries per subscription and region, at
// most 4,000 role assignments per subscription). Used by `npm run chaos` (test/chaos/) and the
// scale run; `describeWorkload` prints the distribution used.
//
//   const w = buildWorkload({ galleryShares: 300, tenantGrants: 50, sharedImageVMs: 100, seed: 1 });
//   const azure = await start({ seed: w.seed });
//   await applyWorkload(clients, client, w);          // namespaces, Secrets, then every object at once
//   console.log(describeWorkload(w));
//
// GalleryShare: its own gallery (permission Groups), direct sharing with consumer subscriptions and
// a consumer tenant, two role assignments for publisher groups. TenantGrant: the multi-tenant app
// (consented in every consumer tenant) gets Reader on an image gallery and Contributor on its own
// resource group in a consumer subscription. SharedImageVM: a VM (or, one in five, a Flexible scale
// set) in a consumer subscription from /SharedGalleries/...; one in four of those in a namespace
// with TenantGrants goes cross-tenant through one of them (RBAC image id, the grant's resource group).
import type { GalleryShare, SharedImageVM, TenantGrant } from '../../src/api/v1alpha1/index.js';
import { GROUP, VERSION } from '../../src/api/v1alpha1/index.js';
import type { KubeClient } from '../../src/runtime/kube-client.js';
import type { Seed, SeedGallery } from '../azure-emulator/seed.js';
import type { KubeClients } from './kube.js';

export type WorkloadKind = 'GalleryShare' | 'TenantGrant' | 'SharedImageVM';
export type WorkloadManifest = GalleryShare | TenantGrant | SharedImageVM;

export interface WorkloadOptions {
  galleryShares?: number;
  tenantGrants?: number;
  sharedImageVMs?: number;
  /** Everything (ids, names, choices) follows from it. Default 1. */
  seed?: number;
  /** Kubernetes namespaces the objects are spread over (default: one per 50 objects, 2 to 12). */
  namespaces?: number;
  /** Regions of galleries and VMs (default westus, eastus). */
  regions?: string[];
  /** Consumer tenants (each with subscriptions for VMs and TenantGrants; default 3). */
  consumerTenants?: number;
  /** Azure's limit: galleries per subscription and region (100). */
  maxGalleriesPerSubscriptionRegion?: number;
  /** Azure's limit: role assignments per subscription (4,000). */
  maxRoleAssignmentsPerSubscription?: number;
  /** Prefix of namespace names (default chaos). */
  namespacePrefix?: string;
}

export interface WorkloadObject {
  kind: WorkloadKind;
  namespace: string;
  name: string;
  /** The manifest as created (metadata without namespace). */
  manifest: WorkloadManifest;
  /** Its collection path (POST here to create). */
  collection: string;
  /** Its own path. */
  path: string;
  /** Subscription and region Azure resources of this object live in (the gallery's, or the VM's). */
  subscriptionId: string;
  region: string;
  /** Role assignments it makes, by subscription. */
  roleAssignments: Record<string, number>;
}

export interface WorkloadSecret {
  namespace: string;
  name: string;
  stringData: Record<string, string>;
}

export interface WorkloadTenant {
  id: string;
  name: string;
  subscriptions: string[];
}

export interface Workload {
  options: Required<Omit<WorkloadOptions, 'namespaces'>> & { namespaces: number };
  /** The emulator's seed. */
  seed: Seed;
  namespaces: string[];
  secrets: WorkloadSecret[];
  objects: WorkloadObject[];
  publisher: WorkloadTenant;
  consumers: WorkloadTenant[];
  /** The multi-tenant app of the TenantGrants. */
  grantApp: { appId: string; secret: string };
  /** Role assignments in the seed (owners, deployers), by subscription: they count toward the limit too. */
  seededRoleAssignments: Record<string, number>;
  /** Publisher groups GalleryShares assign roles to (principalType Group). */
  groups: string[];
}

// ----- Determinism -------------------------------------------------------------------------------

/** mulberry32: a small, fast PRNG; the same seed gives the same sequence on every machine. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A version-4-shaped GUID from the PRNG. */
export function guidFrom(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16));
  hex[12] = '4';
  hex[16] = '89ab'[Math.floor(random() * 4)]!;
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

export const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

// ----- Building -----------------------------------------------------------------------------------

export const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHm9hfKhG2cEz0X3xqwNqpLdj5yDsYq0mGc4y4yVf1Zb azureuser@fabrikam';
const API = `${GROUP}/${VERSION}`;
const PLURAL: Record<WorkloadKind, string> = { GalleryShare: 'galleryshares', TenantGrant: 'tenantgrants', SharedImageVM: 'sharedimagevms' };
export const collectionOf = (kind: WorkloadKind, namespace: string) => `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL[kind]}`;
export const galleryArmId = (subscription: string, resourceGroup: string, name: string) =>
  `/subscriptions/${subscription}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/galleries/${name}`;
export const subnetArmId = (subscription: string, resourceGroup: string, vnet: string) =>
  `/subscriptions/${subscription}/resourceGroups/${resourceGroup}/providers/Microsoft.Network/virtualNetworks/${vnet}/subnets/default`;

/** Resource groups by role, per region: galleries in the publisher's, VMs and vnets in the consumers'. */
export const galleryResourceGroup = (region: string) => `galleries-${region}`;
export const vmResourceGroup = (region: string) => `vms-${region}`;
const IMAGE_GALLERY_RG = 'images';

/** Fills subscriptions in order, opening a new one when a limit would be passed. */
class SubscriptionAllocator {
  readonly subscriptions: string[] = [];
  private readonly galleries = new Map<string, number>();
  readonly assignments = new Map<string, number>();
  constructor(
    private readonly newId: () => string,
    private readonly maxGalleries: number,
    private readonly maxAssignments: number,
  ) {}

  /** A subscription with room for one more gallery in `region` and `assignments` more role assignments. */
  take(region: string, assignments: number, galleries = 1): string {
    for (const sub of this.subscriptions) {
      if ((this.galleries.get(`${sub}/${region}`) ?? 0) + galleries <= this.maxGalleries && (this.assignments.get(sub) ?? 0) + assignments <= this.maxAssignments) {
        this.count(sub, region, assignments, galleries);
        return sub;
      }
    }
    const sub = this.open();
    this.count(sub, region, assignments, galleries);
    return sub;
  }

  open(): string {
    const sub = this.newId();
    this.subscriptions.push(sub);
    return sub;
  }

  count(sub: string, region: string, assignments: number, galleries = 0): void {
    this.galleries.set(`${sub}/${region}`, (this.galleries.get(`${sub}/${region}`) ?? 0) + galleries);
    this.assignments.set(sub, (this.assignments.get(sub) ?? 0) + assignments);
  }
}

export function buildWorkload(init: WorkloadOptions = {}): Workload {
  const counts = { galleryShares: init.galleryShares ?? 300, tenantGrants: init.tenantGrants ?? 50, sharedImageVMs: init.sharedImageVMs ?? 100 };
  const total = counts.galleryShares + counts.tenantGrants + counts.sharedImageVMs;
  const options = {
    ...counts,
    seed: init.seed ?? 1,
    namespaces: init.namespaces ?? Math.min(12, Math.max(2, Math.ceil(total / 50))),
    regions: init.regions ?? ['westus', 'eastus'],
    consumerTenants: init.consumerTenants ?? 3,
    maxGalleriesPerSubscriptionRegion: init.maxGalleriesPerSubscriptionRegion ?? 100,
    maxRoleAssignmentsPerSubscription: init.maxRoleAssignmentsPerSubscription ?? 4000,
    namespacePrefix: init.namespacePrefix ?? 'chaos',
  };
  const random = rng(options.seed);
  const guid = () => guidFrom(random);
  const regions = options.regions;
  // The seed's own assignments per subscription (owners and deployers) are counted before any object's.
  const reserve = 50;
  const galleriesAlloc = new SubscriptionAllocator(guid, options.maxGalleriesPerSubscriptionRegion, options.maxRoleAssignmentsPerSubscription - reserve);
  const consumerAlloc = new SubscriptionAllocator(guid, Number.POSITIVE_INFINITY, options.maxRoleAssignmentsPerSubscription - reserve);

  const namespaces = Array.from({ length: options.namespaces }, (_, i) => `${options.namespacePrefix}-${String(i).padStart(2, '0')}`);
  const publisher: WorkloadTenant = { id: guid(), name: 'Publisher', subscriptions: [] };
  const consumers: WorkloadTenant[] = Array.from({ length: options.consumerTenants }, (_, i) => ({ id: guid(), name: `Consumer ${i}`, subscriptions: [] }));
  const groups = Array.from({ length: 24 }, () => guid());
  // One gallery owner app per namespace: ARM's budgets are per subscription and principal, so
  // namespaces (teams) do not share a bucket.
  const owners = namespaces.map((ns) => ({ namespace: ns, appId: guid(), secret: `owner-secret-${ns}` }));
  const grantApp = { appId: guid(), secret: 'grant-app-secret' };
  const consumerPeople = consumers.map((c, i) => ({ tenant: c, deployer: guid(), deployerSecret: `deployer-secret-${i}`, admin: guid(), adminSecret: `admin-secret-${i}` }));

  // Consumer subscriptions: one per consumer tenant to start with; more open when role
  // assignments (TenantGrants' target side) would pass the limit.
  const consumerSubTenant = new Map<string, WorkloadTenant>();
  for (const c of consumers) {
    const sub = consumerAlloc.open();
    c.subscriptions.push(sub);
    consumerSubTenant.set(sub, c);
  }

  const objects: WorkloadObject[] = [];
  const galleries: SeedGallery[] = [];
  const resourceGroups: NonNullable<Seed['resourceGroups']> = [];
  const vnets: NonNullable<Seed['virtualNetworks']> = [];
  const nsOf = (i: number) => namespaces[i % namespaces.length]!;

  // Image galleries: one per region in the first publisher subscription, shared with every
  // consumer tenant and subscription, image ubuntu 1.0.0 replicated to every region. TenantGrants
  // get Reader on these; VMs are made from them.
  const imageGalleries = regions.map((region, i) => {
    const sub = galleriesAlloc.take(region, 0);
    return { region, sub, name: `images${i}` };
  });

  // GalleryShares: a gallery each, two role assignments (gallery scope) each.
  for (let i = 0; i < counts.galleryShares; i++) {
    const region = regions[i % regions.length]!;
    const sub = galleriesAlloc.take(region, 2);
    const name = `gs-${String(i).padStart(4, '0')}`;
    const gallery = `gal${String(i).padStart(4, '0')}`;
    const namespace = nsOf(i);
    galleries.push({ subscription: sub, resourceGroup: galleryResourceGroup(region), name: gallery, location: region, permission: 'Groups' });
    const consumer = pick(random, consumers);
    const g1 = pick(random, groups);
    let g2 = pick(random, groups);
    while (g2 === g1) g2 = pick(random, groups);
    const manifest: GalleryShare = {
      apiVersion: API,
      kind: 'GalleryShare',
      metadata: { name },
      spec: {
        gallery: { subscriptionId: sub, resourceGroup: galleryResourceGroup(region), name: gallery },
        azureCredentialsRef: { name: 'gallery-owner' },
        permission: 'Groups',
        directShare: { subscriptions: [consumer.subscriptions[0]!], tenants: [consumer.id] },
        roleAssignments: [
          { principalId: g1, principalType: 'Group', role: 'Reader' },
          { principalId: g2, principalType: 'Group', role: 'Compute Gallery Image Reader' },
        ],
        deletionPolicy: 'Delete',
      },
    };
    objects.push(objectOf('GalleryShare', namespace, name, manifest, sub, region, { [sub]: 2 }));
  }

  // TenantGrants: Reader on an image gallery (source), Contributor on a resource group of their
  // own in a consumer subscription (target), with a vnet there for the VMs that use the grant.
  const grantsByNamespace = new Map<string, { name: string; tenant: WorkloadTenant; sub: string; rg: string; region: string; imageGallery: (typeof imageGalleries)[number] }[]>();
  for (let i = 0; i < counts.tenantGrants; i++) {
    const name = `tg-${String(i).padStart(4, '0')}`;
    const namespace = nsOf(i);
    const consumer = consumers[i % consumers.length]!;
    const imageGallery = imageGalleries[i % imageGalleries.length]!;
    galleriesAlloc.count(imageGallery.sub, imageGallery.region, 1);
    let sub = consumer.subscriptions.find((s) => (consumerAlloc.assignments.get(s) ?? 0) + 1 <= options.maxRoleAssignmentsPerSubscription - reserve);
    if (!sub) {
      sub = consumerAlloc.open();
      consumer.subscriptions.push(sub);
      consumerSubTenant.set(sub, consumer);
    }
    consumerAlloc.count(sub, imageGallery.region, 1);
    const rg = `grant-${namespace}-${name}`;
    resourceGroups.push({ subscription: sub, name: rg, location: imageGallery.region });
    vnets.push({ subscription: sub, resourceGroup: rg, name: 'vnet', location: imageGallery.region, addressSpace: ['10.9.0.0/16'], subnets: [{ name: 'default', addressPrefix: '10.9.0.0/24' }] });
    const manifest: TenantGrant = {
      apiVersion: API,
      kind: 'TenantGrant',
      metadata: { name },
      spec: {
        application: { clientId: grantApp.appId, credentialsRef: { name: 'grant-app' } },
        source: {
          tenantId: publisher.id,
          gallery: { subscriptionId: imageGallery.sub, resourceGroup: IMAGE_GALLERY_RG, name: imageGallery.name },
          role: 'Reader',
          azureCredentialsRef: { name: 'gallery-owner' },
        },
        target: { tenantId: consumer.id, subscriptionId: sub, resourceGroup: rg, role: 'Contributor', azureCredentialsRef: { name: `target-admin-${consumers.indexOf(consumer)}` } },
        deletionPolicy: 'Delete',
      },
    };
    objects.push(objectOf('TenantGrant', namespace, name, manifest, sub, imageGallery.region, { [imageGallery.sub]: 1, [sub]: 1 }));
    const list = grantsByNamespace.get(namespace) ?? [];
    list.push({ name, tenant: consumer, sub, rg, region: imageGallery.region, imageGallery });
    grantsByNamespace.set(namespace, list);
  }

  // SharedImageVMs: in the first subscription of a consumer tenant, its region's vms resource
  // group and vnet; or through a TenantGrant of the same namespace.
  for (let i = 0; i < counts.sharedImageVMs; i++) {
    const name = `vm-${String(i).padStart(4, '0')}`;
    const namespace = nsOf(i);
    const scaleSet = i % 5 === 4;
    const grants = grantsByNamespace.get(namespace) ?? [];
    const viaGrant = i % 4 === 1 && grants.length > 0 ? grants[Math.floor(i / 4) % grants.length]! : undefined;
    let spec: SharedImageVM['spec'];
    let sub: string;
    let region: string;
    if (viaGrant) {
      sub = viaGrant.sub;
      region = viaGrant.region;
      const g = viaGrant.imageGallery;
      spec = {
        image: { id: `${galleryArmId(g.sub, IMAGE_GALLERY_RG, g.name)}/images/ubuntu/versions/1.0.0` },
        tenantGrantRef: { name: viaGrant.name },
        subscriptionId: sub,
        resourceGroup: viaGrant.rg,
        location: region,
        size: 'Standard_D2s_v5',
        adminUsername: 'azureuser',
        sshPublicKeys: [SSH_KEY],
        network: { subnetId: subnetArmId(sub, viaGrant.rg, 'vnet'), publicIP: false },
        deletionPolicy: 'Delete',
      };
    } else {
      const c = consumers[i % consumers.length]!;
      const ci = consumers.indexOf(c);
      sub = c.subscriptions[0]!;
      region = regions[Math.floor(i / consumers.length) % regions.length]!;
      const g = imageGalleries[regions.indexOf(region)]!;
      spec = {
        image: { sharedGalleryImageId: `/SharedGalleries/${g.sub}-${g.name.toUpperCase()}/Images/ubuntu/Versions/latest` },
        azureCredentialsRef: { name: `deployer-${ci}` },
        subscriptionId: sub,
        resourceGroup: vmResourceGroup(region),
        location: region,
        size: 'Standard_D2s_v5',
        adminUsername: 'azureuser',
        sshPublicKeys: [SSH_KEY],
        network: { subnetId: subnetArmId(sub, vmResourceGroup(region), `vnet-${region}`), publicIP: false },
        deletionPolicy: 'Delete',
      };
    }
    if (scaleSet) spec.scaleSet = { capacity: 2, orchestrationMode: 'Flexible' };
    const manifest: SharedImageVM = { apiVersion: API, kind: 'SharedImageVM', metadata: { name }, spec };
    objects.push(objectOf('SharedImageVM', namespace, name, manifest, sub, region, {}));
  }

  // ----- The emulator's seed ----------------------------------------------------------------------
  publisher.subscriptions.push(...galleriesAlloc.subscriptions);
  const seededRoleAssignments: Record<string, number> = {};
  const seedAssignments: NonNullable<Seed['roleAssignments']> = [];
  const assign = (scope: string, principal: string, role: string) => {
    seedAssignments.push({ scope, principal, role });
    const sub = scope.split('/')[2]!;
    seededRoleAssignments[sub] = (seededRoleAssignments[sub] ?? 0) + 1;
  };
  for (const sub of publisher.subscriptions) for (const o of owners) assign(`/subscriptions/${sub}`, o.appId, 'Owner');
  for (const p of consumerPeople) {
    for (const sub of p.tenant.subscriptions) {
      assign(`/subscriptions/${sub}`, p.admin, 'Owner');
      assign(`/subscriptions/${sub}`, p.deployer, 'Contributor');
    }
  }
  for (const g of imageGalleries) {
    galleries.push({
      subscription: g.sub,
      resourceGroup: IMAGE_GALLERY_RG,
      name: g.name,
      location: g.region,
      permission: 'Groups',
      sharedWith: { tenants: consumers.map((c) => c.id), subscriptions: consumers.flatMap((c) => c.subscriptions) },
      images: [
        {
          name: 'ubuntu',
          osType: 'Linux',
          osState: 'Generalized',
          hyperVGeneration: 'V2',
          identifier: { publisher: 'Publisher', offer: 'ubuntu', sku: '1' },
          versions: [{ name: '1.0.0', targetRegions: [...regions] }],
        },
      ],
    });
  }
  for (const c of consumers) {
    for (const region of regions) {
      resourceGroups.push({ subscription: c.subscriptions[0]!, name: vmResourceGroup(region), location: region });
      vnets.push({ subscription: c.subscriptions[0]!, resourceGroup: vmResourceGroup(region), name: `vnet-${region}`, location: region, addressSpace: ['10.0.0.0/16'], subnets: [{ name: 'default', addressPrefix: '10.0.0.0/20' }] });
    }
  }
  const seed: Seed = {
    tenants: [
      {
        id: publisher.id,
        name: publisher.name,
        subscriptions: publisher.subscriptions.map((id, i) => ({ id, name: `Publisher galleries ${i}` })),
        groups: groups.map((objectId, i) => ({ objectId, name: `image-readers-${i}` })),
      },
      ...consumers.map((c) => ({ id: c.id, name: c.name, subscriptions: c.subscriptions.map((id, i) => ({ id, name: `${c.name} ${i}` })) })),
    ],
    applications: [
      ...owners.map((o) => ({ appId: o.appId, name: `gallery-owner-${o.namespace}`, homeTenant: publisher.id, secrets: [o.secret] })),
      { appId: grantApp.appId, name: 'grant-app', homeTenant: publisher.id, secrets: [grantApp.secret], replyUrls: ['https://www.microsoft.com/'], servicePrincipals: consumers.map((c) => ({ tenant: c.id })) },
      ...consumerPeople.flatMap((p, i) => [
        { appId: p.deployer, name: `deployer-${i}`, homeTenant: p.tenant.id, secrets: [p.deployerSecret] },
        { appId: p.admin, name: `target-admin-${i}`, homeTenant: p.tenant.id, secrets: [p.adminSecret] },
      ]),
      { appId: 'e1f0d2c3-b4a5-4968-8776-a5b4c3d2e1f0', name: 'portal-admin', homeTenant: publisher.id, secrets: ['portal-admin-secret'], admin: true },
    ],
    roleAssignments: seedAssignments,
    resourceGroups: [
      ...publisher.subscriptions.flatMap((sub) => regions.map((region) => ({ subscription: sub, name: galleryResourceGroup(region), location: region }))),
      ...resourceGroups,
    ],
    galleries,
    virtualNetworks: vnets,
  };

  // ----- Secrets, in every namespace --------------------------------------------------------------
  const secrets: WorkloadSecret[] = [];
  for (const ns of namespaces) {
    const owner = owners.find((o) => o.namespace === ns)!;
    secrets.push({ namespace: ns, name: 'gallery-owner', stringData: { tenantId: publisher.id, clientId: owner.appId, clientSecret: owner.secret } });
    secrets.push({ namespace: ns, name: 'grant-app', stringData: { clientSecret: grantApp.secret } });
    consumerPeople.forEach((p, i) => {
      secrets.push({ namespace: ns, name: `deployer-${i}`, stringData: { tenantId: p.tenant.id, clientId: p.deployer, clientSecret: p.deployerSecret } });
      secrets.push({ namespace: ns, name: `target-admin-${i}`, stringData: { tenantId: p.tenant.id, clientId: p.admin, clientSecret: p.adminSecret } });
    });
  }

  return { options, seed, namespaces, secrets, objects, publisher, consumers, grantApp, seededRoleAssignments, groups };
}

function objectOf(kind: WorkloadKind, namespace: string, name: string, manifest: WorkloadManifest, subscriptionId: string, region: string, roleAssignments: Record<string, number>): WorkloadObject {
  const collection = collectionOf(kind, namespace);
  return { kind, namespace, name, manifest, collection, path: `${collection}/${name}`, subscriptionId, region, roleAssignments };
}

// ----- Edits ---------------------------------------------------------------------------------------

/**
 * A changed spec for an object (deterministic from `random`): a GalleryShare swaps one role
 * assignment's group and shares with one more consumer subscription; a TenantGrant changes its
 * source role (Reader <-> Compute Gallery Image Reader); a SharedImageVM changes its tags (and a
 * scale set its capacity). Every change is one the operator must carry to Azure.
 */
export function editedSpec(w: Workload, o: WorkloadObject, spec: WorkloadManifest['spec'], random: () => number): WorkloadManifest['spec'] {
  const copy = structuredClone(spec);
  if (o.kind === 'GalleryShare') {
    const s = copy as GalleryShare['spec'];
    const used = new Set((s.roleAssignments ?? []).map((a) => a.principalId));
    const fresh = w.groups.filter((g) => !used.has(g));
    if (s.roleAssignments?.[0] && fresh.length > 0) s.roleAssignments[0] = { ...s.roleAssignments[0], principalId: pick(random, fresh) };
    const subs = new Set(s.directShare?.subscriptions ?? []);
    const more = w.consumers.flatMap((c) => c.subscriptions).filter((x) => !subs.has(x));
    if (more.length > 0) s.directShare = { ...s.directShare, subscriptions: [...subs, pick(random, more)] };
  } else if (o.kind === 'TenantGrant') {
    const s = copy as TenantGrant['spec'];
    s.source.role = s.source.role === 'Reader' ? 'Compute Gallery Image Reader' : 'Reader';
  } else {
    const s = copy as SharedImageVM['spec'];
    s.tags = { ...(s.tags ?? {}), edited: String(Math.floor(random() * 1e6)) };
    if (s.scaleSet) s.scaleSet = { ...s.scaleSet, capacity: s.scaleSet.capacity === 2 ? 3 : 2 };
  }
  return copy;
}

// ----- Applying ------------------------------------------------------------------------------------

/** Runs fn over items with at most `concurrency` in flight. */
async function inPool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

/** Namespaces and Secrets first, then every object at once (`concurrency` creates in flight). */
export async function applyWorkload(clients: KubeClients, client: KubeClient, w: Workload, options: { concurrency?: number } = {}): Promise<void> {
  for (const ns of w.namespaces) {
    await clients.core.createNamespace({ body: { metadata: { name: ns, labels: { 'galleryshare.io/test': 'true' } } } });
  }
  await inPool(w.secrets, 20, async (s) => {
    await clients.core.createNamespacedSecret({ namespace: s.namespace, body: { metadata: { name: s.name }, stringData: s.stringData } });
  });
  await inPool(w.objects, options.concurrency ?? 50, async (o) => {
    await client.create(o.collection, o.manifest);
  });
}

// ----- The distribution ----------------------------------------------------------------------------

export interface WorkloadDistribution {
  objects: Record<string, number>;
  bySubscriptionRegion: { subscription: string; tenant: string; region: string; galleryShares: number; tenantGrants: number; sharedImageVMs: number; galleries: number }[];
  byNamespace: { namespace: string; galleryShares: number; tenantGrants: number; sharedImageVMs: number }[];
  roleAssignmentsBySubscription: { subscription: string; tenant: string; planned: number; seeded: number; limit: number }[];
}

export function distribution(w: Workload): WorkloadDistribution {
  const tenantOf = new Map<string, string>();
  for (const t of [w.publisher, ...w.consumers]) for (const s of t.subscriptions) tenantOf.set(s, t.name);
  const count = (list: WorkloadObject[], kind: WorkloadKind) => list.filter((o) => o.kind === kind).length;
  const cells = new Map<string, WorkloadObject[]>();
  for (const o of w.objects) {
    const key = `${o.subscriptionId}/${o.region}`;
    cells.set(key, [...(cells.get(key) ?? []), o]);
  }
  const galleriesIn = (sub: string, region: string) =>
    (w.seed.galleries ?? []).filter((g) => g.subscription === sub && g.location === region).length;
  const bySubscriptionRegion = [...cells.entries()]
    .map(([key, list]) => {
      const [subscription, region] = key.split('/') as [string, string];
      return { subscription, tenant: tenantOf.get(subscription) ?? '?', region, galleryShares: count(list, 'GalleryShare'), tenantGrants: count(list, 'TenantGrant'), sharedImageVMs: count(list, 'SharedImageVM'), galleries: galleriesIn(subscription, region) };
    })
    .sort((a, b) => a.tenant.localeCompare(b.tenant) || a.subscription.localeCompare(b.subscription) || a.region.localeCompare(b.region));
  const byNamespace = w.namespaces.map((namespace) => {
    const list = w.objects.filter((o) => o.namespace === namespace);
    return { namespace, galleryShares: count(list, 'GalleryShare'), tenantGrants: count(list, 'TenantGrant'), sharedImageVMs: count(list, 'SharedImageVM') };
  });
  const planned = new Map<string, number>();
  for (const o of w.objects) for (const [sub, n] of Object.entries(o.roleAssignments)) planned.set(sub, (planned.get(sub) ?? 0) + n);
  const subs = [...new Set([...planned.keys(), ...Object.keys(w.seededRoleAssignments)])];
  const roleAssignmentsBySubscription = subs
    .map((subscription) => ({ subscription, tenant: tenantOf.get(subscription) ?? '?', planned: planned.get(subscription) ?? 0, seeded: w.seededRoleAssignments[subscription] ?? 0, limit: w.options.maxRoleAssignmentsPerSubscription }))
    .sort((a, b) => a.tenant.localeCompare(b.tenant) || a.subscription.localeCompare(b.subscription));
  return {
    objects: { GalleryShare: count(w.objects, 'GalleryShare'), TenantGrant: count(w.objects, 'TenantGrant'), SharedImageVM: count(w.objects, 'SharedImageVM') },
    bySubscriptionRegion,
    byNamespace,
    roleAssignmentsBySubscription,
  };
}

function textTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
}

/** The distribution as text tables (what `npm run chaos` prints first). */
export function describeWorkload(w: Workload): string {
  const d = distribution(w);
  const short = (id: string) => id.slice(0, 8);
  return [
    `workload (seed ${w.options.seed}): ${d.objects.GalleryShare} GalleryShares, ${d.objects.TenantGrant} TenantGrants, ${d.objects.SharedImageVM} SharedImageVMs in ${w.namespaces.length} namespaces; limits: ${w.options.maxGalleriesPerSubscriptionRegion} galleries per subscription and region, ${w.options.maxRoleAssignmentsPerSubscription} role assignments per subscription`,
    '',
    textTable([
      ['tenant', 'subscription', 'region', 'galleries', 'GalleryShares', 'TenantGrants', 'SharedImageVMs'],
      ...d.bySubscriptionRegion.map((r) => [r.tenant, short(r.subscription), r.region, String(r.galleries), String(r.galleryShares), String(r.tenantGrants), String(r.sharedImageVMs)]),
    ]),
    '',
    textTable([['namespace', 'GalleryShares', 'TenantGrants', 'SharedImageVMs'], ...d.byNamespace.map((r) => [r.namespace, String(r.galleryShares), String(r.tenantGrants), String(r.sharedImageVMs)])]),
    '',
    textTable([
      ['tenant', 'subscription', 'role assignments planned', 'seeded', 'limit'],
      ...d.roleAssignmentsBySubscription.map((r) => [r.tenant, short(r.subscription), String(r.planned), String(r.seeded), String(r.limit)]),
    ]),
  ].join('\n');
}
