// The kustomize tree (config/, kubebuilder's layout), built with the machine's kubectl (its
// embedded kustomize) and checked against the real API server: config/default and config/ build
// to the same objects; the manager runs as the chart's defaults do and the roles are the chart's;
// applied server-side, the API server accepts it next to the CRDs the harness applied; and, under
// an overlay of its own (another namespace, another prefix, watching one namespace), it deploys a
// working operator: the operator process runs as that ServiceAccount with the Deployment's own
// arguments and environment and brings a GalleryShare to Ready. The control plane runs no pods,
// so the test starts the process as the chart test does after helm install.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { GROUP, VERSION } from '../../src/api/v1alpha1/index.js';
import { loadConfig, SETTINGS } from '../../src/config.js';
import { CLUSTER_RULES, DEFAULT_LEASE_NAME, leaderElectionRules } from '../../src/deploy/rbac.js';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { start, type RunningEmulator } from '../azure-emulator/index.js';
import { ids, sampleSeed } from '../emulator/helpers.js';
import { createGallery, createOwnerSecret } from '../support/azure-fixtures.js';
import { galleryShareManifest, waitForGalleryShare } from '../support/galleryshares.js';
import { renderChart as renderHelmChart } from '../support/chart.js';
import { ensureHelm } from '../support/helm.js';
import { createTestNamespace, crdDocuments, deleteNamespace, kubeClients, kubectl, repoRoot, serviceAccountKubeconfig, type KubeClients } from '../support/kube.js';
import { waitUntilGone } from '../support/tenantgrants.js';
import { startOperator, type OperatorProcess } from '../support/operator-process.js';

const execFileAsync = promisify(execFile);
const CONFIG = join(repoRoot, 'config');
const CHART = join(repoRoot, 'charts/gallery-share-operator');

interface EnvVar { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }
interface Container {
  name: string;
  image: string;
  args: string[];
  env: EnvVar[];
  ports: unknown;
  livenessProbe: unknown;
  readinessProbe: unknown;
  resources: unknown;
  securityContext: unknown;
}
interface PodSpec { serviceAccountName: string; securityContext: unknown; terminationGracePeriodSeconds: number; containers: Container[] }
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { replicas?: number; selector?: unknown; template?: { metadata: { labels: Record<string, string> }; spec: PodSpec }; ports?: { name: string }[]; endpoints?: { port: string }[] };
  rules?: unknown;
  roleRef?: { apiGroup: string; kind: string; name: string };
  subjects?: { kind: string; name: string; namespace: string }[];
}

/** `kubectl kustomize <dir>`: the YAML, and its objects. */
async function build(dir: string): Promise<{ yaml: string; objects: K8sObject[] }> {
  const { stdout } = await execFileAsync('kubectl', ['kustomize', dir], { maxBuffer: 64 * 1024 * 1024 });
  return { yaml: stdout, objects: parseAllDocuments(stdout).map((d) => d.toJS() as K8sObject).filter(Boolean) };
}

const one = (objects: K8sObject[], kind: string): K8sObject => {
  const found = objects.filter((o) => o.kind === kind);
  expect(found, kind).to.have.length(1);
  return found[0]!;
};
const podOf = (objects: K8sObject[]): PodSpec => one(objects, 'Deployment').spec!.template!.spec;

/**
 * The container's environment as the kubelet would give it: literal values, and the pod's
 * namespace where the downward API is asked for it. Anything else fails, so that a variable the
 * test cannot give the process is noticed rather than dropped.
 */
function resolveEnv(env: EnvVar[], podNamespace: string): Record<string, string> {
  return Object.fromEntries(env.map((e) => {
    if (e.value !== undefined) return [e.name, e.value];
    if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') return [e.name, podNamespace];
    throw new Error(`${e.name}: a source the test cannot resolve (${JSON.stringify(e.valueFrom)})`);
  }));
}

/** Every built object that lives outside the namespace and is not a CRD: what a test must delete. */
const clusterScopedToDelete = (objects: K8sObject[]) => objects.filter((o) => !o.metadata.namespace && o.kind !== 'CustomResourceDefinition' && o.kind !== 'Namespace');

describe('the kustomize tree (config/)', function () {
  let clients: KubeClients;
  let admin: KubeClient;
  let dir: string;
  let helm: string;
  const applied: K8sObject[][] = [];

  // What an install leaves running: test/support/chart.ts renders without the helm test hook.
  const renderChart = async (): Promise<K8sObject[]> => (await renderHelmChart(helm, { namespace: 'chart-ns' })).objects;

  before(async function () {
    this.timeout(900_000); // building helm the first time
    helm = await ensureHelm((line) => console.log(`  [helm] ${line}`));
    clients = kubeClients();
    admin = new KubeClient(clients.kc);
    dir = mkdtempSync(join(tmpdir(), 'gso-kustomize-'));
  });
  after(async () => {
    // The control plane is shared with the other test files: take away everything applied here
    // but the CRDs (the harness installed the same ones, and the other files use them).
    for (const objects of applied) {
      for (const o of clusterScopedToDelete(objects)) {
        await kubectl(['delete', '--ignore-not-found', '--wait=false', `${o.kind}.${o.apiVersion.split('/')[0]}`, o.metadata.name]).catch(() => undefined);
      }
      for (const ns of objects.filter((o) => o.kind === 'Namespace')) await deleteNamespace(clients, ns.metadata.name);
    }
    admin?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('builds config/default, and config/ to the same objects: one namespace, one prefix, the released image, the generated CRDs', async () => {
    const byDefault = await build(join(CONFIG, 'default'));
    const byTop = await build(CONFIG);
    expect(byTop.yaml, 'config/ builds what config/default builds').to.equal(byDefault.yaml);

    const objects = byDefault.objects;
    expect(objects.map((o) => o.kind).sort()).to.deep.equal(['ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'CustomResourceDefinition', 'CustomResourceDefinition', 'Deployment', 'Namespace', 'Role', 'RoleBinding', 'Service', 'ServiceAccount']);
    const namespace = one(objects, 'Namespace').metadata.name;
    expect(namespace).to.equal('gallery-share-operator-system');
    for (const o of objects.filter((o) => !['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind))) {
      expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).to.equal(namespace);
    }
    for (const o of objects.filter((o) => !['Namespace', 'CustomResourceDefinition'].includes(o.kind))) {
      expect(o.metadata.name, o.kind).to.match(/^gallery-share-operator-/);
    }
    // The CRDs go through untouched: the same as crds/, which the chart and the harness apply.
    const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition');
    expect(crds.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))).to.deep.equal(crdDocuments().sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!)));

    const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as { image: { repository: string } };
    const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as { appVersion: string };
    expect(podOf(objects).containers[0]!.image).to.equal(`${values.image.repository}:${chart.appVersion}`);

    // The metrics Service selects the Deployment's pods, on the port the probes use.
    const labels = one(objects, 'Deployment').spec!.template!.metadata.labels;
    const service = one(objects, 'Service');
    for (const [k, v] of Object.entries((service.spec as { selector: Record<string, string> }).selector)) expect(labels[k], `selector ${k}`).to.equal(v);
    expect(service.spec!.ports!.map((p) => p.name)).to.deep.equal(['metrics']);
    // A Service's name is a DNS label (63 characters at most): room is left for an overlay's prefix.
    expect(service.metadata.name.length, service.metadata.name).to.be.at.most(63 - 20);
  });

  it("runs the manager as the chart's defaults run the operator: the same settings, NODE_OPTIONS, probes, resources and security context", async () => {
    const { objects } = await build(join(CONFIG, 'default'));
    const chartObjects = await renderChart();
    const ours = podOf(objects);
    const theirs = podOf(chartObjects);
    const [container, chartContainer] = [ours.containers[0]!, theirs.containers[0]!];
    const ourNamespace = one(objects, 'Deployment').metadata.namespace!;

    const { NODE_OPTIONS: nodeOptions, ...env } = resolveEnv(container.env, ourNamespace);
    const { NODE_OPTIONS: chartNodeOptions, ...chartEnv } = resolveEnv(chartContainer.env, 'chart-ns');
    expect(nodeOptions).to.equal(chartNodeOptions).and.match(/--max-old-space-size=\d+/);
    // Every variable is a setting (the operator ignores the ones it does not know), at the
    // operator's own default: the manager lists every setting there is to patch.
    const known = new Map(Object.values(SETTINGS).map((s) => [s.env, s.default]));
    expect(Object.keys(env).filter((name) => !known.has(name)), 'variables that are no setting').to.deep.equal([]);
    for (const [name, value] of Object.entries(chartEnv)) expect(env[name], `${name}, as the chart sets it`).to.equal(value);

    const ca = () => {
      throw new Error('no file is read');
    };
    const config = loadConfig(container.args, env, ca);
    const chartConfig = loadConfig(chartContainer.args, chartEnv, ca);
    // The Lease: a fixed name in the pod's own namespace (kustomize rewrites no arguments).
    expect(config.leaderElectionNamespace).to.equal(ourNamespace);
    expect(config.leaderElectionId).to.equal('gallery-share-operator');
    expect({ ...config, leaderElectionId: '', leaderElectionNamespace: '' }).to.deep.equal({ ...chartConfig, leaderElectionId: '', leaderElectionNamespace: '' });

    for (const key of ['ports', 'livenessProbe', 'readinessProbe', 'resources', 'securityContext'] as const) expect(container[key], key).to.deep.equal(chartContainer[key]);
    expect(ours.securityContext).to.deep.equal(theirs.securityContext);
    expect(ours.terminationGracePeriodSeconds, 'the grace period').to.equal(theirs.terminationGracePeriodSeconds);
    expect(one(objects, 'Deployment').spec!.replicas).to.equal(one(chartObjects, 'Deployment').spec!.replicas);
  });

  it("grants the chart's roles (src/deploy/rbac.ts, one source) to the Deployment's ServiceAccount", async () => {
    const { objects } = await build(join(CONFIG, 'default'));
    const chartObjects = await renderChart();
    expect(one(objects, 'ClusterRole').rules).to.deep.equal(one(chartObjects, 'ClusterRole').rules).and.deep.equal(CLUSTER_RULES);
    // The same leader-election rules, each for the Lease its Deployment names (kustomize's is fixed,
    // since kustomize rewrites no arguments; the chart's is the release's full name).
    expect(one(objects, 'Role').rules).to.deep.equal(leaderElectionRules(DEFAULT_LEASE_NAME));
    const chartLease = one(chartObjects, 'Deployment').spec!.template!.spec.containers[0]!.args.find((a: string) => a.startsWith('--leader-election-id='))!.split('=')[1]!;
    expect(one(chartObjects, 'Role').rules).to.deep.equal(leaderElectionRules(chartLease));
    expect(one(objects, 'Deployment').spec!.template!.spec.containers[0]!.args).to.include(`--leader-election-id=${DEFAULT_LEASE_NAME}`);

    const deployment = one(objects, 'Deployment');
    const serviceAccount = one(objects, 'ServiceAccount');
    const subject = { kind: 'ServiceAccount', name: deployment.spec!.template!.spec.serviceAccountName, namespace: deployment.metadata.namespace };
    expect(serviceAccount.metadata).to.include({ name: subject.name, namespace: subject.namespace });
    const clusterBinding = one(objects, 'ClusterRoleBinding');
    expect(clusterBinding.roleRef).to.deep.equal({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: one(objects, 'ClusterRole').metadata.name });
    expect(clusterBinding.subjects).to.deep.equal([subject]);
    const binding = one(objects, 'RoleBinding');
    expect(binding.metadata.namespace).to.equal(deployment.metadata.namespace);
    expect(binding.roleRef).to.deep.equal({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: one(objects, 'Role').metadata.name });
    expect(binding.subjects).to.deep.equal([subject]);
  });

  it('adds a ServiceMonitor for the metrics Service when ../prometheus is uncommented in config/default', async () => {
    const copy = join(dir, 'config');
    cpSync(CONFIG, copy, { recursive: true });
    const file = join(copy, 'default', 'kustomization.yaml');
    const text = readFileSync(file, 'utf8');
    expect(text).to.include('#- ../prometheus');
    writeFileSync(file, text.replace('#- ../prometheus', '- ../prometheus'));
    const { objects } = await build(join(copy, 'default'));
    const monitor = one(objects, 'ServiceMonitor');
    const service = one(objects, 'Service');
    expect(monitor.metadata.namespace).to.equal(service.metadata.namespace);
    expect(monitor.metadata.name).to.match(/^gallery-share-operator-/);
    const selector = (monitor.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
    for (const [k, v] of Object.entries(selector)) expect(service.metadata.labels?.[k], `the Service's label ${k}`).to.equal(v);
    const portNames = service.spec!.ports!.map((p) => p.name);
    for (const endpoint of monitor.spec!.endpoints!) expect(portNames).to.include(endpoint.port);
  });

  it("is accepted by the API server, applied server-side, next to the harness's own apply of the same CRDs", async () => {
    const { objects } = await build(CONFIG);
    applied.push(objects);
    // No --force-conflicts: the CRDs carry the very values the harness applied (field manager
    // gallery-share-tests), and server-side apply shares fields set to equal values.
    const result = await kubectl(['apply', '--server-side', '-k', CONFIG]);
    expect(result.stdout.trim().split('\n'), result.stdout).to.have.length(objects.length);
    for (const crd of objects.filter((o) => o.kind === 'CustomResourceDefinition')) {
      const current = await admin.get<{ metadata: { managedFields: { manager: string; operation: string }[] } }>(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`);
      const appliers = current.metadata.managedFields.filter((f) => f.operation === 'Apply').map((f) => f.manager).sort();
      expect(appliers, crd.metadata.name).to.include.members(['gallery-share-tests', 'kubectl']);
    }
    const deployment = one(objects, 'Deployment');
    const stored = await admin.get<{ spec: { template: { spec: PodSpec } } }>(`/apis/apps/v1/namespaces/${deployment.metadata.namespace}/deployments/${deployment.metadata.name}`);
    expect(stored.spec.template.spec.containers[0]!.env).to.deep.include({ name: 'LEADER_ELECTION_NAMESPACE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } });
    // Applied again, nothing changes and nothing conflicts.
    const again = await kubectl(['apply', '--server-side', '-k', CONFIG]);
    expect(again.stdout).not.to.match(/configured|created/);
  });

  describe('deploys a working operator', () => {
    let azure: RunningEmulator;
    let operator: OperatorProcess | undefined;
    before(async () => {
      azure = await start({ seed: sampleSeed() });
    });
    after(async () => {
      await operator?.stop('SIGKILL');
      await azure?.stop();
    });

    it("under an overlay's namespace and prefix, as its ServiceAccount with the Deployment's own arguments and environment, to Ready", async () => {
      // A user's overlay: another namespace and prefix, and one watched namespace (the shared
      // control plane holds other test files' objects, which this operator must leave alone).
      const watched = await createTestNamespace(clients, 'kustomize');
      const released = (parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as { image: { repository: string } }).image;
      const suffix = randomBytes(3).toString('hex');
      const overlay = join(dir, 'overlay');
      const namespace = `kustomize-op-${suffix}`;
      mkdirSync(overlay, { recursive: true });
      writeFileSync(join(overlay, 'kustomization.yaml'), stringify({
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        namespace,
        namePrefix: `t${suffix}-`,
        resources: [relative(overlay, join(CONFIG, 'default'))], // kustomize takes relative paths only
        // A mirror of the image, named as config/default leaves it.
        images: [{ name: released.repository, newName: 'registry.example.com/mirror/gallery-share-operator', newTag: 'pinned' }],
        patches: [{
          patch: stringify({
            apiVersion: 'apps/v1', kind: 'Deployment',
            metadata: { name: 'gallery-share-operator-controller-manager', namespace: 'gallery-share-operator-system' },
            spec: { template: { spec: { containers: [{ name: 'manager', env: [{ name: 'WATCH_NAMESPACES', value: watched }] }] } } },
          }),
        }],
      }));
      const { objects } = await build(overlay);
      applied.push(objects);
      await kubectl(['apply', '--server-side', '-k', overlay]);
      applied.push([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: watched } }]);

      const deployment = one(objects, 'Deployment');
      expect(deployment.metadata).to.include({ name: `t${suffix}-gallery-share-operator-controller-manager`, namespace });
      const pod = deployment.spec!.template!.spec;
      const container = pod.containers[0]!;
      expect(container.image).to.equal('registry.example.com/mirror/gallery-share-operator:pinned');
      const { NODE_OPTIONS: nodeOptions, ...env } = resolveEnv(container.env, namespace);
      expect(env.WATCH_NAMESPACES).to.equal(watched);

      // The Deployment's own settings; only the addresses of Azure (the emulator, given as flags,
      // which win over the variables) and of the metrics port differ.
      const kubeconfig = await serviceAccountKubeconfig(clients, namespace, pod.serviceAccountName, dir);
      operator = await startOperator({
        kubeconfig,
        armEndpoint: azure.armEndpoint,
        caPath: azure.caPath,
        extraArgs: container.args.filter((a) => !a.startsWith('--metrics-bind-address')),
        env,
        nodeOptions: nodeOptions!,
      });

      const galleryName = `gk${suffix}`;
      await createGallery(azure, galleryName, 'Groups');
      await createOwnerSecret(clients, watched);
      await admin.create(`/apis/${GROUP}/${VERSION}/namespaces/${watched}/galleryshares`, galleryShareManifest('golden', galleryName, { permission: 'Groups', directShare: { tenants: [ids.fabrikam] } }));
      await waitForGalleryShare(admin, watched, 'golden', undefined, { logs: () => operator!.logs() });
      expect(operator.logs()).not.to.match(/forbidden/i);
      // The Lease is where the overlay put the operator, by the downward API, under its fixed name.
      const lease = await admin.get<{ spec: { holderIdentity: string } }>(`/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/gallery-share-operator`);
      expect(lease.spec.holderIdentity, 'the leader-election Lease').to.be.a('string').and.not.empty;

      // Deleted while the operator runs, it lets go (its finalizer), so the namespace can go too.
      const path = `/apis/${GROUP}/${VERSION}/namespaces/${watched}/galleryshares/golden`;
      await admin.delete(path);
      await waitUntilGone(admin, path, 30_000, () => operator!.logs());
    });
  });
});
