// The reconcile loop (controller-runtime's pkg/internal/controller, in TypeScript): informer
// events become queue keys; N workers take keys one at a time; a reconcile returns done or
// requeue-after, or throws. A thrown error is retried with per-key exponential backoff, unless it
// names its own delay (`retryAfterMs`, e.g. Azure's Retry-After), which is then waited exactly.
// After each success the key is scheduled again one resync period later, with jitter, so periodic
// drift checks are spread over time instead of arriving all at once.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { PerKeyBackoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { objectKey, type KubeObject, type ObjectCache } from './informer.js';
import type { OperatorMetrics } from './metrics.js';
import { WorkQueue } from './workqueue.js';

export interface Request {
  namespace: string;
  name: string;
}

export interface ReconcileContext {
  logger: Logger;
  reconcileId: string;
}

export interface ReconcileResult {
  /** Reconcile this key again after this many milliseconds (a long-running operation, a poll). */
  requeueAfterMs?: number;
}

export interface Reconciler {
  reconcile(request: Request, context: ReconcileContext): Promise<ReconcileResult>;
}

export interface ControllerOptions<T extends KubeObject> {
  name: string;
  informer: ObjectCache<T>;
  reconciler: Reconciler;
  logger: Logger;
  metrics: OperatorMetrics;
  workers: number;
  resyncMs: number;
  backoff?: BackoffOptions;
}

/** An error that says how long to wait before the next try (throttling). */
export function retryAfterOf(err: unknown): number | undefined {
  const value = (err as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
  return typeof value === 'number' && value >= 0 ? value : undefined;
}

export class Controller<T extends KubeObject> {
  readonly queue: WorkQueue;
  private readonly backoff: PerKeyBackoff;
  private workers: Promise<void>[] = [];
  private started = false;

  constructor(private readonly options: ControllerOptions<T>) {
    this.queue = new WorkQueue(options.metrics.queueMetrics(options.name));
    this.backoff = new PerKeyBackoff(options.backoff ?? DEFAULT_BACKOFF);
    options.metrics.maxConcurrentReconciles.set({ controller: options.name }, options.workers);
    options.informer.onChange((event, obj, old) => {
      if (event === 'updated' && old && !worthReconciling(obj, old)) return;
      this.queue.add(objectKey(obj));
    });
  }

  /** Starts the workers (on the leader only) and queues every cached object once. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const key of this.options.informer.keys()) this.queue.add(key);
    for (let i = 0; i < this.options.workers; i++) this.workers.push(this.work());
  }

  /** Hands out no new work and waits for in-flight reconciles, at most timeoutMs. */
  async stop(timeoutMs: number): Promise<boolean> {
    this.queue.shutDown();
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      Promise.all(this.workers).then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return finished;
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        await this.reconcileKey(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  private async reconcileKey(key: string): Promise<void> {
    const { name, metrics } = this.options;
    const [namespace = '', objectName = ''] = key.split('/');
    const reconcileId = randomBytes(6).toString('hex');
    const logger = this.options.logger.child({ controller: name, namespace, name: objectName, reconcileID: reconcileId });
    const started = process.hrtime.bigint();
    metrics.activeWorkers.inc({ controller: name });
    try {
      const result = await this.options.reconciler.reconcile({ namespace, name: objectName }, { logger, reconcileId });
      this.backoff.forget(key);
      if (result.requeueAfterMs !== undefined) {
        metrics.reconcileTotal.inc({ controller: name, result: 'requeue_after' });
        this.queue.addAfter(key, result.requeueAfterMs);
      } else {
        metrics.reconcileTotal.inc({ controller: name, result: 'success' });
        if (this.options.informer.get(key)) this.queue.addAfter(key, jitter(this.options.resyncMs));
      }
    } catch (err) {
      metrics.reconcileTotal.inc({ controller: name, result: 'error' });
      metrics.reconcileErrors.inc({ controller: name });
      const exact = retryAfterOf(err);
      const delay = exact ?? this.backoff.next(key);
      logger.warn({ err: err instanceof Error ? err.message : String(err), retryInMs: delay }, 'reconcile failed');
      this.queue.addRetry(key, delay);
    } finally {
      metrics.activeWorkers.dec({ controller: name });
      metrics.reconcileTime.observe({ controller: name }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }
}

/**
 * Status writes (ours) change neither generation nor metadata; reconciling on them would only
 * cost Azure reads. Spec changes bump the generation; deletion sets deletionTimestamp; labels and
 * annotations are compared because users act through them too. Finalizer changes are not: the
 * operator's own finalizer patch would otherwise reconcile every new object twice, and a finalizer
 * removed by hand is put back at the next resync.
 */
function worthReconciling(obj: KubeObject, old: KubeObject): boolean {
  const a = obj.metadata;
  const b = old.metadata;
  return (
    a.generation !== b.generation ||
    String(a.deletionTimestamp ?? '') !== String(b.deletionTimestamp ?? '') ||
    JSON.stringify(a.annotations ?? {}) !== JSON.stringify(b.annotations ?? {}) ||
    JSON.stringify(a.labels ?? {}) !== JSON.stringify(b.labels ?? {})
  );
}

/** A period with ±10% jitter. */
export function jitter(ms: number): number {
  return Math.round(ms * (0.9 + Math.random() * 0.2));
}
