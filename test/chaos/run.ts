// The chaos run, shared by `npm run chaos` (chaos.ts, figures) and its short version in
// `npm test` (test/integration/chaos.test.ts, asserting the zeros): a control plane of its own
// (watch cache off, so watches really get 410 after compaction), the Azure emulator in process
// with ARM's token buckets on and Azure's limits, 2-3 operator replicas with leader election under
// a supervisor that restarts any exited replica with backoff; every object created at once; then,
// from a seeded schedule, edits and deletions while the leader is SIGKILLed at intervals of at
// least twice the lease duration, ARM answers a fraction of requests with 5xx, 429 + Retry-After,
// dropped connections and latency spikes, the kube-apiserver is restarted (etcd compacted while it
// is down) and etcd compacted again. Then the faults stop, the objects converge, and the audit
// (audit.ts) reads the emulator's world and the requests.
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient, isNotFound } from '../../src/runtime/kube-client.js';
import { GATE_SEEN_HEADER } from '../../src/azure/clients.js';
import { start as startEmulator, type RequestLogEntry, type RunningEmulator } from '../azure-emulator/index.js';
import type { EmulatorRequest } from '../azure-emulator/http.js';
import { startControlPlane, type ControlPlane } from '../support/control-plane.js';
import { installCrds, kubeClients } from '../support/kube.js';
import { isLeader, startOperator, type OperatorProcess } from '../support/operator-process.js';
import { applyWorkload, buildWorkload, collectionOf, describeWorkload, editedSpec, rng, type Workload, type WorkloadObject, type WorkloadManifest } from '../support/workload.js';
import { AUDIT_TERMS, audit, gateLogLines, type AuditResult, type ChaosRequest, type FinalObject } from './audit.js';

export interface ChaosSettings {
  galleryShares: number;
  tenantGrants: number;
  sharedImageVMs: number;
  replicas: 2 | 3;
  seed: number;
  /** Lease timings of the operators (seconds). */
  leaseSeconds: number;
  renewSeconds: number;
  retrySeconds: number;
  /** Seconds between leader kills (at least twice the lease duration). */
  killIntervalSeconds: number;
  /** How long the faults run (seconds). */
  faultSeconds: number;
  /** Shares of the objects edited and deleted while the faults run. */
  editFraction: number;
  deleteFraction: number;
  /** Chance of each ARM fault per request while the faults run. */
  serverErrorRate: number;
  throttleRate: number;
  dropRate: number;
  latencyRate: number;
  latencySpikeMs: number;
  /** Retry-After (seconds) of the injected 429s. */
  injectedRetryAfterSeconds: number;
  /** Duration of long-running ARM operations (ms). */
  lroMs: number;
  workers: number;
  /** Give up waiting for convergence after this long (seconds). */
  convergeTimeoutSeconds: number;
  log: (line: string) => void;
}

export const defaultSettings: ChaosSettings = {
  galleryShares: 300,
  tenantGrants: 50,
  sharedImageVMs: 100,
  replicas: 3,
  seed: 1,
  leaseSeconds: 15,
  renewSeconds: 10,
  retrySeconds: 2,
  killIntervalSeconds: 40,
  faultSeconds: 180,
  editFraction: 0.1,
  deleteFraction: 0.1,
  serverErrorRate: 0.03,
  throttleRate: 0.01,
  dropRate: 0.01,
  latencyRate: 0.02,
  latencySpikeMs: 4000,
  injectedRetryAfterSeconds: 3,
  lroMs: 1000,
  workers: 20,
  convergeTimeoutSeconds: 900,
  log: () => undefined,
};

export interface ChaosReport {
  settings: Omit<ChaosSettings, 'log'>;
  distribution: string;
  figures: {
    objects: number;
    edited: number;
    deleted: number;
    leaderKills: number;
    apiserverRestarts: number;
    etcdCompactions: number;
    replicaExits: number;
    replicaRestarts: number;
    failedStarts: number;
    armRequests: number;
    injected5xx: number;
    injected429: number;
    injectedDrops: number;
    injectedLatency: number;
    throttled429: number;
    /** Window lines in all replicas' logs: learned from a 429 (opened or extended), inherited on taking over (one per window). */
    windowLinesLearned: number;
    windowLinesInherited: number;
    firstAllReadySeconds: number | null;
    faultPhaseSeconds: number;
    convergeAfterLastFaultSeconds: number | null;
    totalSeconds: number;
  };
  audit: AuditResult;
  /** Where the operators' logs and the request records were written. */
  dir: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ----- The supervisor --------------------------------------------------------------------------

interface Slot {
  index: number;
  proc?: OperatorProcess;
  generation: number;
}

/** Keeps `replicas` operator processes running: an exited one is started again after a backoff (1 s doubling to 16 s). */
class Supervisor {
  readonly slots: Slot[];
  exits = 0;
  restarts = 0;
  failedStarts = 0;
  private stopping = false;
  private readonly loops: Promise<void>[] = [];

  constructor(
    replicas: number,
    private readonly launch: (slot: Slot) => Promise<OperatorProcess>,
    private readonly dir: string,
    private readonly log: (line: string) => void,
  ) {
    this.slots = Array.from({ length: replicas }, (_, index) => ({ index, generation: 0 }));
  }

  start(): void {
    for (const slot of this.slots) this.loops.push(this.keep(slot));
  }

  private async keep(slot: Slot): Promise<void> {
    let backoff = 1000;
    let first = true;
    while (!this.stopping) {
      let proc: OperatorProcess;
      try {
        if (!first) this.restarts++;
        first = false;
        proc = await this.launch(slot);
      } catch (err) {
        this.failedStarts++;
        this.log(`replica ${slot.index} did not start (${String(err).split('\n')[0]}); again in ${backoff / 1000} s`);
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 16_000);
        continue;
      }
      slot.proc = proc;
      const started = Date.now();
      const code = await proc.exited;
      slot.proc = undefined;
      this.exitedLogs.push(proc.logs());
      writeFileSync(join(this.dir, `replica-${slot.index}-${slot.generation}.log`), proc.logs());
      slot.generation++;
      if (this.stopping) return;
      this.exits++;
      if (Date.now() - started > 60_000) backoff = 1000;
      this.log(`replica ${slot.index} exited (${code ?? proc.child.signalCode}); restarting in ${backoff / 1000} s`);
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 16_000);
    }
  }

  /** Logs of the replicas that exited. */
  private readonly exitedLogs: string[] = [];

  /** Every replica's log so far, exited or running. */
  logs(): string[] {
    return [...this.exitedLogs, ...this.slots.flatMap((slot) => (slot.proc ? [slot.proc.logs()] : []))];
  }

  /** The replica that says it holds the lease, if one does. */
  async leader(): Promise<Slot | undefined> {
    for (const slot of this.slots) if (slot.proc && (await isLeader(slot.proc))) return slot;
    return undefined;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.slots.map(async (slot) => {
        const proc = slot.proc;
        if (!proc) return;
        const timer = setTimeout(() => proc.child.kill('SIGKILL'), 15_000);
        await proc.stop('SIGTERM');
        clearTimeout(timer);
        writeFileSync(join(this.dir, `replica-${slot.index}-${slot.generation}.log`), proc.logs());
      }),
    );
    // A start under way when stopping began ends in its own loop; wait for the loops, bounded.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.loops), new Promise<void>((r) => (timer = setTimeout(r, 70_000)))]);
    clearTimeout(timer);
    for (const slot of this.slots) slot.proc?.child.kill('SIGKILL');
  }
}

// ----- Recording requests -------------------------------------------------------------------------

/** Marks the answers the run's own faults gave (the operator ignores an unknown header), so the audit tells them from the buckets' 429s. */
const INJECTED_HEADER = 'x-ms-chaos-injected';

function principalOf(request: EmulatorRequest): string | undefined {
  const auth = request.headers.authorization;
  if (!auth?.startsWith('Bearer ')) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(auth.slice(7).split('.')[1] ?? '', 'base64url').toString('utf8')) as { oid?: string };
    return claims.oid?.toLowerCase();
  } catch {
    return undefined;
  }
}

/** Wraps the in-process emulator so every request is recorded with its start and answer times, and the request log kept whole. */
function record(azure: RunningEmulator): { requests: ChaosRequest[]; log: RequestLogEntry[] } {
  const requests: ChaosRequest[] = [];
  const log: RequestLogEntry[] = [];
  const emulator = azure.emulator;
  const handle = emulator.handle.bind(emulator);
  emulator.handle = async (request) => {
    const start = Date.now();
    const result = await handle(request);
    const status = result.response?.status ?? 0;
    const headers = result.response?.headers ?? {};
    const retryAfter = status === 429 ? Number(headers['retry-after'] ?? headers['Retry-After']) : undefined;
    const subscription = /^\/subscriptions\/([^/]+)/i.exec(request.path)?.[1]?.toLowerCase();
    const principal = principalOf(request);
    const seen = request.headers[GATE_SEEN_HEADER];
    const gateSeen = typeof seen === 'string' ? seen : undefined;
    requests.push({
      start,
      end: Date.now(),
      method: request.method,
      path: request.path,
      status,
      ...(subscription ? { subscription } : {}),
      ...(principal ? { principal } : {}),
      ...(retryAfter !== undefined && Number.isFinite(retryAfter) ? { retryAfterSeconds: retryAfter } : {}),
      injected: headers[INJECTED_HEADER] !== undefined,
      ...(gateSeen !== undefined && /^\d+$/.test(gateSeen) ? { gateSeen: Number(gateSeen) } : {}),
    });
    return result;
  };
  const add = emulator.log.add.bind(emulator.log);
  emulator.log.add = (entry) => {
    log.push(entry);
    add(entry);
  };
  return { requests, log };
}

// ----- Kubernetes helpers --------------------------------------------------------------------------

const KINDS = ['GalleryShare', 'TenantGrant', 'SharedImageVM'] as const;

/** Every object of the three kinds, by kind/namespace/name. */
async function listAll(client: KubeClient, namespaces: string[]): Promise<Map<string, FinalObject>> {
  const all = new Map<string, FinalObject>();
  for (const kind of KINDS) {
    for (const ns of namespaces) {
      const list = await client.get<{ items: FinalObject[] }>(collectionOf(kind, ns));
      for (const item of list.items) all.set(`${kind}/${ns}/${item.metadata.name}`, item);
    }
  }
  return all;
}

const readyOf = (obj: FinalObject): boolean => {
  const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
  return ready?.status === 'True' && ready.observedGeneration === obj.metadata.generation && obj.status?.observedGeneration === obj.metadata.generation;
};

/** Retries a Kubernetes call through API server restarts (connection refused, 5xx) until it succeeds or the object is gone. */
async function persist<T>(what: string, call: () => Promise<T>, log: (line: string) => void): Promise<T | undefined> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (isNotFound(err)) return undefined;
      if (attempt === 0 || attempt % 10 === 0) log(`${what}: ${String(err).split('\n')[0]} (retrying)`);
      if (attempt > 120) throw err;
      await sleep(1000);
    }
  }
}

// ----- The run -------------------------------------------------------------------------------------

export async function runChaos(partial: Partial<ChaosSettings> = {}): Promise<ChaosReport> {
  const s: ChaosSettings = { ...defaultSettings, ...partial };
  if (s.killIntervalSeconds < 2 * s.leaseSeconds) throw new Error(`the kill interval (${s.killIntervalSeconds} s) must be at least twice the lease duration (${s.leaseSeconds} s)`);
  const log = s.log;
  const began = Date.now();
  const dir = join(tmpdir(), `gso-chaos-${process.pid}-${began}`);
  mkdirSync(dir, { recursive: true });
  const workload: Workload = buildWorkload({ galleryShares: s.galleryShares, tenantGrants: s.tenantGrants, sharedImageVMs: s.sharedImageVMs, seed: s.seed });
  const distribution = describeWorkload(workload);
  log(`\n${distribution}\n`);
  const random = rng(s.seed * 7919 + 17);

  let controlPlane: ControlPlane | undefined;
  let azure: RunningEmulator | undefined;
  let supervisor: Supervisor | undefined;
  try {
    log('starting the control plane (watch cache off) and the emulator (token buckets on)');
    [controlPlane, azure] = await Promise.all([
      startControlPlane({ apiserverArgs: ['--watch-cache=false'] }),
      startEmulator({ seed: workload.seed, options: { lroDurationMs: s.lroMs, retryAfterSeconds: 1, throttling: { enabled: true } } }),
    ]);
    const cp = controlPlane;
    const emu = azure;
    const recorded = record(emu);
    const clients = kubeClients(cp.kubeconfigPath);
    const client = new KubeClient(clients.kc);
    await installCrds(clients);
    await clients.core.createNamespace({ body: { metadata: { name: 'chaos-system' } } });

    const electionArgs = [
      '--leader-elect', 'true',
      '--leader-election-namespace', 'chaos-system',
      '--leader-election-id', 'gallery-share-operator-chaos',
      '--leader-election-lease-duration', `${s.leaseSeconds}s`,
      '--leader-election-renew-deadline', `${s.renewSeconds}s`,
      '--leader-election-retry-period', `${s.retrySeconds}s`,
      '--workers', String(s.workers),
      '--log-level', 'info',
      '--reconcile-timeout', '2m',
    ];
    supervisor = new Supervisor(
      s.replicas,
      (slot) => startOperator({ kubeconfig: cp.kubeconfigPath, armEndpoint: emu.armEndpoint, caPath: emu.caPath, extraArgs: electionArgs }).then((p) => {
        log(`replica ${slot.index} up (pid ${p.child.pid})`);
        return p;
      }),
      dir,
      log,
    );
    const sup = supervisor;
    sup.start();
    // Wait for a leader before the objects go in, so that the first figures are the operator's.
    for (let i = 0; !(await sup.leader()); i++) {
      if (i > 240) throw new Error('no replica became leader within 2 minutes');
      await sleep(500);
    }

    log(`creating ${workload.objects.length} objects at once`);
    const created = Date.now();
    await applyWorkload(clients, client, workload, { concurrency: 50 });

    // ----- The seeded schedule -----
    const D = s.faultSeconds * 1000;
    const shuffled = [...workload.objects].sort(() => random() - 0.5);
    // TenantGrants that VMs go through are not deleted (the VM would wait for its grant forever).
    const referenced = new Set(workload.objects.flatMap((o) => (o.kind === 'SharedImageVM' && 'tenantGrantRef' in o.manifest.spec && o.manifest.spec.tenantGrantRef ? [`${o.namespace}/${o.manifest.spec.tenantGrantRef.name}`] : [])));
    const nDelete = Math.round(workload.objects.length * s.deleteFraction);
    const nEdit = Math.round(workload.objects.length * s.editFraction);
    const toDelete = shuffled.filter((o) => !(o.kind === 'TenantGrant' && referenced.has(`${o.namespace}/${o.name}`))).slice(0, nDelete);
    const deleting = new Set(toDelete);
    const toEdit = shuffled.filter((o) => !deleting.has(o)).slice(0, nEdit);
    type Event = { at: number; what: string; run: () => Promise<void> | void };
    const events: Event[] = [];
    const failovers: number[] = [];
    let kills = 0;
    let compactions = 0;
    let restarts = 0;
    const edits = new Map<WorkloadObject, WorkloadManifest['spec']>();
    const deletedSpecs = new Map<WorkloadObject, WorkloadManifest['spec']>();
    const background: Promise<unknown>[] = [];
    for (const o of toEdit) {
      events.push({
        at: D * (0.05 + 0.75 * random()),
        what: `edit ${o.kind} ${o.namespace}/${o.name}`,
        run: () => {
          const spec = editedSpec(workload, o, o.manifest.spec, random);
          edits.set(o, spec);
          background.push(persist(`editing ${o.name}`, () => client.patch(o.path, { spec }, 'merge'), log));
        },
      });
    }
    for (const o of toDelete) {
      events.push({
        at: D * (0.05 + 0.75 * random()),
        what: `delete ${o.kind} ${o.namespace}/${o.name}`,
        run: () => {
          deletedSpecs.set(o, edits.get(o) ?? o.manifest.spec);
          background.push(persist(`deleting ${o.name}`, () => client.delete(o.path), log));
        },
      });
    }
    const killTimes: number[] = [];
    for (let t = s.killIntervalSeconds * 1000; t < D - 5000; t += s.killIntervalSeconds * 1000) killTimes.push(t + random() * 3000);
    for (const at of killTimes) {
      events.push({
        at,
        what: 'SIGKILL the leader',
        run: async () => {
          for (let i = 0; i < 40; i++) {
            const leader = await sup.leader();
            if (leader?.proc) {
              leader.proc.child.kill('SIGKILL');
              failovers.push(Date.now());
              kills++;
              log(`killed the leader, replica ${leader.index} (pid ${leader.proc.child.pid})`);
              return;
            }
            await sleep(500);
          }
          log('no leader to kill within 20 s');
        },
      });
    }
    // The API server restart falls between two kills (or at mid-run), with etcd compacted while it
    // is down: every watch resumes from a version older than the compaction and gets 410 Gone.
    const restartAt = killTimes.length >= 2 ? (killTimes[0]! + killTimes[1]!) / 2 : D * 0.45;
    events.push({
      at: restartAt,
      what: 'restart the kube-apiserver (etcd compacted while it is down)',
      run: async () => {
        failovers.push(Date.now());
        await cp.restartApiserver(async () => {
          await cp.compactEtcd();
          compactions++;
        });
        failovers.push(Date.now());
        restarts++;
        log('kube-apiserver restarted');
      },
    });
    events.push({
      at: D * (0.7 + 0.1 * random()),
      what: 'compact etcd',
      run: async () => {
        await cp.compactEtcd();
        compactions++;
      },
    });
    events.sort((a, b) => a.at - b.at);

    const faultsStarted = Date.now();
    log(`faults for ${s.faultSeconds} s: ${toEdit.length} edits, ${toDelete.length} deletions, ${killTimes.length} leader kills, one API server restart, ${2} etcd compactions, ARM faults`);
    const faultIds = [
      await emu.control.addFault({ path: '^/subscriptions/', status: 503, code: 'ServiceUnavailable', headers: { [INJECTED_HEADER]: 'true' }, probability: s.serverErrorRate }),
      await emu.control.addFault({
        path: '^/subscriptions/',
        status: 429,
        code: 'SubscriptionRequestsThrottled',
        message: `Number of requests for subscription exceeded. Please try again after '${s.injectedRetryAfterSeconds}' seconds.`,
        headers: { 'retry-after': String(s.injectedRetryAfterSeconds), [INJECTED_HEADER]: 'true' },
        probability: s.throttleRate,
      }),
      await emu.control.addFault({ path: '^/subscriptions/', drop: true, probability: s.dropRate }),
      await emu.control.addFault({ path: '^/subscriptions/', latencyMs: s.latencySpikeMs, probability: s.latencyRate }),
    ].map((f) => f.id);
    const injectedKinds = new Map<string, 'status5xx' | 'status429' | 'drop' | 'latency'>([
      [faultIds[0]!, 'status5xx'],
      [faultIds[1]!, 'status429'],
      [faultIds[2]!, 'drop'],
      [faultIds[3]!, 'latency'],
    ]);

    // When every object had been Ready once (edits and deletions make "all Ready at one moment"
    // rare while the faults run), polled every 3 s on the side: a deleted object counts once gone.
    let firstAllReady: number | null = null;
    const seenReady = new Set<string>();
    const noteReady = (all: Map<string, FinalObject>) => {
      if (firstAllReady !== null) return;
      for (const [key, f] of all) if (readyOf(f)) seenReady.add(key);
      const done = workload.objects.every((o) => {
        const key = `${o.kind}/${o.namespace}/${o.name}`;
        return seenReady.has(key) || (deletedSpecs.has(o) && !all.has(key));
      });
      if (done) firstAllReady = Date.now();
    };
    // During the faults on its own; afterwards the convergence loop's reads feed it.
    const watchFirstReady = (async () => {
      while (firstAllReady === null && Date.now() - faultsStarted < D) {
        const all = await listAll(client, workload.namespaces).catch(() => undefined);
        if (all) noteReady(all);
        await sleep(3000);
      }
    })();

    for (const e of events) {
      const wait = faultsStarted + e.at - Date.now();
      if (wait > 0) await sleep(wait);
      log(`+${((Date.now() - faultsStarted) / 1000).toFixed(0)} s: ${e.what}`);
      await Promise.resolve()
        .then(() => e.run())
        .catch((err: unknown) => log(`${e.what} failed: ${String(err)}`));
    }
    const endWait = faultsStarted + D - Date.now();
    if (endWait > 0) await sleep(endWait);
    await emu.control.clearFaults();
    const lastFault = Date.now();
    log('faults stopped; waiting for convergence');
    await Promise.all(background);
    await watchFirstReady;

    // ----- Convergence -----
    const liveObjects = workload.objects.filter((o) => !deleting.has(o));
    let converged: number | null = null;
    let finals = new Map<string, FinalObject>();
    const deadline = Date.now() + s.convergeTimeoutSeconds * 1000;
    let lastReport = 0;
    while (Date.now() < deadline) {
      finals = (await listAll(client, workload.namespaces).catch(() => undefined)) ?? finals;
      noteReady(finals);
      const notReady = liveObjects.filter((o) => {
        const f = finals.get(`${o.kind}/${o.namespace}/${o.name}`);
        return !f || !readyOf(f);
      });
      const remaining = toDelete.filter((o) => finals.has(`${o.kind}/${o.namespace}/${o.name}`));
      if (notReady.length === 0 && remaining.length === 0) {
        converged = Date.now();
        break;
      }
      if (Date.now() - lastReport > 15_000) {
        lastReport = Date.now();
        log(`converging: ${notReady.length} not Ready, ${remaining.length} deletions pending`);
      }
      await sleep(2000);
    }
    log(converged ? `converged ${((converged - lastFault) / 1000).toFixed(1)} s after the last fault` : 'did not converge in time');

    // ----- Audit -----
    const gateLog = gateLogLines(sup.logs());
    const result = audit({
      workload,
      world: emu.emulator.world,
      live: liveObjects.map((object) => ({ object, final: finals.get(`${object.kind}/${object.namespace}/${object.name}`) })),
      deleted: toDelete.map((object) => ({ object, spec: deletedSpecs.get(object) ?? object.manifest.spec, stillPresent: finals.has(`${object.kind}/${object.namespace}/${object.name}`) })),
      requests: recorded.requests.map((r) => r),
      log: recorded.log,
      failovers,
      gateLog,
    });
    // Which answers the injected faults shaped: the emulator's log names the fault.
    const injectedCount = (kind: string) => recorded.log.filter((e) => e.faultId && injectedKinds.get(e.faultId) === kind).length;
    const injected429 = injectedCount('status429');
    const throttled429 = recorded.requests.filter((r) => r.status === 429 && !r.injected).length;
    writeFileSync(join(dir, 'requests.json'), JSON.stringify(recorded.requests));

    const report: ChaosReport = {
      settings: { ...s, log: undefined } as unknown as Omit<ChaosSettings, 'log'>,
      distribution,
      figures: {
        objects: workload.objects.length,
        edited: toEdit.length,
        deleted: toDelete.length,
        leaderKills: kills,
        apiserverRestarts: restarts,
        etcdCompactions: compactions,
        replicaExits: sup.exits,
        replicaRestarts: sup.restarts,
        failedStarts: sup.failedStarts,
        armRequests: recorded.requests.filter((r) => r.subscription).length,
        injected5xx: injectedCount('status5xx'),
        injected429,
        injectedDrops: injectedCount('drop'),
        injectedLatency: injectedCount('latency'),
        throttled429,
        windowLinesLearned: gateLog.filter((l) => !l.inherited).length,
        windowLinesInherited: gateLog.filter((l) => l.inherited).length,
        firstAllReadySeconds: firstAllReady === null ? null : (firstAllReady - created) / 1000,
        faultPhaseSeconds: (lastFault - faultsStarted) / 1000,
        convergeAfterLastFaultSeconds: converged === null ? null : (converged - lastFault) / 1000,
        totalSeconds: (Date.now() - began) / 1000,
      },
      audit: result,
      dir,
    };
    return report;
  } finally {
    await supervisor?.stop().catch((err: unknown) => log(`stopping the operators: ${String(err)}`));
    await azure?.stop().catch(() => undefined);
    await controlPlane?.stop().catch(() => undefined);
  }
}

// ----- Printing --------------------------------------------------------------------------------------

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n');
}

/** The report as people read it: the figures, then the audit (expected: zero of each). */
export function formatReport(r: ChaosReport): string {
  const f = r.figures;
  const sec = (v: number | null) => (v === null ? 'never' : `${v.toFixed(1)} s`);
  const figures = table([
    ['figure', 'value'],
    ['objects (created at once)', String(f.objects)],
    ['edited / deleted during the faults', `${f.edited} / ${f.deleted}`],
    ['replicas', String(r.settings.replicas)],
    ['lease duration / kill interval', `${r.settings.leaseSeconds} s / ${r.settings.killIntervalSeconds} s`],
    ['leader kills (SIGKILL)', String(f.leaderKills)],
    ['kube-apiserver restarts', String(f.apiserverRestarts)],
    ['etcd compactions', String(f.etcdCompactions)],
    ['replica exits / restarts by the supervisor', `${f.replicaExits} / ${f.replicaRestarts}`],
    ['replica starts that failed (retried)', String(f.failedStarts)],
    ['ARM requests', String(f.armRequests)],
    ['injected 5xx / 429 / drops / latency spikes', `${f.injected5xx} / ${f.injected429} / ${f.injectedDrops} / ${f.injectedLatency}`],
    ["429s from ARM's token buckets", String(f.throttled429)],
    ['requests in flight at a 429 (sent before the sender knew it; not counted)', String(r.audit.requestsInFlightAt429)],
    ['  of which read by the emulator after the operator logged the window (longest lag)', `${r.audit.requestsInFlightReadAfterLearned} (${r.audit.inFlightReadAfterLearnedMaxMs} ms)`],
    ['window lines in the operator logs (learned / inherited)', `${f.windowLinesLearned} / ${f.windowLinesInherited}`],
    ['every object Ready once, after creation (polled every 3 s)', sec(f.firstAllReadySeconds)],
    ['fault phase', sec(f.faultPhaseSeconds)],
    ['converged, after the last fault', sec(f.convergeAfterLastFaultSeconds)],
    ['whole run', sec(f.totalSeconds)],
  ]);
  const auditRows = table([
    ['audit term', 'count'],
    ...AUDIT_TERMS.map(([key, label]) => [label, r.audit[key] === null ? 'not measured' : String(r.audit[key])]),
  ]);
  const examples = Object.entries(r.audit.examples)
    .map(([term, list]) => `${term}:\n${list.map((e) => `  ${e}`).join('\n')}`)
    .join('\n');
  return `${figures}\n\n${auditRows}${examples ? `\n\nexamples:\n${examples}` : ''}\n\noperator logs and request records: ${r.dir}`;
}

