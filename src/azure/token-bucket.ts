// A token bucket as ARM's request throttling works (a bucket of `size` requests, refilled at
// `refillPerSecond`), pure arithmetic with the time passed in, so that pacing (clients.ts) can be
// tested without waiting. It is kept as GCRA (the "virtual scheduling" form of a token bucket:
// one theoretical arrival time instead of a token count), in integers: time is scaled by the
// refill rate, so that one token is exactly 1000 units and no wait is ever rounded down.

/** A bucket's size and refill rate: whole numbers, so that its arithmetic is exact. */
export interface Budget {
  size: number;
  refillPerSecond: number;
}

/** The wait before a request may go; `taken` false when it would be longer than allowed (nothing taken then). */
export interface Take {
  waitMs: number;
  taken: boolean;
}

/** One token, in scaled time (ms × refill rate). */
const TOKEN = 1000;

export class TokenBucket {
  /**
   * The theoretical arrival time, in scaled time: the tokens at `now` are
   * size - max(0, tat - now) / TOKEN, so tat at or before now is a full bucket and each token
   * taken moves it one TOKEN later.
   */
  private tat: number;

  constructor(
    readonly budget: Budget,
    now: number,
  ) {
    if (!Number.isInteger(budget.size) || budget.size < 1 || !Number.isInteger(budget.refillPerSecond) || budget.refillPerSecond < 1) {
      throw new Error(`a token bucket needs a whole size and refill rate of at least 1 (got ${budget.size}, ${budget.refillPerSecond}/s)`);
    }
    this.tat = this.scaled(now);
  }

  private scaled(now: number): number {
    return Math.floor(now) * this.budget.refillPerSecond;
  }

  /** Tokens left at `now` (may be negative while requests wait for theirs). */
  tokens(now: number): number {
    return this.budget.size - Math.max(0, this.tat - this.scaled(now)) / TOKEN;
  }

  /** Milliseconds from `now` until a request could take a token; 0 when one is there. */
  waitMs(now: number): number {
    const s = this.scaled(now);
    // The request may go once tat is within size - 1 tokens of now.
    const goesAt = Math.max(this.tat, s) - (this.budget.size - 1) * TOKEN;
    return Math.max(0, Math.ceil((goesAt - s) / this.budget.refillPerSecond));
  }

  /**
   * Takes a token for a request that goes after the returned wait, when that wait is at most
   * `maxWaitMs`; otherwise takes nothing and returns the wait it would have had.
   */
  take(now: number, maxWaitMs: number): Take {
    const waitMs = this.waitMs(now);
    if (waitMs > maxWaitMs) return { waitMs, taken: false };
    // Counted at the whole millisecond it goes, not at the fraction where its token is back:
    // otherwise the next requests would be scheduled as if this one had gone a little earlier.
    this.tat = Math.max(this.tat, this.scaled(now + waitMs)) + TOKEN;
    return { waitMs, taken: true };
  }

  /**
   * Never more than `remaining` tokens at `now`: what the server reports as left (ARM's
   * x-ms-ratelimit-remaining-* headers) lowers the bucket when it is lower, so that requests made
   * by another process, or before this one started, are counted too. Never raises it.
   */
  atMost(now: number, remaining: number): void {
    const left = Math.max(0, Math.floor(remaining));
    if (left >= this.budget.size) return;
    this.tat = Math.max(this.tat, this.scaled(now) + (this.budget.size - left) * TOKEN);
  }
}
