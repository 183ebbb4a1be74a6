// Per-key exponential backoff for failed reconciles: the delay doubles with each consecutive
// failure of the same key, up to a cap, and resets when the key succeeds (forget). A little
// jitter keeps many keys that failed together from retrying together.
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  /** Fraction of the delay added at random, 0 for none. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 5 * 60_000, jitter: 0.1 };

export class PerKeyBackoff {
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly options: BackoffOptions = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next retry of key, counting this failure. */
  next(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    const exponential = Math.min(this.options.maxMs, this.options.baseMs * 2 ** Math.min(failures, 40));
    return Math.min(this.options.maxMs, Math.round(exponential * (1 + this.options.jitter * this.random())));
  }

  /** How many times key has failed in a row. */
  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }
}
