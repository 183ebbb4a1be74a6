// Label-selector sharding, as Flux shards its controllers: three operator processes, each
// leader-elected on its own Lease, reconcile shard a (galleryshare.io/shard=a), shard b
// (galleryshare.io/shard=b) and the default shard (!galleryshare.io/shard). Each object is
// reconciled by its shard alone (the logs of its actions are in one process's log; a stopped
// shard's objects wait for it); the decisions that need other objects see every shard (two
// GalleryShares naming one gallery in two shards, a SharedImageVM whose TenantGrant is in another
// shard); and an object relabelled from shard to shard moves, through its edits and its deletion,
// with nothing made twice or left behind.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { GalleryShare } from '../../src/api/v1alpha1/index.js';
import { kstatus } from '../../src/runtime/kstatus.js';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { start, type RunningEmulator } from '../azure-emulator/index.js';
import { ids } from '../emulator/helpers.js';
import { adminRequest, createGallery, galleryPathOf } from '../support/azure-fixtures.js';
import { galleryShareManifest, galleryShares, isReady, waitForGalleryShare } from '../support/galleryshares.js';
import { createTestNamespace, deleteNamespace, kubeClients, testKubeconfigPath, type KubeClients } from '../support/kube.js';
import { isLeader, startOperator, type OperatorProcess } from '../support/operator-process.js';
import { ensureKstatus } from '../support/real-kstatus.js';
import { createVmSecrets, isReady as isVmReady, machinePuts, rbacImage, sharedImageVMs, sivmSeed, subnetId, TEST_GALLERY, vmManifest, vmPath, waitForVM, waitUntilGone, type VM } from '../support/sharedimagevms.js';
import {
  APP,
  TARGET_SUBSCRIPTION,
  TARGET_TENANT,
  assignmentsAt,
  condition as grantCondition,
  createAppSecret,
  createFabrikamAdminSecret,
  createTargetNetwork,
  createTargetResourceGroup,
  isReady as isGrantReady,
  tenantGrantManifest,
  tenantGrantPath,
  tenantGrants,
  waitForTenantGrant,
  type Grant,
} from '../support/tenantgrants.js';

const SHARD_KEY = 'galleryshare.io/shard';
type Shard = 'a' | 'b' | 'default';
const SELECTORS: Record<Shard, string> = { a: `${SHARD_KEY}=a`, b: `${SHARD_KEY}=b`, default: `!${SHARD_KEY}` };
const SHARDS = Object.keys(SELECTORS) as Shard[];
const partnerTenant = ids.fabrikam;

/** The object in a shard: the shard's label, or none for the default shard. */
function inShard<T extends { metadata: { labels?: Record<string, string> } }>(obj: T, shard: Shard): T {
  if (shard !== 'default') obj.metadata.labels = { ...obj.metadata.labels, [SHARD_KEY]: shard };
  return obj;
}

/** A process's log lines about one object's reconciles (each carries its reconcileID). */
function reconcileLines(log: string, namespace: string, name: string): { msg?: string; action?: string }[] {
  const lines: { msg?: string; action?: string }[] = [];
  for (const text of log.split('\n')) {
    if (!text.startsWith('{')) continue;
    let line: { namespace?: string; name?: string; reconcileID?: string; msg?: string; action?: string };
    try {
      line = JSON.parse(text) as typeof line;
    } catch {
      continue;
    }
    if (line.reconcileID && line.namespace === namespace && line.name === name) lines.push(line);
  }
  return lines;
}

describe('sharding by label selector', function () {
  let azure: RunningEmulator;
  let clients: KubeClients;
  let client: KubeClient;
  let leaseNamespace: string;
  let namespace: string;
  const operators = {} as Record<Shard, OperatorProcess>;
  const allLogs = () => SHARDS.map((s) => `--- shard ${s}:\n${operators[s]?.logs().slice(-2000) ?? ''}`).join('\n');

  async function launch(shard: Shard): Promise<OperatorProcess> {
    const operator = await startOperator({
      kubeconfig: testKubeconfigPath(),
      armEndpoint: azure.armEndpoint,
      caPath: azure.caPath,
      extraArgs: [
        '--watch-label-selector', SELECTORS[shard],
        '--leader-elect', 'true',
        '--leader-election-id', `gso-shard-${shard}`,
        '--leader-election-namespace', leaseNamespace,
        // Generous: three operators, the emulator and a control plane share two cores here.
        '--leader-election-lease-duration', '40s',
        '--leader-election-renew-deadline', '30s',
        '--leader-election-retry-period', '5s',
        '--resync-interval', '5s',
      ],
    });
    const deadline = Date.now() + 90_000;
    while (!(await isLeader(operator))) {
      if (Date.now() > deadline) throw new Error(`shard ${shard} did not take its Lease:\n${operator.logs().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return operator;
  }

  const gsPath = (name: string) => `${galleryShares(namespace)}/${name}`;
  const createShare = (gs: GalleryShare) => client.create<GalleryShare>(galleryShares(namespace), gs);
  const waitForShare = (name: string, until: (gs: GalleryShare) => boolean = isReady, what = 'Ready', timeoutMs = 60_000) =>
    waitForGalleryShare(client, namespace, name, until, { what, timeoutMs, logs: allLogs });
  async function newGallery(): Promise<string> {
    const name = `g${randomBytes(4).toString('hex')}`;
    await createGallery(azure, name, 'Groups', true);
    return name;
  }
  async function sharingOf(gallery: string): Promise<{ tenants: string[]; subscriptions: string[] }> {
    const res = await adminRequest(azure, 'GET', `${galleryPathOf(gallery)}?$expand=SharingProfile/Groups`);
    expect(res.status, res.text).to.equal(200);
    const groups = ((res.body.properties as { sharingProfile?: { groups?: { type: string; ids: string[] }[] } }).sharingProfile?.groups ?? []);
    return { tenants: groups.find((g) => g.type === 'AADTenants')?.ids ?? [], subscriptions: groups.find((g) => g.type === 'Subscriptions')?.ids ?? [] };
  }
  /** Where each object's reconciles were logged: the shards whose log (from `since`) has lines about it. */
  const reconciledBy = (name: string, since: Partial<Record<Shard, number>> = {}) =>
    SHARDS.filter((s) => reconcileLines(operators[s].logs().slice(since[s] ?? 0), namespace, name).length > 0);
  const logOffsets = (): Record<Shard, number> => Object.fromEntries(SHARDS.map((s) => [s, operators[s].logs().length])) as Record<Shard, number>;

  before(async function () {
    this.timeout(600_000);
    await ensureKstatus();
    azure = await start({ seed: sivmSeed(), options: { retryAfterSeconds: 0, lroDurationMs: 300 } });
    clients = kubeClients();
    client = new KubeClient(clients.kc);
    leaseNamespace = await createTestNamespace(clients, 'shard-leases');
    for (const shard of SHARDS) operators[shard] = await launch(shard);
  });
  after(async () => {
    for (const shard of SHARDS) await operators[shard]?.stop();
    client?.close();
    await azure?.stop();
    if (leaseNamespace) await deleteNamespace(clients, leaseNamespace);
  });
  beforeEach(async () => {
    namespace = await createTestNamespace(clients, 'shard');
    await createVmSecrets(clients, namespace);
  });
  afterEach(async function () {
    this.timeout(180_000);
    // A test that stopped a shard may have failed before starting it again: its objects need it.
    for (const shard of SHARDS) if (operators[shard].child.exitCode !== null || operators[shard].child.signalCode !== null) operators[shard] = await launch(shard);
    for (const collection of [sharedImageVMs(namespace), tenantGrants(namespace), galleryShares(namespace)]) {
      await client.delete(collection).catch(() => undefined);
      for (let i = 0; i < 600 && (await client.get<{ items: unknown[] }>(collection)).items.length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    }
    await deleteNamespace(clients, namespace);
  });

  it('each shard takes its own Lease and reconciles only the objects its selector selects; a stopped shard\'s objects wait for it', async function () {
    this.timeout(300_000);
    const leases = await client.get<{ items: { metadata: { name: string }; spec: { holderIdentity?: string } }[] }>(`/apis/coordination.k8s.io/v1/namespaces/${leaseNamespace}/leases`);
    expect(leases.items.map((l) => l.metadata.name).sort()).to.deep.equal(['gso-shard-a', 'gso-shard-b', 'gso-shard-default']);
    expect(new Set(leases.items.map((l) => l.spec.holderIdentity)).size, 'three holders').to.equal(3);

    const galleries = { a: await newGallery(), b: await newGallery(), default: await newGallery() };
    for (const shard of SHARDS) await createShare(inShard(galleryShareManifest(`share-${shard}`, galleries[shard], { permission: 'Groups', directShare: { tenants: [partnerTenant] } }), shard));
    for (const shard of SHARDS) {
      await waitForShare(`share-${shard}`);
      expect((await sharingOf(galleries[shard])).tenants, shard).to.deep.equal([partnerTenant]);
    }
    for (const shard of SHARDS) expect(reconciledBy(`share-${shard}`), `share-${shard} is reconciled by`).to.deep.equal([shard]);

    // Shard b stops: its new object waits, shard a's goes on; b started again takes its object.
    expect(await operators.b.stop()).to.equal(0);
    const later = { a: await newGallery(), b: await newGallery() };
    await createShare(inShard(galleryShareManifest('later-b', later.b, { permission: 'Groups', directShare: { tenants: [partnerTenant] } }), 'b'));
    await createShare(inShard(galleryShareManifest('later-a', later.a, { permission: 'Groups', directShare: { tenants: [partnerTenant] } }), 'a'));
    await waitForShare('later-a');
    await new Promise((r) => setTimeout(r, 6_000)); // more than a resync of the running shards
    const waiting = await client.get<GalleryShare>(gsPath('later-b'));
    expect(waiting.status?.conditions, 'no shard but b touches later-b').to.equal(undefined);
    expect(waiting.metadata.finalizers ?? []).to.deep.equal([]);
    expect((await sharingOf(later.b)).tenants).to.deep.equal([]);
    operators.b = await launch('b');
    await waitForShare('later-b');
    expect(reconciledBy('later-b')).to.deep.equal(['b']);
    expect(reconciledBy('later-a')).to.deep.equal(['a']);
  });

  it('two GalleryShares in different shards naming one gallery: the older manages it, the newer is Stalled GalleryClaimed, and goes on when the older is gone', async function () {
    this.timeout(300_000);
    const gallery = await newGallery();
    await createShare(inShard(galleryShareManifest('first', gallery, { permission: 'Groups', directShare: { tenants: [partnerTenant] } }), 'a'));
    await waitForShare('first');
    // The default shard's newer GalleryShare and shard b's too: neither may touch the gallery.
    await createShare(inShard(galleryShareManifest('second', gallery, { permission: 'Groups', directShare: { subscriptions: [ids.devSubscription] } }), 'b'));
    await createShare(galleryShareManifest('third', gallery, { permission: 'Groups', directShare: { subscriptions: [ids.devSubscription] } }));
    for (const name of ['second', 'third']) {
      const stalled = await waitForShare(name, (gs) => kstatus(gs) === 'Failed', 'Stalled');
      const why = stalled.status?.conditions?.find((c) => c.type === 'Stalled');
      expect(why, name).to.include({ status: 'True', reason: 'GalleryClaimed' });
      expect(why!.message, name).to.include(`GalleryShare ${namespace}/first already manages gallery ${gallery}`);
    }
    expect(await sharingOf(gallery), 'the newer specs never reached Azure').to.deep.equal({ tenants: [partnerTenant], subscriptions: [] });

    // The older one goes (its shard undoes its sharing); then the older of the two left holds the gallery.
    await client.delete(gsPath('first'));
    await waitUntilGone(client, gsPath('first'), 60_000, allLogs);
    await waitForShare('second');
    expect(await sharingOf(gallery)).to.deep.equal({ tenants: [], subscriptions: [ids.devSubscription] });
    const claimedBySecond = (gs: GalleryShare) => kstatus(gs) === 'Failed' && (gs.status?.conditions?.find((c) => c.type === 'Stalled')?.message ?? '').includes(`GalleryShare ${namespace}/second already manages gallery`);
    await waitForShare('third', claimedBySecond, 'Stalled GalleryClaimed by second');
    expect(reconciledBy('second'), 'second acted in its own shard').to.deep.equal(['b']);
    // Acted: a change in Azure (the log line of each change names its action). Its own shard may
    // log a reconcile of it (waiting for the cache of every GalleryShare, at debug), and does not act.
    const actedOn = (name: string) => SHARDS.filter((shard) => reconcileLines(operators[shard].logs(), namespace, name).some((l) => l.action));
    expect(actedOn('third'), 'third never acted').to.deep.equal([]);
  });

  it('a SharedImageVM in shard b acts through its TenantGrant in shard a, and the grant\'s deletion waits for it', async function () {
    this.timeout(300_000);
    await createAppSecret(clients, namespace);
    await createFabrikamAdminSecret(clients, namespace);
    await azure.control.grantConsent(APP, TARGET_TENANT);
    const rg = await createTargetResourceGroup(azure);
    await createTargetNetwork(azure, rg);
    await client.create(tenantGrants(namespace), inShard(tenantGrantManifest('grant', TEST_GALLERY, rg), 'a'));
    await waitForTenantGrant(client, namespace, 'grant', isGrantReady, { what: 'Ready', timeoutMs: 60_000, logs: allLogs });

    const vm = inShard(
      vmManifest('crossvm', {
        image: { id: rbacImage('ubuntu', '1.0.0') },
        azureCredentialsRef: undefined,
        tenantGrantRef: { name: 'grant' },
        subscriptionId: TARGET_SUBSCRIPTION,
        resourceGroup: rg,
        network: { subnetId: subnetId(TARGET_SUBSCRIPTION, rg, 'vnet') },
      }),
      'b',
    );
    await client.create<VM>(sharedImageVMs(namespace), vm);
    await waitForVM(client, namespace, 'crossvm', isVmReady, { what: 'Ready', timeoutMs: 60_000, logs: allLogs });
    const puts = await machinePuts(azure, 'crossvm');
    expect(puts, 'one VM PUT').to.have.length(1);
    expect(puts[0]).to.include({ appId: APP, tenantId: TARGET_TENANT, auxiliary: true });
    expect(reconciledBy('crossvm')).to.deep.equal(['b']);
    expect(reconciledBy('grant')).to.deep.equal(['a']);

    // Shard a sees shard b's VM: the grant waits for it.
    await client.delete(tenantGrantPath(namespace, 'grant'));
    const inUse = (tg: Grant) => kstatus(tg) === 'Terminating' && grantCondition(tg, 'Reconciling')?.status === 'True' && grantCondition(tg, 'Reconciling')?.reason === 'InUse';
    const blocked = await waitForTenantGrant(client, namespace, 'grant', inUse, { what: 'Terminating, Reconciling InUse', timeoutMs: 60_000, logs: allLogs });
    expect(grantCondition(blocked, 'Reconciling')!.message).to.include(`SharedImageVM ${namespace}/crossvm`);
    await client.delete(vmPath(namespace, 'crossvm'));
    await waitUntilGone(client, vmPath(namespace, 'crossvm'), 90_000, allLogs);
    await waitUntilGone(client, tenantGrantPath(namespace, 'grant'), 90_000, allLogs);
  });

  it('relabelling moves an object between shards: the new shard acts on its edits and its deletion, the old one no more; nothing made twice or left behind', async function () {
    this.timeout(300_000);
    const gallery = await newGallery();
    const roleAssignments = [{ principalId: ids.imageConsumersGroup, principalType: 'Group' as const, role: 'Reader' }];
    await createShare(inShard(galleryShareManifest('moving', gallery, { permission: 'Groups', directShare: { tenants: [partnerTenant] }, roleAssignments }), 'a'));
    const ready = await waitForShare('moving');
    expect(ready.metadata.finalizers).to.include('galleryshare.io/finalizer');
    expect(reconciledBy('moving')).to.deep.equal(['a']);

    // To shard b, then an edit: shard b makes it, shard a does nothing more.
    let since = logOffsets();
    await client.patch(gsPath('moving'), { metadata: { labels: { [SHARD_KEY]: 'b' } } }, 'merge');
    await client.patch(gsPath('moving'), { spec: { directShare: { tenants: [partnerTenant], subscriptions: [ids.devSubscription] } } }, 'merge');
    await waitForShare('moving', (gs) => isReady(gs) && gs.metadata.generation === 2, 'Ready for generation 2');
    expect(await sharingOf(gallery)).to.deep.equal({ tenants: [partnerTenant], subscriptions: [ids.devSubscription] });
    expect(reconciledBy('moving', since), 'after the move to b').to.deep.equal(['b']);

    // To the default shard (the label removed), then deleted there.
    since = logOffsets();
    await client.patch(gsPath('moving'), { metadata: { labels: { [SHARD_KEY]: null } } }, 'merge');
    await client.patch(gsPath('moving'), { spec: { directShare: { tenants: [partnerTenant], subscriptions: null } } }, 'merge');
    await waitForShare('moving', (gs) => isReady(gs) && gs.metadata.generation === 3, 'Ready for generation 3');
    expect(await sharingOf(gallery)).to.deep.equal({ tenants: [partnerTenant], subscriptions: [] });
    await client.delete(gsPath('moving'));
    await waitUntilGone(client, gsPath('moving'), 60_000, allLogs);
    expect(reconciledBy('moving', since), 'after the move to the default shard').to.deep.equal(['default']);
    const finalized = SHARDS.filter((s) => reconcileLines(operators[s].logs(), namespace, 'moving').some((l) => l.msg === 'finalizer removed'));
    expect(finalized, 'the finalizer was removed by').to.deep.equal(['default']);

    // Nothing left behind, nothing made twice: one role assignment created in all, and gone.
    expect(await sharingOf(gallery)).to.deep.equal({ tenants: [], subscriptions: [] });
    expect(await assignmentsAt(azure, ids.contoso, galleryPathOf(gallery))).to.deep.equal([]);
    const creates = (await azure.control.requests()).filter((r) => r.method === 'PUT' && r.path.toLowerCase().startsWith(`${galleryPathOf(gallery).toLowerCase()}/providers/microsoft.authorization/roleassignments/`) && r.status === 201);
    expect(creates, 'role assignments created').to.have.length(1);
  });
});
