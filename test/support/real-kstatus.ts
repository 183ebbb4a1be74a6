// kstatus itself, not a model of it: the Go program in test/support/kstatus (Flux's fork of
// sigs.k8s.io/cli-utils, as Flux's health checks use it), built once from the Go module proxy and
// cached by its recipe and the hash of its source (test/support/go-tool.ts). Tests check that the
// operator's own kstatus (src/runtime/kstatus.ts, which the demo and tests use) agrees with it on
// every state they meet.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'chai';
import { kstatus, type StatusBearing } from '../../src/runtime/kstatus.js';
import { ensureGoTool } from './go-tool.js';
import { repoRoot } from './kube.js';

/** The kstatus binary, built on first use (about 10 s with the Go module cache warm). */
export function ensureKstatus(): Promise<string> {
  return ensureGoTool({ name: 'kstatus', sourceDir: join(repoRoot, 'test/support/kstatus') });
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
