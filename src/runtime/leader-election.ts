// Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: only the holder
// reconciles; it renews every retry period and gives up leadership if it cannot renew within the
// renew deadline; a standby takes the lease once the holder has not renewed for a lease duration
// (judged by this process's own clock from when it last saw the lease change, so clock skew
// between machines does not matter), trying again every retry period plus jitter so that
// standbys do not all ask at once; a holder that shuts down releases the lease at once. The
// timings are checked as client-go's NewLeaderElector checks them, and time is the Clock's, so
// tests move it by hand. A leader may also keep values on its Lease for the next leader
// (LeaseAnnotation): written with the renewals it makes anyway, read when a process takes over.
// Hash-range sharding campaigns for one of several Leases (the ranges'): each attempt tries them
// in turn from a random offset and takes the first one free or expired; the process then holds
// that one alone, with exactly the rules above, which is what fences a range: its holder stops
// (the process exits) after the renew deadline, before the lease duration a successor waits.
import type { Logger } from 'pino';
import { realClock, type Clock } from './clock.js';
import { isConflict, isNotFound, type KubeClient } from './kube-client.js';

/** client-go's leaderelection.JitterFactor: acquire retries wait up to this much of a retry period more. */
export const JITTER_FACTOR = 1.2;

export interface LeaderElectionTimings {
  /** How long a standby waits, from the last change of the lease it saw, before taking it over. */
  leaseDurationMs: number;
  /** How long the leader keeps trying to renew before it gives leadership up. */
  renewDeadlineMs: number;
  /** How often the leader renews and a standby tries to acquire (the latter with jitter). */
  retryPeriodMs: number;
}

/** client-go's defaults, as controller-runtime uses them. */
export const DEFAULT_LEADER_ELECTION_TIMINGS: LeaderElectionTimings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/**
 * The first rule the timings break, each timing shown by `label` (the options here; config.ts
 * shows its settings); undefined when they hold. The leader must give up (renew deadline) before
 * a standby may take over (lease duration), and must get more than one jittered retry within its
 * deadline.
 */
export function leaderElectionTimingsProblem(
  timings: LeaderElectionTimings,
  label: (key: keyof LeaderElectionTimings) => string = (key) => `${key} (${timings[key]} ms)`,
): string | undefined {
  for (const key of ['leaseDurationMs', 'renewDeadlineMs', 'retryPeriodMs'] as const) {
    if (!(timings[key] > 0)) return `${label(key)} must be greater than zero`;
  }
  if (timings.leaseDurationMs <= timings.renewDeadlineMs) return `${label('leaseDurationMs')} must be greater than ${label('renewDeadlineMs')}`;
  if (timings.renewDeadlineMs <= JITTER_FACTOR * timings.retryPeriodMs) {
    return `${label('renewDeadlineMs')} must be greater than ${JITTER_FACTOR} × ${label('retryPeriodMs')}`;
  }
  return undefined;
}

/** ms plus up to maxFactor × ms at random (client-go's wait.Jitter). */
export function jitter(ms: number, maxFactor: number, random: () => number): number {
  return ms + random() * maxFactor * ms;
}

/** The calls leader election makes; a KubeClient, or a fake in tests. */
export type LeaseClient = Pick<KubeClient, 'get' | 'create' | 'replace'>;

/**
 * A value the leader keeps on its Lease as an annotation, for whoever leads next: written with
 * every renewal (and the release), so it costs no write of its own and is at most a retry period
 * old; handed to a process when it takes the Lease, before it starts leading.
 */
export interface LeaseAnnotation {
  /** The annotation's key. */
  name: string;
  /** The value to keep now; undefined removes the annotation. */
  current(): string | undefined;
  /** The value the Lease held (the previous holder's) when this process takes it. */
  inherit(value: string | undefined): void;
  /**
   * Called once with a function the annotation calls when its value changes: the leader then
   * writes the Lease at once instead of at its next renewal (at most once per
   * EARLY_RENEWAL_GAP_MS), so that a value learned just before the process dies is not lost.
   */
  watch?(changed: () => void): void;
}

/**
 * The shortest time between two renewals when an annotation's value changed: a burst of changes
 * (a storm of 429s, each moving a Retry-After window) costs at most two Lease writes a second.
 */
export const EARLY_RENEWAL_GAP_MS = 500;

export interface LeaderElectionOptions extends Partial<LeaderElectionTimings> {
  client: LeaseClient;
  namespace: string;
  /** The Lease; with `names`, only what metrics and logs call the election. */
  name: string;
  /**
   * Leases to campaign for instead of `name` (hash-range sharding): the elector takes the first
   * one free or expired, trying them from a random offset, and holds at most one.
   */
  names?: readonly string[];
  identity: string;
  logger: Logger;
  clock?: Clock;
  /** The jitter's random source; Math.random unless a test fixes it. */
  random?: () => number;
  annotations?: readonly LeaseAnnotation[];
}

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string; annotations?: Record<string, string> };
  spec: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

const microTime = (ms: number) => new Date(ms).toISOString().replace('Z', '000Z');

export class LeaderElector {
  private readonly timings: LeaderElectionTimings;
  private readonly clock: Clock;
  private readonly random: () => number;
  /** Per Lease: its holder and renewTime as last seen, and when (this process's clock) they last changed. */
  private readonly observed = new Map<string, { holder: string; renewTime: string; at: number }>();
  private readonly candidates: readonly string[];
  /** The Lease this process holds or last held. */
  private held: string;
  private leading = false;
  private stopped = false;
  /** Aborted by stop(): wakes the loop's wait at once. */
  private readonly stopping = new AbortController();
  private lastRenew = 0;
  /** The current wait between renewals, which renewSoon() cuts short. */
  private wake: AbortController | undefined;
  /** An annotation changed since the last renewal began: renew early. */
  private renewalRequested = false;

  /** Throws when the timings break client-go's rules (see leaderElectionTimingsProblem). */
  constructor(private readonly options: LeaderElectionOptions) {
    this.timings = {
      leaseDurationMs: options.leaseDurationMs ?? DEFAULT_LEADER_ELECTION_TIMINGS.leaseDurationMs,
      renewDeadlineMs: options.renewDeadlineMs ?? DEFAULT_LEADER_ELECTION_TIMINGS.renewDeadlineMs,
      retryPeriodMs: options.retryPeriodMs ?? DEFAULT_LEADER_ELECTION_TIMINGS.retryPeriodMs,
    };
    const problem = leaderElectionTimingsProblem(this.timings);
    if (problem) throw new Error(`leader election: ${problem}`);
    this.clock = options.clock ?? realClock;
    this.random = options.random ?? Math.random;
    this.candidates = options.names?.length ? options.names : [options.name];
    this.held = this.candidates[0]!;
    for (const annotation of options.annotations ?? []) annotation.watch?.(() => this.renewSoon());
  }

  private path(name: string): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.options.namespace}/leases/${name}`;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** The Lease held (or last held); with several candidates, which one this process won. */
  get lease(): string {
    return this.held;
  }

  /**
   * Runs until stop(): calls onStarted (with the Lease won) when this process becomes the leader
   * and onStopped when it loses the lease (after which it must stop reconciling; the manager
   * exits, as controller-runtime does).
   */
  async run(onStarted: (lease: string) => void, onStopped: () => void): Promise<void> {
    const { renewDeadlineMs, retryPeriodMs } = this.timings;
    const signal = this.stopping.signal;
    const leases = this.candidates.map((name) => `${this.options.namespace}/${name}`).join(', ');
    this.options.logger.info({ lease: leases, identity: this.options.identity }, 'waiting to acquire the leader lease');
    // Candidates that start together would all try the same Lease first: each starts elsewhere.
    const offset = this.candidates.length > 1 ? Math.floor(this.random() * this.candidates.length) % this.candidates.length : 0;
    const order = this.candidates.map((_, i) => this.candidates[(offset + i) % this.candidates.length]!);
    while (!this.stopped && !this.leading) {
      for (const name of order) {
        if (this.stopped) return;
        if (!(await this.tryAcquireOrRenew(name))) continue;
        this.held = name;
        // Stopped while the attempt was in flight: give back what it just took.
        if (this.stopped) return this.release();
        this.leading = true;
        this.lastRenew = this.clock.now();
        break;
      }
      if (this.leading) break;
      await this.clock.sleep(jitter(retryPeriodMs, JITTER_FACTOR, this.random), signal);
    }
    const log = this.options.logger.child({ lease: `${this.options.namespace}/${this.held}`, identity: this.options.identity });
    if (this.leading) {
      log.info('became the leader');
      onStarted(this.held);
    }
    while (!this.stopped && this.leading) {
      // The wait until the next renewal, cut short when an annotation's value changed (renewSoon).
      const wake = new AbortController();
      this.wake = wake;
      if (this.renewalRequested) wake.abort();
      await this.clock.sleep(retryPeriodMs, wake.signal);
      this.wake = undefined;
      if (this.stopped) break;
      if (this.renewalRequested) {
        this.renewalRequested = false;
        const gap = Math.min(EARLY_RENEWAL_GAP_MS, retryPeriodMs) - (this.clock.now() - this.lastRenew);
        if (gap > 0) await this.clock.sleep(gap, signal);
        if (this.stopped) break;
      }
      // A renewal that hangs (a partition: the request neither answers nor fails) must not keep
      // this process leading past the renew deadline, or it would go on reconciling after a
      // standby has taken the lease: the attempt races the time left.
      const left = renewDeadlineMs - (this.clock.now() - this.lastRenew);
      if (await this.withinMs(this.tryAcquireOrRenew(this.held), Math.max(0, left))) {
        this.lastRenew = this.clock.now();
      } else if (this.clock.now() - this.lastRenew >= renewDeadlineMs) {
        this.leading = false;
        log.error({ renewDeadlineMs }, 'could not renew the leader lease in time; leadership lost');
        onStopped();
      }
    }
  }

  /**
   * Renews (and so writes the annotations) now rather than at the next renewal, though not sooner
   * than EARLY_RENEWAL_GAP_MS after the last one; nothing when not leading.
   */
  renewSoon(): void {
    if (!this.leading) return;
    this.renewalRequested = true;
    this.wake?.abort();
  }

  /** Stops campaigning; a leader releases the lease so that a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    this.wake?.abort();
    if (!this.leading) return;
    this.leading = false;
    await this.release();
  }

  private async release(): Promise<void> {
    try {
      const lease = await this.options.client.get<Lease>(this.path(this.held));
      if (lease.spec.holderIdentity !== this.options.identity) return;
      const now = microTime(this.clock.now());
      lease.spec = { ...lease.spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: now, acquireTime: now };
      this.writeAnnotations(lease);
      await this.options.client.replace(this.path(this.held), lease);
      this.options.logger.info({ lease: this.held }, 'released the leader lease');
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'could not release the leader lease; a standby takes over when it expires');
    }
  }

  private async tryAcquireOrRenew(name: string): Promise<boolean> {
    const now = this.clock.now();
    const durationSeconds = Math.ceil(this.timings.leaseDurationMs / 1000);
    const path = this.path(name);
    let lease: Lease;
    try {
      lease = await this.options.client.get<Lease>(path);
    } catch (err) {
      if (!isNotFound(err)) {
        this.options.logger.warn({ err: (err as Error).message }, 'reading the leader lease failed');
        return false;
      }
      try {
        await this.options.client.create(`/apis/coordination.k8s.io/v1/namespaces/${this.options.namespace}/leases`, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace: this.options.namespace, ...this.annotationsToWrite() },
          spec: { holderIdentity: this.options.identity, leaseDurationSeconds: durationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
        });
        return true;
      } catch (createErr) {
        // 409: another candidate created it first, which is the election working. Anything else
        // (RBAC, a webhook, the server) would keep this process a standby forever unless told.
        if (!isConflict(createErr)) this.options.logger.warn({ err: (createErr as Error).message }, 'creating the leader lease failed');
        return false;
      }
    }

    const holder = lease.spec.holderIdentity ?? '';
    const renewTime = lease.spec.renewTime ?? '';
    let observed = this.observed.get(name);
    if (!observed || observed.holder !== holder || observed.renewTime !== renewTime) {
      observed = { holder, renewTime, at: this.clock.now() };
      this.observed.set(name, observed);
    }
    const heldByOther = holder !== '' && holder !== this.options.identity;
    const leaseMs = (lease.spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (heldByOther && observed.at + leaseMs > this.clock.now()) return false;

    // Taking the Lease over (from another holder, or released): what the last leader kept on it
    // is handed over first, so that the value written below already includes it.
    if (holder !== this.options.identity) {
      for (const annotation of this.options.annotations ?? []) annotation.inherit(lease.metadata.annotations?.[annotation.name]);
    }
    this.writeAnnotations(lease);
    const transitions = (lease.spec.leaseTransitions ?? 0) + (holder === this.options.identity ? 0 : 1);
    lease.spec = {
      holderIdentity: this.options.identity,
      leaseDurationSeconds: durationSeconds,
      acquireTime: holder === this.options.identity ? lease.spec.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: transitions,
    };
    try {
      const updated = await this.options.client.replace<Lease>(path, lease);
      this.observed.set(name, { holder: this.options.identity, renewTime: updated.spec.renewTime ?? '', at: this.clock.now() });
      return true;
    } catch (err) {
      if (!isConflict(err)) this.options.logger.warn({ err: (err as Error).message }, 'updating the leader lease failed');
      return false;
    }
  }

  private annotationsToWrite(): { annotations?: Record<string, string> } {
    const annotations: Record<string, string> = {};
    for (const annotation of this.options.annotations ?? []) {
      const value = annotation.current();
      if (value !== undefined) annotations[annotation.name] = value;
    }
    return Object.keys(annotations).length ? { annotations } : {};
  }

  /** Sets this process's annotations on the Lease it is about to write; leaves others' alone. */
  private writeAnnotations(lease: Lease): void {
    const own = this.options.annotations ?? [];
    if (own.length === 0) return;
    const annotations = { ...lease.metadata.annotations };
    for (const annotation of own) {
      const value = annotation.current();
      if (value === undefined) delete annotations[annotation.name];
      else annotations[annotation.name] = value;
    }
    if (Object.keys(annotations).length) lease.metadata.annotations = annotations;
    else delete lease.metadata.annotations;
  }

  /** The attempt's answer, or false when it has not answered within ms (or failed). */
  private withinMs(attempt: Promise<boolean>, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(() => resolve(false), ms);
      void attempt.then(
        (ok) => {
          timer.cancel();
          resolve(ok);
        },
        () => {
          timer.cancel();
          resolve(false);
        },
      );
    });
  }
}
