// POST .../galleries/{g}/share: Add, Remove, Reset, EnableCommunity; the 30-subscription and
// 5-tenant limits; answered 200, or 202 with Azure-AsyncOperation + Location + Retry-After, in which
// case the change becomes visible when the operation completes.
import { isRecord, type EmulatorResponse } from '../http.js';
import { communityPublicName } from '../ids.js';
import type { CommunityInfo, GalleryRecord, OperationEffect } from '../world.js';
import { requestBody, type ArmContext } from './context.js';
import { ArmError, armErrors } from './errors.js';
import { applyEffect, isLongRunning, operationEnd, pollingHeaders, startOperation } from './lro.js';
import { requireGallery } from './lookup.js';

export const maxSharedSubscriptions = 30;
export const maxSharedTenants = 5;

type OperationType = 'Add' | 'Remove' | 'Reset' | 'EnableCommunity';

interface RequestedGroups {
  subscriptions: string[];
  tenants: string[];
}

function operationTypeOf(value: unknown): OperationType {
  const match = (['Add', 'Remove', 'Reset', 'EnableCommunity'] as const).find((t) => typeof value === 'string' && t.toLowerCase() === value.toLowerCase());
  if (!match) {
    throw armErrors.invalidParameter(`The value '${String(value)}' of parameter 'operationType' is not valid. Allowed values are Add, Remove, Reset and EnableCommunity.`, 'operationType');
  }
  return match;
}

function groupsOf(value: unknown): RequestedGroups {
  const groups: RequestedGroups = { subscriptions: [], tenants: [] };
  if (value === undefined || value === null) return groups;
  if (!Array.isArray(value)) throw armErrors.invalidParameter("Parameter 'groups' must be an array.", 'groups');
  for (const group of value) {
    if (!isRecord(group) || !Array.isArray(group['ids'])) throw armErrors.invalidParameter("Each entry of 'groups' needs a 'type' and an 'ids' array.", 'groups');
    const ids = group['ids'].map(String);
    const type = typeof group['type'] === 'string' ? group['type'].toLowerCase() : '';
    if (type === 'subscriptions') groups.subscriptions.push(...ids);
    else if (type === 'aadtenants') groups.tenants.push(...ids);
    else throw armErrors.invalidParameter(`The value '${String(group['type'])}' of parameter 'groups.type' is not valid. Allowed values are Subscriptions and AADTenants.`, 'groups.type');
  }
  return groups;
}

function union(current: string[], added: string[]): string[] {
  const result = [...current];
  for (const id of added) if (!result.some((r) => r.toLowerCase() === id.toLowerCase())) result.push(id);
  return result;
}

function without(current: string[], removed: string[]): string[] {
  return current.filter((id) => !removed.some((r) => r.toLowerCase() === id.toLowerCase()));
}

function nextSharing(gallery: GalleryRecord, type: OperationType, groups: RequestedGroups): Omit<Extract<OperationEffect, { kind: 'share' }>, 'kind' | 'galleryId'> {
  switch (type) {
    case 'Add':
    case 'Remove': {
      if (gallery.permission !== 'Groups') {
        throw armErrors.invalidParameter(
          `Gallery '${gallery.name}' has sharing permission '${gallery.permission}'. '${type}' needs permission 'Groups', which can only be chosen when the gallery is created.`,
          'operationType',
        );
      }
      if (groups.subscriptions.length + groups.tenants.length === 0) throw armErrors.invalidParameter(`Operation '${type}' needs at least one group id.`, 'groups');
      const change = type === 'Add' ? union : without;
      const sharedSubscriptions = change(gallery.sharedSubscriptions, groups.subscriptions);
      const sharedTenants = change(gallery.sharedTenants, groups.tenants);
      if (sharedSubscriptions.length > maxSharedSubscriptions) {
        throw armErrors.invalidParameter(`A gallery can be shared with at most ${maxSharedSubscriptions} subscriptions; this request would share it with ${sharedSubscriptions.length}.`, 'groups');
      }
      if (sharedTenants.length > maxSharedTenants) {
        throw armErrors.invalidParameter(`A gallery can be shared with at most ${maxSharedTenants} tenants; this request would share it with ${sharedTenants.length}.`, 'groups');
      }
      return { sharedSubscriptions, sharedTenants };
    }
    case 'Reset': {
      // Reset clears the groups and turns community sharing off; the permission and the public
      // names are kept (Azure's docs say neither way): consumers no longer see the gallery.
      const community: CommunityInfo | undefined = gallery.community ? { ...gallery.community, enabled: false } : undefined;
      return { sharedSubscriptions: [], sharedTenants: [], ...(community ? { community } : {}) };
    }
    case 'EnableCommunity': {
      if (gallery.permission !== 'Community' || !gallery.community) {
        throw armErrors.invalidParameter(`Gallery '${gallery.name}' has sharing permission '${gallery.permission}'. 'EnableCommunity' needs permission 'Community' with communityGalleryInfo.`, 'operationType');
      }
      // The names were assigned when the gallery was made Community; a state loaded without them gets them now.
      const publicNames = gallery.community.publicNames.length > 0 ? gallery.community.publicNames : [communityPublicName(gallery.id, gallery.community.publicNamePrefix ?? gallery.name)];
      return { sharedSubscriptions: gallery.sharedSubscriptions, sharedTenants: gallery.sharedTenants, community: { ...gallery.community, enabled: true, publicNames } };
    }
  }
}

function sameIds(a: string[], b: string[]): boolean {
  const key = (ids: string[]) => [...new Set(ids.map((id) => id.toLowerCase()))].sort().join(',');
  return key(a) === key(b);
}

/** Whether a share changes what the gallery is shared with (groups, community sharing and its names). */
function sharingChanges(gallery: GalleryRecord, next: Extract<OperationEffect, { kind: 'share' }>): boolean {
  if (!sameIds(gallery.sharedSubscriptions, next.sharedSubscriptions) || !sameIds(gallery.sharedTenants, next.sharedTenants)) return true;
  if (!next.community) return false;
  return gallery.community?.enabled !== next.community.enabled || !sameIds(gallery.community?.publicNames ?? [], next.community.publicNames);
}

export function shareGallery(ctx: ArmContext): EmulatorResponse {
  const gallery = requireGallery(ctx);
  const body = requestBody(ctx);
  const type = operationTypeOf(body['operationType']);
  const groups = groupsOf(body['groups']);
  if (gallery.sharingInProgressUntil > ctx.now) {
    throw new ArmError(409, 'OperationNotAllowed', `Another sharing operation is in progress on gallery '${gallery.name}'. Retry after it completes.`);
  }
  const effect: OperationEffect = { kind: 'share', galleryId: gallery.id, ...nextSharing(gallery, type, groups) };
  // Known now, applied when the operation completes (no other share can run meanwhile).
  const logged = sharingChanges(gallery, effect) ? 'changed' : 'unchanged';
  const result: Record<string, unknown> = { operationType: type };
  if (Array.isArray(body['groups'])) result['groups'] = body['groups'];

  if (ctx.options.shareMode === 'sync' || !isLongRunning(ctx)) {
    applyEffect(ctx.world, effect);
    if (ctx.options.shareMode === 'sync') return { status: 200, body: result, effect: logged };
    const op = startOperation(ctx, { location: gallery.location, result, durationMs: 0 });
    return { status: 202, headers: pollingHeaders(ctx, op, true), effect: logged };
  }
  gallery.sharingInProgressUntil = operationEnd(ctx);
  const op = startOperation(ctx, { location: gallery.location, result, effect });
  return { status: 202, headers: pollingHeaders(ctx, op, true), effect: logged };
}
