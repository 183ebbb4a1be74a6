// Role assignments, in the operator's terms: list those at and below a scope, create one under a
// name the operator chose (idempotent), delete one by id (idempotent). Every kind that grants
// access (GalleryShare on galleries, images and versions; TenantGrant on a gallery and a resource
// group) uses these.
import type { AuthorizationManagementClient } from '@azure/arm-authorization';
import { roleGuidOf } from './arm-ids.js';
import { isArmNotFound } from './errors.js';

export interface ObservedRoleAssignment {
  id: string;
  name: string;
  scope: string;
  /** Lower case. */
  principalId: string;
  /** Lower-case GUID of the role definition. */
  roleGuid: string;
  description?: string;
}

// arm-authorization 9 puts the scope in the URL as given: a leading `/` would make `//subscriptions`.
const relative = (scopeOrId: string) => scopeOrId.replace(/^\/+/, '');

/**
 * One read (more only when ARM pages): every role assignment at, above and below the scope, kept
 * when at or below it. Listing without atScope() is what returns the image and version scopes
 * too, so a resync costs one list however many scopes the spec names.
 */
export async function listRoleAssignmentsAtOrBelow(authorization: AuthorizationManagementClient, scope: string, signal?: AbortSignal): Promise<ObservedRoleAssignment[]> {
  const prefix = scope.toLowerCase();
  const found: ObservedRoleAssignment[] = [];
  for await (const ra of authorization.roleAssignments.listForScope(relative(scope), { abortSignal: signal })) {
    const at = ra.scope ?? '';
    const lowered = at.toLowerCase();
    if (lowered !== prefix && !lowered.startsWith(`${prefix}/`)) continue;
    found.push({
      id: ra.id ?? '',
      name: ra.name ?? '',
      scope: at,
      principalId: (ra.principalId ?? '').toLowerCase(),
      roleGuid: roleGuidOf(ra.roleDefinitionId ?? ''),
      ...(ra.description ? { description: ra.description } : {}),
    });
  }
  return found;
}

export type RoleAssignmentResult = 'created' | 'existed';

/**
 * Creates an assignment under the given name. The same principal, role and scope under another
 * name (409 RoleAssignmentExists) satisfies the request: 'existed'.
 */
export async function createRoleAssignment(
  authorization: AuthorizationManagementClient,
  assignment: { scope: string; name: string; roleDefinitionId: string; principalId: string; principalType: string; description: string },
  signal?: AbortSignal,
): Promise<RoleAssignmentResult> {
  try {
    await authorization.roleAssignments.create(
      relative(assignment.scope),
      assignment.name,
      { roleDefinitionId: assignment.roleDefinitionId, principalId: assignment.principalId, principalType: assignment.principalType, description: assignment.description },
      { abortSignal: signal },
    );
    return 'created';
  } catch (err) {
    if ((err as { code?: string }).code === 'RoleAssignmentExists') return 'existed';
    throw err;
  }
}

/** Deletes an assignment by id; one already gone counts as success. */
export async function deleteRoleAssignment(authorization: AuthorizationManagementClient, id: string, signal?: AbortSignal): Promise<void> {
  try {
    await authorization.roleAssignments.deleteById(relative(id), { abortSignal: signal });
  } catch (err) {
    if (!isArmNotFound(err)) throw err;
  }
}
