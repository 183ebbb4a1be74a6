// The emulator's core, without sockets: the world built from the seed, options, the token signer,
// faults, throttling and the request log, and the path from a parsed request to an answer.
import { setTimeout as sleep } from 'node:timers/promises';
import { handleArm, type RequestAnnotations } from './arm/dispatcher.js';
import { ArmError } from './arm/errors.js';
import { Throttle } from './arm/throttling.js';
import { auxiliaryTokens } from './arm/context.js';
import { roleByName } from './arm/roles.js';
import { roleAssignmentsInSubscription } from './arm/authorization.js';
import { handleEntra } from './entra/routes.js';
import { TokenSigner } from './entra/jwt.js';
import { faultBody, FaultInjector, type HeldRequest } from './faults.js';
import { OperationHolds } from './holds.js';
import { describeOperations, releaseHeldOperations, type OperationInfo } from './arm/lro.js';
import type { EmulatorRequest, EmulatorResponse } from './http.js';
import { deterministicGuid, idKey, subscriptionOf } from './ids.js';
import { defaultOptions, mergeOptions, type EmulatorOptions, type EmulatorOptionsPatch } from './options.js';
import { RequestLog } from './request-log.js';
import { addServicePrincipal, buildWorld, secretRecord, SeedError, type Seed, type SeedSecret } from './seed.js';
import { roleAssignmentId, World, type WorldSnapshot } from './world.js';

/** A control call that cannot be done (unknown app or tenant); the control API answers 400. */
export class ControlError extends Error {}

/** A change to an application's registration (control.updateApplication); absent fields stay. */
export interface ApplicationUpdate {
  appId: string;
  /** Replaces every secret: a value, or `{ value, expiresAt }` (ISO time, emulator time). */
  secrets?: SeedSecret[];
  replyUrls?: string[];
  disabled?: boolean;
  homeServicePrincipal?: boolean;
}

export interface HandledRequest {
  response?: EmulatorResponse;
  /** Destroy the connection without answering (injected fault). */
  drop?: boolean;
  /** Keep the connection open without answering until `hang.signal` aborts (injected fault). */
  hang?: HeldRequest;
}

export class Emulator {
  world: World;
  options: EmulatorOptions;
  readonly signer = new TokenSigner();
  readonly throttle = new Throttle();
  readonly log = new RequestLog();
  readonly faults = new FaultInjector();
  /** Paths whose new long-running operations stay InProgress until releaseOperations. */
  readonly holds = new OperationHolds();
  /** Token audiences ARM accepts; the server adds its own endpoints once it listens. */
  audiences: string[] = ['https://management.azure.com', 'https://management.core.windows.net'];
  private clockOffsetMs = 0;

  constructor(
    private readonly seed: Seed,
    private readonly initialOptions: EmulatorOptions,
  ) {
    this.options = mergeOptions(initialOptions, undefined);
    this.world = buildWorld(seed, this.now());
  }

  /** Emulator time: wall clock plus what advanceClock added (token expiry, replication, LROs). */
  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  advanceClock(ms: number): void {
    this.clockOffsetMs += ms;
  }

  /** Back to the seed: world (operations included), options, faults, holds, log, throttling buckets and clock. */
  reset(): void {
    this.clockOffsetMs = 0;
    this.options = mergeOptions(this.initialOptions, undefined);
    this.world = buildWorld(this.seed, this.now());
    this.faults.clear();
    this.holds.clear();
    this.log.clear();
    this.throttle.reset();
  }

  /** Removes every hold and lets every held operation complete now (effects apply on the next request). */
  releaseOperations(): void {
    this.holds.clear();
    releaseHeldOperations(this.world, this.now());
  }

  /** The operations the world remembers (running, held, or finished within the last hour). */
  operations(): OperationInfo[] {
    return describeOperations(this.world, this.now());
  }

  setOptions(patch: EmulatorOptionsPatch): EmulatorOptions {
    // The nested options are merged field by field: an unknown field (the old fixed-window
    // `windowMs`, a misspelling) would be kept and do nothing, so it is refused.
    for (const group of ['throttling', 'limits'] as const) {
      for (const [key, value] of Object.entries(patch[group] ?? {})) {
        if (!(key in defaultOptions[group])) throw new ControlError(`unknown option ${group}.${key}; known: ${Object.keys(defaultOptions[group]).join(', ')}`);
        const numeric = typeof defaultOptions[group][key as keyof (typeof defaultOptions)[typeof group]] === 'number';
        if (numeric && !(typeof value === 'number' && value > 0)) throw new ControlError(`option ${group}.${key} must be a number above 0`);
      }
    }
    this.options = mergeOptions(this.options, patch);
    return this.options;
  }

  dumpState(): WorldSnapshot {
    return this.world.snapshot();
  }

  loadState(snapshot: WorldSnapshot): void {
    this.world = World.fromSnapshot(structuredClone(snapshot));
  }

  /** What the tenant's admin does with the consent URL: the app gets a service principal there. */
  grantConsent(appId: string, tenantId: string, objectId?: string): string {
    const app = this.world.application(appId);
    if (!app) throw new ControlError(`application '${appId}' is not seeded`);
    const tenant = this.world.tenant(tenantId);
    if (!tenant) throw new ControlError(`tenant '${tenantId}' is not seeded`);
    return addServicePrincipal(this.world, app.appId, tenant.id, objectId, this.replicatedFrom());
  }

  /** When ARM's directory knows a service principal created now (option principalReplicationMs). */
  private replicatedFrom(): number | undefined {
    return this.options.principalReplicationMs > 0 ? this.now() + this.options.principalReplicationMs : undefined;
  }

  /**
   * Changes an application's registration at run time (the portal's app registration blade):
   * replaces its secrets, reply URLs, disabled flag; `homeServicePrincipal` false deletes its
   * service principal in the home tenant (as revokeConsent), true creates it.
   */
  updateApplication(update: ApplicationUpdate): void {
    const app = this.world.application(update.appId);
    if (!app) throw new ControlError(`application '${update.appId}' is not seeded`);
    if (update.secrets !== undefined) {
      if (!Array.isArray(update.secrets)) throw new ControlError("'secrets' is a list of strings or { value, expiresAt }");
      try {
        app.secrets = update.secrets.map((secret, i) => secretRecord(secret, `secrets[${i}]`));
      } catch (err) {
        if (err instanceof SeedError) throw new ControlError(err.message);
        throw err;
      }
    }
    if (update.replyUrls !== undefined) {
      if (!Array.isArray(update.replyUrls) || update.replyUrls.some((u) => typeof u !== 'string')) throw new ControlError("'replyUrls' is a list of strings");
      app.replyUrls = [...update.replyUrls];
    }
    if (update.disabled !== undefined) app.disabled = Boolean(update.disabled);
    if (update.homeServicePrincipal === true) addServicePrincipal(this.world, app.appId, app.homeTenantId, undefined, this.replicatedFrom());
    if (update.homeServicePrincipal === false) this.revokeConsent(app.appId, app.homeTenantId);
  }

  /**
   * Removes the app's service principal from a tenant. Its role assignments stay, as in Azure
   * (listed with the old principalId; the portal shows them as "Identity not found"); they
   * authorize nobody, since no token carries that object id again.
   */
  revokeConsent(appId: string, tenantId: string): void {
    const sp = this.world.servicePrincipal(appId, tenantId);
    if (!sp) return;
    this.world.principals.delete(sp.objectId.toLowerCase());
    this.world.deletedPrincipals.add(sp.objectId.toLowerCase());
  }

  /** A role assignment made directly (the portal), by role name; returns the assignment id. */
  assignRole(scope: string, principalId: string, roleName: string): string {
    const role = roleByName(roleName);
    if (!role) throw new ControlError(`unknown role '${roleName}'`);
    const principal = this.world.principal(principalId);
    const subscriptionId = subscriptionOf(scope);
    // The portal is held to the same limit as ARM's API.
    if (subscriptionId && roleAssignmentsInSubscription(this.world.roleAssignments.atOrBelow(idKey(`/subscriptions/${subscriptionId}`)), subscriptionId) >= this.options.limits.roleAssignmentsPerSubscription) {
      throw new ControlError('RoleAssignmentLimitExceeded: No more role assignments can be created.');
    }
    const now = new Date(this.now()).toISOString();
    const ra = {
      name: deterministicGuid('control-role-assignment', idKey(scope), principalId.toLowerCase(), role.guid),
      scope,
      roleDefinitionId: role.guid,
      principalId,
      principalType: principal?.type ?? ('ServicePrincipal' as const),
      createdOn: now,
      updatedOn: now,
    };
    this.world.roleAssignments.set(idKey(roleAssignmentId(ra)), ra);
    return roleAssignmentId(ra);
  }

  /** A token for an app in a tenant without its credentials (tests, the seeded admin). */
  issueToken(init: { appId: string; tenantId: string; audience?: string; lifetimeSeconds?: number }): string {
    const tenant = this.world.tenant(init.tenantId);
    if (!tenant) throw new ControlError(`tenant '${init.tenantId}' is not seeded`);
    const sp = this.world.servicePrincipal(init.appId, tenant.id);
    if (!sp) throw new ControlError(`application '${init.appId}' has no service principal in tenant ${tenant.id}`);
    const iat = Math.floor(this.now() / 1000);
    return this.signer.sign({
      aud: init.audience ?? this.audiences[this.audiences.length - 1] ?? 'https://management.azure.com',
      iss: `https://sts.windows.net/${tenant.id}/`,
      iat,
      nbf: iat,
      exp: iat + (init.lifetimeSeconds ?? this.options.tokenLifetimeSeconds),
      appid: sp.appId,
      appidacr: '1',
      idtyp: 'app',
      oid: sp.objectId,
      sub: sp.objectId,
      tid: tenant.id,
      ver: '1.0',
    });
  }

  /** The seeded admin application (admin: true), which has Owner on every subscription. */
  adminAppId(): string {
    const admin = [...this.world.applications.values()].find((a) => a.admin);
    if (!admin) throw new ControlError('the seed has no application with admin: true');
    return admin.appId;
  }

  async handle(request: EmulatorRequest): Promise<HandledRequest> {
    const started = performance.now();
    const startTime = new Date().toISOString();
    const notes: RequestAnnotations = {};
    const fault = this.faults.take(request.method, request.path);
    let result: HandledRequest;
    if (fault?.latencyMs) await sleep(fault.latencyMs);
    if (fault?.drop) {
      result = { drop: true };
    } else if (fault?.hang) {
      result = { hang: this.faults.hold(fault.id) };
    } else if (fault?.status) {
      result = { response: { status: fault.status, headers: fault.headers ?? {}, body: faultBody(fault) } };
    } else {
      result = { response: this.route(request, notes, fault?.operationError) };
      if (fault?.headers) result.response!.headers = { ...result.response!.headers, ...fault.headers };
    }
    const status = result.response?.status ?? 0;
    // Injected faults may spell the header in any case.
    const retryAfterHeader = status === 429 ? Object.entries(result.response?.headers ?? {}).find(([name]) => name.toLowerCase() === 'retry-after')?.[1] : undefined;
    const retryAfter = retryAfterHeader !== undefined ? Number(retryAfterHeader) : NaN;
    this.log.add({
      startTime,
      time: new Date().toISOString(),
      method: request.method,
      path: request.path,
      query: [...request.query.entries()].map(([k, v]) => `${k}=${v}`).join('&'),
      status,
      ...(Number.isFinite(retryAfter) ? { retryAfterSeconds: retryAfter } : {}),
      auxiliary: auxiliaryTokens(request).length > 0,
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      ...notes,
      ...(fault ? { faultId: fault.id } : {}),
    });
    return result;
  }

  private route(request: EmulatorRequest, notes: RequestAnnotations, operationError?: { code: string; message?: string }): EmulatorResponse {
    const now = this.now();
    const first = request.segments[0]?.toLowerCase();
    if (first !== 'subscriptions' && first !== 'providers') {
      const entra = handleEntra(request, { world: this.world, options: this.options, signer: this.signer, now, grantConsent: (appId, tenantId) => this.grantConsent(appId, tenantId) }, notes);
      if (entra) return entra;
      return new ArmError(404, 'NotFound', `Nothing is served at '${request.path}'.`).toResponse();
    }
    return handleArm(request, { world: this.world, options: this.options, signer: this.signer, audiences: this.audiences, throttle: this.throttle, now, holdOperations: this.holds.matches(request.path), ...(operationError ? { operationError } : {}) }, notes);
  }
}
