// The work queue between events and reconcilers, with client-go's guarantees: a key is handed
// to at most one worker at a time; adding a key that is already waiting does nothing (events
// collapse); a key added while it is being processed is handed out again once it is done; keys
// can be added after a delay (requeue-after, backoff), and a later delay never postpones an
// earlier one. No Kubernetes and no Azure inside: keys are strings.
import { realClock, type Clock } from './clock.js';

export interface WorkQueueMetrics {
  add(): void;
  depth(value: number): void;
  /** Seconds a key waited between being queued and being handed to a worker. */
  queued(seconds: number): void;
  /** Seconds a worker held a key. */
  worked(seconds: number): void;
  retry(): void;
}

const noMetrics: WorkQueueMetrics = { add() {}, depth() {}, queued() {}, worked() {}, retry() {} };

export class WorkQueue {
  private readonly queue: string[] = [];
  /** Keys waiting to be processed (queued, or to be queued again once done). */
  private readonly dirty = new Set<string>();
  private readonly processing = new Map<string, number>();
  private readonly queuedAt = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; timer: { cancel(): void } }>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;

  constructor(
    private readonly metrics: WorkQueueMetrics = noMetrics,
    private readonly clock: Clock = realClock,
  ) {}

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.metrics.add();
    this.dirty.add(key);
    this.queuedAt.set(key, this.clock.now());
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /** Adds key after ms; if it is already due earlier, the earlier time stands. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.cancelDelayed(key);
      this.add(key);
      return;
    }
    const at = this.clock.now() + ms;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    existing?.timer.cancel();
    const timer = this.clock.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, timer });
  }

  /** A retry after a failure: counted, then added after the backoff delay. */
  addRetry(key: string, delayMs: number): void {
    this.metrics.retry();
    this.addAfter(key, delayMs);
  }

  /** Waits for a key; undefined once the queue is shut down and drained of waiting keys. */
  async get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) return this.handOut(key);
    if (this.shuttingDown) return undefined;
    const next = await new Promise<string | undefined>((resolve) => this.waiters.push(resolve));
    return next === undefined ? undefined : this.handOut(next);
  }

  /** The worker is finished with key; if it was added meanwhile, it is queued again. */
  done(key: string): void {
    const started = this.processing.get(key);
    if (started !== undefined) this.metrics.worked((this.clock.now() - started) / 1000);
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) this.push(key);
  }

  /** Stops handing out work: waiting workers get undefined; in-flight keys may finish. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) timer.cancel();
    this.delayed.clear();
    this.queue.length = 0;
    this.dirty.clear();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
    this.metrics.depth(0);
  }

  get length(): number {
    return this.queue.length;
  }

  get inFlight(): number {
    return this.processing.size;
  }

  /** When the key is due, if it waits on a delay. */
  dueAt(key: string): number | undefined {
    return this.delayed.get(key)?.at;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  private push(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter(key);
      return;
    }
    this.queue.push(key);
    this.metrics.depth(this.queue.length);
  }

  private handOut(key: string): string {
    this.dirty.delete(key);
    this.processing.set(key, this.clock.now());
    const queuedAt = this.queuedAt.get(key);
    this.queuedAt.delete(key);
    if (queuedAt !== undefined) this.metrics.queued((this.clock.now() - queuedAt) / 1000);
    this.metrics.depth(this.queue.length);
    return key;
  }

  private cancelDelayed(key: string): void {
    this.delayed.get(key)?.timer.cancel();
    this.delayed.delete(key);
  }
}
