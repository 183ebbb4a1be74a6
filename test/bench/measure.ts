// Measuring helpers for `npm run bench` (test/bench/bench.ts): when each GalleryShare first turns
// Ready (one watch, not polling), a process's peak memory from /proc, percentiles, a bounded
// promise pool, Prometheus text parsing and a plain-text table. No assertions: the bench prints.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { GalleryShare } from '../../src/api/v1alpha1/index.js';
import { kstatus } from '../../src/runtime/kstatus.js';
import type { KubeClient } from '../../src/runtime/kube-client.js';

/** Milliseconds on a monotonic clock; every duration in the bench is a difference of two of these. */
export const now = (): number => performance.now();

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs fn over items with at most `concurrency` calls in flight; rejects on the first failure. */
export async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      await fn(items[index]!, index);
    }
  });
  await Promise.all(runners);
}

/** Nearest-rank percentile (p in 0..100) of unsorted values; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

// ----- Memory ---------------------------------------------------------------------------------

export interface MemoryReading {
  /** Peak resident set size (VmHWM) in KiB. */
  hwmKiB: number;
  /** Current resident set size (VmRSS) in KiB. */
  rssKiB: number;
}

/** VmHWM and VmRSS of a live process; undefined once it has exited. */
export function readMemory(pid: number): MemoryReading | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { hwmKiB: kib('VmHWM'), rssKiB: kib('VmRSS') };
}

/** What a pid runs now (`node`, `setpriv`, ...), read from /proc. */
export function processName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '(gone)';
  }
}

/** Direct children of a process (needs CONFIG_PROC_CHILDREN; empty when unavailable). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Samples a process's memory every few hundred ms, because VmHWM can only be read while the
 * process lives: the last sample before it exits is its peak. Children (tsx's esbuild service, if
 * any) are sampled too and reported apart, since they are not part of the operator's heap.
 */
export class MemorySampler {
  peak: MemoryReading = { hwmKiB: 0, rssKiB: 0 };
  /** The largest VmRSS sampled (VmHWM, the kernel's own peak, also counts what lived between samples). */
  maxRssKiB = 0;
  childrenPeakKiB = 0;
  childNames = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number, intervalMs = 250) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample(): void {
    const reading = readMemory(this.pid);
    if (!reading) return;
    this.peak = { hwmKiB: Math.max(this.peak.hwmKiB, reading.hwmKiB), rssKiB: reading.rssKiB };
    this.maxRssKiB = Math.max(this.maxRssKiB, reading.rssKiB);
    let children = 0;
    for (const child of childPids(this.pid)) {
      const m = readMemory(child);
      if (!m) continue;
      children += m.rssKiB;
      this.childNames.add(processName(child));
    }
    this.childrenPeakKiB = Math.max(this.childrenPeakKiB, children);
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}

// ----- CPU ------------------------------------------------------------------------------------

/** Linux clock ticks per second (USER_HZ), 100 on every mainstream architecture. */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a live process has used so far; NaN once it has exited. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** The machine's busy and total CPU time so far (all cores), from /proc/stat, in seconds. */
export function machineCpu(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: (total - idle) / TICKS_PER_SECOND, total: total / TICKS_PER_SECOND };
}

/** CPU seconds per named process between two moments: start() then stop(). */
export class CpuAccount {
  private readonly before = new Map<string, number>();
  private machineBefore = machineCpu();
  private selfBefore = process.cpuUsage();
  readonly used: Record<string, number> = {};
  machineBusyFraction = 0;

  constructor(private readonly pids: ReadonlyMap<string, number>) {}

  start(): void {
    for (const [name, pid] of this.pids) this.before.set(name, cpuSeconds(pid));
    this.machineBefore = machineCpu();
    this.selfBefore = process.cpuUsage();
  }

  /** Fills `used` (seconds per process, plus `bench + emulator` and `everything else`). */
  stop(): void {
    for (const [name, pid] of this.pids) this.used[name] = cpuSeconds(pid) - (this.before.get(name) ?? Number.NaN);
    const self = process.cpuUsage(this.selfBefore);
    this.used['bench + emulator'] = (self.user + self.system) / 1e6;
    const machine = machineCpu();
    const busy = machine.busy - this.machineBefore.busy;
    const total = machine.total - this.machineBefore.total;
    const ours = Object.values(this.used).filter(Number.isFinite).reduce((a, b) => a + b, 0);
    this.used['everything else on the machine'] = Math.max(0, busy - ours);
    this.machineBusyFraction = total > 0 ? busy / total : 0;
  }
}

// ----- Readiness ------------------------------------------------------------------------------

/**
 * Records, per GalleryShare name, the first moment the bench saw it Ready (kstatus Current), from
 * one watch on the namespace: timestamps are as precise as the watch stream, and the API server
 * is not loaded by a LIST every few hundred ms. If no event arrives for a while although objects
 * are still pending, a LIST (served from the watch cache) catches anything a stalled watch missed,
 * and the watch is restarted from it.
 */
export class ReadyTracker {
  readonly readyAt = new Map<string, number>();
  /** Objects whose latest state is Failed (Stalled), with the Stalled reason and message. */
  readonly failed = new Map<string, string>();
  private expected = new Set<string>();
  private lastEventAt = now();
  private watchAbort: AbortController | undefined;
  private stopped = false;
  private safetyTimer: NodeJS.Timeout | undefined;
  private restarting = false;
  watchRestarts = 0;
  safetyLists = 0;

  constructor(
    private readonly kc: KubeConfig,
    private readonly client: KubeClient,
    private readonly collectionPath: string,
  ) {}

  async start(): Promise<void> {
    const list = await this.client.get<{ items: GalleryShare[]; metadata: { resourceVersion: string } }>(this.collectionPath);
    for (const item of list.items) this.observe(item);
    await this.watchFrom(list.metadata.resourceVersion);
    this.safetyTimer = setInterval(() => void this.safetyNet(), 1000);
    this.safetyTimer.unref();
  }

  expect(names: Iterable<string>): void {
    this.expected = new Set(names);
  }

  pending(): string[] {
    return [...this.expected].filter((name) => !this.readyAt.has(name));
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.safetyTimer);
    this.watchAbort?.abort();
  }

  private observe(obj: GalleryShare): void {
    const name = obj.metadata.name ?? '';
    const state = kstatus(obj);
    if (state === 'Current') {
      if (!this.readyAt.has(name)) this.readyAt.set(name, now());
      this.failed.delete(name);
    } else if (state === 'Failed') {
      const stalled = obj.status?.conditions?.find((c) => c.type === 'Stalled');
      this.failed.set(name, `${stalled?.reason ?? '?'}: ${stalled?.message ?? ''}`);
    }
  }

  private async watchFrom(resourceVersion: string): Promise<void> {
    this.watchAbort = await new Watch(this.kc).watch(
      this.collectionPath,
      { resourceVersion, allowWatchBookmarks: true },
      (type: string, obj: GalleryShare) => {
        this.lastEventAt = now();
        if (type === 'ADDED' || type === 'MODIFIED') this.observe(obj);
      },
      () => {
        // Ended or broke: relist and watch again (unless the bench is done with it).
        if (!this.stopped) void this.restart();
      },
    );
  }

  private async restart(): Promise<void> {
    if (this.restarting || this.stopped) return;
    this.restarting = true;
    this.watchRestarts++;
    try {
      this.watchAbort?.abort();
      const list = await this.client.get<{ items: GalleryShare[]; metadata: { resourceVersion: string } }>(this.collectionPath);
      for (const item of list.items) this.observe(item);
      if (!this.stopped) await this.watchFrom(list.metadata.resourceVersion);
    } catch {
      // The next safety-net tick tries again.
    } finally {
      this.lastEventAt = now();
      this.restarting = false;
    }
  }

  private async safetyNet(): Promise<void> {
    if (this.stopped || this.pending().length === 0 || now() - this.lastEventAt < 5000) return;
    this.safetyLists++;
    await this.restart();
  }
}

// ----- Prometheus text ------------------------------------------------------------------------

/** Sums of a metric's samples by one label, from Prometheus text exposition. */
export function sumByLabel(metricsText: string, metric: string, label: string): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(`${metric}{`) && !line.startsWith(`${metric} `)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    const key = new RegExp(`${label}="([^"]*)"`).exec(line)?.[1] ?? '';
    sums[key] = (sums[key] ?? 0) + value;
  }
  return sums;
}

/** The value of an unlabelled sample (`name 123`); NaN when absent. */
export function metricValue(metricsText: string, metric: string): number {
  const line = metricsText.split('\n').find((l) => l.startsWith(`${metric} `));
  return line ? Number(line.slice(metric.length + 1).split(' ')[0]) : Number.NaN;
}

// ----- Output ---------------------------------------------------------------------------------

/** A plain-text table: the first row is the header; columns are padded to their widest cell. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const line = (row: readonly string[]) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(rows[0] ?? []), rule, ...rows.slice(1).map(line)].join('\n');
}

export const seconds = (ms: number, digits = 1): string => `${(ms / 1000).toFixed(digits)} s`;
export const mib = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB`;

/**
 * What a bench started, stopped in reverse order at the end, on an error, and on Ctrl-C or
 * SIGTERM (then the process exits 130 or 143). One stuck component must not keep the others
 * alive: each step gets 20 s.
 */
export class Teardown {
  /** Steps in the order things were started; the last is stopped first. */
  readonly steps: { name: string; run: () => Promise<unknown> }[] = [];
  /** Set by Ctrl-C or SIGTERM: the bench stops what it is waiting for. */
  interrupted = false;
  private cleaning: Promise<void> | undefined;

  constructor(private readonly say: (line: string) => void) {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
        if (this.interrupted) return;
        this.interrupted = true;
        say(`${signal}: stopping the operator, the emulator and the control plane`);
        void this.run().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
      });
    }
  }

  /** Runs every step still to run (once, however often it is called). */
  run(): Promise<void> {
    this.cleaning ??= (async () => {
      for (const { name, run } of this.steps.splice(0).reverse()) {
        await Promise.race([run(), sleep(20_000).then(() => this.say(`stopping ${name} took over 20 s; moving on`))]).catch((err: unknown) =>
          this.say(`stopping ${name} failed: ${err instanceof Error ? err.message : String(err)}`),
        );
      }
    })();
    return this.cleaning;
  }

  /**
   * SIGTERM (graceful: in-flight reconciles finish), SIGKILL if it takes more than 15 s, or 3 s
   * after Ctrl-C: the terminal signals the whole process group, so etcd is already going and
   * in-flight reconciles would only wait for their Kubernetes requests to time out.
   */
  async stopOperator(operator: { child: { kill(signal: NodeJS.Signals): unknown }; stop(signal: NodeJS.Signals): Promise<unknown> }): Promise<void> {
    const timer = setTimeout(() => operator.child.kill('SIGKILL'), this.interrupted ? 3_000 : 15_000);
    await operator.stop('SIGTERM');
    clearTimeout(timer);
  }
}
