// The operator's Kubernetes permissions, written once: exactly the verbs and resources it uses.
// `npm run generate` writes them to config/rbac/ and to the Helm chart's templates.
//   galleryshares: list/watch (informers), get (re-read on a conflict), patch (finalizers)
//   galleryshares/status: update (status is replaced through the subresource)
//   secrets: get (azureCredentialsRef, read when reconciling; never listed or watched)
//   events: create, patch (recording, and counting repeats)
//   leases: get, create, update (leader election, in the operator's own namespace only)
import { GROUP } from '../api/v1alpha1/common.js';

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

export const CLUSTER_RULES: PolicyRule[] = [
  { apiGroups: [GROUP], resources: ['galleryshares'], verbs: ['get', 'list', 'watch', 'patch'] },
  { apiGroups: [GROUP], resources: ['galleryshares/status'], verbs: ['update'] },
  { apiGroups: [''], resources: ['secrets'], verbs: ['get'] },
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
];

export const LEADER_ELECTION_RULES: PolicyRule[] = [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }];
