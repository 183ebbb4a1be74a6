// Community galleries as every Azure user sees them: .../locations/{loc}/communityGalleries/
// {publicName} (get only), its images and versions; visible once community sharing is enabled.
import type { EmulatorResponse } from '../http.js';
import { compareVersionNames } from '../ids.js';
import type { GalleryRecord, ImageRecord } from '../world.js';
import { pagedList, type ArmContext } from './context.js';
import { ArmError } from './errors.js';
import { versionsOf } from './images.js';
import { param } from './lookup.js';
import { galleryInRegion, renderSharedImage, renderSharedVersion, versionInRegion } from './shared-galleries.js';

/** The community gallery behind a public name, if community sharing is on. */
export function communityGallery(ctx: Pick<ArmContext, 'world'>, publicName: string): GalleryRecord | undefined {
  for (const r of ctx.world.resources.values()) {
    if (r.kind === 'gallery' && r.community?.enabled && r.community.publicNames.some((n) => n.toLowerCase() === publicName.toLowerCase())) return r;
  }
  return undefined;
}

function notFound(what: string): ArmError {
  return new ArmError(404, 'ResourceNotFound', `${what} was not found.`);
}

function requireCommunityGallery(ctx: ArmContext): GalleryRecord {
  const publicName = param(ctx, 'publicGalleryName');
  const gallery = communityGallery(ctx, publicName);
  if (!gallery || !galleryInRegion(ctx, gallery, param(ctx, 'location'))) throw notFound(`The community gallery '${publicName}'`);
  return gallery;
}

function requireCommunityImage(ctx: ArmContext, gallery: GalleryRecord): ImageRecord {
  const image = ctx.world.resource(`${gallery.id}/images/${param(ctx, 'galleryImageName')}`);
  if (image?.kind !== 'image') throw notFound(`The community gallery image '${param(ctx, 'galleryImageName')}'`);
  return image;
}

const typed = (type: string, body: Record<string, unknown>) => ({ ...body, type });

export function getCommunityGallery(ctx: ArmContext): EmulatorResponse {
  const gallery = requireCommunityGallery(ctx);
  const publicName = param(ctx, 'publicGalleryName');
  const c = gallery.community!;
  return {
    status: 200,
    body: {
      name: publicName,
      location: param(ctx, 'location'),
      type: 'Microsoft.Compute/locations/communityGalleries',
      identifier: { uniqueId: `/CommunityGalleries/${publicName}` },
      properties: {
        disclaimer: '',
        artifactTags: {},
        communityMetadata: { publisherUri: c.publisherUri ?? '', publisherContact: c.publisherContact ?? '', eula: c.eula ?? '', publicNames: c.publicNames },
      },
    },
  };
}

export function listCommunityImages(ctx: ArmContext): EmulatorResponse {
  const gallery = requireCommunityGallery(ctx);
  const prefix = `/CommunityGalleries/${param(ctx, 'publicGalleryName')}/Images/`;
  const images = ctx.world.resourcesBelow(gallery.id).filter((r): r is ImageRecord => r.kind === 'image');
  return pagedList(ctx, images.map((i) => typed('Microsoft.Compute/locations/communityGalleries/images', renderSharedImage(param(ctx, 'location'), prefix + i.name, i))));
}

export function getCommunityImage(ctx: ArmContext): EmulatorResponse {
  const gallery = requireCommunityGallery(ctx);
  const image = requireCommunityImage(ctx, gallery);
  const uniqueId = `/CommunityGalleries/${param(ctx, 'publicGalleryName')}/Images/${image.name}`;
  return { status: 200, body: typed('Microsoft.Compute/locations/communityGalleries/images', renderSharedImage(param(ctx, 'location'), uniqueId, image)) };
}

export function listCommunityVersions(ctx: ArmContext): EmulatorResponse {
  const gallery = requireCommunityGallery(ctx);
  const image = requireCommunityImage(ctx, gallery);
  const location = param(ctx, 'location');
  const prefix = `/CommunityGalleries/${param(ctx, 'publicGalleryName')}/Images/${image.name}/Versions/`;
  const versions = versionsOf(ctx, image)
    .filter((v) => versionInRegion(v, location))
    .sort((a, b) => compareVersionNames(a.name, b.name));
  return pagedList(ctx, versions.map((v) => typed('Microsoft.Compute/locations/communityGalleries/images/versions', renderSharedVersion(location, prefix + v.name, v))));
}

export function getCommunityVersion(ctx: ArmContext): EmulatorResponse {
  const gallery = requireCommunityGallery(ctx);
  const image = requireCommunityImage(ctx, gallery);
  const location = param(ctx, 'location');
  const version = versionsOf(ctx, image).find((v) => v.name === param(ctx, 'galleryImageVersionName'));
  if (!version || !versionInRegion(version, location)) throw notFound(`The community gallery image version '${param(ctx, 'galleryImageVersionName')}'`);
  const uniqueId = `/CommunityGalleries/${param(ctx, 'publicGalleryName')}/Images/${image.name}/Versions/${version.name}`;
  return { status: 200, body: typed('Microsoft.Compute/locations/communityGalleries/images/versions', renderSharedVersion(location, uniqueId, version)) };
}
