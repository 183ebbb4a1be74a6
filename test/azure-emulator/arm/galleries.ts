// Microsoft.Compute/galleries: PUT, PATCH, GET ($expand=SharingProfile/Groups, $select=Permissions),
// list by resource group and subscription, DELETE; the permission-change and deletion rules.
import { isRecord, type EmulatorResponse } from '../http.js';
import { communityPublicName, idKey } from '../ids.js';
import type { CommunityInfo, GalleryRecord, SharingPermission } from '../world.js';
import { pagedList, properties, requestBody, type ArmContext } from './context.js';
import { ArmError, armErrors } from './errors.js';
import { isLongRunning, pollingHeaders, provisioningFor, provisioningState, startOperation } from './lro.js';
import { currentGalleryId, findGallery, param, requireGallery, requireResourceGroup, tagsOf, locationOf } from './lookup.js';

const galleryNamePattern = /^[A-Za-z0-9]([A-Za-z0-9._]{0,78}[A-Za-z0-9])?$/;

export function galleryUniqueName(gallery: Pick<GalleryRecord, 'subscriptionId' | 'name'>): string {
  return `${gallery.subscriptionId}-${gallery.name.toUpperCase()}`;
}

function wantsGroups(ctx: ArmContext): boolean {
  const expand = ctx.request.query.get('$expand')?.toLowerCase() ?? '';
  const select = ctx.request.query.get('$select')?.toLowerCase() ?? '';
  return expand.split(',').some((e) => e.trim() === 'sharingprofile/groups') || select.split(',').some((s) => s.trim() === 'permissions');
}

function renderCommunity(c: CommunityInfo): Record<string, unknown> {
  return {
    ...(c.publisherUri ? { publisherUri: c.publisherUri } : {}),
    ...(c.publisherContact ? { publisherContact: c.publisherContact } : {}),
    ...(c.eula ? { eula: c.eula } : {}),
    ...(c.publicNamePrefix ? { publicNamePrefix: c.publicNamePrefix } : {}),
    communityGalleryEnabled: c.enabled,
    publicNames: c.publicNames,
  };
}

function sharingInProgress(ctx: ArmContext, gallery: GalleryRecord): boolean {
  return gallery.sharingInProgressUntil > ctx.now;
}

export function renderGallery(ctx: ArmContext, gallery: GalleryRecord, withGroups = wantsGroups(ctx)): Record<string, unknown> {
  const sharingProfile: Record<string, unknown> = { permissions: gallery.permission };
  if (withGroups) {
    const groups: { type: string; ids: string[] }[] = [];
    if (gallery.sharedSubscriptions.length > 0) groups.push({ type: 'Subscriptions', ids: [...gallery.sharedSubscriptions] });
    if (gallery.sharedTenants.length > 0) groups.push({ type: 'AADTenants', ids: [...gallery.sharedTenants] });
    sharingProfile['groups'] = groups;
  }
  if (gallery.community) sharingProfile['communityGalleryInfo'] = renderCommunity(gallery.community);
  const props: Record<string, unknown> = {
    ...gallery.extraProperties,
    ...(gallery.description !== undefined ? { description: gallery.description } : {}),
    identifier: { uniqueName: galleryUniqueName(gallery) },
    provisioningState: provisioningState(gallery, ctx.now),
    sharingProfile,
  };
  if (gallery.permission !== 'Private') {
    const state = sharingInProgress(ctx, gallery) ? 'InProgress' : 'Succeeded';
    props['sharingStatus'] = { aggregatedState: state, summary: [{ region: gallery.location, state }] };
  }
  return {
    id: gallery.id,
    name: gallery.name,
    type: 'Microsoft.Compute/galleries',
    location: gallery.location,
    ...(gallery.tags ? { tags: gallery.tags } : {}),
    properties: props,
  };
}

function permissionOf(value: unknown): SharingPermission | undefined {
  if (value === undefined || value === null) return undefined;
  const match = (['Private', 'Groups', 'Community'] as const).find((p) => typeof value === 'string' && p.toLowerCase() === value.toLowerCase());
  if (!match) throw armErrors.invalidParameter(`The value '${JSON.stringify(value)}' of parameter 'sharingProfile.permissions' is not valid. Allowed values are Private, Groups and Community.`, 'sharingProfile.permissions');
  return match;
}

/** Private <-> Community may change; Groups can only be chosen when the gallery is created. */
function checkPermissionChange(gallery: GalleryRecord, next: SharingPermission): void {
  if (gallery.permission === next) return;
  if (gallery.permission === 'Groups' || next === 'Groups') {
    throw armErrors.invalidParameter(
      `Changing the sharing permission of gallery '${gallery.name}' from '${gallery.permission}' to '${next}' is not allowed. Direct sharing (Groups) can only be chosen when the gallery is created.`,
      'sharingProfile.permissions',
    );
  }
  if (gallery.permission === 'Community' && gallery.community?.enabled) {
    throw armErrors.invalidParameter(`Gallery '${gallery.name}' is shared to the community; reset its sharing before changing its permission.`, 'sharingProfile.permissions');
  }
}

function communityFromBody(sharingProfile: Record<string, unknown>, previous: CommunityInfo | undefined): CommunityInfo | undefined {
  const info = sharingProfile['communityGalleryInfo'];
  if (!isRecord(info)) return previous;
  const text = (key: string) => (typeof info[key] === 'string' ? info[key] : undefined);
  const next: CommunityInfo = { enabled: previous?.enabled ?? false, publicNames: previous?.publicNames ?? [] };
  for (const key of ['publisherUri', 'publisherContact', 'eula', 'publicNamePrefix'] as const) {
    const value = text(key) ?? previous?.[key];
    if (value !== undefined) next[key] = value;
  }
  return next;
}

/**
 * Azure assigns the public names when a gallery is made Community with communityGalleryInfo (PUT
 * or PATCH), before it is community-shared (communityGalleryEnabled stays false until
 * EnableCommunity). Names once assigned are kept.
 */
function withPublicNames(gallery: Pick<GalleryRecord, 'id' | 'name' | 'permission' | 'community'>): void {
  const c = gallery.community;
  if (gallery.permission !== 'Community' || !c || c.publicNames.length > 0) return;
  c.publicNames = [communityPublicName(gallery.id, c.publicNamePrefix ?? gallery.name)];
}

function requireCommunityInfo(community: CommunityInfo | undefined): void {
  for (const key of ['publisherUri', 'publisherContact', 'eula', 'publicNamePrefix'] as const) {
    if (!community?.[key]) {
      throw armErrors.invalidParameter(`Required parameter 'sharingProfile.communityGalleryInfo.${key}' is missing (null).`, `sharingProfile.communityGalleryInfo.${key}`);
    }
  }
}

const knownProperties = new Set(['description', 'identifier', 'provisioningState', 'sharingProfile', 'sharingStatus']);

function extraPropertiesOf(props: Record<string, unknown>, previous: Record<string, unknown>): Record<string, unknown> {
  const extra = { ...previous };
  for (const [key, value] of Object.entries(props)) if (!knownProperties.has(key)) extra[key] = value;
  return extra;
}

function answerWrite(ctx: ArmContext, gallery: GalleryRecord, created: boolean): EmulatorResponse {
  const body = renderGallery(ctx, gallery, false);
  if (!isLongRunning(ctx)) return { status: created ? 201 : 200, body };
  const op = startOperation(ctx, { location: gallery.location });
  return { status: created ? 201 : 200, body, headers: pollingHeaders(ctx, op, false) };
}

/**
 * Azure allows 100 galleries per subscription and region (option limits.galleriesPerSubscriptionRegion).
 * Azure's exact answer for exceeding it is not documented: this is Compute's quota answer (409
 * OperationNotAllowed, "... results in exceeding approved ... quota", as for cores).
 */
function requireGalleryQuota(ctx: ArmContext, location: string): void {
  const limit = ctx.options.limits.galleriesPerSubscriptionRegion;
  const region = location.replace(/\s/g, '').toLowerCase();
  const prefix = idKey(`/subscriptions/${param(ctx, 'subscriptionId')}`) + '/';
  const usage = ctx.world.resources.atOrBelow(prefix.slice(0, -1)).filter((r) => r.kind === 'gallery' && idKey(r.id).startsWith(prefix) && r.location.replace(/\s/g, '').toLowerCase() === region).length;
  if (usage + 1 > limit) {
    throw new ArmError(
      409,
      'OperationNotAllowed',
      `Operation could not be completed as it results in exceeding approved Galleries quota. Additional details - Location: ${region}, Current Limit: ${limit}, Current Usage: ${usage}, Additional Required: 1, (Minimum) New Limit Required: ${usage + 1}.`,
    );
  }
}

export function putGallery(ctx: ArmContext): EmulatorResponse {
  const name = param(ctx, 'galleryName');
  if (!galleryNamePattern.test(name)) {
    throw armErrors.invalidParameter(
      `The gallery name '${name}' is invalid: use letters, digits, '.' and '_' (not at the start or end), up to 80 characters.`,
      'galleryName',
    );
  }
  const body = requestBody(ctx);
  const location = locationOf(body);
  requireResourceGroup(ctx);
  const props = properties(body);
  const sharingProfile = isRecord(props['sharingProfile']) ? props['sharingProfile'] : {};
  const requested = permissionOf(sharingProfile['permissions']);
  const existing = findGallery(ctx);
  if (existing) {
    if (existing.location.replace(/\s/g, '').toLowerCase() !== location.replace(/\s/g, '').toLowerCase()) {
      throw new ArmError(
        409,
        'InvalidResourceLocation',
        `The resource '${name}' already exists in location '${existing.location}' in resource group '${existing.resourceGroup}'. A resource with the same name cannot be created in location '${location}'. Please select a new resource name.`,
      );
    }
    const next = requested ?? existing.permission;
    checkPermissionChange(existing, next);
    const community = communityFromBody(sharingProfile, existing.community);
    if (next === 'Community') requireCommunityInfo(community);
    existing.permission = next;
    if (community) existing.community = community;
    withPublicNames(existing);
    if (typeof props['description'] === 'string') existing.description = props['description'];
    const tags = tagsOf(body);
    if (tags) existing.tags = tags;
    existing.extraProperties = extraPropertiesOf(props, existing.extraProperties);
    existing.provisioning = provisioningFor(ctx, 'Updating');
    return answerWrite(ctx, existing, false);
  }
  const prefix = idKey(`/subscriptions/${param(ctx, 'subscriptionId')}`) + '/';
  const namesake = ctx.world.resources.atOrBelow(prefix.slice(0, -1)).find((r) => r.kind === 'gallery' && r.name.toLowerCase() === name.toLowerCase() && idKey(r.id).startsWith(prefix));
  if (namesake) {
    // Gallery names are unique within a subscription (the code is a guess; Azure's is not documented).
    throw new ArmError(409, 'Conflict', `A gallery named '${name}' already exists in resource group '${namesake.resourceGroup}' of this subscription; gallery names are unique within a subscription.`);
  }
  requireGalleryQuota(ctx, location);
  const permission = requested ?? 'Private';
  const community = communityFromBody(sharingProfile, undefined);
  if (permission === 'Community') requireCommunityInfo(community);
  const tags = tagsOf(body);
  const gallery: GalleryRecord = {
    kind: 'gallery',
    id: currentGalleryId(ctx),
    name,
    subscriptionId: param(ctx, 'subscriptionId'),
    resourceGroup: param(ctx, 'resourceGroupName'),
    location,
    permission,
    sharedSubscriptions: [],
    sharedTenants: [],
    sharingInProgressUntil: 0,
    provisioning: provisioningFor(ctx, 'Creating'),
    createdAt: ctx.now,
    extraProperties: extraPropertiesOf(props, {}),
    ...(tags ? { tags } : {}),
    ...(typeof props['description'] === 'string' ? { description: props['description'] } : {}),
    ...(community ? { community } : {}),
  };
  // The subscription id in the path may differ in case from the seeded one: keep the seeded one.
  const sub = ctx.world.subscription(gallery.subscriptionId);
  if (sub) gallery.subscriptionId = sub.id;
  gallery.id = currentGalleryId({ ...ctx, params: { ...ctx.params, subscriptionId: gallery.subscriptionId } });
  withPublicNames(gallery);
  ctx.world.putResource(gallery);
  return answerWrite(ctx, gallery, true);
}

export function patchGallery(ctx: ArmContext): EmulatorResponse {
  const gallery = requireGallery(ctx);
  const body = requestBody(ctx);
  const props = properties(body);
  const sharingProfile = isRecord(props['sharingProfile']) ? props['sharingProfile'] : {};
  const requested = permissionOf(sharingProfile['permissions']);
  const next = requested ?? gallery.permission;
  checkPermissionChange(gallery, next);
  const community = communityFromBody(sharingProfile, gallery.community);
  if (next === 'Community') requireCommunityInfo(community);
  gallery.permission = next;
  if (community) gallery.community = community;
  withPublicNames(gallery);
  if (typeof props['description'] === 'string') gallery.description = props['description'];
  const tags = tagsOf(body);
  if (tags) gallery.tags = tags;
  gallery.extraProperties = extraPropertiesOf(props, gallery.extraProperties);
  gallery.provisioning = provisioningFor(ctx, 'Updating');
  return answerWrite(ctx, gallery, false);
}

export function getGallery(ctx: ArmContext): EmulatorResponse {
  return { status: 200, body: renderGallery(ctx, requireGallery(ctx)) };
}

export function listGalleriesByResourceGroup(ctx: ArmContext): EmulatorResponse {
  const rg = requireResourceGroup(ctx);
  const galleries = ctx.world.resourcesBelow(rg.id).filter((r): r is GalleryRecord => r.kind === 'gallery');
  return pagedList(ctx, galleries.map((g) => renderGallery(ctx, g)));
}

export function listGalleriesBySubscription(ctx: ArmContext): EmulatorResponse {
  const prefix = idKey(`/subscriptions/${param(ctx, 'subscriptionId')}`);
  const galleries = ctx.world.resources.atOrBelow(prefix).filter((r): r is GalleryRecord => r.kind === 'gallery' && idKey(r.id).startsWith(prefix + '/'));
  return pagedList(ctx, galleries.map((g) => renderGallery(ctx, g)));
}

export function deleteGallery(ctx: ArmContext): EmulatorResponse {
  requireResourceGroup(ctx);
  const gallery = findGallery(ctx);
  if (!gallery) return { status: 204 };
  if (ctx.world.resourcesBelow(gallery.id).some((r) => r.kind === 'image')) throw armErrors.nestedResourcesExist();
  if (gallery.community?.enabled) {
    throw new ArmError(409, 'CannotDeleteResource', `Gallery '${gallery.name}' is shared to the community. Reset its sharing (share operationType Reset) before deleting it.`);
  }
  if (!isLongRunning(ctx)) {
    ctx.world.deleteResource(gallery.id);
    return { status: 200 };
  }
  gallery.provisioning = { state: 'Deleting', until: Number.MAX_SAFE_INTEGER };
  const op = startOperation(ctx, { location: gallery.location, effect: { kind: 'delete', resourceId: gallery.id } });
  return { status: 202, headers: pollingHeaders(ctx, op, true) };
}
