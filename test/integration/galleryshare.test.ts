// GalleryShare end to end: the real control plane, the Azure emulator, and the operator as its own
// process. Each test gets its own namespace and its own gallery in the emulator.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { GROUP, VERSION, type GalleryShare } from '../../src/api/v1alpha1/index.js';
import { roleScope } from '../../src/azure/arm-ids.js';
import { kstatus } from '../../src/runtime/kstatus.js';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { start, type RunningEmulator } from '../azure-emulator/index.js';
import { ids, raw, sampleSeed, secrets } from '../emulator/helpers.js';
import { createTestNamespace, deleteNamespace, kubeClients, kubectl, testKubeconfigPath, type KubeClients } from '../support/kube.js';
import { startOperator, type OperatorProcess } from '../support/operator-process.js';

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

  const gsPath = (name: string) => `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares/${name}`;
  const galleryPath = () => `/subscriptions/${ids.gallerySubscription}/resourceGroups/${ids.galleryRG}/providers/Microsoft.Compute/galleries/${galleryName}`;

  async function adminRequest(method: string, path: string, body?: unknown) {
    const token = await azure.control.adminToken(ids.contoso);
    return raw(azure, method, `${path}${path.includes('?') ? '&' : '?'}api-version=2025-12-03`, { token, body });
  }

  async function getGallery() {
    const res = await adminRequest('GET', `${galleryPath()}?$expand=SharingProfile/Groups`);
    expect(res.status, res.text).to.equal(200);
    return res.body;
  }

  async function waitFor(name: string, predicate: (gs: GalleryShare) => boolean, what: string, timeoutMs = 30_000): Promise<GalleryShare> {
    const deadline = Date.now() + timeoutMs;
    let last: GalleryShare | undefined;
    for (;;) {
      last = await client.get<GalleryShare>(gsPath(name)).catch(() => undefined);
      if (last && predicate(last)) return last;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last status: ${JSON.stringify(last?.status)}\noperator log tail:\n${operator.logs().split('\n').slice(-15).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
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

  function galleryShare(name: string, spec: Partial<GalleryShare['spec']> = {}): GalleryShare {
    return {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'GalleryShare',
      metadata: { name },
      spec: {
        gallery: { subscriptionId: ids.gallerySubscription, resourceGroup: ids.galleryRG, name: galleryName },
        azureCredentialsRef: { name: 'gallery-owner' },
        permission: 'Groups',
        directShare: { subscriptions: [ids.devSubscription], tenants: [partnerTenant] },
        roleAssignments: [
          { principalId: ids.imageConsumersGroup, principalType: 'Group', role: 'Reader' },
          { principalId: ids.tester, principalType: 'User', role: 'Compute Gallery Image Reader', image: 'ubuntu-2404' },
        ],
        ...spec,
      },
    };
  }

  const create = (gs: GalleryShare) => client.create<GalleryShare>(`/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares`, gs);

  before(async () => {
    azure = await start({ seed: sampleSeed(), options: { retryAfterSeconds: 1, lroDurationMs: 300 } });
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
  });

  beforeEach(async () => {
    namespace = await createTestNamespace(clients, 'gs');
    galleryName = `g${randomBytes(4).toString('hex')}`;
    const res = await adminRequest('PUT', galleryPath(), { location: 'westus', properties: { sharingProfile: { permissions: 'Groups' } } });
    expect(res.status, res.text).to.be.oneOf([200, 201, 202]);
    const image = await adminRequest('PUT', `${galleryPath()}/images/ubuntu-2404`, {
      location: 'westus',
      properties: { osType: 'Linux', osState: 'Generalized', hyperVGeneration: 'V2', identifier: { publisher: 'contoso', offer: 'ubuntu', sku: '2404' } },
    });
    expect(image.status, image.text).to.be.oneOf([200, 201, 202]);
    await clients.core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'gallery-owner' }, stringData: { tenantId: ids.contoso, clientId: ids.galleryOwner, clientSecret: secrets[ids.galleryOwner]! } },
    });
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

  it('deletes what it added with deletionPolicy Delete, and leaves Azure alone with Orphan', async () => {
    await create(galleryShare('golden'));
    await waitFor('golden', isReady, 'Ready');
    await client.delete(gsPath('golden'));
    await waitUntilGone('golden');
    const groups = ((await getGallery()).properties!.sharingProfile!.groups ?? []) as unknown as { ids: string[] }[];
    expect(groups.flatMap((g) => g.ids)).to.deep.equal([]);

    await create(galleryShare('kept', { deletionPolicy: 'Orphan' }));
    await waitFor('kept', isReady, 'Ready');
    await client.delete(gsPath('kept'));
    await waitUntilGone('kept');
    const kept = ((await getGallery()).properties!.sharingProfile!.groups ?? []) as unknown as { ids: string[] }[];
    expect(kept.flatMap((g) => g.ids).sort()).to.deep.equal([ids.devSubscription, partnerTenant].sort());
  });
});
