// The reconcile loop (controller-runtime's pkg/internal/controller, in TypeScript): informer
// events (of the controller's own kind, and mapped from other kinds) become queue keys; N workers
// take keys one at a time; a reconcile returns done or requeue-after (a poll, Azure's Retry-After:
// a result, not an error), or throws, and a thrown error is retried with per-key exponential
// backoff. Every reconcile runs under an AbortSignal that fires at the reconcile timeout, or when
// shutdown has waited its timeout for in-flight work. After each success the key is scheduled
// again one resync period later, with jitter, so periodic drift checks are spread over time
// instead of arriving all at once.
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { PerKeyBackoff, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { objectKey, type InformerEvent, type KubeObject, type ObjectCache } from './informer.js';
import type { OperatorMetrics } from './metrics.js';
import { WorkQueue } from './workqueue.js';

export interface Request {
  namespace: string;
  name: string;
}

export interface ReconcileContext {
  logger: Logger;
  reconcileId: string;
  /** Aborted when the reconcile times out or shutdown stops waiting: pass it to every call. */
  signal: AbortSignal;
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
  /** How long one reconcile may run before its signal aborts its calls. */
  reconcileTimeoutMs: number;
  backoff?: BackoffOptions;
}

/**
 * A failure to retry with per-key backoff, but no later than `maxDelayMs` (a refusal that Azure
 * says passes within a while is looked at again before that while ends).
 */
export class BackoffError extends Error {
  constructor(message: string, readonly maxDelayMs?: number) {
    super(message);
    this.name = 'BackoffError';
  }
}

/** Events on another kind that concern this controller's objects: their keys. */
export type MapToKeys<S extends KubeObject> = (event: InformerEvent, obj: S, old?: S) => string[];

export class Controller<T extends KubeObject> {
  readonly queue: WorkQueue;
  private readonly backoff: PerKeyBackoff;
  private workers: Promise<void>[] = [];
  private started = false;
  /** Fired when shutdown has waited its timeout: in-flight reconciles abandon their calls. */
  private readonly shutdown = new AbortController();

  constructor(private readonly options: ControllerOptions<T>) {
    this.queue = new WorkQueue(options.metrics.queueMetrics(options.name));
    this.backoff = new PerKeyBackoff(options.backoff ?? DEFAULT_BACKOFF);
    options.metrics.maxConcurrentReconciles.set({ controller: options.name }, options.workers);
    options.informer.onChange((event, obj, old) => {
      if (event === 'updated' && old && !worthReconciling(obj, old)) return;
      this.queue.add(objectKey(obj));
    });
  }

  get name(): string {
    return this.options.name;
  }

  /**
   * A secondary watch (controller-runtime's EnqueueRequestsFromMapFunc): events on another cache
   * (or on this kind, for relations between objects of one kind) queue the keys `map` returns,
   * those of objects this controller's cache holds: when sharded, a key may name another
   * shard's object, which that shard's controller reconciles (its own watch queues it there).
   */
  watches<S extends KubeObject>(cache: ObjectCache<S>, map: MapToKeys<S>): this {
    cache.onChange((event, obj, old) => {
      for (const key of map(event, obj, old)) if (this.options.informer.get(key)) this.queue.add(key);
    });
    return this;
  }

  /** Starts the workers (on the leader only) and queues every cached object once. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const key of this.options.informer.keys()) this.queue.add(key);
    for (let i = 0; i < this.options.workers; i++) this.workers.push(this.work());
  }

  /**
   * Hands out no new work and waits for in-flight reconciles, at most timeoutMs; then aborts
   * their signals, so that calls still waiting on Azure or Kubernetes are abandoned.
   */
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
    if (!finished) this.shutdown.abort(new Error(`shutdown: in-flight reconciles did not finish within ${timeoutMs} ms`));
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
    const signal = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.options.reconcileTimeoutMs)]);
    try {
      const result = await this.options.reconciler.reconcile({ namespace, name: objectName }, { logger, reconcileId, signal });
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
      const backoff = this.backoff.next(key);
      const delay = err instanceof BackoffError && err.maxDelayMs !== undefined ? Math.min(backoff, Math.max(0, err.maxDelayMs)) : backoff;
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
    !isDeepStrictEqual(a.annotations ?? {}, b.annotations ?? {}) ||
    !isDeepStrictEqual(a.labels ?? {}, b.labels ?? {})
  );
}

/** A period with ±10% jitter. */
export function jitter(ms: number): number {
  return Math.round(ms * (0.9 + Math.random() * 0.2));
}
