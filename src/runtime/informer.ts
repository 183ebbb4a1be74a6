// An informer: lists a kind, then watches it from the list's resourceVersion, keeping a cache
// that reconcilers read and calling a handler for each change. It relists when the watch answers
// 410 Gone (the resourceVersion is too old), restarts a watch that ends, and restarts a watch that
// has gone quiet for longer than the server's own timeout allows (client-node watches have been
// seen to stall without an error). Bookmarks keep the resourceVersion fresh.
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { ObjectMeta } from '../api/v1alpha1/common.js';
import type { KubeClient } from './kube-client.js';
import { isGone } from './kube-client.js';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

export type InformerEvent = 'added' | 'updated' | 'deleted';

export interface InformerOptions {
  kc: KubeConfig;
  client: KubeClient;
  /** Collection path: /apis/<group>/<version>/<plural> or .../namespaces/<ns>/<plural>. */
  path: string;
  logger: Logger;
  /** Server-side watch timeout; each watch gets up to 20% jitter on top. */
  watchTimeoutSeconds?: number;
  /** A watch with no line for this long beyond its timeout is considered stalled. */
  stallGraceMs?: number;
  listPageSize?: number;
  onWatchRestart?: (reason: 'ended' | 'gone' | 'stalled' | 'error') => void;
}

export const objectKey = (obj: KubeObject): string => `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;

interface WatchOutcome {
  resourceVersion: string;
  reason: 'ended' | 'gone' | 'stalled' | 'error';
}

/** What controllers and reconcilers read: one informer, or several (one per watched namespace). */
export interface ObjectCache<T extends KubeObject> {
  get(key: string): T | undefined;
  list(): T[];
  keys(): string[];
  onChange(handler: (event: InformerEvent, obj: T, old?: T) => void): void;
}

/** Several informers read as one cache (namespaces are disjoint, so keys never collide). */
export class CombinedCache<T extends KubeObject> implements ObjectCache<T> {
  constructor(private readonly informers: readonly ObjectCache<T>[]) {}
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
  onChange(handler: (event: InformerEvent, obj: T, old?: T) => void): void {
    for (const informer of this.informers) informer.onChange(handler);
  }
}

export class Informer<T extends KubeObject> implements ObjectCache<T> {
  private readonly cache = new Map<string, T>();
  private readonly handlers: ((event: InformerEvent, obj: T, old?: T) => void)[] = [];
  private stopped = false;
  private synced = false;
  private currentWatch: AbortController | undefined;
  /** Ends the current watch attempt at once, even one still connecting (for stop()). */
  private abandonWatch: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private syncWaiters: (() => void)[] = [];

  constructor(private readonly options: InformerOptions) {}

  onChange(handler: (event: InformerEvent, obj: T, old?: T) => void): void {
    this.handlers.push(handler);
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  keys(): string[] {
    return [...this.cache.keys()];
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Starts listing and watching; resolves once the first list is in the cache. */
  async start(): Promise<void> {
    this.running = this.run();
    if (this.synced) return;
    await new Promise<void>((resolve) => this.syncWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.currentWatch?.abort();
    this.abandonWatch?.();
    for (const resolve of this.syncWaiters.splice(0)) resolve();
    await this.running;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        let resourceVersion = await this.relist();
        failures = 0;
        for (;;) {
          if (this.stopped) return;
          const outcome = await this.watchOnce(resourceVersion);
          if (this.stopped) return;
          this.options.onWatchRestart?.(outcome.reason);
          resourceVersion = outcome.resourceVersion;
          if (outcome.reason === 'gone') break;
          if (outcome.reason === 'error') await sleep(Math.min(30_000, 500 * 2 ** Math.min(failures++, 6)));
          else failures = 0;
        }
      } catch (err) {
        if (this.stopped) return;
        const delay = Math.min(30_000, 500 * 2 ** Math.min(failures++, 6));
        this.options.logger.warn({ err: describe(err), path: this.options.path, retryInMs: delay }, 'list failed; retrying');
        await sleep(delay);
      }
    }
  }

  /** Lists every page, replaces the cache, and reports the differences as events. */
  private async relist(): Promise<string> {
    const limit = this.options.listPageSize ?? 500;
    const fresh = new Map<string, T>();
    let continueToken: string | undefined;
    let resourceVersion = '';
    do {
      const query = new URLSearchParams({ limit: String(limit) });
      if (continueToken) query.set('continue', continueToken);
      const page = await this.options.client.get<{ items: T[]; metadata: { resourceVersion: string; continue?: string } }>(`${this.options.path}?${query.toString()}`);
      for (const item of page.items) fresh.set(objectKey(item), item);
      resourceVersion = page.metadata.resourceVersion;
      continueToken = page.metadata.continue || undefined;
    } while (continueToken);

    for (const [key, old] of this.cache) {
      if (!fresh.has(key)) {
        this.cache.delete(key);
        this.emit('deleted', old);
      }
    }
    for (const [key, obj] of fresh) {
      const old = this.cache.get(key);
      this.cache.set(key, obj);
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
    const timeoutSeconds = Math.round((this.options.watchTimeoutSeconds ?? 300) * (1 + Math.random() * 0.2));
    const stallMs = timeoutSeconds * 1000 + (this.options.stallGraceMs ?? 30_000);
    let latest = resourceVersion;
    let outcome: WatchOutcome['reason'] = 'ended';
    return new Promise<WatchOutcome>((resolve) => {
      let settled = false;
      let watchdog: NodeJS.Timeout | undefined;
      const finish = (reason: WatchOutcome['reason']) => {
        if (settled) return;
        settled = true;
        clearTimeout(watchdog);
        resolve({ resourceVersion: latest, reason });
      };
      this.abandonWatch = () => finish('ended');
      const armWatchdog = () => {
        clearTimeout(watchdog);
        watchdog = setTimeout(() => {
          outcome = 'stalled';
          this.options.logger.warn({ path: this.options.path, quietMs: stallMs }, 'watch went quiet; restarting it');
          this.currentWatch?.abort();
          finish('stalled');
        }, stallMs);
        watchdog.unref();
      };
      armWatchdog();
      // client-node hands out a watch's abort controller only once the response has begun, so a
      // watch can be given up (watchdog, stop) while still connecting: it must never touch the
      // cache afterwards, and is aborted as soon as its controller arrives.
      this.currentWatch = undefined;
      new Watch(this.options.kc)
        .watch(
          this.options.path,
          { resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
          (type: string, obj: T & { code?: number }) => {
            if (settled) return;
            armWatchdog();
            if (type === 'ERROR') {
              if (obj.code === 410) outcome = 'gone';
              else outcome = 'error';
              this.currentWatch?.abort();
              return;
            }
            const rv = obj.metadata?.resourceVersion;
            if (rv) latest = rv;
            if (type === 'BOOKMARK') return;
            const key = objectKey(obj);
            const old = this.cache.get(key);
            if (type === 'DELETED') {
              this.cache.delete(key);
              this.emit('deleted', obj);
            } else {
              this.cache.set(key, obj);
              this.emit(old ? 'updated' : 'added', obj, old);
            }
          },
          (err: unknown) => {
            if (err && outcome === 'ended' && !this.stopped) {
              outcome = isGone(err) || (err as { statusCode?: number }).statusCode === 410 ? 'gone' : 'error';
              if (outcome === 'error') this.options.logger.warn({ err: describe(err), path: this.options.path }, 'watch failed; restarting it');
            }
            finish(outcome);
          },
        )
        .then((controller) => {
          if (settled || this.stopped) controller.abort();
          else this.currentWatch = controller;
        })
        .catch(() => finish('error'));
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
