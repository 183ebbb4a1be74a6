// Runs the controllers of one operator process: the Kubernetes client, informers, the health and
// metrics server, leader election and graceful shutdown. Informers run on every replica, so a
// standby has a warm cache when it takes over; controllers work only on the leader. A shard (a
// watch label selector) has two caches of a kind: the selected objects, which drive reconciles,
// and every object, for the decisions that need objects of other shards.
// Hash-range sharding (hashRanges = n) replaces the one leader Lease by n range Leases: a replica
// takes one (or stands by holding none), and only then starts the informers that drive
// reconciles, listing and watching the namespaces that hash into its range, then its
// controllers. The caches of every object (lookups) run on every replica, as before.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { collectionPath, type KindDefinition } from '../api/v1alpha1/index.js';
import { Controller } from './controller.js';
import { EventRecorder } from './events.js';
import { startHealthServer } from './health-server.js';
import { CombinedCache, Informer, type IndexedCache, type KubeObject } from './informer.js';
import { KubeClient } from './kube-client.js';
import { hashRange, hashHex, rangeLeaseNames, type HashRange } from './hash-range.js';
import { kubeListerWatcher, type ListerWatcher } from './list-watch.js';
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
  /** The label selector of this shard's objects (checked already); empty for every object. */
  watchLabelSelector?: string;
  /**
   * Hash-range sharding: the number of ranges of the namespaces' hash, each held through its own
   * Lease (needs leaderElection; its name is the Leases' prefix). 0 or absent: one leader.
   */
  hashRanges?: number;
}

export class Manager {
  readonly client: KubeClient;
  readonly events: EventRecorder;
  private readonly informers: Informer<KubeObject>[] = [];
  private readonly controllers: Controller<KubeObject>[] = [];
  private readonly caches = new Map<string, IndexedCache<KubeObject>>();
  private readonly lookupCaches = new Map<string, IndexedCache<KubeObject>>();
  /** The informers of the caches that drive reconciles; with hash ranges, started once a range is held. */
  private readonly reconcilingInformers = new Set<Informer<KubeObject>>();
  /** The hash range held (hash-range sharding), once its Lease is. */
  private range: HashRange | undefined;
  private elector: LeaderElector | undefined;
  private health: { close(): Promise<void>; port: number } | undefined;
  private state: 'new' | 'syncing' | 'standby' | 'leading' | 'stopping' = 'new';
  private lostLeadership: (() => void) | undefined;

  constructor(private readonly options: ManagerOptions) {
    this.client = new KubeClient(options.kc);
    this.events = new EventRecorder(this.client, options.component, options.logger);
  }

  informer<T extends KubeObject>(path: string, labelSelector = '', inRange = false): Informer<T> {
    // The range is known only once its Lease is held, after the informer exists (controllers
    // register their indexes and watches on it first): its lister-watcher is made at first use.
    let listerWatcher: ListerWatcher<T> | undefined;
    const lw = () => (listerWatcher ??= kubeListerWatcher<T>(this.options.kc, this.client, path, labelSelector, inRange ? this.range : undefined));
    const informer = new Informer<T>({
      listerWatcher: { list: (o) => lw().list(o), watch: (o, onEvent, onDone) => lw().watch(o, onEvent, onDone) },
      logger: this.options.logger.child({ informer: path, ...(labelSelector ? { labelSelector } : {}) }),
    });
    this.informers.push(informer as unknown as Informer<KubeObject>);
    if (inRange) this.reconcilingInformers.add(informer as unknown as Informer<KubeObject>);
    return informer;
  }

  private get hashSharded(): boolean {
    return (this.options.hashRanges ?? 0) > 0;
  }

  /**
   * The one cache of a kind that drives reconciles, shared by every controller that reads it: one
   * informer per watched namespace (or one for all namespaces), read as one, each listing and
   * watching only this shard's objects when there is a watch label selector, and only the
   * namespaces of its hash range with hash-range sharding.
   */
  cache<T extends KubeObject>(kind: KindDefinition): IndexedCache<T> {
    return this.cacheOf<T>(kind, this.caches, this.options.watchLabelSelector ?? '', true);
  }

  /**
   * The cache of every object of a kind, whatever shard it is in, for decisions that need other
   * objects (which GalleryShare holds a gallery, a SharedImageVM's TenantGrant): read only, never
   * a reason to reconcile. Unsharded it is the one cache() gives, so an unsharded process holds
   * each object once; a shard (by label or hash range) holds its own objects twice.
   */
  lookupCache<T extends KubeObject>(kind: KindDefinition): IndexedCache<T> {
    if (!this.options.watchLabelSelector && !this.hashSharded) return this.cache<T>(kind);
    return this.cacheOf<T>(kind, this.lookupCaches, '', false);
  }

  private cacheOf<T extends KubeObject>(kind: KindDefinition, caches: Map<string, IndexedCache<KubeObject>>, labelSelector: string, reconciling: boolean): IndexedCache<T> {
    let cache = caches.get(kind.plural);
    if (!cache) {
      const namespaces = this.options.watchNamespaces;
      const paths = namespaces.length === 0 ? [collectionPath(kind)] : namespaces.map((ns) => collectionPath(kind, ns));
      cache = new CombinedCache(paths.map((p) => this.informer<KubeObject>(p, labelSelector, reconciling && this.hashSharded)));
      caches.set(kind.plural, cache);
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
    // With hash ranges, the informers that drive reconciles wait for a range (takeRange).
    const now = this.informers.filter((i) => !this.hashSharded || !this.reconcilingInformers.has(i));
    await Promise.all(now.map((i) => i.start()));
    log.info({ informers: now.length }, 'informer caches synced');

    const election = this.options.leaderElection;
    if (!election) {
      if (this.hashSharded) throw new Error('hash-range sharding needs leader election');
      this.lead();
      return;
    }
    this.state = 'standby';
    const names = this.hashSharded ? rangeLeaseNames(election.name, this.options.hashRanges!) : [election.name];
    for (const name of names) this.options.metrics.leaderStatus.set({ name }, 0);
    this.elector = new LeaderElector({ client: this.client, logger: log, ...election, ...(this.hashSharded ? { names } : {}) });
    void this.elector.run(
      (lease) => {
        if (!this.hashSharded) return this.lead(lease);
        this.takeRange(names.indexOf(lease), lease).catch((err: Error) => {
          // Without its caches the range cannot be served: give it up as a lost lease is.
          log.error({ err: err.message, lease }, 'could not start the caches of the hash range');
          this.lostLeadership?.();
        });
      },
      () => {
        this.options.metrics.leaderStatus.set({ name: this.elector?.lease ?? election.name }, 0);
        this.lostLeadership?.();
      },
    );
  }

  /**
   * Hash-range sharding, once range k's Lease is held: lists and watches the range's objects,
   * then starts the controllers. The Lease is renewed meanwhile; its previous holder stopped
   * writing before it could be taken (leader-election.ts), so the range has one writer.
   */
  private async takeRange(index: number, lease: string): Promise<void> {
    this.range = hashRange(index, this.options.hashRanges!);
    this.options.logger.info({ lease, range: index, of: this.range.count, start: hashHex(this.range.start), end: hashHex(this.range.end) }, 'took a hash range; syncing its caches');
    const informers = [...this.reconcilingInformers];
    await Promise.all(informers.map((i) => i.start()));
    this.options.logger.info({ informers: informers.length, range: index }, 'hash range caches synced');
    this.lead(lease);
  }

  private lead(lease?: string): void {
    if (this.state === 'stopping') return;
    this.state = 'leading';
    if (lease) this.options.metrics.leaderStatus.set({ name: lease }, 1);
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
