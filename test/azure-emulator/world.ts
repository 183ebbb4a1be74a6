// The emulated Azure, in memory: directories (tenants, principals, applications), subscriptions,
// ARM resources, role assignments and long-running operations. Plain data only, so the whole
// world can be dumped to JSON and loaded back (control API: state).
import { idKey, isAtOrAbove } from './ids.js';

export type PrincipalType = 'User' | 'Group' | 'ServicePrincipal';

export interface TenantRecord {
  id: string;
  displayName: string;
  /** Names that can stand for the tenant id in authority URLs (contoso.onmicrosoft.com). */
  domains: string[];
}

export interface PrincipalRecord {
  objectId: string;
  tenantId: string;
  type: PrincipalType;
  displayName: string;
  /** For service principals: the application they instantiate. */
  appId?: string;
  /** For groups: object ids of the members (transitive membership is not modelled). */
  members?: string[];
  /**
   * Emulator time (ms) from which ARM's directory lookup knows the principal (replication delay of
   * a service principal created at run time, option principalReplicationMs); always when absent.
   */
  armVisibleFrom?: number;
}

export interface CertificateRecord {
  pem: string;
  /** Hex, upper case, as the portal shows it. */
  thumbprintSha1: string;
  thumbprintSha256: string;
}

export interface SecretRecord {
  value: string;
  /** ISO time after which Entra refuses the secret (AADSTS7000222), by emulator time; never when absent. */
  expiresAt?: string;
}

export interface ApplicationRecord {
  appId: string;
  displayName: string;
  homeTenantId: string;
  secrets: SecretRecord[];
  certificates: CertificateRecord[];
  /** Gets a service principal in every tenant and Owner on every subscription (portal changes). */
  admin: boolean;
  /** Registered redirect URIs (reply URLs) of the Web platform, checked by the consent pages. */
  replyUrls?: string[];
  /** Disabled (accountEnabled false / disabled by Microsoft): tokens refused with AADSTS7000112. */
  disabled?: boolean;
}

export interface SubscriptionRecord {
  id: string;
  tenantId: string;
  displayName: string;
}

/** A provisioning state that is transient until a time, then Succeeded (lazy LRO completion). */
export interface Provisioning {
  state: 'Creating' | 'Updating' | 'Deleting' | 'Succeeded' | 'Failed';
  until: number;
}

export interface ResourceBase {
  id: string;
  name: string;
  subscriptionId: string;
  resourceGroup: string;
  location: string;
  tags?: Record<string, string>;
  provisioning: Provisioning;
  createdAt: number;
}

export interface ResourceGroupRecord extends Omit<ResourceBase, 'resourceGroup'> {
  kind: 'resourceGroup';
  resourceGroup: string;
}

export type SharingPermission = 'Private' | 'Groups' | 'Community';

export interface CommunityInfo {
  publisherUri?: string;
  publisherContact?: string;
  eula?: string;
  publicNamePrefix?: string;
  enabled: boolean;
  publicNames: string[];
}

export interface GalleryRecord extends ResourceBase {
  kind: 'gallery';
  description?: string;
  permission: SharingPermission;
  sharedSubscriptions: string[];
  sharedTenants: string[];
  community?: CommunityInfo;
  /** Sharing changes applied by a share operation still running until then. */
  sharingInProgressUntil: number;
  /** Other properties sent by clients, echoed back (softDeletePolicy, ...). */
  extraProperties: Record<string, unknown>;
}

export interface ImageIdentifier {
  publisher: string;
  offer: string;
  sku: string;
}

export interface ImageRecord extends ResourceBase {
  kind: 'image';
  galleryName: string;
  osType: string;
  osState: string;
  hyperVGeneration: string;
  architecture: string;
  identifier: ImageIdentifier;
  extraProperties: Record<string, unknown>;
}

export interface TargetRegionRecord {
  name: string;
  regionalReplicaCount: number;
  storageAccountType: string;
  excludeFromLatest: boolean;
  /** When replication to this region completes (or completed). */
  replicatedAt: number;
  replicationStartedAt: number;
  /** A region whose replication failed (seeded or injected): never Completed. */
  failed: boolean;
}

export interface ImageVersionRecord extends ResourceBase {
  kind: 'imageVersion';
  galleryName: string;
  imageName: string;
  excludeFromLatest: boolean;
  endOfLifeDate?: string;
  publishedDate: string;
  targetRegions: TargetRegionRecord[];
  storageProfile: Record<string, unknown>;
  extraProperties: Record<string, unknown>;
}

export interface VirtualMachineRecord extends ResourceBase {
  kind: 'virtualMachine' | 'virtualMachineScaleSet';
  /** The body's properties as accepted, with the server-side fields filled in. */
  properties: Record<string, unknown>;
  sku?: Record<string, unknown>;
  zones?: string[];
  powerState: 'running' | 'deallocated' | 'stopped';
  /**
   * What the VM made for itself (network interfaces, public IPs, OS disk) and what happens to each
   * when the VM is deleted (deleteOption; Azure's default is Detach).
   */
  owned?: { id: string; deleteOption: 'Delete' | 'Detach' }[];
  /** Counts writes: the etag is `"{revision}"`. */
  revision?: number;
  /** The last create or update failed (an injected operation error): provisioningState Failed. */
  failed?: { code: string; message: string };
}

/**
 * Resources kept as their ARM properties: virtual networks and subnets (seeded or PUT), and what a
 * VM makes for itself (network interfaces, public IPs, the managed OS disk).
 */
export interface PlainResourceRecord extends ResourceBase {
  kind: 'virtualNetwork' | 'subnet' | 'networkInterface' | 'publicIPAddress' | 'disk';
  /** ARM type (Microsoft.Network/virtualNetworks, ...). */
  type: string;
  properties: Record<string, unknown>;
  sku?: Record<string, unknown>;
  /** Disks: the VM they are attached to. */
  managedBy?: string;
}

export type ResourceRecord = ResourceGroupRecord | GalleryRecord | ImageRecord | ImageVersionRecord | VirtualMachineRecord | PlainResourceRecord;

export interface RoleAssignmentRecord {
  name: string;
  scope: string;
  roleDefinitionId: string;
  principalId: string;
  principalType: PrincipalType;
  description?: string;
  createdOn: string;
  updatedOn: string;
  createdBy?: string;
  /**
   * Emulator time (ms) from which the assignment counts for authorization (RBAC propagation of an
   * assignment created through ARM); always counts when absent.
   */
  effectiveFrom?: number;
}

export interface OperationRecord {
  id: string;
  subscriptionId: string;
  location: string;
  startTime: string;
  completesAt: number;
  /** Failed operations carry an ARM error instead. */
  error?: { code: string; message: string };
  /** Body of the monitor (Location) URL once done: the result of a POST. */
  result?: unknown;
  /** Work applied when the operation completes (removal after a DELETE, a sharing change). */
  effect?: OperationEffect;
  /** Held by the test (control.holdOperations): InProgress until releaseOperations. */
  held?: boolean;
  /** The request that started it (normalized path) and the origin its polling URLs were given for. */
  startedBy?: { method: string; path: string; origin: string };
}

export type OperationEffect =
  | { kind: 'delete'; resourceId: string }
  | { kind: 'share'; galleryId: string; sharedSubscriptions: string[]; sharedTenants: string[]; community?: CommunityInfo };

/** Everything that `dump` writes and `load` reads. */
export interface WorldSnapshot {
  tenants: TenantRecord[];
  principals: PrincipalRecord[];
  applications: ApplicationRecord[];
  subscriptions: SubscriptionRecord[];
  resources: ResourceRecord[];
  roleAssignments: RoleAssignmentRecord[];
  operations: OperationRecord[];
  /** Object ids of deleted service principals (never given again); absent in older snapshots. */
  deletedPrincipals?: string[];
}

/** Keys of an id and of all its parents, `/` first: `/a/b` gives `/`, `/a`, `/a/b`. */
export function ancestorKeys(key: string): string[] {
  const keys = ['/'];
  if (key === '/') return keys;
  for (let at = key.indexOf('/', 1); at !== -1; at = key.indexOf('/', at + 1)) keys.push(key.slice(0, at));
  keys.push(key);
  return keys;
}

/**
 * A Map of records that also files each one by its scope (an idKey) and, optionally, by one more
 * lower-cased field. Why: ARM answers lookups by scope (the assignments that authorize a call, a
 * gallery's images, the galleries of a subscription) and a scan of the whole world per request
 * made the emulator, not the operator, pace the scale run (20,000 role assignments). Answers come
 * in the Map's own order, as the scans gave them. The scope and the field of a stored record must
 * not change (ids never do; a role assignment's principal cannot be updated).
 */
export class ScopedMap<T extends object> extends Map<string, T> {
  readonly #scopeOf: (value: T) => string;
  readonly #fieldOf: ((value: T) => string) | undefined;
  readonly #at = new Map<string, Map<string, T>>();
  readonly #atOrBelow = new Map<string, Map<string, T>>();
  readonly #byField = new Map<string, Map<string, T>>();
  /** Insertion order (a record replacing another under its key takes its place, as in a Map). */
  readonly #order = new WeakMap<T, number>();
  #next = 0;

  constructor(scopeOf: (value: T) => string, fieldOf?: (value: T) => string) {
    super();
    this.#scopeOf = scopeOf;
    this.#fieldOf = fieldOf;
  }

  override set(key: string, value: T): this {
    const previous = super.get(key);
    // A record replacing another under the same scope and field keeps its place in every index
    // (Map.set on an existing key does); otherwise it is filed anew.
    if (previous !== undefined && (this.#scopeOf(previous) !== this.#scopeOf(value) || this.#fieldOf?.(previous) !== this.#fieldOf?.(value))) {
      this.#unfile(key, previous);
    }
    this.#order.set(value, previous !== undefined ? (this.#order.get(previous) ?? this.#next++) : this.#next++);
    super.set(key, value);
    const scope = this.#scopeOf(value);
    file(this.#at, scope, key, value);
    for (const ancestor of ancestorKeys(scope)) file(this.#atOrBelow, ancestor, key, value);
    if (this.#fieldOf) file(this.#byField, this.#fieldOf(value), key, value);
    return this;
  }

  override delete(key: string): boolean {
    const previous = super.get(key);
    if (previous !== undefined) this.#unfile(key, previous);
    return super.delete(key);
  }

  override clear(): void {
    this.#at.clear();
    this.#atOrBelow.clear();
    this.#byField.clear();
    super.clear();
  }

  /** Records whose scope is exactly this one (an idKey). */
  at(scopeKey: string): T[] {
    return [...(this.#at.get(scopeKey)?.values() ?? [])];
  }

  /** Records whose scope is this one or below it. */
  atOrBelow(scopeKey: string): T[] {
    return [...(this.#atOrBelow.get(scopeKey)?.values() ?? [])];
  }

  /** Records whose scope is this one or one of its parents. */
  atOrAbove(scopeKey: string): T[] {
    return this.inOrder(ancestorKeys(scopeKey).flatMap((ancestor) => this.at(ancestor)));
  }

  /** Records whose extra field is this value (compared without case). */
  withField(value: string): T[] {
    return [...(this.#byField.get(value.toLowerCase())?.values() ?? [])];
  }

  /** Records from several lookups in the Map's order, each once. */
  inOrder(records: Iterable<T>): T[] {
    return [...new Set(records)].sort((a, b) => (this.#order.get(a) ?? 0) - (this.#order.get(b) ?? 0));
  }

  #unfile(key: string, value: T): void {
    const scope = this.#scopeOf(value);
    unfile(this.#at, scope, key);
    for (const ancestor of ancestorKeys(scope)) unfile(this.#atOrBelow, ancestor, key);
    if (this.#fieldOf) unfile(this.#byField, this.#fieldOf(value), key);
  }
}

function file<T>(index: Map<string, Map<string, T>>, at: string, key: string, value: T): void {
  let entries = index.get(at);
  if (!entries) index.set(at, (entries = new Map<string, T>()));
  entries.set(key, value);
}

function unfile<T>(index: Map<string, Map<string, T>>, at: string, key: string): void {
  const entries = index.get(at);
  if (!entries) return;
  entries.delete(key);
  if (entries.size === 0) index.delete(at);
}

export class World {
  readonly tenants = new Map<string, TenantRecord>();
  readonly principals = new Map<string, PrincipalRecord>();
  readonly applications = new Map<string, ApplicationRecord>();
  readonly subscriptions = new Map<string, SubscriptionRecord>();
  /** By idKey(resource id), filed by id. */
  readonly resources = new ScopedMap<ResourceRecord>((r) => idKey(r.id));
  /** By idKey(role assignment id), filed by scope and by principal. */
  readonly roleAssignments = new ScopedMap<RoleAssignmentRecord>(
    (ra) => idKey(ra.scope),
    (ra) => ra.principalId.toLowerCase(),
  );
  readonly operations = new Map<string, OperationRecord>();
  /** Object ids of deleted service principals, lower case: Entra never gives an object id twice. */
  readonly deletedPrincipals = new Set<string>();

  static fromSnapshot(snapshot: WorldSnapshot): World {
    const world = new World();
    for (const t of snapshot.tenants) world.tenants.set(t.id.toLowerCase(), t);
    for (const p of snapshot.principals) world.principals.set(p.objectId.toLowerCase(), p);
    for (const a of snapshot.applications) {
      // Snapshots written before secrets had expiry dates hold plain strings.
      const secrets = (a.secrets as (SecretRecord | string)[]).map((s) => (typeof s === 'string' ? { value: s } : s));
      world.applications.set(a.appId.toLowerCase(), { ...a, secrets });
    }
    for (const s of snapshot.subscriptions) world.subscriptions.set(s.id.toLowerCase(), s);
    for (const r of snapshot.resources) world.resources.set(idKey(r.id), r);
    for (const ra of snapshot.roleAssignments) world.roleAssignments.set(idKey(roleAssignmentId(ra)), ra);
    for (const o of snapshot.operations) world.operations.set(o.id.toLowerCase(), o);
    for (const id of snapshot.deletedPrincipals ?? []) world.deletedPrincipals.add(id.toLowerCase());
    return world;
  }

  snapshot(): WorldSnapshot {
    // A deep copy, so a dump cannot be mutated by later requests.
    return structuredClone({
      tenants: [...this.tenants.values()],
      principals: [...this.principals.values()],
      applications: [...this.applications.values()],
      subscriptions: [...this.subscriptions.values()],
      resources: [...this.resources.values()],
      roleAssignments: [...this.roleAssignments.values()],
      operations: [...this.operations.values()],
      deletedPrincipals: [...this.deletedPrincipals],
    });
  }

  /** A tenant by id or by one of its domains. */
  tenant(idOrDomain: string): TenantRecord | undefined {
    const key = idOrDomain.toLowerCase();
    const byId = this.tenants.get(key);
    if (byId) return byId;
    for (const tenant of this.tenants.values()) {
      if (tenant.domains.some((d) => d.toLowerCase() === key)) return tenant;
    }
    return undefined;
  }

  subscription(id: string): SubscriptionRecord | undefined {
    return this.subscriptions.get(id.toLowerCase());
  }

  principal(objectId: string): PrincipalRecord | undefined {
    return this.principals.get(objectId.toLowerCase());
  }

  application(appId: string): ApplicationRecord | undefined {
    return this.applications.get(appId.toLowerCase());
  }

  /** The service principal of an application in a tenant: exists once the app is consented there. */
  servicePrincipal(appId: string, tenantId: string): PrincipalRecord | undefined {
    for (const p of this.principals.values()) {
      if (p.type === 'ServicePrincipal' && p.appId?.toLowerCase() === appId.toLowerCase() && p.tenantId.toLowerCase() === tenantId.toLowerCase()) {
        return p;
      }
    }
    return undefined;
  }

  resource(id: string): ResourceRecord | undefined {
    return this.resources.get(idKey(id));
  }

  putResource(record: ResourceRecord): void {
    this.resources.set(idKey(record.id), record);
  }

  deleteResource(id: string): void {
    this.resources.delete(idKey(id));
  }

  /** Resources directly or indirectly below an id (not the id itself). */
  resourcesBelow(id: string): ResourceRecord[] {
    const key = idKey(id);
    return this.resources.atOrBelow(key).filter((r) => idKey(r.id) !== key);
  }

  /** The groups a principal belongs to (one level, as seeded). */
  groupsOf(objectId: string): string[] {
    const groups: string[] = [];
    for (const p of this.principals.values()) {
      if (p.type === 'Group' && p.members?.some((m) => m.toLowerCase() === objectId.toLowerCase())) groups.push(p.objectId);
    }
    return groups;
  }

  /**
   * Role assignments at the scope or above it that apply to a principal (directly or via a group)
   * and count at emulator time `now` (propagated); every one when `now` is absent.
   */
  assignmentsFor(objectId: string, scope: string, now?: number): RoleAssignmentRecord[] {
    return this.assignmentsOf(objectId).filter((ra) => isAtOrAbove(ra.scope, scope) && (now === undefined || ra.effectiveFrom === undefined || ra.effectiveFrom <= now));
  }

  /** Every role assignment of a principal, direct or via a group, in the order they were made. */
  assignmentsOf(objectId: string): RoleAssignmentRecord[] {
    const ids = new Set([objectId, ...this.groupsOf(objectId)].map((id) => id.toLowerCase()));
    if (ids.size === 1) return this.roleAssignments.withField(objectId);
    return this.roleAssignments.inOrder([...ids].flatMap((id) => this.roleAssignments.withField(id)));
  }
}

export function roleAssignmentId(ra: Pick<RoleAssignmentRecord, 'scope' | 'name'>): string {
  const scope = ra.scope === '/' ? '' : ra.scope;
  return `${scope}/providers/Microsoft.Authorization/roleAssignments/${ra.name}`;
}
