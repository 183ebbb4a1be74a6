// Least privilege, proven: the operator runs as a ServiceAccount bound to exactly the generated
// RBAC (config/rbac, the same rules the Helm chart renders), reconciles a GalleryShare to Ready,
// records events, elects a leader, and is refused what it does not need.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GROUP, VERSION } from '../../src/api/v1alpha1/index.js';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { start, type RunningEmulator } from '../azure-emulator/index.js';
import { ids, sampleSeed } from '../emulator/helpers.js';
import { createGallery, createOwnerSecret } from '../support/azure-fixtures.js';
import { createTestNamespace, deleteNamespace, kubeClients, kubectl, loadYamlDocuments, repoRoot, serviceAccountKubeconfig, type KubeClients } from '../support/kube.js';
import { startOperator, type OperatorProcess } from '../support/operator-process.js';
import { galleryShareManifest, waitForGalleryShare } from '../support/galleryshares.js';

describe('the generated RBAC suffices, and no more', () => {
  let azure: RunningEmulator;
  let clients: KubeClients;
  let admin: KubeClient;
  let namespace: string;
  let operator: OperatorProcess | undefined;
  let dir: string;
  const suffix = randomBytes(3).toString('hex');

  before(async () => {
    azure = await start({ seed: sampleSeed() });
    clients = kubeClients();
    admin = new KubeClient(clients.kc);
    dir = mkdtempSync(join(tmpdir(), 'gso-rbac-'));
  });
  after(async () => {
    await operator?.stop('SIGKILL');
    await admin.delete(`/apis/rbac.authorization.k8s.io/v1/clusterroles/gso-${suffix}`).catch(() => undefined);
    await admin.delete(`/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/gso-${suffix}`).catch(() => undefined);
    await deleteNamespace(clients, namespace);
    admin.close();
    await azure.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs as a ServiceAccount with only the generated roles, to Ready', async () => {
    namespace = await createTestNamespace(clients, 'rbac');
    const sa = `system:serviceaccount:${namespace}:operator`;
    await clients.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'operator' } } });
    const clusterRole = loadYamlDocuments(join(repoRoot, 'config/rbac/role.yaml'))[0]!;
    const leaderRole = loadYamlDocuments(join(repoRoot, 'config/rbac/leader-election-role.yaml'))[0]!;
    await admin.create('/apis/rbac.authorization.k8s.io/v1/clusterroles', { ...clusterRole, metadata: { name: `gso-${suffix}` } });
    await admin.create('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      metadata: { name: `gso-${suffix}` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `gso-${suffix}` },
      subjects: [{ kind: 'ServiceAccount', name: 'operator', namespace }],
    });
    await admin.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/roles`, { ...leaderRole, metadata: { name: 'leader-election' } });
    await admin.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${namespace}/rolebindings`, {
      metadata: { name: 'leader-election' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'leader-election' },
      subjects: [{ kind: 'ServiceAccount', name: 'operator', namespace }],
    });

    const kubeconfig = await serviceAccountKubeconfig(clients, namespace, 'operator', dir);

    const checks: [string[], 'yes' | 'no'][] = [
      [['get', 'secrets'], 'yes'],
      [['list', 'secrets'], 'no'],
      [['watch', 'secrets'], 'no'],
      [['delete', 'galleryshares.galleryshare.io'], 'no'],
      [['update', 'galleryshares.galleryshare.io'], 'no'],
      [['update', 'galleryshares.galleryshare.io', '--subresource=status'], 'yes'],
      [['create', 'configmaps'], 'no'],
      [['list', 'leases.coordination.k8s.io'], 'no'],
      [['update', 'leases.coordination.k8s.io/gallery-share-operator'], 'yes'],
      [['update', 'leases.coordination.k8s.io/another-controllers-lease'], 'no'],
      [['create', 'leases.coordination.k8s.io'], 'yes'],
    ];
    for (const [args, allowed] of checks) {
      const answer = await kubectl(['auth', 'can-i', ...args, '--as', sa, '-n', namespace]).then((r) => r.stdout.trim(), (e: { stdout?: string }) => (e.stdout ?? '').trim());
      expect(answer, args.join(' ')).to.equal(allowed);
    }

    const galleryName = `g${suffix}`;
    await createGallery(azure, galleryName, 'Groups');
    await createOwnerSecret(clients, namespace);

    operator = await startOperator({
      kubeconfig,
      armEndpoint: azure.armEndpoint,
      caPath: azure.caPath,
      extraArgs: ['--leader-elect', 'true', '--leader-election-namespace', namespace, '--watch-namespaces', namespace],
    });
    await admin.create(
      `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares`,
      galleryShareManifest('golden', galleryName, { permission: 'Groups', directShare: { tenants: [ids.fabrikam] }, roleAssignments: [{ principalId: ids.tester, principalType: 'User', role: 'Reader' }] }),
    );
    const gs = await waitForGalleryShare(admin, namespace, 'golden', undefined, { logs: () => operator!.logs() });
    expect(gs.metadata.finalizers).to.include('galleryshare.io/finalizer');
    const events = await clients.core.listNamespacedEvent({ namespace });
    expect(events.items.map((e) => e.reason)).to.include('Ready');
    expect(operator.logs()).not.to.match(/forbidden/i);
    const lease = await admin.get<{ spec: { holderIdentity: string } }>(`/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/gallery-share-operator`);
    expect(lease.spec.holderIdentity).to.be.a('string').and.not.empty;
  });
});
