// The project's one clock: everything in the runtime that waits or reads the time (the work
// queue's delays, the informer's watchdog and retries, leader election) goes through it, so that
// tests drive time by hand (test/support/fake-clock.ts) instead of sleeping. client-go injects
// k8s.io/utils/clock for the same reason.
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs fn once after ms; cancel() before then and it never runs. */
  setTimeout(fn: () => void, ms: number): { cancel(): void };
  /**
   * Resolves after ms, or at once when signal aborts (also when it is already aborted). It never
   * rejects: a loop that sleeps between attempts checks its own stop flag after waking, and an
   * abort is how stop() cuts the wait short.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** A sleep built on a clock's setTimeout; shared by the real clock and the fake one. */
export function sleepOn(clock: Pick<Clock, 'setTimeout'>, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const wake = () => {
      timer.cancel();
      resolve();
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', wake);
      resolve();
    }, ms);
    signal?.addEventListener('abort', wake, { once: true });
  });
}

/**
 * Wall-clock time and Node timers. Timers are unref'd: a pending delay (a requeue, a retry) must
 * not keep a process alive that has nothing else to do.
 */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
  sleep(ms, signal) {
    return sleepOn(realClock, ms, signal);
  },
};
