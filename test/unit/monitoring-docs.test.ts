// The kube-state-metrics configuration in docs/monitoring.md, checked against the generated CRDs
// (config/crd/bases): each resource names a served kind of ours once, kube-state-metrics may list
// and watch it, and every path it reads exists in that kind's schema, with condition types the
// operator writes. (kube-state-metrics itself cannot be built here: the Go module proxy refuses
// k8s.io/kube-state-metrics.)
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { GalleryShareHandler } from '../../src/controllers/galleryshare/handler.js';
import { SharedImageVMHandler } from '../../src/controllers/sharedimagevm/handler.js';
import { TenantGrantHandler } from '../../src/controllers/tenantgrant/handler.js';
import { READY, RECONCILING, STALLED } from '../../src/runtime/conditions.js';
import { loadYamlDocuments, repoRoot } from '../support/kube.js';

type Path = (string | number)[];
interface Schema { type?: string; properties?: Record<string, Schema>; items?: Schema }
interface Crd { spec: { group: string; names: { kind: string; plural: string }; versions: { name: string; served: boolean; schema: { openAPIV3Schema: Schema } }[] } }
interface KsmResource {
  groupVersionKind: { group: string; version: string; kind: string };
  metricNamePrefix?: string;
  labelsFromPath?: Record<string, Path>;
  metrics: { name: string; help: string; each: { type: 'Info' | 'Gauge' | 'StateSet'; info?: { path?: Path; labelsFromPath?: Record<string, Path> }; gauge?: { path?: Path; labelsFromPath?: Record<string, Path>; valueFrom?: Path } } }[];
}
interface KsmValues {
  'kube-state-metrics': {
    rbac: { extraRules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] };
    customResourceState: { enabled: boolean; config: { kind: string; spec: { resources: KsmResource[] } } };
  };
}

/** The ```yaml blocks of a Markdown file. */
export function yamlBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

/** Object metadata fields kube-state-metrics may read (the CRD schema leaves metadata open). */
const METADATA: Schema = { type: 'object', properties: Object.fromEntries(['name', 'namespace', 'generation', 'uid'].map((k) => [k, { type: 'string' }])) };

/**
 * The schema a kube-state-metrics path reaches, or a reason it reaches none. Segments as
 * kube-state-metrics reads them: a field name, an array index, or "[key=value]" for the element of
 * an array whose key has that value (which `onSelect` sees).
 */
function resolve(schema: Schema, path: Path, onSelect: (key: string, value: string) => void = () => {}): Schema | string {
  let at = schema;
  for (const [i, segment] of path.entries()) {
    const where = `[${path.slice(0, i + 1).join(', ')}]`;
    const select = /^\[(\w+)=(.*)\]$/.exec(String(segment));
    if (select) {
      if (at.type !== 'array' || !at.items?.properties?.[select[1]!]) return `${where}: no array of objects with ${select[1]}`;
      onSelect(select[1]!, select[2]!);
      at = at.items;
    } else if (/^\d+$/.test(String(segment)) && at.type === 'array' && at.items) {
      at = at.items;
    } else if (at === schema && segment === 'metadata') {
      at = METADATA;
    } else {
      const next = at.properties?.[String(segment)];
      if (!next) return `${where}: no such field`;
      at = next;
    }
  }
  return at;
}

describe('docs/monitoring.md: the kube-state-metrics configuration', () => {
  const blocks = yamlBlocks(readFileSync(join(repoRoot, 'docs/monitoring.md'), 'utf8'));
  const ksm = blocks.filter((b) => b.includes('customResourceState'));
  const crds = (['galleryshares', 'tenantgrants', 'sharedimagevms'] as const).map((plural) => loadYamlDocuments(join(repoRoot, `config/crd/bases/galleryshare.io_${plural}.yaml`))[0] as unknown as Crd);
  // The condition types each kind writes: the summary three and its detail conditions.
  const none = {} as never;
  const conditionTypes: Record<string, string[]> = {
    GalleryShare: [READY, RECONCILING, STALLED, ...new GalleryShareHandler(none).detailConditions],
    TenantGrant: [READY, RECONCILING, STALLED, ...new TenantGrantHandler(none).detailConditions],
    SharedImageVM: [READY, RECONCILING, STALLED, ...new SharedImageVMHandler(none).detailConditions],
  };

  it('is one YAML block of kube-prometheus-stack values, for each of the three kinds once, with list and watch on them', () => {
    expect(ksm, 'one block').to.have.length(1);
    const values = parse(ksm[0]!) as KsmValues;
    const { rbac, customResourceState } = values['kube-state-metrics'];
    expect(customResourceState.enabled).to.equal(true);
    expect(customResourceState.config.kind).to.equal('CustomResourceStateMetrics');
    const resources = customResourceState.config.spec.resources;
    expect(resources.map((r) => r.groupVersionKind.kind).sort()).to.deep.equal(crds.map((c) => c.spec.names.kind).sort());
    for (const crd of crds) {
      const r = resources.find((x) => x.groupVersionKind.kind === crd.spec.names.kind)!;
      expect(r.groupVersionKind.group).to.equal(crd.spec.group);
      expect(crd.spec.versions.filter((v) => v.served).map((v) => v.name), `${crd.spec.names.kind}: a served version`).to.include(r.groupVersionKind.version);
      const rule = rbac.extraRules.find((x) => x.apiGroups.includes(crd.spec.group) && x.resources.includes(crd.spec.names.plural));
      expect(rule?.verbs, `${crd.spec.names.plural}: kube-state-metrics may list and watch them`).to.include.members(['list', 'watch']);
    }
  });

  it('reads only fields the CRD schemas have, and condition types the operator writes', () => {
    const resources = (parse(ksm[0]!) as KsmValues)['kube-state-metrics'].customResourceState.config.spec.resources;
    const problems: string[] = [];
    for (const r of resources) {
      const kind = r.groupVersionKind.kind;
      const crd = crds.find((c) => c.spec.names.kind === kind)!;
      const schema = crd.spec.versions.find((v) => v.name === r.groupVersionKind.version)!.schema.openAPIV3Schema;
      const check = (base: Schema, path: Path, what: string) => {
        const found = resolve(base, path, (key, value) => {
          if (key === 'type' && !conditionTypes[kind]!.includes(value)) problems.push(`${kind} ${what}: the operator writes no condition ${value}`);
        });
        if (typeof found === 'string') problems.push(`${kind} ${what}: ${found}`);
        return typeof found === 'string' ? undefined : found;
      };
      for (const [label, path] of Object.entries(r.labelsFromPath ?? {})) check(schema, path, `label ${label}`);
      for (const metric of r.metrics) {
        const each = metric.each.type === 'Info' ? metric.each.info : metric.each.gauge;
        expect(each, `${kind} ${metric.name}: ${metric.each.type} settings`).to.be.an('object');
        const base = each!.path ? check(schema, each!.path, `${metric.name} path`) : schema;
        if (!base) continue;
        // Relative to an array path, the paths read each element.
        const element = base.type === 'array' ? base.items! : base;
        for (const [label, path] of Object.entries(each!.labelsFromPath ?? {})) check(element, path, `${metric.name} label ${label}`);
        if (metric.each.gauge?.valueFrom) check(element, metric.each.gauge.valueFrom, `${metric.name} value`);
      }
    }
    expect(problems).to.deep.equal([]);
  });

  it('finds a misspelt field or condition (the check itself)', () => {
    const schema = crds[0]!.spec.versions[0]!.schema.openAPIV3Schema;
    expect(resolve(schema, ['status', 'conditions', '[type=Ready]', 'status'])).to.be.an('object');
    expect(resolve(schema, ['status', 'condition', '[type=Ready]', 'status'])).to.equal('[status, condition]: no such field');
    expect(resolve(schema, ['spec', '[type=Ready]'])).to.match(/no array of objects with type/);
    expect(resolve(schema, ['metadata', 'name'])).to.be.an('object');
  });
});
