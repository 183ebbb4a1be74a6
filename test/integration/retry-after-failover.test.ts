// ARM's Retry-After holds across a failover: the leader keeps the windows ARM opened with a 429 on
// its leader-election Lease, and the standby that takes over after a SIGKILL reads them before its
// controllers start, so it sends nothing to that subscription until the window ends, while other
// subscriptions go on.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { GROUP, VERSION, type GalleryShare } from '../../src/api/v1alpha1/index.js';
import { WINDOWS_INHERITED_LOG, WINDOW_LEARNED_LOG } from '../../src/azure/clients.js';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { start, type RunningEmulator } from '../azure-emulator/index.js';
import { ids, raw, sampleSeed } from '../emulator/helpers.js';
import { adminRequest, createGallery, createOwnerSecret } from '../support/azure-fixtures.js';
import { galleryShareManifest, waitForGalleryShare } from '../support/galleryshares.js';
import { createTestNamespace, deleteNamespace, kubeClients, testKubeconfigPath, type KubeClients } from '../support/kube.js';
import { isLeader, startOperator, type OperatorProcess } from '../support/operator-process.js';

const RETRY_AFTER_SECONDS = 45;
const ANNOTATION = 'galleryshare.io/arm-retry-after';
const LEASE = 'gso-retry-after';

describe('Retry-After across a failover', function () {
  this.timeout(240_000);
  let azure: RunningEmulator;
  let clients: KubeClients;
  let client: KubeClient;
  let namespace: string;
  const operators: OperatorProcess[] = [];

  before(async () => {
    // The gallery owner may manage galleries in a second subscription too.
    const seed = sampleSeed();
    seed.roleAssignments = [...(seed.roleAssignments ?? []), { scope: `/subscriptions/${ids.devSubscription}`, principal: ids.galleryOwner, role: 'Owner' }];
    azure = await start({ seed, options: { retryAfterSeconds: 1 } });
    clients = kubeClients();
    client = new KubeClient(clients.kc);
    namespace = await createTestNamespace(clients, 'retry');
    await createOwnerSecret(clients, namespace);
  });
  after(async () => {
    await Promise.all(operators.splice(0).map((o) => o.stop('SIGKILL')));
    if (namespace) await deleteNamespace(clients, namespace);
    client?.close();
    await azure?.stop();
  });

  it('the standby that takes over sends nothing to a subscription inside the Retry-After the dead leader was given', async () => {
    const collection = `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares`;
    const logs = () => operators.map((o) => o.logs()).join('\n');
    // A gallery in each of two subscriptions.
    const throttledGallery = `g${randomBytes(4).toString('hex')}`;
    await createGallery(azure, throttledGallery, 'Private');
    const otherGallery = `g${randomBytes(4).toString('hex')}`;
    const otherRg = `/subscriptions/${ids.devSubscription}/resourceGroups/rg-other`;
    const token = await azure.control.adminToken(ids.contoso);
    expect((await raw(azure, 'PUT', `${otherRg}?api-version=2021-04-01`, { token, body: { location: 'westus' } })).status).to.be.oneOf([200, 201]);
    expect((await adminRequest(azure, 'PUT', `${otherRg}/providers/Microsoft.Compute/galleries/${otherGallery}`, { location: 'westus', properties: {} })).status).to.be.oneOf([200, 201, 202]);

    // Generous timings (two operators, an API server and the emulator share two cores): a standby
    // takes over 20 s after the leader's last renewal, well inside the window.
    const election = ['--leader-elect', 'true', '--leader-election-namespace', namespace, '--leader-election-id', LEASE, '--leader-election-lease-duration', '20s', '--leader-election-renew-deadline', '15s', '--leader-election-retry-period', '2s', '--resync-interval', '1h'];
    const launch = async () => {
      const operator = await startOperator({ kubeconfig: testKubeconfigPath(), armEndpoint: azure.armEndpoint, caPath: azure.caPath, extraArgs: election });
      operators.push(operator);
      return operator;
    };
    const a = await launch();
    const b = await launch();
    for (let i = 0; i < 300 && !((await isLeader(a)) || (await isLeader(b))); i++) await new Promise((r) => setTimeout(r, 100));
    const [leader, standby] = (await isLeader(a)) ? [a, b] : [b, a];
    expect(await isLeader(leader)).to.equal(true);

    // ARM answers the first request to the gallery subscription with 429 and Retry-After.
    const subscriptionPath = new RegExp(`/subscriptions/${ids.gallerySubscription}/`, 'i');
    await azure.control.clearRequests();
    const fault = await azure.control.addFault({ path: `subscriptions/${ids.gallerySubscription}/`, status: 429, code: 'SubscriptionRequestsThrottled', headers: { 'retry-after': String(RETRY_AFTER_SECONDS) }, count: 1 });
    const manifest = (name: string, gallery: GalleryShare['spec']['gallery']) =>
      galleryShareManifest(name, gallery.name, { gallery, roleAssignments: [{ principalId: ids.tester, principalType: 'User', role: 'Reader' }] });
    await client.create(collection, manifest('throttled', { subscriptionId: ids.gallerySubscription, resourceGroup: ids.galleryRG, name: throttledGallery }));
    let throttledAt: number | undefined;
    for (let i = 0; i < 300 && throttledAt === undefined; i++) {
      const hit = (await azure.control.requests()).find((r) => r.faultId === fault.id);
      if (hit) throttledAt = Date.parse(hit.time);
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(throttledAt, `the 429 was answered\n${logs().slice(-3000)}`).to.be.a('number');
    const windowEnds = throttledAt! + RETRY_AFTER_SECONDS * 1000;

    // The leader keeps the window on its Lease (with its next renewal); then it dies.
    const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${LEASE}`;
    let kept: Record<string, string> | undefined;
    for (let i = 0; i < 100 && !kept; i++) {
      const value = (await client.get<{ metadata: { annotations?: Record<string, string> } }>(leasePath)).metadata.annotations?.[ANNOTATION];
      if (value) kept = JSON.parse(value) as Record<string, string>;
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(kept, 'the window on the Lease').to.have.keys([ids.gallerySubscription]);
    expect(Math.abs(Date.parse(kept![ids.gallerySubscription]!) - windowEnds), 'its end, as the leader computed it').to.be.below(2_000);
    leader.child.kill('SIGKILL');
    await leader.exited;

    // Work in another subscription goes on once the standby leads; the throttled one waits.
    await client.create(collection, manifest('other', { subscriptionId: ids.devSubscription, resourceGroup: 'rg-other', name: otherGallery }));
    await waitForGalleryShare(client, namespace, 'other', undefined, { timeoutMs: 60_000, logs });
    expect(await isLeader(standby)).to.equal(true);
    const otherReadyAt = Date.now();
    expect(otherReadyAt, 'the other subscription was served inside the window').to.be.below(windowEnds);

    await waitForGalleryShare(client, namespace, 'throttled', undefined, { timeoutMs: 120_000, logs });
    const toThrottled = (await azure.control.requests()).filter((r) => subscriptionPath.test(r.path) && r.faultId !== fault.id);
    const early = toThrottled.filter((r) => Date.parse(r.time) < windowEnds);
    expect(early.map((r) => `${r.time} ${r.method} ${r.path}`), `requests inside the window, which ended ${new Date(windowEnds).toISOString()}`).to.deep.equal([]);
    expect(toThrottled.length, 'the throttled subscription is served after the window').to.be.above(0);
    // One line each: the leader's when its gate learned the window, the standby's when it inherited it.
    const lines = (text: string, msg: string) => text.split('\n').filter((l) => l.includes(msg)).map((l) => JSON.parse(l) as Record<string, unknown>);
    const learned = lines(leader.logs(), WINDOW_LEARNED_LOG);
    expect(learned.map((l) => [l.subscription, l.retryAfterMs, l.until])).to.deep.equal([[ids.gallerySubscription, RETRY_AFTER_SECONDS * 1000, kept![ids.gallerySubscription]]]);
    const inherited = lines(standby.logs(), WINDOWS_INHERITED_LOG);
    expect(inherited.map((l) => l.windows)).to.deep.equal([[{ subscription: ids.gallerySubscription, until: kept![ids.gallerySubscription] }]]);
  });
});
