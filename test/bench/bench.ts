// `npm run bench` (tsx test/bench/bench.ts): a benchmark that prints figures, not a test. N
// GalleryShares (2 subscriptions, 1 tenant, 2 role assignments each, one gallery each) against the
// Azure emulator with 40 ms latency per ARM call and 1 s share operations, with the operator as its
// own process on a real control plane; then one quiet resync; then the same work done by a
// sequential SDK script, the way people script az today. Issue 4, "Main job and benchmark".
//
// `--kind sharedimagevm` runs the SharedImageVM bench instead (sharedimagevm.ts, issue 10);
// `--kind import` a bulk import against ARM's request budgets (import.ts, issue 12).
//
// Usage: tsx test/bench/bench.ts [--kind galleryshare|sharedimagevm|import] [--objects N | --n N] [--workers W] [--sequential K]
//                                [--latency-ms MS] [--lro-ms MS] [--json PATH] [--pacing on|off|both]
//                                [--requests-log PATH] [--operator-node-options STR]
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { GROUP, VERSION, type GalleryShare } from '../../src/api/v1alpha1/index.js';
import { galleryId, roleDefinitionId } from '../../src/azure/arm-ids.js';
import { roleGuid } from '../../src/azure/roles.js';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { start as startEmulator, type RequestLogEntry, type RunningEmulator } from '../azure-emulator/index.js';
import { idKey } from '../azure-emulator/ids.js';
import type { GalleryRecord } from '../azure-emulator/world.js';
import { authorization, compute, ids, raw, sampleSeed, secretCredential, secrets } from '../emulator/helpers.js';
import { startControlPlane, type ControlPlane } from '../support/control-plane.js';
import { createTestNamespace, installCrds, kubeClients } from '../support/kube.js';
import { chartNodeOptions, startOperator } from '../support/operator-process.js';
import { CpuAccount, MemorySampler, metricValue, mib, now, percentile, pool, processName, ReadyTracker, seconds, sleep, sumByLabel, table, Teardown } from './measure.js';

// ----- Settings -------------------------------------------------------------------------------

const { values: flags } = parseArgs({
  options: {
    kind: { type: 'string' },
    objects: { type: 'string' },
    n: { type: 'string' },
    workers: { type: 'string' },
    sequential: { type: 'string' },
    'latency-ms': { type: 'string' },
    'lro-ms': { type: 'string' },
    json: { type: 'string' },
    'requests-log': { type: 'string' },
    'operator-node-options': { type: 'string' },
    pacing: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (flags.help) {
  console.log(
    'usage: tsx test/bench/bench.ts [--kind galleryshare|sharedimagevm|import] [--objects N | --n N] [--workers W] [--sequential K] [--latency-ms MS] [--lro-ms MS] [--json PATH] [--requests-log PATH] [--operator-node-options STR] [--pacing on|off|both]\n' +
      '  --kind           galleryshare (default) or sharedimagevm: N VMs from one shared image (/SharedGalleries/.../Versions/latest);\n' +
      '                   or import: N GalleryShares (default 1000) over subscriptions of 100 galleries against ARM\'s token buckets at Azure\'s sizes\n' +
      '  --pacing         import only: the operator\'s client-side pacing on, off, or both (default: both, on first)\n' +
      '  --objects, --n   GalleryShares or SharedImageVMs (default 200)\n' +
      '  --workers        operator --workers (default 32)\n' +
      '  --sequential     objects the sequential script does (default N up to 200, else 100; sharedimagevm: 20; extrapolated to N)\n' +
      '  --latency-ms     latency the emulator adds to every ARM call (default 40)\n' +
      '  --lro-ms         duration of a share operation (default 1000; a VM create with --kind sharedimagevm, default 3000)\n' +
      '  --json PATH      also write the report as JSON\n' +
      '  --requests-log PATH  write the emulator\'s request log of the create phase (JSON lines), to look into the counts\n' +
      '  --operator-node-options STR  NODE_OPTIONS for the operator processes, with "=" (default: the chart\'s nodeOptions; "" for V8\'s defaults; node refuses --cpu-prof there)',
  );
  process.exit(0);
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`bench: --${name} must be a whole number of at least 1, not "${value}"`);
    process.exit(2);
  }
  return n;
}

const KIND = flags.kind ?? 'galleryshare';
if (KIND !== 'galleryshare' && KIND !== 'sharedimagevm' && KIND !== 'import') {
  console.error(`bench: --kind must be galleryshare, sharedimagevm or import, not "${KIND}"`);
  process.exit(2);
}
if (KIND === 'import') {
  const pacing = flags.pacing ?? 'both';
  if (pacing !== 'on' && pacing !== 'off' && pacing !== 'both') {
    console.error(`bench: --pacing must be on, off or both, not "${pacing}"`);
    process.exit(2);
  }
  const { runImportBench } = await import('./import.js');
  process.exit(
    await runImportBench({
      objects: positiveInt('objects', flags.objects ?? flags.n, 1000),
      workers: positiveInt('workers', flags.workers, 32),
      latencyMs: positiveInt('latency-ms', flags['latency-ms'], 40),
      lroMs: positiveInt('lro-ms', flags['lro-ms'], 1000),
      pacing,
      operatorNodeOptions: flags['operator-node-options'] ?? chartNodeOptions(),
      ...(flags.json ? { json: flags.json } : {}),
    }),
  );
}
if (KIND === 'sharedimagevm') {
  // A sequential VM create takes the whole create (3 s and polling): 20 timed, extrapolated to N.
  const { runSharedImageVMBench } = await import('./sharedimagevm.js');
  process.exit(
    await runSharedImageVMBench({
      objects: positiveInt('objects', flags.objects ?? flags.n, 200),
      workers: positiveInt('workers', flags.workers, 32),
      sequential: positiveInt('sequential', flags.sequential, 20),
      latencyMs: positiveInt('latency-ms', flags['latency-ms'], 40),
      lroMs: positiveInt('lro-ms', flags['lro-ms'], 3000),
      ...(flags.json ? { json: flags.json } : {}),
      ...(flags['requests-log'] ? { requestsLog: flags['requests-log'] } : {}),
      operatorNodeOptions: flags['operator-node-options'] ?? chartNodeOptions(),
      operatorNodeOptionsDefault: flags['operator-node-options'] === undefined,
    }),
  );
}

const N = positiveInt('objects', flags.objects ?? flags.n, 200);
const WORKERS = positiveInt('workers', flags.workers, 32);
// A sequential run costs about 1.2 s per object; past 200 objects (4 minutes) a sample is timed
// and extrapolated linearly, which is exact for a loop that does the same thing each time.
const SEQUENTIAL = Math.min(N, positiveInt('sequential', flags.sequential, N <= 200 ? N : 100));
const LATENCY_MS = positiveInt('latency-ms', flags['latency-ms'], 40);
const LRO_MS = positiveInt('lro-ms', flags['lro-ms'], 1000);
// Long enough that the restart pass (every object once, when the operator starts) is over before
// the first periodic resync is due: 20 s up to 500 objects, then 1 s per 25 objects.
const RESYNC_SECONDS = Math.max(20, Math.ceil(N / 25));
const CREATE_CONCURRENCY = 20;
const OPERATOR_FLAGS = ['--workers', String(WORKERS), '--leader-elect', 'false', '--log-level', 'info'];
// The operator runs with the chart's NODE_OPTIONS (its V8 heap limits), as in production, unless
// told otherwise ("" for V8's own defaults).
const OPERATOR_NODE_OPTIONS = flags['operator-node-options'] ?? chartNodeOptions();

const RG = ids.galleryRG;
const SUBSCRIPTION = ids.gallerySubscription;
const API_VERSION = 'api-version=2025-12-03';
const READER = roleGuid('Reader');

const benchStarted = now();
const say = (line: string) => console.error(`bench [${((now() - benchStarted) / 1000).toFixed(0).padStart(4)} s] ${line}`);

// ----- Clean-up, also on error and Ctrl-C -----------------------------------------------------

const teardown = new Teardown(say);

// ----- The objects ----------------------------------------------------------------------------

interface Work {
  gallery: string;
  subscriptions: [string, string];
  tenant: string;
  principals: [string, string];
}

/** Random ids: the emulator shares with any subscription or tenant id and assigns roles to any principal given a principalType. */
const newWork = (gallery: string): Work => ({
  gallery,
  subscriptions: [randomUUID(), randomUUID()],
  tenant: randomUUID(),
  principals: [randomUUID(), randomUUID()],
});

const galleryPath = (name: string) => galleryId({ subscriptionId: SUBSCRIPTION, resourceGroup: RG, name });
const shareName = (i: number) => `share-${String(i).padStart(4, '0')}`;

function galleryShare(name: string, work: Work): GalleryShare {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'GalleryShare',
    metadata: { name },
    spec: {
      gallery: { subscriptionId: SUBSCRIPTION, resourceGroup: RG, name: work.gallery },
      azureCredentialsRef: { name: 'gallery-owner' },
      permission: 'Groups',
      directShare: { subscriptions: [...work.subscriptions], tenants: [work.tenant] },
      roleAssignments: work.principals.map((principalId) => ({ principalId, principalType: 'User' as const, role: 'Reader' })),
    },
  };
}

/** Galleries with permission Groups, made by the portal admin before any timing starts. */
async function createGalleries(azure: RunningEmulator, names: string[]): Promise<void> {
  const token = await azure.control.adminToken(ids.contoso);
  await pool(names, 50, async (name) => {
    const res = await raw(azure, 'PUT', `${galleryPath(name)}?${API_VERSION}`, { token, body: { location: 'westus', properties: { sharingProfile: { permissions: 'Groups' } } } });
    if (res.status !== 200 && res.status !== 201) throw new Error(`creating gallery ${name}: ${res.status} ${res.text}`);
  });
}

/** Whether Azure (the emulator's state, read in process: no request logged) holds what each Work asks. */
function matchingAzure(azure: RunningEmulator, works: Work[]): number {
  const principalsByScope = new Map<string, Set<string>>();
  for (const ra of azure.emulator.world.roleAssignments.values()) {
    if (!ra.roleDefinitionId.toLowerCase().endsWith(READER)) continue;
    const key = idKey(ra.scope);
    const set = principalsByScope.get(key) ?? new Set<string>();
    set.add(ra.principalId.toLowerCase());
    principalsByScope.set(key, set);
  }
  const same = (a: string[], b: string[]) => JSON.stringify(a.map((x) => x.toLowerCase()).sort()) === JSON.stringify(b.map((x) => x.toLowerCase()).sort());
  return works.filter((w) => {
    const g = azure.emulator.world.resources.get(idKey(galleryPath(w.gallery))) as GalleryRecord | undefined;
    const assigned = principalsByScope.get(idKey(galleryPath(w.gallery))) ?? new Set<string>();
    return g !== undefined && same(g.sharedSubscriptions, [...w.subscriptions]) && same(g.sharedTenants, [w.tenant]) && w.principals.every((p) => assigned.has(p.toLowerCase()));
  }).length;
}

// ----- ARM request accounting -----------------------------------------------------------------

const isEntra = (e: RequestLogEntry) => (e.operation ?? '').startsWith('Entra');
const isRead = (e: RequestLogEntry) => e.method === 'GET' || e.method === 'HEAD';

interface CallCounts {
  total: number;
  reads: number;
  writes: number;
  byOperation: Record<string, number>;
  /** Entra (token) requests, which are not ARM calls and carry no injected latency. */
  entra: number;
}

/** ARM calls in the emulator's log since it was last cleared (the log holds 20,000 entries; checked against its counters). */
async function armCalls(azure: RunningEmulator): Promise<{ counts: CallCounts; entries: RequestLogEntry[] }> {
  const all = await azure.control.requests();
  const counters = await azure.control.counters();
  const counted = Object.values(counters).reduce((a, b) => a + b, 0);
  if (counted !== all.length) say(`warning: the emulator's request log dropped entries (${all.length} kept of ${counted}); figures use its counters`);
  const entries = all.filter((e) => !isEntra(e));
  const byOperation: Record<string, number> = {};
  for (const [operation, count] of Object.entries(counters)) if (!operation.startsWith('Entra')) byOperation[operation] = count;
  const total = Object.values(byOperation).reduce((a, b) => a + b, 0);
  const reads = counted === all.length ? entries.filter(isRead).length : Object.entries(byOperation).filter(([op]) => /_(Get|List)/.test(op)).reduce((a, [, c]) => a + c, 0);
  return { counts: { total, reads, writes: total - reads, byOperation, entra: counted - total }, entries };
}

const galleryOf = (path: string) => /\/galleries\/([^/]+)/i.exec(path)?.[1]?.toLowerCase();

// ----- The run --------------------------------------------------------------------------------

interface Report {
  objects: number;
  settings: { workers: number; latencyMs: number; lroDurationMs: number; resyncIntervalSeconds: number; createConcurrency: number; operatorFlags: string[]; operatorRunsThrough: string };
  operator: {
    createAllMs: number;
    allReadyMs: number;
    createToReadyMs: { p50: number; p90: number; p99: number; max: number };
    azureMatchesSpec: number;
    armCalls: CallCounts & { perObject: number; perObjectByOperation: Record<string, number> };
    reconciles: Record<string, number>;
    cpuSeconds: Record<string, number>;
    machineBusyFraction: number;
    heapWhenReady: { usedBytes: number; totalBytes: number; externalBytes: number };
    heapUsedWhenStartedBytes: number;
    peakRssKiB: number;
    idleRssKiB: number;
    endRssKiB: number;
    childProcessesPeakRssKiB: number;
  };
  resync: {
    restartPass: { reads: number; writes: number; byOperation: Record<string, number> };
    periodic: { reads: number; writes: number; readsPerObject: number; writesPerObject: number; maxReadsOneObject: number; objectsSeen: number; byOperation: Record<string, number>; spreadMs: number };
    peakRssKiB: number;
  };
  sequential: {
    objects: number;
    totalMs: number;
    perObjectMs: { mean: number; p50: number; p99: number };
    shareCallMs: { p50: number; p99: number };
    extrapolatedToNMs: number;
    extrapolated: boolean;
    azureMatchesSpec: number;
    armCalls: CallCounts & { perObject: number; perObjectByOperation: Record<string, number> };
  };
  speedup: number;
  targets: { resyncReadsPerObjectMax: number; resyncWritesPerObjectMax: number; speedupMinAtN200: number; peakRssMiBMaxAt1000: number };
  runSeconds: number;
}

async function main(): Promise<Report> {
  say(`N=${N} GalleryShares, --workers ${WORKERS}, ${LATENCY_MS} ms per ARM call, ${LRO_MS} ms share operations; sequential script on ${SEQUENTIAL}`);

  // Setup, untimed: control plane, CRDs, emulator, galleries, namespace and credentials.
  const controlPlane: ControlPlane = await startControlPlane({ log: (line) => say(line) });
  teardown.steps.push({ name: 'the control plane', run: () => controlPlane.stop() });
  const clients = kubeClients(controlPlane.kubeconfigPath);
  await installCrds(clients);
  const kube = new KubeClient(clients.kc);
  teardown.steps.push({ name: 'the Kubernetes client', run: () => Promise.resolve(kube.close()) });

  const azure = await startEmulator({ seed: sampleSeed(), options: { lroDurationMs: 0, retryAfterSeconds: 1 } });
  teardown.steps.push({ name: 'the Azure emulator', run: () => azure.stop() });
  say(`Azure emulator at ${azure.armEndpoint}`);

  const operatorWork = Array.from({ length: N }, (_, i) => newWork(`gsop${String(i).padStart(4, '0')}`));
  const sequentialWork = Array.from({ length: SEQUENTIAL }, (_, i) => newWork(`gsseq${String(i).padStart(4, '0')}`));
  await createGalleries(azure, [...operatorWork, ...sequentialWork].map((w) => w.gallery));
  say(`created ${N + SEQUENTIAL} galleries with permission Groups (${N} for the operator, ${SEQUENTIAL} for the sequential script)`);

  const namespace = await createTestNamespace(clients, 'bench');
  await clients.core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: 'gallery-owner' }, stringData: { tenantId: ids.contoso, clientId: ids.galleryOwner, clientSecret: secrets[ids.galleryOwner]! } },
  });

  // Azure as the bench models it, from here on. The path pattern matches ARM paths only, so
  // Entra's token and discovery endpoints (/{tenant}/oauth2/..., /{tenant}/v2.0/...) stay fast.
  await azure.control.setOptions({ lroDurationMs: LRO_MS, retryAfterSeconds: Math.max(1, Math.round(LRO_MS / 1000)) });
  await azure.control.addFault({ path: '^/(subscriptions|providers)(/|$)', latencyMs: LATENCY_MS });

  // ----- Phase 1: the operator makes N GalleryShares Ready ------------------------------------
  const operatorArgs = [...OPERATOR_FLAGS, '--resync-interval', '24h'];
  let operator = await startOperator({ kubeconfig: controlPlane.kubeconfigPath, armEndpoint: azure.armEndpoint, caPath: azure.caPath, extraArgs: operatorArgs, nodeOptions: OPERATOR_NODE_OPTIONS });
  teardown.steps.push({ name: 'the operator', run: () => teardown.stopOperator(operator) });
  const pid = operator.child.pid!;
  // operator-process.ts starts `setpriv --pdeathsig KILL -- node ...`; setpriv execs node, so the
  // pid is node's by now (checked, so the RSS figure is never setpriv's).
  const runs = processName(pid);
  say(`operator running (pid ${pid}, ${runs}) with ${operatorArgs.join(' ')}`);
  if (runs !== 'node') say(`warning: pid ${pid} runs ${runs}, not node; the RSS figures are that process's`);
  let memory = new MemorySampler(pid);
  // What the process holds before any object exists: its modules, caches and connections.
  const idle = { ...memory.peak };
  const idleMetrics = await fetch(operator.metricsUrl).then((r) => r.text()).catch(() => '');
  const idleHeapUsedBytes = metricValue(idleMetrics, 'nodejs_heap_size_used_bytes');

  const collection = `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares`;
  const tracker = new ReadyTracker(clients.kc, kube, collection);
  await tracker.start();
  teardown.steps.push({ name: 'the Ready watch', run: () => Promise.resolve(tracker.stop()) });
  const names = operatorWork.map((_, i) => shareName(i));
  tracker.expect(names);
  await azure.control.clearRequests();

  say(`creating ${N} GalleryShares, ${CREATE_CONCURRENCY} at a time`);
  const createdAt = new Map<string, number>();
  // Where the CPU goes while the objects are made Ready: the machine has few cores, and the
  // control plane, the emulator and the operator share them.
  const cpu = new CpuAccount(new Map([['operator', pid], ...controlPlane.processes]));
  cpu.start();
  const t0 = now();
  await pool(operatorWork, CREATE_CONCURRENCY, async (work, i) => {
    await kube.create(collection, galleryShare(names[i]!, work));
    // Create-to-Ready starts when the API server has stored the object: from then on the
    // operator can see it.
    createdAt.set(names[i]!, now());
  });
  const createAllMs = now() - t0;
  say(`created all ${N} in ${seconds(createAllMs)}; waiting for Ready`);

  const readyDeadline = t0 + Math.max(180_000, N * 600);
  let lastProgress = now();
  while (tracker.pending().length > 0) {
    if (teardown.interrupted) throw new Error('teardown.interrupted');
    if (now() > readyDeadline) {
      const stalled = [...tracker.failed.entries()].slice(0, 5).map(([n, why]) => `  ${n}: ${why}`).join('\n');
      throw new Error(`${tracker.pending().length} of ${N} GalleryShares were not Ready after ${seconds(now() - t0)}${stalled ? `; stalled:\n${stalled}` : ''}\noperator log tail:\n${operator.logs().split('\n').slice(-20).join('\n')}`);
    }
    if (now() - lastProgress > 5000) {
      lastProgress = now();
      say(`${N - tracker.pending().length}/${N} Ready${tracker.failed.size ? `, ${tracker.failed.size} Stalled (may recover)` : ''}, operator RSS ${mib(memory.peak.rssKiB)}`);
    }
    await sleep(100);
  }
  cpu.stop();
  const lastReady = Math.max(...tracker.readyAt.values());
  const allReadyMs = lastReady - t0;
  const latencies = names.map((n) => tracker.readyAt.get(n)! - createdAt.get(n)!);
  say(`all ${N} Ready ${seconds(allReadyMs)} after the first create`);

  // Let any request still in flight land (there should be none: every object is Ready and the
  // resync is a day away), then count.
  let previous = -1;
  for (let i = 0; i < 30; i++) {
    const count = (await azure.control.requests()).length;
    if (count === previous) break;
    previous = count;
    await sleep(500);
  }
  const main = await armCalls(azure);
  if (flags['requests-log']) writeFileSync(flags['requests-log'], (await azure.control.requests()).map((e) => JSON.stringify(e)).join('\n') + '\n');
  const operatorMatches = matchingAzure(azure, operatorWork);
  const metricsText = await fetch(operator.metricsUrl).then((r) => r.text()).catch(() => '');
  const reconciles = sumByLabel(metricsText, 'controller_runtime_reconcile_total', 'result');
  // V8's view, to tell live objects from heap the garbage collector has not handed back yet.
  const heap = {
    usedBytes: metricValue(metricsText, 'nodejs_heap_size_used_bytes'),
    totalBytes: metricValue(metricsText, 'nodejs_heap_size_total_bytes'),
    externalBytes: metricValue(metricsText, 'nodejs_external_memory_bytes'),
  };
  memory.stop();
  const mainMemory = memory;
  tracker.stop();
  await teardown.stopOperator(operator);
  say(`operator stopped; peak RSS ${mib(mainMemory.peak.hwmKiB)}; Azure matches the spec for ${operatorMatches}/${N}`);

  // ----- Phase 2: one resync of every object with nothing changed ------------------------------
  // A fresh process with a short resync interval: it reconciles every object once when it starts
  // (the restart pass), then again RESYNC_SECONDS later (±10% jitter), the periodic resync.
  await azure.control.clearRequests();
  const restarted = now();
  operator = await startOperator({
    kubeconfig: controlPlane.kubeconfigPath,
    armEndpoint: azure.armEndpoint,
    caPath: azure.caPath,
    extraArgs: [...OPERATOR_FLAGS, '--resync-interval', `${RESYNC_SECONDS}s`],
    nodeOptions: OPERATOR_NODE_OPTIONS,
  });
  memory = new MemorySampler(operator.child.pid!);
  say(`operator restarted with --resync-interval ${RESYNC_SECONDS}s; waiting for its restart pass`);
  const wanted = new Set(operatorWork.map((w) => w.gallery.toLowerCase()));
  const galleriesRead = (entries: RequestLogEntry[]) =>
    new Set(entries.filter((e) => e.operation === 'Galleries_Get').map((e) => galleryOf(e.path)).filter((g): g is string => g !== undefined && wanted.has(g)));
  const waitForEveryGalleryRead = async (deadline: number, what: string) => {
    for (;;) {
      if (teardown.interrupted) throw new Error('teardown.interrupted');
      const seen = galleriesRead((await armCalls(azure)).entries).size;
      if (seen === N) return;
      if (now() > deadline) throw new Error(`${what}: only ${seen} of ${N} galleries were read by ${seconds(now() - restarted)} after the restart`);
      await sleep(250);
    }
  };
  await waitForEveryGalleryRead(restarted + 120_000, 'restart pass');
  await sleep(1500); // the role-assignment list that follows each gallery read
  const restartPass = (await armCalls(azure)).counts;
  await azure.control.clearRequests();
  const periodicStarted = now();
  say(`restart pass done (${restartPass.reads} reads, ${restartPass.writes} writes); waiting for the periodic resync`);
  await waitForEveryGalleryRead(periodicStarted + RESYNC_SECONDS * 1100 + 60_000, 'periodic resync');
  await sleep(2000); // well before the next periodic resync, RESYNC_SECONDS * 0.9 later at the earliest
  const periodic = await armCalls(azure);
  const readsByGallery = new Map<string, number>();
  for (const e of periodic.entries) {
    const g = galleryOf(e.path);
    if (g && isRead(e)) readsByGallery.set(g, (readsByGallery.get(g) ?? 0) + 1);
  }
  const periodicTimes = periodic.entries.map((e) => Date.parse(e.time));
  memory.stop();
  const resyncMemory = memory;
  await teardown.stopOperator(operator);
  say(`periodic resync: ${periodic.counts.reads} reads, ${periodic.counts.writes} writes for ${N} objects`);

  // ----- Phase 3: the same work, one object after another, with the SDK -------------------------
  await azure.control.clearRequests();
  const credential = secretCredential(azure, ids.contoso, ids.galleryOwner);
  const computeClient = compute(azure, credential, SUBSCRIPTION);
  const authorizationClient = authorization(azure, credential, SUBSCRIPTION);
  // `az login` happens before a script runs: the token is fetched outside the timing.
  await credential.getToken(azure.armScope);
  say(`sequential script: ${SEQUENTIAL} objects, one after another (share Add, then 2 role assignments)`);
  const perObject: number[] = [];
  const shareCalls: number[] = [];
  const s0 = now();
  for (const [i, work] of sequentialWork.entries()) {
    if (teardown.interrupted) throw new Error('teardown.interrupted');
    const started = now();
    // `az sig share add` waits for the operation; updateIntervalInMs 1000 matches the 1 s
    // operation (core-lro would wait 2 s between polls otherwise; it also honours Retry-After).
    await computeClient.gallerySharingProfile
      .update(RG, work.gallery, { operationType: 'Add', groups: [{ type: 'Subscriptions', ids: [...work.subscriptions] }, { type: 'AADTenants', ids: [work.tenant] }] }, { updateIntervalInMs: LRO_MS })
      .pollUntilDone();
    shareCalls.push(now() - started);
    // `az role assignment create`, twice, with the role's id known (az itself would also look up
    // the role by name: the script is given the benefit of the doubt).
    for (const principalId of work.principals) {
      await authorizationClient.roleAssignments.create(galleryPath(work.gallery).slice(1), randomUUID(), {
        roleDefinitionId: roleDefinitionId(SUBSCRIPTION, READER),
        principalId,
        principalType: 'User',
      });
    }
    perObject.push(now() - started);
    if ((i + 1) % 25 === 0) say(`sequential: ${i + 1}/${SEQUENTIAL} in ${seconds(now() - s0)}`);
  }
  const sequentialMs = now() - s0;
  const sequential = await armCalls(azure);
  const sequentialMatches = matchingAzure(azure, sequentialWork);
  const extrapolatedToNMs = (sequentialMs / SEQUENTIAL) * N;

  const perObjectOps = (counts: CallCounts, n: number) => Object.fromEntries(Object.entries(counts.byOperation).map(([op, c]) => [op, Math.round((c / n) * 100) / 100]));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    objects: N,
    settings: {
      workers: WORKERS,
      latencyMs: LATENCY_MS,
      lroDurationMs: LRO_MS,
      resyncIntervalSeconds: RESYNC_SECONDS,
      createConcurrency: CREATE_CONCURRENCY,
      operatorFlags: OPERATOR_FLAGS,
      operatorRunsThrough: `NODE_OPTIONS="${OPERATOR_NODE_OPTIONS}" node dist/main.js (the bundle the image runs${flags['operator-node-options'] === undefined ? ", with the chart's nodeOptions" : ''})`,
    },
    operator: {
      createAllMs,
      allReadyMs,
      createToReadyMs: { p50: percentile(latencies, 50), p90: percentile(latencies, 90), p99: percentile(latencies, 99), max: Math.max(...latencies) },
      azureMatchesSpec: operatorMatches,
      armCalls: { ...main.counts, perObject: main.counts.total / N, perObjectByOperation: perObjectOps(main.counts, N) },
      reconciles,
      cpuSeconds: cpu.used,
      machineBusyFraction: cpu.machineBusyFraction,
      heapWhenReady: heap,
      heapUsedWhenStartedBytes: idleHeapUsedBytes,
      peakRssKiB: mainMemory.peak.hwmKiB,
      idleRssKiB: idle.rssKiB,
      endRssKiB: mainMemory.peak.rssKiB,
      childProcessesPeakRssKiB: mainMemory.childrenPeakKiB,
    },
    resync: {
      restartPass: { reads: restartPass.reads, writes: restartPass.writes, byOperation: restartPass.byOperation },
      periodic: {
        reads: periodic.counts.reads,
        writes: periodic.counts.writes,
        readsPerObject: periodic.counts.reads / N,
        writesPerObject: periodic.counts.writes / N,
        maxReadsOneObject: Math.max(0, ...readsByGallery.values()),
        objectsSeen: readsByGallery.size,
        byOperation: periodic.counts.byOperation,
        spreadMs: periodicTimes.length ? Math.max(...periodicTimes) - Math.min(...periodicTimes) : 0,
      },
      peakRssKiB: resyncMemory.peak.hwmKiB,
    },
    sequential: {
      objects: SEQUENTIAL,
      totalMs: sequentialMs,
      perObjectMs: { mean: mean(perObject), p50: percentile(perObject, 50), p99: percentile(perObject, 99) },
      shareCallMs: { p50: percentile(shareCalls, 50), p99: percentile(shareCalls, 99) },
      extrapolatedToNMs,
      extrapolated: SEQUENTIAL < N,
      azureMatchesSpec: sequentialMatches,
      armCalls: { ...sequential.counts, perObject: sequential.counts.total / SEQUENTIAL, perObjectByOperation: perObjectOps(sequential.counts, SEQUENTIAL) },
    },
    speedup: extrapolatedToNMs / allReadyMs,
    targets: { resyncReadsPerObjectMax: 2, resyncWritesPerObjectMax: 0, speedupMinAtN200: 10, peakRssMiBMaxAt1000: 150 },
    runSeconds: (now() - benchStarted) / 1000,
  };
}

// ----- The report -----------------------------------------------------------------------------

const SHORT: Record<string, string> = { 'kube-apiserver': 'apiserver', 'bench + emulator': 'bench+emulator', 'everything else on the machine': 'other' };

function render(r: Report): string {
  const op = r.operator;
  const seq = r.sequential;
  const per = (n: number) => n.toFixed(2);
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const opsRows = (byOperation: Record<string, number>, n: number) =>
    Object.entries(byOperation)
      .sort(([, a], [, b]) => b - a)
      .map(([name, count]) => [`  ${name}`, `${count} (${per(count / n)}/object)`, '', '']);
  const resyncOk = r.resync.periodic.readsPerObject <= 2 && r.resync.periodic.maxReadsOneObject <= 2 && r.resync.periodic.writes === 0;
  const rssMiB = op.peakRssKiB / 1024;
  const rows: string[][] = [
    ['figure', 'value', 'target', 'verdict'],
    ['time until all Ready', seconds(op.allReadyMs), '', ''],
    ['  creating all objects (20 at a time)', seconds(op.createAllMs), '', ''],
    ['create-to-Ready p50 / p99 (max)', `${seconds(op.createToReadyMs.p50, 2)} / ${seconds(op.createToReadyMs.p99, 2)} (${seconds(op.createToReadyMs.max, 2)})`, '', ''],
    ['Azure matches the spec (operator)', `${op.azureMatchesSpec}/${r.objects}`, '', ''],
    ['ARM calls, operator (reads/writes)', `${op.armCalls.total} = ${per(op.armCalls.perObject)}/object (${op.armCalls.reads}/${op.armCalls.writes})`, '', ''],
    ...opsRows(op.armCalls.byOperation, r.objects),
    ['  reconciles', Object.entries(op.reconciles).map(([k, v]) => `${k} ${v}`).join(', ') || '(no metrics)', '', ''],
    ['CPU seconds until all Ready', Object.entries(op.cpuSeconds).map(([k, v]) => `${SHORT[k] ?? k} ${v.toFixed(1)}`).join(', '), '', ''],
    ['  machine busy meanwhile', `${(op.machineBusyFraction * 100).toFixed(0)}% of ${cpus().length} cores`, '', ''],
    ['no-drift resync, periodic', `${r.resync.periodic.reads} reads, ${r.resync.periodic.writes} writes`, '', ''],
    ['  per GalleryShare', `${per(r.resync.periodic.readsPerObject)} reads, ${per(r.resync.periodic.writesPerObject)} writes (most on one: ${r.resync.periodic.maxReadsOneObject} reads)`, '<= 2 reads, 0 writes', verdict(resyncOk)],
    ...opsRows(r.resync.periodic.byOperation, r.objects),
    ['  spread over', seconds(r.resync.periodic.spreadMs), '', ''],
    ['no-drift resync, on restart', `${r.resync.restartPass.reads} reads, ${r.resync.restartPass.writes} writes (${per(r.resync.restartPass.reads / r.objects)} reads/object)`, '', ''],
    ['operator peak RSS (VmHWM)', `${mib(op.peakRssKiB)}${op.childProcessesPeakRssKiB ? ` (+ children ${mib(op.childProcessesPeakRssKiB)})` : ''}`, '<= 150 MiB at 1,000 objects', r.objects >= 1000 ? verdict(rssMiB <= 150) : `(N=${r.objects})`],
    ['  RSS when started (0 objects) / when all Ready', `${mib(op.idleRssKiB)} / ${mib(op.endRssKiB)}`, '', ''],
    ['  V8 heap used when started / when all Ready', `${mib(op.heapUsedWhenStartedBytes / 1024)} / ${mib(op.heapWhenReady.usedBytes / 1024)}`, '', ''],
    ['  V8 heap total / external, when all Ready', `${mib(op.heapWhenReady.totalBytes / 1024)} / ${mib(op.heapWhenReady.externalBytes / 1024)}`, '', ''],
    ['  peak RSS of the restarted operator (resync)', mib(r.resync.peakRssKiB), '', ''],
    [`sequential script, ${seq.objects} objects`, `${seconds(seq.totalMs)} (${seconds(seq.perObjectMs.mean, 2)}/object)`, '', ''],
    ['  share call, awaited until done (p50 / p99)', `${seconds(seq.shareCallMs.p50, 2)} / ${seconds(seq.shareCallMs.p99, 2)}`, '', ''],
    ...(seq.extrapolated ? [[`  extrapolated to ${r.objects} objects`, `${seconds(seq.extrapolatedToNMs)} (linear: ${seq.objects} timed)`, '', '']] : []),
    ['  Azure matches the spec (script)', `${seq.azureMatchesSpec}/${seq.objects}`, '', ''],
    ['  ARM calls, sequential (reads/writes)', `${seq.armCalls.total} = ${per(seq.armCalls.perObject)}/object (${seq.armCalls.reads}/${seq.armCalls.writes})`, '', ''],
    ...opsRows(seq.armCalls.byOperation, seq.objects),
    ['speed-up (sequential / operator)', `${r.speedup.toFixed(1)}x`, '>= 10x at N=200', r.objects === 200 ? verdict(r.speedup >= 10) : `(N=${r.objects})`],
  ];
  const s = r.settings;
  return [
    '',
    `GalleryShare benchmark: N=${r.objects} (each: its own gallery, 2 subscriptions, 1 tenant, 2 role assignments)`,
    `Azure emulator: ${s.latencyMs} ms added to every ARM call (Entra token calls excluded), share operation ${s.lroDurationMs} ms, Retry-After 1 s`,
    `Operator: ${s.operatorFlags.join(' ')} (--resync-interval 24h while creating, ${s.resyncIntervalSeconds}s for the resync), run as ${s.operatorRunsThrough}`,
    '',
    table(rows),
    '',
    `Run took ${r.runSeconds.toFixed(0)} s in all.`,
  ].join('\n');
}

try {
  const report = await main();
  console.log(render(report));
  if (flags.json) {
    writeFileSync(flags.json, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`JSON report written to ${flags.json}`);
  }
  await teardown.run();
  process.exit(0);
} catch (err) {
  if (!teardown.interrupted) {
    console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await teardown.run();
    process.exit(1);
  }
}
