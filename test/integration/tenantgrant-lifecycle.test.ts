// TenantGrant end to end, deletion and identities: deletion under both policies (consent is never
// taken back), waiting while a SharedImageVM still uses the grant, and a grant without source
// credentials that runs as the operator's own identity, whose home is another tenant than the
// gallery's. The real control plane, the Azure emulator and the operator as its own process.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { kstatus } from '../../src/runtime/kstatus.js';
import { start, type RunningEmulator } from '../azure-emulator/index.js';
import { ids, sampleSeed, secrets } from '../emulator/helpers.js';
import { createGallery, createOwnerSecret, galleryPathOf } from '../support/azure-fixtures.js';
import { createTestNamespace, deleteNamespace, kubeClients, testKubeconfigPath, type KubeClients } from '../support/kube.js';
import { startOperator, type OperatorProcess } from '../support/operator-process.js';
import { ensureKstatus } from '../support/real-kstatus.js';
import { isReady as isVmReady, waitForVM } from '../support/sharedimagevms.js';
import {
  APP,
  SOURCE_TENANT,
  TARGET_SUBSCRIPTION,
  TARGET_TENANT,
  adminRequestIn,
  assignmentsAt,
  condition,
  createAppSecret,
  createFabrikamAdminSecret,
  createTargetResourceGroup,
  eventsOf,
  expectNoSecrets,
  isReady,
  isStalled,
  principalIdIn,
  sharedImageVMs,
  sourceScope,
  targetScope,
  tenantGrantManifest,
  tenantGrantPath,
  tenantGrants,
  waitForTenantGrant,
  waitUntilGone,
  type Grant,
  type GrantSpecOverrides,
} from '../support/tenantgrants.js';

/** Shared setup of both blocks: one namespace, gallery and target resource group per test. */
function perTest(get: () => { azure: RunningEmulator; clients: KubeClients; client: KubeClient }) {
  const state = { namespace: '', galleryName: '', targetRG: '' };
  beforeEach(async () => {
    const { azure, clients } = get();
    state.namespace = await createTestNamespace(clients, 'tgl');
    state.galleryName = `g${randomBytes(4).toString('hex')}`;
    await createGallery(azure, state.galleryName, 'Private', true);
    state.targetRG = await createTargetResourceGroup(azure);
    await createAppSecret(clients, state.namespace);
    await createOwnerSecret(clients, state.namespace);
    await createFabrikamAdminSecret(clients, state.namespace);
  });
  afterEach(async () => {
    const { azure, clients, client } = get();
    await azure.control.clearFaults();
    await client.delete(sharedImageVMs(state.namespace)).catch(() => undefined);
    await client.delete(tenantGrants(state.namespace)).catch(() => undefined);
    for (let i = 0; i < 200 && (await client.get<{ items: unknown[] }>(tenantGrants(state.namespace))).items.length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    await deleteNamespace(clients, state.namespace);
  });
  return state;
}

describe('TenantGrant deletion and identities', function () {
  let azure: RunningEmulator;
  let clients: KubeClients;
  let client: KubeClient;

  before(async function () {
    this.timeout(600_000);
    await ensureKstatus();
    azure = await start({ seed: sampleSeed(), options: { retryAfterSeconds: 1, tokenLifetimeSeconds: 60 } });
    await azure.control.grantConsent(APP, TARGET_TENANT);
    clients = kubeClients();
    client = new KubeClient(clients.kc);
  });
  after(async () => {
    client?.close();
    await azure?.stop();
  });

  describe('deletion', () => {
    let operator: OperatorProcess;
    const t = perTest(() => ({ azure, clients, client }));
    const logs = () => operator.logs();
    const create = (tg: Grant) => client.create<Grant>(tenantGrants(t.namespace), tg);
    const grant = (name: string, overrides: GrantSpecOverrides = {}) => tenantGrantManifest(name, t.galleryName, t.targetRG, overrides);
    const waitFor = (name: string, until: (tg: Grant) => boolean, what: string, timeoutMs = 30_000) => waitForTenantGrant(client, t.namespace, name, until, { what, timeoutMs, logs });
    /** What Azure answers a GET of a reported assignment (in its side's tenant). */
    const status = async (r: { id?: string; side: string }) => {
      expect(r.id, 'a reported assignment has its id').to.be.a('string');
      return (await adminRequestIn(azure, r.side === 'Source' ? SOURCE_TENANT : TARGET_TENANT, 'GET', r.id!)).status;
    };

    before(async () => {
      operator = await startOperator({
        kubeconfig: testKubeconfigPath(),
        armEndpoint: azure.armEndpoint,
        caPath: azure.caPath,
        extraArgs: ['--resync-interval', '5s', '--leader-elect', 'false', '--consent-recheck-initial', '1s', '--consent-recheck-max', '4s'],
      });
    });
    after(async () => {
      await operator?.stop();
    });

    it('with Delete removes both assignments it made, keeps the consent (ConsentKept) and what it did not make', async () => {
      const targetPid = await principalIdIn(azure, APP, TARGET_TENANT);
      // An assignment Fabrikam's admin made by hand for the same principal: not the grant's.
      const foreign = await azure.control.assignRole(targetScope(t.targetRG), targetPid, 'Reader');
      await create(grant('leaving'));
      const ready = await waitFor('leaving', isReady, 'Ready');
      const owned = ready.status!.roleAssignments!;
      expect(owned.map((r) => r.side).sort()).to.deep.equal(['Source', 'Target']);
      await client.delete(tenantGrantPath(t.namespace, 'leaving'));
      await waitUntilGone(client, tenantGrantPath(t.namespace, 'leaving'), 30_000, logs);
      for (const r of owned) expect(await status(r), `${r.side} assignment deleted`).to.equal(404);
      expect(await status({ id: foreign, side: 'Target' }), 'the hand-made assignment stays').to.equal(200);
      expect(await principalIdIn(azure, APP, TARGET_TENANT), 'consent (the service principal in the target) stays').to.equal(targetPid);
      const reasons = (await eventsOf(clients, t.namespace, 'leaving')).map((e) => e.reason);
      expect(reasons).to.include.members(['RoleAssignmentDeleted', 'ConsentKept']);
    });

    it("takes an equal assignment made by someone else as satisfying the spec (no second one), and leaves it when deleted with Delete", async () => {
      const sourcePid = await principalIdIn(azure, APP, SOURCE_TENANT);
      // Contoso's admin gave the app Reader on the gallery by hand, under a name of their own.
      const foreign = await azure.control.assignRole(sourceScope(t.galleryName), sourcePid, 'Reader');
      await azure.control.clearRequests();
      await create(grant('equal'));
      const ready = await waitFor('equal', isReady, 'Ready');
      const galleryPuts = (await azure.control.requests()).filter((r) => r.method === 'PUT' && r.path.toLowerCase().startsWith(`${sourceScope(t.galleryName).toLowerCase()}/providers/microsoft.authorization/roleassignments/`));
      expect(galleryPuts.map((r) => `${r.path} ${r.status}`), "no role-assignment PUT on the gallery").to.deep.equal([]);
      const atSource = await assignmentsAt(azure, SOURCE_TENANT, sourceScope(t.galleryName));
      expect(atSource.map((a) => a.id.toLowerCase()), 'only the hand-made one').to.deep.equal([foreign.toLowerCase()]);
      expect(condition(ready, 'SourceAccess')?.status).to.equal('True');
      expect(ready.status?.roleAssignments?.map((r) => r.side), 'it owns only the target assignment').to.deep.equal(['Target']);

      await client.delete(tenantGrantPath(t.namespace, 'equal'));
      await waitUntilGone(client, tenantGrantPath(t.namespace, 'equal'), 30_000, logs);
      expect(await status({ id: foreign, side: 'Source' }), 'the hand-made assignment stays').to.equal(200);
      expect(await assignmentsAt(azure, TARGET_TENANT, targetScope(t.targetRG)), 'its own target assignment deleted').to.deep.equal([]);
      const deletes = (await azure.control.requests()).filter((r) => r.method === 'DELETE' && r.path.toLowerCase().startsWith(sourceScope(t.galleryName).toLowerCase()));
      expect(deletes, 'no DELETE at the gallery').to.deep.equal([]);
    });

    it('with Orphan leaves both assignments in Azure', async () => {
      await create(grant('kept', { deletionPolicy: 'Orphan' }));
      const owned = (await waitFor('kept', isReady, 'Ready')).status!.roleAssignments!;
      expect(owned).to.have.length(2);
      await client.delete(tenantGrantPath(t.namespace, 'kept'));
      await waitUntilGone(client, tenantGrantPath(t.namespace, 'kept'), 30_000, logs);
      for (const r of owned) expect(await status(r), `${r.side} assignment kept`).to.equal(200);
      // The next test's cleanup must not meet them: they are on this test's own gallery and group.
      for (const r of owned) await adminRequestIn(azure, r.side === 'Source' ? SOURCE_TENANT : TARGET_TENANT, 'DELETE', r.id!);
    });

    it('waits (Reconciling InUse, naming it) while a SharedImageVM references it, and finishes once that is deleted', async () => {
      await create(grant('used'));
      const owned = (await waitFor('used', isReady, 'Ready')).status!.roleAssignments!;
      // A VM made through the grant by the SharedImageVM controller: the test gallery gets a
      // version and the target resource group a subnet, so that the VM is really made (and, with
      // deletionPolicy Delete, deleted through the grant before the grant may go).
      const version = await adminRequestIn(azure, SOURCE_TENANT, 'PUT', `${galleryPathOf(t.galleryName)}/images/ubuntu-2404/versions/1.0.0`, {
        location: 'westus',
        properties: { publishingProfile: { targetRegions: [{ name: 'westus' }] }, storageProfile: { source: { id: '/subscriptions/x/resourceGroups/x/providers/Microsoft.Compute/images/x' } } },
      });
      expect(version.status, version.text).to.be.oneOf([200, 201]);
      const vnet = await adminRequestIn(azure, TARGET_TENANT, 'PUT', `${targetScope(t.targetRG)}/providers/Microsoft.Network/virtualNetworks/vnet`, {
        location: 'westus',
        properties: { addressSpace: { addressPrefixes: ['10.0.0.0/16'] }, subnets: [{ name: 'default', properties: { addressPrefix: '10.0.0.0/24' } }] },
      });
      expect(vnet.status, vnet.text).to.be.oneOf([200, 201]);
      await client.create(sharedImageVMs(t.namespace), {
        apiVersion: 'galleryshare.io/v1alpha1',
        kind: 'SharedImageVM',
        metadata: { name: 'web-1' },
        spec: {
          image: { id: `${galleryPathOf(t.galleryName)}/images/ubuntu-2404/versions/1.0.0` },
          tenantGrantRef: { name: 'used' },
          subscriptionId: TARGET_SUBSCRIPTION,
          resourceGroup: t.targetRG,
          location: 'westus',
          size: 'Standard_D2s_v5',
          adminUsername: 'azureuser',
          sshPublicKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHm9hfKhG2cEz0X3xqwNqpLdj5yDsYq0mGc4y4yVf1Zb azureuser@fabrikam'],
          network: { subnetId: `${targetScope(t.targetRG)}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/default` },
        },
      });
      const vmReady = await waitForVM(client, t.namespace, 'web-1', isVmReady, { what: 'SharedImageVM Ready', logs });
      const vmPathInAzure = vmReady.status!.resourceId!;
      expect((await adminRequestIn(azure, TARGET_TENANT, 'GET', vmPathInAzure)).status, 'the VM exists').to.equal(200);
      await client.delete(tenantGrantPath(t.namespace, 'used'));
      const inUse = (tg: Grant) => Boolean(tg.metadata.deletionTimestamp) && condition(tg, 'Reconciling')?.status === 'True' && condition(tg, 'Reconciling')?.reason === 'InUse';
      const waiting = await waitFor('used', inUse, 'Reconciling InUse');
      expect(kstatus(waiting)).to.equal('Terminating');
      expect(condition(waiting, 'Reconciling')!.message).to.include('web-1');
      // Still waiting a while later, with both assignments in place.
      await new Promise((r) => setTimeout(r, 2_000));
      expect(inUse(await client.get<Grant>(tenantGrantPath(t.namespace, 'used')))).to.equal(true);
      for (const r of owned) expect(await status(r), `${r.side} assignment still there`).to.equal(200);

      await client.delete(`${sharedImageVMs(t.namespace)}/web-1`);
      await waitUntilGone(client, tenantGrantPath(t.namespace, 'used'), 20_000, logs);
      expect((await adminRequestIn(azure, TARGET_TENANT, 'GET', vmPathInAzure)).status, 'the VM was deleted (through the grant) before the grant went').to.equal(404);
      for (const r of owned) expect(await status(r), `${r.side} assignment deleted`).to.equal(404);
    });
  });

  describe("the operator's own identity, at home in another tenant than the gallery's", () => {
    let operator: OperatorProcess;
    let namespaceToWatch: string;
    const t = perTest(() => ({ azure, clients, client }));
    const logs = () => operator.logs();

    beforeEach(async () => {
      // One operator per test, watching only the test's namespace, with fabrikam-admin as its own identity.
      namespaceToWatch = t.namespace;
      operator = await startOperator({
        kubeconfig: testKubeconfigPath(),
        armEndpoint: azure.armEndpoint,
        caPath: azure.caPath,
        extraArgs: ['--resync-interval', '3s', '--leader-elect', 'false', '--watch-namespaces', namespaceToWatch],
        env: { AZURE_TENANT_ID: ids.fabrikam, AZURE_CLIENT_ID: ids.fabrikamAdmin, AZURE_CLIENT_SECRET: secrets[ids.fabrikamAdmin]! },
      });
    });
    afterEach(async () => {
      // perTest's afterEach (registered first, so run first) has deleted the grant while this operator ran.
      await operator?.stop();
    });

    it("writes the source assignment with a token of the gallery's tenant: refused while it has no right there, Ready once it has", async () => {
      const noSourceWriter = tenantGrantManifest('own-identity', t.galleryName, t.targetRG, { source: { azureCredentialsRef: undefined } });
      // fabrikam-admin is consented in Contoso (it has a service principal there) but holds no role yet.
      const operatorPid = await azure.control.grantConsent(ids.fabrikamAdmin, SOURCE_TENANT);
      await azure.control.clearRequests();
      await client.create(tenantGrants(t.namespace), noSourceWriter);
      const refused = await waitForTenantGrant(client, t.namespace, 'own-identity', isStalled('AuthorizationFailed'), { what: 'Stalled AuthorizationFailed', logs });
      expect(condition(refused, 'Stalled')!.message).to.include(t.galleryName);
      // It reads the gallery first, as itself with a token of the gallery's tenant (a token of its
      // home tenant would be 401 InvalidAuthenticationTokenTenant), and ARM refuses it.
      const asOperator = (await azure.control.requests()).filter((r) => r.appId === ids.fabrikamAdmin && r.path.toLowerCase().startsWith(`/subscriptions/${ids.gallerySubscription}`));
      expect(asOperator.length, 'the operator called ARM on the source subscription').to.be.at.least(1);
      expect(asOperator.map((r) => `${r.tenantId} ${r.status}`), "every call with a token of the gallery's tenant, refused with 403").to.satisfy((all: string[]) => all.every((x) => x === `${SOURCE_TENANT} 403`));

      // Contoso's admin gives the operator's principal the right to assign roles on the gallery.
      await azure.control.assignRole(sourceScope(t.galleryName), operatorPid, 'User Access Administrator');
      const ready = await waitForTenantGrant(client, t.namespace, 'own-identity', isReady, { what: 'Ready', timeoutMs: 20_000, logs });
      const sourcePid = await principalIdIn(azure, APP, SOURCE_TENANT);
      expect((await assignmentsAt(azure, SOURCE_TENANT, sourceScope(t.galleryName))).map((a) => a.principalId)).to.include(sourcePid);
      const puts = (await azure.control.requests()).filter((r) => r.method === 'PUT' && r.path.toLowerCase().startsWith(sourceScope(t.galleryName).toLowerCase() + '/providers/microsoft.authorization/roleassignments/'));
      expect(puts.at(-1)).to.include({ appId: ids.fabrikamAdmin, tenantId: SOURCE_TENANT, status: 201 });
      expect(kstatus(ready)).to.equal('Current');
      await expectNoSecrets(clients, t.namespace, logs(), [refused.status, ready.status], [secrets[ids.fabrikamAdmin]!, secrets[APP]!]);
    });
  });
});
