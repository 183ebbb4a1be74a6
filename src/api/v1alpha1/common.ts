// Schema parts shared by GalleryShare, TenantGrant and SharedImageVM: references to Secrets and
// galleries, the deletion policy, role names, and the standard status conditions.
import { Type, type Static } from '@sinclair/typebox';
import { BUILT_IN_ROLE_NAMES } from './roles.js';
import {
  celString,
  galleryName,
  immutable,
  objectName,
  oneOf,
  resourceGroup,
  text,
  uuid,
  UUID_REGEX,
  list,
} from './schema-kit.js';

/**
 * Object metadata as it arrives in JSON from the API server (timestamps are RFC 3339 strings;
 * client-node's V1ObjectMeta claims Dates, which only its own deserializer produces).
 */
export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
}

export const GROUP = 'galleryshare.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
// No kind's own name: `galleryshare` was GalleryShare's singular too, and made
// `kubectl get galleryshare NAME` fail with "you must specify only one resource".
export const CATEGORY = 'gallerysharing';
export const FINALIZER = 'galleryshare.io/finalizer';

export const DELETION_POLICIES = ['Delete', 'Orphan'] as const;
export type DeletionPolicy = (typeof DELETION_POLICIES)[number];

export const deletionPolicy = () =>
  Type.Optional(
    oneOf(DELETION_POLICIES, {
      description:
        'What happens in Azure when this object is deleted. Delete (the default) undoes what this object did in Azure; Orphan leaves Azure as it is. Either way the finalizer galleryshare.io/finalizer is removed afterwards.',
      default: 'Delete',
    }),
  );

/** A Secret in the object's own namespace; there is deliberately no namespace field. */
export const credentialsRef = (description: string) =>
  Type.Object(
    { name: objectName('the Secret name', 'Name of a Secret in the same namespace as this object.') },
    { description },
  );

export const AZURE_CREDENTIALS_SECRET_DOC =
  'The Secret holds tenantId, clientId and either clientSecret or clientCertificate (PEM with the private key).';

/** The gallery an object acts on; immutable, since another gallery is another object. */
export const galleryRef = (description: string) =>
  Type.Object(
    {
      subscriptionId: uuid('the gallery subscriptionId', 'Azure subscription that holds the gallery.'),
      resourceGroup: resourceGroup('Resource group that holds the gallery.'),
      name: galleryName('Name of the Azure Compute Gallery (letters, digits, underscores and periods; no dashes).'),
    },
    {
      description,
      'x-kubernetes-validations': [
        immutable('the gallery reference', 'create a new object to manage another gallery'),
      ],
    },
  );
export type GalleryRef = Static<ReturnType<typeof galleryRef>>;

/** A built-in role name from roles.ts or a role-definition GUID. */
export const roleName = (description: string) =>
  text({
    description,
    minLength: 1,
    maxLength: 64,
    rules: [
      {
        rule: `self in [${BUILT_IN_ROLE_NAMES.map((n) => `'${n}'`).join(', ')}] || self.matches(${celString(UUID_REGEX)})`,
        message: `role must be one of the built-in roles ${BUILT_IN_ROLE_NAMES.join(', ')}, or a role-definition GUID`,
      },
    ],
  });

// ----- Status ------------------------------------------------------------------------------------

/** metav1.Condition, as kstatus, kubectl wait, Flux and Argo CD read it. */
export const Condition = Type.Object(
  {
    type: text({ description: 'Type of condition in CamelCase, such as Ready.', maxLength: 316 }),
    status: oneOf(['True', 'False', 'Unknown'] as const, { description: 'Status of the condition: True, False or Unknown.' }),
    observedGeneration: Type.Optional(
      Type.Integer({ description: 'The .metadata.generation the condition was set for.', minimum: 0, format: 'int64' }),
    ),
    lastTransitionTime: Type.String({ description: 'When the condition last changed from one status to another.', format: 'date-time' }),
    reason: text({ description: 'A CamelCase word (or the Azure error code) that says why the condition has its status.', maxLength: 1024, minLength: 1 }),
    message: text({ description: 'What happened and, where a person must act, what to do.', maxLength: 32768 }),
  },
  { description: 'A condition in the standard metav1.Condition shape.' },
);
export type Condition = Static<typeof Condition>;

export const conditions = () =>
  Type.Optional(
    Type.Array(Condition, {
      description:
        'Conditions: Ready (Azure matches the spec), Reconciling (work in flight), Stalled (a person must act; the reason and message say what), and the detail conditions of this kind.',
      maxItems: 16,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
    }),
  );

export const observedGeneration = () =>
  Type.Optional(
    Type.Integer({
      description:
        'The .metadata.generation that the status describes; differs from it while the operator has not yet seen the latest spec. -1 (the default) until the operator first writes status.',
      format: 'int64',
      minimum: -1,
    }),
  );

/**
 * A long-running Azure operation an object started and that has not finished: kept in status, so
 * that any operator process (restarted, or newly elected) polls it instead of starting it again.
 * One shape for every kind.
 */
export const InFlightOperation = Type.Object(
  {
    action: text({ description: 'What the operation does, in the operator\'s terms (share, setPermission, createVirtualMachine, ...).', maxLength: 64, minLength: 1 }),
    description: text({ description: 'The change the operation makes, in words.', maxLength: 1024 }),
    resumeToken: text({
      description: "The Azure SDK poller's serialized state (the operation's status and result URLs; no credentials), from which any operator process resumes polling.",
      maxLength: 16384,
      minLength: 1,
    }),
    startedAt: Type.String({ description: 'When the operator started the operation.', format: 'date-time' }),
    generation: Type.Integer({ description: 'The .metadata.generation the operation was started for.', minimum: 0, format: 'int64' }),
  },
  { description: 'A long-running Azure operation this object started that has not finished yet; the operator polls it (from any replica) rather than starting it again.' },
);
export type InFlightOperation = Static<typeof InFlightOperation>;

export const inFlightOperation = () => Type.Optional(InFlightOperation);

/**
 * The failure the latest reconciles met, and since when, without a success in between. Kept in
 * status so that "Azure says this passes within a few minutes" is measured from its first
 * occurrence, whichever operator process saw it (a restart does not start the while again).
 */
export const FailureRecord = Type.Object(
  {
    code: text({ description: 'The ARM, Entra or Kubernetes code of the failure.', maxLength: 256, minLength: 1 }),
    since: Type.String({ description: 'When the object first met this failure without a success since.', format: 'date-time' }),
  },
  { description: 'The failure the latest reconciles met, and since when; cleared by a success.' },
);
export type FailureRecord = Static<typeof FailureRecord>;

export const failureRecord = () => Type.Optional(FailureRecord);

export const idList = (what: string, description: string, maxItems: number) =>
  list(uuid(`each of ${what}`, 'A UUID.'), { description, maxItems, listType: 'set' });
