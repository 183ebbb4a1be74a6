// The operator process's life: killed with SIGKILL in the middle of its work and restarted, it
// finishes without duplicating anything in Azure; run twice with leader election, only the leader
// writes, and a standby takes over when the leader dies or shuts down.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { GROUP, VERSION, type GalleryShare } from '../../src/api/v1alpha1/index.js';
import { roleScope } from '../../src/azure/arm-ids.js';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { start, type RunningEmulator } from '../azure-emulator/index.js';
import { ids, sampleSeed } from '../emulator/helpers.js';
import { adminRequest as adminRequestAs, createGallery, createOwnerSecret } from '../support/azure-fixtures.js';
import { createTestNamespace, deleteNamespace, kubeClients, testKubeconfigPath, type KubeClients } from '../support/kube.js';
import { galleryShareManifest, waitForGalleryShare } from '../support/galleryshares.js';
import { isLeader, startOperator, type OperatorProcess } from '../support/operator-process.js';

describe('operator process lifecycle', function () {
  let azure: RunningEmulator;
  let clients: KubeClients;
  let client: KubeClient;
  let namespace: string;
  let galleryName: string;
  const operators: OperatorProcess[] = [];

  const collection = () => `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares`;
  const adminRequest = (method: string, path: string, body?: unknown) => adminRequestAs(azure, method, path, body);
  async function launch(extraArgs: string[]): Promise<OperatorProcess> {
    const operator = await startOperator({ kubeconfig: testKubeconfigPath(), armEndpoint: azure.armEndpoint, caPath: azure.caPath, extraArgs: ['--resync-interval', '1h', ...extraArgs] });
    operators.push(operator);
    return operator;
  }
  const waitReady = (name: string, timeoutMs: number): Promise<GalleryShare> =>
    waitForGalleryShare(client, namespace, name, undefined, { timeoutMs, logs: () => operators.map((o) => o.logs()).join('\n') });
  const galleryShare = (name: string, principals: string[]): GalleryShare =>
    galleryShareManifest(name, galleryName, { roleAssignments: principals.map((principalId) => ({ principalId, principalType: 'User', role: 'Reader' })) });

  before(async () => {
    azure = await start({ seed: sampleSeed(), options: { retryAfterSeconds: 1 } });
    clients = kubeClients();
    client = new KubeClient(clients.kc);
  });
  after(async () => {
    client?.close();
    await azure?.stop();
  });
  beforeEach(async () => {
    namespace = await createTestNamespace(clients, 'life');
    galleryName = `g${randomBytes(4).toString('hex')}`;
    await createGallery(azure, galleryName, 'Private');
    await createOwnerSecret(clients, namespace);
  });
  afterEach(async () => {
    await Promise.all(operators.splice(0).map((o) => o.stop('SIGKILL')));
    await deleteNamespace(clients, namespace);
  });

  it('finishes after a SIGKILL in the middle of its work without duplicate role assignments', async () => {
    // Twelve assignments, each PUT slowed down, so that the kill lands half-way.
    const principals = Array.from({ length: 12 }, (_, i) => `${String(i + 1).padStart(8, '0')}-aaaa-4bbb-8ccc-${randomBytes(6).toString('hex')}`);
    await azure.control.addFault({ method: 'PUT', path: 'roleAssignments/', latencyMs: 250 });
    const first = await launch(['--leader-elect', 'false', '--workers', '1']);
    await client.create(collection(), galleryShare('many', principals));
    const puts = async () => (await azure.control.requests()).filter((r) => r.method === 'PUT' && r.path.includes(galleryName) && r.status < 300).length;
    for (let i = 0; i < 200 && (await puts()) < 4; i++) await new Promise((r) => setTimeout(r, 50));
    first.child.kill('SIGKILL');
    await first.exited;
    const madeBeforeKill = await puts();
    expect(madeBeforeKill, 'killed half-way').to.be.within(1, principals.length - 1);
    await azure.control.clearFaults();

    await launch(['--leader-elect', 'false']);
    const gs = await waitReady('many', 30_000);
    expect(gs.status?.roleAssignments).to.have.length(principals.length);
    const listed = await adminRequest('GET', `${roleScope({ subscriptionId: ids.gallerySubscription, resourceGroup: ids.galleryRG, name: galleryName })}/providers/Microsoft.Authorization/roleAssignments`);
    const atGallery = (listed.body.value as unknown as { properties: { principalId: string; scope: string } }[]).filter((a) => a.properties.scope.toLowerCase().endsWith(galleryName.toLowerCase()));
    expect(atGallery.map((a) => a.properties.principalId).sort(), 'one assignment per principal').to.deep.equal([...principals].sort());
  });

  it('with leader election, only the leader writes, and a standby takes over when it dies', async () => {
    const election = ['--leader-elect', 'true', '--leader-election-namespace', namespace, '--leader-election-id', 'gso-test'];
    const a = await launch(election);
    const b = await launch(election);
    for (let i = 0; i < 100 && !((await isLeader(a)) || (await isLeader(b))); i++) await new Promise((r) => setTimeout(r, 100));
    const [leader, standby] = (await isLeader(a)) ? [a, b] : [b, a];
    expect(await isLeader(leader)).to.equal(true);
    expect(await isLeader(standby)).to.equal(false);

    await client.create(collection(), galleryShare('one', [ids.tester]));
    await waitReady('one', 20_000);
    expect(leader.logs()).to.include('changing Azure');
    expect(standby.logs(), 'the standby never writes').not.to.include('changing Azure');

    leader.child.kill('SIGKILL');
    const killedAt = Date.now();
    await client.patch(`${collection()}/one`, { spec: galleryShare('one', [ids.tester, ids.imageConsumersGroup]).spec }, 'merge');
    const deadline = Date.now() + 40_000;
    while ((await client.get<GalleryShare>(`${collection()}/one`)).status?.roleAssignments?.length !== 2) {
      if (Date.now() > deadline) throw new Error('the standby did not take over');
      await new Promise((r) => setTimeout(r, 100));
    }
    await waitReady('one', 5_000);
    expect(Date.now() - killedAt, 'taken over within the lease duration and a bit').to.be.below(25_000);
    expect(await isLeader(standby)).to.equal(true);
    expect(standby.logs()).to.include('changing Azure');
  });

  it('on SIGTERM takes no new work, lets the reconcile in flight finish, and stops at the shutdown timeout', async () => {
    const principal = () => `${randomBytes(4).toString('hex')}-aaaa-4bbb-8ccc-${randomBytes(6).toString('hex')}`;
    const otherGallery = `g${randomBytes(4).toString('hex')}`;
    await createGallery(azure, otherGallery, 'Private');
    const putsTo = async (gallery: string) => (await azure.control.requests()).filter((r) => r.method === 'PUT' && r.path.includes(gallery) && r.path.includes('roleAssignments') && r.status < 300).length;
    // Each role-assignment PUT takes 1.5 s: the reconcile of "draining" (two of them) is in
    // flight at SIGTERM, and with one worker "waiting" is still queued behind it.
    await azure.control.addFault({ method: 'PUT', path: 'roleAssignments/', latencyMs: 1500 });
    try {
      const draining = await launch(['--leader-elect', 'false', '--workers', '1', '--shutdown-timeout', '20s']);
      await client.create(collection(), galleryShare('draining', [principal(), principal()]));
      const waiting = galleryShare('waiting', [principal()]);
      waiting.spec.gallery = { ...waiting.spec.gallery, name: otherGallery };
      await client.create(collection(), waiting);
      for (let i = 0; i < 100 && !draining.logs().includes('changing Azure'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(await draining.stop('SIGTERM'), 'clean exit').to.equal(0);
      expect(await putsTo(galleryName), 'the reconcile in flight finished its writes').to.equal(2);
      expect(await putsTo(otherGallery), 'no new work after SIGTERM').to.equal(0);
      expect(draining.logs()).to.include('"msg":"stopped"').and.not.include('did not finish');

      // A reconcile longer than --shutdown-timeout does not hold the process.
      await azure.control.clearFaults();
      await azure.control.addFault({ method: 'PUT', path: 'roleAssignments/', latencyMs: 8000 });
      const stuck = await launch(['--leader-elect', 'false', '--workers', '1', '--shutdown-timeout', '1s']);
      for (let i = 0; i < 100 && !stuck.logs().includes('changing Azure'); i++) await new Promise((r) => setTimeout(r, 50));
      const signalled = Date.now();
      await stuck.stop('SIGTERM');
      expect(Date.now() - signalled, 'stopped at the timeout, not after the 8 s call').to.be.below(5_000);
      expect(stuck.logs()).to.include('did not finish before the shutdown timeout');
    } finally {
      await azure.control.clearFaults();
    }
  });

  it('releases the lease on SIGTERM, so that a standby takes over at once', async () => {
    const election = ['--leader-elect', 'true', '--leader-election-namespace', namespace, '--leader-election-id', 'gso-test'];
    const a = await launch(election);
    for (let i = 0; i < 100 && !(await isLeader(a)); i++) await new Promise((r) => setTimeout(r, 100));
    const b = await launch(election);
    expect(await isLeader(a)).to.equal(true);
    const stopped = Date.now();
    expect(await a.stop('SIGTERM'), 'clean exit').to.equal(0);
    expect(a.logs()).to.include('released the leader lease');
    for (let i = 0; i < 100 && !(await isLeader(b)); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await isLeader(b)).to.equal(true);
    expect(Date.now() - stopped).to.be.below(6_000);
  });
});
