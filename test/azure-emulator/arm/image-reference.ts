// The image checks ARM and Compute make when a VM or scale set names a gallery image: exactly one
// of id / sharedGalleryImageId / communityGalleryImageId; the image exists; the caller may read it
// (RBAC for `id`, with an auxiliary token when it lives in another tenant; share visibility for
// shared ids; community for community ids); `latest` resolved; replicated to the VM's region;
// osProfile refused for specialized images and required for generalized ones.
import { isRecord } from '../http.js';
import { normalizeRegion, parseResourceId } from '../ids.js';
import type { GalleryRecord, ImageRecord, ImageVersionRecord } from '../world.js';
import { auxiliaryTokens, principalCan, type ArmContext } from './context.js';
import { ArmError, armErrors } from './errors.js';
import { latestVersion, replicatedTo, versionsOf } from './images.js';
import { communityGallery } from './community-galleries.js';
import { visibleSharedGallery } from './shared-galleries.js';

const readVersion = 'Microsoft.Compute/galleries/images/versions/read';

export interface ResolvedImage {
  /** The version the VM is created from (`exactVersion`). */
  version?: ImageVersionRecord;
  osType: string;
  osState: string;
}

function imageNotFound(reference: string): ArmError {
  return new ArmError(404, 'GalleryImageNotFound', `The gallery image '${reference}' was not found.`);
}

function notReplicated(reference: string, location: string): ArmError {
  return new ArmError(
    404,
    'GalleryImageNotFound',
    `The gallery image ${reference} is not available in ${location} region. Please contact image owner to replicate to this region, or change your requested region.`,
  );
}

/** A named version (replicated to the region) or `latest`. */
function pickVersion(ctx: ArmContext, image: ImageRecord, versionName: string | undefined, reference: string, location: string): ImageVersionRecord {
  if (!versionName || versionName.toLowerCase() === 'latest') {
    const latest = latestVersion(ctx, image, location);
    if (!latest) throw new ArmError(404, 'GalleryImageNotFound', `There is no latest image version exists for "${reference}" in ${location} region.`);
    return latest;
  }
  const version = versionsOf(ctx, image).find((v) => v.name === versionName);
  if (!version) throw imageNotFound(reference);
  if (!replicatedTo(version, location, ctx.now)) throw notReplicated(reference, location);
  return version;
}

function linkedFailure(ctx: ArmContext, vmScope: string, linkedScope: string, reason: 'tenant' | 'permission', imageTenant: string, oid?: string): ArmError {
  if (reason === 'tenant') {
    return new ArmError(
      403,
      'LinkedAuthorizationFailed',
      `The client has permission to perform action '${readVersion}' on scope '${vmScope}', however the current tenant '${ctx.caller.tenantId}' is not authorized to access linked subscription '${parseResourceId(linkedScope)?.subscriptionId ?? ''}' of tenant '${imageTenant}'. Send a token of that tenant in x-ms-authorization-auxiliary.`,
    );
  }
  return new ArmError(
    403,
    'LinkedAuthorizationFailed',
    `The client '${oid}' with object id '${oid}' has permission to perform action 'Microsoft.Compute/virtualMachines/write' on scope '${vmScope}'; however, it does not have permission to perform action(s) '${readVersion}' on the linked scope(s) '${linkedScope}' (respectively) or the linked scope(s) are invalid.`,
  );
}

/** `id`: a gallery image (latest) or version id; RBAC, with an auxiliary token across tenants. */
function resolveById(ctx: ArmContext, reference: string, location: string, vmScope: string): ImageVersionRecord {
  const parsed = parseResourceId(reference);
  const path = parsed?.providerPath ?? [];
  const isGalleryImage = path[0]?.toLowerCase() === 'microsoft.compute' && path[1]?.toLowerCase() === 'galleries' && path[3]?.toLowerCase() === 'images' && path[4];
  if (!parsed || !parsed.resourceGroup || !isGalleryImage) throw armErrors.invalidParameter(`The image reference id '${reference}' is not a gallery image or image version id.`, 'imageReference.id');
  const imageId = `/subscriptions/${parsed.subscriptionId}/resourceGroups/${parsed.resourceGroup}/providers/Microsoft.Compute/galleries/${path[2]}/images/${path[4]}`;
  const versionName = path[5]?.toLowerCase() === 'versions' ? path[6] : undefined;
  const imageSubscription = ctx.world.subscription(parsed.subscriptionId);
  if (!imageSubscription) throw armErrors.subscriptionNotFound(parsed.subscriptionId);

  // Who reads the image: the caller in its own tenant, or the auxiliary token's principal in the image's tenant.
  let reader = ctx.caller.objectId;
  if (imageSubscription.tenantId.toLowerCase() !== ctx.caller.tenantId.toLowerCase()) {
    const callers = auxiliaryTokens(ctx.request).slice(0, 3).map((token) => ctx.verifyToken(token));
    const linked = callers.find((c) => c.tenantId.toLowerCase() === imageSubscription.tenantId.toLowerCase());
    if (!linked) throw linkedFailure(ctx, vmScope, reference, 'tenant', imageSubscription.tenantId);
    reader = linked.objectId;
    if (!principalCan(ctx.world, reader, readVersion, reference, ctx.now)) throw linkedFailure(ctx, vmScope, reference, 'permission', imageSubscription.tenantId, reader);
  } else if (!principalCan(ctx.world, reader, readVersion, reference, ctx.now)) {
    throw armErrors.authorizationFailed(reader, readVersion, reference);
  }
  const image = ctx.world.resource(imageId);
  if (image?.kind !== 'image') throw imageNotFound(reference);
  return pickVersion(ctx, image, versionName, reference, location);
}

/** `/SharedGalleries/{uniqueName}/Images/{image}/Versions/{version|latest}` (version optional). */
function resolveShared(ctx: ArmContext, reference: string, location: string): ImageVersionRecord {
  const parts = reference.split('/').filter(Boolean);
  if (parts[0]?.toLowerCase() !== 'sharedgalleries' || parts[2]?.toLowerCase() !== 'images' || !parts[3]) {
    throw armErrors.invalidParameter(`The shared gallery image id '${reference}' is not valid.`, 'imageReference.sharedGalleryImageId');
  }
  const gallery: GalleryRecord | undefined = visibleSharedGallery(ctx, parts[1] ?? '');
  const image = gallery ? ctx.world.resource(`${gallery.id}/images/${parts[3]}`) : undefined;
  if (image?.kind !== 'image') throw imageNotFound(reference);
  return pickVersion(ctx, image, parts[4]?.toLowerCase() === 'versions' ? parts[5] : undefined, reference, location);
}

/** `/CommunityGalleries/{publicName}/Images/{image}/Versions/{version|latest}` (version optional). */
function resolveCommunity(ctx: ArmContext, reference: string, location: string): ImageVersionRecord {
  const parts = reference.split('/').filter(Boolean);
  if (parts[0]?.toLowerCase() !== 'communitygalleries' || parts[2]?.toLowerCase() !== 'images' || !parts[3]) {
    throw armErrors.invalidParameter(`The community gallery image id '${reference}' is not valid.`, 'imageReference.communityGalleryImageId');
  }
  const gallery = communityGallery(ctx, parts[1] ?? '');
  const image = gallery ? ctx.world.resource(`${gallery.id}/images/${parts[3]}`) : undefined;
  if (image?.kind !== 'image') throw imageNotFound(reference);
  return pickVersion(ctx, image, parts[4]?.toLowerCase() === 'versions' ? parts[5] : undefined, reference, location);
}

/** The image definition's `SecurityType` feature (TrustedLaunch, ConfidentialVM, TrustedLaunchSupported, ...). */
export function imageSecurityType(image: ImageRecord): string | undefined {
  const features = Array.isArray(image.extraProperties['features']) ? image.extraProperties['features'] : [];
  const feature = features.filter(isRecord).find((f) => typeof f['name'] === 'string' && f['name'].toLowerCase() === 'securitytype');
  return typeof feature?.['value'] === 'string' ? feature['value'] : undefined;
}

/** Security types an image requires of the VMs made from it (the *Supported values only allow them). */
const requiredSecurityTypes = new Set(['trustedlaunch', 'confidentialvm']);

/**
 * Checks a storageProfile.imageReference, the osProfile and the VM's securityProfile.securityType
 * against the image it names.
 */
export function resolveImageReference(ctx: ArmContext, storageProfile: Record<string, unknown>, osProfile: unknown, location: string, vmScope: string, target: string, securityType?: string): ResolvedImage {
  const reference = isRecord(storageProfile['imageReference']) ? storageProfile['imageReference'] : undefined;
  if (!reference) throw armErrors.invalidParameter(`Required parameter '${target}.storageProfile.imageReference' is missing (null).`, `${target}.storageProfile.imageReference`);
  const kinds = (['id', 'sharedGalleryImageId', 'communityGalleryImageId'] as const).filter((k) => typeof reference[k] === 'string' && reference[k] !== '');
  const marketplace = typeof reference['publisher'] === 'string' && typeof reference['offer'] === 'string';
  if (kinds.length > 1 || (kinds.length === 1 && marketplace)) {
    throw armErrors.invalidParameter('Only one of id, sharedGalleryImageId, communityGalleryImageId or publisher/offer/sku/version may be set in imageReference.', `${target}.storageProfile.imageReference`);
  }
  let resolved: ResolvedImage;
  if (kinds.length === 0) {
    if (!marketplace) throw armErrors.invalidParameter('imageReference needs an id, sharedGalleryImageId, communityGalleryImageId or publisher/offer/sku.', `${target}.storageProfile.imageReference`);
    // Marketplace images are public and generalized; the emulator does not model their catalogue.
    resolved = { osType: 'Linux', osState: 'Generalized' };
  } else {
    const kind = kinds[0]!;
    const text = reference[kind] as string;
    const version = kind === 'id' ? resolveById(ctx, text, location, vmScope) : kind === 'sharedGalleryImageId' ? resolveShared(ctx, text, location) : resolveCommunity(ctx, text, location);
    const image = ctx.world.resource(version.id.slice(0, version.id.toLowerCase().lastIndexOf('/versions/')));
    if (image?.kind !== 'image') throw imageNotFound(text);
    resolved = { version, osType: image.osType, osState: image.osState };
    const required = imageSecurityType(image);
    if (required && requiredSecurityTypes.has(required.toLowerCase()) && securityType?.toLowerCase() !== required.toLowerCase()) {
      throw new ArmError(400, 'BadRequest', `The provided gallery image only supports creation of VMs and VM Scale Sets with '${required}' security type.`);
    }
  }
  if (resolved.osState === 'Specialized' && osProfile !== undefined && osProfile !== null) {
    throw armErrors.invalidParameter("Parameter 'osProfile' is not allowed.", `${target}.osProfile`);
  }
  if (resolved.osState === 'Generalized' && !isRecord(osProfile)) {
    throw armErrors.invalidParameter("Required parameter 'osProfile' is missing (null).", `${target}.osProfile`);
  }
  return resolved;
}

export function sameRegion(a: string, b: string): boolean {
  return normalizeRegion(a) === normalizeRegion(b);
}
