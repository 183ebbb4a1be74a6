// A ListerWatcher the tests play the API server with: it lists `objects` in pages of the asked
// limit, fails the next lists on request, and records every watch so that a test can send its
// events, end it, or see that the informer aborted it.
import type { KubeObject } from '../../src/runtime/informer.js';
import type { ListerWatcher, ListOptions, ListPage, WatchEvent, WatchOptions } from '../../src/runtime/list-watch.js';

export class FakeWatch<T extends KubeObject> {
  aborted = false;

  constructor(
    readonly options: WatchOptions,
    private readonly onEvent: (event: WatchEvent<T>) => void,
    private readonly onDone: (err?: unknown) => void,
  ) {}

  added(object: T): void {
    this.onEvent({ type: 'ADDED', object });
  }
  modified(object: T): void {
    this.onEvent({ type: 'MODIFIED', object });
  }
  deleted(object: T): void {
    this.onEvent({ type: 'DELETED', object });
  }
  bookmark(resourceVersion: string): void {
    this.onEvent({ type: 'BOOKMARK', object: { metadata: { resourceVersion } } });
  }
  error(code: number, reason = 'Expired'): void {
    this.onEvent({ type: 'ERROR', object: { code, reason, message: `${reason} (${code})` } });
  }
  /** The server closes the watch: cleanly without err, as a failure with it. */
  end(err?: unknown): void {
    this.onDone(err);
  }
}

export class FakeListerWatcher<T extends KubeObject> implements ListerWatcher<T> {
  /** What the server holds. */
  objects: T[] = [];
  resourceVersion = '1';
  /** Thrown by the next lists, one each, in order. */
  listFailures: Error[] = [];
  readonly lists: ListOptions[] = [];
  readonly watches: FakeWatch<T>[] = [];

  list(options: ListOptions): Promise<ListPage<T>> {
    this.lists.push(options);
    const failure = this.listFailures.shift();
    if (failure) return Promise.reject(failure);
    const start = Number(options.continue ?? 0);
    const end = start + options.limit;
    return Promise.resolve({
      items: this.objects.slice(start, end),
      resourceVersion: this.resourceVersion,
      continue: end < this.objects.length ? String(end) : undefined,
    });
  }

  watch(options: WatchOptions, onEvent: (event: WatchEvent<T>) => void, onDone: (err?: unknown) => void): { abort(): void } {
    const watch = new FakeWatch<T>(options, onEvent, onDone);
    this.watches.push(watch);
    return { abort: () => (watch.aborted = true) };
  }

  /** The latest watch. */
  get current(): FakeWatch<T> {
    const watch = this.watches.at(-1);
    if (!watch) throw new Error('no watch started yet');
    return watch;
  }
}
