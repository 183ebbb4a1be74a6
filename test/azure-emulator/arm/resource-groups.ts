// Subscriptions (get, list: what the caller can reach) and resource groups (PUT, GET, DELETE, list).
import type { EmulatorResponse } from '../http.js';
import { idKey, isAtOrAbove, resourceGroupId } from '../ids.js';
import type { ResourceGroupRecord, SubscriptionRecord } from '../world.js';
import { pagedList, requestBody, type ArmContext } from './context.js';
import { armErrors } from './errors.js';
import { isLongRunning, pollingHeaders, provisioningState, startOperation } from './lro.js';
import { findResourceGroup, locationOf, param, requireResourceGroup, tagsOf } from './lookup.js';

function renderSubscription(sub: SubscriptionRecord): Record<string, unknown> {
  return {
    id: `/subscriptions/${sub.id}`,
    subscriptionId: sub.id,
    tenantId: sub.tenantId,
    displayName: sub.displayName,
    state: 'Enabled',
    subscriptionPolicies: { locationPlacementId: 'Public_2014-09-01', quotaId: 'PayAsYouGo_2014-09-01', spendingLimit: 'Off' },
    authorizationSource: 'RoleBased',
  };
}

/** A subscription is visible to whoever has a role assignment in it (at any depth). */
function callerReaches(ctx: ArmContext, sub: SubscriptionRecord): boolean {
  return ctx.world.assignmentsOf(ctx.caller.objectId).some((ra) => (isAtOrAbove(`/subscriptions/${sub.id}`, ra.scope) || ra.scope === '/'));
}

export function listSubscriptions(ctx: ArmContext): EmulatorResponse {
  const subs = [...ctx.world.subscriptions.values()].filter((s) => s.tenantId.toLowerCase() === ctx.caller.tenantId.toLowerCase() && callerReaches(ctx, s));
  return pagedList(ctx, subs.map(renderSubscription));
}

export function getSubscription(ctx: ArmContext): EmulatorResponse {
  const sub = ctx.world.subscription(param(ctx, 'subscriptionId'));
  if (!sub) throw armErrors.subscriptionNotFound(param(ctx, 'subscriptionId'));
  if (!callerReaches(ctx, sub)) throw armErrors.authorizationFailed(ctx.caller.objectId, 'Microsoft.Resources/subscriptions/read', `/subscriptions/${sub.id}`);
  return { status: 200, body: renderSubscription(sub) };
}

function renderResourceGroup(ctx: ArmContext, rg: ResourceGroupRecord): Record<string, unknown> {
  return {
    id: rg.id,
    name: rg.name,
    type: 'Microsoft.Resources/resourceGroups',
    location: rg.location,
    ...(rg.tags ? { tags: rg.tags } : {}),
    properties: { provisioningState: provisioningState(rg, ctx.now) },
  };
}

export function putResourceGroup(ctx: ArmContext): EmulatorResponse {
  const body = requestBody(ctx);
  const existing = findResourceGroup(ctx);
  const tags = tagsOf(body);
  if (existing) {
    if (tags) existing.tags = tags;
    return { status: 200, body: renderResourceGroup(ctx, existing) };
  }
  const location = locationOf(body);
  const subscriptionId = ctx.world.subscription(param(ctx, 'subscriptionId'))?.id ?? param(ctx, 'subscriptionId');
  const name = param(ctx, 'resourceGroupName');
  const rg: ResourceGroupRecord = {
    kind: 'resourceGroup',
    id: resourceGroupId(subscriptionId, name),
    name,
    subscriptionId,
    resourceGroup: name,
    location,
    provisioning: { state: 'Succeeded', until: 0 },
    createdAt: ctx.now,
    ...(tags ? { tags } : {}),
  };
  ctx.world.putResource(rg);
  return { status: 201, body: renderResourceGroup(ctx, rg) };
}

export function getResourceGroup(ctx: ArmContext): EmulatorResponse {
  return { status: 200, body: renderResourceGroup(ctx, requireResourceGroup(ctx)) };
}

/** HEAD: 204 when the group exists, 404 without a body otherwise. */
export function checkResourceGroup(ctx: ArmContext): EmulatorResponse {
  return { status: findResourceGroup(ctx) ? 204 : 404 };
}

export function listResourceGroups(ctx: ArmContext): EmulatorResponse {
  const prefix = idKey(`/subscriptions/${param(ctx, 'subscriptionId')}`) + '/';
  const groups = [...ctx.world.resources.values()].filter((r): r is ResourceGroupRecord => r.kind === 'resourceGroup' && idKey(r.id).startsWith(prefix));
  return pagedList(ctx, groups.map((rg) => renderResourceGroup(ctx, rg)));
}

/** Deleting a resource group deletes everything in it (ARM answers 202 and polls through Location). */
export function deleteResourceGroup(ctx: ArmContext): EmulatorResponse {
  const rg = findResourceGroup(ctx);
  if (!rg) throw armErrors.resourceGroupNotFound(param(ctx, 'resourceGroupName'));
  if (!isLongRunning(ctx)) {
    for (const child of ctx.world.resourcesBelow(rg.id)) ctx.world.deleteResource(child.id);
    ctx.world.deleteResource(rg.id);
    return { status: 200 };
  }
  rg.provisioning = { state: 'Deleting', until: Number.MAX_SAFE_INTEGER };
  const op = startOperation(ctx, { location: rg.location, effect: { kind: 'delete', resourceId: rg.id } });
  const headers = pollingHeaders(ctx, op, true);
  delete headers['azure-asyncoperation'];
  return { status: 202, headers };
}
