// GalleryShare end to end: the real control plane, the Azure emulator, and the operator as its own
// process. Each test gets its own namespace and its own gallery in the emulator.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GROUP, VERSION, type GalleryShare } from '../../src/api/v1alpha1/index.js';
import { roleScope } from '../../src/azure/arm-ids.js';
import { kstatus } from '../../src/runtime/kstatus.js';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { generateClientCertificate } from '../azure-emulator/certificates.js';
import { start, type RunningEmulator } from '../azure-emulator/index.js';
import { ids, sampleSeed, secrets } from '../emulator/helpers.js';
import { adminRequest as adminRequestAs, createGallery, createOwnerSecret, galleryPathOf } from '../support/azure-fixtures.js';
import { createTestNamespace, deleteNamespace, kubeClients, kubectl, testKubeconfigPath, type KubeClients } from '../support/kube.js';
import { galleryShareManifest, waitForGalleryShare } from '../support/galleryshares.js';
import { startOperator, type OperatorProcess } from '../support/operator-process.js';
import { ensureKstatus } from '../support/real-kstatus.js';

const RESYNC_SECONDS = 3;
const partnerTenant = ids.fabrikam;
const otherTenant = '0b6f3c1e-9d2a-4e5f-8a7b-1c2d3e4f5a6b';

describe('GalleryShare end to end', function () {
  let azure: RunningEmulator;
  let operator: OperatorProcess;
  let clients: KubeClients;
  let client: KubeClient;
  let namespace: string;
  let galleryName: string;
  let certificateDir: string;
  let ownerCertificate: { certPem: string; keyPem: string; combinedPem: string };

  const gsPath = (name: string) => `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares/${name}`;
  const galleryPath = () => galleryPathOf(galleryName);

  const adminRequest = (method: string, path: string, body?: unknown) => adminRequestAs(azure, method, path, body);

  async function getGallery() {
    const res = await adminRequest('GET', `${galleryPath()}?$expand=SharingProfile/Groups`);
    expect(res.status, res.text).to.equal(200);
    return res.body;
  }

  const waitFor = (name: string, predicate: (gs: GalleryShare) => boolean, what: string, timeoutMs = 30_000) =>
    waitForGalleryShare(client, namespace, name, predicate, { what, timeoutMs, logs: () => operator.logs() });
  /** Waits until the object is gone, i.e. the operator removed its finalizer. */
  async function waitUntilGone(name: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (await client.get(gsPath(name)).catch(() => undefined)) {
      if (Date.now() > deadline) throw new Error(`${name} still exists: the finalizer was not removed`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const isReady = (gs: GalleryShare) => kstatus(gs) === 'Current';
  const condition = (gs: GalleryShare, type: string) => gs.status?.conditions?.find((c) => c.type === type);

  const galleryShare = (name: string, spec: Partial<GalleryShare['spec']> = {}): GalleryShare =>
    galleryShareManifest(name, galleryName, {
      permission: 'Groups',
      directShare: { subscriptions: [ids.devSubscription], tenants: [partnerTenant] },
      roleAssignments: [
        { principalId: ids.imageConsumersGroup, principalType: 'Group', role: 'Reader' },
        { principalId: ids.tester, principalType: 'User', role: 'Compute Gallery Image Reader', image: 'ubuntu-2404' },
      ],
      ...spec,
    });

  const create = (gs: GalleryShare) => client.create<GalleryShare>(`/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares`, gs);

  before(async function () {
    this.timeout(600_000); // kstatus is built from Go modules on first use
    await ensureKstatus();
    // The gallery owner's app also has a certificate registered, for the certificate Secret test.
    certificateDir = mkdtempSync(join(tmpdir(), 'gso-cert-'));
    ownerCertificate = await generateClientCertificate(certificateDir, 'owner');
    const seed = sampleSeed();
    seed.applications!.find((a) => a.appId === ids.galleryOwner)!.certificates = [ownerCertificate.certPem];
    azure = await start({ seed, options: { retryAfterSeconds: 1, lroDurationMs: 300 } });
    clients = kubeClients();
    client = new KubeClient(clients.kc);
    operator = await startOperator({
      kubeconfig: testKubeconfigPath(),
      armEndpoint: azure.armEndpoint,
      caPath: azure.caPath,
      extraArgs: ['--resync-interval', `${RESYNC_SECONDS}s`, '--leader-elect', 'false', '--allowed-share-tenants', [partnerTenant, otherTenant].join(',')],
    });
  });

  after(async () => {
    await operator?.stop();
    client?.close();
    await azure?.stop();
    if (certificateDir) rmSync(certificateDir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    namespace = await createTestNamespace(clients, 'gs');
    galleryName = `g${randomBytes(4).toString('hex')}`;
    await createGallery(azure, galleryName, 'Groups', true);
    await createOwnerSecret(clients, namespace);
  });

  afterEach(async () => {
    // GalleryShares first, so that they undo their sharing while their Secret still exists.
    await client.delete(`/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares`).catch(() => undefined);
    for (let i = 0; i < 200; i++) {
      const left = await client.get<{ items: unknown[] }>(`/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares`);
      if (left.items.length === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await deleteNamespace(clients, namespace);
  });

  it('makes Azure match the spec and reports Ready, for kubectl wait and kstatus', async () => {
    await create(galleryShare('golden'));
    const { stdout } = await kubectl(['wait', '-n', namespace, 'galleryshare.galleryshare.io/golden', '--for=condition=Ready', '--timeout=60s']);
    expect(stdout).to.include('condition met');
    const gs = await waitFor('golden', isReady, 'Ready');
    expect(gs.metadata.finalizers).to.include('galleryshare.io/finalizer');
    expect(gs.status?.galleryUniqueName).to.equal(`${ids.gallerySubscription}-${galleryName.toUpperCase()}`);
    expect(gs.status?.directShare).to.deep.equal({ subscriptions: [ids.devSubscription], tenants: [partnerTenant] });
    expect(gs.status?.roleAssignments?.map((r) => r.role).sort()).to.deep.equal(['Compute Gallery Image Reader', 'Reader']);
    for (const type of ['DirectShareSynced', 'RoleAssignmentsSynced']) expect(condition(gs, type)?.status, type).to.equal('True');

    const gallery = await getGallery();
    const groups = gallery.properties!.sharingProfile!.groups as unknown as { type: string; ids: string[] }[];
    expect(groups.find((g) => g.type === 'AADTenants')?.ids).to.deep.equal([partnerTenant]);
    expect(groups.find((g) => g.type === 'Subscriptions')?.ids).to.deep.equal([ids.devSubscription]);
    const assignments = await adminRequest('GET', `${roleScope({ subscriptionId: ids.gallerySubscription, resourceGroup: ids.galleryRG, name: galleryName }, 'ubuntu-2404')}/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()`);
    const principals = (assignments.body.value as unknown as { properties: { principalId: string } }[]).map((a) => a.properties.principalId);
    expect(principals).to.include(ids.tester);

    const events = await clients.core.listNamespacedEvent({ namespace });
    const reasons = events.items.map((e) => e.reason);
    expect(reasons).to.include.members(['Shared', 'RoleAssignmentCreated', 'Ready']);
  });

  it('writes only the difference when the list changes', async () => {
    await create(galleryShare('golden', { roleAssignments: undefined }));
    await waitFor('golden', isReady, 'Ready');
    await azure.control.clearRequests();
    await client.patch(gsPath('golden'), { spec: { directShare: { subscriptions: [ids.devSubscription], tenants: [partnerTenant, otherTenant] } } }, 'merge');
    await waitFor('golden', (gs) => isReady(gs) && gs.status?.directShare?.tenants?.length === 2, 'the new tenant');
    const writes = (await azure.control.requests()).filter((r) => r.method !== 'GET' && r.path.toLowerCase().includes(galleryName.toLowerCase()));
    expect(writes.map((w) => `${w.method} ${w.operation}`)).to.deep.equal(['POST GallerySharingProfile_Update']);
    const tenants = ((await getGallery()).properties!.sharingProfile!.groups as unknown as { type: string; ids: string[] }[]).find((g) => g.type === 'AADTenants')!.ids;
    expect(tenants.sort()).to.deep.equal([partnerTenant, otherTenant].sort());
  });

  it('never reports Ready for a generation whose spec it has not applied (the spec changed during a reconcile)', async () => {
    const reader = (principalId: string, principalType: 'Group' | 'User') => ({ principalId, principalType, role: 'Reader' });
    const group = reader(ids.imageConsumersGroup, 'Group');
    const tester = reader(ids.tester, 'User');
    await create(galleryShare('moving', { roleAssignments: [group] }));
    await waitFor('moving', isReady, 'Ready');
    // Every read of the gallery now takes 2 s, so that the reconcile of generation 2 (which
    // finishes in one pass: role assignments need no long-running operation) is still observing
    // when generation 3 arrives, and its status write meets a conflict.
    await azure.control.addFault({ method: 'GET', path: `galleries/${galleryName}$`, latencyMs: 2000 });
    try {
      await client.patch(gsPath('moving'), { spec: { roleAssignments: [group, tester] } }, 'merge');
      await new Promise((r) => setTimeout(r, 700));
      await client.patch(gsPath('moving'), { spec: { roleAssignments: [tester] } }, 'merge');
      // kstatus Current means Ready for observedGeneration == generation: the first time it holds,
      // the status must describe generation 3 (the tester only), not what generation 2 did.
      const ready = await waitFor('moving', isReady, 'Ready at generation 3');
      expect(ready.metadata.generation).to.equal(3);
      expect(ready.status?.roleAssignments?.map((r) => r.principalId), 'a Ready status describes the current spec').to.deep.equal([ids.tester]);
    } finally {
      await azure.control.clearFaults();
    }
  });

  it('deletes what it added with deletionPolicy Delete, and leaves Azure alone with Orphan', async () => {
    await create(galleryShare('golden'));
    const ownedIds = (await waitFor('golden', isReady, 'Ready')).status!.roleAssignments!.map((r) => r.id!);
    expect(ownedIds).to.have.length(2);
    await client.delete(gsPath('golden'));
    await waitUntilGone('golden');
    const groups = ((await getGallery()).properties!.sharingProfile!.groups ?? []) as unknown as { ids: string[] }[];
    expect(groups.flatMap((g) => g.ids)).to.deep.equal([]);
    for (const id of ownedIds) expect((await adminRequest('GET', id)).status, `${id} deleted`).to.equal(404);

    await create(galleryShare('kept', { deletionPolicy: 'Orphan' }));
    const keptIds = (await waitFor('kept', isReady, 'Ready')).status!.roleAssignments!.map((r) => r.id!);
    await client.delete(gsPath('kept'));
    await waitUntilGone('kept');
    const kept = ((await getGallery()).properties!.sharingProfile!.groups ?? []) as unknown as { ids: string[] }[];
    expect(kept.flatMap((g) => g.ids).sort()).to.deep.equal([ids.devSubscription, partnerTenant].sort());
    for (const id of keptIds) expect((await adminRequest('GET', id)).status, `${id} kept with Orphan`).to.equal(200);
  });

  it('repairs drift at the next resync, leaves foreign assignments alone, and a quiet resync costs at most 2 reads', async () => {
    await create(galleryShare('golden'));
    await waitFor('golden', isReady, 'Ready');
    // Behind the operator's back, as a person in the portal: unshare the partner tenant and add
    // an assignment of their own.
    const unshare = await adminRequest('POST', `${galleryPath()}/share`, { operationType: 'Remove', groups: [{ type: 'AADTenants', ids: [partnerTenant] }] });
    expect(unshare.status, unshare.text).to.be.oneOf([200, 202]);
    const scope = roleScope({ subscriptionId: ids.gallerySubscription, resourceGroup: ids.galleryRG, name: galleryName });
    await azure.control.assignRole(scope, ids.tester, 'Reader');
    const tenantsNow = async () => (((await getGallery()).properties!.sharingProfile!.groups ?? []) as unknown as { type: string; ids: string[] }[]).find((g) => g.type === 'AADTenants')?.ids ?? [];
    // The portal's Remove is itself a long-running operation: wait until Azure shows it.
    for (let i = 0; i < 100 && (await tenantsNow()).includes(partnerTenant); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await tenantsNow(), 'drift made').not.to.include(partnerTenant);
    const deadline = Date.now() + (RESYNC_SECONDS + 5) * 1000;
    while (!(await tenantsNow()).includes(partnerTenant)) {
      if (Date.now() > deadline) throw new Error('the removed tenant was not shared again');
      await new Promise((r) => setTimeout(r, 200));
    }
    await waitFor('golden', isReady, 'Ready again');
    const foreign = await adminRequest('GET', `${scope}/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()`);
    expect((foreign.body.value as unknown as { properties: { principalId: string; scope: string } }[]).some((a) => a.properties.principalId === ids.tester && a.properties.scope.toLowerCase() === scope.toLowerCase()), 'foreign assignment kept').to.equal(true);

    // A resync with nothing changed: catch one, then count what it sent.
    await new Promise((r) => setTimeout(r, 500));
    await azure.control.clearRequests();
    const mine = (path: string) => path.toLowerCase().includes(galleryName.toLowerCase());
    const resyncDeadline = Date.now() + (RESYNC_SECONDS + 3) * 1000;
    while (!(await azure.control.requests()).some((r) => mine(r.path))) {
      if (Date.now() > resyncDeadline) throw new Error('no resync seen');
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 800));
    const all = await azure.control.requests();
    expect(all.filter((r) => r.operation?.startsWith('Entra')), 'tokens are cached for their lifetime').to.deep.equal([]);
    const requests = all.filter((r) => mine(r.path));
    expect(requests.filter((r) => r.method !== 'GET'), 'no writes').to.deep.equal([]);
    expect(requests.length, requests.map((r) => r.operation).join(', ')).to.be.at.most(2);
  });

  it('lets the older GalleryShare keep a gallery and stalls the newer one with GalleryClaimed', async () => {
    await create(galleryShare('first'));
    await waitFor('first', isReady, 'Ready');
    await create(galleryShare('second', { directShare: { tenants: [otherTenant] } }));
    const second = await waitFor('second', (gs) => kstatus(gs) === 'Failed', 'Stalled');
    expect(condition(second, 'Stalled')).to.include({ status: 'True', reason: 'GalleryClaimed' });
    expect(condition(second, 'Stalled')!.message).to.include(`GalleryShare ${namespace}/first already manages gallery ${galleryName}`);
    expect(condition(second, 'Ready')?.status).to.equal('False');
    const tenants = (((await getGallery()).properties!.sharingProfile!.groups ?? []) as unknown as { type: string; ids: string[] }[]).find((g) => g.type === 'AADTenants')!.ids;
    expect(tenants, 'the newer spec never reached Azure').to.deep.equal([partnerTenant]);
  });

  it('stalls with PolicyViolation before calling Azure when the policy refuses a tenant', async () => {
    await azure.control.clearRequests();
    const refusedTenant = '9f8e7d6c-5b4a-4321-8fed-cba987654321';
    await create(galleryShare('refused', { directShare: { tenants: [refusedTenant] } }));
    const gs = await waitFor('refused', (o) => kstatus(o) === 'Failed', 'Stalled');
    expect(condition(gs, 'Stalled')).to.include({ reason: 'PolicyViolation' });
    expect(condition(gs, 'Stalled')!.message).to.include(refusedTenant);
    expect((await azure.control.requests()).filter((r) => r.path.toLowerCase().includes(galleryName.toLowerCase()))).to.deep.equal([]);
  });

  it('deletes a GalleryShare that policy refused without touching Azure, even what its spec names', async () => {
    // The partner tenant was shared by hand; the GalleryShare names it too, but also a refused tenant.
    const shared = await adminRequest('POST', `${galleryPath()}/share`, { operationType: 'Add', groups: [{ type: 'AADTenants', ids: [partnerTenant] }] });
    expect(shared.status, shared.text).to.be.oneOf([200, 202]);
    const tenantsNow = async () => (((await getGallery()).properties!.sharingProfile!.groups ?? []) as unknown as { type: string; ids: string[] }[]).find((g) => g.type === 'AADTenants')?.ids ?? [];
    for (let i = 0; i < 50 && !(await tenantsNow()).includes(partnerTenant); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await tenantsNow()).to.deep.equal([partnerTenant]);

    await create(galleryShare('refused', { directShare: { tenants: [partnerTenant, '9f8e7d6c-5b4a-4321-8fed-cba987654321'] }, roleAssignments: [] }));
    await waitFor('refused', (o) => condition(o, 'Stalled')?.reason === 'PolicyViolation', 'Stalled PolicyViolation');
    await azure.control.clearRequests();
    await client.delete(gsPath('refused'));
    await waitUntilGone('refused');
    const writes = (await azure.control.requests()).filter((r) => r.method !== 'GET' && r.path.toLowerCase().includes(galleryName.toLowerCase()));
    expect(writes, 'no write to the gallery').to.deep.equal([]);
    expect(await tenantsNow(), 'the tenant shared by hand stays').to.deep.equal([partnerTenant]);
  });

  it('stalls on a missing gallery, saying what to do', async () => {
    await create(galleryShare('nowhere', { gallery: { subscriptionId: ids.gallerySubscription, resourceGroup: ids.galleryRG, name: 'noSuchGallery' } }));
    const gs = await waitFor('nowhere', (o) => kstatus(o) === 'Failed', 'Stalled');
    expect(condition(gs, 'Stalled')).to.include({ reason: 'GalleryNotFound' });
    expect(condition(gs, 'Stalled')!.message).to.include('Check spec.gallery');
  });

  it('signs in with a client certificate from the Secret, and its private key appears in no log line, event or status', async () => {
    await clients.core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'owner-certificate' }, stringData: { tenantId: ids.contoso, clientId: ids.galleryOwner, clientCertificate: ownerCertificate.combinedPem } },
    });
    await create(galleryShare('certified', { azureCredentialsRef: { name: 'owner-certificate' } }));
    const gs = await waitFor('certified', isReady, 'Ready');
    expect(gs.status?.directShare?.tenants).to.deep.equal([partnerTenant]);
    const events = await clients.core.listNamespacedEvent({ namespace });
    const everything = [operator.logs(), JSON.stringify(events.items), JSON.stringify(gs.status)].join('\n');
    const keyBody = ownerCertificate.keyPem.split('\n').filter((line) => line && !line.startsWith('-----'));
    for (const line of keyBody) expect(everything).not.to.include(line);
  });

  it('stalls on a wrong client secret, and the secret appears in no log line, event or status', async () => {
    const wrongSecret = `wrong-${randomBytes(12).toString('hex')}`;
    await clients.core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'bad-creds' }, stringData: { tenantId: ids.contoso, clientId: ids.galleryOwner, clientSecret: wrongSecret } },
    });
    await create(galleryShare('badcreds', { azureCredentialsRef: { name: 'bad-creds' } }));
    const gs = await waitFor('badcreds', (o) => kstatus(o) === 'Failed', 'Stalled');
    expect(condition(gs, 'Stalled')?.reason).to.equal('AADSTS7000215');
    expect(condition(gs, 'Stalled')!.message).to.include('put a current secret of the application in the Secret');
    const events = await clients.core.listNamespacedEvent({ namespace });
    expect(events.items.some((e) => e.reason === 'AADSTS7000215')).to.equal(true);
    const everything = [operator.logs(), JSON.stringify(events.items), JSON.stringify(gs.status)].join('\n');
    expect(everything).not.to.include(wrongSecret);
    expect(everything).not.to.include(secrets[ids.galleryOwner]!);

    // Fixing the Secret is enough: the new content gives a new credential, and the object recovers.
    await client.patch(`/api/v1/namespaces/${namespace}/secrets/bad-creds`, { stringData: { clientSecret: secrets[ids.galleryOwner]! } }, 'merge');
    await waitFor('badcreds', isReady, 'Ready after the Secret was fixed', 20_000);
    expect(operator.logs()).not.to.include(secrets[ids.galleryOwner]!);
  });

  it('stalls with AuthorizationFailed when the identity lacks rights on the gallery, saying what to grant', async () => {
    await clients.core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'no-rights' }, stringData: { tenantId: ids.contoso, clientId: ids.galleryApp, clientSecret: secrets[ids.galleryApp]! } },
    });
    await create(galleryShare('norights', { azureCredentialsRef: { name: 'no-rights' } }));
    const gs = await waitFor('norights', (o) => kstatus(o) === 'Failed', 'Stalled');
    expect(condition(gs, 'Stalled')?.reason).to.equal('AuthorizationFailed');
    expect(condition(gs, 'Stalled')!.message).to.include('Compute Gallery Sharing Admin');
  });

  it('exports controller-runtime and Azure request metrics', async () => {
    await create(galleryShare('metered', { roleAssignments: undefined }));
    await waitFor('metered', isReady, 'Ready');
    const text = await fetch(operator.metricsUrl).then((r) => r.text());
    expect(text).to.match(/controller_runtime_reconcile_total\{controller="galleryshare",result="success"\} \d+/);
    expect(text).to.match(/controller_runtime_reconcile_time_seconds_bucket\{le="[^"]+",controller="galleryshare"\}/);
    expect(text).to.match(/workqueue_depth\{controller="galleryshare",name="galleryshare"\} \d+/);
    expect(text).to.match(/workqueue_retries_total\{controller="galleryshare",name="galleryshare"\} \d+/);
    expect(text).to.match(/galleryshare_azure_requests_total\{operation="GET galleries",status="200"\} \d+/);
    expect(text).to.match(/galleryshare_azure_requests_total\{operation="POST share",status="202"\} \d+/);
    const base = operator.metricsUrl.replace(/\/metrics$/, '');
    expect((await fetch(`${base}/healthz`)).status).to.equal(200);
    expect((await fetch(`${base}/readyz`)).status).to.equal(200);
  });

  it('honours Retry-After on 429: Reconciling, and no request to the gallery before it has passed', async () => {
    await azure.control.clearRequests();
    const fault = await azure.control.addFault({ method: 'GET', path: `galleries/${galleryName}$`, status: 429, code: 'OperationNotAllowed', message: 'The server rejected the request because too many requests have been received for this subscription.', headers: { 'Retry-After': '3' }, count: 1 });
    await create(galleryShare('throttled'));
    const throttled = await waitFor('throttled', (gs) => condition(gs, 'Reconciling')?.reason === 'Throttled', 'Reconciling Throttled', 10_000);
    expect(kstatus(throttled)).to.equal('InProgress');
    await waitFor('throttled', isReady, 'Ready');
    const log = (await azure.control.requests()).filter((r) => r.method === 'GET' && r.path.toLowerCase().endsWith(`galleries/${galleryName.toLowerCase()}`));
    const rejected = log.findIndex((r) => r.faultId === fault.id);
    expect(rejected).to.be.at.least(0);
    const next = log[rejected + 1]!;
    expect(Date.parse(next.time) - Date.parse(log[rejected]!.time), 'waited Retry-After').to.be.at.least(2900);
    const metrics = await fetch(operator.metricsUrl).then((r) => r.text());
    expect(metrics).to.match(/galleryshare_azure_throttled_requests_total\{operation="GET galleries"\} [1-9]/);
  });

  it('keeps polling a running share operation after a failed poll, instead of starting it again', async () => {
    await azure.control.setOptions({ lroDurationMs: 4000 });
    await azure.control.addFault({ method: 'GET', path: '/operations/', status: 503, code: 'ServiceUnavailable', message: 'try later', count: 1 });
    try {
      await azure.control.clearRequests();
      await create(galleryShare('slow', { roleAssignments: [] }));
      await waitFor('slow', isReady, 'Ready');
      const log = await azure.control.requests();
      expect(log.some((r) => r.faultId !== undefined && r.path.includes('/operations/')), 'a poll failed').to.equal(true);
      const shares = log.filter((r) => r.method === 'POST' && r.path.toLowerCase().endsWith(`galleries/${galleryName.toLowerCase()}/share`));
      expect(shares, 'one share call').to.have.length(1);
    } finally {
      await azure.control.setOptions({ lroDurationMs: 300 });
      await azure.control.clearFaults();
    }
  });

  it('recovers from 5xx answers by retrying', async () => {
    await azure.control.addFault({ method: 'POST', path: `galleries/${galleryName}/share$`, status: 503, code: 'ServiceUnavailable', message: 'try later', count: 2 });
    await create(galleryShare('flaky'));
    const gs = await waitFor('flaky', isReady, 'Ready');
    expect(gs.status?.directShare?.tenants).to.deep.equal([partnerTenant]);
    const events = await clients.core.listNamespacedEvent({ namespace });
    expect(events.items.filter((e) => e.type === 'Warning').map((e) => e.reason), 'each failure is an event').to.include('ServiceUnavailable');
    await azure.control.clearFaults();
  });
});
