// `npm run bench -- --kind sharedimagevm`: N SharedImageVMs (VMs) from one shared image
// (/SharedGalleries/.../Versions/latest, shared with Fabrikam's tenant by an admin first), all in
// westus, in the sample subnet, created by the Secret fabrikam-deployer; the emulator adds the
// GalleryShare bench's latency to every ARM call and VM creates take a few seconds. Then one quiet
// resync (a restarted operator with a short --resync-interval: its restart pass, then the periodic
// resync counted), then the same work by a sequential SDK script (per VM: read the image, PUT the
// VM and wait, as `az vm create` does). Prints figures next to the issue's targets; asserts nothing.
import { writeFileSync } from 'node:fs';
import { GROUP, VERSION, type SharedImageVM } from '../../src/api/v1alpha1/index.js';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { start as startEmulator, type RequestLogEntry, type RunningEmulator } from '../azure-emulator/index.js';
import { compute, ids, raw, sampleSeed, secretCredential, secrets } from '../emulator/helpers.js';
import { startControlPlane } from '../support/control-plane.js';
import { createTestNamespace, installCrds, kubeClients } from '../support/kube.js';
import { startOperator } from '../support/operator-process.js';
import { MemorySampler, mib, now, percentile, pool, processName, ReadyTracker, seconds, sleep, sumByLabel, table, Teardown } from './measure.js';

export interface SharedImageVMBenchSettings {
  objects: number;
  workers: number;
  /** VMs the sequential script makes; extrapolated linearly to `objects`. */
  sequential: number;
  latencyMs: number;
  lroMs: number;
  json?: string;
  requestsLog?: string;
  operatorNodeOptions: string;
  operatorNodeOptionsDefault: boolean;
}

const LOCATION = 'westus';
const UNIQUE_NAME = `${ids.gallerySubscription}-MYGALLERY`;
const IMAGE = 'ubuntu-2404';
const SHARED_IMAGE_ID = `/SharedGalleries/${UNIQUE_NAME}/Images/${IMAGE}/Versions/latest`;
const VNET = `/subscriptions/${ids.fabrikamSubscription}/resourceGroups/${ids.fabrikamRG}/providers/Microsoft.Network/virtualNetworks/myVnet`;
const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHm9hfKhG2cEz0X3xqwNqpLdj5yDsYq0mGc4y4yVf1Zb azureuser@fabrikam';
/** A /24 holds 251 VMs (Azure keeps five addresses): past that, the operator's VMs go to extra subnets. */
const PER_SUBNET = 250;
const CREATE_CONCURRENCY = 20;
const GALLERY_PATH = `/subscriptions/${ids.gallerySubscription}/resourceGroups/${ids.galleryRG}/providers/Microsoft.Compute/galleries/${ids.gallery}`;

const vmName = (i: number) => `vm-${String(i).padStart(4, '0')}`;
const seqName = (i: number) => `seq-${String(i).padStart(4, '0')}`;
/** Subnet k of the operator's VMs: the sample's `default` (10.0.0.0/24), then bench-k (10.0.k.0/24). */
const operatorSubnet = (i: number) => {
  const k = Math.floor(i / PER_SUBNET);
  return k === 0 ? `${VNET}/subnets/default` : `${VNET}/subnets/bench-${k}`;
};
const SEQUENTIAL_SUBNET = `${VNET}/subnets/bench-seq`;

/** The sample's VM (config/samples/sharedimagevm.yaml), with another name and perhaps another subnet. */
function sharedImageVM(name: string, subnetId: string): SharedImageVM {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'SharedImageVM',
    metadata: { name },
    spec: {
      image: { sharedGalleryImageId: SHARED_IMAGE_ID },
      azureCredentialsRef: { name: 'fabrikam-deployer' },
      subscriptionId: ids.fabrikamSubscription,
      resourceGroup: ids.fabrikamRG,
      location: LOCATION,
      size: 'Standard_D2s_v5',
      adminUsername: 'azureuser',
      sshPublicKeys: [SSH_KEY],
      network: { subnetId, publicIP: false },
      osDisk: { caching: 'ReadWrite', storageAccountType: 'Standard_LRS' },
      deletionPolicy: 'Delete',
    },
  };
}

// ----- ARM request accounting -----------------------------------------------------------------

const isRead = (e: RequestLogEntry) => e.method === 'GET' || e.method === 'HEAD';
const isImageOperation = (op: string) => /^SharedGalleryImage(s|Versions)_/.test(op);

interface Calls {
  total: number;
  reads: number;
  writes: number;
  byOperation: Record<string, number>;
  entries: RequestLogEntry[];
}

async function armCalls(azure: RunningEmulator, say: (l: string) => void): Promise<Calls> {
  const all = await azure.control.requests();
  const counters = await azure.control.counters();
  const counted = Object.values(counters).reduce((a, b) => a + b, 0);
  if (counted !== all.length) say(`warning: the emulator's request log dropped entries (${all.length} kept of ${counted}); figures use its counters`);
  const entries = all.filter((e) => !(e.operation ?? '').startsWith('Entra'));
  const byOperation: Record<string, number> = {};
  for (const [operation, count] of Object.entries(counters)) if (!operation.startsWith('Entra')) byOperation[operation] = count;
  const total = Object.values(byOperation).reduce((a, b) => a + b, 0);
  const reads = counted === all.length ? entries.filter(isRead).length : Object.entries(byOperation).filter(([op]) => /_(Get|List|InstanceView)/.test(op)).reduce((a, [, c]) => a + c, 0);
  return { total, reads, writes: total - reads, byOperation, entries };
}

const vmOf = (path: string) => /\/virtualMachines\/([^/?]+)/i.exec(path)?.[1]?.toLowerCase();

// ----- The run --------------------------------------------------------------------------------

export async function runSharedImageVMBench(s: SharedImageVMBenchSettings): Promise<number> {
  const N = s.objects;
  const K = Math.min(N, s.sequential);
  const RESYNC_SECONDS = Math.max(20, Math.ceil(N / 25));
  const OPERATOR_FLAGS = ['--workers', String(s.workers), '--leader-elect', 'false', '--log-level', 'info'];
  const started = now();
  const say = (line: string) => console.error(`bench [${((now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);

  const teardown = new Teardown(say);

  try {
    say(`N=${N} SharedImageVMs from ${SHARED_IMAGE_ID} in ${LOCATION}, --workers ${s.workers}, ${s.latencyMs} ms per ARM call, ${s.lroMs} ms VM creates; sequential script on ${K}`);

    // ----- Setup, untimed ----------------------------------------------------------------------
    const controlPlane = await startControlPlane({ log: (line) => say(line) });
    teardown.steps.push({ name: 'the control plane', run: () => controlPlane.stop() });
    const clients = kubeClients(controlPlane.kubeconfigPath);
    await installCrds(clients);
    const kube = new KubeClient(clients.kc);
    teardown.steps.push({ name: 'the Kubernetes client', run: () => Promise.resolve(kube.close()) });

    const azure = await startEmulator({ seed: sampleSeed(), options: { lroDurationMs: 0, retryAfterSeconds: 1 } });
    teardown.steps.push({ name: 'the Azure emulator', run: () => azure.stop() });
    say(`Azure emulator at ${azure.armEndpoint}`);

    // The gallery owner's admin shares myGallery with Fabrikam's tenant (what the GalleryShare sample does).
    const contosoAdmin = await azure.control.adminToken(ids.contoso);
    const share = await raw(azure, 'POST', `${GALLERY_PATH}/share?api-version=2023-07-03`, { token: contosoAdmin, body: { operationType: 'Add', groups: [{ type: 'AADTenants', ids: [ids.fabrikam] }] } });
    if (share.status !== 200 && share.status !== 202) throw new Error(`sharing myGallery with Fabrikam: ${share.status} ${share.text}`);
    for (let i = 0; ; i++) {
      const g = await raw(azure, 'GET', `${GALLERY_PATH}?api-version=2023-07-03&$select=Permissions`, { token: contosoAdmin });
      if (/c333bccd-7e4f-4c18-bcc2-ba10fdc7b25a/i.test(g.text)) break;
      if (i > 50) throw new Error(`myGallery is not shared with Fabrikam: ${g.text}`);
      await sleep(100);
    }
    // Subnets: the sequential script's own (the sample /24 holds 251 VMs), and more for N > 250.
    const fabrikamAdmin = await azure.control.adminToken(ids.fabrikam);
    const subnets = [...Array.from({ length: Math.ceil(N / PER_SUBNET) - 1 }, (_, k) => [`bench-${k + 1}`, `10.0.${k + 1}.0/24`] as const), ['bench-seq', '10.0.250.0/24'] as const];
    for (const [name, addressPrefix] of subnets) {
      const res = await raw(azure, 'PUT', `${VNET}/subnets/${name}?api-version=2024-05-01`, { token: fabrikamAdmin, body: { properties: { addressPrefix } } });
      if (res.status !== 200 && res.status !== 201) throw new Error(`creating subnet ${name}: ${res.status} ${res.text}`);
    }
    say(`myGallery shared with Fabrikam's tenant; subnets ${subnets.map(([n]) => n).join(', ')} added to myVnet`);

    const namespace = await createTestNamespace(clients, 'bench');
    await clients.core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'fabrikam-deployer' }, stringData: { tenantId: ids.fabrikam, clientId: ids.fabrikamDeployer, clientSecret: secrets[ids.fabrikamDeployer]! } },
    });

    await azure.control.setOptions({ lroDurationMs: s.lroMs, retryAfterSeconds: 1 });
    await azure.control.addFault({ path: '^/(subscriptions|providers)(/|$)', latencyMs: s.latencyMs });

    // ----- Phase 1: the operator makes N SharedImageVMs Ready ---------------------------------
    let operator = await startOperator({ kubeconfig: controlPlane.kubeconfigPath, armEndpoint: azure.armEndpoint, caPath: azure.caPath, extraArgs: [...OPERATOR_FLAGS, '--resync-interval', '24h'], nodeOptions: s.operatorNodeOptions });
    teardown.steps.push({ name: 'the operator', run: () => teardown.stopOperator(operator) });
    const pid = operator.child.pid!;
    if (processName(pid) !== 'node') say(`warning: pid ${pid} runs ${processName(pid)}, not node; the RSS figures are that process's`);
    let memory = new MemorySampler(pid);
    const idle = { ...memory.peak };

    const collection = `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/sharedimagevms`;
    const tracker = new ReadyTracker(clients.kc, kube, collection);
    await tracker.start();
    teardown.steps.push({ name: 'the Ready watch', run: () => Promise.resolve(tracker.stop()) });
    const names = Array.from({ length: N }, (_, i) => vmName(i));
    tracker.expect(names);
    await azure.control.clearRequests();

    say(`creating ${N} SharedImageVMs, ${CREATE_CONCURRENCY} at a time`);
    const createdAt = new Map<string, number>();
    const t0 = now();
    await pool(names, CREATE_CONCURRENCY, async (name, i) => {
      await kube.create(collection, sharedImageVM(name, operatorSubnet(i)));
      createdAt.set(name, now());
    });
    const createAllMs = now() - t0;
    say(`created all ${N} in ${seconds(createAllMs)}; waiting for Ready`);
    const readyDeadline = t0 + Math.max(240_000, N * 1500);
    let lastProgress = now();
    while (tracker.pending().length > 0) {
      if (teardown.interrupted) throw new Error('teardown.interrupted');
      if (now() > readyDeadline) {
        const stalled = [...tracker.failed.entries()].slice(0, 5).map(([n, why]) => `  ${n}: ${why}`).join('\n');
        throw new Error(`${tracker.pending().length} of ${N} SharedImageVMs were not Ready after ${seconds(now() - t0)}${stalled ? `; stalled:\n${stalled}` : ''}\noperator log tail:\n${operator.logs().split('\n').slice(-20).join('\n')}`);
      }
      if (now() - lastProgress > 5000) {
        lastProgress = now();
        say(`${N - tracker.pending().length}/${N} Ready${tracker.failed.size ? `, ${tracker.failed.size} Stalled (may recover)` : ''}, operator RSS ${mib(memory.peak.rssKiB)}`);
      }
      await sleep(100);
    }
    const allReadyMs = Math.max(...tracker.readyAt.values()) - t0;
    const latencies = names.map((n) => tracker.readyAt.get(n)! - createdAt.get(n)!);
    say(`all ${N} Ready ${seconds(allReadyMs)} after the first create`);
    let previous = -1;
    for (let i = 0; i < 30; i++) {
      const count = (await azure.control.requests()).length;
      if (count === previous) break;
      previous = count;
      await sleep(500);
    }
    const creation = await armCalls(azure, say);
    if (s.requestsLog) writeFileSync(s.requestsLog, creation.entries.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const items = (await kube.get<{ items: SharedImageVM[] }>(collection)).items;
    const versions = new Map<string, number>();
    for (const vm of items) versions.set(vm.status?.resolvedImageVersion ?? '(none)', (versions.get(vm.status?.resolvedImageVersion ?? '(none)') ?? 0) + 1);
    const withIp = items.filter((vm) => vm.status?.privateIPAddress).length;
    const metricsText = await fetch(operator.metricsUrl).then((r) => r.text()).catch(() => '');
    const reconciles = sumByLabel(metricsText.split('\n').filter((l) => /controller="sharedimagevm/i.test(l) || !l.includes('controller=')).join('\n'), 'controller_runtime_reconcile_total', 'result');
    memory.stop();
    const mainMemory = memory;
    tracker.stop();
    await teardown.stopOperator(operator);
    say(`operator stopped; peak RSS ${mib(mainMemory.peak.hwmKiB)}`);

    // ----- Phase 2: a quiet resync ------------------------------------------------------------
    await azure.control.clearRequests();
    const restarted = now();
    operator = await startOperator({ kubeconfig: controlPlane.kubeconfigPath, armEndpoint: azure.armEndpoint, caPath: azure.caPath, extraArgs: [...OPERATOR_FLAGS, '--resync-interval', `${RESYNC_SECONDS}s`], nodeOptions: s.operatorNodeOptions });
    memory = new MemorySampler(operator.child.pid!);
    say(`operator restarted with --resync-interval ${RESYNC_SECONDS}s; waiting for its restart pass`);
    const wanted = new Set(names);
    const vmsRead = (entries: RequestLogEntry[]) => new Set(entries.filter((e) => e.operation === 'VirtualMachines_Get').map((e) => vmOf(e.path)).filter((v): v is string => v !== undefined && wanted.has(v)));
    const waitForEveryVmRead = async (deadline: number, what: string, from: number) => {
      for (;;) {
        if (teardown.interrupted) throw new Error('teardown.interrupted');
        const seen = vmsRead((await armCalls(azure, say)).entries).size;
        if (seen === N) return;
        if (now() > deadline) throw new Error(`${what}: only ${seen} of ${N} VMs were read by ${seconds(now() - from)}`);
        await sleep(250);
      }
    };
    await waitForEveryVmRead(restarted + 120_000, 'restart pass', restarted);
    await sleep(1500);
    const restartPass = await armCalls(azure, say);
    await azure.control.clearRequests();
    const periodicStarted = now();
    say(`restart pass done (${restartPass.reads} reads, ${restartPass.writes} writes); waiting one resync interval`);
    await waitForEveryVmRead(periodicStarted + RESYNC_SECONDS * 1100 + 60_000, 'periodic resync', periodicStarted);
    await sleep(2000);
    const periodic = await armCalls(azure, say);
    const readsByVm = new Map<string, number>();
    for (const e of periodic.entries) {
      const v = vmOf(e.path) ?? /networkInterfaces\/([^/?]+)-nic/i.exec(e.path)?.[1]?.toLowerCase();
      if (v && isRead(e)) readsByVm.set(v, (readsByVm.get(v) ?? 0) + 1);
    }
    memory.stop();
    const resyncMemory = memory;
    await teardown.stopOperator(operator);
    say(`periodic resync: ${periodic.reads} reads, ${periodic.writes} writes for ${N} VMs`);

    // ----- Phase 3: the same work, one VM after another, with the SDK ---------------------------
    await azure.control.clearRequests();
    const credential = secretCredential(azure, ids.fabrikam, ids.fabrikamDeployer);
    const client = compute(azure, credential, ids.fabrikamSubscription);
    await credential.getToken(azure.armScope); // `az login` happens before the script runs
    say(`sequential script: ${K} VMs, one after another (read the image, PUT the VM and wait)`);
    const perVm: number[] = [];
    const s0 = now();
    for (let i = 0; i < K; i++) {
      if (teardown.interrupted) throw new Error('teardown.interrupted');
      const vmStarted = now();
      // `az vm create --image <shared id>` reads the image (its OS type and state) first.
      const image = await client.sharedGalleryImages.get(LOCATION, UNIQUE_NAME, IMAGE);
      const linux = (image.osType ?? 'Linux') === 'Linux';
      await client.virtualMachines.beginCreateOrUpdateAndWait(
        ids.fabrikamRG,
        seqName(i),
        {
          location: LOCATION,
          hardwareProfile: { vmSize: 'Standard_D2s_v5' },
          storageProfile: { imageReference: { sharedGalleryImageId: SHARED_IMAGE_ID }, osDisk: { createOption: 'FromImage', caching: 'ReadWrite', managedDisk: { storageAccountType: 'Standard_LRS' }, deleteOption: 'Delete' } },
          osProfile: { computerName: seqName(i), adminUsername: 'azureuser', ...(linux ? { linuxConfiguration: { disablePasswordAuthentication: true, ssh: { publicKeys: [{ path: '/home/azureuser/.ssh/authorized_keys', keyData: SSH_KEY }] } } } : {}) },
          networkProfile: {
            networkApiVersion: '2020-11-01',
            networkInterfaceConfigurations: [{ name: `${seqName(i)}-nic`, primary: true, deleteOption: 'Delete', ipConfigurations: [{ name: 'ipconfig1', primary: true, subnet: { id: SEQUENTIAL_SUBNET } }] }],
          },
        },
        // Polls every second (Retry-After 1): the script is given the benefit of the doubt.
        { updateIntervalInMs: 1000 },
      );
      perVm.push(now() - vmStarted);
      if ((i + 1) % 10 === 0) say(`sequential: ${i + 1}/${K} in ${seconds(now() - s0)}`);
    }
    const sequentialMs = now() - s0;
    const sequential = await armCalls(azure, say);
    const extrapolatedMs = (sequentialMs / K) * N;
    const speedup = extrapolatedMs / allReadyMs;

    // ----- The report ---------------------------------------------------------------------------
    const per = (n: number) => n.toFixed(2);
    const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
    const opsRows = (byOperation: Record<string, number>, n: number, unit = 'VM') =>
      Object.entries(byOperation)
        .sort(([, a], [, b]) => b - a)
        .map(([name, count]) => [`  ${name}`, `${count} (${per(count / n)}/${unit})`, '', '']);
    const imageCalls = (c: Calls) => Object.entries(c.byOperation).filter(([op]) => isImageOperation(op)).reduce((a, [, n]) => a + n, 0);
    const imageChecks = creation.byOperation['SharedGalleryImages_Get'] ?? 0;
    // One image version (latest = 1.0.0), one region, one identity (fabrikam-deployer).
    const imageKeys = 1;
    const periodicReadsPerVm = periodic.reads / N;
    const maxReadsOneVm = Math.max(0, ...readsByVm.values());
    const resyncOk = periodicReadsPerVm <= 1 && maxReadsOneVm <= 1 && periodic.writes === 0;
    const rows: string[][] = [
      ['figure', 'value', 'target', 'verdict'],
      ['time until all Ready', seconds(allReadyMs), '', ''],
      [`  creating all objects (${CREATE_CONCURRENCY} at a time)`, seconds(createAllMs), '', ''],
      ['create-to-Ready p50 / p99 (max)', `${seconds(percentile(latencies, 50), 2)} / ${seconds(percentile(latencies, 99), 2)} (${seconds(Math.max(...latencies), 2)})`, '', ''],
      ['resolved image version', [...versions.entries()].map(([v, c]) => `${v} x${c}`).join(', '), '', ''],
      ['  with a private IP in status', `${withIp}/${N}`, '', ''],
      ['ARM calls, operator (reads/writes)', `${creation.total} = ${per(creation.total / N)}/VM (${creation.reads}/${creation.writes})`, '', ''],
      ...opsRows(creation.byOperation, N),
      ['  reconciles (sharedimagevm)', Object.entries(reconciles).map(([k, v]) => `${k} ${v}`).join(', ') || '(no metrics)', '', ''],
      ['image reads while creating', `${imageChecks} checks, ${imageCalls(creation)} calls (definition + version list)`, `<= 1 per version, region, identity (= ${imageKeys} here)`, verdict(imageChecks <= imageKeys)],
      ['quiet resync (periodic)', `${periodic.reads} reads, ${periodic.writes} writes`, '', ''],
      ['  per VM', `${per(periodicReadsPerVm)} reads, ${per(periodic.writes / N)} writes (most on one: ${maxReadsOneVm} reads)`, '<= 1 read, 0 writes', verdict(resyncOk)],
      ...opsRows(periodic.byOperation, N),
      ['quiet resync, on restart', `${restartPass.reads} reads, ${restartPass.writes} writes (${per(restartPass.reads / N)} reads/VM)`, '', ''],
      ['operator peak RSS (VmHWM)', `${mib(mainMemory.peak.hwmKiB)} (${mib(idle.hwmKiB)} when started)`, '', ''],
      ['  peak RSS of the restarted operator (resync)', mib(resyncMemory.peak.hwmKiB), '', ''],
      [`sequential script, ${K} VMs`, `${seconds(sequentialMs)} (${seconds(sequentialMs / K, 2)}/VM, p50 ${seconds(percentile(perVm, 50), 2)})`, '', ''],
      ...(K < N ? [[`  extrapolated to ${N} VMs`, `${seconds(extrapolatedMs)} (linear: ${K} timed)`, '', '']] : []),
      ['  ARM calls, sequential (reads/writes)', `${sequential.total} = ${per(sequential.total / K)}/VM (${sequential.reads}/${sequential.writes})`, '', ''],
      ...opsRows(sequential.byOperation, K),
      ['speed-up (sequential / operator)', `${speedup.toFixed(1)}x`, '>= 10x at N=200', N === 200 ? verdict(speedup >= 10) : `(N=${N})`],
    ];
    const runSeconds = (now() - started) / 1000;
    console.log(
      [
        '',
        `SharedImageVM benchmark: N=${N} VMs from ${SHARED_IMAGE_ID} (shared with Fabrikam's tenant), ${LOCATION}, Secret fabrikam-deployer`,
        `Azure emulator: ${s.latencyMs} ms added to every ARM call (Entra token calls excluded), VM create ${s.lroMs} ms, Retry-After 1 s`,
        `Operator: ${OPERATOR_FLAGS.join(' ')} (--resync-interval 24h while creating, ${RESYNC_SECONDS}s for the resync), NODE_OPTIONS="${s.operatorNodeOptions}"${s.operatorNodeOptionsDefault ? " (the chart's)" : ''}`,
        '',
        table(rows),
        '',
        `Run took ${runSeconds.toFixed(0)} s in all.`,
      ].join('\n'),
    );
    if (s.json) {
      const report = {
        kind: 'sharedimagevm',
        objects: N,
        settings: { workers: s.workers, latencyMs: s.latencyMs, lroDurationMs: s.lroMs, resyncIntervalSeconds: RESYNC_SECONDS, createConcurrency: CREATE_CONCURRENCY, operatorFlags: OPERATOR_FLAGS },
        operator: { createAllMs, allReadyMs, createToReadyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: Math.max(...latencies) }, resolvedVersions: Object.fromEntries(versions), armCalls: { total: creation.total, reads: creation.reads, writes: creation.writes, byOperation: creation.byOperation }, imageChecks, imageCalls: imageCalls(creation), reconciles, peakRssKiB: mainMemory.peak.hwmKiB, idleRssKiB: idle.hwmKiB },
        resync: { restartPass: { reads: restartPass.reads, writes: restartPass.writes, byOperation: restartPass.byOperation }, periodic: { reads: periodic.reads, writes: periodic.writes, readsPerVm: periodicReadsPerVm, maxReadsOneVm, byOperation: periodic.byOperation }, peakRssKiB: resyncMemory.peak.hwmKiB },
        sequential: { objects: K, totalMs: sequentialMs, extrapolatedToNMs: extrapolatedMs, armCalls: { total: sequential.total, reads: sequential.reads, writes: sequential.writes, byOperation: sequential.byOperation } },
        speedup,
        targets: { resyncReadsPerVmMax: 1, resyncWritesPerVmMax: 0, imageChecksPerVersionRegionIdentityMax: 1, speedupMinAtN200: 10 },
        runSeconds,
      };
      writeFileSync(s.json, `${JSON.stringify(report, null, 2)}\n`);
      console.log(`JSON report written to ${s.json}`);
    }
    await teardown.run();
    return 0;
  } catch (err) {
    if (teardown.interrupted) return 130;
    console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await teardown.run();
    return 1;
  }
}
