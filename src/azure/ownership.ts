// How the operator marks what an object makes in Azure as that object's own, for every kind that
// makes Azure resources (GalleryShare's and TenantGrant's role assignments; SharedImageVM's VMs
// carry the same owner as tags). The owner is the object's kind, namespace and name, not its uid:
// GitOps tools (Argo CD, Flux) delete and re-create objects, and backups (Velero) restore them
// with new uids; an object re-created under its name takes back what it made, and no other object,
// of any kind, can take it for its own.
import { uuidV5 } from './arm-ids.js';
import type { ObservedRoleAssignment } from './role-assignments.js';

/** The object that owns what it makes in Azure. */
export interface Owner {
  kind: string;
  namespace: string;
  name: string;
}

// A namespace of our own for UUIDv5 names (itself a random UUID, fixed forever: changing it
// would make the operator lose track of every assignment it made).
const ROLE_ASSIGNMENT_NAMESPACE = 'c4a5f0f2-3b1e-4f7a-9d53-6d2b8e1f0a77';

/** "GalleryShare platform/golden-images": how the owner is written in descriptions and tags. */
export function ownerText(owner: Owner): string {
  return `${owner.kind} ${owner.namespace}/${owner.name}`;
}

/** The description the operator writes on role assignments it makes. */
export function ownedDescription(owner: Owner): string {
  return `Managed by ${ownerText(owner)}`;
}

/**
 * The name (a UUIDv5) the operator gives the assignment of `roleGuid` to `principalId` at
 * `scope` made for `owner`. Deterministic, so that a retry after a lost answer finds the same
 * assignment instead of making a second one, and so that ownership needs no state of its own.
 */
export function roleAssignmentName(owner: Owner, scope: string, principalId: string, roleGuid: string): string {
  return uuidV5(ROLE_ASSIGNMENT_NAMESPACE, `${owner.kind}|${owner.namespace}|${owner.name}|${scope.toLowerCase()}|${principalId.toLowerCase()}|${roleGuid.toLowerCase()}`);
}

/**
 * The names operator versions before 0.2 gave assignments: kind, scope, principal and role, with
 * nothing of the owning object, so any object of the kind on the scope could take them for its
 * own. Kept only to recognise such assignments (see isOwnedRoleAssignment).
 */
export function legacyRoleAssignmentName(kind: string, scope: string, principalId: string, roleGuid: string): string {
  return uuidV5(ROLE_ASSIGNMENT_NAMESPACE, `${kind}|${scope.toLowerCase()}|${principalId.toLowerCase()}|${roleGuid.toLowerCase()}`);
}

/**
 * Whether `owner` made this assignment: its name is the one the operator gives it for this owner,
 * or it carries a legacy name and its description names this very object (what the operator has
 * always written). A legacy-named assignment whose description names another object, or none, is
 * not this object's: it is left alone.
 */
export function isOwnedRoleAssignment(ra: ObservedRoleAssignment, owner: Owner): boolean {
  const name = ra.name.toLowerCase();
  if (name === roleAssignmentName(owner, ra.scope, ra.principalId, ra.roleGuid)) return true;
  return name === legacyRoleAssignmentName(owner.kind, ra.scope, ra.principalId, ra.roleGuid) && ra.description === ownedDescription(owner);
}
