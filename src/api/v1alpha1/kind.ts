// A kind, defined once: its schemas become its CustomResourceDefinition (the structural schema,
// the status subresource, printer columns READY, REASON, the kind's summary and AGE, short names
// and the `gallerysharing` category), and its names give the API paths the operator reads and
// writes and the RBAC rules it needs. This is the only place CRDs are assembled;
// scripts/generate.ts writes them to crds/, config/crd/ and the chart.
import type { TObject } from '@sinclair/typebox';
import { CATEGORY, GROUP, VERSION } from './common.js';
import type { CelRule } from './schema-kit.js';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  priority?: number;
}

export interface KindDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  spec: TObject;
  status: TObject;
  /** Columns between REASON and AGE that summarise this kind. */
  summaryColumns: PrinterColumn[];
  /** Rules on the whole object; the only place CEL may read metadata.name. */
  objectRules?: CelRule[];
}

/** `<plural>.<group>`: the name of the kind's CustomResourceDefinition. */
export function crdName(def: KindDefinition): string {
  return `${def.plural}.${GROUP}`;
}

/** The kind's collection in one namespace, or across all namespaces when namespace is undefined. */
export function collectionPath(def: KindDefinition, namespace?: string): string {
  return namespace === undefined ? `/apis/${GROUP}/${VERSION}/${def.plural}` : `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${def.plural}`;
}

/** One object of the kind: /apis/<group>/<version>/namespaces/<namespace>/<plural>/<name>. */
export function objectPath(def: KindDefinition, namespace: string, name: string): string {
  return `${collectionPath(def, namespace)}/${name}`;
}

/** Plain JSON of a TypeBox schema: drops TypeBox's symbol keys and its `Kind` markers. */
function plain(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema)) as unknown;
}

export function customResourceDefinition(def: KindDefinition): Record<string, unknown> {
  const columns: PrinterColumn[] = [
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status', description: 'Whether Azure matches the spec.' },
    { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason', description: 'Why Ready has its status.' },
    ...def.summaryColumns,
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since the object was created.' },
  ];
  const openAPIV3Schema: Record<string, unknown> = {
    type: 'object',
    description: def.description,
    required: ['spec'],
    properties: {
      apiVersion: {
        type: 'string',
        description: 'APIVersion defines the versioned schema of this representation of an object.',
      },
      kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
      // The API server allows no more than the type here (metadata is implicitly specified).
      metadata: { type: 'object' },
      spec: plain(def.spec),
      // A default on status itself, as Flux's own CRDs have: a fresh object (no operator yet,
      // a namespace it does not watch, a kind it does not reconcile yet) then reads
      // observedGeneration -1, which kstatus (Flux, kubectl wait) and Argo CD take as "in
      // progress", not as healthy. A default on the field alone does nothing while status is absent.
      status: { ...(plain(def.status) as Record<string, unknown>), default: { observedGeneration: -1 } },
    },
  };
  if (def.objectRules?.length) openAPIV3Schema['x-kubernetes-validations'] = def.objectRules;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: crdName(def),
      labels: { 'app.kubernetes.io/name': 'gallery-share-operator', 'app.kubernetes.io/part-of': 'gallery-share-operator' },
    },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        shortNames: def.shortNames,
        categories: [CATEGORY],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: columns,
          schema: { openAPIV3Schema },
        },
      ],
    },
  };
}
