// The chart's monitoring objects, with a real helm, a real promtool (both built from Go modules)
// and the real API server: the ServiceMonitor or PodMonitor, the PrometheusRule and the Grafana
// dashboard render only when asked for, and the Prometheus Operator's kinds only where the
// cluster serves them; they select what the chart's Service and pods carry; the API server
// accepts them (stand-in monitoring CRDs installed for the test and removed after); promtool
// checks the rules and runs unit tests in which each alert fires and stays silent; and the
// dashboard queries only metrics the operator exports, in PromQL that promtool parses.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import { OperatorMetrics } from '../../src/runtime/metrics.js';
import { ensureHelm } from '../support/helm.js';
import { createTestNamespace, deleteNamespace, kubeClients, kubectl, repoRoot, testKubeconfigPath, type KubeClients } from '../support/kube.js';
import { ensurePromtool } from '../support/promtool.js';
import { KUBERNETES_VERSION } from '../support/versions.js';

const execFileAsync = promisify(execFile);
const CHART = join(repoRoot, 'charts/gallery-share-operator');
const FIXTURES = join(repoRoot, 'test/fixtures/monitoring');
const MONITORING_KINDS = ['ServiceMonitor', 'PodMonitor', 'PrometheusRule'] as const;
const API_VERSIONS = MONITORING_KINDS.map((kind) => `monitoring.coreos.com/v1/${kind}`);

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}
interface Endpoint { port: string; path: string; interval?: string; scrapeTimeout?: string; relabelings?: { targetLabel: string; replacement: string }[] }
interface Rule { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
interface RuleGroup { name: string; rules: Rule[] }
interface Dashboard { panels: { type: string; targets?: { expr: string }[] }[]; templating: { list: { name: string; query?: { query: string } | string }[] } }

/**
 * The metric names a PromQL expression reads: identifiers left once strings, label matchers,
 * ranges and grouping clauses are taken out, other than function names (followed by a
 * parenthesis), keywords, numbers and durations.
 */
function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\b\d[\w.]*/g, ' '); // numbers and durations (0.99, 5m)
  const keywords = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);
  const names = new Set<string>();
  for (const m of stripped.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    if (m[2] || keywords.has(m[1]!.toLowerCase())) continue;
    names.add(m[1]!);
  }
  return [...names];
}

describe('the Helm chart: monitoring', function () {
  let helm: string;
  let promtool: string;
  let clients: KubeClients;
  let dir: string;
  const namespaces: string[] = [];

  const helmRun = async (args: string[]) => (await execFileAsync(helm, ['--kubeconfig', testKubeconfigPath(), ...args], { timeout: 120_000 })).stdout;
  async function render(sets: string[], options: { apiVersions?: string[]; namespace?: string; release?: string; valuesFiles?: string[] } = {}): Promise<{ yaml: string; objects: K8sObject[] }> {
    const yaml = await helmRun([
      'template', options.release ?? 'gso', CHART, '-n', options.namespace ?? 'gso-system', '--kube-version', KUBERNETES_VERSION,
      ...(options.apiVersions ?? []).flatMap((v) => ['--api-versions', v]),
      ...(options.valuesFiles ?? []).flatMap((f) => ['-f', f]),
      ...sets.flatMap((s) => ['--set', s]),
    ]);
    return { yaml, objects: parseAllDocuments(yaml).map((d) => d.toJS() as K8sObject).filter(Boolean) };
  }
  const only = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
  const one = (objects: K8sObject[], kind: string) => {
    const found = only(objects, kind);
    expect(found, kind).to.have.length(1);
    return found[0]!;
  };
  const everything = ['metrics.serviceMonitor.enabled=true', 'prometheusRule.enabled=true', 'grafanaDashboard.enabled=true'];
  const groupsOf = (objects: K8sObject[]) => (one(objects, 'PrometheusRule').spec as { groups: RuleGroup[] }).groups;
  const promtoolRun = (args: string[], cwd = dir) => execFileAsync(promtool, args, { cwd, timeout: 120_000 });

  before(async function () {
    this.timeout(1_800_000); // building helm and promtool the first time
    const log = (line: string) => console.log(`  [tools] ${line}`);
    [helm, promtool] = await Promise.all([ensureHelm(log), ensurePromtool(log)]);
    clients = kubeClients();
    dir = mkdtempSync(join(tmpdir(), 'gso-chart-monitoring-'));
  });
  after(async () => {
    for (const ns of namespaces) await deleteNamespace(clients, ns);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('renders no monitoring object by default, and the Prometheus Operator kinds only where the cluster serves them', async () => {
    const byDefault = await render([], { apiVersions: API_VERSIONS });
    for (const kind of [...MONITORING_KINDS, 'ConfigMap']) expect(only(byDefault.objects, kind), `${kind} by default`).to.deep.equal([]);

    const withoutKinds = await render([...everything, 'metrics.serviceMonitor.enabled=false', 'metrics.podMonitor.enabled=true']);
    for (const kind of MONITORING_KINDS) expect(only(withoutKinds.objects, kind), `${kind} on a cluster without monitoring.coreos.com/v1`).to.deep.equal([]);
    expect(only(withoutKinds.objects, 'ConfigMap').map((c) => c.metadata.name), 'the dashboard needs no CRD').to.deep.equal(['gso-dashboard']);

    // Each kind is looked up by itself: a cluster with ServiceMonitor but not PrometheusRule gets only the former.
    const partial = await render(everything, { apiVersions: ['monitoring.coreos.com/v1/ServiceMonitor'] });
    expect(only(partial.objects, 'ServiceMonitor')).to.have.length(1);
    expect(only(partial.objects, 'PrometheusRule')).to.deep.equal([]);
  });

  it('refuses to render a ServiceMonitor and a PodMonitor together', async () => {
    const failure = await render(['metrics.serviceMonitor.enabled=true', 'metrics.podMonitor.enabled=true'], { apiVersions: API_VERSIONS }).then(
      () => undefined,
      (err: Error & { stderr?: string }) => err.stderr ?? err.message,
    );
    expect(failure).to.include('metrics.serviceMonitor.enabled and metrics.podMonitor.enabled are both true: choose one');
  });

  it('scrapes the Service and the pods the chart makes, with the labels, interval and timeout asked for', async () => {
    const sets = ['metrics.serviceMonitor.labels.release=kube-prometheus-stack', 'metrics.serviceMonitor.interval=30s', 'metrics.serviceMonitor.scrapeTimeout=10s'];
    const { objects } = await render(['metrics.serviceMonitor.enabled=true', ...sets], { apiVersions: API_VERSIONS });
    const monitor = one(objects, 'ServiceMonitor');
    const service = one(objects, 'Service') as K8sObject & { spec: { ports: { name: string }[] } };
    expect(monitor.metadata.labels).to.include({ release: 'kube-prometheus-stack', 'app.kubernetes.io/instance': 'gso' });
    const spec = monitor.spec as { selector: { matchLabels: Record<string, string> }; namespaceSelector: { matchNames: string[] }; endpoints: Endpoint[] };
    expect(service.metadata.labels, 'the selector picks the metrics Service').to.include(spec.selector.matchLabels);
    expect(spec.namespaceSelector.matchNames).to.deep.equal(['gso-system']);
    expect(service.spec.ports.map((p) => p.name), 'by its port name').to.include(spec.endpoints[0]!.port);
    expect(spec.endpoints[0]).to.deep.include({ path: '/metrics', interval: '30s', scrapeTimeout: '10s' });
    expect(spec.endpoints[0]!.relabelings, 'the job the alerts select').to.deep.equal([{ targetLabel: 'job', replacement: 'gso' }]);

    const pods = await render(['metrics.podMonitor.enabled=true', 'metrics.podMonitor.labels.team=platform'], { apiVersions: API_VERSIONS });
    expect(only(pods.objects, 'ServiceMonitor')).to.deep.equal([]);
    const podMonitor = one(pods.objects, 'PodMonitor');
    expect(podMonitor.metadata.labels).to.include({ team: 'platform' });
    const podSpec = podMonitor.spec as { selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: Endpoint[] };
    const template = (one(pods.objects, 'Deployment').spec as { template: { metadata: { labels: Record<string, string> }; spec: { containers: { ports: { name: string }[] }[] } } }).template;
    expect(template.metadata.labels, "the selector picks the Deployment's pods").to.include(podSpec.selector.matchLabels);
    expect(template.spec.containers[0]!.ports.map((p) => p.name)).to.include(podSpec.podMetricsEndpoints[0]!.port);
    expect(podSpec.podMetricsEndpoints[0]).to.not.have.any.keys('interval', 'scrapeTimeout');
  });

  it('renders alerts that promtool accepts, scoped to the release, each one switchable, with extra rules added', async () => {
    const { objects } = await render(['metrics.podMonitor.enabled=true', 'prometheusRule.enabled=true', 'prometheusRule.labels.release=kube-prometheus-stack'], { apiVersions: API_VERSIONS });
    const rule = one(objects, 'PrometheusRule');
    expect(rule.metadata.labels).to.include({ release: 'kube-prometheus-stack' });
    const groups = groupsOf(objects);
    const alerts = groups.flatMap((g) => g.rules.map((r) => r.alert));
    expect(alerts).to.deep.equal(['GalleryShareObjectsStalled', 'GalleryShareOperatorReconcileErrors', 'GalleryShareAzureThrottled', 'GalleryShareOperatorNoLeader']);
    for (const r of groups[0]!.rules) expect(r.expr, `${r.alert} reads this release's series only`).to.include('namespace="gso-system", job="gso"');
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups }));
    const checked = await promtoolRun(['check', 'rules', 'rules.yaml']);
    expect(checked.stdout).to.include('SUCCESS: 4 rules found');

    const extra = { alert: 'MyOwn', expr: 'up == 0', for: '1m', labels: { severity: 'info' } };
    writeFileSync(join(dir, 'values-extra.yaml'), stringify({ prometheusRule: { enabled: true, selector: 'job="mine"', disabled: { GalleryShareAzureThrottled: true }, rules: [extra] } }));
    const tuned = groupsOf((await render([], { apiVersions: API_VERSIONS, valuesFiles: [join(dir, 'values-extra.yaml')] })).objects);
    expect(tuned[0]!.rules.map((r) => r.alert)).to.deep.equal(['GalleryShareObjectsStalled', 'GalleryShareOperatorReconcileErrors', 'GalleryShareOperatorNoLeader', 'MyOwn']);
    expect(tuned[0]!.rules.at(-1)).to.deep.equal(extra);
    expect(tuned[0]!.rules[0]!.expr, 'the selector given replaces the default').to.include('{state="stalled", job="mine"}');
    writeFileSync(join(dir, 'rules-tuned.yaml'), stringify({ groups: tuned }));
    expect((await promtoolRun(['check', 'rules', 'rules-tuned.yaml'])).stdout).to.include('SUCCESS: 4 rules found');

    // Without a ServiceMonitor or PodMonitor of the chart, the namespace alone.
    const bare = groupsOf((await render(['prometheusRule.enabled=true'], { apiVersions: API_VERSIONS })).objects);
    expect(bare[0]!.rules.at(-1)!.expr).to.equal('absent(galleryshare_objects{namespace="gso-system"})');
  });

  it('fires each alert for the series it is about, and not for the others (promtool test rules)', async () => {
    const { objects } = await render(['metrics.serviceMonitor.enabled=true', 'prometheusRule.enabled=true'], { apiVersions: API_VERSIONS });
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups: groupsOf(objects) }));
    copyFileSync(join(FIXTURES, 'alerts.promtool-test.yaml'), join(dir, 'alerts.promtool-test.yaml'));
    const result = await promtoolRun(['test', 'rules', 'alerts.promtool-test.yaml']).catch((err: Error & { stdout?: string; stderr?: string }) => {
      throw new Error(`promtool test rules failed:\n${err.stdout ?? ''}${err.stderr ?? err.message}`);
    });
    expect(result.stdout).to.include('SUCCESS');
  });

  it('with hash-range sharding, alerts when fewer ranges than operator.shardCount have a holder (promtool test rules)', async () => {
    const { objects } = await render(['metrics.serviceMonitor.enabled=true', 'prometheusRule.enabled=true', 'operator.shardCount=2', 'replicas=3'], { apiVersions: API_VERSIONS });
    const groups = groupsOf(objects);
    expect(groups.flatMap((g) => g.rules.map((r) => r.alert))).to.include('GalleryShareHashRangeUnheld');
    writeFileSync(join(dir, 'rules-hash-ranges.yaml'), stringify({ groups }));
    copyFileSync(join(FIXTURES, 'alerts-hash-ranges.promtool-test.yaml'), join(dir, 'alerts-hash-ranges.promtool-test.yaml'));
    const result = await promtoolRun(['test', 'rules', 'alerts-hash-ranges.promtool-test.yaml']).catch((err: Error & { stdout?: string; stderr?: string }) => {
      throw new Error(`promtool test rules failed:\n${err.stdout ?? ''}${err.stderr ?? err.message}`);
    });
    expect(result.stdout).to.include('SUCCESS');
    const off = groupsOf((await render(['prometheusRule.enabled=true', 'operator.shardCount=2', 'replicas=3', 'prometheusRule.disabled.GalleryShareHashRangeUnheld=true'], { apiVersions: API_VERSIONS })).objects);
    expect(off.flatMap((g) => g.rules.map((r) => r.alert))).to.not.include('GalleryShareHashRangeUnheld');
  });

  it('renders objects the API server accepts (stand-in monitoring CRDs, server-side dry run)', async () => {
    const namespace = await createTestNamespace(clients, 'chartmon');
    namespaces.push(namespace);
    const crds = join(FIXTURES, 'stand-in-crds.yaml');
    await kubectl(['apply', '-f', crds]);
    try {
      await kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...MONITORING_KINDS.map((k) => `crd/${k.toLowerCase()}s.monitoring.coreos.com`)]);
      const variants: [string, string[]][] = [
        ['ServiceMonitor, rules, dashboard', [...everything, 'metrics.serviceMonitor.labels.release=kps', 'metrics.serviceMonitor.interval=1m', 'metrics.serviceMonitor.scrapeTimeout=15s', 'prometheusRule.labels.release=kps', 'grafanaDashboard.annotations.grafana_folder=Operators']],
        ['PodMonitor', ['metrics.podMonitor.enabled=true', 'metrics.podMonitor.interval=45s']],
      ];
      for (const [what, sets] of variants) {
        const { objects } = await render(sets, { apiVersions: API_VERSIONS, namespace });
        const mine = objects.filter((o) => (MONITORING_KINDS as readonly string[]).includes(o.kind) || o.kind === 'ConfigMap');
        const file = join(dir, `dry-run-${what.replace(/\W+/g, '-')}.yaml`);
        writeFileSync(file, mine.map((o) => stringify(o)).join('---\n'));
        const applied = await kubectl(['apply', '--dry-run=server', '--validate=strict', '-n', namespace, '-f', file]);
        expect(applied.stdout.trim().split('\n'), what).to.have.length(mine.length).and.to.have.length.above(0);
      }
      // The stand-ins are strict enough to matter: a misspelt field or a bad duration is refused.
      const bad = join(dir, 'bad.yaml');
      const { objects } = await render(['metrics.serviceMonitor.enabled=true'], { apiVersions: API_VERSIONS, namespace });
      const monitor = one(objects, 'ServiceMonitor') as K8sObject & { spec: { endpoints: Record<string, unknown>[] } };
      monitor.spec.endpoints[0]!.intervall = '30s';
      writeFileSync(bad, stringify(monitor));
      const refused = await kubectl(['apply', '--dry-run=server', '--validate=strict', '-n', namespace, '-f', bad]).then(() => '', (err: Error & { stderr?: string }) => err.stderr ?? err.message);
      expect(refused).to.match(/unknown field "spec\.endpoints\[0\]\.intervall"/);
    } finally {
      await kubectl(['delete', '-f', crds, '--wait=true']);
    }
  });

  it('puts the dashboard in a ConfigMap for the Grafana sidecar, querying only metrics the operator exports', async () => {
    const { objects } = await render(['grafanaDashboard.enabled=true', 'grafanaDashboard.namespace=monitoring', 'grafanaDashboard.labels.team=platform', 'grafanaDashboard.annotations.grafana_folder=Operators']);
    const configMap = one(objects, 'ConfigMap');
    expect(configMap.metadata.namespace).to.equal('monitoring');
    expect(configMap.metadata.labels).to.include({ grafana_dashboard: '1', team: 'platform' });
    expect(configMap.metadata.annotations).to.deep.equal({ grafana_folder: 'Operators' });
    const file = readFileSync(join(CHART, 'files/grafana-dashboard.json'), 'utf8');
    expect(JSON.parse(configMap.data!['gallery-share-operator.json']!), 'the file, as it is').to.deep.equal(JSON.parse(file));
    const relabelled = await render(['grafanaDashboard.enabled=true', 'grafanaDashboard.sidecarLabel=dashboards', 'grafanaDashboard.sidecarLabelValue=gso']);
    expect(one(relabelled.objects, 'ConfigMap').metadata.labels).to.include({ dashboards: 'gso' }).and.not.have.property('grafana_dashboard');

    // Every query's metrics are ones the operator registers (histograms as _bucket, _sum, _count).
    const dashboard = JSON.parse(file) as Dashboard;
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    const variables = dashboard.templating.list.flatMap((v) => (typeof v.query === 'object' ? [v.query.query] : []));
    expect(exprs.length).to.be.above(10);
    const registered = await new OperatorMetrics().registry.getMetricsAsJSON();
    const exported = new Set(registered.flatMap((m) => (String(m.type) === 'histogram' ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name])));
    const used = new Set([...exprs, ...variables.map((q) => q.replace(/^label_values\((.*),\s*\w+\)$/, '$1'))].flatMap(metricNamesIn));
    expect([...used].filter((name) => !exported.has(name)), 'metrics the dashboard reads that the operator does not export').to.deep.equal([]);
    for (const name of ['galleryshare_objects', 'controller_runtime_reconcile_total', 'galleryshare_azure_throttled_requests_total']) expect(used, name).to.include(name);

    // And each query is PromQL that Prometheus parses (Grafana's variables filled in).
    const asPromql = (expr: string) => expr.replace(/\$__rate_interval/g, '5m').replace(/\$\w+/g, '.*');
    writeFileSync(join(dir, 'dashboard-rules.yaml'), stringify({ groups: [{ name: 'dashboard', rules: exprs.map((expr, i) => ({ record: `dashboard:query_${i}`, expr: asPromql(expr) })) }] }));
    expect((await promtoolRun(['check', 'rules', 'dashboard-rules.yaml'])).stdout).to.include(`SUCCESS: ${exprs.length} rules found`);
  });

  it("accepts docs/monitoring.md's per-object alerts on kube-state-metrics' series (promtool check rules)", async () => {
    const markdown = readFileSync(join(repoRoot, 'docs/monitoring.md'), 'utf8');
    const [rules] = [...markdown.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => m[1]!).filter((b) => b.startsWith('groups:'));
    expect(rules, 'a rule group in the docs').to.be.a('string');
    writeFileSync(join(dir, 'docs-rules.yaml'), rules!);
    expect((await promtoolRun(['check', 'rules', 'docs-rules.yaml'])).stdout).to.include('SUCCESS: 2 rules found');
  });

  it('finds the metric names in PromQL', () => {
    expect(metricNamesIn('histogram_quantile(0.99, sum by (operation, le) (rate(foo_bucket{a="b", c=~"$x"}[$__rate_interval])))')).to.deep.equal(['foo_bucket']);
    expect(metricNamesIn('sum(a{state="stalled"}) / on (x) group_left(y) b offset 5m > 0 and bool c')).to.deep.equal(['a', 'b', 'c']);
  });
});
