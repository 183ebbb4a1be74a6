// Runs the controllers of one operator process: the Kubernetes client, informers, the health and
// metrics server, leader election and graceful shutdown. Informers run on every replica, so a
// standby has a warm cache when it takes over; controllers work only on the leader.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { collectionPath, type KindDefinition } from '../api/v1alpha1/index.js';
import { Controller } from './controller.js';
import { EventRecorder } from './events.js';
import { startHealthServer } from './health-server.js';
import { CombinedCache, Informer, type IndexedCache, type KubeObject } from './informer.js';
import { KubeClient } from './kube-client.js';
import { kubeListerWatcher } from './list-watch.js';
import { LeaderElector, type LeaseAnnotation } from './leader-election.js';
import type { OperatorMetrics } from './metrics.js';

export interface ManagerOptions {
  kc: KubeConfig;
  logger: Logger;
  metrics: OperatorMetrics;
  /** host:port for /metrics, /healthz and /readyz; empty to serve none. */
  healthAddress: string;
  leaderElection?: {
    namespace: string;
    name: string;
    identity: string;
    leaseDurationMs?: number;
    renewDeadlineMs?: number;
    retryPeriodMs?: number;
    /** Values the leader keeps on its Lease for the next one, handed over before controllers start. */
    annotations?: readonly LeaseAnnotation[];
  };
  shutdownTimeoutMs: number;
  component: string;
  /** Namespaces to watch; empty for all. */
  watchNamespaces: readonly string[];
}

export class Manager {
  readonly client: KubeClient;
  readonly events: EventRecorder;
  private readonly informers: Informer<KubeObject>[] = [];
  private readonly controllers: Controller<KubeObject>[] = [];
  private readonly caches = new Map<string, IndexedCache<KubeObject>>();
  private elector: LeaderElector | undefined;
  private health: { close(): Promise<void>; port: number } | undefined;
  private state: 'new' | 'syncing' | 'standby' | 'leading' | 'stopping' = 'new';
  private lostLeadership: (() => void) | undefined;

  constructor(private readonly options: ManagerOptions) {
    this.client = new KubeClient(options.kc);
    this.events = new EventRecorder(this.client, options.component, options.logger);
  }

  informer<T extends KubeObject>(path: string): Informer<T> {
    const informer = new Informer<T>({
      listerWatcher: kubeListerWatcher<T>(this.options.kc, this.client, path),
      logger: this.options.logger.child({ informer: path }),
    });
    this.informers.push(informer as unknown as Informer<KubeObject>);
    return informer;
  }

  /**
   * The one cache of a kind, shared by every controller that reads it: one informer per watched
   * namespace (or one for all namespaces), read as one.
   */
  cache<T extends KubeObject>(kind: KindDefinition): IndexedCache<T> {
    let cache = this.caches.get(kind.plural);
    if (!cache) {
      const namespaces = this.options.watchNamespaces;
      const paths = namespaces.length === 0 ? [collectionPath(kind)] : namespaces.map((ns) => collectionPath(kind, ns));
      cache = new CombinedCache(paths.map((p) => this.informer<KubeObject>(p)));
      this.caches.set(kind.plural, cache);
    }
    return cache as unknown as IndexedCache<T>;
  }

  addController<T extends KubeObject>(controller: Controller<T>): void {
    this.controllers.push(controller);
  }

  /** The port /metrics is served on (useful when the address asked for port 0). */
  get healthPort(): number | undefined {
    return this.health?.port;
  }

  isLeader(): boolean {
    return this.state === 'leading';
  }

  /**
   * Starts everything and resolves once the manager is leading or standing by. `onLeadershipLost`
   * is called if the lease is lost; the process should then exit, as controller-runtime's does.
   */
  async start(onLeadershipLost: () => void): Promise<void> {
    this.lostLeadership = onLeadershipLost;
    const log = this.options.logger;
    if (this.options.healthAddress) {
      this.health = await startHealthServer(this.options.healthAddress, this.options.metrics, {
        notReadyReason: () => (this.state === 'leading' || this.state === 'standby' ? undefined : `manager is ${this.state}`),
      });
      log.info({ address: this.options.healthAddress, port: this.health.port }, 'serving /metrics, /healthz and /readyz');
    }
    this.state = 'syncing';
    await Promise.all(this.informers.map((i) => i.start()));
    log.info({ informers: this.informers.length }, 'informer caches synced');

    const election = this.options.leaderElection;
    if (!election) {
      this.lead();
      return;
    }
    this.state = 'standby';
    this.options.metrics.leaderStatus.set({ name: election.name }, 0);
    this.elector = new LeaderElector({ client: this.client, logger: log, ...election });
    void this.elector.run(
      () => this.lead(),
      () => {
        this.options.metrics.leaderStatus.set({ name: election.name }, 0);
        this.lostLeadership?.();
      },
    );
  }

  private lead(): void {
    if (this.state === 'stopping') return;
    this.state = 'leading';
    if (this.options.leaderElection) this.options.metrics.leaderStatus.set({ name: this.options.leaderElection.name }, 1);
    for (const controller of this.controllers) controller.start();
    this.options.logger.info({ controllers: this.controllers.length }, 'controllers started');
  }

  /** Graceful shutdown: no new work, in-flight work finishes (up to the timeout), lease released. */
  async stop(): Promise<void> {
    if (this.state === 'stopping') return;
    const log = this.options.logger;
    this.state = 'stopping';
    const finished = await Promise.all(this.controllers.map((c) => c.stop(this.options.shutdownTimeoutMs)));
    if (finished.some((f) => !f)) log.warn({ timeoutMs: this.options.shutdownTimeoutMs }, 'in-flight reconciles did not finish before the shutdown timeout');
    await this.elector?.stop();
    await Promise.all(this.informers.map((i) => i.stop()));
    await this.health?.close();
    this.client.close();
    log.info('stopped');
  }
}
