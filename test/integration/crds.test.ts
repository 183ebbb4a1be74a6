// The generated CRDs install into a real kube-apiserver, are served with the names, short
// names, category, status subresource and printer columns the API promises, and accept every
// sample in config/samples.
import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { GROUP, VERSION, ALL_KINDS } from '../../src/api/v1alpha1/index.js';
import { kstatus } from '../../src/runtime/kstatus.js';
import { realKstatus } from '../support/real-kstatus.js';
import { collectionPath, createTestNamespace, deleteNamespace, kubeClients, kubectl, loadYamlDocuments, rawGet, rawRequest, repoRoot, type KubeClients } from '../support/kube.js';

const samplesDir = join(repoRoot, 'config', 'samples');
const sampleFiles = readdirSync(samplesDir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');

describe('CRDs on a real API server', () => {
  let clients: KubeClients;
  let namespace: string;

  before(() => {
    clients = kubeClients();
  });
  beforeEach(async () => {
    namespace = await createTestNamespace(clients, 'crds');
  });
  afterEach(async () => {
    await deleteNamespace(clients, namespace);
  });

  it('serves the three kinds with short names, the gallerysharing category and a status subresource', async () => {
    const res = await rawGet(clients.kc, `/apis/${GROUP}/${VERSION}`);
    expect(res.status).to.equal(200);
    const resources = (JSON.parse(res.body) as { resources: { name: string; kind: string; namespaced: boolean; shortNames?: string[]; categories?: string[] }[] }).resources;
    for (const kind of ALL_KINDS) {
      const resource = resources.find((r) => r.name === kind.plural);
      expect(resource, kind.plural).to.exist;
      expect(resource!.kind).to.equal(kind.kind);
      expect(resource!.namespaced).to.equal(true);
      expect(resource!.shortNames).to.have.members(kind.shortNames);
      expect(resource!.categories).to.deep.equal(['gallerysharing']);
      expect(resources.map((r) => r.name)).to.include(`${kind.plural}/status`);
    }
  });

  it('accepts every sample in config/samples and applies the defaults', async () => {
    expect(sampleFiles.length).to.be.at.least(3);
    const kindsSeen = new Set<string>();
    for (const file of sampleFiles) {
      for (const doc of loadYamlDocuments(join(samplesDir, file))) {
        const kind = ALL_KINDS.find((k) => k.kind === doc.kind);
        expect(kind, `${file}: unknown kind ${String(doc.kind)}`).to.exist;
        kindsSeen.add(kind!.kind);
        const res = await rawRequest(clients.kc, 'POST', collectionPath(namespace, kind!.plural), doc);
        expect(res.status, `${file}: ${res.body}`).to.equal(201);
        const created = JSON.parse(res.body) as { spec: { deletionPolicy?: string } };
        expect(created.spec.deletionPolicy, `${file}: deletionPolicy default`).to.equal('Delete');
      }
    }
    expect([...kindsSeen]).to.have.members(ALL_KINDS.map((k) => k.kind));
  });

  it('prints READY, REASON, a summary and AGE columns', async () => {
    const doc = loadYamlDocuments(join(samplesDir, 'galleryshare.yaml'))[0]!;
    const created = await rawRequest(clients.kc, 'POST', collectionPath(namespace, 'galleryshares'), doc);
    expect(created.status, created.body).to.equal(201);
    for (const kind of ALL_KINDS) {
      const res = await rawGet(clients.kc, collectionPath(namespace, kind.plural), { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
      expect(res.status, res.body).to.equal(200);
      const table = JSON.parse(res.body) as { columnDefinitions: { name: string }[] };
      const names = table.columnDefinitions.map((c) => c.name);
      expect(names[0]).to.equal('Name');
      expect(names.slice(1, 3)).to.deep.equal(['Ready', 'Reason']);
      expect(names[names.length - 1]).to.equal('Age');
      expect(names.length, `${kind.kind} has a summary column`).to.be.at.least(5);
    }
  });

  it('lists all three kinds with `kubectl get gallerysharing` (the category), and `kubectl get/describe galleryshare NAME` address one object', async () => {
    for (const file of ['galleryshare.yaml', 'tenantgrant.yaml', 'sharedimagevm.yaml']) {
      const { stdout } = await kubectl(['apply', '-n', namespace, '-f', join(samplesDir, file)]);
      expect(stdout).to.match(/created/);
    }
    // The singular name is no category any more, so a user's first commands work (with
    // `galleryshare` as the category they failed: "you must specify only one resource").
    const one = await kubectl(['get', 'galleryshare', 'golden-images', '-n', namespace, '-o', 'name']);
    expect(one.stdout.trim()).to.equal('galleryshare.galleryshare.io/golden-images');
    const described = await kubectl(['describe', 'galleryshare', 'golden-images', '-n', namespace]);
    expect(described.stdout).to.match(/Name:\s+golden-images/).and.match(/Kind:\s+GalleryShare/);
    const { stdout } = await kubectl(['get', 'gallerysharing', '-n', namespace, '-o', 'name']);
    const lines = stdout.trim().split('\n').sort();
    expect(lines).to.deep.equal([
      'galleryshare.galleryshare.io/golden-images',
      'sharedimagevm.galleryshare.io/web-1',
      'tenantgrant.galleryshare.io/contoso-to-fabrikam',
    ]);
  });

  it('gives a fresh object of each kind (no operator has written its status) a status that kstatus itself reads as InProgress, not Current', async function () {
    this.timeout(600_000); // kstatus is built from Go modules on first use
    // The case statusless-objects-read-current: no operator runs here, as when it is down, does
    // not watch the namespace, or does not reconcile the kind yet.
    const applied = [];
    for (const file of ['galleryshare.yaml', 'tenantgrant.yaml', 'sharedimagevm.yaml']) {
      const { stdout } = await kubectl(['apply', '-n', namespace, '-f', join(samplesDir, file), '-o', 'json']);
      applied.push(JSON.parse(stdout) as { kind: string; metadata: { generation: number }; status?: { observedGeneration?: number } });
    }
    for (const obj of applied) expect(obj.status, `${obj.kind} defaults its status`).to.deep.equal({ observedGeneration: -1 });
    const real = await realKstatus(applied);
    expect(real.map((r) => r.status), 'kstatus (fluxcd/cli-utils)').to.deep.equal(['InProgress', 'InProgress', 'InProgress']);
    expect(applied.map((o) => kstatus(o as Parameters<typeof kstatus>[0])), 'the operator\'s own model agrees').to.deep.equal(['InProgress', 'InProgress', 'InProgress']);
    // Without the default, kstatus would say Current: the model agrees on that state too.
    const bare = applied.map(({ status: _s, ...rest }) => rest);
    expect((await realKstatus(bare)).map((r) => r.status)).to.deep.equal(bare.map((o) => kstatus(o as Parameters<typeof kstatus>[0])));
  });
  it('refuses an invalid object on `kubectl apply --dry-run=server` with the CEL message, which a client-side dry run cannot give, and keeps nothing', async () => {
    const file = join(repoRoot, 'test/fixtures/invalid/gs-community-bad-email.yaml');
    const client = await kubectl(['apply', '--dry-run=client', '-n', namespace, '-f', file]);
    expect(client.stdout, 'kubectl alone does not know the CRD\'s rules').to.include('created (dry run)');
    const server = await kubectl(['apply', '--dry-run=server', '-n', namespace, '-f', file]).then(
      () => { throw new Error('the server-side dry run accepted an invalid object'); },
      (err: { stderr: string }) => err.stderr,
    );
    expect(server).to.include('community.publisherContact must be an e-mail address');
    const { stdout } = await kubectl(['get', 'galleryshares', '-n', namespace, '-o', 'name']);
    expect(stdout.trim()).to.equal('');
  });
  it('reads every combination of Ready, Reconciling and Stalled as kstatus itself does (the operator\'s model in src/runtime/kstatus.ts)', async () => {
    const values = [undefined, 'True', 'False', 'Unknown'] as const;
    const objects = [];
    for (const ready of values) for (const reconciling of values) for (const stalled of values) {
      const conditions = ([['Ready', ready], ['Reconciling', reconciling], ['Stalled', stalled]] as const)
        .filter(([, status]) => status !== undefined)
        .map(([type, status]) => ({ type, status: status!, reason: 'R', message: 'm', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 2 }));
      for (const observedGeneration of [2, 1]) {
        objects.push({ apiVersion: `${GROUP}/${VERSION}`, kind: 'GalleryShare', metadata: { name: 'x', namespace: 'y', generation: 2 }, status: { observedGeneration, conditions } });
      }
    }
    const real = await realKstatus(objects);
    const disagreements = objects.map((o, i) => ({ o, real: real[i]!.status, model: kstatus(o) })).filter((r) => r.real !== r.model);
    expect(disagreements.map((d) => `${JSON.stringify(d.o.status)}: kstatus ${d.real}, model ${d.model}`)).to.deep.equal([]);
    expect(objects).to.have.length(128);
  });
});
