// galleryshare_objects from real operator processes: with leader election, the leader exports
// the count of its objects by kind and state, matching what the objects' conditions say; the
// standby exports no series; when the standby takes over, it exports the same counts.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { GROUP, VERSION } from '../../src/api/v1alpha1/index.js';
import { countObjectStates, objectState, type StatusBearing } from '../../src/runtime/kstatus.js';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { start, type RunningEmulator } from '../azure-emulator/index.js';
import { sampleSeed } from '../emulator/helpers.js';
import { createGallery, createOwnerSecret } from '../support/azure-fixtures.js';
import { galleryShareManifest } from '../support/galleryshares.js';
import { createTestNamespace, deleteNamespace, kubeClients, testKubeconfigPath, type KubeClients } from '../support/kube.js';
import { isLeader, startOperator, type OperatorProcess } from '../support/operator-process.js';
import { tenantGrantManifest } from '../support/tenantgrants.js';
import { vmManifest } from '../support/sharedimagevms.js';

type Counts = Record<string, number>;

/** The samples of galleryshare_objects on an operator's /metrics, as "Kind/state": value. */
async function scrapeObjects(operator: OperatorProcess): Promise<Counts> {
  const text = await fetch(operator.metricsUrl).then((r) => r.text());
  const samples: Counts = {};
  for (const m of text.matchAll(/^galleryshare_objects\{kind="([^"]+)",state="([^"]+)"\} (\S+)$/gm)) samples[`${m[1]}/${m[2]}`] = Number(m[3]);
  return samples;
}

describe('galleryshare_objects (leader only)', function () {
  let azure: RunningEmulator;
  let clients: KubeClients;
  let client: KubeClient;
  let namespace: string;
  const operators: OperatorProcess[] = [];
  const kinds = ['GalleryShare', 'TenantGrant', 'SharedImageVM'] as const;
  const plurals = { GalleryShare: 'galleryshares', TenantGrant: 'tenantgrants', SharedImageVM: 'sharedimagevms' } as const;
  const collection = (kind: (typeof kinds)[number]) => `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${plurals[kind]}`;

  /** What the objects in the namespace say, counted as the gauge counts them. */
  async function countsFromObjects(): Promise<Counts> {
    const counts: Counts = {};
    for (const kind of kinds) {
      const { items } = await client.get<{ items: StatusBearing[] }>(collection(kind));
      for (const [state, n] of Object.entries(countObjectStates(items))) counts[`${kind}/${state}`] = n;
    }
    return counts;
  }

  /** Waits until every object of the namespace has been looked at for its spec and is in `state`. */
  async function waitForStates(expected: Record<string, string>): Promise<void> {
    const deadline = Date.now() + 40_000;
    for (;;) {
      const seen: Record<string, string> = {};
      for (const kind of kinds) {
        const { items } = await client.get<{ items: (StatusBearing & { metadata: { name: string } })[] }>(collection(kind));
        for (const o of items) if (o.status?.observedGeneration === o.metadata.generation) seen[`${kind}/${o.metadata.name}`] = objectState(o);
      }
      if (JSON.stringify(Object.entries(seen).sort()) === JSON.stringify(Object.entries(expected).sort())) return;
      if (Date.now() > deadline) throw new Error(`objects not in the expected states: ${JSON.stringify(seen)}\n${operators.map((o) => o.logs().slice(-2000)).join('\n')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  before(async () => {
    azure = await start({ seed: sampleSeed() });
    clients = kubeClients();
    client = new KubeClient(clients.kc);
    namespace = await createTestNamespace(clients, 'objmetrics');
  });
  after(async () => {
    await Promise.all(operators.splice(0).map((o) => o.stop('SIGKILL')));
    client?.close();
    await azure?.stop();
    if (namespace) await deleteNamespace(clients, namespace);
  });

  it('the leader exports the counts per kind and state that the objects show, the standby none, and the new leader after a takeover the same', async () => {
    const galleryName = `g${randomBytes(4).toString('hex')}`;
    await createGallery(azure, galleryName, 'Private');
    await createOwnerSecret(clients, namespace);
    const args = [
      '--watch-namespaces', namespace, '--resync-interval', '1h',
      '--leader-elect', 'true', '--leader-election-namespace', namespace, '--leader-election-id', 'gso-objects',
      '--leader-election-lease-duration', '3s', '--leader-election-renew-deadline', '2s', '--leader-election-retry-period', '500ms',
    ];
    const launch = async () => {
      const operator = await startOperator({ kubeconfig: testKubeconfigPath(), armEndpoint: azure.armEndpoint, caPath: azure.caPath, extraArgs: args });
      operators.push(operator);
      return operator;
    };
    const [a, b] = [await launch(), await launch()];
    for (let i = 0; i < 100 && !((await isLeader(a)) || (await isLeader(b))); i++) await new Promise((r) => setTimeout(r, 100));
    const [leader, standby] = (await isLeader(a)) ? [a, b] : [b, a];
    expect(await isLeader(leader)).to.equal(true);
    expect(await scrapeObjects(leader), 'a leader with no objects exports zeros for every kind and state').to.deep.equal(
      Object.fromEntries(kinds.flatMap((k) => ['ready', 'reconciling', 'stalled'].map((s) => [`${k}/${s}`, 0]))),
    );

    // One object in each state: a GalleryShare Ready, one Stalled (GalleryNotFound), a TenantGrant
    // Stalled (its app's Secret is missing), a SharedImageVM Reconciling (its grant does not exist).
    await client.create(collection('GalleryShare'), galleryShareManifest('shared', galleryName));
    await client.create(collection('GalleryShare'), galleryShareManifest('nogallery', `missing${randomBytes(3).toString('hex')}`));
    await client.create(collection('TenantGrant'), tenantGrantManifest('nosecret', galleryName, 'rg-target'));
    await client.create(collection('SharedImageVM'), vmManifest('waiting', { tenantGrantRef: { name: 'absent' }, azureCredentialsRef: undefined }));
    await waitForStates({ 'GalleryShare/shared': 'ready', 'GalleryShare/nogallery': 'stalled', 'TenantGrant/nosecret': 'stalled', 'SharedImageVM/waiting': 'reconciling' });

    const expected = {
      'GalleryShare/ready': 1, 'GalleryShare/reconciling': 0, 'GalleryShare/stalled': 1,
      'TenantGrant/ready': 0, 'TenantGrant/reconciling': 0, 'TenantGrant/stalled': 1,
      'SharedImageVM/ready': 0, 'SharedImageVM/reconciling': 1, 'SharedImageVM/stalled': 0,
    };
    expect(await countsFromObjects(), 'the objects, as the API server has them').to.deep.equal(expected);
    // The caches follow the API server by a watch event: allow a moment.
    for (let i = 0; i < 50 && JSON.stringify(await scrapeObjects(leader)) !== JSON.stringify(expected); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await scrapeObjects(leader), 'the leader').to.deep.equal(expected);
    expect(await scrapeObjects(standby), 'the standby exports no series').to.deep.equal({});
    expect(await fetch(standby.metricsUrl).then((r) => r.text()), 'the standby is up and says it stands by').to.match(/leader_election_master_status\{name="gso-objects"\} 0/);

    // The Stalled GalleryShare deleted: the count moves at the next scrape, no bookkeeping needed.
    await client.delete(`${collection('GalleryShare')}/nogallery`);
    await waitForStates({ 'GalleryShare/shared': 'ready', 'TenantGrant/nosecret': 'stalled', 'SharedImageVM/waiting': 'reconciling' });
    const afterDelete = { ...expected, 'GalleryShare/stalled': 0 };
    for (let i = 0; i < 50 && JSON.stringify(await scrapeObjects(leader)) !== JSON.stringify(afterDelete); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await scrapeObjects(leader), 'after the stalled GalleryShare is deleted').to.deep.equal(afterDelete);

    // The leader dies: the standby takes over and exports the same counts from its own caches.
    leader.child.kill('SIGKILL');
    for (let i = 0; i < 200 && !(await isLeader(standby)); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await isLeader(standby), 'the standby took over').to.equal(true);
    expect(await scrapeObjects(standby), 'the new leader').to.deep.equal(afterDelete);
  });
});
