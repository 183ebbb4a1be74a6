// Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: only the holder
// reconciles; it renews every retry period and gives up leadership if it cannot renew within the
// renew deadline; a standby takes the lease once the holder has not renewed for a lease duration
// (judged by this process's own clock from when it last saw the lease change, so clock skew
// between machines does not matter); a holder that shuts down releases the lease at once.
import type { Logger } from 'pino';
import { isConflict, isNotFound, type KubeClient } from './kube-client.js';

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  logger: Logger;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

const microTime = (date: Date) => date.toISOString().replace('Z', '000Z');

export class LeaderElector {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private observed: { holder: string; renewTime: string; at: number } | undefined;
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private lastRenew = 0;

  constructor(private readonly options: LeaderElectionOptions) {
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.options.namespace}/leases/${this.options.name}`;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /**
   * Runs until stop(): calls onStarted when this process becomes the leader and onStopped when it
   * loses the lease (after which it must stop reconciling; the manager exits, as controller-runtime does).
   */
  async run(onStarted: () => void, onStopped: () => void): Promise<void> {
    const log = this.options.logger.child({ lease: `${this.options.namespace}/${this.options.name}`, identity: this.options.identity });
    log.info('waiting to acquire the leader lease');
    while (!this.stopped && !this.leading) {
      if (await this.tryAcquireOrRenew()) {
        this.leading = true;
        this.lastRenew = Date.now();
        log.info('became the leader');
        onStarted();
        break;
      }
      await this.sleep(this.retryPeriodMs);
    }
    while (!this.stopped && this.leading) {
      await this.sleep(this.retryPeriodMs);
      if (this.stopped) break;
      // A renewal that hangs (a partition: the request neither answers nor fails) must not keep
      // this process leading past the renew deadline, or it would go on reconciling after a
      // standby has taken the lease: the attempt races the time left.
      const left = this.renewDeadlineMs - (Date.now() - this.lastRenew);
      if (await withinMs(this.tryAcquireOrRenew(), Math.max(0, left))) {
        this.lastRenew = Date.now();
      } else if (Date.now() - this.lastRenew >= this.renewDeadlineMs) {
        this.leading = false;
        log.error({ renewDeadlineMs: this.renewDeadlineMs }, 'could not renew the leader lease in time; leadership lost');
        onStopped();
      }
    }
  }

  /** Stops campaigning; a leader releases the lease so that a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.wake?.();
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.options.client.get<Lease>(this.path);
      if (lease.spec.holderIdentity !== this.options.identity) return;
      const now = microTime(new Date());
      lease.spec = { ...lease.spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: now, acquireTime: now };
      await this.options.client.replace(this.path, lease);
      this.options.logger.info({ lease: this.options.name }, 'released the leader lease');
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'could not release the leader lease; a standby takes over when it expires');
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const durationSeconds = Math.ceil(this.leaseDurationMs / 1000);
    let lease: Lease;
    try {
      lease = await this.options.client.get<Lease>(this.path);
    } catch (err) {
      if (!isNotFound(err)) {
        this.options.logger.warn({ err: (err as Error).message }, 'reading the leader lease failed');
        return false;
      }
      try {
        await this.options.client.create(`/apis/coordination.k8s.io/v1/namespaces/${this.options.namespace}/leases`, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.options.name, namespace: this.options.namespace },
          spec: { holderIdentity: this.options.identity, leaseDurationSeconds: durationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
        });
        return true;
      } catch {
        return false;
      }
    }

    const holder = lease.spec.holderIdentity ?? '';
    const renewTime = lease.spec.renewTime ?? '';
    if (!this.observed || this.observed.holder !== holder || this.observed.renewTime !== renewTime) {
      this.observed = { holder, renewTime, at: Date.now() };
    }
    const heldByOther = holder !== '' && holder !== this.options.identity;
    const leaseMs = (lease.spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (heldByOther && this.observed.at + leaseMs > Date.now()) return false;

    const transitions = (lease.spec.leaseTransitions ?? 0) + (holder === this.options.identity ? 0 : 1);
    lease.spec = {
      holderIdentity: this.options.identity,
      leaseDurationSeconds: durationSeconds,
      acquireTime: holder === this.options.identity ? lease.spec.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: transitions,
    };
    try {
      const updated = await this.options.client.replace<Lease>(this.path, lease);
      this.observed = { holder: this.options.identity, renewTime: updated.spec.renewTime ?? '', at: Date.now() };
      return true;
    } catch (err) {
      if (!isConflict(err)) this.options.logger.warn({ err: (err as Error).message }, 'updating the leader lease failed');
      return false;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
    });
  }
}

/** The promise's answer, or false when it has not answered within ms. */
function withinMs(attempt: Promise<boolean>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void attempt.then(
      (ok) => {
        clearTimeout(timer);
        resolve(ok);
      },
      () => {
        clearTimeout(timer);
        resolve(false);
      },
    );
  });
}
