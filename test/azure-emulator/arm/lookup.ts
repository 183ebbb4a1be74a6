// Finding the parents a request names (subscription, resource group, gallery, image) and failing
// with the 404 ARM gives for each missing level.
import { galleryId, resourceGroupId } from '../ids.js';
import type { GalleryRecord, ImageRecord, ImageVersionRecord, ResourceGroupRecord } from '../world.js';
import type { ArmContext } from './context.js';
import { armErrors } from './errors.js';

export function param(ctx: ArmContext, name: string): string {
  return ctx.params[name] ?? '';
}

export function findResourceGroup(ctx: ArmContext): ResourceGroupRecord | undefined {
  const rg = ctx.world.resource(resourceGroupId(param(ctx, 'subscriptionId'), param(ctx, 'resourceGroupName')));
  return rg?.kind === 'resourceGroup' ? rg : undefined;
}

export function requireResourceGroup(ctx: ArmContext): ResourceGroupRecord {
  const rg = findResourceGroup(ctx);
  if (!rg) throw armErrors.resourceGroupNotFound(param(ctx, 'resourceGroupName'));
  return rg;
}

export function currentGalleryId(ctx: ArmContext): string {
  return galleryId(param(ctx, 'subscriptionId'), param(ctx, 'resourceGroupName'), param(ctx, 'galleryName'));
}

export function findGallery(ctx: ArmContext): GalleryRecord | undefined {
  const gallery = ctx.world.resource(currentGalleryId(ctx));
  return gallery?.kind === 'gallery' ? gallery : undefined;
}

/** The gallery of the path; `asParent` gives the nested-resource 404 instead of ResourceNotFound. */
export function requireGallery(ctx: ArmContext, asParent = false): GalleryRecord {
  requireResourceGroup(ctx);
  const gallery = findGallery(ctx);
  if (!gallery) {
    throw asParent
      ? armErrors.parentNotFound(param(ctx, 'galleryName'))
      : armErrors.resourceNotFound('Microsoft.Compute/galleries', param(ctx, 'galleryName'), param(ctx, 'resourceGroupName'));
  }
  return gallery;
}

export function findImage(ctx: ArmContext): ImageRecord | undefined {
  const image = ctx.world.resource(`${currentGalleryId(ctx)}/images/${param(ctx, 'galleryImageName')}`);
  return image?.kind === 'image' ? image : undefined;
}

export function requireImage(ctx: ArmContext, asParent = false): ImageRecord {
  requireGallery(ctx, true);
  const image = findImage(ctx);
  if (!image) {
    throw asParent
      ? armErrors.parentNotFound(param(ctx, 'galleryImageName'))
      : armErrors.resourceNotFound('Microsoft.Compute/galleries/images', `${param(ctx, 'galleryName')}/${param(ctx, 'galleryImageName')}`, param(ctx, 'resourceGroupName'));
  }
  return image;
}

export function findVersion(ctx: ArmContext): ImageVersionRecord | undefined {
  const version = ctx.world.resource(`${currentGalleryId(ctx)}/images/${param(ctx, 'galleryImageName')}/versions/${param(ctx, 'galleryImageVersionName')}`);
  return version?.kind === 'imageVersion' ? version : undefined;
}

export function tagsOf(body: Record<string, unknown>): Record<string, string> | undefined {
  const tags = body['tags'];
  if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) return undefined;
  return Object.fromEntries(Object.entries(tags).map(([k, v]) => [k, String(v)]));
}

export function locationOf(body: Record<string, unknown>): string {
  const location = body['location'];
  if (typeof location !== 'string' || location.trim() === '') throw armErrors.locationRequired();
  return location;
}
