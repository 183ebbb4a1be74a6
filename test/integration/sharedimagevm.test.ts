// SharedImageVM end to end: VMs from the three image kinds (direct sharing, RBAC id, community),
// what Azure then holds (NIC, OS disk), deletion under both policies, and the image check's
// refusals before any write. The real control plane, the Azure emulator and the operator as its
// own process; every awaited state is also read by the real kstatus.
import { expect } from 'chai';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { start, type RunningEmulator } from '../azure-emulator/index.js';
import { ids } from '../emulator/helpers.js';
import { createTestNamespace, deleteNamespace, kubeClients, testKubeconfigPath, type KubeClients } from '../support/kube.js';
import { startOperator, type OperatorProcess } from '../support/operator-process.js';
import { ensureKstatus } from '../support/real-kstatus.js';
import {
  DEV_EAST_SUBNET,
  DEV_RG,
  azureResource,
  communityImage,
  condition,
  createVmSecrets,
  devVmManifest,
  isReady,
  isReconciling,
  isStalled,
  machinePuts,
  machineWrites,
  rbacImage,
  sharedImage,
  sharedImageVMs,
  sivmSeed,
  uniqueName,
  vmId,
  vmManifest,
  vmEvents,
  vmPath,
  waitForVM,
  waitUntilGone,
  type VM,
} from '../support/sharedimagevms.js';

describe('SharedImageVM', function () {
  let azure: RunningEmulator;
  let clients: KubeClients;
  let client: KubeClient;
  let operator: OperatorProcess;
  let namespace: string;
  const logs = () => operator.logs();
  const create = (vm: VM) => client.create<VM>(sharedImageVMs(namespace), vm);
  const waitFor = (name: string, until: (vm: VM) => boolean = isReady, what = 'Ready', timeoutMs = 30_000) => waitForVM(client, namespace, name, until, { what, timeoutMs, logs });
  const fabrikamVm = (name: string) => vmId(ids.fabrikamSubscription, ids.fabrikamRG, name);

  before(async function () {
    this.timeout(600_000);
    await ensureKstatus();
    azure = await start({ seed: sivmSeed(), options: { retryAfterSeconds: 0, lroDurationMs: 300 } });
    clients = kubeClients();
    client = new KubeClient(clients.kc);
    operator = await startOperator({
      kubeconfig: testKubeconfigPath(),
      armEndpoint: azure.armEndpoint,
      caPath: azure.caPath,
      extraArgs: ['--resync-interval', '3s', '--leader-elect', 'false'],
    });
  });
  after(async () => {
    await operator?.stop();
    client?.close();
    await azure?.stop();
  });
  beforeEach(async () => {
    namespace = await createTestNamespace(clients, 'sivm');
    await createVmSecrets(clients, namespace);
  });
  afterEach(async () => {
    await azure.control.clearFaults();
    await azure.control.releaseOperations();
    await client.delete(sharedImageVMs(namespace)).catch(() => undefined);
    for (let i = 0; i < 200 && (await client.get<{ items: unknown[] }>(sharedImageVMs(namespace))).items.length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    await deleteNamespace(clients, namespace);
  });

  describe('from a directly shared image', () => {
    it('makes the VM from /SharedGalleries/.../latest: Ready with the version Azure chose, its IP and power state, NIC and OS disk', async () => {
      const name = uniqueName('web');
      await azure.control.clearRequests();
      await create(vmManifest(name));
      const ready = await waitFor(name);
      expect(ready.status?.resourceId?.toLowerCase()).to.equal(fabrikamVm(name).toLowerCase());
      // latest skips 1.2.0 (excluded from latest): Azure's exactVersion, 1.1.0.
      expect(ready.status?.resolvedImageVersion, 'from Azure exactVersion').to.equal('1.1.0');
      expect(ready.status?.powerState).to.match(/running/i);
      expect(ready.status?.provisioningState).to.equal('Succeeded');
      expect(ready.status?.privateIPAddress).to.match(/^10\.0\.0\.\d+$/);
      expect(condition(ready, 'ImageAvailable')?.status).to.equal('True');
      expect(condition(ready, 'Provisioned')?.status).to.equal('True');

      const vm = (await azureResource(azure, fabrikamVm(name)))!;
      expect(vm, 'the VM exists in Azure').to.not.equal(undefined);
      expect(vm.tags['galleryshare.io-owner']).to.equal(`SharedImageVM ${namespace}/${name}`);
      expect(vm.properties.storageProfile.imageReference.exactVersion).to.equal('1.1.0');
      expect(vm.properties.storageProfile.osDisk.deleteOption, 'OS disk delete option set explicitly').to.equal('Delete');
      const nicId: string = vm.properties.networkProfile.networkInterfaces[0].id;
      const diskId: string = vm.properties.storageProfile.osDisk.managedDisk.id;
      const nic = await azureResource(azure, nicId);
      expect(nic?.properties.ipConfigurations[0].properties.privateIPAddress).to.equal(ready.status?.privateIPAddress);
      expect(await azureResource(azure, diskId), 'OS disk exists').to.not.equal(undefined);
      // Exactly one create (the PUT the operator sends carries If-None-Match: *; the request log
      // does not record headers, see sharedimagevm-drift's "made by someone else meanwhile").
      const puts = await machinePuts(azure, name);
      expect(puts.map((p) => p.status), 'one VM PUT').to.have.length(1);
    });

    it('with deletionPolicy Delete deletes the VM with its NIC and disk and waits for Azure to finish', async () => {
      const name = uniqueName('del');
      await create(vmManifest(name));
      const ready = await waitFor(name);
      const vm = (await azureResource(azure, fabrikamVm(name)))!;
      const nicId: string = vm.properties.networkProfile.networkInterfaces[0].id;
      const diskId: string = vm.properties.storageProfile.osDisk.managedDisk.id;
      expect(ready.metadata.finalizers?.length, 'a finalizer').to.be.at.least(1);
      // Hold the delete: the object stays (Terminating) while Azure deletes.
      await azure.control.holdOperations({ path: `virtualMachines/${name}$` });
      await client.delete(vmPath(namespace, name));
      const deadline = Date.now() + 15_000;
      while (!(await machineWrites(azure, name)).some((r) => r.method === 'DELETE') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect((await machineWrites(azure, name)).filter((r) => r.method === 'DELETE'), 'a VM DELETE').to.have.length.at.least(1);
      await new Promise((r) => setTimeout(r, 2_000));
      const terminating = await client.get<VM>(vmPath(namespace, name));
      expect(terminating.metadata.deletionTimestamp, 'still there while the delete runs').to.be.a('string');
      await azure.control.releaseOperations();
      await waitUntilGone(client, vmPath(namespace, name), 20_000, logs);
      expect(await azureResource(azure, fabrikamVm(name)), 'VM gone').to.equal(undefined);
      expect(await azureResource(azure, nicId), 'NIC gone').to.equal(undefined);
      expect(await azureResource(azure, diskId), 'disk gone').to.equal(undefined);
    });

    it('with deletionPolicy Orphan leaves the VM, its NIC and disk', async () => {
      const name = uniqueName('orph');
      await create(vmManifest(name, { deletionPolicy: 'Orphan' }));
      await waitFor(name);
      const vm = (await azureResource(azure, fabrikamVm(name)))!;
      await client.delete(vmPath(namespace, name));
      await waitUntilGone(client, vmPath(namespace, name), 20_000, logs);
      expect(await azureResource(azure, fabrikamVm(name)), 'VM kept').to.not.equal(undefined);
      expect(await azureResource(azure, vm.properties.networkProfile.networkInterfaces[0].id), 'NIC kept').to.not.equal(undefined);
      expect(await azureResource(azure, vm.properties.storageProfile.osDisk.managedDisk.id), 'disk kept').to.not.equal(undefined);
      expect((await machineWrites(azure, name)).filter((r) => r.method === 'DELETE'), 'no VM DELETE').to.deep.equal([]);
    });
  });

  describe('from an RBAC id and from a community gallery', () => {
    it('makes a VM from a gallery version id (same tenant, the object credentials read the gallery)', async () => {
      const name = uniqueName('rbac');
      await create(devVmManifest(name));
      const ready = await waitFor(name);
      expect(ready.status?.resolvedImageVersion).to.equal('1.0.0');
      expect(ready.status?.resourceId?.toLowerCase()).to.equal(vmId(ids.devSubscription, DEV_RG, name).toLowerCase());
      expect(ready.status?.privateIPAddress).to.match(/^10\.2\.0\.\d+$/);
    });

    it('makes a VM from /CommunityGalleries/.../latest', async () => {
      const name = uniqueName('comm');
      await create(vmManifest(name, { image: { communityGalleryImageId: communityImage('ubuntu') } }));
      const ready = await waitFor(name);
      expect(ready.status?.resolvedImageVersion).to.equal('1.0.0');
      const vm = (await azureResource(azure, fabrikamVm(name)))!;
      expect(vm.properties.storageProfile.imageReference.communityGalleryImageId.toLowerCase()).to.equal(communityImage('ubuntu').toLowerCase());
    });
  });

  describe('the image check, before any write', () => {
    const expectNoPut = async (name: string) => expect((await machinePuts(azure, name)).map((p) => `${p.path} ${p.status}`), 'no VM PUT').to.deep.equal([]);

    it('refuses a specialized image with adminUsername (Stalled SpecializedImageWithOsProfile)', async () => {
      const name = uniqueName('spec');
      await create(vmManifest(name, { image: { sharedGalleryImageId: sharedImage('specialized') } }));
      const stalled = await waitFor(name, isStalled('SpecializedImageWithOsProfile'), 'Stalled SpecializedImageWithOsProfile');
      expect(condition(stalled, 'Stalled')!.message).to.include('adminUsername');
      expect(condition(stalled, 'ImageAvailable')?.status).to.equal('False');
      await expectNoPut(name);
    });

    it('refuses a Gen2 image on a Gen1-only size, and a generalized image without an admin user', async () => {
      const gen1 = uniqueName('gen1');
      await create(vmManifest(gen1, { size: 'Standard_A2_v2' }));
      const g = await waitFor(gen1, isStalled('HyperVGenerationMismatch'), 'Stalled HyperVGenerationMismatch');
      expect(condition(g, 'Stalled')!.message).to.include('Standard_A2_v2');
      const noAdmin = uniqueName('noadm');
      await create(vmManifest(noAdmin, { adminUsername: undefined, sshPublicKeys: undefined }));
      await waitFor(noAdmin, isStalled('GeneralizedImageNeedsAdmin'), 'Stalled GeneralizedImageNeedsAdmin');
      await expectNoPut(gen1);
      await expectNoPut(noAdmin);
    });

    it('refuses a Trusted Launch image without securityType, and makes it with TrustedLaunch', async () => {
      const name = uniqueName('tl');
      await create(vmManifest(name, { image: { sharedGalleryImageId: sharedImage('trusted') } }));
      await waitFor(name, isStalled('SecurityTypeRequired'), 'Stalled SecurityTypeRequired');
      await expectNoPut(name);
      // securityType is immutable for a single VM (CEL): a new object with it.
      const withType = uniqueName('tl2');
      await create(vmManifest(withType, { image: { sharedGalleryImageId: sharedImage('trusted') }, securityType: 'TrustedLaunch' }));
      const ready = await waitFor(withType);
      expect(ready.status?.resolvedImageVersion).to.equal('1.0.0');
      const vm = (await azureResource(azure, fabrikamVm(withType)))!;
      expect(vm.properties.securityProfile?.securityType).to.equal('TrustedLaunch');
    });

    it('refuses a version not replicated to the region (Stalled ImageNotInRegion)', async () => {
      const name = uniqueName('east');
      await create(devVmManifest(name, { image: { id: rbacImage('westonly') }, location: 'eastus', network: { subnetId: DEV_EAST_SUBNET } }));
      const stalled = await waitFor(name, isStalled('ImageNotInRegion'), 'Stalled ImageNotInRegion');
      expect(condition(stalled, 'Stalled')!.message).to.include('eastus');
      await expectNoPut(name);
    });

    it('waits for a version still replicating (Reconciling ImageReplicating), Ready once the emulator clock passes replication', async () => {
      const name = uniqueName('repl');
      await create(devVmManifest(name, { image: { id: rbacImage('replicating') }, location: 'eastus', network: { subnetId: DEV_EAST_SUBNET } }));
      await waitFor(name, isReconciling('ImageReplicating'), 'Reconciling ImageReplicating');
      await expectNoPut(name);
      await azure.control.advanceClock(601_000);
      // The next look comes from the resync; the image check must not be answered from a stale cache.
      const ready = await waitFor(name, isReady, 'Ready', 30_000);
      expect(ready.status?.resolvedImageVersion).to.equal('1.0.0');
    });

    it('refuses an image the identity cannot read (Stalled AuthorizationFailed)', async () => {
      const name = uniqueName('noread');
      await create(devVmManifest(name, { azureCredentialsRef: { name: 'dev-deployer' } }));
      const stalled = await waitFor(name, isStalled('AuthorizationFailed'), 'Stalled AuthorizationFailed');
      expect(condition(stalled, 'Stalled')!.message.length).to.be.greaterThan(0);
      await expectNoPut(name);
    });

    it('makes a VM from a version past its end of life, with a Warning event (not a refusal)', async () => {
      const name = uniqueName('eol');
      await create(vmManifest(name, { image: { sharedGalleryImageId: sharedImage('eol') } }));
      await waitFor(name);
      const events = await vmEvents(clients, namespace, name);
      expect(events.filter((e) => e.type === 'Warning' && e.reason === 'ImageEndOfLife'), JSON.stringify(events)).to.have.length.at.least(1);
    });

    it('resolves latest skipping a version excluded from latest, and takes that version when named', async () => {
      const name = uniqueName('named');
      await create(vmManifest(name, { image: { sharedGalleryImageId: sharedImage('ubuntu', '1.2.0') } }));
      const ready = await waitFor(name);
      expect(ready.status?.resolvedImageVersion, 'a named version excluded from latest is still usable').to.equal('1.2.0');
    });
  });
});
