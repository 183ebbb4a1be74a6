// Kubernetes Events for what the operator does in Azure and for each failure, so
// `kubectl describe` tells the story. Repeats of the same event on the same object within ten
// minutes increment the existing Event's count instead of creating another, as client-go's
// recorder does, so a failing object does not flood etcd.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { KubeClient } from './kube-client.js';
import type { KubeObject } from './informer.js';

export type EventType = 'Normal' | 'Warning';

interface Recorded {
  name: string;
  namespace: string;
  count: number;
  firstAt: number;
}

const AGGREGATION_WINDOW_MS = 10 * 60_000;

export class EventRecorder {
  private readonly recent = new Map<string, Recorded>();

  constructor(
    private readonly client: KubeClient,
    private readonly component: string,
    private readonly logger: Logger,
  ) {}

  /** Records an event; never throws (an event is worth less than the reconcile that sends it). */
  record(obj: KubeObject, type: EventType, reason: string, message: string): void {
    void this.send(obj, type, reason, message).catch((err: Error) => this.logger.warn({ err: err.message, reason }, 'could not record an event'));
  }

  private async send(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const namespace = obj.metadata.namespace ?? 'default';
    const key = `${obj.metadata.uid ?? ''}|${type}|${reason}|${message}`;
    const now = new Date();
    const previous = this.recent.get(key);
    if (previous && now.getTime() - previous.firstAt < AGGREGATION_WINDOW_MS) {
      previous.count += 1;
      await this.client.patch(`/api/v1/namespaces/${previous.namespace}/events/${previous.name}`, { count: previous.count, lastTimestamp: now.toISOString() }, 'merge');
      return;
    }
    const name = `${obj.metadata.name ?? 'object'}.${randomBytes(8).toString('hex')}`;
    await this.client.create(`/api/v1/namespaces/${namespace}/events`, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata.name,
        namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
      },
      type,
      reason,
      message: message.slice(0, 1024),
      source: { component: this.component },
      reportingComponent: this.component,
      reportingInstance: this.component,
      firstTimestamp: now.toISOString(),
      lastTimestamp: now.toISOString(),
      count: 1,
    });
    this.recent.set(key, { name, namespace, count: 1, firstAt: now.getTime() });
    if (this.recent.size > 5000) this.recent.delete(this.recent.keys().next().value!);
  }
}
