// Starting and stopping the Azure emulator from code: start({ seed, port? }) gives the ARM endpoint,
// the authority host, the CA (path and PEM), a control handle and stop().
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateServerCertificates } from './certificates.js';
import { localControl, type EmulatorControl } from './control.js';
import { Emulator } from './emulator.js';
import { defaultOptions, mergeOptions, type EmulatorOptionsPatch } from './options.js';
import { resolveSeed, type Seed } from './seed.js';
import { createEmulatorServer } from './server.js';

export type { EmulatorControl } from './control.js';
export type { ApplicationUpdate } from './emulator.js';
export type { EmulatorOptions, EmulatorOptionsPatch } from './options.js';
export type { Seed } from './seed.js';
export type { FaultSpec, Fault } from './faults.js';
export type { OperationHold, OperationHoldSpec } from './holds.js';
export type { OperationInfo } from './arm/lro.js';
export type { RequestLogEntry } from './request-log.js';
export { generateClientCertificate } from './certificates.js';
export { remoteControl } from './control-client.js';

export interface StartOptions {
  /** A parsed seed, or the path of a YAML seed file. */
  seed: Seed | string;
  /** 0 or absent: a free port. */
  port?: number;
  /** Address to listen on (127.0.0.1 by default; 0.0.0.0 to serve other machines or containers). */
  listenHost?: string;
  /** Names in the server certificate (default localhost and 127.0.0.1). */
  hostnames?: string[];
  /** Host used in the endpoints handed back (default 127.0.0.1, or the first host name when given). */
  endpointHost?: string;
  /** Also write the CA certificate here. */
  caOut?: string;
  options?: EmulatorOptionsPatch;
}

export interface RunningEmulator {
  /** https://host:port — the ARM endpoint (resource manager). */
  armEndpoint: string;
  /** https://host:port — the Entra authority host (same server). */
  authorityHost: string;
  /** Token scope for ARM clients pointed at armEndpoint. */
  armScope: string;
  port: number;
  caPath: string;
  caPem: string;
  control: EmulatorControl;
  /** The in-process core, for tests that need to look deeper than the control handle. */
  emulator: Emulator;
  stop(): Promise<void>;
}

export async function start(init: StartOptions): Promise<RunningEmulator> {
  const seed = resolveSeed(init.seed);
  const hostnames = init.hostnames && init.hostnames.length > 0 ? init.hostnames : ['localhost', '127.0.0.1'];
  const endpointHost = init.endpointHost ?? (init.hostnames && init.hostnames.length > 0 ? hostnames[0]! : '127.0.0.1');
  const dir = mkdtempSync(join(tmpdir(), 'azure-emulator-'));
  try {
    const certs = await generateServerCertificates(dir, hostnames, init.caOut);
    const emulator = new Emulator(seed, mergeOptions(defaultOptions, init.options));
    const control = localControl(emulator);
    let endpoint = '';
    const info = () => ({
      armEndpoint: endpoint,
      authorityHost: endpoint,
      caPath: certs.caPath,
      tenants: [...emulator.world.tenants.values()].map((t) => ({
        id: t.id,
        name: t.displayName,
        subscriptions: [...emulator.world.subscriptions.values()].filter((s) => s.tenantId === t.id).map((s) => ({ id: s.id, name: s.displayName })),
      })),
      // Names and ids only: secrets never leave the emulator through the control API.
      applications: [...emulator.world.applications.values()].map((a) => ({ appId: a.appId, name: a.displayName, homeTenantId: a.homeTenantId, admin: a.admin, replyUrls: a.replyUrls ?? [], disabled: a.disabled ?? false })),
    });
    const server = createEmulatorServer({ key: certs.keyPem, cert: certs.certPem }, emulator, control, info);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(init.port ?? 0, init.listenHost ?? '127.0.0.1', () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    endpoint = `https://${endpointHost}:${port}`;
    // Tokens for the emulator's own endpoints are accepted under every name it serves.
    emulator.audiences = [...emulator.audiences, ...hostnames.map((h) => `https://${h}:${port}`), endpoint];
    return {
      armEndpoint: endpoint,
      authorityHost: endpoint,
      armScope: `${endpoint}/.default`,
      port,
      caPath: certs.caPath,
      caPem: certs.caPem,
      control,
      emulator,
      stop: async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
