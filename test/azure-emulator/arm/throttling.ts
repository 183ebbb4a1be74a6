// ARM's request throttling as Azure has done it since 2024: token buckets per subscription and
// calling principal (and region: the emulator is one ARM region), one bucket for each kind of
// request (reads, writes, deletes), under a wider global bucket per subscription and kind shared
// by every principal. Buckets refill on emulator time, so advanceClock refills them. What is left
// is reported on every answer from the throttling step on (x-ms-ratelimit-remaining-*), counted
// even when throttling is off; 429 with Retry-After and ARM's body only when it is enabled.
import type { ThrottlingOptions } from '../options.js';
import { ArmError } from './errors.js';

/** How ARM classifies a request: GET and HEAD read, DELETE deletes, everything else (PUT, PATCH, POST actions) writes. */
export type RequestKind = 'read' | 'write' | 'delete';

export function requestKind(method: string): RequestKind {
  const m = method.toUpperCase();
  if (m === 'GET' || m === 'HEAD') return 'read';
  if (m === 'DELETE') return 'delete';
  return 'write';
}

interface Bucket {
  /** Tokens in the bucket when last updated (fractional while refilling). */
  tokens: number;
  updatedAt: number;
}

interface BucketSize {
  size: number;
  refillPerSecond: number;
}

/** The size and refill rate of the principal's and the global bucket for one kind of request. */
export function bucketSizes(options: ThrottlingOptions, kind: RequestKind): { principal: BucketSize; global: BucketSize } {
  switch (kind) {
    case 'read':
      return { principal: { size: options.reads, refillPerSecond: options.readsPerSecond }, global: { size: options.globalReads, refillPerSecond: options.globalReadsPerSecond } };
    case 'write':
      return { principal: { size: options.writes, refillPerSecond: options.writesPerSecond }, global: { size: options.globalWrites, refillPerSecond: options.globalWritesPerSecond } };
    case 'delete':
      return { principal: { size: options.deletes, refillPerSecond: options.deletesPerSecond }, global: { size: options.globalDeletes, refillPerSecond: options.globalDeletesPerSecond } };
  }
}

/** Where the request is counted: a subscription, or (requests without one) the caller's tenant. */
export type ThrottleScope = { subscriptionId: string } | { tenantId: string };

export class Throttle {
  private readonly buckets = new Map<string, Bucket>();

  reset(): void {
    this.buckets.clear();
  }

  /** Tokens in a bucket now (refilled up to its size since it was last used; a new bucket is full). */
  private level(key: string, size: BucketSize, now: number): Bucket {
    const bucket = this.buckets.get(key) ?? { tokens: size.size, updatedAt: now };
    const refilled = Math.min(size.size, bucket.tokens + (Math.max(0, now - bucket.updatedAt) / 1000) * size.refillPerSecond);
    const current = { tokens: refilled, updatedAt: now };
    this.buckets.set(key, current);
    return current;
  }

  /**
   * Counts one request against the caller's bucket and the subscription's global bucket of its
   * kind; returns the headers to send, or throws the 429 when throttling is on and either bucket
   * has no token (a refused request takes none).
   */
  take(options: ThrottlingOptions, scope: ThrottleScope, caller: string, kind: RequestKind, now: number): Record<string, string> {
    const sizes = bucketSizes(options, kind);
    const scopeKey = 'subscriptionId' in scope ? `subscription:${scope.subscriptionId.toLowerCase()}` : `tenant:${scope.tenantId.toLowerCase()}`;
    const principal = this.level(`${scopeKey}|${caller.toLowerCase()}|${kind}`, sizes.principal, now);
    // Tenant-level requests have no documented global bucket: only the principal's counts.
    const global = 'subscriptionId' in scope ? this.level(`${scopeKey}|*|${kind}`, sizes.global, now) : undefined;
    const headers = (): Record<string, string> =>
      'subscriptionId' in scope
        ? {
            [`x-ms-ratelimit-remaining-subscription-${kind}s`]: String(Math.floor(principal.tokens)),
            [`x-ms-ratelimit-remaining-subscription-global-${kind}s`]: String(Math.floor(global!.tokens)),
          }
        : { [`x-ms-ratelimit-remaining-tenant-${kind}s`]: String(Math.floor(principal.tokens)) };
    if (options.enabled && (principal.tokens < 1 || (global && global.tokens < 1))) {
      // Seconds until both buckets hold a token again: whole seconds, rounded up, at least 1.
      const wait = (bucket: Bucket | undefined, size: BucketSize): number => (!bucket || bucket.tokens >= 1 ? 0 : (1 - bucket.tokens) / size.refillPerSecond);
      const retryAfter = Math.max(1, Math.ceil(Math.max(wait(principal, sizes.principal), wait(global, sizes.global)) - 1e-9));
      const who = 'subscriptionId' in scope ? `subscription '${scope.subscriptionId}'` : `tenant '${scope.tenantId}'`;
      const globalOnly = principal.tokens >= 1;
      throw new ArmError(
        429,
        'subscriptionId' in scope ? 'SubscriptionRequestsThrottled' : 'TenantRequestsThrottled',
        globalOnly
          ? `Number of '${kind}' requests for ${who} exceeded. Please try again after '${retryAfter}' seconds.`
          : `Number of '${kind}' requests for ${who} actor '${caller}' exceeded. Please try again after '${retryAfter}' seconds.`,
        { 'retry-after': String(retryAfter), ...headers() },
      );
    }
    // Counted whether or not throttling is enforced; off, an empty bucket stays at 0.
    principal.tokens = Math.max(0, principal.tokens - 1);
    if (global) global.tokens = Math.max(0, global.tokens - 1);
    return headers();
  }
}
