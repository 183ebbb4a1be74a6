// Turns a kind's schemas into its CustomResourceDefinition: the structural schema, the status
// subresource, printer columns (READY, REASON, the kind's summary, AGE), short names and the
// `galleryshare` category. This is the only place CRDs are assembled; scripts/generate.ts writes
// them to crds/, config/crd/ and the chart.
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
      status: plain(def.status),
    },
  };
  if (def.objectRules?.length) openAPIV3Schema['x-kubernetes-validations'] = def.objectRules;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${def.plural}.${GROUP}`,
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
