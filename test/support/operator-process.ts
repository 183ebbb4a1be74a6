// Runs the operator as its own process, as in production: the bundle the image runs
// (dist/main.js, rebuilt from src/ once per test process so it is never stale), with the Node
// options the chart sets, against the test control plane and an Azure emulator. Its log lines are kept so tests can read them
// (and check that no secret is in them).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { bundleOperator } from '../../scripts/bundle.js';
import { freePort } from './control-plane.js';
import { repoRoot } from './kube.js';

export interface OperatorProcess {
  child: ChildProcess;
  metricsUrl: string;
  logs(): string;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface OperatorOptions {
  kubeconfig: string;
  armEndpoint: string;
  caPath: string;
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
  /** NODE_OPTIONS for the operator; default: the chart's `nodeOptions` (what production runs with). */
  nodeOptions?: string;
  /** The node binary; default: the one running the tests. */
  node?: string;
}

let bundled: Promise<string> | undefined;

/** The chart's default NODE_OPTIONS (values.yaml `nodeOptions`), which the image also sets. */
export function chartNodeOptions(): string {
  const values = parseYaml(readFileSync(join(repoRoot, 'charts/gallery-share-operator/values.yaml'), 'utf8')) as { nodeOptions?: string };
  return values.nodeOptions ?? '';
}

export async function startOperator(options: OperatorOptions): Promise<OperatorProcess> {
  const port = await freePort();
  bundled ??= bundleOperator();
  const args = [
    await bundled,
    '--kubeconfig', options.kubeconfig,
    '--arm-endpoint', options.armEndpoint,
    '--authority-host', options.armEndpoint,
    '--azure-ca-file', options.caPath,
    '--metrics-bind-address', `127.0.0.1:${port}`,
    '--log-level', 'debug',
    ...(options.extraArgs ?? []),
  ];
  // No AZURE_* variables leak in from the test runner: the operator's own identity is only what
  // a test gives it, and never the managed-identity endpoint.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AZURE_')));
  // Under setpriv --pdeathsig, as the control plane: a killed test run leaves no operator behind.
  const node = options.node ?? process.execPath;
  const [command, commandArgs] = existsSync('/usr/bin/setpriv') ? ['/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', node, ...args]] : [node, args];
  const nodeOptions = options.nodeOptions ?? chartNodeOptions();
  const child = spawn(command, commandArgs, { cwd: repoRoot, env: { ...env, NODE_OPTIONS: nodeOptions, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const metricsUrl = `http://127.0.0.1:${port}/metrics`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the operator exited (${child.exitCode}):\n${output}`);
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok).catch(() => false);
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`the operator was not ready within 60s:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    metricsUrl,
    logs: () => output,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Whether the operator says (leader_election_master_status) that it holds the leader lease. */
export async function isLeader(operator: OperatorProcess): Promise<boolean> {
  return /leader_election_master_status\{name="[^"]+"\} 1/.test(await fetch(operator.metricsUrl).then((r) => r.text()).catch(() => ''));
}
