// An informer (client-go's reflector and indexer in one): lists a kind, then watches it from the
// list's resourceVersion, keeping an indexed cache that reconcilers read and calling a handler for
// each change. It relists when the watch answers 410 Gone (the resourceVersion is too old),
// restarts a watch that ends, and restarts a watch that has gone quiet for longer than the
// server's own timeout allows (client-node watches have been seen to stall without an error).
// Bookmarks keep the resourceVersion fresh. The API server is reached through a ListerWatcher and
// time through a Clock, so all of this is tested without either.
import type { Logger } from 'pino';
import type { ObjectMeta } from '../api/v1alpha1/common.js';
import { PerKeyBackoff, type BackoffOptions } from './backoff.js';
import { realClock, type Clock } from './clock.js';
import type { ListerWatcher, WatchEvent } from './list-watch.js';
import { IndexedStore, type IndexFunc } from './store.js';

export type { IndexFunc } from './store.js';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

/**
 * The one key of an object, `namespace/name` (`/name` when cluster-scoped): the cache's key, the
 * work queue's key, and an index value that names another object (client-go's
 * MetaNamespaceKeyFunc).
 */
export const objectKey = (obj: { metadata: Pick<ObjectMeta, 'namespace' | 'name'> }): string => `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;

export type InformerEvent = 'added' | 'updated' | 'deleted';
export type WatchRestartReason = 'ended' | 'gone' | 'stalled' | 'error';

/**
 * List and watch failures back off per kind of call, from half a second to half a minute, with
 * jitter so that the informers of a restarted API server's clients do not all return at once.
 */
export const INFORMER_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 30_000, jitter: 0.1 };

export interface InformerOptions<T> {
  listerWatcher: ListerWatcher<T>;
  logger: Logger;
  clock?: Clock;
  /** Jitter for watch timeouts and backoff; Math.random unless a test fixes it. */
  random?: () => number;
  backoff?: BackoffOptions;
  /** Server-side watch timeout; each watch gets up to 20% jitter on top. */
  watchTimeoutSeconds?: number;
  /** A watch with no line for this long beyond its timeout is considered stalled. */
  stallGraceMs?: number;
  listPageSize?: number;
  onWatchRestart?: (reason: WatchRestartReason) => void;
}

/** What controllers and reconcilers read: one informer, or several (one per watched namespace). */
export interface ObjectCache<T extends KubeObject> {
  get(key: string): T | undefined;
  list(): T[];
  keys(): string[];
  /** The objects the named index files under value; throws for an index never added. */
  byIndex(indexName: string, value: string): T[];
  onChange(handler: (event: InformerEvent, obj: T, old?: T) => void): void;
}

/** A cache indexes are added to (client-go's Indexer): an informer, or several read as one. */
export interface IndexedCache<T extends KubeObject> extends ObjectCache<T> {
  addIndex(name: string, indexFunc: IndexFunc<T>): void;
}

/** Several informers read as one cache (namespaces are disjoint, so keys never collide). */
export class CombinedCache<T extends KubeObject> implements IndexedCache<T> {
  constructor(private readonly informers: readonly IndexedCache<T>[]) {}
  get(key: string): T | undefined {
    for (const informer of this.informers) {
      const found = informer.get(key);
      if (found) return found;
    }
    return undefined;
  }
  list(): T[] {
    return this.informers.flatMap((i) => i.list());
  }
  keys(): string[] {
    return this.informers.flatMap((i) => i.keys());
  }
  addIndex(name: string, indexFunc: IndexFunc<T>): void {
    for (const informer of this.informers) informer.addIndex(name, indexFunc);
  }
  byIndex(indexName: string, value: string): T[] {
    return this.informers.flatMap((i) => i.byIndex(indexName, value));
  }
  onChange(handler: (event: InformerEvent, obj: T, old?: T) => void): void {
    for (const informer of this.informers) informer.onChange(handler);
  }
}

interface WatchOutcome {
  resourceVersion: string;
  reason: WatchRestartReason;
  /** Ended within a second without a single event: a server or proxy refusing to watch (client-go backs off on it too). */
  tooShort: boolean;
}

const LIST = 'list';
const WATCH = 'watch';

export class Informer<T extends KubeObject> implements IndexedCache<T> {
  private readonly store: IndexedStore<T>;
  private readonly handlers: ((event: InformerEvent, obj: T, old?: T) => void)[] = [];
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly backoff: PerKeyBackoff;
  /** Aborted by stop(): wakes a backoff sleep at once. */
  private readonly stopping = new AbortController();
  private stopped = false;
  private synced = false;
  /** Ends the current watch attempt at once, even one still connecting (for stop()). */
  private abandonWatch: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private syncWaiters: (() => void)[] = [];

  constructor(private readonly options: InformerOptions<T>) {
    this.clock = options.clock ?? realClock;
    this.random = options.random ?? Math.random;
    this.backoff = new PerKeyBackoff(options.backoff ?? INFORMER_BACKOFF, this.random);
    this.store = new IndexedStore<T>((index, key, err) => options.logger.error({ err: describe(err), index, key }, 'index function threw; the object is missing from that index'));
  }

  onChange(handler: (event: InformerEvent, obj: T, old?: T) => void): void {
    this.handlers.push(handler);
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(): T[] {
    return this.store.list();
  }

  keys(): string[] {
    return this.store.keys();
  }

  addIndex(name: string, indexFunc: IndexFunc<T>): void {
    this.store.addIndex(name, indexFunc);
  }

  byIndex(indexName: string, value: string): T[] {
    return this.store.byIndex(indexName, value);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Starts listing and watching; resolves once the first list is in the cache (or on stop()). */
  async start(): Promise<void> {
    this.running = this.run();
    if (this.synced) return;
    await new Promise<void>((resolve) => this.syncWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    this.abandonWatch?.();
    for (const resolve of this.syncWaiters.splice(0)) resolve();
    await this.running;
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    while (!this.stopped) {
      let resourceVersion: string | undefined;
      try {
        resourceVersion = await this.relist();
      } catch (err) {
        if (this.stopped) return;
        const delay = this.backoff.next(LIST);
        this.options.logger.warn({ err: describe(err), retryInMs: delay }, 'list failed; retrying');
        await this.clock.sleep(delay, signal);
        continue;
      }
      if (resourceVersion === undefined) return; // stopped while listing
      this.backoff.forget(LIST);
      for (;;) {
        if (this.stopped) return;
        const outcome = await this.watchOnce(resourceVersion);
        if (this.stopped) return;
        this.options.onWatchRestart?.(outcome.reason);
        resourceVersion = outcome.resourceVersion;
        if (outcome.reason === 'gone') break;
        if (outcome.reason === 'error' || outcome.tooShort) await this.clock.sleep(this.backoff.next(WATCH), signal);
        else this.backoff.forget(WATCH);
      }
    }
  }

  /**
   * Lists every page, replaces the cache, and reports the differences as events; undefined when
   * stopped meanwhile (the cache is then left as it was).
   */
  private async relist(): Promise<string | undefined> {
    const limit = this.options.listPageSize ?? 500;
    const fresh = new Map<string, T>();
    let continueToken: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.options.listerWatcher.list({ limit, continue: continueToken });
      if (this.stopped) return undefined;
      for (const item of page.items) fresh.set(objectKey(item), item);
      resourceVersion = page.resourceVersion;
      continueToken = page.continue || undefined;
    } while (continueToken);

    for (const key of this.store.keys()) {
      if (fresh.has(key)) continue;
      const old = this.store.delete(key)!;
      this.emit('deleted', old);
    }
    for (const [key, obj] of fresh) {
      const old = this.store.set(key, obj);
      if (!old) this.emit('added', obj);
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.emit('updated', obj, old);
    }
    if (!this.synced) {
      this.synced = true;
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
    return resourceVersion;
  }

  private watchOnce(resourceVersion: string): Promise<WatchOutcome> {
    const timeoutSeconds = Math.round((this.options.watchTimeoutSeconds ?? 300) * (1 + this.random() * 0.2));
    const stallMs = timeoutSeconds * 1000 + (this.options.stallGraceMs ?? 30_000);
    const startedAt = this.clock.now();
    let latest = resourceVersion;
    let events = 0;
    return new Promise<WatchOutcome>((resolve) => {
      // Once settled, nothing from this watch touches the cache: a watch given up (watchdog,
      // stop) may still deliver events before its abort takes effect.
      let settled = false;
      let watchdog: { cancel(): void } | undefined;
      // Assigned once watch() returns; finish() may run before that (a watch that fails at once).
      let watch: { abort(): void } | undefined = undefined;
      const finish = (reason: WatchRestartReason) => {
        if (settled) return;
        settled = true;
        watchdog?.cancel();
        watch?.abort();
        this.abandonWatch = undefined;
        const tooShort = reason === 'ended' && events === 0 && this.clock.now() - startedAt < 1_000;
        resolve({ resourceVersion: latest, reason, tooShort });
      };
      const armWatchdog = () => {
        watchdog?.cancel();
        watchdog = this.clock.setTimeout(() => {
          this.options.logger.warn({ quietMs: stallMs }, 'watch went quiet; restarting it');
          finish('stalled');
        }, stallMs);
      };
      const onEvent = (event: WatchEvent<T>) => {
        if (settled) return;
        armWatchdog();
        if (event.type === 'ERROR') {
          if (event.object.code === 410) return finish('gone');
          this.options.logger.warn({ code: event.object.code, reason: event.object.reason, err: event.object.message }, 'watch failed; restarting it');
          return finish('error');
        }
        const rv = event.object.metadata?.resourceVersion;
        if (rv) latest = rv;
        if (event.type === 'BOOKMARK') return;
        events++;
        const obj = event.object;
        const key = objectKey(obj);
        if (event.type === 'DELETED') {
          this.store.delete(key);
          this.emit('deleted', obj);
        } else {
          const old = this.store.set(key, obj);
          this.emit(old ? 'updated' : 'added', obj, old);
        }
      };
      const onDone = (err?: unknown) => {
        if (settled) return;
        if (!err) return finish('ended');
        if (statusCodeOf(err) === 410) return finish('gone');
        this.options.logger.warn({ err: describe(err) }, 'watch failed; restarting it');
        finish('error');
      };
      armWatchdog();
      this.abandonWatch = () => finish('ended');
      watch = this.options.listerWatcher.watch({ resourceVersion, timeoutSeconds }, onEvent, onDone);
      // The watch may have ended before watch() returned (a fake, or a synchronous failure).
      if (settled) watch.abort();
    });
  }

  private emit(event: InformerEvent, obj: T, old?: T): void {
    for (const handler of this.handlers) {
      try {
        handler(event, obj, old);
      } catch (err) {
        this.options.logger.error({ err: describe(err) }, 'informer handler threw');
      }
    }
  }
}

/** The HTTP status of a failed request: KubeApiError and client-node's watch errors both carry statusCode. */
function statusCodeOf(err: unknown): number | undefined {
  const code = (err as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
