// SharedImageVM drift and failures: a VM deleted behind the operator's back made again, a resize,
// a scale set scaled and given another image, an AllocationFailed create retried, a wrong subnet,
// the admin password from a Secret (never in a log, event or status), and a VM of that name made
// by someone else (refused, never overwritten, then adopted with the annotation).
import { expect } from 'chai';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { start, type RunningEmulator } from '../azure-emulator/index.js';
import { ids } from '../emulator/helpers.js';
import { createTestNamespace, deleteNamespace, kubeClients, testKubeconfigPath, type KubeClients } from '../support/kube.js';
import { startOperator, type OperatorProcess } from '../support/operator-process.js';
import { ensureKstatus } from '../support/real-kstatus.js';
import { expectNoSecrets } from '../support/tenantgrants.js';
import {
  FABRIKAM_EAST_SUBNET,
  SAMPLE_SUBNET,
  admin,
  azureResource,
  condition,
  createVmSecrets,
  isReady,
  isStalled,
  machinePuts,
  machineWrites,
  sharedImage,
  sharedImageVMs,
  sivmSeed,
  subnetId,
  uniqueName,
  vmEvents,
  vmId,
  vmManifest,
  vmPath,
  waitForVM,
  type VM,
} from '../support/sharedimagevms.js';

describe('SharedImageVM drift and failures', function () {
  let azure: RunningEmulator;
  let clients: KubeClients;
  let client: KubeClient;
  let operator: OperatorProcess;
  let namespace: string;
  const logs = () => operator.logs();
  const create = (vm: VM) => client.create<VM>(sharedImageVMs(namespace), vm);
  const waitFor = (name: string, until: (vm: VM) => boolean = isReady, what = 'Ready', timeoutMs = 30_000) => waitForVM(client, namespace, name, until, { what, timeoutMs, logs });
  const readyAfter = (generation: number) => (vm: VM) => isReady(vm) && vm.metadata.generation! > generation;
  const patchSpec = async (name: string, spec: Record<string, unknown>) => {
    const before = await client.get<VM>(vmPath(namespace, name));
    await client.patch(vmPath(namespace, name), { spec }, 'merge');
    return before.metadata.generation!;
  };
  const vmIn = (name: string) => vmId(ids.fabrikamSubscription, ids.fabrikamRG, name);
  const vmssIn = (name: string) => vmId(ids.fabrikamSubscription, ids.fabrikamRG, name, 'virtualMachineScaleSets');

  before(async function () {
    this.timeout(600_000);
    await ensureKstatus();
    azure = await start({ seed: sivmSeed(), options: { retryAfterSeconds: 0, lroDurationMs: 200 } });
    clients = kubeClients();
    client = new KubeClient(clients.kc);
    operator = await startOperator({ kubeconfig: testKubeconfigPath(), armEndpoint: azure.armEndpoint, caPath: azure.caPath, extraArgs: ['--resync-interval', '2s', '--leader-elect', 'false'] });
  });
  after(async () => {
    await operator?.stop();
    client?.close();
    await azure?.stop();
  });
  beforeEach(async () => {
    namespace = await createTestNamespace(clients, 'sivmd');
    await createVmSecrets(clients, namespace);
  });
  afterEach(async () => {
    await azure.control.clearFaults();
    await client.delete(sharedImageVMs(namespace)).catch(() => undefined);
    for (let i = 0; i < 200 && (await client.get<{ items: unknown[] }>(sharedImageVMs(namespace))).items.length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    await deleteNamespace(clients, namespace);
  });

  describe('drift', () => {
    it('makes again (with a Warning event) a VM deleted behind its back', async () => {
      const name = uniqueName('gone');
      await create(vmManifest(name));
      await waitFor(name);
      const del = await admin(azure, 'DELETE', vmIn(name));
      expect(del.status, del.text).to.be.oneOf([200, 202, 204]);
      const deadline = Date.now() + 20_000;
      while ((await machinePuts(azure, name)).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(await machinePuts(azure, name), 'a second VM PUT').to.have.length(2);
      await waitFor(name);
      expect(await azureResource(azure, vmIn(name)), 'the VM is there again').to.not.equal(undefined);
      const events = await vmEvents(clients, namespace, name);
      expect(events.filter((e) => e.reason === 'Recreating' && e.type === 'Warning'), JSON.stringify(events)).to.have.length.at.least(1);
    });

    it('a quiet resync of a VM that matches its spec reads the VM once and writes nothing', async () => {
      const name = uniqueName('quiet');
      await create(vmManifest(name));
      await waitFor(name);
      await new Promise((r) => setTimeout(r, 1_000));
      await azure.control.clearRequests();
      await new Promise((r) => setTimeout(r, 5_000)); // two or three resyncs at --resync-interval 2s
      const calls = (await azure.control.requests()).filter((r) => r.path.toLowerCase().includes(name.toLowerCase()) || /galleries|sharedgalleries/i.test(r.path));
      const vmReads = calls.filter((r) => r.method === 'GET' && /virtualmachines\//i.test(r.path));
      expect(calls.filter((r) => r.method !== 'GET'), 'no write').to.deep.equal([]);
      expect(calls.filter((r) => /galleries/i.test(r.path)), 'no image read (checked only before the VM is made)').to.deep.equal([]);
      expect(calls.filter((r) => /networkinterfaces/i.test(r.path)), 'no NIC read (its id did not change)').to.deep.equal([]);
      expect(vmReads.length, 'one VM read per resync').to.be.within(1, 3);
    });

    it('resizes the VM when spec.size changes', async () => {
      const name = uniqueName('size');
      await create(vmManifest(name));
      await waitFor(name);
      const generation = await patchSpec(name, { size: 'Standard_D4s_v5' });
      await waitFor(name, readyAfter(generation), 'Ready (resized)');
      const vm = (await azureResource(azure, vmIn(name)))!;
      expect(vm.properties.hardwareProfile.vmSize).to.equal('Standard_D4s_v5');
      expect(await machinePuts(azure, name), 'resized in place, not made again').to.have.length(1);
    });

    it('a resize Azure refuses while the VM runs is Stalled with the advice to deallocate; the operator never stops the VM', async () => {
      const name = uniqueName('rsz');
      await create(vmManifest(name));
      await waitFor(name);
      await azure.control.addFault({
        method: 'PATCH',
        path: `virtualMachines/${name}$`,
        status: 409,
        code: 'OperationNotAllowed',
        message: `Unable to resize the VM '${name}' because the requested size Standard_M64s is not available in the current hardware cluster. The available sizes in this cluster are: Standard_D2s_v5, Standard_D4s_v5. Read more on VM resizing strategy at https://aka.ms/azure-resizevm.`,
      });
      const generation = await patchSpec(name, { size: 'Standard_M64s' });
      const stalled = await waitFor(name, (vm) => isStalled()(vm) && vm.metadata.generation! > generation, 'Stalled (resize refused)', 20_000);
      expect(condition(stalled, 'Stalled')!.message).to.match(/deallocat/i);
      await new Promise((r) => setTimeout(r, 2_000));
      const stops = (await machineWrites(azure, name)).filter((w) => w.method === 'POST' || w.method === 'DELETE');
      expect(stops.map((w) => w.path), 'no powerOff, deallocate or delete by the operator').to.deep.equal([]);
      expect((await azureResource(azure, vmIn(name)))!.properties.hardwareProfile.vmSize).to.equal('Standard_D2s_v5');
    });

    it('pins a scale set from latest to the version the check resolved (instances stay consistent)', async () => {
      const name = uniqueName('pin');
      await create(vmManifest(name, { scaleSet: { capacity: 1 } as VM['spec']['scaleSet'] }));
      await waitFor(name);
      const model = (await azureResource(azure, vmssIn(name)))!;
      expect(model.properties.virtualMachineProfile.storageProfile.imageReference.sharedGalleryImageId.toLowerCase()).to.equal(sharedImage('ubuntu', '1.1.0').toLowerCase());
    });

    it('scales a scale set up and down and moves it to another image', async () => {
      const name = uniqueName('pool');
      await create(vmManifest(name, { scaleSet: { capacity: 2 } as VM['spec']['scaleSet'] }));
      const ready = await waitFor(name);
      expect(ready.status?.capacity).to.equal(2);
      const ss = (await azureResource(azure, vmssIn(name)))!;
      expect(ss.sku.capacity).to.equal(2);
      expect(ss.properties.orchestrationMode).to.equal('Flexible');

      let generation = await patchSpec(name, { scaleSet: { capacity: 3 } });
      expect((await waitFor(name, readyAfter(generation), 'Ready (3)')).status?.capacity).to.equal(3);
      expect((await azureResource(azure, vmssIn(name)))!.sku.capacity).to.equal(3);
      generation = await patchSpec(name, { scaleSet: { capacity: 1 } });
      expect((await waitFor(name, readyAfter(generation), 'Ready (1)')).status?.capacity).to.equal(1);
      expect((await azureResource(azure, vmssIn(name)))!.sku.capacity).to.equal(1);

      generation = await patchSpec(name, { image: { sharedGalleryImageId: sharedImage('ubuntu', '1.0.0') } });
      await waitFor(name, readyAfter(generation), 'Ready (new image)');
      const model = (await azureResource(azure, vmssIn(name)))!;
      expect(model.properties.virtualMachineProfile.storageProfile.imageReference.sharedGalleryImageId.toLowerCase()).to.equal(sharedImage('ubuntu', '1.0.0').toLowerCase());
      expect(await machinePuts(azure, name), 'scaled and moved in place').to.have.length(1);
    });
  });

  describe('failures', () => {
    it('retries an AllocationFailed create (the operation fails, the failed VM is PUT again, never deleted nor Stalled) and is Ready', async () => {
      const name = uniqueName('alloc');
      // Azure reports allocation failures in the create's operation: the VM stays, provisioningState Failed.
      await azure.control.addFault({ path: `/virtualMachines/${name}$`, operationError: { code: 'AllocationFailed' }, count: 1 });
      let stalled = false;
      await create(vmManifest(name));
      const ready = await waitForVM(client, namespace, name, isReady, { what: 'Ready', timeoutMs: 20_000, logs, seen: (vm) => (stalled ||= isStalled()(vm)) });
      expect(stalled, 'never Stalled on the way').to.equal(false);
      const writes = await machineWrites(azure, name);
      expect(writes.filter((w) => w.method === 'PUT'), 'the failed VM PUT again').to.have.length(2);
      expect(writes.filter((w) => w.method === 'DELETE'), 'the failed VM not deleted').to.deep.equal([]);
      expect(ready.status?.provisioningState).to.equal('Succeeded');
    });

    it('retries a synchronous AllocationFailed answer to the PUT and is Ready', async () => {
      const name = uniqueName('alloc2');
      await azure.control.addFault({ method: 'PUT', path: `virtualMachines/${name}$`, status: 409, code: 'AllocationFailed', message: 'Allocation failed. We do not have sufficient capacity for the requested VM size in this region.', count: 1 });
      await create(vmManifest(name));
      await waitFor(name, isReady, 'Ready', 30_000);
      expect((await machinePuts(azure, name)).map((p) => p.status)).to.satisfy((s: number[]) => s[0] === 409 && s.length === 2 && [200, 201].includes(s[1]!));
    });

    it('stalls on refusals a retry cannot fix, with ARM\'s code: RequestDisallowedByPolicy (403) and SkuNotAvailable (409)', async () => {
      const policy = uniqueName('policy');
      const sku = uniqueName('sku');
      await azure.control.addFault({ method: 'PUT', path: `virtualMachines/${policy}$`, status: 403, code: 'RequestDisallowedByPolicy', message: "Resource 'x' was disallowed by policy. Policy identifiers: '[{\"policyAssignment\":{\"name\":\"Allowed virtual machine size SKUs\"}}]'." });
      await azure.control.addFault({ method: 'PUT', path: `virtualMachines/${sku}$`, status: 409, code: 'SkuNotAvailable', message: "The requested VM size for resource 'x' is currently not available in location 'westus'. Please try another size or deploy to a different location or different zone." });
      await create(vmManifest(policy));
      await create(vmManifest(sku));
      const p = await waitFor(policy, isStalled(), 'Stalled (policy)');
      const k = await waitFor(sku, isStalled(), 'Stalled (SKU)');
      expect(`${condition(p, 'Stalled')!.reason} ${condition(p, 'Stalled')!.message}`).to.include('RequestDisallowedByPolicy');
      expect(`${condition(k, 'Stalled')!.reason} ${condition(k, 'Stalled')!.message}`).to.include('SkuNotAvailable');
      // Nothing was made (a refusal, not a failed create to re-PUT).
      expect(await azureResource(azure, vmIn(policy)), 'no VM (policy)').to.equal(undefined);
      expect(await azureResource(azure, vmIn(sku)), 'no VM (SKU)').to.equal(undefined);
    });

    it('refuses a subnet in another region and a missing subnet before any write (Stalled)', async () => {
      const east = uniqueName('subreg');
      await create(vmManifest(east, { network: { subnetId: FABRIKAM_EAST_SUBNET } }));
      const stalledEast = await waitFor(east, isStalled(), 'Stalled');
      expect(condition(stalledEast, 'Stalled')!.message).to.match(/eastus|region/i);
      const missing = uniqueName('subnone');
      await create(vmManifest(missing, { network: { subnetId: subnetId(ids.fabrikamSubscription, ids.fabrikamRG, 'myVnet', 'nosuch') } }));
      const stalledMissing = await waitFor(missing, isStalled(), 'Stalled');
      const seen = JSON.stringify({ east: condition(stalledEast, 'Stalled'), missing: condition(stalledMissing, 'Stalled') });
      expect(condition(stalledMissing, 'Stalled')!.message, seen).to.include('nosuch');
      const puts = { east: (await machinePuts(azure, east)).map((p) => p.status), missing: (await machinePuts(azure, missing)).map((p) => p.status) };
      expect(puts, `no VM PUT: the subnet is checked before any write (${seen})`).to.deep.equal({ east: [], missing: [] });
    });

    it('makes a Windows VM with the admin password from a Secret, which appears in no log, event or status', async () => {
      const password = `Pw-${Math.random().toString(36).slice(2)}-Zz9!`;
      await clients.core.createNamespacedSecret({ namespace, body: { metadata: { name: 'vm-admin' }, stringData: { password } } });
      const name = uniqueName('win');
      await create(vmManifest(name, { image: { sharedGalleryImageId: sharedImage('windows') }, sshPublicKeys: undefined, adminPasswordSecretRef: { name: 'vm-admin', key: 'password' } }));
      const ready = await waitFor(name);
      const vm = (await azureResource(azure, vmIn(name)))!;
      expect(vm.properties.osProfile.adminUsername).to.equal('azureuser');
      expect(vm.properties.osProfile.computerName.length).to.be.at.most(15);
      // A changed Secret does nothing to the VM (the password is Azure's at creation only), and the status says so.
      const newPassword = `Pw-${Math.random().toString(36).slice(2)}-Yy8!`;
      await clients.core.replaceNamespacedSecret({ name: 'vm-admin', namespace, body: { metadata: { name: 'vm-admin' }, stringData: { password: newPassword } } });
      await new Promise((r) => setTimeout(r, 4_000));
      expect((await machineWrites(azure, name)).map((w) => w.method), 'no write after the Secret changed').to.deep.equal(['PUT']);
      const after = await waitFor(name);
      expect(condition(after, 'Provisioned')!.message).to.include('changed Secret does not change it');
      await expectNoSecrets(clients, namespace, logs(), [ready.status, after.status], [password, newPassword]);
    });

    it('never overwrites a VM someone else made meanwhile (If-None-Match: *), and refuses a VM it did not make (Stalled ResourceExists) until adopted', async () => {
      const name = uniqueName('taken');
      // Someone else's VM of the same name appears between the operator's read and its PUT: its PUT
      // waits 2 s (a fault with latency, used up by the operator's PUT), meanwhile the admin creates it.
      await azure.control.addFault({ method: 'PUT', path: `virtualMachines/${name}$`, latencyMs: 2_000, count: 1 });
      await create(vmManifest(name));
      const deadline = Date.now() + 15_000;
      const hit = async () => (await azure.control.faults()).find((f) => (f as { hits?: number }).hits! >= 1);
      while (!(await hit()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const fault = await hit();
      expect(fault, "the operator's PUT is on its way").to.not.equal(undefined);
      await azure.control.removeFault((fault as { id: string }).id);
      const theirs = await admin(azure, 'PUT', vmIn(name), {
        location: 'westus',
        tags: { team: 'someone-else' },
        properties: {
          hardwareProfile: { vmSize: 'Standard_B2s' },
          storageProfile: { imageReference: { sharedGalleryImageId: sharedImage('ubuntu', '1.0.0') }, osDisk: { createOption: 'FromImage' } },
          osProfile: { computerName: 'theirs', adminUsername: 'them', linuxConfiguration: { disablePasswordAuthentication: true, ssh: { publicKeys: [{ path: '/home/them/.ssh/authorized_keys', keyData: 'ssh-ed25519 AAAA them' }] } } },
          networkProfile: { networkApiVersion: '2020-11-01', networkInterfaceConfigurations: [{ name: 'nic', properties: { primary: true, ipConfigurations: [{ name: 'ip', properties: { subnet: { id: SAMPLE_SUBNET } } }] } }] },
        },
      });
      expect(theirs.status, theirs.text).to.be.oneOf([200, 201]);
      const stalled = await waitFor(name, isStalled('ResourceExists'), 'Stalled ResourceExists');
      expect(condition(stalled, 'Stalled')!.message).to.include('galleryshare.io/adopt');
      const vm = (await azureResource(azure, vmIn(name)))!;
      expect(vm.tags, 'their VM kept as they made it').to.deep.equal({ team: 'someone-else' });
      expect(vm.properties.hardwareProfile.vmSize).to.equal('Standard_B2s');
      const operatorPuts = (await machinePuts(azure, name)).filter((p) => p.appId === ids.fabrikamDeployer);
      expect(operatorPuts.map((p) => p.status), "the operator's one PUT was refused (412)").to.deep.equal([412]);

      // Adopted: the object takes it over (owner tag), resizes it to its spec, and is Ready.
      const generation = (await client.get<VM>(vmPath(namespace, name))).metadata.generation!;
      await client.patch(vmPath(namespace, name), { metadata: { annotations: { 'galleryshare.io/adopt': 'true' } } }, 'merge');
      const ready = await waitFor(name, (o) => isReady(o) && o.metadata.generation! >= generation, 'Ready (adopted)').catch(async (e: Error) => {
        const calls = (await azure.control.requests()).filter((r) => r.path.toLowerCase().includes(name) || r.path.includes('/operations/')).map((r) => `${r.method} ${r.path.replace(/^.*\/providers\//, '')} ${r.status} ${r.appId === ids.fabrikamDeployer ? 'operator' : r.appId}`);
        throw new Error(`${e.message}\nrequests:\n${calls.slice(-30).join('\n')}`);
      });
      expect(ready.status?.resourceId?.toLowerCase()).to.equal(vmIn(name).toLowerCase());
      const adopted = (await azureResource(azure, vmIn(name)))!;
      expect(adopted.tags['galleryshare.io-owner']).to.equal(`SharedImageVM ${namespace}/${name}`);
      expect(adopted.properties.hardwareProfile.vmSize).to.equal('Standard_D2s_v5');
      expect((await machineWrites(azure, name)).filter((w) => w.appId === ids.fabrikamDeployer && w.method === 'PUT'), 'no second PUT: adopted in place').to.have.length(1);
    });
  });
});
