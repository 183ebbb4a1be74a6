// The seed: a YAML (or already parsed) description of the world the emulator starts with, and its
// translation into World records. The format is documented in README.md; errors name the entry.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { communityPublicName, deterministicGuid, galleryId, idKey, isGuid, parseResourceId, parseVersionName, resourceGroupId, subscriptionOf } from './ids.js';
import { roleByName, roleGuidOf, roleByGuid } from './arm/roles.js';
import { addVirtualNetwork, type SeedVirtualNetwork } from './arm/network.js';
import {
  World,
  roleAssignmentId,
  type CertificateRecord,
  type GalleryRecord,
  type ImageRecord,
  type ImageVersionRecord,
  type PrincipalType,
  type ResourceGroupRecord,
  type SecretRecord,
  type SharingPermission,
  type TargetRegionRecord,
} from './world.js';

export interface SeedTenant {
  id: string;
  name?: string;
  domains?: string[];
  subscriptions?: { id: string; name?: string }[];
  users?: { objectId: string; name?: string }[];
  groups?: { objectId: string; name?: string; members?: string[] }[];
}

/** A client secret with an expiry (ISO time, compared with emulator time). */
export interface ExpiringSecret {
  value: string;
  expiresAt?: string;
}

/** A client secret: its value, or the value with an expiry. */
export type SeedSecret = string | ExpiringSecret;

export interface SeedApplication {
  appId: string;
  name?: string;
  homeTenant: string;
  /**
   * Secret values. In YAML an entry may also be `{ value, expiresAt }`: readSeedFile moves those to
   * `expiringSecrets`, so that `secrets` stays a list of strings for the code that reads seeds.
   */
  secrets?: string[];
  /** Secrets with an expiry (AADSTS7000222 after it, by emulator time). */
  expiringSecrets?: ExpiringSecret[];
  /** Redirect URIs (Web platform), checked by the consent pages. */
  replyUrls?: string[];
  /** false: no service principal in the home tenant (az ad app create without az ad sp create). */
  homeServicePrincipal?: boolean;
  /** Tokens refused with AADSTS7000112. */
  disabled?: boolean;
  /** PEM certificates (public part only). */
  certificates?: string[];
  /** Tenants where the app has a service principal (is consented); the home tenant always has one. */
  servicePrincipals?: { tenant: string; objectId?: string }[];
  /** Service principal in every tenant and Owner on every subscription: the person in the portal. */
  admin?: boolean;
}

export interface SeedRoleAssignment {
  scope: string;
  /** An object id, or an appId (its service principal in the scope's tenant). */
  principal: string;
  /** A built-in role name, or a role definition GUID. */
  role: string;
  name?: string;
  principalType?: PrincipalType;
}

export interface SeedTargetRegion {
  name: string;
  excludeFromLatest?: boolean;
  regionalReplicaCount?: number;
  storageAccountType?: string;
  /** Seconds until replication to this region completes, from load time (default: done). */
  replicationSeconds?: number;
  failed?: boolean;
}

export interface SeedImageVersion {
  name: string;
  targetRegions?: (string | SeedTargetRegion)[];
  excludeFromLatest?: boolean;
  endOfLifeDate?: string;
  /** Seconds until replication completes in every region that does not say otherwise. */
  replicationSeconds?: number;
}

export interface SeedImage {
  name: string;
  osType?: string;
  osState?: string;
  hyperVGeneration?: string;
  architecture?: string;
  identifier?: { publisher: string; offer: string; sku: string };
  description?: string;
  /** The definition's SecurityType feature: TrustedLaunch, ConfidentialVM, TrustedLaunchSupported, ConfidentialVMSupported, TrustedLaunchAndConfidentialVmSupported. */
  securityType?: string;
  versions?: SeedImageVersion[];
}

export interface SeedGallery {
  /** Full ARM id, or subscription + resourceGroup + name. */
  id?: string;
  subscription?: string;
  resourceGroup?: string;
  name?: string;
  location: string;
  description?: string;
  permission?: SharingPermission;
  sharedWith?: { subscriptions?: string[]; tenants?: string[] };
  community?: { publisherUri?: string; publisherContact?: string; eula?: string; publicNamePrefix?: string; enabled?: boolean; publicNames?: string[] };
  images?: SeedImage[];
}

export interface Seed {
  tenants: SeedTenant[];
  applications?: SeedApplication[];
  roleAssignments?: SeedRoleAssignment[];
  resourceGroups?: { subscription: string; name: string; location: string; tags?: Record<string, string> }[];
  galleries?: SeedGallery[];
  /** Virtual networks with their subnets (the resource group is created when missing). */
  virtualNetworks?: SeedVirtualNetwork[];
}

export type { SeedVirtualNetwork };

export class SeedError extends Error {}

export function readSeedFile(path: string): Seed {
  const parsed = parseYaml(readFileSync(path, 'utf8')) as unknown;
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { tenants?: unknown }).tenants)) {
    throw new SeedError(`${path}: a seed needs a 'tenants' list`);
  }
  const seed = parsed as Seed;
  for (const app of seed.applications ?? []) {
    const given = (app.secrets ?? []) as SeedSecret[];
    const expiring = given.filter((s): s is ExpiringSecret => typeof s === 'object' && s !== null);
    if (expiring.length === 0) continue;
    app.secrets = given.filter((s): s is string => typeof s === 'string');
    app.expiringSecrets = [...(app.expiringSecrets ?? []), ...expiring];
  }
  return seed;
}

export function resolveSeed(seed: Seed | string): Seed {
  return typeof seed === 'string' ? readSeedFile(seed) : seed;
}

export function certificateRecord(pem: string): CertificateRecord {
  const cert = new X509Certificate(pem);
  const hex = (fingerprint: string) => fingerprint.replace(/:/g, '').toUpperCase();
  return { pem: cert.toString(), thumbprintSha1: hex(cert.fingerprint), thumbprintSha256: hex(cert.fingerprint256) };
}

/** A seed or control secret as the world keeps it; throws `SeedError` naming `what` when malformed. */
export function secretRecord(secret: SeedSecret, what: string): SecretRecord {
  if (typeof secret === 'string') return { value: secret };
  if (typeof secret !== 'object' || typeof secret.value !== 'string') throw new SeedError(`${what}: a secret is a string or { value, expiresAt }`);
  if (secret.expiresAt === undefined) return { value: secret.value };
  const time = Date.parse(String(secret.expiresAt));
  if (Number.isNaN(time)) throw new SeedError(`${what}: expiresAt '${String(secret.expiresAt)}' is not a date`);
  return { value: secret.value, expiresAt: new Date(time).toISOString() };
}

function requireGuid(value: string | undefined, what: string): string {
  if (!value || !isGuid(value)) throw new SeedError(`${what}: '${String(value)}' is not a GUID`);
  return value;
}

/** Builds the world a seed describes; `now` anchors replication times. */
export function buildWorld(seed: Seed, now: number): World {
  const world = new World();
  const createdAt = now;
  const done = { state: 'Succeeded' as const, until: 0 };

  for (const t of seed.tenants) {
    const tenantId = requireGuid(t.id, 'tenants[].id');
    world.tenants.set(tenantId.toLowerCase(), { id: tenantId, displayName: t.name ?? tenantId, domains: t.domains ?? [] });
    for (const s of t.subscriptions ?? []) {
      const id = requireGuid(s.id, `tenant ${tenantId}: subscriptions[].id`);
      world.subscriptions.set(id.toLowerCase(), { id, tenantId, displayName: s.name ?? id });
    }
    for (const u of t.users ?? []) {
      const objectId = requireGuid(u.objectId, `tenant ${tenantId}: users[].objectId`);
      world.principals.set(objectId.toLowerCase(), { objectId, tenantId, type: 'User', displayName: u.name ?? objectId });
    }
    for (const g of t.groups ?? []) {
      const objectId = requireGuid(g.objectId, `tenant ${tenantId}: groups[].objectId`);
      world.principals.set(objectId.toLowerCase(), { objectId, tenantId, type: 'Group', displayName: g.name ?? objectId, members: g.members ?? [] });
    }
  }

  for (const a of seed.applications ?? []) {
    const appId = requireGuid(a.appId, 'applications[].appId');
    const home = world.tenant(a.homeTenant);
    if (!home) throw new SeedError(`application ${appId}: home tenant '${a.homeTenant}' is not seeded`);
    world.applications.set(appId.toLowerCase(), {
      appId,
      displayName: a.name ?? appId,
      homeTenantId: home.id,
      secrets: [...((a.secrets ?? []) as SeedSecret[]), ...(a.expiringSecrets ?? [])].map((secret, i) => secretRecord(secret, `application ${appId}: secret ${i + 1}`)),
      certificates: (a.certificates ?? []).map(certificateRecord),
      admin: a.admin ?? false,
      replyUrls: a.replyUrls ?? [],
      disabled: a.disabled ?? false,
    });
    const spTenants = new Map<string, string | undefined>(a.homeServicePrincipal === false ? [] : [[home.id.toLowerCase(), undefined]]);
    for (const sp of a.servicePrincipals ?? []) {
      const tenant = world.tenant(sp.tenant);
      if (!tenant) throw new SeedError(`application ${appId}: service principal tenant '${sp.tenant}' is not seeded`);
      spTenants.set(tenant.id.toLowerCase(), sp.objectId);
    }
    if (a.admin) for (const tenant of world.tenants.values()) if (!spTenants.has(tenant.id.toLowerCase())) spTenants.set(tenant.id.toLowerCase(), undefined);
    for (const [tenantKey, objectId] of spTenants) {
      const tenant = world.tenants.get(tenantKey);
      if (!tenant) continue;
      addServicePrincipal(world, appId, tenant.id, objectId);
    }
    if (a.admin) {
      for (const sub of world.subscriptions.values()) {
        const sp = world.servicePrincipal(appId, sub.tenantId);
        if (!sp) continue;
        const ra = { name: deterministicGuid('admin-owner', appId, sub.id), scope: `/subscriptions/${sub.id}`, roleDefinitionId: roleByName('Owner')!.guid, principalId: sp.objectId, principalType: 'ServicePrincipal' as const, createdOn: new Date(now).toISOString(), updatedOn: new Date(now).toISOString() };
        world.roleAssignments.set(idKey(roleAssignmentId(ra)), ra);
      }
    }
  }

  const ensureResourceGroup = (subscriptionId: string, name: string, location: string, tags?: Record<string, string>) => {
    const sub = world.subscription(subscriptionId);
    if (!sub) throw new SeedError(`resource group ${name}: subscription '${subscriptionId}' is not seeded`);
    const id = resourceGroupId(sub.id, name);
    if (world.resource(id)) return;
    const rg: ResourceGroupRecord = { kind: 'resourceGroup', id, name, subscriptionId: sub.id, resourceGroup: name, location, provisioning: done, createdAt, ...(tags ? { tags } : {}) };
    world.putResource(rg);
  };
  for (const rg of seed.resourceGroups ?? []) ensureResourceGroup(rg.subscription, rg.name, rg.location, rg.tags);

  for (const g of seed.galleries ?? []) addSeedGallery(world, g, now, ensureResourceGroup);

  for (const v of seed.virtualNetworks ?? []) {
    const sub = world.subscription(v.subscription);
    if (!sub || !v.resourceGroup || !v.name || !v.location) throw new SeedError(`virtual network ${v.name ?? '?'}: give a seeded subscription, resourceGroup, name and location`);
    ensureResourceGroup(sub.id, v.resourceGroup, v.location);
    try {
      addVirtualNetwork(world, { ...v, subscription: sub.id }, now);
    } catch (err) {
      throw new SeedError(`virtual network ${v.name}: ${(err as Error).message}`);
    }
  }

  for (const ra of seed.roleAssignments ?? []) addSeedRoleAssignment(world, ra, now);
  return world;
}

/**
 * The app's service principal in a tenant (created when missing; its object id when it exists).
 * Without `objectId` the id is derived from app and tenant, and a service principal made again
 * after a deletion gets a new one, as in Entra. `armVisibleFrom`: see PrincipalRecord.
 */
export function addServicePrincipal(world: World, appId: string, tenantId: string, objectId?: string, armVisibleFrom?: number): string {
  const existing = world.servicePrincipal(appId, tenantId);
  if (existing) return existing.objectId;
  const app = world.application(appId);
  let oid = objectId ?? deterministicGuid('service-principal', appId.toLowerCase(), tenantId.toLowerCase());
  for (let n = 1; !objectId && world.deletedPrincipals.has(oid.toLowerCase()); n++) oid = deterministicGuid('service-principal', appId.toLowerCase(), tenantId.toLowerCase(), String(n));
  world.principals.set(oid.toLowerCase(), { objectId: oid, tenantId, type: 'ServicePrincipal', displayName: app?.displayName ?? appId, appId, ...(armVisibleFrom !== undefined ? { armVisibleFrom } : {}) });
  return oid;
}

const seedSecurityTypes = ['TrustedLaunch', 'ConfidentialVM', 'TrustedLaunchSupported', 'ConfidentialVMSupported', 'TrustedLaunchAndConfidentialVmSupported'];

function addSeedGallery(world: World, g: SeedGallery, now: number, ensureResourceGroup: (s: string, n: string, l: string) => void): void {
  const parsed = g.id ? parseResourceId(g.id) : undefined;
  const subscription = parsed?.subscriptionId ?? g.subscription;
  const resourceGroup = parsed?.resourceGroup ?? g.resourceGroup;
  const name = parsed?.providerPath[2] ?? g.name;
  if (!subscription || !resourceGroup || !name) throw new SeedError(`gallery ${g.id ?? g.name ?? '?'}: give an id, or subscription, resourceGroup and name`);
  const sub = world.subscription(subscription);
  if (!sub) throw new SeedError(`gallery ${name}: subscription '${subscription}' is not seeded`);
  ensureResourceGroup(sub.id, resourceGroup, g.location);
  const id = galleryId(sub.id, resourceGroup, name);
  const done = { state: 'Succeeded' as const, until: 0 };
  const permission = g.permission ?? 'Private';
  const gallery: GalleryRecord = {
    kind: 'gallery',
    id,
    name,
    subscriptionId: sub.id,
    resourceGroup,
    location: g.location,
    permission,
    sharedSubscriptions: g.sharedWith?.subscriptions ?? [],
    sharedTenants: g.sharedWith?.tenants ?? [],
    sharingInProgressUntil: 0,
    provisioning: done,
    createdAt: now,
    extraProperties: {},
    ...(g.description ? { description: g.description } : {}),
  };
  if (g.community || permission === 'Community') {
    const c = g.community ?? {};
    const enabled = c.enabled ?? false;
    gallery.community = {
      enabled,
      // A Community gallery got its public names when it was created, community-shared or not.
      publicNames: c.publicNames ?? (permission === 'Community' ? [communityPublicName(id, c.publicNamePrefix ?? name)] : []),
      ...(c.publisherUri ? { publisherUri: c.publisherUri } : {}),
      ...(c.publisherContact ? { publisherContact: c.publisherContact } : {}),
      ...(c.eula ? { eula: c.eula } : {}),
      ...(c.publicNamePrefix ? { publicNamePrefix: c.publicNamePrefix } : {}),
    };
  }
  world.putResource(gallery);

  for (const img of g.images ?? []) {
    const imageId = `${id}/images/${img.name}`;
    const image: ImageRecord = {
      kind: 'image',
      id: imageId,
      name: img.name,
      galleryName: name,
      subscriptionId: sub.id,
      resourceGroup,
      location: g.location,
      osType: img.osType ?? 'Linux',
      osState: img.osState ?? 'Generalized',
      hyperVGeneration: img.hyperVGeneration ?? 'V1',
      architecture: img.architecture ?? 'x64',
      identifier: img.identifier ?? { publisher: 'emulator', offer: name, sku: img.name },
      provisioning: done,
      createdAt: now,
      extraProperties: {
        ...(img.description ? { description: img.description } : {}),
        ...(img.securityType ? { features: [{ name: 'SecurityType', value: img.securityType }] } : {}),
      },
    };
    if (img.securityType && !seedSecurityTypes.includes(img.securityType)) throw new SeedError(`image ${imageId}: securityType '${img.securityType}' is not one of ${seedSecurityTypes.join(', ')}`);
    world.putResource(image);
    for (const v of img.versions ?? []) {
      if (!parseVersionName(v.name)) throw new SeedError(`image version ${imageId}/versions/${v.name}: the name must be Major.Minor.Patch`);
      const regions: SeedTargetRegion[] = (v.targetRegions ?? [g.location]).map((r) => (typeof r === 'string' ? { name: r } : r));
      const targetRegions: TargetRegionRecord[] = regions.map((r) => {
        const seconds = r.replicationSeconds ?? v.replicationSeconds ?? 0;
        return {
          name: r.name,
          regionalReplicaCount: r.regionalReplicaCount ?? 1,
          storageAccountType: r.storageAccountType ?? 'Standard_LRS',
          excludeFromLatest: r.excludeFromLatest ?? false,
          replicationStartedAt: now,
          replicatedAt: now + seconds * 1000,
          failed: r.failed ?? false,
        };
      });
      const version: ImageVersionRecord = {
        kind: 'imageVersion',
        id: `${imageId}/versions/${v.name}`,
        name: v.name,
        galleryName: name,
        imageName: img.name,
        subscriptionId: sub.id,
        resourceGroup,
        location: g.location,
        excludeFromLatest: v.excludeFromLatest ?? false,
        publishedDate: new Date(now).toISOString(),
        targetRegions,
        storageProfile: { osDiskImage: { sizeInGB: 30, hostCaching: 'ReadWrite' } },
        provisioning: done,
        createdAt: now,
        extraProperties: {},
        ...(v.endOfLifeDate ? { endOfLifeDate: v.endOfLifeDate } : {}),
      };
      world.putResource(version);
    }
  }
}

function addSeedRoleAssignment(world: World, ra: SeedRoleAssignment, now: number): void {
  const subscriptionId = subscriptionOf(ra.scope);
  const sub = subscriptionId ? world.subscription(subscriptionId) : undefined;
  if (!sub) throw new SeedError(`role assignment at ${ra.scope}: the scope must be in a seeded subscription`);
  const role = roleByName(ra.role) ?? roleByGuid(roleGuidOf(ra.role));
  if (!role) throw new SeedError(`role assignment at ${ra.scope}: unknown role '${ra.role}'`);
  let principal = world.principal(ra.principal);
  if (!principal && world.application(ra.principal)) principal = world.servicePrincipal(ra.principal, sub.tenantId);
  if (!principal) throw new SeedError(`role assignment at ${ra.scope}: principal '${ra.principal}' is neither a seeded object id nor an app with a service principal in tenant ${sub.tenantId}`);
  const record = {
    name: ra.name ?? deterministicGuid('seed-role-assignment', ra.scope.toLowerCase(), principal.objectId, role.guid),
    scope: ra.scope,
    roleDefinitionId: role.guid,
    principalId: principal.objectId,
    principalType: ra.principalType ?? principal.type,
    createdOn: new Date(now).toISOString(),
    updatedOn: new Date(now).toISOString(),
  };
  world.roleAssignments.set(idKey(roleAssignmentId(record)), record);
}
