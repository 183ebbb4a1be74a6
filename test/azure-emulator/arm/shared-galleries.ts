// What consumers see of direct shares: .../locations/{loc}/sharedGalleries[/{uniqueName}[/images
// [/{img}[/versions[/{ver}]]]]], visible only to the subscriptions and tenants a gallery is shared
// with (`sharedTo=tenant` lists the tenant's shares, without it the subscription's).
import type { EmulatorResponse } from '../http.js';
import { compareVersionNames, normalizeRegion } from '../ids.js';
import type { GalleryRecord, ImageRecord, ImageVersionRecord } from '../world.js';
import { pagedList, type ArmContext } from './context.js';
import { ArmError } from './errors.js';
import { galleryUniqueName } from './galleries.js';
import { versionsOf } from './images.js';
import { param } from './lookup.js';

function subscriptionTenant(ctx: ArmContext): string {
  return ctx.world.subscription(param(ctx, 'subscriptionId'))?.tenantId ?? ctx.caller.tenantId;
}

function sharedWithSubscription(ctx: ArmContext, gallery: GalleryRecord): boolean {
  const sub = param(ctx, 'subscriptionId').toLowerCase();
  return gallery.sharedSubscriptions.some((s) => s.toLowerCase() === sub);
}

function sharedWithTenant(ctx: ArmContext, gallery: GalleryRecord): boolean {
  const tenant = subscriptionTenant(ctx).toLowerCase();
  return gallery.sharedTenants.some((t) => t.toLowerCase() === tenant);
}

function allGalleries(ctx: ArmContext): GalleryRecord[] {
  return [...ctx.world.resources.values()].filter((r): r is GalleryRecord => r.kind === 'gallery' && r.permission === 'Groups');
}

/** A gallery shows in a region when it lives there or one of its versions targets it. */
export function galleryInRegion(ctx: Pick<ArmContext, 'world'>, gallery: GalleryRecord, region: string): boolean {
  if (normalizeRegion(gallery.location) === normalizeRegion(region)) return true;
  return ctx.world.resourcesBelow(gallery.id).some((r) => r.kind === 'imageVersion' && r.targetRegions.some((t) => normalizeRegion(t.name) === normalizeRegion(region)));
}

export function versionInRegion(version: ImageVersionRecord, region: string): boolean {
  return version.targetRegions.some((t) => normalizeRegion(t.name) === normalizeRegion(region));
}

/** The gallery behind a unique name, if it is shared with the caller's subscription or tenant. */
export function visibleSharedGallery(ctx: ArmContext, uniqueName: string): GalleryRecord | undefined {
  return allGalleries(ctx).find((g) => galleryUniqueName(g).toLowerCase() === uniqueName.toLowerCase() && (sharedWithSubscription(ctx, g) || sharedWithTenant(ctx, g)));
}

function notFound(what: string): ArmError {
  return new ArmError(404, 'ResourceNotFound', `${what} was not found, or is not shared with this subscription or its tenant.`);
}

function requireSharedGallery(ctx: ArmContext): GalleryRecord {
  const uniqueName = param(ctx, 'galleryUniqueName');
  const gallery = visibleSharedGallery(ctx, uniqueName);
  if (!gallery || !galleryInRegion(ctx, gallery, param(ctx, 'location'))) throw notFound(`The shared gallery '${uniqueName}'`);
  return gallery;
}

function requireSharedImage(ctx: ArmContext, gallery: GalleryRecord): ImageRecord {
  const image = ctx.world.resource(`${gallery.id}/images/${param(ctx, 'galleryImageName')}`);
  if (image?.kind !== 'image') throw notFound(`The shared gallery image '${param(ctx, 'galleryImageName')}'`);
  return image;
}

function renderSharedGallery(ctx: ArmContext, gallery: GalleryRecord): Record<string, unknown> {
  const uniqueName = galleryUniqueName(gallery);
  return { name: uniqueName, location: param(ctx, 'location'), identifier: { uniqueId: `/SharedGalleries/${uniqueName}` }, properties: { artifactTags: {} } };
}

export function renderSharedImage(location: string, uniqueId: string, image: ImageRecord): Record<string, unknown> {
  const extra = image.extraProperties;
  return {
    name: image.name,
    location,
    identifier: { uniqueId },
    properties: {
      osType: image.osType,
      osState: image.osState,
      hyperVGeneration: image.hyperVGeneration,
      architecture: image.architecture,
      identifier: { ...image.identifier },
      ...(extra['endOfLifeDate'] !== undefined ? { endOfLifeDate: extra['endOfLifeDate'] } : {}),
      ...(extra['eula'] !== undefined ? { eula: extra['eula'] } : {}),
      ...(extra['privacyStatementUri'] !== undefined ? { privacyStatementUri: extra['privacyStatementUri'] } : {}),
      ...(extra['features'] !== undefined ? { features: extra['features'] } : {}),
      ...(extra['recommended'] !== undefined ? { recommended: extra['recommended'] } : {}),
      artifactTags: {},
    },
  };
}

export function renderSharedVersion(location: string, uniqueId: string, version: ImageVersionRecord): Record<string, unknown> {
  const target = version.targetRegions.find((t) => normalizeRegion(t.name) === normalizeRegion(location));
  const osDisk = version.storageProfile['osDiskImage'] as { sizeInGB?: number; hostCaching?: string } | undefined;
  return {
    name: version.name,
    location,
    identifier: { uniqueId },
    properties: {
      publishedDate: version.publishedDate,
      ...(version.endOfLifeDate ? { endOfLifeDate: version.endOfLifeDate } : {}),
      excludeFromLatest: version.excludeFromLatest || (target?.excludeFromLatest ?? false),
      storageProfile: { osDiskImage: { diskSizeGB: osDisk?.sizeInGB ?? 30, hostCaching: osDisk?.hostCaching ?? 'ReadWrite' } },
      artifactTags: {},
    },
  };
}

export function listSharedGalleries(ctx: ArmContext): EmulatorResponse {
  const toTenant = (ctx.request.query.get('sharedto') ?? '').toLowerCase() === 'tenant';
  const galleries = allGalleries(ctx).filter((g) => (toTenant ? sharedWithTenant(ctx, g) : sharedWithSubscription(ctx, g)) && galleryInRegion(ctx, g, param(ctx, 'location')));
  return pagedList(ctx, galleries.map((g) => renderSharedGallery(ctx, g)));
}

export function getSharedGallery(ctx: ArmContext): EmulatorResponse {
  return { status: 200, body: renderSharedGallery(ctx, requireSharedGallery(ctx)) };
}

export function listSharedImages(ctx: ArmContext): EmulatorResponse {
  const gallery = requireSharedGallery(ctx);
  const uniqueName = galleryUniqueName(gallery);
  const images = ctx.world.resourcesBelow(gallery.id).filter((r): r is ImageRecord => r.kind === 'image');
  return pagedList(ctx, images.map((i) => renderSharedImage(param(ctx, 'location'), `/SharedGalleries/${uniqueName}/Images/${i.name}`, i)));
}

export function getSharedImage(ctx: ArmContext): EmulatorResponse {
  const gallery = requireSharedGallery(ctx);
  const image = requireSharedImage(ctx, gallery);
  return { status: 200, body: renderSharedImage(param(ctx, 'location'), `/SharedGalleries/${galleryUniqueName(gallery)}/Images/${image.name}`, image) };
}

export function listSharedVersions(ctx: ArmContext): EmulatorResponse {
  const gallery = requireSharedGallery(ctx);
  const image = requireSharedImage(ctx, gallery);
  const location = param(ctx, 'location');
  const prefix = `/SharedGalleries/${galleryUniqueName(gallery)}/Images/${image.name}/Versions/`;
  const versions = versionsOf(ctx, image)
    .filter((v) => versionInRegion(v, location))
    .sort((a, b) => compareVersionNames(a.name, b.name));
  return pagedList(ctx, versions.map((v) => renderSharedVersion(location, prefix + v.name, v)));
}

export function getSharedVersion(ctx: ArmContext): EmulatorResponse {
  const gallery = requireSharedGallery(ctx);
  const image = requireSharedImage(ctx, gallery);
  const location = param(ctx, 'location');
  const version = versionsOf(ctx, image).find((v) => v.name === param(ctx, 'galleryImageVersionName'));
  if (!version || !versionInRegion(version, location)) throw notFound(`The shared gallery image version '${param(ctx, 'galleryImageVersionName')}'`);
  return { status: 200, body: renderSharedVersion(location, `/SharedGalleries/${galleryUniqueName(gallery)}/Images/${image.name}/Versions/${version.name}`, version) };
}
