// The Helm chart, checked with a real helm (built from Go modules) against the real API server:
// it lints; what it renders, with the defaults and with every option, is accepted by the API
// server (server-side dry run) and carries settings the operator itself accepts; and once
// installed with `helm install`, the operator runs as the chart's ServiceAccount with the
// Deployment's own arguments, environment and NODE_OPTIONS, and brings a GalleryShare to Ready.
// The rendering rules of each option are in chart-rendering.test.ts; the CRDs' life cycle
// (install, the upgrade from 0.1.0, uninstall) in chart-upgrade.test.ts.
import { expect } from 'chai';
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GROUP, VERSION } from '../../src/api/v1alpha1/index.js';
import { loadConfig, SETTINGS } from '../../src/config.js';
import { leaderElectionRules } from '../../src/deploy/rbac.js';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { start, type RunningEmulator } from '../azure-emulator/index.js';
import { ids, sampleSeed } from '../emulator/helpers.js';
import { createGallery, createOwnerSecret } from '../support/azure-fixtures.js';
import { renderChart } from '../support/chart.js';
import { ensureHelm } from '../support/helm.js';
import { createTestNamespace, deleteNamespace, kubeClients, kubectl, loadYamlDocuments, repoRoot, serviceAccountKubeconfig, testKubeconfigPath, type KubeClients } from '../support/kube.js';
import { startOperator, type OperatorProcess } from '../support/operator-process.js';
import { KUBERNETES_VERSION } from '../support/versions.js';
import { galleryShareManifest, waitForGalleryShare } from '../support/galleryshares.js';

const execFileAsync = promisify(execFile);
const CHART = join(repoRoot, 'charts/gallery-share-operator');

interface K8sObject {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}
interface Container {
  args: string[];
  env: { name: string; value: string }[];
  envFrom?: { secretRef: { name: string } }[];
  volumeMounts?: { name: string; mountPath: string }[];
}
interface DeploymentSpec {
  template: { metadata: { labels: Record<string, string> }; spec: { serviceAccountName: string; containers: Container[]; volumes?: { name: string; configMap: { name: string } }[] } };
}

describe('the Helm chart', function () {
  let helm: string;
  let clients: KubeClients;
  let admin: KubeClient;
  let dir: string;
  const namespaces: string[] = [];

  const helmRun = async (args: string[]) => (await execFileAsync(helm, ['--kubeconfig', testKubeconfigPath(), ...args], { timeout: 120_000 })).stdout;
  // Without the `helm test` hook: test/integration/check-mode.test.ts covers it.
  const render = (release: string, namespace: string, sets: string[] = []) => renderChart(helm, { release, namespace, sets });
  const deploymentOf = (objects: K8sObject[]) => (objects.find((o) => o.kind === 'Deployment')!.spec as DeploymentSpec).template;
  const envOf = (c: Container) => Object.fromEntries(c.env.map((e) => [e.name, e.value]));

  before(async function () {
    this.timeout(900_000); // building helm the first time
    helm = await ensureHelm((line) => console.log(`  [helm] ${line}`));
    clients = kubeClients();
    admin = new KubeClient(clients.kc);
    dir = mkdtempSync(join(tmpdir(), 'gso-chart-'));
  });
  after(async () => {
    for (const ns of namespaces) await deleteNamespace(clients, ns);
    admin?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('passes helm lint', async () => {
    const out = await helmRun(['lint', CHART, '--kube-version', KUBERNETES_VERSION]);
    expect(out).to.include('0 chart(s) failed');
  });

  it('renders, with the defaults and with every option, what the API server accepts and the operator understands', async () => {
    const namespace = await createTestNamespace(clients, 'chart');
    // Watched namespaces get a Role each, so they must exist for the dry run.
    const [teamA, teamB] = [await createTestNamespace(clients, 'team-a'), await createTestNamespace(clients, 'team-b')];
    namespaces.push(namespace, teamA, teamB);
    const variants: [string, string[]][] = [
      ['defaults', []],
      ['every option', [
        'azure.caConfigMap=azure-ca',
        'azure.credentialsSecret=operator-identity',
        'azure.useWorkloadIdentity=true',
        'serviceAccount.annotations.azure\\.workload\\.identity/client-id=05de60fa-0000-4000-8000-000000000001',
        `operator.watchNamespaces={${teamA},${teamB}}`,
        'operator.workers=4',
        'policy.allowCommunitySharing=true',
        `policy.allowedShareTenants=${ids.fabrikam}`,
        'policy.allowedGrantTargetRoles=Contributor\\,Owner',
        'policy.requireObjectCredentials=true',
        'tenantGrants.consentRecheckInitial=10s',
        'nodeOptions=',
      ]],
    ];
    for (const [what, sets] of variants) {
      const { yaml, objects } = await render('gso', namespace, sets);
      const namespacedRbac = what === 'defaults' ? [] : ['Role', 'Role', 'RoleBinding', 'RoleBinding'];
      expect(objects.map((o) => o.kind).sort(), what).to.deep.equal(
        ['ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'CustomResourceDefinition', 'CustomResourceDefinition', 'Deployment', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Service', 'ServiceAccount', ...namespacedRbac].sort(),
      );
      const file = join(dir, `${what.replace(/ /g, '-')}.yaml`);
      writeFileSync(file, yaml);
      // Every object names its namespace (the watched namespaces' Roles are elsewhere).
      const applied = await kubectl(['apply', '--dry-run=server', '-f', file]);
      expect(applied.stdout.trim().split('\n'), what).to.have.length(objects.length);

      // Every argument and variable is a setting the operator accepts.
      const pod = deploymentOf(objects);
      const container = pod.spec.containers[0]!;
      const env = envOf(container);
      const { NODE_OPTIONS: nodeOptions, ...settings } = env;
      // The operator ignores variables it does not know, so a misspelt one would pass unnoticed.
      const known = new Set(Object.values(SETTINGS).map((s) => s.env));
      expect(Object.keys(settings).filter((name) => !known.has(name)), `${what}: variables that are no setting`).to.deep.equal([]);
      const config = loadConfig(container.args, settings, (path) => {
        if (path === '/etc/gallery-share-operator/ca/ca.crt') return '-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n';
        throw new Error(`ENOENT: ${path}`);
      });
      expect(config.leaderElectionNamespace, what).to.equal(namespace);
      // Node refuses options that NODE_OPTIONS may not carry, so start node with them.
      if (nodeOptions !== undefined) {
        const node = spawnSync(process.execPath, ['-e', '0'], { env: { PATH: process.env.PATH, NODE_OPTIONS: nodeOptions }, encoding: 'utf8' });
        expect(node.status, `NODE_OPTIONS="${nodeOptions}": ${node.stderr}`).to.equal(0);
      }

      if (what === 'defaults') {
        expect(nodeOptions).to.match(/--max-old-space-size=\d+/);
        expect(config.watchNamespaces).to.deep.equal([]);
        expect(config.policy.allowCommunitySharing).to.equal(false);
        expect(config.policy.requireObjectCredentials).to.equal(false);
        expect([...config.policy.allowedGrantSourceRoles!]).to.have.length(2);
        expect(config.consentRecheck).to.deep.equal({ initialMs: 30_000, maxMs: 300_000 });
        expect(container.envFrom).to.equal(undefined);
        expect(pod.spec.volumes).to.equal(undefined);
      } else {
        expect(nodeOptions, 'an empty nodeOptions leaves NODE_OPTIONS out').to.equal(undefined);
        expect(config.azureCaFile).to.equal('/etc/gallery-share-operator/ca/ca.crt');
        expect(pod.spec.volumes).to.deep.equal([{ name: 'azure-ca', configMap: { name: 'azure-ca' } }]);
        expect(container.volumeMounts?.[0]?.mountPath).to.equal('/etc/gallery-share-operator/ca');
        expect(container.envFrom).to.deep.equal([{ secretRef: { name: 'operator-identity' } }]);
        expect(pod.metadata.labels['azure.workload.identity/use']).to.equal('true');
        const sa = objects.find((o) => o.kind === 'ServiceAccount')!;
        expect((sa.metadata as { annotations?: Record<string, string> }).annotations).to.deep.equal({ 'azure.workload.identity/client-id': '05de60fa-0000-4000-8000-000000000001' });
        expect(config.watchNamespaces).to.deep.equal([teamA, teamB]);
        expect(config.workers).to.equal(4);
        expect(config.policy.allowCommunitySharing).to.equal(true);
        expect(config.policy.requireObjectCredentials).to.equal(true);
        expect(config.policy.allowedGrantTargetRoles?.size).to.equal(2);
        expect(config.consentRecheck.initialMs).to.equal(10_000);
      }

      // The chart's RBAC is the generated RBAC (src/deploy/rbac.ts), the same as config/rbac:
      // cluster-wide, or with watched namespaces split between a Role in each and the ClusterRole.
      const rulesOf = (kind: string, name: (n: string) => boolean = () => true) => objects.filter((o) => o.kind === kind && name(o.metadata.name)).map((o) => o['rules'] as unknown[]);
      const configRules = loadYamlDocuments(join(repoRoot, 'config/rbac/role.yaml'))[0]!['rules'] as unknown[];
      const [clusterRules] = rulesOf('ClusterRole');
      if (what === 'defaults') expect(clusterRules).to.deep.equal(configRules);
      for (const roleRules of rulesOf('Role', (n) => !n.endsWith('-leader-election'))) expect([...roleRules, ...clusterRules!]).to.have.deep.members(configRules);
      // Leader election: its own Lease only, the one the Deployment names.
      expect(rulesOf('Role', (n) => n.endsWith('-leader-election'))).to.deep.equal([leaderElectionRules(config.leaderElectionId)]);
    }
  });

  describe('installed with helm install', () => {
    let azure: RunningEmulator;
    let operator: OperatorProcess | undefined;
    let release: string;
    let namespace: string;
    before(async () => {
      azure = await start({ seed: sampleSeed() });
    });
    after(async () => {
      await operator?.stop('SIGKILL');
      if (release) await helmRun(['uninstall', release, '-n', namespace]).catch(() => undefined);
      await azure?.stop();
    });

    it('runs the operator as its ServiceAccount with its arguments, environment and NODE_OPTIONS, to Ready', async () => {
      namespace = await createTestNamespace(clients, 'helm');
      namespaces.push(namespace);
      release = `gso-${randomBytes(3).toString('hex')}`;
      // With its watched namespace, the operator runs with the namespaced Role (and a ClusterRole
      // that reads its CRDs only). The harness installed the CRDs already, without Helm's ownership
      // metadata, so this release leaves them alone (chart-upgrade.test.ts installs them by Helm).
      const sets = [`operator.watchNamespaces={${namespace}}`, 'crds.enabled=false'];
      await helmRun(['install', release, CHART, '-n', namespace, ...sets.flatMap((s) => ['--set', s])]);
      const { objects } = await render(release, namespace, sets);
      const pod = deploymentOf(objects);
      const container = pod.spec.containers[0]!;
      const { NODE_OPTIONS: nodeOptions, ...env } = envOf(container);

      // The Deployment's own settings; only the addresses of Azure (the emulator, given as
      // flags, which win over the chart's variables) and of the metrics port differ.
      const kubeconfig = await serviceAccountKubeconfig(clients, namespace, pod.spec.serviceAccountName, dir);
      operator = await startOperator({
        kubeconfig,
        armEndpoint: azure.armEndpoint,
        caPath: azure.caPath,
        extraArgs: container.args.filter((a) => !a.startsWith('--metrics-bind-address')),
        env,
        ...(nodeOptions !== undefined ? { nodeOptions } : {}),
      });

      const galleryName = `g${release.replace(/-/g, '')}`;
      await createGallery(azure, galleryName, 'Groups');
      await createOwnerSecret(clients, namespace);
      await admin.create(`/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares`, galleryShareManifest('golden', galleryName, { permission: 'Groups', directShare: { tenants: [ids.fabrikam] } }));
      await waitForGalleryShare(admin, namespace, 'golden', undefined, { logs: () => operator!.logs() });
      expect(operator.logs()).not.to.match(/forbidden/i);
      const lease = await admin.get<{ spec: { holderIdentity: string } }>(`/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${release}`);
      expect(lease.spec.holderIdentity, 'the leader-election Lease the chart names').to.be.a('string').and.not.empty;
    });
  });
});
