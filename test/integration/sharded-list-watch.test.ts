// What kube-apiserver 1.36 does with server-side sharded list and watch (KEP-5866, alpha gate
// ShardedListAndWatch) on our custom resources. It pins why the hash-range sharding mode
// (--shard-count, README "Sharding") always filters by itself and treats the selector as a
// bandwidth saving only: a list of GalleryShares is filtered by the range but carries no
// metadata.shardInfo (custom resources are listed into UnstructuredList, which cannot hold it;
// ConfigMaps get it), so a replica cannot tell a filtered list from a server that ignored the
// selector; and with the watch cache off a watch with only a shardSelector is not filtered at
// all (kubernetes/kubernetes#140510, fixed in 1.37). When the control plane moves to a version
// where these change, this test fails and the decision is to be revisited.
//
// Each block has a control plane of its own: two with the gate on, one with it off (where the
// parameter is ignored without an error, which is why shardInfo would matter).
import { expect } from 'chai';
import { request } from 'node:https';
import { GROUP, VERSION } from '../../src/api/v1alpha1/index.js';
// The API server's hash (apimachinery's pkg/sharding), the operator's own: this test also shows
// that the server filters by it.
import { fnv1a64 } from '../../src/runtime/hash-range.js';
import { startControlPlane, type ControlPlane } from '../support/control-plane.js';
import { installCrds, kubeClients, rawGet, rawRequest, type KubeClients } from '../support/kube.js';

const HALF = 0x8000000000000000n;
const LOWER_HALF_BY_NAMESPACE = "shardRange(object.metadata.namespace, '0x0000000000000000', '0x8000000000000000')";
const LOWER_HALF_BY_UID = "shardRange(object.metadata.uid, '0x0000000000000000', '0x8000000000000000')";
const NAMESPACES = ['shard-alpha', 'shard-bravo', 'shard-charlie', 'shard-delta', 'shard-echo', 'shard-foxtrot'];
const inLowerHalf = (namespace: string) => fnv1a64(namespace) < HALF;
const lowerNamespaces = NAMESPACES.filter(inLowerHalf);
const upperNamespaces = NAMESPACES.filter((ns) => !inLowerHalf(ns));
const galleryShares = `/apis/${GROUP}/${VERSION}/galleryshares`;

interface ListBody {
  metadata: { resourceVersion: string; shardInfo?: { selector: string } };
  items: { metadata: { namespace: string; name: string; uid: string } }[];
}

async function eventually(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A raw watch: the `namespace/name` of every ADDED event, until stop(). */
async function watchAdded(clients: KubeClients, path: string): Promise<{ added: string[]; stop(): void }> {
  const added: string[] = [];
  const cluster = clients.kc.getCurrentCluster()!;
  const options: import('node:https').RequestOptions = { method: 'GET', headers: { accept: 'application/json' } };
  await clients.kc.applyToHTTPSOptions(options);
  const req = request(new URL(path, cluster.server), options, (res) => {
    let buffer = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        const line = buffer.slice(0, i).trim();
        buffer = buffer.slice(i + 1);
        if (!line) continue;
        const event = JSON.parse(line) as { type: string; object: { metadata?: { namespace?: string; name?: string } } };
        if (event.type === 'ADDED') added.push(`${event.object.metadata?.namespace}/${event.object.metadata?.name}`);
      }
    });
    res.on('error', () => undefined);
  });
  req.on('error', () => undefined);
  req.end();
  return { added, stop: () => req.destroy() };
}

function sharedControlPlane(apiserverArgs: string[]) {
  const state: { controlPlane?: ControlPlane; clients?: KubeClients } = {};
  before(async () => {
    state.controlPlane = await startControlPlane({ apiserverArgs });
    state.clients = kubeClients(state.controlPlane.kubeconfigPath);
    await installCrds(state.clients);
    for (const name of NAMESPACES) await state.clients.core.createNamespace({ body: { metadata: { name } } });
  });
  after(async () => {
    await state.controlPlane?.stop();
  });
  const create = async (namespace: string, name: string) => {
    const manifest = {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'GalleryShare',
      metadata: { name },
      spec: {
        gallery: { subscriptionId: 'baa78062-9e05-4cbe-bc20-1fc5ea242262', resourceGroup: 'myGalleryRG', name: 'myGallery' },
        azureCredentialsRef: { name: 'gallery-owner' },
      },
    };
    const res = await rawRequest(state.clients!.kc, 'POST', `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares`, manifest);
    expect(res.status, res.body).to.equal(201);
  };
  return { state, create };
}

/** Creates one object per namespace, upper half first, and waits until the watch has seen the lower half's. */
async function createAllAndAwaitLower(create: (ns: string, name: string) => Promise<void>, watch: { added: string[] }, name: string) {
  for (const ns of [...upperNamespaces, ...lowerNamespaces]) await create(ns, name);
  // Events of one watch arrive in resourceVersion order, so once the last lower-half object has
  // arrived, any upper-half event the server let through has arrived before it.
  await eventually(() => lowerNamespaces.every((ns) => watch.added.includes(`${ns}/${name}`)), `the watch to see ${name} in ${lowerNamespaces.join(', ')}`);
}

describe('KEP-5866 sharded list and watch on our CRDs (own control plane, gate on, watch cache on)', function () {
  this.timeout(180_000);
  const { state, create } = sharedControlPlane(['--feature-gates=ShardedListAndWatch=true']);

  it('the fixed namespaces fall in both halves of the hash space (the other tests need both)', () => {
    expect(lowerNamespaces).to.not.be.empty;
    expect(upperNamespaces).to.not.be.empty;
  });

  it('filters a GalleryShare list by the FNV-1a hash of the namespace or uid, as computed client-side, but echoes no shardInfo (a ConfigMap list does)', async () => {
    const clients = state.clients!;
    for (const ns of NAMESPACES) {
      await create(ns, 'listed');
      expect((await rawRequest(clients.kc, 'POST', `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'listed' } })).status).to.equal(201);
    }
    const all = JSON.parse((await rawGet(clients.kc, galleryShares)).body) as ListBody;
    expect(all.items).to.have.length(NAMESPACES.length);

    for (const extra of ['', '&resourceVersion=0', '&limit=100']) {
      const byNamespace = JSON.parse((await rawGet(clients.kc, `${galleryShares}?shardSelector=${encodeURIComponent(LOWER_HALF_BY_NAMESPACE)}${extra}`)).body) as ListBody;
      expect(byNamespace.items.map((i) => i.metadata.namespace).sort(), extra).to.deep.equal([...lowerNamespaces].sort());
      expect(byNamespace.metadata.shardInfo, `GalleryShare list${extra}`).to.equal(undefined);
    }
    const byUid = JSON.parse((await rawGet(clients.kc, `${galleryShares}?shardSelector=${encodeURIComponent(LOWER_HALF_BY_UID)}`)).body) as ListBody;
    expect(byUid.items.map((i) => i.metadata.uid).sort()).to.deep.equal(all.items.filter((i) => fnv1a64(i.metadata.uid) < HALF).map((i) => i.metadata.uid).sort());
    expect(byUid.metadata.shardInfo).to.equal(undefined);

    const configMaps = JSON.parse((await rawGet(clients.kc, `/api/v1/configmaps?shardSelector=${encodeURIComponent(LOWER_HALF_BY_NAMESPACE)}`)).body) as ListBody;
    expect(configMaps.items.filter((i) => i.metadata.name === 'listed').map((i) => i.metadata.namespace).sort()).to.deep.equal([...lowerNamespaces].sort());
    expect(configMaps.metadata.shardInfo).to.deep.equal({ selector: LOWER_HALF_BY_NAMESPACE });
  });

  it('answers a selector it cannot parse with 500, not 400', async () => {
    const res = await rawGet(state.clients!.kc, `${galleryShares}?shardSelector=${encodeURIComponent("shardRange(object.metadata.name, '0x0000000000000000', '0x8000000000000000')")}`);
    expect(res.status).to.equal(500);
    expect(res.body).to.contain('invalid shard selector: unsupported field path');
  });

  it('filters a GalleryShare watch served from the watch cache', async () => {
    const rv = (JSON.parse((await rawGet(state.clients!.kc, galleryShares)).body) as ListBody).metadata.resourceVersion;
    const watch = await watchAdded(state.clients!, `${galleryShares}?watch=true&resourceVersion=${rv}&shardSelector=${encodeURIComponent(LOWER_HALF_BY_NAMESPACE)}`);
    try {
      await createAllAndAwaitLower(create, watch, 'watched');
      expect(watch.added.sort()).to.deep.equal(lowerNamespaces.map((ns) => `${ns}/watched`).sort());
    } finally {
      watch.stop();
    }
  });
});

describe('KEP-5866 sharded list and watch on our CRDs (own control plane, gate on, --watch-cache=false)', function () {
  this.timeout(180_000);
  const { state, create } = sharedControlPlane(['--feature-gates=ShardedListAndWatch=true', '--watch-cache=false']);

  it('filters a list from etcd, but not a watch with only a shardSelector; any label selector makes it filter', async () => {
    const clients = state.clients!;
    for (const ns of NAMESPACES) await create(ns, 'listed');
    const listed = JSON.parse((await rawGet(clients.kc, `${galleryShares}?shardSelector=${encodeURIComponent(LOWER_HALF_BY_NAMESPACE)}`)).body) as ListBody;
    expect(listed.items.map((i) => i.metadata.namespace).sort()).to.deep.equal([...lowerNamespaces].sort());

    const rv = (JSON.parse((await rawGet(clients.kc, galleryShares)).body) as ListBody).metadata.resourceVersion;
    const base = `${galleryShares}?watch=true&resourceVersion=${rv}&shardSelector=${encodeURIComponent(LOWER_HALF_BY_NAMESPACE)}`;
    const shardOnly = await watchAdded(clients, base);
    const withLabelSelector = await watchAdded(clients, `${base}&labelSelector=${encodeURIComponent('!galleryshare.io/no-such-label')}`);
    try {
      for (const ns of [...upperNamespaces, ...lowerNamespaces]) await create(ns, 'watched');
      await eventually(() => shardOnly.added.length === NAMESPACES.length, 'the shard-only watch to see every namespace');
      await eventually(() => lowerNamespaces.every((ns) => withLabelSelector.added.includes(`${ns}/watched`)), 'the label-selector watch to see the lower half');
      expect(shardOnly.added.sort()).to.deep.equal(NAMESPACES.map((ns) => `${ns}/watched`).sort());
      expect(withLabelSelector.added.sort()).to.deep.equal(lowerNamespaces.map((ns) => `${ns}/watched`).sort());
    } finally {
      shardOnly.stop();
      withLabelSelector.stop();
    }
  });
});

describe('KEP-5866 shardSelector with the gate off (own control plane)', function () {
  this.timeout(180_000);
  const { state, create } = sharedControlPlane([]);

  it('ignores the selector without an error: the whole collection, no shardInfo', async () => {
    for (const ns of NAMESPACES) await create(ns, 'listed');
    const res = await rawGet(state.clients!.kc, `${galleryShares}?shardSelector=${encodeURIComponent(LOWER_HALF_BY_NAMESPACE)}`);
    expect(res.status).to.equal(200);
    const listed = JSON.parse(res.body) as ListBody;
    expect(listed.items.map((i) => i.metadata.namespace).sort()).to.deep.equal([...NAMESPACES].sort());
    expect(listed.metadata.shardInfo).to.equal(undefined);
  });
});
