// `gallery-share-operator check`, what the chart's `helm test` hook runs with the operator's own
// image, as a process against the real API server (the test control plane runs no pods, so the
// hook Pod itself never runs: its ServiceAccount's RBAC is applied for real and the check runs
// with that ServiceAccount's token and the Pod's own arguments). It passes with the CRDs served
// and a live operator, and fails naming what is missing: a CRD not served or out of date, no
// leader Lease, a leader that stopped renewing, a /readyz that does not answer.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { crdName, GalleryShareKind, SharedImageVMKind, VERSION } from '../../src/api/v1alpha1/index.js';
import { CONTROLLERS } from '../../src/controllers/index.js';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { bundleOperator } from '../../scripts/bundle.js';
import { start, type RunningEmulator } from '../azure-emulator/index.js';
import { sampleSeed } from '../emulator/helpers.js';
import { freePort } from '../support/control-plane.js';
import { ensureHelm } from '../support/helm.js';
import { createTestNamespace, deleteNamespace, kubeClients, kubectl, repoRoot, serviceAccountKubeconfig, testKubeconfigPath, type KubeClients } from '../support/kube.js';
import { isLeader, startOperator, type OperatorProcess } from '../support/operator-process.js';
import { KUBERNETES_VERSION } from '../support/versions.js';

const execFileAsync = promisify(execFile);
const CHART = join(repoRoot, 'charts/gallery-share-operator');
const HOOK = 'templates/tests/test-operator.yaml';
const LEASE_TIMINGS = ['--leader-election-lease-duration', '3s', '--leader-election-renew-deadline', '2s', '--leader-election-retry-period', '500ms'];

interface K8sObject {
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  [key: string]: unknown;
}

describe('the check mode (helm test hook)', function () {
  let bundle: string;
  let helm: string;
  let clients: KubeClients;
  let client: KubeClient;
  let azure: RunningEmulator;
  let namespace: string;
  let dir: string;
  let operator: OperatorProcess | undefined;

  /** Runs `node dist/main.js check ...` as the hook Pod would: its exit code and output. */
  function check(args: string[], kubeconfig = testKubeconfigPath()): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [bundle, 'check', '--kubeconfig', kubeconfig, ...args], { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
  }
  const summary = (stdout: string) => {
    const lines = stdout.trim().split('\n');
    expect(lines, 'exactly one line on stdout').to.have.length(1);
    return JSON.parse(lines[0]!) as { check: string; problems?: string[]; crds?: string[]; operator?: Record<string, string> };
  };
  const leaderOperator = (id: string) =>
    startOperator({
      kubeconfig: testKubeconfigPath(),
      armEndpoint: azure.armEndpoint,
      caPath: azure.caPath,
      extraArgs: ['--watch-namespaces', namespace, '--leader-election-namespace', namespace, '--leader-election-id', id, ...LEASE_TIMINGS],
    });
  async function untilLeader(op: OperatorProcess): Promise<void> {
    for (let i = 0; i < 200 && !(await isLeader(op)); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await isLeader(op), 'the operator leads').to.equal(true);
  }

  before(async function () {
    this.timeout(900_000); // helm is built from Go modules on first use
    helm = await ensureHelm((line) => console.log(`  [helm] ${line}`));
    bundle = await bundleOperator();
    clients = kubeClients();
    client = new KubeClient(clients.kc);
    azure = await start({ seed: sampleSeed() });
    dir = mkdtempSync(join(tmpdir(), 'gso-check-'));
  });
  after(async () => {
    client?.close();
    await azure?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    namespace = await createTestNamespace(clients, 'check');
  });
  afterEach(async () => {
    await operator?.stop('SIGKILL');
    operator = undefined;
    await deleteNamespace(clients, namespace);
  });

  it('passes with the CRDs served and a leader renewing its Lease; fails naming the Lease when no operator runs or its leader stopped renewing', async () => {
    const absent = await check(['--leader-election-namespace', namespace, '--leader-election-id', 'gso', '--timeout', '0']);
    expect(absent.code, absent.stderr).to.equal(1);
    expect(absent.stderr).to.include(`the leader Lease ${namespace}/gso does not exist`);
    expect(summary(absent.stdout)).to.deep.include({ check: 'failed' });

    operator = await leaderOperator('gso');
    await untilLeader(operator);
    const passed = await check(['--leader-election-namespace', namespace, '--leader-election-id', 'gso', '--timeout', '0']);
    expect(passed.code, passed.stderr).to.equal(0);
    expect(passed.stderr).to.equal('');
    const result = summary(passed.stdout);
    expect(result.check).to.equal('passed');
    expect(result.crds).to.deep.equal(CONTROLLERS.map((c) => crdName(c.kind)));
    expect(result.operator?.lease).to.equal(`${namespace}/gso`);
    expect(result.operator?.leader).to.be.a('string').and.not.empty;

    // A killed leader leaves its Lease held, but nobody renews it any more.
    await operator.stop('SIGKILL');
    operator = undefined;
    const stale = await check(['--leader-election-namespace', namespace, '--leader-election-id', 'gso', '--timeout', '0']);
    expect(stale.code, stale.stderr).to.equal(1);
    expect(stale.stderr).to.match(new RegExp(`the leader Lease ${namespace}/gso is held by \\S+ but was not renewed within its 3s`));
  });

  it('without leader election, asks /readyz: passes on 200, fails naming the URL when nothing answers, and needs the URL', async () => {
    operator = await startOperator({ kubeconfig: testKubeconfigPath(), armEndpoint: azure.armEndpoint, caPath: azure.caPath, extraArgs: ['--watch-namespaces', namespace, '--leader-elect', 'false'] });
    const readyz = operator.metricsUrl.replace(/\/metrics$/, '/readyz');
    const passed = await check(['--leader-elect=false', `--readyz-url=${readyz}`, '--timeout=0']);
    expect(passed.code, passed.stderr).to.equal(0);
    expect(summary(passed.stdout).operator).to.deep.equal({ readyz });

    const nowhere = `http://127.0.0.1:${await freePort()}/readyz`;
    const failed = await check(['--leader-elect=false', `--readyz-url=${nowhere}`, '--timeout=0']);
    expect(failed.code).to.equal(1);
    expect(failed.stderr).to.include(`the operator is not ready: ${nowhere} did not answer`);

    const noUrl = await check(['--leader-elect=false']);
    expect(noUrl.code).to.equal(2);
    expect(noUrl.stderr).to.include('give --readyz-url');
  });

  describe('with a CRD that cannot serve the operator', () => {
    let readyz: Server;
    let readyzUrl: string;
    before(async () => {
      readyz = createServer((_req, res) => res.writeHead(200).end('ok'));
      await new Promise<void>((resolve) => readyz.listen(0, '127.0.0.1', resolve));
      readyzUrl = `http://127.0.0.1:${(readyz.address() as { port: number }).port}/readyz`;
    });
    after(() => readyz.close());

    it('fails naming a CRD whose version is not served', async () => {
      const path = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdName(SharedImageVMKind)}`;
      await client.patch(path, [{ op: 'replace', path: '/spec/versions/0/served', value: false }], 'json');
      try {
        const failed = await check(['--leader-elect=false', `--readyz-url=${readyzUrl}`, '--timeout=0']);
        expect(failed.code, failed.stdout).to.equal(1);
        expect(failed.stderr).to.include(`${crdName(SharedImageVMKind)} does not serve ${VERSION}`);
        expect(summary(failed.stdout).problems).to.deep.equal([`${crdName(SharedImageVMKind)} does not serve ${VERSION}`]);
      } finally {
        await client.patch(path, [{ op: 'replace', path: '/spec/versions/0/served', value: true }], 'json');
      }
      // Served again: the check passes (and so waits for discovery to list it again).
      const passed = await check(['--leader-elect=false', `--readyz-url=${readyzUrl}`, '--timeout=30s']);
      expect(passed.code, passed.stderr).to.equal(0);
    });

    it('fails naming a CRD that lacks a status field this operator writes', async () => {
      const path = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdName(GalleryShareKind)}`;
      const field = '/spec/versions/0/schema/openAPIV3Schema/properties/status/properties/operation';
      const crd = await client.get<{ spec: { versions: { schema: { openAPIV3Schema: { properties: { status: { properties: Record<string, unknown> } } } } }[] } }>(path);
      const saved = crd.spec.versions[0]!.schema.openAPIV3Schema.properties.status.properties['operation'];
      await client.patch(path, [{ op: 'remove', path: field }], 'json');
      try {
        const failed = await check(['--leader-elect=false', `--readyz-url=${readyzUrl}`, '--timeout=0']);
        expect(failed.code).to.equal(1);
        expect(failed.stderr).to.include(`CRD out of date for this operator: ${crdName(GalleryShareKind)} (${VERSION}) lacks status.operation`);
      } finally {
        await client.patch(path, [{ op: 'add', path: field, value: saved }], 'json');
      }
    });
  });

  describe('the chart hook', () => {
    const helmRun = async (args: string[]) => (await execFileAsync(helm, ['--kubeconfig', testKubeconfigPath(), ...args], { timeout: 120_000 })).stdout;
    const renderHook = async (release: string, sets: string[] = []) => {
      const yaml = await helmRun(['template', release, CHART, '-n', namespace, '--kube-version', KUBERNETES_VERSION, '--show-only', HOOK, ...sets.flatMap((s) => ['--set', s])]);
      return { yaml, objects: parseAllDocuments(yaml).map((d) => d.toJS() as K8sObject).filter(Boolean) };
    };
    const podOf = (objects: K8sObject[]) => objects.find((o) => o.kind === 'Pod') as K8sObject & { spec: { serviceAccountName: string; restartPolicy: string; containers: { image: string; args: string[] }[] } };

    it('is a test hook with the operator image, passes a server-side dry run, and its ServiceAccount may do what the check needs', async () => {
      const release = `gso-${randomBytes(3).toString('hex')}`;
      const { yaml, objects } = await renderHook(release);
      expect(objects.map((o) => o.kind)).to.deep.equal(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Pod']);
      for (const o of objects) {
        expect(o.metadata.annotations?.['helm.sh/hook'], `${o.kind} is a test hook`).to.equal('test');
        expect(o.metadata.annotations?.['helm.sh/hook-delete-policy']).to.equal('before-hook-creation,hook-succeeded');
      }
      const pod = podOf(objects);
      expect(pod.spec.restartPolicy).to.equal('Never');
      const deployment = parseAllDocuments(await helmRun(['template', release, CHART, '-n', namespace, '--kube-version', KUBERNETES_VERSION])).map((d) => d.toJS() as K8sObject).find((o) => o?.kind === 'Deployment') as unknown as { spec: { template: { spec: { containers: { image: string }[] } } } };
      expect(pod.spec.containers[0]!.image, "the operator's own image").to.equal(deployment.spec.template.spec.containers[0]!.image);
      expect(pod.spec.containers[0]!.args).to.deep.equal(['check', '--timeout=60s', `--leader-election-namespace=${namespace}`, `--leader-election-id=${release}`]);
      const clusterRole = objects.find((o) => o.kind === 'ClusterRole') as unknown as { rules: { resourceNames: string[] }[] };
      expect(clusterRole.rules[0]!.resourceNames, 'the CRDs the check reads').to.have.members(CONTROLLERS.map((c) => crdName(c.kind)));

      // The hook's ServiceAccount and RBAC for real, as helm creates them before the Pod (weight
      // -1; the Pod's admission needs its ServiceAccount), then the Pod in a server-side dry run
      // (no pods run here). Then the check as that ServiceAccount with the Pod's own arguments,
      // against an operator leading on the Lease the chart names (the release name).
      const rbacFile = join(dir, `${release}-rbac.yaml`);
      writeFileSync(rbacFile, yaml.split(/^---$/m).filter((doc) => !/^kind: Pod$/m.test(doc)).join('---'));
      const file = join(dir, `${release}-hook.yaml`);
      writeFileSync(file, yaml);
      await kubectl(['apply', '-n', namespace, '-f', rbacFile]);
      try {
        const dryRun = await kubectl(['apply', '--dry-run=server', '-n', namespace, '-f', file]);
        expect(dryRun.stdout).to.include(`pod/${release}-test created (server dry run)`);

        operator = await leaderOperator(release);
        await untilLeader(operator);
        const kubeconfig = await serviceAccountKubeconfig(clients, namespace, pod.spec.serviceAccountName, dir);
        const result = await check(pod.spec.containers[0]!.args.slice(1), kubeconfig);
        expect(result.code, result.stderr).to.equal(0);
        expect(summary(result.stdout).operator?.lease).to.equal(`${namespace}/${release}`);
      } finally {
        await kubectl(['delete', '--ignore-not-found', '-n', namespace, '-f', rbacFile]);
      }
    });

    it('asks the metrics Service\'s /readyz without leader election, and renders nothing with test.enabled=false', async () => {
      const release = `gso-${randomBytes(3).toString('hex')}`;
      const { objects } = await renderHook(release, ['operator.leaderElection=false', 'replicas=1']);
      expect(objects.map((o) => o.kind)).to.deep.equal(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Pod']);
      expect(podOf(objects).spec.containers[0]!.args).to.deep.equal(['check', '--timeout=60s', '--leader-elect=false', `--readyz-url=http://${release}-metrics.${namespace}.svc:8080/readyz`]);
      const disabled = await helmRun(['template', release, CHART, '-n', namespace, '--kube-version', KUBERNETES_VERSION, '--show-only', HOOK, '--set', 'test.enabled=false']).catch((err: Error) => err.message);
      expect(disabled).to.match(/could not find template/);
    });
  });
});
