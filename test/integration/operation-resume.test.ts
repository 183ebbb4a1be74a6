// Long-running operations outlive the process that started them: the operation is recorded in
// the object's status, and whichever process reconciles the object next (a restarted one, a newly
// elected leader) polls that same operation instead of starting it again. The emulator holds the
// operation InProgress until the test releases it, so that the new process really resumes a
// running operation rather than observing a finished one. Also here: the reconcile timeout, with
// an Azure that never answers.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { GalleryShare } from '../../src/api/v1alpha1/index.js';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { start, type RunningEmulator } from '../azure-emulator/index.js';
import { ids, sampleSeed } from '../emulator/helpers.js';
import { createGallery, createOwnerSecret } from '../support/azure-fixtures.js';
import { galleryShareManifest, galleryShares, waitForGalleryShare } from '../support/galleryshares.js';
import { createTestNamespace, deleteNamespace, kubeClients, testKubeconfigPath, type KubeClients } from '../support/kube.js';
import { isLeader, startOperator, type OperatorProcess } from '../support/operator-process.js';

describe('long-running operations across processes, and the reconcile timeout', function () {
  let azure: RunningEmulator;
  let clients: KubeClients;
  let client: KubeClient;
  let namespace: string;
  let galleryName: string;
  const operators: OperatorProcess[] = [];

  async function launch(extraArgs: string[]): Promise<OperatorProcess> {
    const operator = await startOperator({ kubeconfig: testKubeconfigPath(), armEndpoint: azure.armEndpoint, caPath: azure.caPath, extraArgs: ['--resync-interval', '1h', ...extraArgs] });
    operators.push(operator);
    return operator;
  }
  const logs = () => operators.map((o) => o.logs()).join('\n');
  const sharePosts = async (gallery = galleryName) =>
    (await azure.control.requests()).filter((r) => r.method === 'POST' && r.path.toLowerCase().endsWith(`galleries/${gallery.toLowerCase()}/share`));
  const shared = (name: string) => galleryShareManifest(name, galleryName, { permission: 'Groups', directShare: { tenants: [ids.fabrikam] } });

  /** The share operation the emulator holds for this test's gallery. */
  async function heldShare() {
    const ops = await azure.control.operations();
    const mine = ops.filter((o) => o.held && o.path?.toLowerCase().endsWith(`galleries/${galleryName.toLowerCase()}/share`));
    expect(mine, 'one held share operation').to.have.length(1);
    return mine[0]!;
  }
  /** Polls of that operation's status URL sent after `since` (ms). */
  async function pollsOf(operationUrl: string, since: number) {
    const path = new URL(operationUrl).pathname.toLowerCase();
    return (await azure.control.requests()).filter((r) => r.method === 'GET' && r.path.toLowerCase() === path && Date.parse(r.time) >= since);
  }

  before(async () => {
    azure = await start({ seed: sampleSeed(), options: { retryAfterSeconds: 1, lroDurationMs: 200 } });
    clients = kubeClients();
    client = new KubeClient(clients.kc);
  });
  after(async () => {
    client?.close();
    await azure?.stop();
  });
  beforeEach(async () => {
    namespace = await createTestNamespace(clients, 'lro');
    galleryName = `g${randomBytes(4).toString('hex')}`;
    await createGallery(azure, galleryName, 'Groups');
    await createOwnerSecret(clients, namespace);
  });
  afterEach(async () => {
    await Promise.all(operators.splice(0).map((o) => o.stop('SIGKILL')));
    await azure.control.releaseOperations();
    await azure.control.clearFaults();
    await deleteNamespace(clients, namespace);
  });

  it('SIGKILLed while a share operation runs, the restarted operator polls that same operation: one share POST, then Ready', async () => {
    await azure.control.holdOperations({ path: `galleries/${galleryName}/share$` });
    const first = await launch(['--leader-elect', 'false']);
    await client.create(galleryShares(namespace), shared('held'));
    const recorded = await waitForGalleryShare(client, namespace, 'held', (gs) => gs.status?.operation?.action === 'share', { what: 'recording its share operation', logs });
    expect(recorded.status?.operation?.generation).to.equal(recorded.metadata.generation);
    expect(recorded.status?.conditions?.find((c) => c.type === 'Reconciling')?.reason).to.equal('OperationInProgress');
    const operation = await heldShare();
    first.child.kill('SIGKILL');
    await first.exited;
    const killedAt = Date.now();

    await launch(['--leader-elect', 'false']);
    for (let i = 0; i < 100 && (await pollsOf(operation.asyncOperationUrl!, killedAt)).length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await pollsOf(operation.asyncOperationUrl!, killedAt), 'the new process polls the operation the first one started').not.to.deep.equal([]);
    expect(await sharePosts(), 'no second share call while it runs').to.have.length(1);

    await azure.control.releaseOperations();
    const ready = await waitForGalleryShare(client, namespace, 'held', undefined, { logs });
    expect(ready.status?.operation, 'the finished operation is cleared').to.equal(undefined);
    expect(ready.status?.directShare?.tenants).to.deep.equal([ids.fabrikam]);
    expect(await sharePosts(), 'exactly one share POST in all').to.have.length(1);
  });

  it('with two replicas, a new leader resumes the operation the killed leader started: one share POST', async () => {
    const election = ['--leader-elect', 'true', '--leader-election-namespace', namespace, '--leader-election-id', 'gso-lro'];
    const a = await launch(election);
    const b = await launch(election);
    for (let i = 0; i < 100 && !((await isLeader(a)) || (await isLeader(b))); i++) await new Promise((r) => setTimeout(r, 100));
    const [leader, standby] = (await isLeader(a)) ? [a, b] : [b, a];
    await azure.control.holdOperations({ path: `galleries/${galleryName}/share$` });
    await client.create(galleryShares(namespace), shared('failover'));
    await waitForGalleryShare(client, namespace, 'failover', (gs) => gs.status?.operation?.action === 'share', { what: 'recording its share operation', logs });
    const operation = await heldShare();
    leader.child.kill('SIGKILL');
    const killedAt = Date.now();

    const deadline = Date.now() + 40_000;
    while ((await pollsOf(operation.asyncOperationUrl!, killedAt)).length === 0) {
      if (Date.now() > deadline) throw new Error(`the new leader did not poll the operation\n${standby.logs().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await isLeader(standby)).to.equal(true);
    expect(await sharePosts(), 'the new leader started no second share').to.have.length(1);
    await azure.control.releaseOperations();
    await waitForGalleryShare(client, namespace, 'failover', undefined, { logs, timeoutMs: 20_000 });
    expect(await sharePosts()).to.have.length(1);
  });

  it('dying after Azure accepted a share but before recording it: the next reconcile finds the share running (409), waits, and never runs it twice', async () => {
    // The process that died: its share was accepted by Azure and is still running.
    await azure.control.holdOperations({ path: `galleries/${galleryName}/share$` });
    const { adminRequest } = await import('../support/azure-fixtures.js');
    const accepted = await adminRequest(azure, 'POST', `/subscriptions/${ids.gallerySubscription}/resourceGroups/${ids.galleryRG}/providers/Microsoft.Compute/galleries/${galleryName}/share`, {
      operationType: 'Add',
      groups: [{ type: 'AADTenants', ids: [ids.fabrikam] }],
    });
    expect(accepted.status).to.equal(202);

    await launch(['--leader-elect', 'false']);
    await client.create(galleryShares(namespace), shared('busy'));
    const waiting = await waitForGalleryShare(client, namespace, 'busy', (gs) => gs.status?.conditions?.find((c) => c.type === 'Reconciling')?.reason === 'OperationInProgress', { what: 'waiting for the running share', logs });
    expect(waiting.status?.conditions?.find((c) => c.type === 'Stalled'), 'not a failure').to.equal(undefined);
    const refused = (await sharePosts()).filter((r) => r.status === 409);
    expect(refused.length, 'the operator tried, and Azure refused because the share runs').to.be.at.least(1);

    await azure.control.releaseOperations();
    const ready = await waitForGalleryShare(client, namespace, 'busy', undefined, { logs, timeoutMs: 20_000 });
    expect(ready.status?.directShare?.tenants).to.deep.equal([ids.fabrikam]);
    expect((await sharePosts()).filter((r) => r.status < 300), 'the share ran once').to.have.length(1);
    const events = await clients.core.listNamespacedEvent({ namespace });
    expect(events.items.filter((e) => e.type === 'Warning').map((e) => e.reason), 'no failure reported').to.deep.equal([]);
  });

  it('an Azure that never answers does not hold a worker past --reconcile-timeout', async () => {
    const otherGallery = `g${randomBytes(4).toString('hex')}`;
    await createGallery(azure, otherGallery, 'Private');
    await azure.control.addFault({ method: 'GET', path: `galleries/${galleryName}$`, hang: true });
    await launch(['--leader-elect', 'false', '--workers', '1', '--reconcile-timeout', '2s']);
    await client.create(galleryShares(namespace), shared('hung'));
    const waited = Date.now();
    for (let i = 0; i < 50 && !logs().includes('"name":"hung"'); i++) await new Promise((r) => setTimeout(r, 100));
    const other: GalleryShare = galleryShareManifest('other', otherGallery, { roleAssignments: [{ principalId: ids.tester, principalType: 'User', role: 'Reader' }] });
    await client.create(galleryShares(namespace), other);
    // With one worker, "other" is reconciled only once the hung reconcile has given up.
    await waitForGalleryShare(client, namespace, 'other', undefined, { logs, timeoutMs: 15_000 });
    expect(Date.now() - waited, 'the worker was freed at the timeout').to.be.below(12_000);
    const hung = await waitForGalleryShare(client, namespace, 'hung', (gs) => gs.status?.conditions?.find((c) => c.type === 'Reconciling')?.reason === 'Abandoned', { what: 'Reconciling Abandoned', logs });
    expect(hung.status?.conditions?.find((c) => c.type === 'Reconciling')?.message).to.include('reads Azure before it writes again');
    await azure.control.clearFaults();
    await waitForGalleryShare(client, namespace, 'hung', undefined, { logs, timeoutMs: 20_000 });
  });

  it('a GalleryShare waiting for a gallery another one holds goes on as soon as that one is deleted, not at its next recheck (2 min here)', async () => {
    await launch(['--leader-elect', 'false']);
    const reader = (principalId: string, principalType: 'User' | 'Group') => ({ roleAssignments: [{ principalId, principalType, role: 'Reader' }] });
    await client.create(galleryShares(namespace), galleryShareManifest('holder', galleryName, reader(ids.tester, 'User')));
    await waitForGalleryShare(client, namespace, 'holder', undefined, { logs });
    await client.create(galleryShares(namespace), galleryShareManifest('waiter', galleryName, reader(ids.imageConsumersGroup, 'Group')));
    await waitForGalleryShare(client, namespace, 'waiter', (gs) => gs.status?.conditions?.find((c) => c.type === 'Stalled')?.reason === 'GalleryClaimed', { what: 'Stalled GalleryClaimed', logs });
    const deleted = Date.now();
    await client.delete(`${galleryShares(namespace)}/holder`);
    await waitForGalleryShare(client, namespace, 'waiter', undefined, { logs, timeoutMs: 20_000 });
    expect(Date.now() - deleted, 'woken by the deletion, not by the 2-minute recheck').to.be.below(20_000);
  });
});
