// `npm run demo`: the whole product on one machine. Starts a real Kubernetes control plane and
// the Azure emulator (sample world), installs the CRDs, runs the operator, applies the sample
// GalleryShare and shows it Ready, then the sample TenantGrant: Stalled until Fabrikam's admin
// consents (the demo accepts the consent page as that admin would in a browser), then Ready by
// itself; then the SharedImageVM samples: a VM in Fabrikam from the image the GalleryShare shares
// with Fabrikam's tenant (/SharedGalleries/.../Versions/latest, Secret fabrikam-deployer), and a
// scale set made across tenants through the TenantGrant, shown Ready with the image version each
// got. Stays up until Ctrl-C with the kubeconfig path printed.
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GROUP, VERSION, type GalleryShare, type SharedImageVM, type TenantGrant } from '../src/api/v1alpha1/index.js';
import { kstatus } from '../src/runtime/kstatus.js';
import { KubeClient } from '../src/runtime/kube-client.js';
import { start as startEmulator } from '../test/azure-emulator/index.js';
import { readSeedFile } from '../test/azure-emulator/seed.js';
import { startControlPlane } from '../test/support/control-plane.js';
import { installCrds, kubeClients, loadYamlDocuments, repoRoot } from '../test/support/kube.js';
import { startOperator } from '../test/support/operator-process.js';
import { acceptConsent } from '../test/support/tenantgrants.js';

const execFileAsync = promisify(execFile);
const NAMESPACE = 'platform';
const say = (line: string) => console.log(`demo: ${line}`);

async function main(): Promise<void> {
  const started = Date.now();
  const dir = join(tmpdir(), 'gallery-share-demo');
  mkdirSync(dir, { recursive: true });
  const kubeconfig = join(dir, 'kubeconfig');
  const stops: (() => Promise<unknown>)[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping the operator, the Azure emulator and the control plane');
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  try {
    say('starting etcd, kube-apiserver and kube-controller-manager (built from Go modules on first use: several minutes)');
    const controlPlane = await startControlPlane({ controllerManager: true, log: (l) => say(l) });
    stops.push(() => controlPlane.stop());
    copyFileSync(controlPlane.kubeconfigPath, kubeconfig);
    const clients = kubeClients(kubeconfig);
    await installCrds(clients);
    say('installed the galleryshare.io CRDs');

    const seedPath = join(repoRoot, 'test/azure-emulator/seeds/sample.yaml');
    const azure = await startEmulator({ seed: seedPath, caOut: join(dir, 'azure-ca.pem'), options: { lroDurationMs: 1500, retryAfterSeconds: 1 } });
    stops.push(() => azure.stop());
    say(`Azure emulator (sample world) at ${azure.armEndpoint}, CA ${join(dir, 'azure-ca.pem')}`);

    // The credentials, as a person would create them with kubectl: the gallery owner's, Fabrikam's
    // admin's, and the multi-tenant app's own (only its secret: the TenantGrant names the app).
    const seed = readSeedFile(seedPath);
    const application = (name: string) => {
      const app = seed.applications?.find((a) => a.name === name);
      if (!app?.secrets?.[0]) throw new Error(`the sample seed has no ${name} application with a client secret`);
      return { tenantId: app.homeTenant, clientId: app.appId, clientSecret: app.secrets[0] };
    };
    await clients.core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
    for (const name of ['gallery-owner', 'fabrikam-admin', 'fabrikam-deployer']) await clients.core.createNamespacedSecret({ namespace: NAMESPACE, body: { metadata: { name }, stringData: application(name) } });
    await clients.core.createNamespacedSecret({ namespace: NAMESPACE, body: { metadata: { name: 'gallery-app' }, stringData: { clientSecret: application('gallery-app').clientSecret } } });

    const operator = await startOperator({ kubeconfig, armEndpoint: azure.armEndpoint, caPath: join(dir, 'azure-ca.pem'), extraArgs: ['--leader-elect', 'false', '--resync-interval', '1m', '--log-level', 'info', '--consent-recheck-initial', '3s', '--consent-recheck-max', '30s'] });
    stops.push(() => operator.stop());
    const operatorLog = join(dir, 'operator.log');
    setInterval(() => writeFileSync(operatorLog, operator.logs()), 1000).unref();
    say(`operator running (metrics at ${operator.metricsUrl}, log ${operatorLog})`);

    const sample = loadYamlDocuments(join(repoRoot, 'config/samples/galleryshare.yaml'))[0] as unknown as GalleryShare;
    const client = new KubeClient(clients.kc);
    await client.create(`/apis/${GROUP}/${VERSION}/namespaces/${NAMESPACE}/galleryshares`, sample);
    say(`applied config/samples/galleryshare.yaml in namespace ${NAMESPACE}; waiting for Ready`);
    const deadline = Date.now() + 120_000;
    for (;;) {
      const gs = await client.get<GalleryShare>(`/apis/${GROUP}/${VERSION}/namespaces/${NAMESPACE}/galleryshares/${sample.metadata.name}`);
      if (kstatus(gs) === 'Current') break;
      if (kstatus(gs) === 'Failed' || Date.now() > deadline) throw new Error(`the sample did not become Ready: ${JSON.stringify(gs.status?.conditions, null, 2)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    say(`galleryshare/${sample.metadata.name} is Ready`);

    // The TenantGrant: Fabrikam has not consented to the app yet.
    const grant = loadYamlDocuments(join(repoRoot, 'config/samples/tenantgrant.yaml'))[0] as unknown as TenantGrant;
    const grantPath = `/apis/${GROUP}/${VERSION}/namespaces/${NAMESPACE}/tenantgrants/${grant.metadata.name}`;
    await client.create(`/apis/${GROUP}/${VERSION}/namespaces/${NAMESPACE}/tenantgrants`, grant);
    say(`applied config/samples/tenantgrant.yaml; waiting for it to ask for consent`);
    const waitForGrant = async (until: (tg: TenantGrant) => boolean, what: string): Promise<TenantGrant> => {
      const grantDeadline = Date.now() + 60_000;
      for (;;) {
        const tg = await client.get<TenantGrant>(grantPath);
        if (until(tg)) return tg;
        if (Date.now() > grantDeadline) throw new Error(`the TenantGrant is not ${what}: ${JSON.stringify(tg.status?.conditions, null, 2)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    const stalledReason = (tg: TenantGrant) => (kstatus(tg) === 'Failed' ? tg.status?.conditions?.find((c) => c.type === 'Stalled')?.reason : undefined);
    const stalled = await waitForGrant((tg) => stalledReason(tg) === 'ConsentRequired', 'Stalled with ConsentRequired');
    say(`tenantgrant/${grant.metadata.name} is Stalled (ConsentRequired): Fabrikam's admin must consent at`);
    console.log(`  ${stalled.status?.consentUrl}`);
    const consent = await acceptConsent(stalled.status!.consentUrl!, azure.caPem);
    say(`Fabrikam's admin opened that page and pressed Accept (the browser went on to ${consent.location?.split('?')[0] ?? 'nowhere'}); the operator notices by itself`);
    await waitForGrant((tg) => kstatus(tg) === 'Current', 'Ready');
    say(`tenantgrant/${grant.metadata.name} is Ready: the app has Reader on myGallery in Contoso and Contributor on myResourceGroup in Fabrikam`);

    // The SharedImageVMs: a VM from the directly shared image, a scale set through the grant.
    const vmsPath = `/apis/${GROUP}/${VERSION}/namespaces/${NAMESPACE}/sharedimagevms`;
    const machines = ['sharedimagevm.yaml', 'sharedimagevm-crosstenant-scaleset.yaml'].map((file) => {
      const obj = loadYamlDocuments(join(repoRoot, 'config/samples', file))[0] as unknown as SharedImageVM;
      return { file, obj };
    });
    for (const { obj } of machines) await client.create(vmsPath, obj);
    say(`applied config/samples/${machines.map((m) => m.file).join(' and ')}; waiting for both to be Ready (VM creates take 1.5 s here)`);
    const vmDeadline = Date.now() + 120_000;
    for (const { obj } of machines) {
      for (;;) {
        const vm = await client.get<SharedImageVM>(`${vmsPath}/${obj.metadata.name}`);
        if (kstatus(vm) === 'Current') {
          const what = vm.spec.scaleSet ? `scale set, capacity ${vm.status?.capacity ?? vm.spec.scaleSet.capacity}` : `VM, private IP ${vm.status?.privateIPAddress ?? '(none)'}`;
          say(`sharedimagevm/${obj.metadata.name} is Ready: ${what}, image version ${vm.status?.resolvedImageVersion ?? '(not reported)'}`);
          break;
        }
        if (kstatus(vm) === 'Failed' || Date.now() > vmDeadline) throw new Error(`sharedimagevm/${obj.metadata.name} did not become Ready: ${JSON.stringify(vm.status?.conditions, null, 2)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }

    const { stdout } = await execFileAsync('kubectl', ['--kubeconfig', kubeconfig, 'get', 'gallerysharing', '-n', NAMESPACE, '-o', 'wide']).catch((err: { stdout?: string; message: string }) => ({ stdout: err.stdout ?? err.message }));
    console.log(`\n$ kubectl get gallerysharing -n ${NAMESPACE} -o wide\n${stdout}`);
    say(`ready in ${((Date.now() - started) / 1000).toFixed(0)}s`);
    console.log(`
  kubeconfig:  ${kubeconfig}
  try:         kubectl --kubeconfig ${kubeconfig} describe galleryshares -n ${NAMESPACE} golden-images
               kubectl --kubeconfig ${kubeconfig} edit galleryshares -n ${NAMESPACE} golden-images  (change the tenants)
               kubectl --kubeconfig ${kubeconfig} describe tenantgrants -n ${NAMESPACE} contoso-to-fabrikam
               kubectl --kubeconfig ${kubeconfig} describe sharedimagevms -n ${NAMESPACE} web-1
  Azure:       ${azure.armEndpoint} (control API under /__emulator/, CA ${join(dir, 'azure-ca.pem')})

Ctrl-C stops everything.`);
  } catch (err) {
    console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    await stopAll(1);
  }
}

void main();
