// The controller runtime against a real API server: the informer's cache follows creates,
// updates and deletes across watch restarts; status writes survive a conflict; leader election
// hands over on release and on expiry; the controller reconciles each key, ignores its own status
// writes, retries failures and honours a requested delay.
import { expect } from 'chai';
import pino from 'pino';
import { GROUP, VERSION, type GalleryShare } from '../../src/api/v1alpha1/index.js';
import { Controller, type Reconciler } from '../../src/runtime/controller.js';
import { Informer } from '../../src/runtime/informer.js';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { kubeListerWatcher } from '../../src/runtime/list-watch.js';
import { LeaderElector } from '../../src/runtime/leader-election.js';
import { OperatorMetrics } from '../../src/runtime/metrics.js';
import { writeStatus } from '../../src/runtime/object-writes.js';
import { createTestNamespace, deleteNamespace, kubeClients, loadYamlDocuments, repoRoot, type KubeClients } from '../support/kube.js';
import { join } from 'node:path';
import { CuttableProxy } from '../support/cuttable-proxy.js';

const logger = pino({ level: 'silent' });
const sample = loadYamlDocuments(join(repoRoot, 'config/samples/galleryshare.yaml'))[0] as unknown as GalleryShare;
const paths = { objectPath: (ns: string, name: string) => `/apis/${GROUP}/${VERSION}/namespaces/${ns}/galleryshares/${name}` };

async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('controller runtime on a real API server', () => {
  let clients: KubeClients;
  let client: KubeClient;
  let namespace: string;
  const create = (name: string) =>
    client.create<GalleryShare>(`/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares`, { ...sample, metadata: { name } });

  beforeEach(async () => {
    clients = kubeClients();
    client = new KubeClient(clients.kc);
    namespace = await createTestNamespace(clients, 'runtime');
  });
  afterEach(async () => {
    client.close();
    await deleteNamespace(clients, namespace);
  });

  it('informer: the cache follows creates, updates and deletes across watch restarts', async () => {
    await create('before-start');
    const restarts: string[] = [];
    const informer = new Informer<GalleryShare>({
      listerWatcher: kubeListerWatcher<GalleryShare>(clients.kc, client, `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares`),
      logger,
      watchTimeoutSeconds: 1, // the server ends each watch after about a second
      listPageSize: 2,
      onWatchRestart: (reason) => restarts.push(reason),
    });
    const events: string[] = [];
    informer.onChange((event, obj) => events.push(`${event}:${obj.metadata.name}`));
    await informer.start();
    expect(informer.hasSynced()).to.equal(true);
    expect(informer.keys()).to.deep.equal([`${namespace}/before-start`]);
    for (let i = 0; i < 5; i++) {
      await create(`obj-${i}`);
      await new Promise((r) => setTimeout(r, 400));
    }
    await client.patch(paths.objectPath(namespace, 'obj-0'), { spec: { deletionPolicy: 'Orphan' } }, 'merge');
    await client.delete(paths.objectPath(namespace, 'obj-1'));
    await eventually(() => informer.keys().length === 5 && informer.get(`${namespace}/obj-0`)?.spec.deletionPolicy === 'Orphan', 'the cache to catch up');
    expect(restarts.filter((r) => r === 'ended').length, 'watches ended and were resumed').to.be.at.least(1);
    expect(events).to.include.members(['added:before-start', 'added:obj-4', 'updated:obj-0', 'deleted:obj-1']);
    await informer.stop();
  });

  it('writeStatus retries on a conflict and leaves the spec alone', async () => {
    const stale = await create('conflict');
    await client.patch(paths.objectPath(namespace, 'conflict'), { spec: { deletionPolicy: 'Orphan' } }, 'merge');
    const written = await writeStatus(client, paths.objectPath(namespace, 'conflict'), stale, () => ({ observedGeneration: 2, galleryUniqueName: 'u' }), () => false);
    expect(written?.status).to.deep.include({ observedGeneration: 2, galleryUniqueName: 'u' });
    expect(written?.spec.deletionPolicy).to.equal('Orphan');
  });

  it('leader election: one leader; a released lease passes at once; an abandoned one after its duration', async () => {
    const timings = { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 200 };
    const elector = (identity: string) => new LeaderElector({ client, namespace, name: 'gso-test', identity, logger, ...timings });
    const a = elector('a');
    const b = elector('b');
    const leaders: string[] = [];
    void a.run(() => leaders.push('a'), () => leaders.push('a-lost'));
    await eventually(() => a.isLeader(), 'a to lead');
    void b.run(() => leaders.push('b'), () => leaders.push('b-lost'));
    await new Promise((r) => setTimeout(r, 800));
    expect(b.isLeader(), 'b stands by while a renews').to.equal(false);
    const released = Date.now();
    await a.stop();
    await eventually(() => b.isLeader(), 'b to take over');
    expect(Date.now() - released, 'takeover after a release is quick').to.be.below(1500);

    // A holder that vanishes without releasing: the lease must expire first.
    await b.stop();
    const now = new Date().toISOString().replace('Z', '000Z');
    const lease = await client.get<{ spec: Record<string, unknown> }>(`/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/gso-test`);
    await client.replace(`/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/gso-test`, { ...lease, spec: { ...lease.spec, holderIdentity: 'ghost', renewTime: now, leaseDurationSeconds: 2 } });
    const c = elector('c');
    const started = Date.now();
    void c.run(() => leaders.push('c'), () => leaders.push('c-lost'));
    await eventually(() => c.isLeader(), 'c to take over an expired lease');
    expect(Date.now() - started, 'not before the lease duration').to.be.at.least(1900);
    await c.stop();
    expect(leaders).to.deep.equal(['a', 'b', 'c']);
  });

  it('leader election: a leader cut off by a partition gives leadership up within the renew deadline', async () => {
    // The elector reaches the API server through a proxy that then swallows every connection:
    // renewals neither answer nor fail. It must stop leading by the renew deadline, before the
    // lease (which others judge by its duration) can pass to a standby.
    const proxy = await new CuttableProxy(Number(new URL(clients.kc.getCurrentCluster()!.server).port)).listen();
    const viaProxy = kubeClients();
    viaProxy.kc.clusters[0] = { ...viaProxy.kc.clusters[0]!, server: `https://127.0.0.1:${proxy.port}` };
    const partitioned = new KubeClient(viaProxy.kc);
    const timings = { leaseDurationMs: 4000, renewDeadlineMs: 2000, retryPeriodMs: 200 };
    const leader = new LeaderElector({ client: partitioned, namespace, name: 'gso-partition', identity: 'cut-off', logger, ...timings });
    let lostAt: number | undefined;
    try {
      void leader.run(() => {}, () => (lostAt = Date.now()));
      await eventually(() => leader.isLeader(), 'the leader to lead');
      await new Promise((r) => setTimeout(r, 500));
      const lease = await client.get<{ spec: { renewTime: string } }>(`/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/gso-partition`);
      proxy.blackhole();
      await eventually(() => lostAt !== undefined, 'leadership to be given up', 8_000);
      expect(leader.isLeader()).to.equal(false);
      const sinceRenewal = lostAt! - Date.parse(lease.spec.renewTime);
      expect(sinceRenewal, 'gave up before the lease duration ran out').to.be.below(timings.leaseDurationMs);
    } finally {
      await proxy.close();
      await leader.stop();
      partitioned.close();
    }
  });

  it('controller: reconciles each key, ignores its own status writes, retries errors with backoff, and requeues exactly after a requested delay without counting an error', async () => {
    const metrics = new OperatorMetrics({ processMetrics: false });
    const informer = new Informer<GalleryShare>({ listerWatcher: kubeListerWatcher<GalleryShare>(clients.kc, client, `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares`), logger });
    const calls = new Map<string, number[]>();
    const reconciler: Reconciler = {
      async reconcile({ name }) {
        const times = calls.get(name) ?? [];
        times.push(Date.now());
        calls.set(name, times);
        const obj = informer.get(`${namespace}/${name}`);
        if (name === 'flaky' && times.length < 3) throw new Error('transient');
        // Throttling is a result (requeue after Retry-After), not an error.
        if (name === 'throttled' && times.length === 1) return { requeueAfterMs: 700 };
        if (obj) await writeStatus(client, paths.objectPath(obj.metadata.namespace!, obj.metadata.name!), obj, () => ({ observedGeneration: obj.metadata.generation, galleryUniqueName: `n${times.length}` }), () => false);
        return {};
      },
    };
    const controller = new Controller({ name: 'test', informer, reconciler, logger, metrics, workers: 3, resyncMs: 60_000, reconcileTimeoutMs: 60_000, backoff: { baseMs: 100, maxMs: 1000, jitter: 0 } });
    await informer.start();
    controller.start();
    for (const name of ['plain', 'flaky', 'throttled']) await create(name);
    await eventually(() => (calls.get('plain')?.length ?? 0) >= 1 && (calls.get('flaky')?.length ?? 0) >= 3 && (calls.get('throttled')?.length ?? 0) >= 2, 'all keys to succeed');
    await new Promise((r) => setTimeout(r, 700));
    expect(calls.get('plain'), 'a status write does not trigger another reconcile').to.have.length(1);
    expect(calls.get('flaky')).to.have.length(3);
    const [first, second] = calls.get('throttled')!;
    expect(second! - first!, 'waited the requested delay').to.be.within(650, 1500);
    await client.patch(paths.objectPath(namespace, 'plain'), { spec: { deletionPolicy: 'Orphan' } }, 'merge');
    await eventually(() => calls.get('plain')!.length === 2, 'a spec change to be reconciled');
    const text = await metrics.registry.metrics();
    expect(text, 'only the two failures count as errors').to.match(/controller_runtime_reconcile_total\{controller="test",result="error"\} 2/);
    expect(text).to.match(/workqueue_retries_total\{controller="test",name="test"\} 2/);
    expect(text).to.match(/controller_runtime_reconcile_total\{controller="test",result="requeue_after"\} 1/);
    expect(await controller.stop(5000)).to.equal(true);
    await informer.stop();
  });
});
