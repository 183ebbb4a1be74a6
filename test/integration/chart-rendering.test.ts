// The chart's rendering rules, with a real helm: what values.schema.json refuses (and the message
// a user reads), what each option renders, the render failures the schema cannot express, that
// what renders with every option on is accepted by the API server (server-side dry run), and
// that `helm package` makes a chart that renders the same.
import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILT_IN_ROLE_NAMES } from '../../src/api/v1alpha1/roles.js';
import { checkedLeaseNames } from '../../src/check.js';
import { loadConfig, parseDuration } from '../../src/config.js';
import { CLUSTER_RULES, leaderElectionRules } from '../../src/deploy/rbac.js';
import { CHART, deploymentOf, envOf, podOf, renderChart, renderError, runHelm, type K8sObject } from '../support/chart.js';
import { ensureHelm } from '../support/helm.js';
import { createTestNamespace, crdDocuments, deleteNamespace, kubeClients, kubectl, type KubeClients } from '../support/kube.js';
import { KUBERNETES_VERSION } from '../support/versions.js';

const SCHEMA_ERROR = "values don't meet the specifications of the schema";
const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;
const TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

const byKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
const one = (objects: K8sObject[], kind: string) => {
  const found = byKind(objects, kind);
  expect(found, kind).to.have.length(1);
  return found[0]!;
};

describe('the Helm chart: rendering rules', function () {
  let helm: string;
  before(async function () {
    this.timeout(900_000); // building helm the first time
    helm = await ensureHelm((line) => console.log(`  [helm] ${line}`));
  });
  const render = (sets: string[] = [], setStrings: string[] = [], namespace?: string) => renderChart(helm, { sets, setStrings, ...(namespace ? { namespace } : {}) }).then((r) => r.objects);

  describe('values.schema.json', () => {
    it('refuses wrong types, out-of-range numbers, malformed durations and digests, naming the value', async () => {
      const cases: [string, string][] = [
        ['replicas=two', "at '/replicas': got string, want integer"],
        ['operator.workers=abc', "at '/operator/workers': got string, want integer"],
        ['operator.workers=201', "at '/operator/workers'"],
        ['operator.workers=0', "at '/operator/workers'"],
        ['operator.logLevel=verbose', "at '/operator/logLevel'"],
        ['operator.leaderElection=maybe', "at '/operator/leaderElection'"],
        ['crds.keep=yes', "at '/crds/keep'"],
        ['image.digest=sha256:abc', "at '/image/digest'"],
        ['azure.armEndpoint=http://management.azure.com', "at '/azure/armEndpoint'"],
        ['podDisruptionBudget.maxUnavailable=half', "at '/podDisruptionBudget/maxUnavailable'"],
        ['operator.watchNamespaces={Team_A}', "at '/operator/watchNamespaces/0'"],
      ];
      for (const [set, message] of cases) {
        const error = await renderError(helm, [set]);
        expect(error, set).to.include(SCHEMA_ERROR).and.include(message);
      }
      for (const duration of ['operator.shutdownTimeout=30 s', 'operator.resyncInterval=10min', 'tenantGrants.consentRecheckMax=5m30', 'operator.leaderElectionRetryPeriod=-2s']) {
        expect(await renderError(helm, [], [duration]), duration).to.include(SCHEMA_ERROR).and.include('does not match pattern');
      }
    });

    it('refuses unknown keys at every level the chart defines, and allows global (set by a parent chart)', async () => {
      for (const [set, where] of [['replica=2', "at ''"], ['operator.worker=4', "at '/operator'"], ['crds.install=true', "at '/crds'"], ['serviceAccount.automount=false', "at '/serviceAccount'"], ['networkPolicy.azure.cidr=10.0.0.0/8', "at '/networkPolicy/azure'"], ['livenessProbe.period=5', "at '/livenessProbe'"]] as const) {
        const error = await renderError(helm, [set]);
        expect(error, set).to.include(SCHEMA_ERROR).and.include(where).and.include(`additional properties '${set.split('=')[0]!.split('.').pop()}' not allowed`);
      }
      expect(await renderError(helm, ['podAnnotations.prometheus\\.io/scrape=true'])).to.include("at '/podAnnotations/prometheus.io~1scrape': got boolean, want string");
      const objects = await render(['global.imageRegistry=registry.example', 'global.foo.bar=1']);
      expect(byKind(objects, 'Deployment')).to.have.length(1);
    });

    it('accepts the duration forms the operator parses, and refuses those it does not', async () => {
      // The schema's pattern and the operator's parser agree (src/config.ts parseDuration).
      for (const duration of ['30s', '2m', '1h30m', '500ms', '1.5s', '90', '2h0m0.5s']) {
        expect(parseDuration(duration), duration).to.be.a('number');
        // test.timeout: a duration the operator's settings put no range on.
        await render([], [`test.timeout=${duration}`]);
      }
      for (const duration of ['1d', '', 's', '1m-2s', 'm1']) {
        expect(parseDuration(duration), duration).to.equal(undefined);
        await renderError(helm, [], [`test.timeout=${duration}`]);
      }
    });

    it('takes each duration up to the operator\'s own bounds and not past them (the same edges in the chart and in src/config.ts)', async () => {
      // The operator's variable of each value.
      const variableOf: Record<string, string> = {
        'operator.shutdownTimeout': 'SHUTDOWN_TIMEOUT', 'operator.resyncInterval': 'RESYNC_INTERVAL', 'operator.reconcileTimeout': 'RECONCILE_TIMEOUT',
        'operator.leaderElectionLeaseDuration': 'LEADER_ELECTION_LEASE_DURATION', 'operator.leaderElectionRenewDeadline': 'LEADER_ELECTION_RENEW_DEADLINE',
        'operator.leaderElectionRetryPeriod': 'LEADER_ELECTION_RETRY_PERIOD', 'tenantGrants.consentRecheckInitial': 'CONSENT_RECHECK_INITIAL', 'tenantGrants.consentRecheckMax': 'CONSENT_RECHECK_MAX',
      };
      // [value, lowest ms, highest ms, the neighbours set so that only this value's own range decides]
      const bounds: [string, number, number, string[]][] = [
        ['operator.shutdownTimeout', 0, 600_000, []],
        ['operator.resyncInterval', 1_000, 86_400_000, []],
        ['operator.reconcileTimeout', 1_000, 3_600_000, []],
        ['operator.leaderElectionLeaseDuration', 1_000, 600_000, ['operator.leaderElectionRenewDeadline=500ms', 'operator.leaderElectionRetryPeriod=100ms']],
        ['operator.leaderElectionRetryPeriod', 100, 600_000, ['operator.leaderElectionRenewDeadline=9m', 'operator.leaderElectionLeaseDuration=10m']],
        ['tenantGrants.consentRecheckInitial', 1_000, 3_600_000, ['tenantGrants.consentRecheckMax=24h']],
        ['tenantGrants.consentRecheckMax', 1_000, 86_400_000, ['tenantGrants.consentRecheckInitial=1s']],
      ];
      const envOf = (sets: string[]) => Object.fromEntries(sets.map((set) => { const [key, value] = set.split('=') as [string, string]; return [variableOf[key]!, value]; }));
      for (const [key, min, max, fit] of bounds) {
        for (const [ms, fits] of [[min, true], [max, true], [max + 1, false], ...(min > 0 ? [[min - 1, false]] : [])] as [number, boolean][]) {
          // At the top of its range a retry period leaves no renew deadline longer than 1.2 × it.
          if (key === 'operator.leaderElectionRetryPeriod' && ms >= max) continue;
          const sets = [...fit, `${key}=${ms}ms`];
          const operator = () => loadConfig([], envOf(sets));
          if (fits) {
            expect(operator, `${key}=${ms}ms: the operator takes it`).not.to.throw();
            await render([], sets);
          } else {
            expect(operator, `${key}=${ms}ms: the operator refuses it`).to.throw();
            expect(await renderError(helm, [], sets), `${key}=${ms}ms`).to.include(key);
          }
        }
      }
    });

    it('refuses durations outside the ranges the operator accepts, and leader-election timings it would refuse', async () => {
      const cases: [string, string][] = [
        ['operator.shutdownTimeout=1h', 'operator.shutdownTimeout=1h: the operator accepts 0s to 10m only'],
        ['operator.resyncInterval=500ms', 'operator.resyncInterval=500ms: the operator accepts 1s to 24h only'],
        ['operator.reconcileTimeout=2h', 'operator.reconcileTimeout=2h: the operator accepts 1s to 1h only'],
        ['operator.leaderElectionRetryPeriod=50ms', 'operator.leaderElectionRetryPeriod=50ms'],
        ['operator.leaderElectionRenewDeadline=20s', 'must be longer than operator.leaderElectionRenewDeadline'],
        ['operator.leaderElectionRetryPeriod=9s', 'must be longer than 1.2'],
        ['tenantGrants.consentRecheckMax=10s', 'tenantGrants.consentRecheckMax must be at least'],
      ];
      for (const [set, message] of cases) {
        const [key, value] = set.split('=') as [string, string];
        const variable = { 'operator.shutdownTimeout': 'SHUTDOWN_TIMEOUT', 'operator.resyncInterval': 'RESYNC_INTERVAL', 'operator.reconcileTimeout': 'RECONCILE_TIMEOUT', 'operator.leaderElectionRetryPeriod': 'LEADER_ELECTION_RETRY_PERIOD', 'operator.leaderElectionRenewDeadline': 'LEADER_ELECTION_RENEW_DEADLINE', 'tenantGrants.consentRecheckMax': 'CONSENT_RECHECK_MAX' }[key]!;
        const config = () => loadConfig([], { [variable]: value });
        expect(config, `${set}: the operator refuses it too`).to.throw();
        expect(await renderError(helm, [], [set]), set).to.include(message);
      }
    });

    it('replicaCount fails with a message that names replicas', async () => {
      const error = await renderError(helm, ['replicaCount=3']);
      expect(error).to.include('replicaCount is not a value of this chart: set replicas instead');
    });

    it('takes the policy lists the operator takes, and refuses (before anything is applied) those it would stop on', async () => {
      const tenant = '72f988bf-86f1-41af-91ab-2d7cd011db47';
      const cases: [string, string, string][] = [
        ['policy.allowedShareTenants', 'ALLOWED_SHARE_TENANTS', '*'],
        ['policy.allowedShareTenants', 'ALLOWED_SHARE_TENANTS', `${tenant}, ${tenant.toUpperCase()}`],
        ['policy.allowedShareTenants', 'ALLOWED_SHARE_TENANTS', 'contoso.onmicrosoft.com'],
        ['policy.allowedShareTenants', 'ALLOWED_SHARE_TENANTS', `*,${tenant}`],
        ['policy.allowedShareSubscriptions', 'ALLOWED_SHARE_SUBSCRIPTIONS', `${tenant},not-a-uuid`],
        ['policy.allowedGrantTargetTenants', 'ALLOWED_GRANT_TARGET_TENANTS', tenant],
        ['policy.allowedGrantTargetTenants', 'ALLOWED_GRANT_TARGET_TENANTS', `${tenant}0`],
        ['policy.allowedGrantSourceRoles', 'ALLOWED_GRANT_SOURCE_ROLES', 'Reader, Compute Gallery Image Reader'],
        ['policy.allowedGrantSourceRoles', 'ALLOWED_GRANT_SOURCE_ROLES', `Owner,${tenant}`],
        ['policy.allowedGrantTargetRoles', 'ALLOWED_GRANT_TARGET_ROLES', 'Contributer'],
        ['policy.allowedGrantTargetRoles', 'ALLOWED_GRANT_TARGET_ROLES', 'reader'],
        ['policy.allowedGrantTargetRoles', 'ALLOWED_GRANT_TARGET_ROLES', 'toString'],
        ...BUILT_IN_ROLE_NAMES.map((name): [string, string, string] => ['policy.allowedGrantTargetRoles', 'ALLOWED_GRANT_TARGET_ROLES', name]),
      ];
      for (const [key, variable, value] of cases) {
        const operatorTakes = (() => { try { loadConfig([], { [variable]: value }); return true; } catch { return false; } })();
        const chartTakes = await renderChart(helm, { setStrings: [`${key}=${value.replace(/,/g, '\\,')}`] }).then(() => true, () => false);
        expect(chartTakes, `${key}="${value}": the operator ${operatorTakes ? 'takes' : 'refuses'} it`).to.equal(operatorTakes);
      }
    });

    it('takes the ARM budgets the operator takes, refuses the others, and turns pacing off', async () => {
      const cases: [string, string, string][] = [
        ['azure.pacing.reads', 'ARM_READ_BUDGET', '250/25'],
        ['azure.pacing.reads', 'ARM_READ_BUDGET', '10000/1000'],
        ['azure.pacing.reads', 'ARM_READ_BUDGET', '10001/1'],
        ['azure.pacing.writes', 'ARM_WRITE_BUDGET', '1/1'],
        ['azure.pacing.writes', 'ARM_WRITE_BUDGET', '0/8'],
        ['azure.pacing.writes', 'ARM_WRITE_BUDGET', '160/1001'],
        ['azure.pacing.deletes', 'ARM_DELETE_BUDGET', '160'],
        ['azure.pacing.deletes', 'ARM_DELETE_BUDGET', '160/0.5'],
        ['azure.pacing.deletes', 'ARM_DELETE_BUDGET', ' 0160/08 '],
      ];
      for (const [key, variable, value] of cases) {
        const operatorTakes = (() => { try { loadConfig([], { [variable]: value }); return true; } catch { return false; } })();
        const chartTakes = await renderChart(helm, { setStrings: [`${key}=${value}`] }).then(() => true, () => false);
        expect(chartTakes, `${key}="${value}": the operator ${operatorTakes ? 'takes' : 'refuses'} it`).to.equal(operatorTakes);
      }
      const container = podOf(await render(['azure.pacing.enabled=false'], ['azure.pacing.writes=20/2'])).spec.containers[0]!;
      const config = loadConfig([], envOf(container));
      expect(config.armPacing).to.equal(undefined);
      const paced = loadConfig([], envOf(podOf(await render([], ['azure.pacing.writes=20/2'])).spec.containers[0]!));
      expect(paced.armPacing).to.deep.equal({ reads: { size: 200, refillPerSecond: 20 }, writes: { size: 20, refillPerSecond: 2 }, deletes: { size: 160, refillPerSecond: 8 } });
    });

    it('refuses in extraArgs the flags other objects are derived from, naming the value to set; takes other flags', async () => {
      const cases: [string, string][] = [
        ['--shutdown-timeout=5m', 'operator.shutdownTimeout'],
        ['--leader-elect=false', 'operator.leaderElection'],
        ['--leader-elect', 'operator.leaderElection'],
        ['--leader-election-id=other', 'fullnameOverride'],
        ['--leader-election-namespace=other', 'namespaceOverride'],
        ['--shard-count=2', 'operator.shardCount'],
      ];
      for (const [flag, value] of cases) {
        expect(await renderError(helm, [`extraArgs={${flag}}`]), flag).to.include(`extraArgs: ${flag.split('=')[0]} is set by the chart from ${value}`);
      }
      const objects = await render(['extraArgs={--log-level=debug,--leader-election-lease-duration=30s}']);
      expect(podOf(objects).spec.containers[0]!.args).to.include('--log-level=debug');
    });
  });

  it('refuses leader election off with more than one replica, and renders it with one', async () => {
    expect(await renderError(helm, ['operator.leaderElection=false'])).to.include('operator.leaderElection=false with replicas=2 would run 2 operators').and.include('set replicas=1');
    expect(await renderError(helm, ['operator.leaderElection=false', 'replicas=3'])).to.include('replicas=3');
    const objects = await render(['operator.leaderElection=false', 'replicas=1']);
    expect(envOf(podOf(objects).spec.containers[0]!)['LEADER_ELECT']).to.equal('false');
    expect(deploymentOf(objects).spec.replicas).to.equal(1);
  });

  it('hash-range sharding: off by default; operator.shardCount reaches the operator and the Role names the range Leases; refused without leader election or with fewer replicas than ranges', async () => {
    const leaseRole = (objects: K8sObject[]) => byKind(objects, 'Role').find((r) => r.metadata.name.endsWith('-leader-election'))!['rules'];
    const unsharded = await render();
    const unshardedContainer = podOf(unsharded).spec.containers[0]!;
    expect(loadConfig(unshardedContainer.args, envOf(unshardedContainer)).shardCount).to.equal(0);
    expect(leaseRole(unsharded)).to.deep.equal(leaderElectionRules('gso'));

    const sharded = await render(['operator.shardCount=3', 'replicas=4']);
    const container = podOf(sharded).spec.containers[0]!;
    const config = loadConfig(container.args, envOf(container));
    expect(config.shardCount, 'as the operator reads it').to.equal(3);
    expect(leaseRole(sharded), 'the Leases the operator campaigns for, by name').to.deep.equal(leaderElectionRules(config.leaderElectionId, 3));
    expect(deploymentOf(sharded).spec.replicas).to.equal(4);
    // helm test's check looks for a live holder of each range Lease (the leader Lease is never
    // made then), and its Role lets it read exactly those.
    const withTests = (await renderChart(helm, { sets: ['operator.shardCount=3', 'replicas=4'], withTests: true })).objects;
    const testPod = withTests.find((o) => o.kind === 'Pod')! as unknown as { spec: { containers: { args: string[] }[] } };
    const checkArgs = testPod.spec.containers[0]!.args.filter((a) => a !== 'check' && !a.startsWith('--timeout'));
    const checked = checkedLeaseNames(loadConfig(checkArgs, {}));
    expect(checked).to.deep.equal(['gso-shard-0-of-3', 'gso-shard-1-of-3', 'gso-shard-2-of-3']);
    const testRole = byKind(withTests, 'Role').find((r) => r.metadata.name.endsWith('-test'))!['rules'] as { resources: string[]; resourceNames: string[] }[];
    expect(testRole.find((r) => r.resources.includes('leases'))!.resourceNames).to.deep.equal(checked);

    expect(await renderError(helm, ['operator.shardCount=3'])).to.include('operator.shardCount=3 with replicas=2 would leave 1 hash ranges without a replica');
    expect(await renderError(helm, ['operator.shardCount=1', 'replicas=1', 'operator.leaderElection=false'])).to.include('operator.shardCount=1 needs operator.leaderElection=true');
    expect(await renderError(helm, ['operator.shardCount=65', 'replicas=65'])).to.include(SCHEMA_ERROR).and.include("at '/operator/shardCount'");
  });

  it('derives terminationGracePeriodSeconds from operator.shutdownTimeout: its seconds, rounded up, plus 15', async () => {
    const expected: Record<string, number> = { '30s': 45, '2m': 135, '10m': 615, '500ms': 16, '90': 105, '1m30.5s': 106 };
    for (const [timeout, seconds] of Object.entries(expected)) {
      expect(Math.ceil(parseDuration(timeout)! / 1000) + 15, `${timeout} as the operator reads it`).to.equal(seconds);
      const objects = await render([], [`operator.shutdownTimeout=${timeout}`]);
      expect(podOf(objects).spec.terminationGracePeriodSeconds, timeout).to.equal(seconds);
      expect(envOf(podOf(objects).spec.containers[0]!)['SHUTDOWN_TIMEOUT']).to.equal(timeout);
    }
  });

  describe('a shard install (one release per shard, CRDs from one release only)', () => {
    const shard = async (release: string, sets: string[], setStrings: string[] = []) => (await renderChart(helm, { release, sets, setStrings })).objects;

    it('passes the label selector to the operator, with its own Deployment and Lease, and no CRDs', async () => {
      const installs = {
        'gso-shard1': await shard('gso-shard1', ['crds.enabled=false', 'operator.watchLabelSelector=galleryshare.io/shard=shard1']),
        'gso-shard2': await shard('gso-shard2', ['crds.enabled=false'], ['operator.watchLabelSelector=galleryshare.io/shard in (shard2\\,shard3)']),
        gso: await shard('gso', [], ['operator.watchLabelSelector=!galleryshare.io/shard']),
      };
      const selectors: Record<string, string> = { 'gso-shard1': 'galleryshare.io/shard=shard1', 'gso-shard2': 'galleryshare.io/shard in (shard2,shard3)', gso: '!galleryshare.io/shard' };
      const names = new Set<string>();
      for (const [release, objects] of Object.entries(installs)) {
        const container = podOf(objects).spec.containers[0]!;
        const env = envOf(container);
        expect(env['WATCH_LABEL_SELECTOR'], release).to.equal(selectors[release]);
        const config = loadConfig(container.args, env);
        expect(config.watchLabelSelector, `${release}: as the operator reads it`).to.equal(selectors[release]);
        expect(config.leaderElectionId, `${release}: its own Lease`).to.equal(release);
        expect(config.leaderElect).to.equal(true);
        expect(byKind(objects, 'CustomResourceDefinition'), release).to.have.length(release === 'gso' ? 3 : 0);
        // Side by side in one namespace: no two releases render an object of the same kind and name.
        for (const o of objects) {
          const id = `${o.kind}/${o.metadata.name}`;
          if (o.kind === 'CustomResourceDefinition') continue;
          expect(names.has(id), `${release}: ${id} is rendered by another shard's release too`).to.equal(false);
          names.add(id);
        }
      }
      // Without the value, every object (the variable is empty, as the operator's default).
      const unsharded = envOf(podOf(await render()).spec.containers[0]!);
      expect(unsharded['WATCH_LABEL_SELECTOR']).to.equal('');
      expect(loadConfig([], unsharded).watchLabelSelector).to.equal('');
    });

    it('takes the selectors the operator takes, and refuses (before anything is applied) those it would stop on', async () => {
      expect(await renderError(helm, ['operator.watchLabelSelector=5'])).to.include(SCHEMA_ERROR).and.include("at '/operator/watchLabelSelector'");
      const selectors = [
        '',
        'galleryshare.io/shard=shard1',
        '!galleryshare.io/shard',
        ' galleryshare.io/shard == a , tier!=web,env',
        'galleryshare.io/shard in (a, b),env notin (prod,)',
        'shard in (,a)',
        'f=',
        'gen>2,gen<-10',
        `shard=${'x'.repeat(63)}`,
        `shard=${'x'.repeat(64)}`,
        'galleryshare.io/shard=shard 1',
        '=shard1',
        'shard1,',
        'a/b/c=d',
        'Galleryshare.IO/shard=x',
        '-shard=x',
        'shard=-x',
        'shard in ()',
        'shard in (a',
        'shard in a',
        'shardin(a)',
        'gen>x',
        'a b',
        '!a=b',
        '! a',
      ];
      for (const selector of selectors) {
        const operatorTakes = (() => { try { loadConfig([], { WATCH_LABEL_SELECTOR: selector }); return true; } catch { return false; } })();
        const chartTakes = await renderChart(helm, { setStrings: [`operator.watchLabelSelector=${selector.replace(/,/g, '\\,')}`] }).then(() => true, () => false);
        expect(chartTakes, `"${selector}": the operator ${operatorTakes ? 'takes' : 'refuses'} it`).to.equal(operatorTakes);
      }
    });
  });

  describe('CRDs', () => {
    it('are rendered from the generated CRDs, labelled for Helm and kept on uninstall by default', async () => {
      const crds = byKind(await render(), 'CustomResourceDefinition');
      const generated = crdDocuments();
      expect(crds.map((c) => c.metadata.name).sort()).to.deep.equal(generated.map((c) => c.metadata!.name!).sort());
      for (const crd of crds) {
        const source = generated.find((c) => c.metadata!.name === crd.metadata.name)!;
        expect(crd['spec'], crd.metadata.name).to.deep.equal(JSON.parse(JSON.stringify(source.spec)));
        expect(crd.metadata.annotations).to.deep.equal({ 'helm.sh/resource-policy': 'keep', 'argocd.argoproj.io/sync-options': 'Prune=false' });
        expect(crd.metadata.labels).to.include({ 'app.kubernetes.io/managed-by': 'Helm', 'app.kubernetes.io/instance': 'gso', 'app.kubernetes.io/part-of': 'gallery-share-operator' });
      }
    });

    it('crds.keep=false drops the keep policy; crds.enabled=false renders none', async () => {
      for (const crd of byKind(await render(['crds.keep=false']), 'CustomResourceDefinition')) expect(crd.metadata.annotations, crd.metadata.name).to.equal(undefined);
      expect(byKind(await render(['crds.keep=false']), 'CustomResourceDefinition')).to.have.length(3);
      expect(byKind(await render(['crds.enabled=false']), 'CustomResourceDefinition')).to.deep.equal([]);
    });
  });

  it('image: the tag defaults to appVersion, and a digest wins over the tag', async () => {
    const image = async (sets: string[]) => podOf(await render(sets)).spec.containers[0]!.image;
    expect(await image([])).to.match(/^ghcr\.io\/gallery-share-operator\/gallery-share-operator:\d+\.\d+\.\d+/);
    expect(await image(['image.tag=v9'])).to.equal('ghcr.io/gallery-share-operator/gallery-share-operator:v9');
    expect(await image(['image.tag=v9', `image.digest=${DIGEST}`, 'image.repository=registry.example/gso'])).to.equal(`registry.example/gso@${DIGEST}`);
  });

  it('names: objects after the release or fullnameOverride, nameOverride in the name label, namespaceOverride for every namespaced object and the Lease', async () => {
    const defaults = await render();
    for (const o of defaults) if (o.kind !== 'CustomResourceDefinition') expect(o.metadata.name, o.kind).to.match(/^gso(-|$)/);
    const objects = await render(['fullnameOverride=gallery', 'nameOverride=gallery-op', 'namespaceOverride=elsewhere'], [], 'release-ns');
    for (const o of objects) {
      if (o.kind === 'CustomResourceDefinition') continue;
      expect(o.metadata.name, o.kind).to.match(/^gallery(-|$)/);
      expect(o.metadata.labels?.['app.kubernetes.io/name'], o.kind).to.equal('gallery-op');
      if (!['ClusterRole', 'ClusterRoleBinding'].includes(o.kind)) expect(o.metadata.namespace, o.kind).to.equal('elsewhere');
    }
    expect(deploymentOf(objects).spec.template.metadata.labels['app.kubernetes.io/name']).to.equal('gallery-op');
    const config = loadConfig(podOf(objects).spec.containers[0]!.args, {});
    expect(config.leaderElectionNamespace).to.equal('elsewhere');
    expect(config.leaderElectionId).to.equal('gallery');
    for (const binding of [...byKind(objects, 'ClusterRoleBinding'), ...byKind(objects, 'RoleBinding')]) {
      expect(binding['subjects'], binding.kind).to.deep.equal([{ kind: 'ServiceAccount', name: 'gallery', namespace: 'elsewhere' }]);
    }
  });

  describe('ServiceAccount and RBAC', () => {
    it('serviceAccount.create=false: no ServiceAccount, the named one in the pod and the bindings; a name is required', async () => {
      expect(await renderError(helm, ['serviceAccount.create=false'])).to.include('serviceAccount.name: with serviceAccount.create=false');
      const objects = await render(['serviceAccount.create=false', 'serviceAccount.name=platform-operator']);
      expect(byKind(objects, 'ServiceAccount')).to.deep.equal([]);
      expect(podOf(objects).spec.serviceAccountName).to.equal('platform-operator');
      for (const binding of [...byKind(objects, 'ClusterRoleBinding'), ...byKind(objects, 'RoleBinding')]) {
        expect((binding['subjects'] as { name: string }[])[0]!.name).to.equal('platform-operator');
      }
      expect(podOf(await render(['serviceAccount.name=mine'])).spec.serviceAccountName).to.equal('mine');
    });

    it('automountServiceAccountToken=false: the ServiceAccount mounts none, the operator pod mounts a projected token where the kubelet would', async () => {
      expect(one(await render(), 'ServiceAccount')['automountServiceAccountToken']).to.equal(true);
      expect(podOf(await render()).spec.volumes).to.equal(undefined);
      const objects = await render(['serviceAccount.automountServiceAccountToken=false']);
      expect(one(objects, 'ServiceAccount')['automountServiceAccountToken']).to.equal(false);
      const pod = podOf(objects);
      expect(pod.spec.automountServiceAccountToken).to.equal(false);
      const volume = pod.spec.volumes!.find((v) => v.name === 'kube-api-access') as unknown as { projected: { sources: Record<string, unknown>[] } };
      expect(volume.projected.sources.map((s) => Object.keys(s)[0])).to.deep.equal(['serviceAccountToken', 'configMap', 'downwardAPI']);
      expect(pod.spec.containers[0]!.volumeMounts).to.deep.include({ name: 'kube-api-access', mountPath: TOKEN_PATH, readOnly: true });
    });

    it('rbac.create=false renders no RBAC', async () => {
      const kinds = (await render(['rbac.create=false'])).map((o) => o.kind);
      for (const kind of ['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']) expect(kinds).not.to.include(kind);
    });

    it('all namespaces: the generated rules in a ClusterRole; watched namespaces: a Role in each, and cluster-wide only the CRDs by name', async () => {
      const all = await render();
      expect(one(all, 'ClusterRole')['rules']).to.deep.equal(CLUSTER_RULES);
      expect(byKind(all, 'Role').map((r) => r.metadata.name)).to.deep.equal(['gso-leader-election']);

      const objects = await render(['operator.watchNamespaces={team-a,team-b}']);
      const clusterRules = one(objects, 'ClusterRole')['rules'] as typeof CLUSTER_RULES;
      expect(clusterRules.flatMap((r) => r.resources)).to.deep.equal(['customresourcedefinitions']);
      const roles = byKind(objects, 'Role').filter((r) => !r.metadata.name.endsWith('-leader-election'));
      expect(roles.map((r) => r.metadata.namespace)).to.deep.equal(['team-a', 'team-b']);
      for (const role of roles) {
        // Together the two grant exactly what the cluster-wide ClusterRole grants.
        expect([...(role['rules'] as typeof CLUSTER_RULES), ...clusterRules]).to.have.deep.members(CLUSTER_RULES);
        const binding = byKind(objects, 'RoleBinding').find((b) => b.metadata.namespace === role.metadata.namespace)!;
        expect(binding['roleRef']).to.deep.equal({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name });
        expect(binding['subjects']).to.deep.equal([{ kind: 'ServiceAccount', name: 'gso', namespace: 'gso-system' }]);
      }
    });
  });

  describe('PodDisruptionBudget', () => {
    it('with more than one replica, maxUnavailable 1 by default or minAvailable when set; none for one replica or when disabled', async () => {
      expect(one(await render(), 'PodDisruptionBudget')['spec']).to.deep.equal({ maxUnavailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': 'gallery-share-operator', 'app.kubernetes.io/instance': 'gso' } } });
      expect((one(await render(['podDisruptionBudget.minAvailable=1', 'replicas=3']), 'PodDisruptionBudget')['spec'])).to.include({ minAvailable: 1 }).and.not.have.property('maxUnavailable');
      expect((one(await render(['podDisruptionBudget.maxUnavailable=50%']), 'PodDisruptionBudget')['spec'] as Record<string, unknown>)['maxUnavailable']).to.equal('50%');
      expect(byKind(await render(['replicas=1']), 'PodDisruptionBudget')).to.deep.equal([]);
      expect(byKind(await render(['podDisruptionBudget.enabled=false']), 'PodDisruptionBudget')).to.deep.equal([]);
    });
  });

  it('pod and Deployment options: labels, annotations, priority class, spread, strategy, history, probes', async () => {
    const objects = await render([
      'commonLabels.team=platform',
      'deploymentLabels.tier=control',
      'deploymentAnnotations.owner=platform',
      'priorityClassName=system-cluster-critical',
      'topologySpreadConstraints[0].maxSkew=1',
      'topologySpreadConstraints[0].topologyKey=topology.kubernetes.io/zone',
      'topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway',
      'strategy.type=Recreate',
      'revisionHistoryLimit=3',
      'livenessProbe.periodSeconds=60',
      'readinessProbe.httpGet=null',
      'readinessProbe.tcpSocket.port=metrics',
    ], [
      // Labels and annotations are strings (the schema refuses --set's true and false).
      'podLabels.sidecar\\.istio\\.io/inject=false',
      'podAnnotations.prometheus\\.io/scrape=true',
    ]);
    for (const o of objects) expect(o.metadata.labels?.['team'], `${o.kind} ${o.metadata.name}`).to.equal('platform');
    // commonLabels and deploymentLabels never replace the chart's own labels.
    for (const o of await render(['commonLabels.app\\.kubernetes\\.io/name=other', 'commonLabels.team=platform', 'deploymentLabels.app\\.kubernetes\\.io/instance=other'])) {
      expect(o.metadata.labels, `${o.kind} ${o.metadata.name}`).to.include({ 'app.kubernetes.io/name': 'gallery-share-operator', 'app.kubernetes.io/instance': 'gso', team: 'platform' });
    }
    const deployment = deploymentOf(objects);
    expect(deployment.metadata.labels).to.include({ tier: 'control', team: 'platform', 'app.kubernetes.io/instance': 'gso' });
    expect(deployment.metadata.annotations).to.deep.equal({ owner: 'platform' });
    expect(deployment.spec.strategy).to.deep.equal({ type: 'Recreate' });
    expect(deployment.spec.revisionHistoryLimit).to.equal(3);
    const pod = deployment.spec.template;
    expect(pod.metadata.labels).to.deep.equal({ 'app.kubernetes.io/name': 'gallery-share-operator', 'app.kubernetes.io/instance': 'gso', team: 'platform', 'sidecar.istio.io/inject': 'false' });
    expect(pod.metadata.annotations).to.deep.equal({ 'prometheus.io/scrape': 'true' });
    expect(pod.spec.priorityClassName).to.equal('system-cluster-critical');
    expect(pod.spec.topologySpreadConstraints).to.deep.equal([{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { 'app.kubernetes.io/name': 'gallery-share-operator', 'app.kubernetes.io/instance': 'gso' } } }]);
    const container = pod.spec.containers[0]!;
    expect(container.livenessProbe).to.deep.equal({ httpGet: { path: '/healthz', port: 'metrics' }, periodSeconds: 60 });
    expect(container.readinessProbe).to.deep.equal({ tcpSocket: { port: 'metrics' }, periodSeconds: 10 });
    // Without the options, none of them is there.
    const plain = deploymentOf(await render());
    expect(plain.metadata.annotations).to.equal(undefined);
    expect(plain.spec.strategy).to.equal(undefined);
    expect(plain.spec.template.spec.priorityClassName).to.equal(undefined);
    expect(plain.spec.template.spec.topologySpreadConstraints).to.equal(undefined);
  });

  it('operator settings: leader-election timings, reconcile timeout, extra args, env, volumes and mounts reach the operator', async () => {
    const objects = await render(
      [
        'extraArgs={--log-level=debug}',
        'extraEnv[0].name=HTTPS_PROXY',
        'extraEnv[0].value=http://proxy.example:3128',
        'extraVolumes[0].name=client-cert',
        'extraVolumes[0].secret.secretName=operator-cert',
        'extraVolumeMounts[0].name=client-cert',
        'extraVolumeMounts[0].mountPath=/etc/azure-cert',
        'azure.caConfigMap=azure-ca',
      ],
      ['operator.leaderElectionLeaseDuration=30s', 'operator.leaderElectionRenewDeadline=20s', 'operator.leaderElectionRetryPeriod=4s', 'operator.reconcileTimeout=3m'],
    );
    const pod = podOf(objects);
    const container = pod.spec.containers[0]!;
    const env = envOf(container);
    expect(env['HTTPS_PROXY']).to.equal('http://proxy.example:3128');
    const config = loadConfig(container.args, env, () => '-----BEGIN CERTIFICATE-----\n');
    expect(config.logLevel, 'an extra flag wins over the chart variable').to.equal('debug');
    expect([config.leaseDurationMs, config.renewDeadlineMs, config.retryPeriodMs]).to.deep.equal([30_000, 20_000, 4_000]);
    expect(config.reconcileTimeoutMs).to.equal(180_000);
    expect(pod.spec.volumes!.map((v) => v.name)).to.deep.equal(['azure-ca', 'client-cert']);
    expect(container.volumeMounts!.map((m) => m.mountPath)).to.deep.equal(['/etc/gallery-share-operator/ca', '/etc/azure-cert']);
  });

  it('NetworkPolicy: none by default; opted in, ingress to the metrics port only and egress to DNS, the API server and Azure', async () => {
    expect(byKind(await render(), 'NetworkPolicy')).to.deep.equal([]);
    const policy = one(await render(['networkPolicy.enabled=true', 'networkPolicy.apiServer.cidrs={10.0.0.1/32}', 'networkPolicy.azure.cidrs={20.0.0.0/8}', 'networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.name=monitoring']), 'NetworkPolicy');
    const spec = policy['spec'] as { policyTypes: string[]; ingress: { ports: unknown[]; from: unknown[] }[]; egress: { ports: { port: number | string }[]; to?: unknown[] }[] };
    expect(spec.policyTypes).to.deep.equal(['Ingress', 'Egress']);
    expect(spec.ingress).to.deep.equal([{ ports: [{ port: 'metrics', protocol: 'TCP' }], from: [{ namespaceSelector: { matchLabels: { name: 'monitoring' } } }] }]);
    expect(spec.egress.map((r) => r.ports.map((p) => p.port))).to.deep.equal([[53, 53], [443, 6443], [443]]);
    expect(spec.egress[1]!.to).to.deep.equal([{ ipBlock: { cidr: '10.0.0.1/32' } }]);
    expect(spec.egress[2]!.to).to.deep.equal([{ ipBlock: { cidr: '20.0.0.0/8' } }]);
  });

  it('the helm test Pod is selected by none of the operator\'s selectors (NetworkPolicy, PodDisruptionBudget, Deployment)', async () => {
    const { objects } = await renderChart(helm, { withTests: true, sets: ['networkPolicy.enabled=true', 'operator.leaderElection=false', 'replicas=1'] });
    const testPod = objects.find((o) => o.kind === 'Pod')!;
    const selector = (deploymentOf(objects).spec as unknown as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
    const labels = testPod.metadata.labels ?? {};
    expect(Object.entries(selector).every(([k, v]) => labels[k] === v), 'the test Pod matches the operator selector').to.equal(false);
  });

  describe('against the API server', () => {
    let clients: KubeClients;
    const namespaces: string[] = [];
    let dir: string;
    before(() => {
      clients = kubeClients();
      dir = mkdtempSync(join(tmpdir(), 'gso-chart-render-'));
    });
    after(async () => {
      for (const ns of namespaces) await deleteNamespace(clients, ns);
      rmSync(dir, { recursive: true, force: true });
    });

    it('what renders with every option on passes a server-side dry run', async () => {
      const [namespace, watchedA, watchedB] = [await createTestNamespace(clients, 'chart-all'), await createTestNamespace(clients, 'chart-wa'), await createTestNamespace(clients, 'chart-wb')];
      namespaces.push(namespace, watchedA, watchedB);
      const { yaml, objects } = await renderChart(helm, {
        namespace,
        sets: [
          `operator.watchNamespaces={${watchedA},${watchedB}}`,
          'commonLabels.team=platform', 'deploymentLabels.tier=control', 'deploymentAnnotations.owner=platform',
          'podLabels.extra=yes', 'podAnnotations.note=yes', 'priorityClassName=system-cluster-critical',
          'topologySpreadConstraints[0].maxSkew=1', 'topologySpreadConstraints[0].topologyKey=topology.kubernetes.io/zone', 'topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway',
          'strategy.type=RollingUpdate', 'strategy.rollingUpdate.maxUnavailable=0', 'strategy.rollingUpdate.maxSurge=1', 'revisionHistoryLimit=3',
          'replicas=3', 'podDisruptionBudget.minAvailable=2',
          `image.digest=${DIGEST}`, 'fullnameOverride=gallery', 'nameOverride=gallery-op',
          'serviceAccount.automountServiceAccountToken=false', 'serviceAccount.annotations.azure\\.workload\\.identity/client-id=05de60fa-0000-4000-8000-000000000001',
          'azure.useWorkloadIdentity=true', 'azure.caConfigMap=azure-ca', 'azure.credentialsSecret=operator-identity',
          'extraArgs={--log-level=debug}', 'extraEnv[0].name=HTTPS_PROXY', 'extraEnv[0].value=http://proxy.example:3128',
          'extraVolumes[0].name=scratch', 'extraVolumes[0].emptyDir.medium=Memory', 'extraVolumeMounts[0].name=scratch', 'extraVolumeMounts[0].mountPath=/scratch',
          'livenessProbe.timeoutSeconds=5', 'readinessProbe.failureThreshold=6',
          'networkPolicy.enabled=true', 'networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.name=monitoring', 'networkPolicy.dnsTo[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=kube-system',
          'networkPolicy.extraEgress[0].ports[0].port=3128',
          'nodeSelector.kubernetes\\.io/os=linux', 'tolerations[0].operator=Exists',
        ],
        setStrings: ['operator.shutdownTimeout=2m', 'operator.reconcileTimeout=3m', 'operator.leaderElectionLeaseDuration=30s'],
      });
      // The helm test hook's objects are dry-run in check-mode.test.ts (its Pod needs its
      // ServiceAccount to exist first, which a dry run of one file does not create).
      const kinds = objects.map((o) => o.kind).sort();
      expect(kinds).to.deep.equal([
        'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'CustomResourceDefinition', 'CustomResourceDefinition', 'Deployment', 'NetworkPolicy', 'PodDisruptionBudget',
        'Role', 'Role', 'Role', 'RoleBinding', 'RoleBinding', 'RoleBinding', 'Service', 'ServiceAccount',
      ]);
      const file = join(dir, 'every-option.yaml');
      writeFileSync(file, yaml);
      const applied = await kubectl(['apply', '--dry-run=server', '-f', file]);
      expect(applied.stdout.trim().split('\n')).to.have.length(objects.length);
      expect(podOf(objects).spec.terminationGracePeriodSeconds).to.equal(135);
    });
  });

  it('helm package makes a chart that lints and renders the same as the directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gso-chart-package-'));
    try {
      await runHelm(helm, ['package', CHART, '-d', dir]);
      const [archive] = readdirSync(dir);
      expect(archive).to.match(/^gallery-share-operator-\d+\.\d+\.\d+\.tgz$/);
      // The metadata chart indexes (Artifact Hub) show.
      const metadata = await runHelm(helm, ['show', 'chart', join(dir, archive!)]);
      for (const field of ['home:', 'sources:', 'keywords:', 'maintainers:', 'artifacthub.io/crds:', 'kubeVersion:']) expect(metadata).to.include(field);
      const lint = await runHelm(helm, ['lint', join(dir, archive!), '--kube-version', KUBERNETES_VERSION]);
      expect(lint).to.include('0 chart(s) failed');
      expect((await renderChart(helm, { chart: join(dir, archive!) })).yaml).to.equal((await renderChart(helm)).yaml);
      // The schema travels with the package.
      expect(await renderChart(helm, { chart: join(dir, archive!), sets: ['replicas=two'] }).catch((err: Error) => err.message)).to.include(SCHEMA_ERROR);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
