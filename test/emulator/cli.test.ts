// The emulator for people: `npm run emulator -- --seed FILE --ca-out PATH` prints its endpoints and
// seeded world, serves a session the SDKs can use with the written CA, and stops on SIGTERM; and
// the certificate carries the configured host names (for clients reached through a hosts entry).
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { ClientSecretCredential } from '@azure/identity';
import { ComputeManagementClient } from '@azure/arm-compute';
import { start } from '../azure-emulator/index.js';
import { ids, rejection, sampleSeed, samplePath, secrets } from './helpers.js';

const cliPath = fileURLToPath(new URL('../azure-emulator/cli.ts', import.meta.url));

/** Resolves with everything printed once `marker` has appeared on stdout. */
function waitForOutput(child: ChildProcess, marker: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no '${marker}' within ${timeoutMs} ms; output so far:\n${out}`)), timeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (out.includes(marker)) {
        clearTimeout(timer);
        resolve(out);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the emulator exited (${code}) before printing '${marker}':\n${out}`));
    });
  });
}

/** TLS handshake against 127.0.0.1 asking for `servername`: resolves when the certificate is valid for it. */
function handshake(port: number, servername: string, ca: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername, ca }, () => {
      socket.end();
      resolve();
    });
    socket.once('error', reject);
  });
}

describe('emulator: command line and host names', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'emulator-cli-test-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the endpoints, CA and seeded world, serves the SDKs with the written CA, and stops on SIGTERM', async () => {
    const caOut = join(dir, 'ca.crt');
    const child = spawn(process.execPath, ['--import', 'tsx', cliPath, '--seed', samplePath, '--ca-out', caOut], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const out = await waitForOutput(child, 'Ctrl-C to stop.', 20_000);
      const endpoint = /ARM endpoint:\s+(\S+)/.exec(out)?.[1] ?? '';
      expect(endpoint).to.match(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(out).to.contain(`CA certificate:  ${caOut}`);
      expect(out).to.contain(`${ids.contoso}  Contoso`);
      expect(out).to.contain(`subscription ${ids.gallerySubscription}`);
      expect(out).to.contain(`${ids.galleryApp}  gallery-app`);
      expect(out).to.not.contain(secrets[ids.galleryOwner]);
      const ca = readFileSync(caOut, 'utf8');
      const credential = new ClientSecretCredential(ids.contoso, ids.galleryOwner, secrets[ids.galleryOwner]!, {
        authorityHost: endpoint,
        disableInstanceDiscovery: true,
        tlsOptions: { ca },
      });
      const client = new ComputeManagementClient(credential, ids.gallerySubscription, { endpoint, credentials: { scopes: [`${endpoint}/.default`] }, tlsOptions: { ca } });
      expect((await client.galleries.get(ids.galleryRG, ids.gallery)).identifier?.uniqueName).to.equal(`${ids.gallerySubscription}-MYGALLERY`);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).to.equal(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('puts the configured host names in the server certificate, and no others', async () => {
    const e = await start({ seed: sampleSeed(), hostnames: ['management.azure.com', 'login.microsoftonline.com'] });
    try {
      expect(e.armEndpoint).to.equal(`https://management.azure.com:${e.port}`);
      await handshake(e.port, 'management.azure.com', e.caPem);
      await handshake(e.port, 'login.microsoftonline.com', e.caPem);
      const failure = await rejection(handshake(e.port, 'localhost', e.caPem));
      expect(failure.code).to.equal('ERR_TLS_CERT_ALTNAME_INVALID');
    } finally {
      await e.stop();
    }
  });
});
