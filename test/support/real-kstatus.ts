// kstatus itself, not a model of it: the Go program in test/support/kstatus (Flux's fork of
// sigs.k8s.io/cli-utils, as Flux's health checks use it), built once from the Go module proxy and
// cached by the hash of its source and go.sum. Tests check that the operator's own kstatus
// (src/runtime/kstatus.ts, which the demo and tests use) agrees with it on every state they meet.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { kstatus, type StatusBearing } from '../../src/runtime/kstatus.js';
import { repoRoot } from './kube.js';
import { kstatusCacheDir } from './versions.js';

const execFileAsync = promisify(execFile);
const SOURCE = join(repoRoot, 'test/support/kstatus');

let built: Promise<string> | undefined;

/** The kstatus binary, built on first use (about 10 s with the Go module cache warm). */
export function ensureKstatus(): Promise<string> {
  built ??= (async () => {
    const hash = createHash('sha256');
    for (const file of ['main.go', 'go.mod', 'go.sum']) hash.update(readFileSync(join(SOURCE, file)));
    const dir = kstatusCacheDir(hash.digest('hex').slice(0, 12));
    const binary = join(dir, 'kstatus');
    if (existsSync(binary)) return binary;
    mkdirSync(dir, { recursive: true });
    const partial = `${binary}.partial-${process.pid}`;
    await execFileAsync('go', ['build', '-trimpath', '-ldflags', '-s -w', '-o', partial, '.'], {
      cwd: SOURCE,
      env: { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOFLAGS: '-mod=readonly' },
      timeout: 600_000,
    });
    renameSync(partial, binary);
    return binary;
  })();
  return built;
}

export async function realKstatus(objects: object[]): Promise<{ status: string; message: string }[]> {
  const binary = await ensureKstatus();
  return new Promise((resolve, reject) => {
    const child = execFile(binary, [], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kstatus failed: ${stderr || err.message}`));
      else resolve(JSON.parse(stdout) as { status: string; message: string }[]);
    });
    child.stdin!.end(JSON.stringify(objects));
  });
}

/** Asserts that kstatus reads the object as the operator's kstatus model does. */
export async function expectKstatusAgrees(obj: StatusBearing & object, what = ''): Promise<void> {
  const [real] = await realKstatus([obj]);
  expect(real!.status, `kstatus (fluxcd/cli-utils) of ${what || 'the object'}: ${real!.message}`).to.equal(kstatus(obj));
}
