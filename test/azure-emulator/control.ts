// The control handle: what a test (in process) or another process (over HTTPS, /__emulator/...)
// can do to the emulator besides speaking Azure: consent, faults, log, counters, state, options.
import type { ApplicationUpdate, Emulator } from './emulator.js';
import type { OperationInfo } from './arm/lro.js';
import type { Fault, FaultSpec } from './faults.js';
import type { OperationHold, OperationHoldSpec } from './holds.js';
import type { EmulatorOptions, EmulatorOptionsPatch } from './options.js';
import type { RequestLogEntry } from './request-log.js';
import type { WorldSnapshot } from './world.js';

export interface TokenRequest {
  appId: string;
  tenantId: string;
  /** Audience of the token; the emulator's ARM endpoint when absent. */
  audience?: string;
  lifetimeSeconds?: number;
}

export interface EmulatorControl {
  /** The target tenant's admin consents: the app gets a service principal there; returns its object id. */
  grantConsent(appId: string, tenantId: string, objectId?: string): Promise<string>;
  revokeConsent(appId: string, tenantId: string): Promise<void>;
  /** Changes an application's registration: rotate or expire secrets, disable it, reply URLs, home service principal. */
  updateApplication(update: ApplicationUpdate): Promise<void>;
  /** A role assignment made in the portal (no ARM call is logged). Returns the assignment id. */
  assignRole(scope: string, principalId: string, roleName: string): Promise<string>;
  addFault(spec: FaultSpec): Promise<Fault>;
  removeFault(id: string): Promise<void>;
  clearFaults(): Promise<void>;
  faults(): Promise<Fault[]>;
  /**
   * From now on, long-running operations started by a request whose normalized path matches
   * `spec.path` (case-insensitive regex; every request when absent) stay InProgress until
   * releaseOperations, even when lroDurationMs is 0. Holds add up; reset removes them.
   */
  holdOperations(spec?: OperationHoldSpec): Promise<OperationHold>;
  /** Removes every hold and lets every held operation complete now (effects apply on the next request). */
  releaseOperations(): Promise<void>;
  holds(): Promise<OperationHold[]>;
  /** Long-running operations: running, held, or finished within the last hour (emulator time). */
  operations(): Promise<OperationInfo[]>;
  requests(): Promise<RequestLogEntry[]>;
  clearRequests(): Promise<void>;
  /** Requests by operation name since the last reset or clearRequests. */
  counters(): Promise<Record<string, number>>;
  /** World back to the seed (operations, held ones included, are gone); options, faults, holds, log and clock back to the start. */
  reset(): Promise<void>;
  dumpState(): Promise<WorldSnapshot>;
  loadState(snapshot: WorldSnapshot): Promise<void>;
  options(): Promise<EmulatorOptions>;
  setOptions(patch: EmulatorOptionsPatch): Promise<EmulatorOptions>;
  /** Moves the emulator's clock forward (token expiry, replication, long-running operations). */
  advanceClock(ms: number): Promise<void>;
  /** A token without the app's credentials (tests; the seeded admin for changes behind the operator's back). */
  issueToken(request: TokenRequest): Promise<string>;
  /** A token of the seeded admin application (admin: true in the seed) in a tenant. */
  adminToken(tenantId: string): Promise<string>;
}

/** Runs a synchronous call as a promise, so a thrown ControlError becomes a rejection. */
function later<T>(call: () => T): Promise<T> {
  return Promise.resolve().then(call);
}

/** The control handle of an emulator in this process. */
export function localControl(emulator: Emulator): EmulatorControl {
  return {
    grantConsent: (appId, tenantId, objectId) => later(() => emulator.grantConsent(appId, tenantId, objectId)),
    revokeConsent: (appId, tenantId) => later(() => emulator.revokeConsent(appId, tenantId)),
    updateApplication: (update) => later(() => emulator.updateApplication(update)),
    assignRole: (scope, principalId, roleName) => later(() => emulator.assignRole(scope, principalId, roleName)),
    addFault: (spec) => later(() => emulator.faults.add(spec)),
    removeFault: (id) => later(() => void emulator.faults.remove(id)),
    clearFaults: () => later(() => emulator.faults.clear()),
    faults: () => later(() => emulator.faults.list()),
    holdOperations: (spec = {}) => later(() => emulator.holds.add(spec)),
    releaseOperations: () => later(() => emulator.releaseOperations()),
    holds: () => later(() => emulator.holds.list()),
    operations: () => later(() => emulator.operations()),
    requests: () => later(() => emulator.log.list()),
    clearRequests: () => later(() => emulator.log.clear()),
    counters: () => later(() => emulator.log.counts()),
    reset: () => later(() => emulator.reset()),
    dumpState: () => later(() => emulator.dumpState()),
    loadState: (snapshot) => later(() => emulator.loadState(snapshot)),
    options: () => later(() => structuredClone(emulator.options)),
    setOptions: (patch) => later(() => structuredClone(emulator.setOptions(patch))),
    advanceClock: (ms) => later(() => emulator.advanceClock(ms)),
    issueToken: (request) => later(() => emulator.issueToken(request)),
    adminToken: (tenantId) => later(() => emulator.issueToken({ appId: emulator.adminAppId(), tenantId })),
  };
}
