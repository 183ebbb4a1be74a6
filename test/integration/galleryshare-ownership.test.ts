// What a GalleryShare owns, and what it only adopted, as users meet it: role assignments carry
// their owning object in their names (so a later object never takes an earlier one's for its
// own), deletion never removes what the gallery held before the object first acted, a refusal
// Azure documents as passing by itself is not reported as needing a person, and status says only
// what the latest look at Azure showed. The inputs follow ../shared/cases/galleryshare/.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { GalleryShare } from '../../src/api/v1alpha1/index.js';
import { roleScope } from '../../src/azure/arm-ids.js';
import { legacyRoleAssignmentName, ownedDescription } from '../../src/azure/ownership.js';
import { roleGuid } from '../../src/azure/roles.js';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { start, type RunningEmulator } from '../azure-emulator/index.js';
import { ids, sampleSeed } from '../emulator/helpers.js';
import { adminRequest as adminRequestAs, createGallery, createOwnerSecret, galleryPathOf } from '../support/azure-fixtures.js';
import { galleryShareManifest, galleryShares, waitForGalleryShare } from '../support/galleryshares.js';
import { createTestNamespace, deleteNamespace, kubeClients, testKubeconfigPath, type KubeClients } from '../support/kube.js';
import { startOperator, type OperatorProcess } from '../support/operator-process.js';

const group = ids.imageConsumersGroup;
const user = ids.tester;

describe('GalleryShare ownership and adoption', function () {
  let azure: RunningEmulator;
  let operator: OperatorProcess;
  let clients: KubeClients;
  let client: KubeClient;
  let namespace: string;
  let galleryName: string;

  const adminRequest = (method: string, path: string, body?: unknown) => adminRequestAs(azure, method, path, body);
  const scope = () => roleScope({ subscriptionId: ids.gallerySubscription, resourceGroup: ids.galleryRG, name: galleryName });
  const gsPath = (name: string) => `${galleryShares(namespace)}/${name}`;
  const logs = () => operator.logs();
  const condition = (gs: GalleryShare, type: string) => gs.status?.conditions?.find((c) => c.type === type);

  /** The role assignments at the gallery, as Azure lists them. */
  async function assignmentsAtGallery(): Promise<{ name: string; principalId: string; description?: string }[]> {
    const listed = await adminRequest('GET', `${scope()}/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()`);
    const all = listed.body.value as unknown as { name: string; properties: { principalId: string; scope: string; description?: string } }[];
    return all.filter((a) => a.properties.scope.toLowerCase() === scope().toLowerCase()).map((a) => ({ name: a.name, principalId: a.properties.principalId, description: a.properties.description }));
  }
  async function sharedSubscriptions(): Promise<string[]> {
    const res = await adminRequest('GET', `${galleryPathOf(galleryName)}?$expand=SharingProfile/Groups`);
    const groups = (res.body.properties!.sharingProfile!.groups ?? []) as unknown as { type: string; ids: string[] }[];
    return groups.find((g) => g.type === 'Subscriptions')?.ids ?? [];
  }
  async function waitUntilGone(name: string): Promise<void> {
    for (let i = 0; i < 300 && (await client.get(gsPath(name)).catch(() => undefined)); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await client.get(gsPath(name)).catch(() => undefined), `${name} deleted`).to.equal(undefined);
  }
  async function warnings(): Promise<{ reason: string; message: string; name: string }[]> {
    const events = await clients.core.listNamespacedEvent({ namespace });
    return events.items.filter((e) => e.type === 'Warning').map((e) => ({ reason: e.reason ?? '', message: e.message ?? '', name: e.involvedObject.name ?? '' }));
  }
  const create = (gs: GalleryShare) => client.create(galleryShares(namespace), gs);

  before(async () => {
    azure = await start({ seed: sampleSeed(), options: { retryAfterSeconds: 1, lroDurationMs: 200 } });
    clients = kubeClients();
    client = new KubeClient(clients.kc);
    operator = await startOperator({ kubeconfig: testKubeconfigPath(), armEndpoint: azure.armEndpoint, caPath: azure.caPath, extraArgs: ['--resync-interval', '3s', '--leader-elect', 'false'] });
  });
  after(async () => {
    await operator?.stop();
    client?.close();
    await azure?.stop();
  });
  beforeEach(async () => {
    namespace = await createTestNamespace(clients, 'own');
    galleryName = `g${randomBytes(4).toString('hex')}`;
    await createOwnerSecret(clients, namespace);
  });
  afterEach(async () => {
    await azure.control.clearFaults();
    await client.delete(galleryShares(namespace)).catch(() => undefined);
    for (let i = 0; i < 200 && (await client.get<{ items: unknown[] }>(galleryShares(namespace))).items.length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    await deleteNamespace(clients, namespace);
  });

  it('a later GalleryShare leaves alone the assignment an Orphan-deleted one left behind (case orphaned-assignment-deleted-by-next-owner)', async () => {
    await createGallery(azure, galleryName, 'Private');
    await create(galleryShareManifest('team-a', galleryName, { roleAssignments: [{ principalId: group, principalType: 'Group', role: 'Reader' }], deletionPolicy: 'Orphan' }));
    await waitForGalleryShare(client, namespace, 'team-a', undefined, { logs });
    await client.delete(gsPath('team-a'));
    await waitUntilGone('team-a');
    expect((await assignmentsAtGallery()).map((a) => a.principalId), 'Orphan leaves it').to.include(group);

    await create(galleryShareManifest('team-b', galleryName, { roleAssignments: [{ principalId: user, principalType: 'User', role: 'Compute Gallery Image Reader' }] }));
    const b = await waitForGalleryShare(client, namespace, 'team-b', undefined, { logs });
    await new Promise((r) => setTimeout(r, 3500)); // and after a resync
    expect((await assignmentsAtGallery()).map((a) => a.principalId).sort(), 'the group keeps its access').to.deep.equal([group, user].sort());
    expect(b.status?.roleAssignments?.map((r) => r.principalId), 'team-b owns only its own').to.deep.equal([user]);
    const events = await clients.core.listNamespacedEvent({ namespace });
    expect(events.items.filter((e) => e.involvedObject.name === 'team-b' && e.reason === 'RoleAssignmentDeleted')).to.deep.equal([]);
  });

  it('re-created under the same name (GitOps, a restore), an object takes back the assignments it made, without duplicates', async () => {
    await createGallery(azure, galleryName, 'Private');
    const spec = { roleAssignments: [{ principalId: group, principalType: 'Group' as const, role: 'Reader' }], deletionPolicy: 'Orphan' as const };
    await create(galleryShareManifest('golden', galleryName, spec));
    const first = await waitForGalleryShare(client, namespace, 'golden', undefined, { logs });
    await client.delete(gsPath('golden'));
    await waitUntilGone('golden');
    await create(galleryShareManifest('golden', galleryName, spec));
    const again = await waitForGalleryShare(client, namespace, 'golden', undefined, { logs });
    expect(again.metadata.uid).not.to.equal(first.metadata.uid);
    expect(again.status?.roleAssignments?.map((r) => r.name), 'the same assignment, owned again').to.deep.equal(first.status?.roleAssignments?.map((r) => r.name));
    expect(await assignmentsAtGallery()).to.have.length(1);
    // Owned: dropping it from the spec deletes it.
    await client.patch(gsPath('golden'), { spec: { roleAssignments: [] } }, 'merge');
    await waitForGalleryShare(client, namespace, 'golden', (gs) => (gs.status?.roleAssignments ?? []).length === 0 && condition(gs, 'Ready')?.status === 'True' && gs.status?.observedGeneration === gs.metadata.generation, { logs });
    expect(await assignmentsAtGallery()).to.deep.equal([]);
  });

  it('upgrading from names without the owner: an old assignment is this object\'s only when its description names this object', async () => {
    await createGallery(azure, galleryName, 'Private');
    const reader = roleGuid('Reader');
    const legacy = (principal: string, description: string) =>
      adminRequest('PUT', `${scope()}/providers/Microsoft.Authorization/roleAssignments/${legacyRoleAssignmentName('GalleryShare', scope(), principal, reader)}`, {
        properties: { roleDefinitionId: `/subscriptions/${ids.gallerySubscription}/providers/Microsoft.Authorization/roleDefinitions/${reader}`, principalId: principal, principalType: 'User', description },
      });
    // What an earlier version made: one for this object, one for an object since deleted with Orphan.
    expect((await legacy(user, ownedDescription({ kind: 'GalleryShare', namespace, name: 'golden' }))).status).to.equal(201);
    expect((await legacy(group, ownedDescription({ kind: 'GalleryShare', namespace, name: 'old-one' }))).status).to.equal(201);

    await create(galleryShareManifest('golden', galleryName, { roleAssignments: [{ principalId: user, principalType: 'User', role: 'Reader' }] }));
    const gs = await waitForGalleryShare(client, namespace, 'golden', undefined, { logs });
    expect(gs.status?.roleAssignments?.map((r) => r.principalId), 'its own old assignment is recognised, not duplicated').to.deep.equal([user]);
    expect(await assignmentsAtGallery()).to.have.length(2);

    await client.patch(gsPath('golden'), { spec: { roleAssignments: [] } }, 'merge');
    await waitForGalleryShare(client, namespace, 'golden', (o) => (o.status?.roleAssignments ?? []).length === 0 && o.status?.observedGeneration === o.metadata.generation && condition(o, 'Ready')?.status === 'True', { logs });
    expect((await assignmentsAtGallery()).map((a) => a.principalId), 'its own is deleted, the other object\'s kept').to.deep.equal([group]);
  });

  it('deletion with Delete removes nothing the gallery held before the object first acted (case delete-removes-adopted-direct-share)', async () => {
    await createGallery(azure, galleryName, 'Groups');
    const shared = await adminRequest('POST', `${galleryPathOf(galleryName)}/share`, { operationType: 'Add', groups: [{ type: 'Subscriptions', ids: [ids.devSubscription] }] });
    expect(shared.status).to.be.oneOf([200, 202]);
    for (let i = 0; i < 50 && !(await sharedSubscriptions()).includes(ids.devSubscription); i++) await new Promise((r) => setTimeout(r, 100));
    await azure.control.assignRole(scope(), group, 'Reader');

    await azure.control.clearRequests();
    await create(galleryShareManifest('adopter', galleryName, { permission: 'Groups', directShare: { subscriptions: [ids.devSubscription] }, roleAssignments: [{ principalId: group, principalType: 'Group', role: 'Reader' }] }));
    const gs = await waitForGalleryShare(client, namespace, 'adopter', undefined, { logs });
    expect(gs.status?.adopted).to.deep.include({ permission: 'Groups', subscriptions: [ids.devSubscription] });
    await client.delete(gsPath('adopter'));
    await waitUntilGone('adopter');
    const writes = (await azure.control.requests()).filter((r) => r.method !== 'GET' && r.path.toLowerCase().includes(galleryName.toLowerCase()));
    expect(writes.map((w) => `${w.method} ${w.operation}`), 'it added nothing, so it removes nothing').to.deep.equal([]);
    expect(await sharedSubscriptions()).to.deep.equal([ids.devSubscription]);
    expect((await assignmentsAtGallery()).map((a) => a.principalId)).to.deep.equal([group]);
  });

  it('removes what it added and keeps what it adopted; with the record lost, leaves both and says so', async () => {
    await createGallery(azure, galleryName, 'Groups');
    await adminRequest('POST', `${galleryPathOf(galleryName)}/share`, { operationType: 'Add', groups: [{ type: 'Subscriptions', ids: [ids.devSubscription] }] });
    for (let i = 0; i < 50 && !(await sharedSubscriptions()).includes(ids.devSubscription); i++) await new Promise((r) => setTimeout(r, 100));
    const added = ids.fabrikamSubscription;
    const spec = { permission: 'Groups' as const, directShare: { subscriptions: [ids.devSubscription, added] } };

    await create(galleryShareManifest('mixed', galleryName, spec));
    await waitForGalleryShare(client, namespace, 'mixed', (gs) => condition(gs, 'Ready')?.status === 'True' && gs.status?.observedGeneration === gs.metadata.generation, { logs });
    await client.delete(gsPath('mixed'));
    await waitUntilGone('mixed');
    expect(await sharedSubscriptions(), 'the added one removed, the adopted one kept').to.deep.equal([ids.devSubscription]);

    // The same again, but the status is restored without its record (a backup of the spec, say).
    await create(galleryShareManifest('restored', galleryName, spec));
    const ready = await waitForGalleryShare(client, namespace, 'restored', (gs) => condition(gs, 'Ready')?.status === 'True' && gs.status?.observedGeneration === gs.metadata.generation, { logs });
    const { adopted: _dropped, ...withoutRecord } = ready.status!;
    await client.replace(`${gsPath('restored')}/status`, { ...ready, status: withoutRecord });
    await new Promise((r) => setTimeout(r, 500));
    await client.delete(gsPath('restored'));
    await waitUntilGone('restored');
    expect((await sharedSubscriptions()).sort(), 'nothing removed without the record').to.deep.equal([ids.devSubscription, added].sort());
    const left = (await warnings()).find((w) => w.name === 'restored' && w.reason === 'LeftInAzure');
    expect(left?.message).to.include(`subscription ${added}`).and.include('status.adopted');
  });

  it('PrincipalNotFound (a principal not yet replicated) is Reconciling with backoff, not Stalled, and goes Ready by itself (case transient-principal-not-found)', async () => {
    await createGallery(azure, galleryName, 'Groups');
    await azure.control.addFault({
      method: 'PUT',
      path: `galleries/${galleryName}/providers/Microsoft.Authorization/roleAssignments/`,
      status: 400,
      code: 'PrincipalNotFound',
      count: 2,
      message: `Principal ${user} does not exist in the directory ${ids.contoso}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay.`,
    });
    await create(galleryShareManifest('fresh', galleryName, { roleAssignments: [{ principalId: user, principalType: 'User', role: 'Compute Gallery Image Reader' }] }));
    const seen: string[] = [];
    const ready = await waitForGalleryShare(
      client,
      namespace,
      'fresh',
      (gs) => {
        for (const c of gs.status?.conditions ?? []) if (c.status === 'True' && c.type !== 'Ready') seen.push(`${c.type}:${c.reason}`);
        return condition(gs, 'Ready')?.status === 'True' && gs.status?.observedGeneration === gs.metadata.generation;
      },
      { logs, timeoutMs: 20_000 },
    );
    expect(seen.filter((s) => s.startsWith('Stalled')), 'never Stalled (kstatus never Failed, so Flux does not fail fast)').to.deep.equal([]);
    expect(seen, 'said what it is waiting for').to.include('Reconciling:PrincipalNotFound');
    expect(ready.status?.lastFailure, 'a success clears the failure record').to.equal(undefined);
  });

  it('when the gallery disappears, no condition or field still claims that its sharing is in place', async () => {
    await createGallery(azure, galleryName, 'Groups');
    await create(galleryShareManifest('vanishing', galleryName, { permission: 'Groups', directShare: { tenants: [ids.fabrikam] }, roleAssignments: [{ principalId: group, principalType: 'Group', role: 'Reader' }] }));
    await waitForGalleryShare(client, namespace, 'vanishing', (gs) => condition(gs, 'Ready')?.status === 'True', { logs });
    // The gallery goes, as a person deletes it in the portal (its assignments go with it).
    for (const a of await assignmentsAtGallery()) await adminRequest('DELETE', `${scope()}/providers/Microsoft.Authorization/roleAssignments/${a.name}`);
    const deleted = await adminRequest('DELETE', galleryPathOf(galleryName));
    expect(deleted.status).to.be.oneOf([200, 202, 204]);
    const gone = await waitForGalleryShare(client, namespace, 'vanishing', (gs) => condition(gs, 'Stalled')?.reason === 'GalleryNotFound', { what: 'Stalled GalleryNotFound', logs, timeoutMs: 20_000 });
    for (const type of ['DirectShareSynced', 'RoleAssignmentsSynced']) expect(condition(gone, type)?.status, type).to.equal('Unknown');
    expect(gone.status?.directShare, 'no direct shares claimed').to.equal(undefined);
    expect(gone.status?.roleAssignments, 'no assignments claimed').to.equal(undefined);
    expect(gone.status?.galleryUniqueName).to.equal(undefined);
  });

  it('finds and deletes the assignments it made by their names in Azure, even after a status written while Azure could not be read', async () => {
    await createGallery(azure, galleryName, 'Groups');
    await create(galleryShareManifest('leak', galleryName, { roleAssignments: [{ principalId: group, principalType: 'Group', role: 'Reader' }] }));
    await waitForGalleryShare(client, namespace, 'leak', undefined, { logs });
    // Azure cannot be read for a while, and the object is reconciled meanwhile: its status then
    // claims nothing about the assignments.
    await azure.control.addFault({ method: 'GET', path: `galleries/${galleryName}$`, status: 503, code: 'ServiceUnavailable', message: 'try later' });
    await client.patch(gsPath('leak'), { metadata: { annotations: { poke: '1' } } }, 'merge');
    await waitForGalleryShare(client, namespace, 'leak', (gs) => gs.status?.conditions?.find((c) => c.type === 'Reconciling')?.reason === 'ServiceUnavailable', { what: 'Reconciling ServiceUnavailable', logs });
    await client.patch(gsPath('leak'), [{ op: 'remove', path: '/spec/roleAssignments' }], 'json');
    await azure.control.clearFaults();
    const ready = await waitForGalleryShare(client, namespace, 'leak', undefined, { logs, timeoutMs: 30_000 });
    expect(await assignmentsAtGallery(), 'the assignment it made is gone with its spec entry').to.deep.equal([]);
    expect(ready.status?.conditions?.find((c) => c.type === 'RoleAssignmentsSynced'), 'no stale condition about a part the spec dropped').to.equal(undefined);

    // And deletion removes any assignment it made, in the spec or not.
    await client.patch(gsPath('leak'), { spec: { roleAssignments: [{ principalId: user, principalType: 'User', role: 'Reader' }] } }, 'merge');
    await waitForGalleryShare(client, namespace, 'leak', (gs) => (gs.status?.roleAssignments ?? []).length === 1 && gs.status?.observedGeneration === gs.metadata.generation, { logs });
    await client.delete(gsPath('leak'));
    await waitUntilGone('leak');
    expect(await assignmentsAtGallery()).to.deep.equal([]);
  });
});
