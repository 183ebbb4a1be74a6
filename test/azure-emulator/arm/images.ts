// Gallery image definitions and versions: PUT, PATCH, GET, list, DELETE; immutable definition
// properties; version names; per-region replication that completes after a configurable time
// ($expand=ReplicationStatus); excludeFromLatest globally and per region.
import { isRecord, type EmulatorResponse } from '../http.js';
import { compareVersionNames, normalizeRegion, parseVersionName } from '../ids.js';
import type { ImageRecord, ImageVersionRecord, TargetRegionRecord } from '../world.js';
import { pagedList, properties, requestBody, type ArmContext } from './context.js';
import { armErrors } from './errors.js';
import { isLongRunning, pollingHeaders, provisioningFor, provisioningState, startOperation } from './lro.js';
import { findImage, findVersion, locationOf, param, requireGallery, requireImage, tagsOf } from './lookup.js';

// ---- image definitions ----

const imageKnown = new Set(['osType', 'osState', 'hyperVGeneration', 'architecture', 'identifier', 'provisioningState']);

export function renderImage(ctx: ArmContext, image: ImageRecord): Record<string, unknown> {
  return {
    id: image.id,
    name: image.name,
    type: 'Microsoft.Compute/galleries/images',
    location: image.location,
    ...(image.tags ? { tags: image.tags } : {}),
    properties: {
      ...image.extraProperties,
      osType: image.osType,
      osState: image.osState,
      hyperVGeneration: image.hyperVGeneration,
      architecture: image.architecture,
      identifier: { ...image.identifier },
      provisioningState: provisioningState(image, ctx.now),
    },
  };
}

function requiredText(props: Record<string, unknown>, name: string): string {
  const value = props[name];
  if (typeof value !== 'string' || value === '') throw armErrors.invalidParameter(`Required parameter '${name}' is missing (null).`, name);
  return value;
}

function oneOf(value: string, allowed: string[], name: string): string {
  const match = allowed.find((a) => a.toLowerCase() === value.toLowerCase());
  if (!match) throw armErrors.invalidParameter(`The value '${value}' of parameter '${name}' is not valid. Allowed values are ${allowed.join(', ')}.`, name);
  return match;
}

function answer(ctx: ArmContext, location: string, status: number, body: unknown): EmulatorResponse {
  if (!isLongRunning(ctx)) return { status, body };
  const op = startOperation(ctx, { location });
  return { status, body, headers: pollingHeaders(ctx, op, false) };
}

export function putImage(ctx: ArmContext): EmulatorResponse {
  const gallery = requireGallery(ctx, true);
  const body = requestBody(ctx);
  const location = locationOf(body);
  const props = properties(body);
  const osType = oneOf(requiredText(props, 'osType'), ['Windows', 'Linux'], 'osType');
  const osState = oneOf(requiredText(props, 'osState'), ['Generalized', 'Specialized'], 'osState');
  const identifier = props['identifier'];
  if (!isRecord(identifier) || typeof identifier['publisher'] !== 'string' || typeof identifier['offer'] !== 'string' || typeof identifier['sku'] !== 'string') {
    throw armErrors.invalidParameter("Required parameter 'identifier' (publisher, offer, sku) is missing (null).", 'identifier');
  }
  const hyperVGeneration = typeof props['hyperVGeneration'] === 'string' ? oneOf(props['hyperVGeneration'], ['V1', 'V2'], 'hyperVGeneration') : 'V1';
  const architecture = typeof props['architecture'] === 'string' ? oneOf(props['architecture'], ['x64', 'Arm64'], 'architecture') : 'x64';
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(props)) if (!imageKnown.has(key)) extra[key] = value;
  const tags = tagsOf(body);
  const next = { osType, osState, hyperVGeneration, architecture, identifier: { publisher: identifier['publisher'], offer: identifier['offer'], sku: identifier['sku'] } };

  const existing = findImage(ctx);
  if (existing) {
    for (const key of ['osType', 'osState', 'hyperVGeneration', 'architecture'] as const) {
      if (existing[key].toLowerCase() !== next[key].toLowerCase()) throw armErrors.propertyChangeNotAllowed(`galleryImage.properties.${key}`);
    }
    for (const key of ['publisher', 'offer', 'sku'] as const) {
      if (existing.identifier[key] !== next.identifier[key]) throw armErrors.propertyChangeNotAllowed(`galleryImage.properties.identifier.${key}`);
    }
    existing.extraProperties = { ...existing.extraProperties, ...extra };
    if (tags) existing.tags = tags;
    existing.provisioning = provisioningFor(ctx, 'Updating');
    return answer(ctx, existing.location, 200, renderImage(ctx, existing));
  }
  const image: ImageRecord = {
    kind: 'image',
    id: `${gallery.id}/images/${param(ctx, 'galleryImageName')}`,
    name: param(ctx, 'galleryImageName'),
    galleryName: gallery.name,
    subscriptionId: gallery.subscriptionId,
    resourceGroup: gallery.resourceGroup,
    location,
    ...next,
    extraProperties: extra,
    provisioning: provisioningFor(ctx, 'Creating'),
    createdAt: ctx.now,
    ...(tags ? { tags } : {}),
  };
  ctx.world.putResource(image);
  return answer(ctx, location, 201, renderImage(ctx, image));
}

export function patchImage(ctx: ArmContext): EmulatorResponse {
  const image = requireImage(ctx);
  const body = requestBody(ctx);
  const props = properties(body);
  for (const key of ['osType', 'osState', 'hyperVGeneration', 'architecture'] as const) {
    const value = props[key];
    if (typeof value === 'string' && value.toLowerCase() !== image[key].toLowerCase()) throw armErrors.propertyChangeNotAllowed(`galleryImage.properties.${key}`);
  }
  for (const [key, value] of Object.entries(props)) if (!imageKnown.has(key)) image.extraProperties[key] = value;
  const tags = tagsOf(body);
  if (tags) image.tags = tags;
  image.provisioning = provisioningFor(ctx, 'Updating');
  return answer(ctx, image.location, 200, renderImage(ctx, image));
}

export function getImage(ctx: ArmContext): EmulatorResponse {
  return { status: 200, body: renderImage(ctx, requireImage(ctx)) };
}

export function listImages(ctx: ArmContext): EmulatorResponse {
  const gallery = requireGallery(ctx, true);
  const images = ctx.world.resourcesBelow(gallery.id).filter((r): r is ImageRecord => r.kind === 'image');
  return pagedList(ctx, images.map((i) => renderImage(ctx, i)));
}

function deleteAnswer(ctx: ArmContext, id: string, location: string): EmulatorResponse {
  if (!isLongRunning(ctx)) {
    ctx.world.deleteResource(id);
    return { status: 200 };
  }
  const record = ctx.world.resource(id);
  if (record) record.provisioning = { state: 'Deleting', until: Number.MAX_SAFE_INTEGER };
  const op = startOperation(ctx, { location, effect: { kind: 'delete', resourceId: id } });
  return { status: 202, headers: pollingHeaders(ctx, op, true) };
}

export function deleteImage(ctx: ArmContext): EmulatorResponse {
  requireGallery(ctx, true);
  const image = findImage(ctx);
  if (!image) return { status: 204 };
  if (ctx.world.resourcesBelow(image.id).length > 0) throw armErrors.nestedResourcesExist();
  return deleteAnswer(ctx, image.id, image.location);
}

// ---- image versions ----

export type ReplicationState = 'Completed' | 'Replicating' | 'Failed';

export function regionState(region: TargetRegionRecord, now: number): { state: ReplicationState; progress: number } {
  if (region.failed) return { state: 'Failed', progress: 0 };
  if (now >= region.replicatedAt) return { state: 'Completed', progress: 100 };
  const total = Math.max(1, region.replicatedAt - region.replicationStartedAt);
  return { state: 'Replicating', progress: Math.min(99, Math.floor(((now - region.replicationStartedAt) / total) * 100)) };
}

export function replicationStatus(version: ImageVersionRecord, now: number): Record<string, unknown> {
  const summary = version.targetRegions.map((r) => ({ region: r.name, ...regionState(r, now) }));
  const aggregatedState = summary.some((s) => s.state === 'Failed') ? 'Failed' : summary.every((s) => s.state === 'Completed') ? 'Completed' : 'InProgress';
  return { aggregatedState, summary };
}

export function renderVersion(ctx: ArmContext, version: ImageVersionRecord, withReplication = false): Record<string, unknown> {
  const props: Record<string, unknown> = {
    ...version.extraProperties,
    publishingProfile: {
      targetRegions: version.targetRegions.map((r) => ({ name: r.name, regionalReplicaCount: r.regionalReplicaCount, storageAccountType: r.storageAccountType, excludeFromLatest: r.excludeFromLatest })),
      replicaCount: 1,
      excludeFromLatest: version.excludeFromLatest,
      publishedDate: version.publishedDate,
      storageAccountType: 'Standard_LRS',
      ...(version.endOfLifeDate ? { endOfLifeDate: version.endOfLifeDate } : {}),
    },
    storageProfile: version.storageProfile,
    provisioningState: provisioningState(version, ctx.now),
  };
  if (withReplication) props['replicationStatus'] = replicationStatus(version, ctx.now);
  return {
    id: version.id,
    name: version.name,
    type: 'Microsoft.Compute/galleries/images/versions',
    location: version.location,
    ...(version.tags ? { tags: version.tags } : {}),
    properties: props,
  };
}

function wantsReplication(ctx: ArmContext): boolean {
  return (ctx.request.query.get('$expand') ?? '').toLowerCase() === 'replicationstatus';
}

function targetRegionsOf(ctx: ArmContext, publishing: Record<string, unknown>, location: string, previous: TargetRegionRecord[]): TargetRegionRecord[] {
  const requested = Array.isArray(publishing['targetRegions']) ? publishing['targetRegions'] : [{ name: location }];
  const regions = requested.map((entry): TargetRegionRecord => {
    if (!isRecord(entry) || typeof entry['name'] !== 'string') throw armErrors.invalidParameter("Each target region needs a 'name'.", 'publishingProfile.targetRegions');
    const name = entry['name'];
    const before = previous.find((p) => normalizeRegion(p.name) === normalizeRegion(name));
    return {
      name,
      regionalReplicaCount: typeof entry['regionalReplicaCount'] === 'number' ? entry['regionalReplicaCount'] : 1,
      storageAccountType: typeof entry['storageAccountType'] === 'string' ? entry['storageAccountType'] : 'Standard_LRS',
      excludeFromLatest: entry['excludeFromLatest'] === true,
      // A region already replicated keeps its state; a new one starts replicating now.
      replicationStartedAt: before?.replicationStartedAt ?? ctx.now,
      replicatedAt: before?.replicatedAt ?? ctx.now + ctx.options.replicationDurationMs,
      failed: before?.failed ?? false,
    };
  });
  if (!regions.some((r) => normalizeRegion(r.name) === normalizeRegion(location))) {
    throw armErrors.invalidParameter(`The target regions of an image version must include its own region '${location}'.`, 'publishingProfile.targetRegions');
  }
  return regions;
}

const versionKnown = new Set(['publishingProfile', 'storageProfile', 'provisioningState', 'replicationStatus']);

export function putVersion(ctx: ArmContext): EmulatorResponse {
  const image = requireImage(ctx, true);
  const name = param(ctx, 'galleryImageVersionName');
  if (!parseVersionName(name)) {
    throw armErrors.invalidParameter(
      `The version name '${name}' is invalid. The version name must follow Major(int32).Minor(int32).Patch(int32) format, e.g: 1.0.0, 2018.12.01 etc.`,
      'galleryImageVersionName',
    );
  }
  const body = requestBody(ctx);
  const location = locationOf(body);
  const props = properties(body);
  const publishing = isRecord(props['publishingProfile']) ? props['publishingProfile'] : {};
  const existing = findVersion(ctx);
  const targetRegions = targetRegionsOf(ctx, publishing, location, existing?.targetRegions ?? []);
  const storageProfile = isRecord(props['storageProfile']) ? { ...props['storageProfile'] } : {};
  if (!isRecord(storageProfile['osDiskImage'])) storageProfile['osDiskImage'] = { sizeInGB: 30, hostCaching: 'ReadWrite' };
  const extra: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(props)) if (!versionKnown.has(key)) extra[key] = value;
  const tags = tagsOf(body);
  const version: ImageVersionRecord = {
    kind: 'imageVersion',
    id: existing?.id ?? `${image.id}/versions/${name}`,
    name,
    galleryName: image.galleryName,
    imageName: image.name,
    subscriptionId: image.subscriptionId,
    resourceGroup: image.resourceGroup,
    location,
    excludeFromLatest: publishing['excludeFromLatest'] === true,
    publishedDate: existing?.publishedDate ?? new Date(ctx.now).toISOString(),
    targetRegions,
    storageProfile,
    extraProperties: extra,
    provisioning: provisioningFor(ctx, existing ? 'Updating' : 'Creating'),
    createdAt: existing?.createdAt ?? ctx.now,
    ...(typeof publishing['endOfLifeDate'] === 'string' ? { endOfLifeDate: publishing['endOfLifeDate'] } : {}),
    ...(tags ? { tags } : existing?.tags ? { tags: existing.tags } : {}),
  };
  ctx.world.putResource(version);
  return answer(ctx, location, existing ? 200 : 201, renderVersion(ctx, version));
}

export function patchVersion(ctx: ArmContext): EmulatorResponse {
  requireImage(ctx, true);
  const version = findVersion(ctx);
  if (!version) throw armErrors.resourceNotFound('Microsoft.Compute/galleries/images/versions', `${param(ctx, 'galleryName')}/${param(ctx, 'galleryImageName')}/${param(ctx, 'galleryImageVersionName')}`, param(ctx, 'resourceGroupName'));
  const body = requestBody(ctx);
  const props = properties(body);
  const publishing = isRecord(props['publishingProfile']) ? props['publishingProfile'] : undefined;
  if (publishing) {
    if (Array.isArray(publishing['targetRegions'])) version.targetRegions = targetRegionsOf(ctx, publishing, version.location, version.targetRegions);
    if (typeof publishing['excludeFromLatest'] === 'boolean') version.excludeFromLatest = publishing['excludeFromLatest'];
    if (typeof publishing['endOfLifeDate'] === 'string') version.endOfLifeDate = publishing['endOfLifeDate'];
  }
  const tags = tagsOf(body);
  if (tags) version.tags = tags;
  version.provisioning = provisioningFor(ctx, 'Updating');
  return answer(ctx, version.location, 200, renderVersion(ctx, version));
}

export function getVersion(ctx: ArmContext): EmulatorResponse {
  requireImage(ctx, true);
  const version = findVersion(ctx);
  if (!version) throw armErrors.resourceNotFound('Microsoft.Compute/galleries/images/versions', `${param(ctx, 'galleryName')}/${param(ctx, 'galleryImageName')}/${param(ctx, 'galleryImageVersionName')}`, param(ctx, 'resourceGroupName'));
  return { status: 200, body: renderVersion(ctx, version, wantsReplication(ctx)) };
}

export function listVersions(ctx: ArmContext): EmulatorResponse {
  const image = requireImage(ctx, true);
  const versions = versionsOf(ctx, image).sort((a, b) => compareVersionNames(a.name, b.name));
  return pagedList(ctx, versions.map((v) => renderVersion(ctx, v)));
}

export function deleteVersion(ctx: ArmContext): EmulatorResponse {
  requireImage(ctx, true);
  const version = findVersion(ctx);
  if (!version) return { status: 204 };
  return deleteAnswer(ctx, version.id, version.location);
}

export function versionsOf(ctx: Pick<ArmContext, 'world'>, image: ImageRecord): ImageVersionRecord[] {
  return ctx.world.resourcesBelow(image.id).filter((r): r is ImageVersionRecord => r.kind === 'imageVersion');
}

/** Whether a version is available in a region: targeted there and replication completed. */
export function replicatedTo(version: ImageVersionRecord, region: string, now: number): boolean {
  const target = version.targetRegions.find((r) => normalizeRegion(r.name) === normalizeRegion(region));
  return target !== undefined && regionState(target, now).state === 'Completed';
}

/** `latest`: the highest version not excluded from latest (globally or for the region) and replicated there. */
export function latestVersion(ctx: Pick<ArmContext, 'world' | 'now'>, image: ImageRecord, region: string): ImageVersionRecord | undefined {
  const candidates = versionsOf(ctx, image).filter((v) => {
    if (v.excludeFromLatest) return false;
    const target = v.targetRegions.find((r) => normalizeRegion(r.name) === normalizeRegion(region));
    return target !== undefined && !target.excludeFromLatest && replicatedTo(v, region, ctx.now);
  });
  return candidates.sort((a, b) => compareVersionNames(b.name, a.name))[0];
}

