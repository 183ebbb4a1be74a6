// What an ARM handler gets: the request, path parameters, the authenticated caller, the world, the
// options and helpers for authorization, bodies and paging. One object so handlers stay small.
import { header, isRecord, parseJsonBody, type EmulatorRequest, type EmulatorResponse } from '../http.js';
import type { EmulatorOptions } from '../options.js';
import type { World } from '../world.js';
import type { JwtClaims } from '../entra/jwt.js';
import { armErrors } from './errors.js';
import { roleAllows, roleByGuid } from './roles.js';

export interface Caller {
  objectId: string;
  tenantId: string;
  appId?: string;
  claims: JwtClaims;
}

/** Verifies an access token (the main one or an auxiliary one); throws the ARM 401 when it is not valid. */
export type TokenVerifier = (token: string) => Caller;

export interface ArmContext {
  request: EmulatorRequest;
  params: Record<string, string>;
  caller: Caller;
  world: World;
  options: EmulatorOptions;
  now: number;
  verifyToken: TokenVerifier;
  /** Operations this request starts are held by the test (control.holdOperations). */
  holdOperations: boolean;
  /** An injected fault: the VM or scale set operation this PUT starts fails with this error. */
  operationError?: { code: string; message?: string };
}

/** Whether the caller's role assignments at the scope or above allow an action. */
export function callerCan(ctx: Pick<ArmContext, 'world' | 'caller' | 'now'>, action: string, scope: string): boolean {
  return principalCan(ctx.world, ctx.caller.objectId, action, scope, ctx.now);
}

/** Whether a principal's assignments that count at `now` (propagated ones) allow an action at a scope. */
export function principalCan(world: World, objectId: string, action: string, scope: string, now: number): boolean {
  return world.assignmentsFor(objectId, scope, now).some((ra) => {
    const role = roleByGuid(ra.roleDefinitionId);
    return role !== undefined && roleAllows(role, action);
  });
}

export function authorize(ctx: Pick<ArmContext, 'world' | 'caller' | 'now'>, action: string, scope: string): void {
  if (!callerCan(ctx, action, scope)) throw armErrors.authorizationFailed(ctx.caller.objectId, action, scope);
}

/** The JSON object body of a PUT/PATCH/POST; ARM answers 400 for anything else. */
export function requestBody(ctx: ArmContext): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseJsonBody(ctx.request);
  } catch (err) {
    throw armErrors.invalidJson((err as Error).message);
  }
  if (parsed === undefined) return {};
  if (!isRecord(parsed)) throw armErrors.invalidJson('the body must be a JSON object');
  return parsed;
}

export function properties(body: Record<string, unknown>): Record<string, unknown> {
  const props = body['properties'];
  return isRecord(props) ? props : {};
}

export function queryValue(ctx: ArmContext, name: string): string | undefined {
  return ctx.request.query.get(name.toLowerCase());
}

/** Splits `x-ms-authorization-auxiliary: Bearer a, Bearer b` into tokens (ARM takes at most 3). */
export function auxiliaryTokens(request: EmulatorRequest): string[] {
  const value = header(request, 'x-ms-authorization-auxiliary');
  if (!value) return [];
  return value
    .split(',')
    .map((part) => part.trim().replace(/^Bearer\s+/i, ''))
    .filter((token) => token.length > 0);
}

/** `{ value, nextLink }` with the emulator's page size; nextLink repeats the query with $skiptoken. */
export function pagedList(ctx: ArmContext, items: unknown[]): EmulatorResponse {
  const offset = Math.max(0, Number.parseInt(ctx.request.query.get('$skiptoken') ?? '0', 10) || 0);
  const size = Math.max(1, ctx.options.pageSize);
  const value = items.slice(offset, offset + size);
  const body: { value: unknown[]; nextLink?: string } = { value };
  if (offset + size < items.length) {
    const query = new URLSearchParams();
    for (const [name, v] of ctx.request.query) if (name !== '$skiptoken') query.set(name, v);
    query.set('$skiptoken', String(offset + size));
    body.nextLink = `${ctx.request.origin}${ctx.request.path}?${query.toString()}`;
  }
  return { status: 200, body };
}
