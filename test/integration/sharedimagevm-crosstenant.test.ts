// SharedImageVM across tenants and across operator processes: a VM in Fabrikam from an image
// version of Contoso's gallery by id, through a TenantGrant (waiting for the grant, going on at
// once when it is Ready, the auxiliary token on the create), and the operator killed while
// Azure still runs the create. The resync is long here (60 s), so that "at once" means a watch,
// not a resync.
import { expect } from 'chai';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { start, type RunningEmulator } from '../azure-emulator/index.js';
import { ids } from '../emulator/helpers.js';
import { createTestNamespace, deleteNamespace, kubeClients, testKubeconfigPath, type KubeClients } from '../support/kube.js';
import { startOperator, type OperatorProcess } from '../support/operator-process.js';
import { ensureKstatus } from '../support/real-kstatus.js';
import {
  condition,
  createVmSecrets,
  isReady,
  isReconciling,
  machinePuts,
  rbacImage,
  sharedImageVMs,
  sivmSeed,
  subnetId,
  TEST_GALLERY,
  uniqueName,
  vmManifest,
  vmPath,
  waitForVM,
  waitUntilGone,
  azureResource,
  vmId,
  type VM,
} from '../support/sharedimagevms.js';
import {
  APP,
  TARGET_SUBSCRIPTION,
  TARGET_TENANT,
  adminRequestIn,
  createAppSecret,
  createFabrikamAdminSecret,
  createTargetNetwork,
  createTargetResourceGroup,
  ensureNoConsent,
  isReady as isGrantReady,
  isStalled as isGrantStalled,
  tenantGrantManifest,
  tenantGrants,
  waitForTenantGrant,
} from '../support/tenantgrants.js';

describe('SharedImageVM across tenants and operator restarts', function () {
  let azure: RunningEmulator;
  let clients: KubeClients;
  let client: KubeClient;
  let operator: OperatorProcess;
  let namespace: string;
  const logs = () => operator.logs();
  const args = ['--resync-interval', '60s', '--leader-elect', 'false', '--consent-recheck-initial', '1s', '--consent-recheck-max', '2s'];
  const launch = () => startOperator({ kubeconfig: testKubeconfigPath(), armEndpoint: azure.armEndpoint, caPath: azure.caPath, extraArgs: args });

  before(async function () {
    this.timeout(600_000);
    await ensureKstatus();
    azure = await start({ seed: sivmSeed(), options: { retryAfterSeconds: 0, lroDurationMs: 300 } });
    clients = kubeClients();
    client = new KubeClient(clients.kc);
    operator = await launch();
  });
  after(async () => {
    await operator?.stop();
    client?.close();
    await azure?.stop();
  });
  beforeEach(async () => {
    namespace = await createTestNamespace(clients, 'sivmx');
    await createVmSecrets(clients, namespace);
  });
  afterEach(async () => {
    await azure.control.clearFaults();
    await azure.control.releaseOperations();
    await client.delete(sharedImageVMs(namespace)).catch(() => undefined);
    for (let i = 0; i < 200 && (await client.get<{ items: unknown[] }>(sharedImageVMs(namespace))).items.length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    await client.delete(tenantGrants(namespace)).catch(() => undefined);
    for (let i = 0; i < 200 && (await client.get<{ items: unknown[] }>(tenantGrants(namespace))).items.length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    await deleteNamespace(clients, namespace);
  });

  it('waits for its TenantGrant (Reconciling TenantGrantNotReady, naming it), goes on at once when it is Ready, creates with the auxiliary token', async () => {
    await ensureNoConsent(azure, APP, TARGET_TENANT);
    await createAppSecret(clients, namespace);
    await createFabrikamAdminSecret(clients, namespace);
    const rg = await createTargetResourceGroup(azure);
    await createTargetNetwork(azure, rg);

    await client.create(tenantGrants(namespace), tenantGrantManifest('contoso-to-fabrikam', TEST_GALLERY, rg));
    await waitForTenantGrant(client, namespace, 'contoso-to-fabrikam', isGrantStalled('ConsentRequired'), { what: 'Stalled ConsentRequired', logs });

    const name = uniqueName('xt');
    await azure.control.clearRequests();
    await client.create(
      sharedImageVMs(namespace),
      vmManifest(name, {
        image: { id: rbacImage('ubuntu', '1.0.0') },
        azureCredentialsRef: undefined,
        tenantGrantRef: { name: 'contoso-to-fabrikam' },
        subscriptionId: TARGET_SUBSCRIPTION,
        resourceGroup: rg,
        network: { subnetId: subnetId(TARGET_SUBSCRIPTION, rg, 'vnet') },
      }),
    );
    const waiting = await waitForVM(client, namespace, name, isReconciling('TenantGrantNotReady'), { what: 'Reconciling TenantGrantNotReady', logs });
    expect(condition(waiting, 'Reconciling')!.message).to.include('contoso-to-fabrikam');
    expect(await machinePuts(azure, name), 'nothing made while the grant is not Ready').to.deep.equal([]);

    // Fabrikam's admin consents; the grant turns Ready by its recheck, and the VM follows at once.
    await azure.control.grantConsent(APP, TARGET_TENANT);
    await waitForTenantGrant(client, namespace, 'contoso-to-fabrikam', isGrantReady, { what: 'Ready', timeoutMs: 20_000, logs });
    const grantReadyAt = Date.now();
    const deadline = Date.now() + 10_000;
    while ((await machinePuts(azure, name)).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(Date.now() - grantReadyAt, 'the VM went on at once (not at its 15 s recheck or the 60 s resync)').to.be.lessThan(8_000);
    const ready = await waitForVM(client, namespace, name, isReady, { what: 'Ready', timeoutMs: 20_000, logs });
    expect(ready.status?.resolvedImageVersion).to.equal('1.0.0');

    const puts = await machinePuts(azure, name);
    expect(puts, 'one VM PUT').to.have.length(1);
    expect(puts[0]).to.include({ appId: APP, tenantId: TARGET_TENANT, auxiliary: true });
    expect(puts[0]!.status).to.be.oneOf([200, 201]);
    const vm = (await azureResource(azure, vmId(TARGET_SUBSCRIPTION, rg, name)))!;
    expect(vm.properties.storageProfile.imageReference.id.toLowerCase()).to.equal(rbacImage('ubuntu', '1.0.0').toLowerCase());

    // The sample's cross-tenant scale set through the same grant (Flexible, 3 instances).
    const pool = uniqueName('pool');
    await client.create(sharedImageVMs(namespace), vmManifest(pool, { image: { id: rbacImage('ubuntu', '1.0.0') }, azureCredentialsRef: undefined, tenantGrantRef: { name: 'contoso-to-fabrikam' }, subscriptionId: TARGET_SUBSCRIPTION, resourceGroup: rg, network: { subnetId: subnetId(TARGET_SUBSCRIPTION, rg, 'vnet') }, scaleSet: { capacity: 3 } as VM['spec']['scaleSet'] }));
    const poolReady = await waitForVM(client, namespace, pool, isReady, { what: 'Ready (scale set)', timeoutMs: 20_000, logs });
    expect(poolReady.status?.capacity).to.equal(3);
    expect((await machinePuts(azure, pool))[0]).to.include({ appId: APP, auxiliary: true });
  });

  it('deleting the namespace that holds the grant and the VM: the VM is deleted in Azure through the grant, then the grant, and the namespace goes', async () => {
    await azure.control.grantConsent(APP, TARGET_TENANT);
    await createAppSecret(clients, namespace);
    await createFabrikamAdminSecret(clients, namespace);
    const rg = await createTargetResourceGroup(azure);
    await createTargetNetwork(azure, rg);
    await client.create(tenantGrants(namespace), tenantGrantManifest('g', TEST_GALLERY, rg));
    const grant = await waitForTenantGrant(client, namespace, 'g', isGrantReady, { what: 'Ready', timeoutMs: 20_000, logs });
    const name = uniqueName('ns');
    await client.create(sharedImageVMs(namespace), vmManifest(name, { image: { id: rbacImage('ubuntu') }, azureCredentialsRef: undefined, tenantGrantRef: { name: 'g' }, subscriptionId: TARGET_SUBSCRIPTION, resourceGroup: rg, network: { subnetId: subnetId(TARGET_SUBSCRIPTION, rg, 'vnet') } }));
    await waitForVM(client, namespace, name, isReady, { what: 'Ready', timeoutMs: 20_000, logs });
    await clients.core.deleteNamespace({ name: namespace });
    const deadline = Date.now() + 40_000;
    while (Date.now() < deadline && (await clients.core.readNamespace({ name: namespace }).then(() => true, () => false))) await new Promise((r) => setTimeout(r, 200));
    expect(await clients.core.readNamespace({ name: namespace }).then(() => 'still there', () => 'gone'), `namespace ${namespace}\n${logs().slice(-3000)}`).to.equal('gone');
    expect(await azureResource(azure, vmId(TARGET_SUBSCRIPTION, rg, name)), 'the VM was deleted').to.equal(undefined);
    for (const r of grant.status?.roleAssignments ?? []) {
      expect((await adminRequestIn(azure, r.side === 'Source' ? ids.contoso : TARGET_TENANT, 'GET', r.id!)).status, `${r.side} assignment deleted`).to.equal(404);
    }
  });

  it('SIGKILLed while Azure holds the create, the restarted operator polls it: exactly one VM PUT, Ready after release', async () => {
    const name = uniqueName('kill');
    await azure.control.holdOperations({ path: `virtualMachines/${name}$` });
    await azure.control.clearRequests();
    await client.create(sharedImageVMs(namespace), vmManifest(name));
    // The create started and recorded on the object (status.operation), then the operator dies.
    await waitForVM(client, namespace, name, (vm) => Boolean((vm.status as { operation?: unknown } | undefined)?.operation) && isReconciling()(vm), { what: 'Reconciling with an operation in flight', logs });
    expect(await machinePuts(azure, name)).to.have.length(1);
    await operator.stop('SIGKILL');
    operator = await launch();
    await new Promise((r) => setTimeout(r, 2_000));
    const stillWaiting = await client.get<VM>(vmPath(namespace, name));
    expect(isReady(stillWaiting), 'not Ready while Azure still creates').to.equal(false);
    await azure.control.releaseOperations();
    const ready = await waitForVM(client, namespace, name, isReady, { what: 'Ready', timeoutMs: 30_000, logs });
    expect(ready.status?.resolvedImageVersion).to.equal('1.1.0');
    expect((await machinePuts(azure, name)).map((p) => p.status), 'exactly one VM PUT across both processes').to.have.length(1);
  });

  it('deleted while its create runs: waits for the create, deletes the VM, then goes', async () => {
    const name = uniqueName('early');
    await azure.control.holdOperations({ path: `virtualMachines/${name}$` });
    await client.create(sharedImageVMs(namespace), vmManifest(name));
    await waitForVM(client, namespace, name, (vm) => Boolean((vm.status as { operation?: unknown } | undefined)?.operation), { what: 'create in flight', logs });
    await client.delete(vmPath(namespace, name));
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await client.get<VM>(vmPath(namespace, name)).catch(() => undefined), 'kept while the create runs').to.not.equal(undefined);
    await azure.control.releaseOperations();
    await waitUntilGone(client, vmPath(namespace, name), 30_000, logs);
    expect(await azureResource(azure, vmId(ids.fabrikamSubscription, ids.fabrikamRG, name)), 'the VM was deleted').to.equal(undefined);
  });
});
