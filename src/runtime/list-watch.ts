// How an informer reaches the API server, behind an interface (client-go's ListerWatcher in
// tools/cache/listwatch.go): list one page of a collection, and watch it from a resourceVersion.
// The informer's logic (relist on 410, the watchdog, backoff) is tested against a fake of this
// interface; kubeListerWatcher is the real one, on the KubeClient and client-node's Watch.
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { inHashRange, shardSelector, type HashRange } from './hash-range.js';
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
 *
 * With a hash range (hash-range sharding), only the objects whose namespace hashes into it: the
 * list and the watch ask for them with a `shardSelector`, and every item and event is checked
 * here as well, always. For custom resources the API server never says whether it applied the
 * selector (no shardInfo on their lists), ignores it silently with the ShardedListAndWatch gate
 * off, and on 1.36 with the watch cache off sends every event of a watch whose only selector is
 * the shard selector (kubernetes/kubernetes#140510, fixed in 1.37). The filter here makes all of
 * that a matter of bandwidth, not of correctness, so no workaround (such as a dummy label
 * selector) is sent for the last one. A namespace never changes, so an object never moves into
 * or out of a range: dropping what is outside it leaves nothing stale in a cache.
 */
export function kubeListerWatcher<T>(kc: KubeConfig, client: KubeClient, path: string, labelSelector = '', range?: HashRange): ListerWatcher<T> {
  const selector: Record<string, string> = {
    ...(labelSelector ? { labelSelector } : {}),
    ...(range ? { shardSelector: shardSelector(range) } : {}),
  };
  const inRange = (object: unknown): boolean => !range || inHashRange((object as { metadata?: { namespace?: string } }).metadata?.namespace ?? '', range);
  return {
    async list({ limit, continue: token }) {
      const query = new URLSearchParams({ limit: String(limit), ...selector });
      if (token) query.set('continue', token);
      const page = await client.get<{ items: T[]; metadata: { resourceVersion: string; continue?: string } }>(`${path}?${query.toString()}`);
      return { items: page.items.filter(inRange), resourceVersion: page.metadata.resourceVersion, continue: page.metadata.continue || undefined };
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
            if (!WATCH_EVENT_TYPES.has(type)) return;
            if ((type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') && !inRange(object)) return;
            onEvent({ type, object } as WatchEvent<T>);
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
