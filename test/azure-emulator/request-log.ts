// What was asked of the emulator: one entry per request (never a token or a secret) and counters
// by operation, for tests that assert how the operator talks to Azure.

export interface RequestLogEntry {
  /** When the request was received (wall clock, ISO; advanceClock does not move it). */
  startTime: string;
  /** When it was answered (wall clock, ISO): startTime + durationMs. */
  time: string;
  method: string;
  path: string;
  /** Query string without the leading '?'. */
  query: string;
  status: number;
  /** ARM operation id (Galleries_Get) or Entra_* ; absent for unknown paths. */
  operation?: string;
  principalId?: string;
  tenantId?: string;
  appId?: string;
  /** The subscription in the path (ARM requests that name one). */
  subscriptionId?: string;
  /** Retry-After (seconds) of a 429 answer: how long the caller was asked to wait. */
  retryAfterSeconds?: number;
  /**
   * What an ARM write answered 2xx did: created, changed, unchanged (everything was already as
   * asked), deleted, absent (DELETE of something not there). Known when the request is answered,
   * also for long-running operations (their effect is decided then; see the README).
   */
  effect?: 'created' | 'changed' | 'unchanged' | 'deleted' | 'absent';
  /** Whether x-ms-authorization-auxiliary was sent. */
  auxiliary: boolean;
  durationMs: number;
  /** Id of the injected fault that shaped the answer. */
  faultId?: string;
}

export class RequestLog {
  private entries: RequestLogEntry[] = [];
  private readonly counters = new Map<string, number>();

  constructor(private readonly capacity = 20000) {}

  add(entry: RequestLogEntry): void {
    this.entries.push(entry);
    // Keep memory bounded in long sessions: drop the oldest half when full.
    if (this.entries.length > this.capacity) this.entries = this.entries.slice(this.entries.length - Math.floor(this.capacity / 2));
    const key = entry.operation ?? 'Unknown';
    this.counters.set(key, (this.counters.get(key) ?? 0) + 1);
  }

  list(): RequestLogEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }

  counts(): Record<string, number> {
    return Object.fromEntries([...this.counters.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  clear(): void {
    this.entries = [];
    this.counters.clear();
  }
}
