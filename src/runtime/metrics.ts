// Prometheus metrics under controller-runtime's and client-go's names, so existing dashboards
// and alerts for Go operators work unchanged, plus the operator's Azure request counters and a
// gauge of its objects by kind and state. prom-client provides the registry, histograms and text
// exposition.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { countObjectStates, OBJECT_STATES, type StatusBearing } from './kstatus.js';
import type { WorkQueueMetrics } from './workqueue.js';

/** The objects of each reconciled kind, as the caches hold them; undefined when not leading. */
export type ObjectsByKind = () => readonly { kind: string; objects: Iterable<StatusBearing> }[] | undefined;

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  readonly activeWorkers: Gauge<'controller'>;
  readonly maxConcurrentReconciles: Gauge<'controller'>;
  readonly queueDepth: Gauge<'controller' | 'name'>;
  readonly queueAdds: Counter<'controller' | 'name'>;
  readonly queueRetries: Counter<'controller' | 'name'>;
  readonly queueDuration: Histogram<'controller' | 'name'>;
  readonly workDuration: Histogram<'controller' | 'name'>;
  readonly leaderStatus: Gauge<'name'>;
  readonly azureRequests: Counter<'operation' | 'status'>;
  readonly azureThrottled: Counter<'operation'>;
  readonly azureRequestTime: Histogram<'operation'>;
  readonly objects: Gauge<'kind' | 'state'>;
  private objectsByKind: ObjectsByKind = () => undefined;

  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
    this.reconcileTotal = new Counter({ name: 'controller_runtime_reconcile_total', help: 'Total number of reconciliations per controller', labelNames: ['controller', 'result'], registers });
    this.reconcileErrors = new Counter({ name: 'controller_runtime_reconcile_errors_total', help: 'Total number of reconciliation errors per controller', labelNames: ['controller'], registers });
    this.reconcileTime = new Histogram({ name: 'controller_runtime_reconcile_time_seconds', help: 'Length of time per reconciliation per controller', labelNames: ['controller'], buckets, registers });
    this.activeWorkers = new Gauge({ name: 'controller_runtime_active_workers', help: 'Number of currently used workers per controller', labelNames: ['controller'], registers });
    this.maxConcurrentReconciles = new Gauge({ name: 'controller_runtime_max_concurrent_reconciles', help: 'Maximum number of concurrent reconciles per controller', labelNames: ['controller'], registers });
    this.queueDepth = new Gauge({ name: 'workqueue_depth', help: 'Current depth of workqueue', labelNames: ['controller', 'name'], registers });
    this.queueAdds = new Counter({ name: 'workqueue_adds_total', help: 'Total number of adds handled by workqueue', labelNames: ['controller', 'name'], registers });
    this.queueRetries = new Counter({ name: 'workqueue_retries_total', help: 'Total number of retries handled by workqueue', labelNames: ['controller', 'name'], registers });
    this.queueDuration = new Histogram({ name: 'workqueue_queue_duration_seconds', help: 'How long in seconds an item stays in workqueue before being requested', labelNames: ['controller', 'name'], buckets, registers });
    this.workDuration = new Histogram({ name: 'workqueue_work_duration_seconds', help: 'How long in seconds processing an item from workqueue takes', labelNames: ['controller', 'name'], buckets, registers });
    this.leaderStatus = new Gauge({ name: 'leader_election_master_status', help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master', labelNames: ['name'], registers });
    this.azureRequests = new Counter({ name: 'galleryshare_azure_requests_total', help: 'Azure requests by operation and HTTP status (0: no answer)', labelNames: ['operation', 'status'], registers });
    this.azureThrottled = new Counter({ name: 'galleryshare_azure_throttled_requests_total', help: 'Azure requests answered 429 (throttled) by operation', labelNames: ['operation'], registers });
    this.azureRequestTime = new Histogram({ name: 'galleryshare_azure_request_duration_seconds', help: 'Azure request duration by operation', labelNames: ['operation'], buckets, registers });
    // Counted from the informer caches at each scrape, so it costs nothing between scrapes and is
    // never out of step with the objects; only the leader counts (a standby reconciles nothing,
    // and two replicas counting the same objects would double every sum), so a standby exports
    // no series.
    const objectsByKind = () => this.objectsByKind();
    this.objects = new Gauge({
      name: 'galleryshare_objects',
      help: 'Objects the leader reconciles, by kind and state (ready, reconciling, stalled: from the Ready, Reconciling and Stalled conditions, as kstatus reads them)',
      labelNames: ['kind', 'state'],
      registers,
      collect() {
        this.reset();
        for (const { kind, objects } of objectsByKind() ?? []) {
          const counts = countObjectStates(objects);
          for (const state of OBJECT_STATES) this.set({ kind, state }, counts[state]);
        }
      },
    });
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** The work-queue hooks for one controller's queue. */
  queueMetrics(controller: string): WorkQueueMetrics {
    const labels = { controller, name: controller };
    // Exported at zero from the start, as controller-runtime does, so rate() and alerts work
    // before the first retry or error.
    this.queueAdds.inc(labels, 0);
    this.queueRetries.inc(labels, 0);
    this.queueDepth.set(labels, 0);
    this.reconcileErrors.inc({ controller }, 0);
    for (const result of ['success', 'error', 'requeue', 'requeue_after']) this.reconcileTotal.inc({ controller, result }, 0);
    return {
      add: () => this.queueAdds.inc(labels),
      depth: (value) => this.queueDepth.set(labels, value),
      queued: (seconds) => this.queueDuration.observe(labels, seconds),
      worked: (seconds) => this.workDuration.observe(labels, seconds),
      retry: () => this.queueRetries.inc(labels),
    };
  }

  /** Where galleryshare_objects counts from at each scrape (main.ts: the leader's caches). */
  countObjectsFrom(source: ObjectsByKind): void {
    this.objectsByKind = source;
  }

  /** Records one Azure request; the Azure layer calls this through its observer hook. */
  azureRequest(operation: string, status: number, seconds: number): void {
    this.azureRequests.inc({ operation, status: String(status) });
    this.azureRequestTime.observe({ operation }, seconds);
    if (status === 429) this.azureThrottled.inc({ operation });
  }
}
