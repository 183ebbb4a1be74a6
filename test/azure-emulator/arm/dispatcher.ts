// One ARM request from start to answer, in ARM's order: route, api-version, authentication (401),
// subscription and token tenant (404/401), throttling (429), RBAC (403), then the handler.
import type { EmulatorRequest, EmulatorResponse } from '../http.js';
import { header } from '../http.js';
import type { EmulatorOptions } from '../options.js';
import type { World } from '../world.js';
import type { TokenSigner } from '../entra/jwt.js';
import { authorize, type ArmContext, type Caller } from './context.js';
import { ArmError, armErrors } from './errors.js';
import { settleOperations } from './lro.js';
import { ArmRouter } from './router.js';
import { armRoutes } from './routes.js';
import { requestKind, type Throttle } from './throttling.js';

export interface ArmDependencies {
  world: World;
  options: EmulatorOptions;
  signer: TokenSigner;
  /** Token audiences ARM accepts (management.azure.com and the emulator's own endpoints). */
  audiences: string[];
  throttle: Throttle;
  now: number;
  /** Operations this request starts stay InProgress until the test releases them. */
  holdOperations: boolean;
  /** An injected fault: the VM or scale set operation this PUT starts fails with this error. */
  operationError?: { code: string; message?: string };
}

/** What the request log learns while the request is handled. */
export interface RequestAnnotations {
  operation?: string;
  principalId?: string;
  tenantId?: string;
  appId?: string;
}

const router = new ArmRouter(armRoutes);

function normalizedAudience(aud: string): string {
  return aud.replace(/\/+$/, '').toLowerCase();
}

export function tokenVerifier(deps: Pick<ArmDependencies, 'signer' | 'audiences' | 'now'>): (token: string) => Caller {
  return (token: string) => {
    const claims = deps.signer.verify(token);
    if (!claims) throw armErrors.invalidToken();
    const exp = typeof claims['exp'] === 'number' ? claims['exp'] : 0;
    if (exp * 1000 <= deps.now) throw armErrors.expiredToken(exp, deps.now);
    const aud = typeof claims['aud'] === 'string' ? claims['aud'] : '';
    if (!deps.audiences.some((a) => normalizedAudience(a) === normalizedAudience(aud))) throw armErrors.wrongAudience(aud, deps.audiences);
    const oid = claims['oid'];
    const tid = claims['tid'];
    if (typeof oid !== 'string' || typeof tid !== 'string') throw armErrors.invalidToken();
    return { objectId: oid, tenantId: tid, claims, ...(typeof claims['appid'] === 'string' ? { appId: claims['appid'] } : {}) };
  };
}

function bearerToken(request: EmulatorRequest): string {
  const authorization = header(request, 'authorization');
  if (!authorization) throw armErrors.missingAuthorization();
  const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (!match?.[1]) throw armErrors.invalidToken();
  return match[1];
}

export function handleArm(request: EmulatorRequest, deps: ArmDependencies, notes: RequestAnnotations): EmulatorResponse {
  // Once a request has counted against the budget, every answer reports what is left, errors too
  // (ARM sends the headers on 403, 404 and 409 alike; a client pacing itself reads them from any answer).
  let rateHeaders: Record<string, string> = {};
  try {
    settleOperations(deps.world, deps.now);
    const match = router.match(request.method, request.segments);
    if (!match) throw armErrors.noRoute(request.method, request.path);
    if ('methodMismatch' in match) throw armErrors.methodNotAllowed(request.method);
    notes.operation = match.route.operation;
    if (!request.query.has('api-version')) throw armErrors.missingApiVersion();

    const verifyToken = tokenVerifier(deps);
    const caller = verifyToken(bearerToken(request));
    notes.principalId = caller.objectId;
    notes.tenantId = caller.tenantId;
    if (caller.appId) notes.appId = caller.appId;

    const subscriptionId = match.params['subscriptionId'];
    if (subscriptionId) {
      const sub = deps.world.subscription(subscriptionId);
      if (!sub) throw armErrors.subscriptionNotFound(subscriptionId);
      if (sub.tenantId.toLowerCase() !== caller.tenantId.toLowerCase()) throw armErrors.wrongTenant(caller.tenantId, sub.tenantId);
    }
    rateHeaders = deps.throttle.take(deps.options.throttling, subscriptionId ? { subscriptionId } : { tenantId: caller.tenantId }, caller.objectId, requestKind(request.method), deps.now);

    const ctx: ArmContext = { request, params: match.params, caller, world: deps.world, options: deps.options, now: deps.now, verifyToken, holdOperations: deps.holdOperations, ...(deps.operationError ? { operationError: deps.operationError } : {}) };
    if (match.route.action) authorize(ctx, match.route.action, request.path);
    const response = match.route.handle(ctx);
    return { ...response, headers: { ...rateHeaders, ...(response.headers ?? {}) } };
  } catch (err) {
    if (err instanceof ArmError) {
      const response = err.toResponse();
      return { ...response, headers: { ...rateHeaders, ...(response.headers ?? {}) } };
    }
    throw err;
  }
}
