// Long-running operations as Compute does them: an operation record with a completion time,
// Azure-AsyncOperation (status) and Location (monitor) URLs, Retry-After, and lazy completion:
// nothing runs in the background, every request first settles what is due.
import { newGuid } from '../ids.js';
import type { EmulatorResponse } from '../http.js';
import type { OperationEffect, OperationRecord, Provisioning, ResourceRecord, World } from '../world.js';
import type { ArmContext } from './context.js';
import { ArmError } from './errors.js';
import { releaseOwned } from './network.js';

const operationsApiVersion = '2025-12-03';

/**
 * The completion time of a held operation (and of what it governs: a provisioning state, a
 * running share): never reached by the clock; releaseOperations replaces it with "now".
 */
export const heldUntil = Number.MAX_SAFE_INTEGER;

/** Whether operations started by this request take time: a configured duration, or held by the test. */
export function isLongRunning(ctx: Pick<ArmContext, 'options' | 'holdOperations'>): boolean {
  return ctx.holdOperations || ctx.options.lroDurationMs > 0;
}

/** When an operation started by this request completes (heldUntil while held). */
export function operationEnd(ctx: Pick<ArmContext, 'options' | 'holdOperations' | 'now'>): number {
  return ctx.holdOperations ? heldUntil : ctx.now + ctx.options.lroDurationMs;
}

export function startOperation(
  ctx: ArmContext,
  init: { location: string; durationMs?: number; error?: { code: string; message: string }; result?: unknown; effect?: OperationRecord['effect'] },
): OperationRecord {
  const subscriptionId = ctx.params['subscriptionId'] ?? '';
  const held = init.durationMs === undefined && ctx.holdOperations;
  const op: OperationRecord = {
    id: newGuid(),
    subscriptionId,
    location: init.location.replace(/\s+/g, '').toLowerCase(),
    startTime: new Date(ctx.now).toISOString(),
    completesAt: init.durationMs === undefined ? operationEnd(ctx) : ctx.now + init.durationMs,
    ...(init.error ? { error: init.error } : {}),
    ...(init.result !== undefined ? { result: init.result } : {}),
    ...(init.effect ? { effect: init.effect } : {}),
    ...(held ? { held: true } : {}),
    startedBy: { method: ctx.request.method, path: ctx.request.path, origin: ctx.request.origin },
  };
  ctx.world.operations.set(op.id.toLowerCase(), op);
  return op;
}

function operationUrl(origin: string, op: OperationRecord, monitor: boolean): string {
  const base = `${origin}/subscriptions/${op.subscriptionId}/providers/Microsoft.Compute/locations/${op.location}/operations/${op.id}`;
  return `${base}?${monitor ? 'monitor=true&' : ''}api-version=${operationsApiVersion}`;
}

/** Headers that tell a client to poll: Azure-AsyncOperation, optionally Location, and Retry-After. */
export function pollingHeaders(ctx: ArmContext, op: OperationRecord, withLocation: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    'azure-asyncoperation': operationUrl(ctx.request.origin, op, false),
    'retry-after': String(ctx.options.retryAfterSeconds),
  };
  if (withLocation) headers['location'] = operationUrl(ctx.request.origin, op, true);
  return headers;
}

export function provisioningFor(ctx: ArmContext, state: Provisioning['state']): Provisioning {
  return isLongRunning(ctx) ? { state, until: operationEnd(ctx) } : { state: 'Succeeded', until: 0 };
}

export function provisioningState(record: Pick<ResourceRecord, 'provisioning'>, now: number): string {
  const p = record.provisioning;
  if (p.state === 'Failed') return 'Failed';
  return now >= p.until ? 'Succeeded' : p.state;
}

/** Applies the effects of operations that are due (the removal after a DELETE). */
export function settleOperations(world: World, now: number): void {
  for (const [key, op] of world.operations) {
    if (op.held) continue;
    if (op.effect && op.completesAt <= now) {
      applyEffect(world, op.effect);
      delete op.effect;
    }
    // Finished operations are kept an hour for late pollers, then forgotten (memory stays bounded).
    if (!op.effect && op.completesAt < now - operationRetentionMs) world.operations.delete(key);
  }
}

const operationRetentionMs = 3_600_000;

export function applyEffect(world: World, effect: OperationEffect): void {
  if (effect.kind === 'delete') {
    const target = world.resource(effect.resourceId);
    if (target?.kind === 'virtualMachine' || target?.kind === 'virtualMachineScaleSet') releaseOwned(world, target);
    for (const child of world.resourcesBelow(effect.resourceId)) world.deleteResource(child.id);
    world.deleteResource(effect.resourceId);
    return;
  }
  const gallery = world.resource(effect.galleryId);
  if (gallery?.kind !== 'gallery') return;
  gallery.sharedSubscriptions = effect.sharedSubscriptions;
  gallery.sharedTenants = effect.sharedTenants;
  if (effect.community) gallery.community = effect.community;
}

/**
 * Lets every held operation complete now, with what it governs: a transient provisioning state
 * (Creating, Updating) ends, a running share stops blocking the next one. Effects (a removal, a
 * sharing change) are applied lazily, on the next request, as for any completed operation.
 */
export function releaseHeldOperations(world: World, now: number): void {
  for (const op of world.operations.values()) {
    if (!op.held) continue;
    op.completesAt = now;
    delete op.held;
  }
  for (const r of world.resources.values()) {
    // A resource being deleted stays Deleting until its operation's effect removes it.
    if (r.provisioning.until === heldUntil && r.provisioning.state !== 'Deleting') r.provisioning.until = now;
    if (r.kind === 'gallery' && r.sharingInProgressUntil === heldUntil) r.sharingInProgressUntil = now;
  }
}

export type OperationStatus = 'InProgress' | 'Succeeded' | 'Failed';

function statusOf(op: OperationRecord, now: number): OperationStatus {
  if (op.held || now < op.completesAt) return 'InProgress';
  return op.error ? 'Failed' : 'Succeeded';
}

/** An operation as the control API lists it. */
export interface OperationInfo {
  id: string;
  status: OperationStatus;
  /** Held by the test: InProgress until releaseOperations. */
  held: boolean;
  startTime: string;
  endTime?: string;
  /** The request that started it (normalized path). */
  method?: string;
  path?: string;
  /** The Azure-AsyncOperation (status) and Location (monitor) URLs handed to the client. */
  asyncOperationUrl?: string;
  locationUrl?: string;
}

export function describeOperations(world: World, now: number): OperationInfo[] {
  return [...world.operations.values()].map((op) => {
    const status = statusOf(op, now);
    const started = op.startedBy;
    return {
      id: op.id,
      status,
      held: op.held === true,
      startTime: op.startTime,
      ...(status !== 'InProgress' ? { endTime: new Date(op.completesAt).toISOString() } : {}),
      ...(started
        ? { method: started.method, path: started.path, asyncOperationUrl: operationUrl(started.origin, op, false), locationUrl: operationUrl(started.origin, op, true) }
        : {}),
    };
  });
}

/** GET .../locations/{location}/operations/{id}: the status, or with monitor=true the final result. */
export function getOperation(ctx: ArmContext): EmulatorResponse {
  const op = ctx.world.operations.get((ctx.params['operationId'] ?? '').toLowerCase());
  if (!op || op.subscriptionId.toLowerCase() !== (ctx.params['subscriptionId'] ?? '').toLowerCase()) {
    throw new ArmError(404, 'NotFound', `The operation '${ctx.params['operationId']}' was not found.`);
  }
  const status = statusOf(op, ctx.now);
  if (ctx.request.query.get('monitor') === 'true') {
    if (status === 'InProgress') return { status: 202, headers: { location: `${ctx.request.origin}${ctx.request.path}?monitor=true&api-version=${operationsApiVersion}`, 'retry-after': String(ctx.options.retryAfterSeconds) } };
    if (op.error) return new ArmError(400, op.error.code, op.error.message).toResponse();
    return op.result === undefined ? { status: 204 } : { status: 200, body: op.result };
  }
  const body: Record<string, unknown> = { name: op.id, startTime: op.startTime, status };
  if (status !== 'InProgress') body['endTime'] = new Date(op.completesAt).toISOString();
  if (status === 'Failed') body['error'] = op.error;
  return { status: 200, body, headers: status === 'InProgress' ? { 'retry-after': String(ctx.options.retryAfterSeconds) } : {} };
}
