// `gallery-share-operator check`: what the chart's `helm test` hook runs, with the operator's own
// image (no extra image for air-gapped users to mirror). It passes when
//   - each of the operator's CustomResourceDefinitions is installed, Established, serves this
//     version, knows every status field the operator writes, and API discovery lists the
//     resource and its status subresource (what the operator's informers and writes need); and
//   - the operator is ready: with leader election (the chart's default, two replicas of which one
//     stands by), the leader Lease is held and its renewTime moves while the check watches, which
//     proves a live leader whatever the clocks of the nodes say (with hash-range sharding,
//     --shard-count, each range's Lease: a range without a holder is reconciled by no one);
//     without it, GET --readyz-url
//     (the metrics Service's /readyz) answers 200.
// It prints one JSON line with what it found (stdout) and exits 0, or 1 with a message naming
// what is missing (stderr, and the same JSON line with the problems); a bad flag exits 2.
// Failed checks are tried again every 2s until --timeout (default 60s): right after an install
// the operator may still be starting.
import { KubeConfig } from '@kubernetes/client-node';
import { parseArgs } from 'node:util';
import { crdName, GROUP, VERSION, type KindDefinition } from './api/v1alpha1/index.js';
import { ConfigError, loadConfig, parseDuration } from './config.js';
import { CONTROLLERS } from './controllers/index.js';
import { outdatedCrds } from './runtime/crd-check.js';
import { rangeLeaseNames } from './runtime/hash-range.js';
import { isNotFound, KubeApiError, KubeClient } from './runtime/kube-client.js';

export const CHECK_FLAGS = {
  'readyz-url': { env: 'CHECK_READYZ_URL', description: "The operator's /readyz (such as http://<release>-metrics.<namespace>.svc:8080/readyz); checked instead of the leader Lease, as it must be when leader election is off." },
  timeout: { env: 'CHECK_TIMEOUT', description: 'How long failed checks are tried again (every 2s) before the check fails; default 60s, 0 tries once.' },
} as const;

export interface CheckIo {
  stdout(line: string): void;
  stderr(line: string): void;
  sleep(ms: number): Promise<void>;
  now(): number;
  /** GET a URL: its HTTP status, or throws when nothing answers. */
  httpStatus(url: string, timeoutMs: number): Promise<number>;
}

export const processIo: CheckIo = {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  now: () => Date.now(),
  httpStatus: async (url, timeoutMs) => (await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })).status,
};

interface ServedCrd {
  spec: { versions: { name: string; served: boolean }[] };
  status?: { conditions?: { type: string; status: string; message?: string }[] };
}

/** Pure: why a served CRD cannot be used at this version, or undefined. */
export function crdConditionProblem(name: string, crd: ServedCrd, version: string): string | undefined {
  const condition = (type: string) => crd.status?.conditions?.find((c) => c.type === type);
  if (condition('Established')?.status !== 'True') return `${name} is not Established${condition('Established')?.message ? ` (${condition('Established')!.message})` : ''}`;
  if (condition('NamesAccepted')?.status === 'False') return `${name}: its names are not accepted (${condition('NamesAccepted')?.message ?? 'a conflict'})`;
  if (!crd.spec.versions.some((v) => v.name === version && v.served)) return `${name} does not serve ${version}`;
  return undefined;
}

/** Pure: the resources (plural and plural/status) that API discovery of the group version lacks. */
export function discoveryProblems(resources: { name: string }[] | undefined, kinds: readonly KindDefinition[]): string[] {
  const listed = new Set((resources ?? []).map((r) => r.name));
  const missing = kinds.flatMap((k) => [k.plural, `${k.plural}/status`]).filter((n) => !listed.has(n));
  return missing.length ? [`API discovery of ${GROUP}/${VERSION} does not list ${missing.join(', ')}`] : [];
}

async function crdProblems(client: KubeClient, kinds: readonly KindDefinition[]): Promise<string[]> {
  const problems: string[] = [];
  for (const kind of kinds) {
    const name = crdName(kind);
    try {
      const problem = crdConditionProblem(name, await client.get<ServedCrd>(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`), VERSION);
      if (problem) problems.push(problem);
    } catch (err) {
      if (isNotFound(err)) problems.push(`${name} is not installed`);
      else throw err;
    }
  }
  if (problems.length) return problems;
  // Installed and established: do they know what this operator writes, and are they served?
  problems.push(...(await outdatedCrds(client, kinds, VERSION)).map((p) => `CRD out of date for this operator: ${p}`));
  const discovery = await client.get<{ resources?: { name: string }[] }>(`/apis/${GROUP}/${VERSION}`).catch((err: unknown) => {
    if (isNotFound(err)) return { resources: [] };
    throw err;
  });
  problems.push(...discoveryProblems(discovery.resources, kinds));
  return problems;
}

interface Lease {
  spec: { holderIdentity?: string | null; leaseDurationSeconds?: number; renewTime?: string | null };
}

/**
 * The leader Lease is held and renewed: its renewTime changes while the check watches, for up
 * to the Lease's duration (a leader renews every retry period, 2s by default). No clock is
 * compared with another: the nodes' clocks may differ.
 */
async function leaseProblem(client: KubeClient, io: CheckIo, namespace: string, name: string): Promise<{ problem?: string; holder?: string }> {
  const path = `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`;
  const read = () =>
    client.get<Lease>(path).catch((err: unknown) => {
      if (isNotFound(err)) return undefined;
      throw err;
    });
  const first = await read();
  if (!first) return { problem: `the leader Lease ${namespace}/${name} does not exist: no operator replica has become leader (is the Deployment running, with the same --leader-election-id?)` };
  const holder = first.spec.holderIdentity;
  if (!holder) return { problem: `the leader Lease ${namespace}/${name} is held by no one: no operator replica is leading` };
  const waitMs = Math.max(1, first.spec.leaseDurationSeconds ?? 15) * 1000;
  const deadline = io.now() + waitMs;
  while (io.now() < deadline) {
    await io.sleep(Math.min(500, waitMs));
    const again = await read();
    if (again?.spec.holderIdentity && (again.spec.holderIdentity !== holder || again.spec.renewTime !== first.spec.renewTime)) return { holder: again.spec.holderIdentity };
  }
  return { problem: `the leader Lease ${namespace}/${name} is held by ${holder} but was not renewed within its ${waitMs / 1000}s: the leader is gone or stuck` };
}

/**
 * The Leases whose holders must be live: the leader Lease, or with hash-range sharding every
 * range's (the operator then never creates the leader Lease itself).
 */
export function checkedLeaseNames(config: { leaderElectionId: string; shardCount: number }): string[] {
  return config.shardCount > 0 ? rangeLeaseNames(config.leaderElectionId, config.shardCount) : [config.leaderElectionId];
}

async function readyzProblem(io: CheckIo, url: string): Promise<string | undefined> {
  try {
    const status = await io.httpStatus(url, 5_000);
    return status === 200 ? undefined : `the operator is not ready: ${url} answered ${status}`;
  } catch (err) {
    return `the operator is not ready: ${url} did not answer (${(err as Error).message})`;
  }
}

/** Runs the check; returns the exit code. */
export async function runCheck(argv: readonly string[], env: NodeJS.ProcessEnv, io: CheckIo = processIo, makeKubeConfig: (path?: string) => KubeConfig = loadKubeConfig): Promise<number> {
  let readyzUrl: string | undefined;
  let timeoutMs: number;
  let operatorArgs: string[];
  let config: ReturnType<typeof loadConfig>;
  try {
    const { values, tokens } = parseArgs({ args: [...argv], options: { 'readyz-url': { type: 'string' }, timeout: { type: 'string' } }, strict: false, tokens: true, allowPositionals: true });
    // The operator's own flags (--kubeconfig, --leader-election-id, ...) go to its settings.
    const own = new Set(tokens.filter((t) => t.kind === 'option' && (t.name === 'readyz-url' || t.name === 'timeout')).flatMap((t) => (t.kind === 'option' ? [t.index, ...(t.inlineValue === false ? [t.index + 1] : [])] : [])));
    operatorArgs = argv.filter((_, i) => !own.has(i));
    readyzUrl = (typeof values['readyz-url'] === 'string' ? values['readyz-url'] : env[CHECK_FLAGS['readyz-url'].env]) || undefined;
    const timeout = (typeof values.timeout === 'string' ? values.timeout : env[CHECK_FLAGS.timeout.env]) ?? '60s';
    const parsed = parseDuration(timeout);
    if (parsed === undefined) throw new ConfigError(`--timeout (${CHECK_FLAGS.timeout.env}): "${timeout}" is not a duration (such as 60s or 5m)`);
    timeoutMs = parsed;
    if (readyzUrl && !/^https?:\/\//.test(readyzUrl)) throw new ConfigError(`--readyz-url (${CHECK_FLAGS['readyz-url'].env}): "${readyzUrl}" must be an http(s) URL`);
    config = loadConfig(operatorArgs, env);
    if (!readyzUrl && !config.leaderElect) throw new ConfigError('with leader election off there is no Lease to check: give --readyz-url (the operator\'s /readyz, through its metrics Service)');
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr(`gallery-share-operator check: ${err.message}`);
    return 2;
  }

  const client = new KubeClient(makeKubeConfig(config.kubeconfig));
  const kinds = CONTROLLERS.map((c) => c.kind);
  const deadline = io.now() + timeoutMs;
  try {
    for (;;) {
      let problems: string[];
      let operator: Record<string, string> = {};
      try {
        problems = await crdProblems(client, kinds);
        if (readyzUrl) {
          const problem = await readyzProblem(io, readyzUrl);
          if (problem) problems.push(problem);
          else operator = { readyz: readyzUrl };
        } else {
          const names = checkedLeaseNames(config);
          const verdicts = await Promise.all(names.map((name) => leaseProblem(client, io, config.leaderElectionNamespace, name)));
          for (const { problem } of verdicts) if (problem) problems.push(problem);
          if (names.length === 1) operator = { lease: `${config.leaderElectionNamespace}/${names[0]!}`, leader: verdicts[0]!.holder ?? '' };
          else operator = Object.fromEntries(names.map((name, i) => [`${config.leaderElectionNamespace}/${name}`, verdicts[i]!.holder ?? '']));
        }
      } catch (err) {
        if (!(err instanceof KubeApiError) && !(err instanceof Error && 'code' in err)) throw err;
        const hint = err instanceof KubeApiError && err.statusCode === 403 ? ' (the check needs get on the CRDs by name and on the Lease; the chart\'s test ServiceAccount has it)' : '';
        problems = [`could not ask the API server: ${err.message}${hint}`];
      }
      if (problems.length === 0) {
        io.stdout(JSON.stringify({ check: 'passed', crds: kinds.map(crdName), version: VERSION, operator }));
        return 0;
      }
      if (io.now() + 2_000 > deadline) {
        io.stdout(JSON.stringify({ check: 'failed', problems }));
        io.stderr(`gallery-share-operator check failed: ${problems.join('; ')}`);
        return 1;
      }
      await io.sleep(2_000);
    }
  } finally {
    client.close();
  }
}

function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromCluster();
  return kc;
}
