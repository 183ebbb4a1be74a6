// Client-side pacing of ARM requests, so that a bulk import does not become a storm of 429s: one
// token bucket (token-bucket.ts) per subscription, calling principal and kind of request, as ARM
// keys its own (ARM's third key, the region of the ARM instance serving a request, cannot be seen
// by a client: leaving it out is the conservative choice, one bucket where ARM may have several).
// A request waits for its token inside the SDK pipeline when the wait is short; a longer wait
// fails at once, shaped like the 429 it avoids, so that the object is requeued after exactly that
// wait and no worker sleeps long. What ARM reports as left (x-ms-ratelimit-remaining-*) lowers a
// bucket, so requests made by another client with the same principal, or by this operator before
// it restarted, are counted too.
import type { PipelinePolicy, PipelineRequest, PipelineResponse } from '@azure/core-rest-pipeline';
import { PACED_CODE } from './errors.js';
import { TokenBucket, type Budget } from './token-bucket.js';

export type RequestKind = 'read' | 'write' | 'delete';

export interface PacingBudgets {
  reads: Budget;
  writes: Budget;
  deletes: Budget;
}

/**
 * The longest a request waits for its token inside the pipeline. Longer waits are handed back to
 * the work queue instead: a reconcile makes several calls in a row and has a deadline (a minute by
 * default, --reconcile-timeout), and a worker held for long does nothing for the other objects.
 * 3 s covers 24 queued writes at the default refill of 8 per second, more than one worker pool's
 * worth of concurrent reconciles (10), so that waits are taken in the pipeline in the common case
 * and only a real backlog goes back to the queue.
 */
export const PACING_MAX_WAIT_MS = 3_000;

/** ARM's kinds: reads (GET, HEAD), writes (PUT, PATCH, POST), deletes. */
export function requestKind(method: string): RequestKind {
  const m = method.toUpperCase();
  if (m === 'GET' || m === 'HEAD') return 'read';
  if (m === 'DELETE') return 'delete';
  return 'write';
}

const REMAINING_HEADERS: Record<RequestKind, string> = {
  read: 'x-ms-ratelimit-remaining-subscription-reads',
  write: 'x-ms-ratelimit-remaining-subscription-writes',
  delete: 'x-ms-ratelimit-remaining-subscription-deletes',
};

export function subscriptionOf(url: string): string {
  return /\/subscriptions\/([^/?]+)/i.exec(new URL(url).pathname)?.[1]?.toLowerCase() ?? '(tenant)';
}

/**
 * Thrown when pacing would make a request wait too long; shaped like the SDK's RestError for a 429.
 * retryAfterMs is the wait for the next token plus up to half of it more, at random: every object
 * refused by one bucket would otherwise come back at the same moment and most be refused again.
 * The message names no time, so an object waiting for its turn again and again writes its status
 * once (status is written only when it changes).
 */
export class PacedLocallyError extends Error {
  readonly statusCode = 429;
  readonly code = PACED_CODE;
  readonly retryAfterMs: number;
  constructor(
    /** The wait (ms) until the bucket has a token. */
    readonly waitMs: number,
    kind: RequestKind,
    random: () => number = Math.random,
  ) {
    super(`the operator paces its ${kind}s in this subscription to stay within ARM's request budget, and waits for its turn`);
    this.name = 'RestError';
    this.retryAfterMs = waitMs + Math.floor(random() * (waitMs / 2));
  }
}

export class Pacer {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly budgets: PacingBudgets,
    private readonly now: () => number = Date.now,
  ) {}

  private bucket(principal: string, subscription: string, kind: RequestKind): TokenBucket {
    const key = `${subscription}|${principal}|${kind}`;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(kind === 'read' ? this.budgets.reads : kind === 'write' ? this.budgets.writes : this.budgets.deletes, this.now());
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  /** Takes a token when the wait for it is at most maxWaitMs; see TokenBucket.take. */
  take(principal: string, subscription: string, kind: RequestKind, maxWaitMs: number) {
    return this.bucket(principal, subscription, kind).take(this.now(), maxWaitMs);
  }

  /** Lowers the buckets to what ARM says is left for this principal in this subscription. */
  learn(principal: string, subscription: string, headers: { get(name: string): string | undefined }): void {
    for (const kind of ['read', 'write', 'delete'] as const) {
      const value = headers.get(REMAINING_HEADERS[kind]);
      if (value === undefined || !/^\d+$/.test(value.trim())) continue;
      this.bucket(principal, subscription, kind).atMost(this.now(), Number(value));
    }
  }
}

function abortError(): Error {
  const err = new Error('The operation was aborted.');
  err.name = 'AbortError';
  return err;
}

/** Resolves after ms; rejects with an AbortError when signal aborts first (as the SDK's own waits do). */
function delay(ms: number, signal: PipelineRequest['abortSignal']): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The pipeline policy of one SDK client, whose credential is `principal` (clients.ts builds one
 * client per credential and subscription; the key names the credential without decoding tokens).
 * `beforeSend` runs again after a wait (the Retry-After gate may have closed meanwhile).
 */
export function pacingPolicy(pacer: Pacer, principal: string, beforeSend: (url: string) => void = () => {}, maxWaitMs = PACING_MAX_WAIT_MS): PipelinePolicy {
  return {
    name: 'gallerySharePacing',
    async sendRequest(request, next): Promise<PipelineResponse> {
      const subscription = subscriptionOf(request.url);
      const kind = requestKind(request.method);
      const take = pacer.take(principal, subscription, kind, maxWaitMs);
      if (!take.taken) throw new PacedLocallyError(take.waitMs, kind);
      if (take.waitMs > 0) {
        await delay(take.waitMs, request.abortSignal);
        beforeSend(request.url);
      }
      const response = await next(request);
      pacer.learn(principal, subscription, response.headers);
      return response;
    },
  };
}
