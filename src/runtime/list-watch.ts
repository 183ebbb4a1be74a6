// How an informer reaches the API server, behind an interface (client-go's ListerWatcher in
// tools/cache/listwatch.go): list one page of a collection, and watch it from a resourceVersion.
// The informer's logic (relist on 410, the watchdog, backoff) is tested against a fake of this
// interface; kubeListerWatcher is the real one, on the KubeClient and client-node's Watch.
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { KubeClient } from './kube-client.js';

export interface ListOptions {
  limit: number;
  /** The continue token of the previous page. */
  continue?: string;
}

export interface ListPage<T> {
  items: T[];
  /** The collection's resourceVersion, from which the watch resumes. */
  resourceVersion: string;
  /** Set when there are more pages. */
  continue?: string;
}

export interface WatchOptions {
  resourceVersion: string;
  /** Asked of the server, which then ends the watch cleanly after about this long. */
  timeoutSeconds: number;
}

/** A Status, as the API server sends it in an ERROR event (410 Expired when the resourceVersion is too old). */
export interface WatchStatus {
  code?: number;
  reason?: string;
  message?: string;
}

export type WatchEvent<T> =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: T }
  | { type: 'BOOKMARK'; object: { metadata?: { resourceVersion?: string } } }
  | { type: 'ERROR'; object: WatchStatus };

export interface ListerWatcher<T> {
  list(options: ListOptions): Promise<ListPage<T>>;
  /**
   * Starts a watch with bookmarks. onEvent gets each event; onDone is called once when the watch
   * ends: without an error when the server closed it, with one when it failed (one with
   * `statusCode: 410` when the resourceVersion is too old). abort() ends it at any time, even
   * while it is still connecting; events and onDone may still arrive after it, and are to be
   * ignored by the caller.
   */
  watch(options: WatchOptions, onEvent: (event: WatchEvent<T>) => void, onDone: (err?: unknown) => void): { abort(): void };
}

const WATCH_EVENT_TYPES = new Set(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);

/**
 * Lists through the KubeClient (raw JSON, paged) and watches with client-node's Watch; with a
 * label selector, only the objects it selects (a shard). The API server then sends an object
 * whose labels stop matching as DELETED, and one that starts matching as ADDED, so a cache
 * follows an object relabelled from one shard to another.
 */
export function kubeListerWatcher<T>(kc: KubeConfig, client: KubeClient, path: string, labelSelector = ''): ListerWatcher<T> {
  const selector: Record<string, string> = labelSelector ? { labelSelector } : {};
  return {
    async list({ limit, continue: token }) {
      const query = new URLSearchParams({ limit: String(limit), ...selector });
      if (token) query.set('continue', token);
      const page = await client.get<{ items: T[]; metadata: { resourceVersion: string; continue?: string } }>(`${path}?${query.toString()}`);
      return { items: page.items, resourceVersion: page.metadata.resourceVersion, continue: page.metadata.continue || undefined };
    },

    watch({ resourceVersion, timeoutSeconds }, onEvent, onDone) {
      // client-node hands out a watch's AbortController only once the response has begun, so a
      // watch given up while connecting (the watchdog, stop) is aborted as soon as it arrives.
      let controller: AbortController | undefined;
      let aborted = false;
      new Watch(kc)
        .watch(
          path,
          { resourceVersion, allowWatchBookmarks: true, timeoutSeconds, ...selector },
          (type: string, object: unknown) => {
            if (WATCH_EVENT_TYPES.has(type)) onEvent({ type, object } as WatchEvent<T>);
          },
          (err: unknown) => onDone(err ?? undefined),
        )
        .then(
          (c) => {
            if (aborted) c.abort();
            else controller = c;
          },
          (err: unknown) => onDone(err),
        );
      return {
        abort() {
          aborted = true;
          controller?.abort();
        },
      };
    },
  };
}
