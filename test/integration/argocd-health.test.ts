// Argo CD health for the galleryshare.io kinds (resource_customizations/galleryshare.io and the
// argocd-cm snippet in docs/argocd.md), checked three ways on every testdata object: by Argo CD's
// own health code (argo-cd v2.14 built from the Go module proxy, the scripts read from argocd-cm
// as the application controller reads them, so without Lua's string library), by Debian's lua5.1
// with the string library removed, and against kstatus itself for the same object. Needs Go (the
// build is cached; cold it takes minutes) and lua5.1 (.ci/run installs it).
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ALL_KINDS, GROUP, VERSION } from '../../src/api/v1alpha1/index.js';
import { applyOutcome, type Outcome } from '../../src/runtime/conditions.js';
import { DOC_BEGIN, DOC_END, healthKey } from '../../scripts/argocd-files.js';
import { argoCdHealth, argoCdHealthTests, argoCdVersion, ensureArgoCdHealth, type HealthStatus } from '../support/argocd-health.js';
import { lua51Health, requireLua51 } from '../support/lua51-health.js';
import { ensureKstatus, realKstatus } from '../support/real-kstatus.js';
import { collectionPath, createTestNamespace, deleteNamespace, kubeClients, rawRequest, repoRoot, type KubeClients } from '../support/kube.js';

const customizations = join(repoRoot, 'resource_customizations');

/** kstatus's status → the Argo CD health that must go with it. */
const ARGO_FOR_KSTATUS: Record<string, string> = { Current: 'Healthy', InProgress: 'Progressing', Failed: 'Degraded', Terminating: 'Progressing' };

interface Case {
  kind: string;
  inputPath: string;
  object: Record<string, unknown> & { status?: unknown; metadata: Record<string, unknown> };
  expected: HealthStatus;
}

function testCases(): Case[] {
  const cases: Case[] = [];
  for (const { kind } of ALL_KINDS) {
    const dir = join(customizations, GROUP, kind);
    const { tests } = parse(readFileSync(join(dir, 'health_test.yaml'), 'utf8')) as { tests: { inputPath: string; healthStatus: HealthStatus }[] };
    for (const t of tests) cases.push({ kind, inputPath: t.inputPath, object: parse(readFileSync(join(dir, t.inputPath), 'utf8')) as Case['object'], expected: t.healthStatus });
  }
  return cases;
}

/** The argocd-cm ConfigMap users copy from docs/argocd.md. */
function documentedConfigMap(): { metadata: { name: string }; data: Record<string, string> } {
  const doc = readFileSync(join(repoRoot, 'docs', 'argocd.md'), 'utf8');
  const block = doc.slice(doc.indexOf(DOC_BEGIN) + DOC_BEGIN.length, doc.indexOf(DOC_END));
  const yaml = /```yaml\n([\s\S]*?)```/.exec(block);
  if (!yaml) throw new Error('docs/argocd.md: no yaml block between the argocd-cm markers');
  return parse(yaml[1]!) as { metadata: { name: string }; data: Record<string, string> };
}

const label = (c: Case) => `${c.kind} ${c.inputPath}`;

interface Cond {
  type: string;
  status: string;
  observedGeneration?: number;
}

/**
 * The two states, neither written by the operator, in which the scripts wait where kstatus says
 * Current (it falls back to Ready only when nothing else decides, and reads no condition's
 * observedGeneration): no status at all (CRDs without the status default), and Ready=True set
 * for an older generation while status.observedGeneration is current.
 */
function waitsWhereKstatusSaysCurrent(obj: Case['object']): boolean {
  const status = obj.status as { observedGeneration?: number; conditions?: Cond[] } | undefined;
  if (status === undefined) return true;
  const generation = obj.metadata.generation as number;
  const is = (type: string, value: string) => status.conditions?.some((c) => c.type === type && c.status === value) ?? false;
  const readyForOlder = status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True' && c.observedGeneration !== undefined && c.observedGeneration !== generation) ?? false;
  return !obj.metadata.deletionTimestamp && status.observedGeneration === generation && !is('Reconciling', 'True') && !is('Stalled', 'True') && readyForOlder;
}

describe(`Argo CD health of the galleryshare.io kinds (Argo CD's own code, lua5.1 and kstatus)`, function () {
  // A cold build of Argo CD's health code from the Go module proxy takes minutes on 2 cores.
  this.timeout(1_800_000);
  const cases = testCases();
  let configMap: ReturnType<typeof documentedConfigMap>;

  before(async () => {
    requireLua51();
    const started = Date.now();
    await ensureArgoCdHealth((line) => console.log(`  [argocd-health] ${line}`));
    await ensureKstatus();
    const seconds = (Date.now() - started) / 1000;
    if (seconds > 5) console.log(`  [argocd-health] argo-cd ${argoCdVersion()} health code and kstatus ready in ${seconds.toFixed(0)}s`);
    configMap = documentedConfigMap();
  });

  it('has testdata for every state of every kind', () => {
    for (const { kind } of ALL_KINDS) {
      const statuses = cases.filter((c) => c.kind === kind).map((c) => c.expected.status);
      expect(statuses, kind).to.include.members(['Healthy', 'Progressing', 'Degraded']);
    }
  });

  it('documents an argocd-cm whose scripts are the health.lua files byte for byte, without useOpenLibs', () => {
    expect(configMap.metadata.name).to.equal('argocd-cm');
    for (const { kind } of ALL_KINDS) {
      const script = readFileSync(join(customizations, GROUP, kind, 'health.lua'), 'utf8');
      expect(configMap.data[healthKey(kind)], kind).to.equal(script);
    }
    expect(Object.keys(configMap.data).filter((k) => k.startsWith('resource.customizations.useOpenLibs'))).to.deep.equal([]);
  });

  it("passes every case of every health_test.yaml in Argo CD's own code, built in and from argocd-cm", async () => {
    const results = await argoCdHealthTests(customizations);
    // Each case twice: as a built-in script (libraries open, as Argo CD's TestLuaHealthScript) and from argocd-cm.
    expect(results).to.have.length(cases.length * 2);
    const failed = results.filter((r) => !r.pass).map((r) => `${r.test} ${r.inputPath} (${r.path}): expected ${JSON.stringify(r.expected)}, got ${JSON.stringify(r.actual)} ${r.error ?? ''}`);
    expect(failed).to.deep.equal([]);
  });

  it(`reads every testdata object as its health_test.yaml says in Argo CD ${argoCdVersion()} with the documented argocd-cm`, async () => {
    const actual = await argoCdHealth(configMap.data, cases.map((c) => c.object));
    expect(actual.map((a, i) => `${label(cases[i]!)}: ${a.status} ${a.message}`)).to.deep.equal(cases.map((c) => `${label(c)}: ${c.expected.status} ${c.expected.message}`));
  });

  it('reads a Stalled object of each kind as Degraded, with the Stalled message, in Argo CD', async () => {
    const now = new Date('2026-11-30T00:00:00Z');
    for (const { kind } of ALL_KINDS) {
      const stalled: Outcome = { state: 'stalled', reason: 'TestStalled', message: `The ${kind} needs a person: check its spec.` };
      const obj = { apiVersion: `${GROUP}/${VERSION}`, kind, metadata: { name: 'stalled', namespace: 'default', generation: 4 }, status: { observedGeneration: 4, conditions: applyOutcome([], stalled, 4, now) } };
      const [health] = await argoCdHealth(configMap.data, [obj]);
      expect(health, kind).to.deep.equal({ status: 'Degraded', message: stalled.message });
    }
  });

  it('gives the same answer in lua5.1 without the string library as in Argo CD', async () => {
    for (const c of cases) {
      const script = readFileSync(join(customizations, GROUP, c.kind, 'health.lua'), 'utf8');
      expect(await lua51Health(script, c.object), label(c)).to.deep.equal(c.expected);
    }
  });

  it('agrees with kstatus on every testdata object but two states the operator does not write', async () => {
    const withStatus = cases.filter((c) => !waitsWhereKstatusSaysCurrent(c.object));
    const objects = withStatus.map((c) => c.object);
    const [argo, kstatuses] = await Promise.all([argoCdHealth(configMap.data, objects), realKstatus(objects)]);
    const disagreements = withStatus
      .map((c, i) => ({ c, k: kstatuses[i]!, a: argo[i]! }))
      .filter(({ k, a }) => ARGO_FOR_KSTATUS[k.status] !== a.status)
      .map(({ c, k, a }) => `${label(c)}: kstatus ${k.status} (${k.message}) but Argo CD ${a.status} (${a.message})`);
    expect(disagreements).to.deep.equal([]);
    expect(new Set(kstatuses.map((k) => k.status))).to.deep.equal(new Set(['Current', 'InProgress', 'Failed', 'Terminating']));
  });

  it('waits (Progressing) on an object without any status or with Ready=True for an older generation, which kstatus reads as Current', async () => {
    const noStatus = cases.filter((c) => waitsWhereKstatusSaysCurrent(c.object));
    expect(noStatus.map((c) => c.kind)).to.have.members(ALL_KINDS.flatMap((k) => [k.kind, k.kind]));
    const objects = noStatus.map((c) => c.object);
    const [argo, kstatuses] = await Promise.all([argoCdHealth(configMap.data, objects), realKstatus(objects)]);
    for (const [i, k] of kstatuses.entries()) {
      expect(k.status, label(noStatus[i]!)).to.equal('Current');
      expect(argo[i]!.status, label(noStatus[i]!)).to.equal('Progressing');
    }
  });

  it('agrees with kstatus on what the operator writes for each outcome, at the current and a newer generation', async () => {
    const now = new Date('2026-11-30T00:00:00Z');
    const outcomes: Outcome[] = [
      { state: 'ready', message: 'All shared.' },
      { state: 'progressing', reason: 'OperationInProgress', message: 'Waiting for Azure.' },
      { state: 'stalled', reason: 'GalleryNotFound', message: 'No such gallery.' },
    ];
    const objects: { apiVersion: string; kind: string; status: object; metadata: { name: string; namespace: string; generation: number } }[] = [];
    for (const { kind } of ALL_KINDS) {
      for (const outcome of outcomes) {
        // From a progressing status to the outcome, as a reconcile moves it; then the spec changes.
        const conditions = applyOutcome(applyOutcome([], outcomes[1]!, 3, now), outcome, 3, now);
        for (const generation of [3, 4]) {
          objects.push({ apiVersion: `${GROUP}/${VERSION}`, kind, metadata: { name: `${outcome.state}-${generation}`, namespace: 'default', generation }, status: { observedGeneration: 3, conditions } });
        }
      }
    }
    const [argo, kstatuses] = await Promise.all([argoCdHealth(configMap.data, objects), realKstatus(objects)]);
    const seen = new Set<string>();
    for (const [i, k] of kstatuses.entries()) {
      expect(argo[i]!.status, `${objects[i]!.kind} ${objects[i]!.metadata.name}: kstatus ${k.status}`).to.equal(ARGO_FOR_KSTATUS[k.status]);
      seen.add(argo[i]!.status);
    }
    expect(seen).to.deep.equal(new Set(['Healthy', 'Progressing', 'Degraded']));
  });

  it('rejects a script that uses the string library from argocd-cm, in Argo CD and in lua5.1 (the sandbox is real)', async () => {
    const key = healthKey('GalleryShare');
    const usesString = 'hs = {}\nhs.status = "Healthy"\nhs.message = string.format("%d", obj.metadata.generation)\nreturn hs\n';
    const usesMethod = 'hs = {}\nhs.status = "Healthy"\nhs.message = ("x"):upper()\nreturn hs\n';
    const obj = cases.find((c) => c.kind === 'GalleryShare' && c.expected.status === 'Healthy')!.object;
    for (const script of [usesString, usesMethod]) {
      const [fromConfigMap] = await argoCdHealth({ [key]: script }, [obj]);
      expect(fromConfigMap!.status, script).to.equal('Unknown');
      const [withOpenLibs] = await argoCdHealth({ [key]: script, 'resource.customizations.useOpenLibs.galleryshare.io_GalleryShare': 'true' }, [obj]);
      expect(withOpenLibs!.status, script).to.equal('Healthy');
      await lua51Health(script, obj).then(
        () => expect.fail('lua5.1 ran a script that uses the string library'),
        (err: Error) => expect(err.message).to.match(/string/),
      );
    }
  });

  describe('objects as the real API server serves them', () => {
    let clients: KubeClients;
    let namespace: string;

    before(async () => {
      clients = kubeClients();
      namespace = await createTestNamespace(clients, 'argocd-health');
    });
    after(async () => {
      await deleteNamespace(clients, namespace);
    });

    it('accepts every testdata object (spec and status, strict field validation) and reads a new one as Progressing and InProgress', async () => {
      const plural = (kind: string) => ALL_KINDS.find((k) => k.kind === kind)!.plural;
      const created: object[] = [];
      for (const [i, c] of cases.entries()) {
        const name = `case-${i}`;
        const body = { apiVersion: c.object.apiVersion, kind: c.kind, metadata: { name }, spec: c.object.spec };
        const res = await rawRequest(clients.kc, 'POST', `${collectionPath(namespace, plural(c.kind))}?fieldValidation=Strict`, body);
        expect(res.status, `${label(c)}: ${res.body}`).to.equal(201);
        const served = JSON.parse(res.body) as { metadata: Record<string, unknown>; status?: unknown };
        if (c.object.status !== undefined) {
          const status = await rawRequest(clients.kc, 'PUT', `${collectionPath(namespace, plural(c.kind))}/${name}/status?dryRun=All&fieldValidation=Strict`, { ...served, status: c.object.status });
          expect(status.status, `${label(c)} status: ${status.body}`).to.equal(200);
        }
        if (c.inputPath === 'testdata/fresh.yaml') {
          expect(served.status, `${label(c)}: the status the API server defaults`).to.deep.equal(c.object.status);
          created.push(served);
        }
      }
      expect(created).to.have.length(ALL_KINDS.length);
      const [argo, kstatuses] = await Promise.all([argoCdHealth(configMap.data, created), realKstatus(created)]);
      for (const [i, obj] of created.entries()) {
        expect(argo[i]!.status).to.equal('Progressing');
        expect(kstatuses[i]!.status).to.equal('InProgress');
        const script = configMap.data[healthKey((obj as { kind: string }).kind)]!;
        expect(await lua51Health(script, obj)).to.deep.equal(argo[i]);
      }
    });
  });
});
