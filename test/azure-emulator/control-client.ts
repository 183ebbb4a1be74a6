// The control handle for another process: the same EmulatorControl, spoken over HTTPS to
// /__emulator/... of a running emulator (the operator's tests, the benchmark, a second shell).
import { request as httpsRequest } from 'node:https';
import type { EmulatorControl, TokenRequest } from './control.js';
import type { OperationInfo } from './arm/lro.js';
import type { Fault, FaultSpec } from './faults.js';
import type { OperationHold, OperationHoldSpec } from './holds.js';
import type { EmulatorOptions, EmulatorOptionsPatch } from './options.js';
import type { RequestLogEntry } from './request-log.js';
import type { WorldSnapshot } from './world.js';

async function call<T>(endpoint: string, ca: string, method: string, path: string, body?: unknown): Promise<T> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      new URL(`/__emulator/${path}`, endpoint),
      { method, ca, headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const parsed = (text ? JSON.parse(text) : undefined) as unknown;
          if ((res.statusCode ?? 500) >= 400) {
            const message = (parsed as { error?: { message?: string } } | undefined)?.error?.message ?? text;
            reject(new Error(`emulator control ${method} ${path}: ${res.statusCode} ${message}`));
          } else resolve(parsed as T);
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** A control handle for the emulator at `endpoint` (https://host:port), trusting its CA (PEM). */
export function remoteControl(endpoint: string, caPem: string): EmulatorControl {
  const c = <T>(method: string, path: string, body?: unknown) => call<T>(endpoint, caPem, method, path, body);
  return {
    grantConsent: async (appId, tenantId, objectId) => (await c<{ objectId: string }>('POST', 'consent', { appId, tenantId, objectId })).objectId,
    revokeConsent: async (appId, tenantId) => void (await c('DELETE', 'consent', { appId, tenantId })),
    updateApplication: async ({ appId, ...changes }) => void (await c('PATCH', `applications/${encodeURIComponent(appId)}`, changes)),
    assignRole: async (scope, principalId, role) => (await c<{ id: string }>('POST', 'role-assignments', { scope, principalId, role })).id,
    addFault: (spec: FaultSpec) => c<Fault>('POST', 'faults', spec),
    removeFault: async (id) => void (await c('DELETE', `faults/${encodeURIComponent(id)}`)),
    clearFaults: async () => void (await c('DELETE', 'faults')),
    faults: async () => (await c<{ value: Fault[] }>('GET', 'faults')).value,
    holdOperations: (spec: OperationHoldSpec = {}) => c<OperationHold>('POST', 'holds', spec),
    releaseOperations: async () => void (await c('DELETE', 'holds')),
    holds: async () => (await c<{ value: OperationHold[] }>('GET', 'holds')).value,
    operations: async () => (await c<{ value: OperationInfo[] }>('GET', 'operations')).value,
    requests: async () => (await c<{ value: RequestLogEntry[] }>('GET', 'requests')).value,
    clearRequests: async () => void (await c('DELETE', 'requests')),
    counters: () => c<Record<string, number>>('GET', 'counters'),
    reset: async () => void (await c('POST', 'reset')),
    dumpState: () => c<WorldSnapshot>('GET', 'state'),
    loadState: async (snapshot) => void (await c('PUT', 'state', snapshot)),
    options: () => c<EmulatorOptions>('GET', 'options'),
    setOptions: (patch: EmulatorOptionsPatch) => c<EmulatorOptions>('PATCH', 'options', patch),
    advanceClock: async (ms) => void (await c('POST', 'clock', { advanceMs: ms })),
    issueToken: async (request: TokenRequest) => (await c<{ access_token: string }>('POST', 'token', request)).access_token,
    adminToken: async (tenantId) => (await c<{ access_token: string }>('POST', 'admin-token', { tenantId })).access_token,
  };
}
