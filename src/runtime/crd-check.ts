// The start-up check that the CustomResourceDefinitions the API server serves know every status
// field the operator writes. The API server silently drops fields its CRD does not know, so an
// operator newer than its CRDs (CRDs applied by hand and forgotten, or the chart's 0.1.0, whose
// CRDs helm upgrade never updated) would lose, for one, the
// in-flight operation it records, and start that operation again after a restart.
import { crdName, type KindDefinition } from '../api/v1alpha1/index.js';
import { isNotFound, type KubeClient } from './kube-client.js';

interface SchemaNode {
  type?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

interface ServedCrd {
  spec: { versions: { name: string; served: boolean; schema?: { openAPIV3Schema?: SchemaNode } }[] };
}

/** Pure: the field paths of `expected` that `served` lacks (`status.operation.resumeToken`, ...). */
export function missingFields(expected: SchemaNode, served: SchemaNode | undefined, path: string): string[] {
  if (served?.['x-kubernetes-preserve-unknown-fields']) return [];
  if (!served) return [path];
  const missing: string[] = [];
  for (const [name, child] of Object.entries(expected.properties ?? {})) {
    missing.push(...missingFields(child, served.properties?.[name], `${path}.${name}`));
  }
  if (expected.items) missing.push(...missingFields(expected.items, served.items, `${path}[]`));
  return missing;
}

/**
 * For each kind, what its served CRD lacks of the status the operator writes; an empty list when
 * every CRD is up to date. A CRD that is not installed at all is reported too.
 */
export async function outdatedCrds(client: KubeClient, kinds: readonly KindDefinition[], version: string): Promise<string[]> {
  const problems: string[] = [];
  for (const kind of kinds) {
    const name = crdName(kind);
    let crd: ServedCrd;
    try {
      crd = await client.get<ServedCrd>(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
    } catch (err) {
      if (isNotFound(err)) {
        problems.push(`${name} is not installed`);
        continue;
      }
      throw err;
    }
    const served = crd.spec.versions.find((v) => v.name === version && v.served)?.schema?.openAPIV3Schema?.properties?.['status'];
    const expected = JSON.parse(JSON.stringify(kind.status)) as SchemaNode;
    const missing = missingFields(expected, served, 'status');
    if (missing.length) problems.push(`${name} (${version}) lacks ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`);
  }
  return problems;
}
