// Argo CD's own resource-health code, not a model of it: the Go program in
// test/support/argocd-health (github.com/argoproj/argo-cd/v2 at the version its go.mod pins, with
// Argo CD's own replace directives), built once from the Go module proxy and cached by its recipe
// and the hash of its source (test/support/go-tool.ts). It reads health scripts from argocd-cm
// data through Argo CD's settings manager and computes health as the application controller does,
// so a script from argocd-cm runs without Lua's string library, as it does in a real Argo CD.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureGoTool } from './go-tool.js';
import { repoRoot } from './kube.js';

const sourceDir = join(repoRoot, 'test/support/argocd-health');

/** The Argo CD version the program is built from, as its go.mod pins it. */
export function argoCdVersion(): string {
  const match = /github\.com\/argoproj\/argo-cd\/v2 (v\S+)/.exec(readFileSync(join(sourceDir, 'go.mod'), 'utf8'));
  if (!match) throw new Error('test/support/argocd-health/go.mod pins no github.com/argoproj/argo-cd/v2');
  return match[1]!;
}

/** The program, built on first use (cold: minutes, Argo CD is large; warm: a cache hit). */
export function ensureArgoCdHealth(log?: (line: string) => void): Promise<string> {
  return ensureGoTool({ name: 'argocd-health', sourceDir }, log);
}

export interface HealthStatus {
  status: string;
  message: string;
}

function run(args: string[], stdin: string): Promise<string> {
  return ensureArgoCdHealth().then(
    (binary) =>
      new Promise((resolve, reject) => {
        const child = execFile(binary, args, { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
          if (err) reject(new Error(`argocd-health ${args.join(' ')} failed: ${stderr || err.message}`));
          else resolve(stdout);
        });
        child.stdin!.end(stdin);
      }),
  );
}

/** Each object's health in an Argo CD whose argocd-cm holds `configMapData`. */
export async function argoCdHealth(configMapData: Record<string, string>, objects: object[]): Promise<HealthStatus[]> {
  return JSON.parse(await run([], JSON.stringify({ configMapData, objects }))) as HealthStatus[];
}

export interface HealthTestCase {
  test: string;
  inputPath: string;
  /** `built-in` (standard libraries open, as Argo CD's own test runs it) or `argocd-cm` (closed). */
  path: 'built-in' | 'argocd-cm';
  expected: HealthStatus;
  actual: HealthStatus;
  error?: string;
  pass: boolean;
}

/** Every case of every health_test.yaml under a resource_customizations directory, as Argo CD runs them. */
export async function argoCdHealthTests(resourceCustomizations: string): Promise<HealthTestCase[]> {
  return JSON.parse(await run(['health-tests', resourceCustomizations], '')) as HealthTestCase[];
}

/** The kinds with a health script under resource_customizations/<group>, and the scripts. */
export function healthScripts(group: string): { kind: string; script: string }[] {
  const dir = join(repoRoot, 'resource_customizations', group);
  return readdirSync(dir)
    .sort()
    .map((kind) => ({ kind, script: readFileSync(join(dir, kind, 'health.lua'), 'utf8') }));
}
