// Secondary watches (controller-runtime's EnqueueRequestsFromMapFunc): an event on another kind
// queues the keys of this controller's objects that it concerns, as a TenantGrant turning Ready
// will queue the SharedImageVMs that reference it, found through an index, not a scan.
import { expect } from 'chai';
import pino from 'pino';
import type { KubeObject, ObjectCache, InformerEvent } from '../../src/runtime/informer.js';
import { objectKey } from '../../src/runtime/informer.js';
import { Controller } from '../../src/runtime/controller.js';
import { OperatorMetrics } from '../../src/runtime/metrics.js';

/** A cache whose events the test fires by hand. */
class HandCache<T extends KubeObject> implements ObjectCache<T> {
  private readonly handlers: ((event: InformerEvent, obj: T, old?: T) => void)[] = [];
  constructor(private readonly objects: T[] = []) {}
  get = (key: string) => this.objects.find((o) => objectKey(o) === key);
  list = () => [...this.objects];
  keys = () => this.objects.map(objectKey);
  byIndex = (_name: string, value: string) => this.objects.filter((o) => (o as { spec?: { ref?: string } }).spec?.ref === value);
  onChange(handler: (event: InformerEvent, obj: T, old?: T) => void): void {
    this.handlers.push(handler);
  }
  fire(event: InformerEvent, obj: T, old?: T): void {
    for (const h of this.handlers) h(event, obj, old);
  }
}

type Obj = KubeObject & { spec?: { ref?: string }; status?: { ready?: boolean } };
const obj = (namespace: string, name: string, extra: Partial<Obj> = {}): Obj => ({ metadata: { namespace, name, generation: 1, resourceVersion: '1' }, ...extra });

describe('secondary watches', () => {
  it('queue the keys an event on another kind maps to, and only on the transition asked for', async () => {
    const vms = new HandCache<Obj>([obj('team', 'vm1', { spec: { ref: 'team/grant' } }), obj('team', 'vm2', { spec: { ref: 'team/grant' } }), obj('team', 'vm3', { spec: { ref: 'team/other' } })]);
    const grants = new HandCache<Obj>();
    const controller = new Controller({
      name: 'test',
      informer: vms,
      reconciler: { reconcile: () => Promise.resolve({}) },
      logger: pino({ level: 'silent' }),
      metrics: new OperatorMetrics({ processMetrics: false }),
      workers: 1,
      resyncMs: 60_000,
      reconcileTimeoutMs: 1_000,
    });
    controller.watches(grants, (event, grant, old) => (event === 'updated' && grant.status?.ready && !old?.status?.ready ? vms.byIndex('by-grant', objectKey(grant)).map(objectKey) : []));
    grants.fire('updated', obj('team', 'grant', { status: { ready: false } }), obj('team', 'grant'));
    expect(controller.queue.length, 'not Ready yet: nothing queued').to.equal(0);
    grants.fire('updated', obj('team', 'grant', { status: { ready: true } }), obj('team', 'grant', { status: { ready: false } }));
    const keys = [await controller.queue.get(), await controller.queue.get()];
    expect(keys.sort()).to.deep.equal(['team/vm1', 'team/vm2']);
    expect(controller.queue.length).to.equal(0);
    await controller.stop(100);
  });

  it('queue only keys of objects the controller\'s own cache holds (another shard\'s object is that shard\'s)', async () => {
    const mine = new HandCache<Obj>([obj('team', 'grant-a')]);
    const everyVm = new HandCache<Obj>();
    const controller = new Controller({
      name: 'test',
      informer: mine,
      reconciler: { reconcile: () => Promise.resolve({}) },
      logger: pino({ level: 'silent' }),
      metrics: new OperatorMetrics({ processMetrics: false }),
      workers: 1,
      resyncMs: 60_000,
      reconcileTimeoutMs: 1_000,
    });
    controller.watches(everyVm, () => ['team/grant-b', 'team/grant-a']);
    everyVm.fire('added', obj('team', 'vm'));
    expect(controller.queue.length).to.equal(1);
    expect(await controller.queue.get()).to.equal('team/grant-a');
    await controller.stop(100);
  });
});
