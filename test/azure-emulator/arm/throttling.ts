// ARM's request budgets: reads and writes per subscription and caller in a fixed window. The
// remaining budget is always reported (x-ms-ratelimit-remaining-subscription-*); 429 with
// Retry-After only when throttling is enabled.
import type { ThrottlingOptions } from '../options.js';
import { ArmError } from './errors.js';

interface Window {
  startedAt: number;
  reads: number;
  writes: number;
}

export class Throttle {
  private readonly windows = new Map<string, Window>();

  reset(): void {
    this.windows.clear();
  }

  /** Counts one request; returns the headers to send, or throws the 429 when over budget. */
  take(options: ThrottlingOptions, scopeKey: string, caller: string, kind: 'read' | 'write', now: number): Record<string, string> {
    const key = `${scopeKey.toLowerCase()}|${caller.toLowerCase()}`;
    let window = this.windows.get(key);
    if (!window || now - window.startedAt >= options.windowMs) {
      window = { startedAt: now, reads: 0, writes: 0 };
      this.windows.set(key, window);
    }
    const used = kind === 'read' ? window.reads : window.writes;
    const budget = kind === 'read' ? options.reads : options.writes;
    if (options.enabled && used >= budget) {
      const retryAfter = Math.max(1, Math.ceil((window.startedAt + options.windowMs - now) / 1000));
      throw new ArmError(
        429,
        'SubscriptionRequestsThrottled',
        `Number of '${kind}' requests for subscription '${scopeKey}' actor '${caller}' exceeded. Please try again after '${retryAfter}' seconds after the first request. The throttling is based on the subscription ID and the client ID of the caller.`,
        { 'retry-after': String(retryAfter), [`x-ms-ratelimit-remaining-subscription-${kind}s`]: '0' },
      );
    }
    if (kind === 'read') window.reads++;
    else window.writes++;
    return {
      'x-ms-ratelimit-remaining-subscription-reads': String(Math.max(0, options.reads - window.reads)),
      'x-ms-ratelimit-remaining-subscription-writes': String(Math.max(0, options.writes - window.writes)),
    };
  }
}
