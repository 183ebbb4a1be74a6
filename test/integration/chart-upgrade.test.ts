// The CRDs' life cycle with the chart, with a real helm against a real API server of its own (it
// installs, takes over and deletes the CRDs, which the shared control plane's other test files
// need): the upgrade from the chart's 0.1.0 (CRDs in crds/, which Helm installs once and never
// owns) is refused until the CRDs carry Helm's ownership metadata and, with it, updates them; the
// CRDs and every object survive `helm uninstall` by default (crds.keep), and with crds.keep=false
// go with it.
import { expect } from 'chai';
import { GROUP, VERSION } from '../../src/api/v1alpha1/index.js';
import { FINALIZER } from '../../src/api/v1alpha1/common.js';
import { isNotFound, KubeClient } from '../../src/runtime/kube-client.js';
import { CHART, CHART_0_1_0, runHelm } from '../support/chart.js';
import { startControlPlane, type ControlPlane } from '../support/control-plane.js';
import { galleryShareManifest } from '../support/galleryshares.js';
import { ensureHelm } from '../support/helm.js';
import { crdDocuments, installCrds, kubeClients, kubectl } from '../support/kube.js';
import { vmManifest } from '../support/sharedimagevms.js';
import { tenantGrantManifest } from '../support/tenantgrants.js';

const RELEASE = 'gso';
const NAMESPACE = 'gallery-share-system';
const CRD_NAMES = crdDocuments().map((c) => c.metadata!.name!);
const crdPath = (name: string) => `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`;
const GALLERYSHARES_CRD = `galleryshares.${GROUP}`;
const OPERATION_FIELD = '/spec/versions/0/schema/openAPIV3Schema/properties/status/properties/operation';

interface Crd {
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string>; deletionTimestamp?: string };
  spec: { versions: { schema: { openAPIV3Schema: { properties: { status: { properties: Record<string, unknown> } } } } }[] };
}

/**
 * The step the README documents before upgrading from 0.1.0: give each CRD Helm's ownership
 * metadata, naming the release that is to own it.
 */
async function adoptCrds(kubeconfig: string, release: string, namespace: string): Promise<void> {
  for (const name of CRD_NAMES) {
    await kubectl(['label', '--overwrite', 'crd', name, 'app.kubernetes.io/managed-by=Helm'], kubeconfig);
    await kubectl(['annotate', '--overwrite', 'crd', name, `meta.helm.sh/release-name=${release}`, `meta.helm.sh/release-namespace=${namespace}`], kubeconfig);
  }
}

describe('the Helm chart: CRDs on install, upgrade from 0.1.0 and uninstall', function () {
  this.timeout(300_000);
  let helm: string;
  let controlPlane: ControlPlane;
  let kubeconfig: string;
  let admin: KubeClient;
  const helmRun = (args: string[]) => runHelm(helm, args, kubeconfig);
  const crd = (name: string) => admin.get<Crd>(crdPath(name));
  const hasOperationField = async () => (await crd(GALLERYSHARES_CRD)).spec.versions[0]!.schema.openAPIV3Schema.properties.status.properties['operation'] !== undefined;
  const collection = (plural: string) => `/apis/${GROUP}/${VERSION}/namespaces/${NAMESPACE}/${plural}`;
  // A CRD just changed answers 429 ("storage is (re)initializing") for a moment.
  const names = async (plural: string) => {
    let list: { items: { metadata: { name: string } }[] } | undefined;
    await eventually(async () => {
      list = await admin.get(collection(plural));
    }, 30_000);
    return list!.items.map((i) => i.metadata.name);
  };

  before(async function () {
    this.timeout(900_000); // building helm the first time
    helm = await ensureHelm((line) => console.log(`  [helm] ${line}`));
    controlPlane = await startControlPlane({ log: (line) => console.log(`  [chart control plane] ${line}`) });
    kubeconfig = controlPlane.kubeconfigPath;
    admin = new KubeClient(kubeClients(kubeconfig).kc);
  });
  after(async () => {
    admin?.close();
    await controlPlane?.stop();
  });

  it('0.1.0 to this chart: refused until the CRDs carry Helm\'s ownership metadata, then the CRDs are updated and every object kept', async () => {
    await helmRun(['install', RELEASE, CHART_0_1_0, '-n', NAMESPACE, '--create-namespace']);
    for (const name of CRD_NAMES) expect((await crd(name)).metadata.labels?.['app.kubernetes.io/managed-by'], `0.1.0 installed ${name} from crds/, unowned`).to.equal(undefined);
    // An older CRD than the new chart's: without a field the new one has (as 0.1.0's CRDs were
    // for status.operation before it was added).
    await admin.patch(crdPath(GALLERYSHARES_CRD), [{ op: 'remove', path: OPERATION_FIELD }], 'json');
    expect(await hasOperationField()).to.equal(false);
    await admin.create(collection('galleryshares'), galleryShareManifest('golden', 'gallery1'));

    const refused = await helmRun(['upgrade', RELEASE, CHART, '-n', NAMESPACE]).then(() => 'upgraded', (err: Error) => err.message);
    expect(refused).to.include(`UPGRADE FAILED: Unable to continue with update: CustomResourceDefinition "${CRD_NAMES[0]}" in namespace "" exists and cannot be imported into the current release: invalid ownership metadata`);
    expect(refused).to.include('missing key "app.kubernetes.io/managed-by": must be set to "Helm"').and.include(`missing key "meta.helm.sh/release-name": must be set to "${RELEASE}"`);
    expect(await hasOperationField(), 'the refused upgrade changed nothing').to.equal(false);

    await adoptCrds(kubeconfig, RELEASE, NAMESPACE);
    await helmRun(['upgrade', RELEASE, CHART, '-n', NAMESPACE]);
    expect(await hasOperationField(), 'the upgrade brought the new CRD').to.equal(true);
    for (const name of CRD_NAMES) {
      const current = await crd(name);
      expect(current.metadata.annotations, name).to.include({ 'helm.sh/resource-policy': 'keep', 'meta.helm.sh/release-name': RELEASE });
      expect(current.metadata.labels, name).to.include({ 'app.kubernetes.io/managed-by': 'Helm', 'helm.sh/chart': `gallery-share-operator-${(await chartVersion())}` });
    }
    expect(await names('galleryshares')).to.deep.equal(['golden']);
    const manifest = await helmRun(['get', 'manifest', RELEASE, '-n', NAMESPACE]);
    for (const name of CRD_NAMES) expect(manifest, 'the release owns the CRDs now').to.include(`name: ${name}`);

    // Once owned, a later upgrade updates them again by itself.
    await admin.patch(crdPath(GALLERYSHARES_CRD), [{ op: 'remove', path: OPERATION_FIELD }], 'json');
    await helmRun(['upgrade', RELEASE, CHART, '-n', NAMESPACE]);
    expect(await hasOperationField()).to.equal(true);
  });

  it('helm uninstall keeps the CRDs and the objects by default (crds.keep)', async () => {
    const out = await helmRun(['uninstall', RELEASE, '-n', NAMESPACE]);
    expect(out).to.include('These resources were kept due to the resource policy');
    for (const name of CRD_NAMES) expect((await crd(name)).metadata.deletionTimestamp, name).to.equal(undefined);
    expect(await names('galleryshares')).to.deep.equal(['golden']);
  });

  it('crds.keep=false: helm uninstall deletes the CRDs and with them every GalleryShare, TenantGrant and SharedImageVM; one with a finalizer holds them until it is removed', async () => {
    // The kept CRDs still name this release, so a new install of it takes them over; but Helm
    // patches what it takes over only with what the chart sets, so the kept CRDs keep their keep
    // policy until an upgrade (which compares with the release's last manifest) removes it.
    await helmRun(['install', RELEASE, CHART, '-n', NAMESPACE, '--set', 'crds.keep=false']);
    for (const name of CRD_NAMES) expect((await crd(name)).metadata.annotations?.['helm.sh/resource-policy'], name).to.equal('keep');
    await helmRun(['upgrade', RELEASE, CHART, '-n', NAMESPACE, '--set', 'crds.keep=true']);
    await helmRun(['upgrade', RELEASE, CHART, '-n', NAMESPACE, '--set', 'crds.keep=false']);
    for (const name of CRD_NAMES) expect((await crd(name)).metadata.annotations?.['helm.sh/resource-policy'], name).to.equal(undefined);
    await admin.create(collection('tenantgrants'), tenantGrantManifest('grant', 'gallery1', 'targetRG'));
    await admin.create(collection('sharedimagevms'), vmManifest('vm'));
    const held = galleryShareManifest('held', 'gallery2');
    await admin.create(collection('galleryshares'), { ...held, metadata: { ...held.metadata, finalizers: [FINALIZER] } });

    await helmRun(['uninstall', RELEASE, '-n', NAMESPACE]);
    // The API server deletes every object of a deleted CRD; one the operator's finalizer holds
    // (and no operator left to remove it) keeps its CRD Terminating.
    await eventually(async () => {
      expect(await names('galleryshares')).to.deep.equal(['held']);
      expect((await crd(GALLERYSHARES_CRD)).metadata.deletionTimestamp).to.be.a('string');
    });
    for (const name of CRD_NAMES.filter((n) => n !== GALLERYSHARES_CRD)) await eventually(async () => {
      expect(await gone(crdPath(name)), name).to.equal(true);
    });
    await admin.patch(`${collection('galleryshares')}/held`, { metadata: { finalizers: null } }, 'merge');
    await eventually(async () => {
      expect(await gone(crdPath(GALLERYSHARES_CRD))).to.equal(true);
    });

    // Installed again, the kinds hold nothing: the objects went with their CRDs.
    await installCrds(kubeClients(kubeconfig));
    for (const plural of ['galleryshares', 'tenantgrants', 'sharedimagevms']) expect(await names(plural), plural).to.deep.equal([]);
  });

  async function gone(path: string): Promise<boolean> {
    return admin.get(path).then(() => false, (err: unknown) => {
      if (isNotFound(err)) return true;
      throw err;
    });
  }
  async function chartVersion(): Promise<string> {
    return (await helmRun(['show', 'chart', CHART])).match(/^version: (.+)$/m)![1]!;
  }
});

async function eventually(check: () => Promise<void>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
