// The operator's Kubernetes permissions: exactly the verbs and resources it uses, derived from
// the controllers it registers (src/controllers/index.ts). `npm run generate` writes them to
// config/rbac/ and to the Helm chart's templates.
//   <kind> it reconciles: get (re-read on a conflict), list/watch (informers), patch (finalizers)
//   <kind>/status: update (status is replaced through the subresource)
//   <kind> it only reads: get/list/watch
//   customresourcedefinitions: get, only its own (the start-up check that they know every status
//     field it writes)
//   secrets: get (azureCredentialsRef, read when reconciling; never listed or watched: that
//     would let the operator read every Secret in the cluster)
//   events: create, patch (recording, and counting repeats)
//   leases: create, and get/update of its own Lease by name (leader election, in the operator's
//     own namespace only; create cannot be limited by name, Kubernetes names no object then);
//     with hash-range sharding (--shard-count n), of the n range Leases by name instead
import { crdName, GROUP, type KindDefinition } from '../api/v1alpha1/index.js';
import { SETTINGS } from '../config.js';
import { CONTROLLERS, type ControllerRegistration } from '../controllers/index.js';
import { rangeLeaseNames } from '../runtime/hash-range.js';

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** The cluster-wide rules for a set of controllers. */
export function clusterRules(controllers: readonly ControllerRegistration[]): PolicyRule[] {
  const reconciled = controllers.map((c) => c.kind);
  const readOnly = uniqueKinds(controllers.flatMap((c) => c.reads)).filter((k) => !reconciled.includes(k));
  return [
    ...(reconciled.length ? [{ apiGroups: [GROUP], resources: reconciled.map((k) => k.plural), verbs: ['get', 'list', 'watch', 'patch'] }] : []),
    ...(reconciled.length ? [{ apiGroups: [GROUP], resources: reconciled.map((k) => `${k.plural}/status`), verbs: ['update'] }] : []),
    ...(readOnly.length ? [{ apiGroups: [GROUP], resources: readOnly.map((k) => k.plural), verbs: ['get', 'list', 'watch'] }] : []),
    ...(reconciled.length ? [{ apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['get'], resourceNames: reconciled.map(crdName) }] : []),
    { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
    { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
  ];
}

function uniqueKinds(kinds: readonly KindDefinition[]): KindDefinition[] {
  return [...new Set(kinds)];
}

export const CLUSTER_RULES: PolicyRule[] = clusterRules(CONTROLLERS);

/**
 * The cluster-wide rules split by the scope of what they name. With a list of namespaces to
 * watch, the chart grants the namespaced rules by a Role in each of them and only the rest (the
 * operator's own CRDs, read by name) cluster-wide.
 */
const CLUSTER_SCOPED_RESOURCES = new Set(['customresourcedefinitions']);
export const isClusterScoped = (rule: PolicyRule): boolean => rule.resources.every((r) => CLUSTER_SCOPED_RESOURCES.has(r.split('/')[0]!));
export const NAMESPACED_RULES: PolicyRule[] = CLUSTER_RULES.filter((r) => !isClusterScoped(r));
export const CLUSTER_SCOPED_RULES: PolicyRule[] = CLUSTER_RULES.filter(isClusterScoped);

/**
 * Leader election on the Lease named leaseName (the operator's --leader-election-id), or with
 * hash-range sharding (shardCount > 0, --shard-count) on the range Leases named after it.
 */
export function leaderElectionRules(leaseName: string, shardCount = 0): PolicyRule[] {
  return [
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'update'], resourceNames: shardCount > 0 ? rangeLeaseNames(leaseName, shardCount) : [leaseName] },
  ];
}

/** The Lease's name when --leader-election-id is not given (config/rbac, whose Deployment uses it). */
export const DEFAULT_LEASE_NAME = SETTINGS.leaderElectionId.default;
