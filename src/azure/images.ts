// The image reads behind a SharedImageVM's image check: what the image reference in the spec
// names, and what the identity that will create the VM can see of it (the definition, and its
// versions with the regions they target), through the producer API for an RBAC id and the
// consumer APIs for /SharedGalleries and /CommunityGalleries. Deciding what the answer means
// (which version `latest` is, whether the image fits the VM) is pure, in
// controllers/sharedimagevm/image-check.ts. ImageCheckCache keeps answers for a while, so that a
// hundred VMs from one image read it once.
import type { ComputeManagementClient, GalleryImageFeature, GalleryImageVersion, ImagePurchasePlan } from '@azure/arm-compute';
import { isArmNotFound, isResourceNotFound } from './errors.js';

// ---- references ----

/** A gallery in the producer's terms: where an RBAC image id points. */
export interface GalleryCoordinates {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

/**
 * A version name (Major.Minor.Patch) or the word `latest` (always lower case here). A plain
 * string: `string | 'latest'` collapses to string in TypeScript anyway.
 */
export type RequestedVersion = string;

/**
 * The image a spec names, in pieces. Names keep the case the user wrote (Azure compares them
 * case-insensitively); the version is `latest` when the reference has none or says latest.
 */
export type ImageReference =
  | { kind: 'id'; gallery: GalleryCoordinates; image: string; version: RequestedVersion }
  | { kind: 'shared'; uniqueName: string; image: string; version: RequestedVersion }
  | { kind: 'community'; publicName: string; image: string; version: RequestedVersion };

/** spec.image: exactly one of the three (admission enforces it). */
export interface ImageSpec {
  id?: string;
  sharedGalleryImageId?: string;
  communityGalleryImageId?: string;
}

const ID_REFERENCE = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Compute\/galleries\/([^/]+)\/images\/([^/]+)(?:\/versions\/([^/]+))?\/?$/i;
const SHARED_REFERENCE = /^\/SharedGalleries\/([^/]+)\/Images\/([^/]+)(?:\/Versions\/([^/]+))?\/?$/i;
const COMMUNITY_REFERENCE = /^\/CommunityGalleries\/([^/]+)\/Images\/([^/]+)(?:\/Versions\/([^/]+))?\/?$/i;

/** A version as written, `latest` in any case (or none at all) becoming `latest`. */
function requestedVersion(version: string | undefined): RequestedVersion {
  return version === undefined || version.toLowerCase() === 'latest' ? 'latest' : version;
}

/**
 * The pieces of spec.image. Prefixes match in any case, as Azure accepts them; an id without
 * /versions/ means latest. Throws an Error naming the field when the reference matches none of
 * the three forms (admission refuses those, so this only guards against objects made before it).
 */
export function parseImageReference(image: ImageSpec): ImageReference {
  if (image.id !== undefined) {
    const m = ID_REFERENCE.exec(image.id);
    if (!m) throw new Error(`image.id '${image.id}' is not a gallery image id (/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.Compute/galleries/<gallery>/images/<image>[/versions/<version>])`);
    return { kind: 'id', gallery: { subscriptionId: m[1]!, resourceGroup: m[2]!, name: m[3]! }, image: m[4]!, version: requestedVersion(m[5]) };
  }
  if (image.sharedGalleryImageId !== undefined) {
    const m = SHARED_REFERENCE.exec(image.sharedGalleryImageId);
    if (!m) throw new Error(`image.sharedGalleryImageId '${image.sharedGalleryImageId}' is not a shared gallery image id (/SharedGalleries/<uniqueName>/Images/<image>/Versions/<version>)`);
    return { kind: 'shared', uniqueName: m[1]!, image: m[2]!, version: requestedVersion(m[3]) };
  }
  if (image.communityGalleryImageId !== undefined) {
    const m = COMMUNITY_REFERENCE.exec(image.communityGalleryImageId);
    if (!m) throw new Error(`image.communityGalleryImageId '${image.communityGalleryImageId}' is not a community gallery image id (/CommunityGalleries/<publicName>/Images/<image>/Versions/<version>)`);
    return { kind: 'community', publicName: m[1]!, image: m[2]!, version: requestedVersion(m[3]) };
  }
  throw new Error('image needs one of id, sharedGalleryImageId and communityGalleryImageId');
}

/**
 * The reference as one lower-case string (Azure's names are case-insensitive), for cache keys
 * and comparisons: `id:<sub>/<rg>/<gallery>/<image>/<version>`, `shared:<uniqueName>/<image>/<version>`,
 * `community:<publicName>/<image>/<version>`.
 */
export function imageReferenceKey(ref: ImageReference): string {
  const key =
    ref.kind === 'id'
      ? `id:${ref.gallery.subscriptionId}/${ref.gallery.resourceGroup}/${ref.gallery.name}/${ref.image}/${ref.version}`
      : ref.kind === 'shared'
        ? `shared:${ref.uniqueName}/${ref.image}/${ref.version}`
        : `community:${ref.publicName}/${ref.image}/${ref.version}`;
  return key.toLowerCase();
}

/** Azure's region names compare without case and spaces ("West US" is westus). */
export function normalizeRegion(region: string): string {
  return region.toLowerCase().replace(/\s+/g, '');
}

// ---- version names ----

/** Major.Minor.Patch as three numbers, or undefined for anything else. */
export function parseVersionName(name: string): [number, number, number] | undefined {
  const m = /^(\d{1,10})\.(\d{1,10})\.(\d{1,10})$/.exec(name);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** Orders version names as Azure does: numerically, part by part (1.10.0 after 1.9.0); names that do not parse sort first. */
export function compareVersionNames(a: string, b: string): number {
  const pa = parseVersionName(a);
  const pb = parseVersionName(b);
  if (!pa || !pb) return pa ? 1 : pb ? -1 : a.localeCompare(b);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i]! - pb[i]!;
  return 0;
}

// ---- observations ----

/** The security types a definition may declare in its SecurityType feature (Azure may add more). */
export type ImageSecurityType = 'Standard' | 'TrustedLaunch' | 'ConfidentialVM' | 'TrustedLaunchSupported' | 'TrustedLaunchAndConfidentialVmSupported' | 'ConfidentialVmSupported' | (string & {});

export type RegionReplication = 'Completed' | 'Replicating' | 'Failed' | 'Unknown';

export interface ObservedImageDefinition {
  /** Windows | Linux. */
  osType: string;
  /** Generalized | Specialized. */
  osState: string;
  /** V1 | V2 (Azure's default, when absent, is V1). */
  hyperVGeneration: string;
  /** x64 | Arm64 (Azure's default, when absent, is x64). */
  architecture: string;
  /** The value of the definition's `features` entry named SecurityType, if it has one. */
  securityType?: ImageSecurityType;
  purchasePlan?: { name: string; publisher: string; product: string };
}

export interface ObservedRegion {
  /** Lower case, no spaces. */
  name: string;
  excludeFromLatest: boolean;
  /**
   * Replication to this region, from `$expand=ReplicationStatus`: only for an RBAC id, and only
   * on the versions read with it (see readImage). Absent: not read.
   */
  replication?: RegionReplication;
}

export interface ObservedVersion {
  name: string;
  /** Excluded from latest everywhere. */
  excludeFromLatest: boolean;
  /** ISO 8601, as Azure gives it. */
  endOfLifeDate?: string;
  regions: ObservedRegion[];
}

/**
 * What the identity sees of an image. `source` says which API answered: for `id` the versions
 * carry all their target regions (and replication where read); for `shared` and `community` the
 * consumer APIs list only the versions that target the location asked for, so each version has
 * exactly that one region, without replication (they do not show it).
 */
export interface ObservedImage {
  source: ImageReference['kind'];
  definition: ObservedImageDefinition;
  versions: ObservedVersion[];
}

function securityTypeOf(features: GalleryImageFeature[] | undefined): ImageSecurityType | undefined {
  return features?.find((f) => f.name?.toLowerCase() === 'securitytype')?.value;
}

function purchasePlanOf(plan: ImagePurchasePlan | undefined): ObservedImageDefinition['purchasePlan'] {
  return plan?.name && plan.publisher && plan.product ? { name: plan.name, publisher: plan.publisher, product: plan.product } : undefined;
}

interface DefinitionLike {
  osType?: string;
  osState?: string;
  hyperVGeneration?: string;
  architecture?: string;
  features?: GalleryImageFeature[];
  purchasePlan?: ImagePurchasePlan;
}

function toDefinition(image: DefinitionLike): ObservedImageDefinition {
  const securityType = securityTypeOf(image.features);
  const purchasePlan = purchasePlanOf(image.purchasePlan);
  return {
    osType: image.osType ?? 'Linux',
    osState: image.osState ?? 'Generalized',
    hyperVGeneration: image.hyperVGeneration ?? 'V1',
    architecture: image.architecture ?? 'x64',
    ...(securityType !== undefined ? { securityType } : {}),
    ...(purchasePlan ? { purchasePlan } : {}),
  };
}

/** The SDK deserializes dates into Date; the observation keeps ISO strings (JSON-friendly, comparable in tests). */
function isoDate(date: Date | string | undefined): string | undefined {
  if (date === undefined) return undefined;
  return typeof date === 'string' ? date : date.toISOString();
}

function replicationOf(state: string | undefined): RegionReplication {
  switch ((state ?? '').toLowerCase()) {
    case 'completed':
      return 'Completed';
    case 'replicating':
      return 'Replicating';
    case 'failed':
      return 'Failed';
    default:
      return 'Unknown';
  }
}

/** A producer-side version; with replication when it was read with $expand=ReplicationStatus. */
function toProducerVersion(version: GalleryImageVersion, withReplication: boolean): ObservedVersion {
  const profile = version.publishingProfile;
  const summary = version.replicationStatus?.summary ?? [];
  const endOfLifeDate = isoDate(profile?.endOfLifeDate);
  // A version always targets at least its own region; Azure fills targetRegions with it when the
  // publisher named none, but be safe with answers that leave it out.
  const targets = profile?.targetRegions?.length ? profile.targetRegions : version.location ? [{ name: version.location, excludeFromLatest: false }] : [];
  return {
    name: version.name ?? '',
    excludeFromLatest: profile?.excludeFromLatest ?? false,
    ...(endOfLifeDate ? { endOfLifeDate } : {}),
    regions: targets.map((t) => {
      const name = normalizeRegion(t.name);
      const status = summary.find((s) => s.region !== undefined && normalizeRegion(s.region) === name);
      return { name, excludeFromLatest: t.excludeFromLatest ?? false, ...(withReplication ? { replication: replicationOf(status?.state) } : {}) };
    }),
  };
}

/** A consumer-side version, listed at `location`: it targets that region, replication unknown. */
function toConsumerVersion(version: { name?: string; excludeFromLatest?: boolean; endOfLifeDate?: Date | string }, location: string): ObservedVersion {
  const endOfLifeDate = isoDate(version.endOfLifeDate);
  // The consumer APIs give one excludeFromLatest per version at a location; whether it is the
  // publisher's global flag or the one for this region they do not say (the emulator folds both).
  // Either way it excludes the version from latest here, which is all resolution needs.
  const excluded = version.excludeFromLatest ?? false;
  return { name: version.name ?? '', excludeFromLatest: excluded, ...(endOfLifeDate ? { endOfLifeDate } : {}), regions: [{ name: normalizeRegion(location), excludeFromLatest: excluded }] };
}

async function collect<T>(pages: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of pages) out.push(item);
  return out;
}

/**
 * For `latest` by RBAC id, how many versions (newest first among those that qualify but for
 * replication) are read with their replication status before giving up: the newest usually is
 * replicated, so one read; a burst of new versions still replicating costs one more each.
 */
export const MAX_REPLICATION_READS = 3;

/**
 * The versions `latest` may resolve to in a region, newest first, before replication is known:
 * not excluded from latest globally or there, and targeting the region.
 */
export function latestCandidates(versions: readonly ObservedVersion[], location: string): ObservedVersion[] {
  const region = normalizeRegion(location);
  return versions
    .filter((v) => parseVersionName(v.name) && !v.excludeFromLatest && v.regions.some((r) => r.name === region && !r.excludeFromLatest))
    .sort((a, b) => compareVersionNames(b.name, a.name));
}

/**
 * What the identity behind `compute` sees of the image `ref` names, for a VM in `location`;
 * undefined when the definition does not exist or is not visible to it (404: for consumer
 * references, not shared with the caller's subscription or tenant, or not shown at `location`).
 *
 * `compute` must be a client for the subscription the reads go to: for `id` the gallery's
 * subscription (ref.gallery.subscriptionId; cross-tenant, with the source tenant's credential),
 * for `shared` and `community` the VM's subscription (the consumer APIs answer per subscription).
 *
 * Reads (each one ARM GET; lists are one GET per page of versions):
 * - id, named version: image definition + that version with $expand=ReplicationStatus = 2
 *   (a version that does not exist gives `versions: []`).
 * - id, latest: definition + version list + one $expand=ReplicationStatus GET per candidate,
 *   newest first, until one is Completed in `location` (at most MAX_REPLICATION_READS) = 3 usually,
 *   2 when no version qualifies. Versions not read that way carry no `replication`.
 * - shared / community (named or latest): definition + version list at `location` = 2. The
 *   consumer APIs show which versions target the location, not whether replication finished:
 *   the create tells (GalleryImageNotFound for a listed version means "still replicating").
 *
 * Throws what the SDK throws for anything but 404 on the definition (403 AuthorizationFailed or
 * LinkedAuthorizationFailed when the identity may not read the image: the caller classifies).
 */
export async function readImage(compute: ComputeManagementClient, ref: ImageReference, location: string, signal?: AbortSignal): Promise<ObservedImage | undefined> {
  const options = { abortSignal: signal };
  try {
    switch (ref.kind) {
      case 'id':
        return await readGalleryImage(compute, ref, location, signal);
      case 'shared': {
        const definition = await compute.sharedGalleryImages.get(location, ref.uniqueName, ref.image, options);
        const versions = await collect(compute.sharedGalleryImageVersions.list(location, ref.uniqueName, ref.image, options));
        return { source: 'shared', definition: toDefinition(definition), versions: versions.map((v) => toConsumerVersion(v, location)) };
      }
      case 'community': {
        const definition = await compute.communityGalleryImages.get(location, ref.publicName, ref.image, options);
        const versions = await collect(compute.communityGalleryImageVersions.list(location, ref.publicName, ref.image, options));
        return { source: 'community', definition: toDefinition(definition), versions: versions.map((v) => toConsumerVersion(v, location)) };
      }
    }
  } catch (err) {
    // The image (or its gallery) missing; a missing subscription or resource group of the VM's
    // side is no missing image, and says so with its own code.
    if (isResourceNotFound(err)) return undefined;
    throw err;
  }
}

async function readGalleryImage(compute: ComputeManagementClient, ref: Extract<ImageReference, { kind: 'id' }>, location: string, signal?: AbortSignal): Promise<ObservedImage> {
  const { resourceGroup, name: gallery } = ref.gallery;
  const options = { abortSignal: signal };
  const definition = toDefinition(await compute.galleryImages.get(resourceGroup, gallery, ref.image, options));
  const withReplication = async (version: string) =>
    toProducerVersion(await compute.galleryImageVersions.get(resourceGroup, gallery, ref.image, version, { expand: 'ReplicationStatus', abortSignal: signal }), true);

  if (ref.version !== 'latest') {
    try {
      return { source: 'id', definition, versions: [await withReplication(ref.version)] };
    } catch (err) {
      // The definition exists (read above): only the version is missing.
      if (isArmNotFound(err)) return { source: 'id', definition, versions: [] };
      throw err;
    }
  }

  const listed = (await collect(compute.galleryImageVersions.listByGalleryImage(resourceGroup, gallery, ref.image, options))).map((v) => toProducerVersion(v, false));
  const region = normalizeRegion(location);
  const byName = new Map(listed.map((v) => [v.name, v]));
  for (const candidate of latestCandidates(listed, location).slice(0, MAX_REPLICATION_READS)) {
    let read: ObservedVersion;
    try {
      read = await withReplication(candidate.name);
    } catch (err) {
      // Deleted between the list and the read: it is no candidate any more.
      if (isArmNotFound(err)) {
        byName.delete(candidate.name);
        continue;
      }
      throw err;
    }
    byName.set(candidate.name, read);
    if (read.regions.find((r) => r.name === region)?.replication === 'Completed') break;
  }
  return { source: 'id', definition, versions: [...byName.values()] };
}

// ---- cache ----

/** What a cached answer is for: the image as referenced, the VM's region, and who reads it. */
export interface ImageCheckKey {
  ref: ImageReference;
  region: string;
  /**
   * Who reads: a string that differs for identities that may see different things, such as
   * `<tenantId>/<clientId>/<subscriptionId>` (the subscription matters for consumer references:
   * direct shares are per subscription), or the TenantGrant's uid and source tenant.
   */
  identity: string;
}

export function imageCheckKeyString(key: ImageCheckKey): string {
  return `${imageReferenceKey(key.ref)}|${normalizeRegion(key.region)}|${key.identity}`;
}

export interface ImageCheckCacheOptions {
  /** How long an answer is reused (default 5 minutes). */
  ttlMs?: number;
  /** How many answers are kept (default 1000); the least recently used go first. */
  maxEntries?: number;
  /** Now, in ms (default Date.now): injectable for tests. */
  now?: () => number;
}

interface Entry<T> {
  value: T;
  expiresAt: number;
}

interface Flight<T> {
  promise: Promise<T>;
  controller: AbortController;
  waiters: number;
}

/**
 * Answers of the image check (or of readImage) reused for a bounded time per key. The key holds
 * the reference as written, so `latest` is cached as `latest`: a version published meanwhile is
 * seen within ttlMs, and the VM create itself records the version Azure chose. Concurrent callers
 * of one key share one load (a hundred VMs from one image read it once). A load that throws is
 * not kept (the next caller loads again; backoff is the caller's); undefined (not visible) is an
 * answer and is kept like any other.
 *
 * The shared load gets its own abort signal, aborted only when every caller waiting on it has
 * aborted, so one reconcile cancelled does not fail the others.
 */
export class ImageCheckCache<T> {
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly entries = new Map<string, Entry<T>>();
  private readonly flights = new Map<string, Flight<T>>();

  constructor(options: ImageCheckCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 5 * 60_000;
    this.maxEntries = Math.max(1, options.maxEntries ?? 1000);
    this.now = options.now ?? Date.now;
  }

  /** The cached answer for `key`, or the one `load` gives (shared with concurrent callers of the same key). */
  async get(key: ImageCheckKey, load: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const k = imageCheckKeyString(key);
    const hit = this.entries.get(k);
    if (hit && hit.expiresAt > this.now()) {
      // Most recently used goes last in the Map's order; the first is evicted first.
      this.entries.delete(k);
      this.entries.set(k, hit);
      return hit.value;
    }
    if (hit) this.entries.delete(k);
    let flight = this.flights.get(k);
    if (!flight) flight = this.start(k, load);
    return this.wait(flight, signal);
  }

  /** Forgets the answer for `key` (after a create refused the image, say), so the next caller reads again. */
  invalidate(key: ImageCheckKey): void {
    this.entries.delete(imageCheckKeyString(key));
  }

  /** How many answers are kept now (expired ones included until they are touched or evicted). */
  get size(): number {
    return this.entries.size;
  }

  private start(k: string, load: (signal: AbortSignal) => Promise<T>): Flight<T> {
    const controller = new AbortController();
    const flight: Flight<T> = { controller, waiters: 0, promise: Promise.resolve() as Promise<never> };
    flight.promise = (async () => {
      try {
        const value = await load(controller.signal);
        this.store(k, value);
        return value;
      } finally {
        if (this.flights.get(k) === flight) this.flights.delete(k);
      }
    })();
    // Every waiter handles the rejection; this keeps an abandoned flight's failure from being unhandled.
    flight.promise.catch(() => undefined);
    this.flights.set(k, flight);
    return flight;
  }

  private store(k: string, value: T): void {
    this.entries.delete(k);
    this.entries.set(k, { value, expiresAt: this.now() + this.ttlMs });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  private wait(flight: Flight<T>, signal: AbortSignal | undefined): Promise<T> {
    flight.waiters++;
    if (!signal) return flight.promise;
    if (signal.aborted) {
      this.leave(flight);
      return Promise.reject(abortReason(signal));
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => {
        this.leave(flight);
        reject(abortReason(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      flight.promise.then(
        (value) => {
          signal.removeEventListener('abort', onAbort);
          resolve(value);
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }

  private leave(flight: Flight<T>): void {
    flight.waiters--;
    if (flight.waiters <= 0) flight.controller.abort(new Error('every caller waiting for this image read gave up'));
  }
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}
