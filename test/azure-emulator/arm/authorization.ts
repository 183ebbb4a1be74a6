// Microsoft.Authorization at any scope: role assignments (PUT, GET, DELETE, list with atScope(),
// principalId eq and assignedTo filters), role definitions (get, list by roleName), and the
// caller's permissions at a scope, with ARM's codes (RoleAssignmentExists, PrincipalNotFound, ...).
import type { EmulatorResponse } from '../http.js';
import { idKey, isAtOrAbove, isGuid, parseResourceId, subscriptionOf } from '../ids.js';
import { roleAssignmentId, type PrincipalType, type RoleAssignmentRecord } from '../world.js';
import { authorize, pagedList, properties, requestBody, type ArmContext } from './context.js';
import { ArmError, armErrors } from './errors.js';
import { builtInRoles, roleByGuid, roleGuidOf, type RoleDefinition } from './roles.js';

function scopeOf(ctx: ArmContext): string {
  const scope = ctx.params['scope'] ?? '/';
  return scope === '' ? '/' : scope;
}

/** The scope must exist: a seeded subscription, an existing resource group or Compute resource. */
function requireScope(ctx: ArmContext, scope: string): void {
  const parsed = parseResourceId(scope);
  if (!parsed) return;
  if (parsed.resourceGroup) {
    const rg = ctx.world.resource(`/subscriptions/${parsed.subscriptionId}/resourceGroups/${parsed.resourceGroup}`);
    if (!rg) throw armErrors.resourceGroupNotFound(parsed.resourceGroup);
  }
  // Only the resource types the emulator models can be checked; others are taken on trust.
  if (parsed.providerPath.length >= 3 && parsed.providerPath[0]?.toLowerCase() === 'microsoft.compute' && !ctx.world.resource(scope)) {
    const type = `Microsoft.Compute/${parsed.providerPath.slice(1).filter((_, i) => i % 2 === 0).join('/')}`;
    const name = parsed.providerPath.slice(2).filter((_, i) => i % 2 === 0).join('/');
    throw armErrors.resourceNotFound(type, name, parsed.resourceGroup ?? '');
  }
}

function roleDefinitionIdFor(scope: string, guid: string): string {
  const sub = subscriptionOf(scope);
  return sub ? `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${guid}` : `/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
}

export function renderRoleAssignment(ra: RoleAssignmentRecord): Record<string, unknown> {
  return {
    id: roleAssignmentId(ra),
    type: 'Microsoft.Authorization/roleAssignments',
    name: ra.name,
    properties: {
      roleDefinitionId: roleDefinitionIdFor(ra.scope, ra.roleDefinitionId),
      principalId: ra.principalId,
      principalType: ra.principalType,
      scope: ra.scope,
      condition: null,
      conditionVersion: null,
      createdOn: ra.createdOn,
      updatedOn: ra.updatedOn,
      createdBy: ra.createdBy ?? null,
      updatedBy: ra.createdBy ?? null,
      delegatedManagedIdentityResourceId: null,
      description: ra.description ?? null,
    },
  };
}

function principalTypeOf(value: unknown): PrincipalType | undefined {
  if (typeof value !== 'string') return undefined;
  const types: PrincipalType[] = ['User', 'Group', 'ServicePrincipal'];
  const match = types.find((t) => t.toLowerCase() === value.toLowerCase());
  // ARM knows more principal types (ForeignGroup, Device); they behave like the ones above here.
  return match ?? (value as PrincipalType);
}

function scopeTenant(ctx: ArmContext, scope: string): string {
  const sub = subscriptionOf(scope);
  return (sub ? ctx.world.subscription(sub)?.tenantId : undefined) ?? ctx.caller.tenantId;
}

/** Role assignments in a subscription: at it, its resource groups and their resources. */
export function roleAssignmentsInSubscription(assignments: Iterable<RoleAssignmentRecord>, subscriptionId: string): number {
  let count = 0;
  for (const ra of assignments) if (subscriptionOf(ra.scope)?.toLowerCase() === subscriptionId.toLowerCase()) count++;
  return count;
}

/** Azure's fixed limit of role assignments per subscription (4,000; option limits.roleAssignmentsPerSubscription). */
function requireRoleAssignmentRoom(ctx: ArmContext, scope: string): void {
  const subscriptionId = subscriptionOf(scope);
  if (!subscriptionId) return;
  if (roleAssignmentsInSubscription(ctx.world.roleAssignments.atOrBelow(idKey(`/subscriptions/${subscriptionId}`)), subscriptionId) >= ctx.options.limits.roleAssignmentsPerSubscription) {
    throw new ArmError(400, 'RoleAssignmentLimitExceeded', 'No more role assignments can be created.');
  }
}

export function putRoleAssignment(ctx: ArmContext): EmulatorResponse {
  const scope = scopeOf(ctx);
  const name = ctx.params['roleAssignmentName'] ?? '';
  authorize(ctx, 'Microsoft.Authorization/roleAssignments/write', scope);
  if (!isGuid(name)) throw new ArmError(400, 'InvalidRoleAssignmentId', `The role assignment ID '${name}' is not valid. The role assignment ID must be a GUID.`);
  requireScope(ctx, scope);
  const props = properties(requestBody(ctx));
  const roleDefinitionId = typeof props['roleDefinitionId'] === 'string' ? props['roleDefinitionId'] : '';
  const role = roleByGuid(roleGuidOf(roleDefinitionId));
  if (!role) throw new ArmError(400, 'RoleDefinitionDoesNotExist', `The specified role definition with ID '${roleGuidOf(roleDefinitionId)}' does not exist.`);
  const principalId = typeof props['principalId'] === 'string' ? props['principalId'] : '';
  if (!isGuid(principalId)) throw new ArmError(400, 'InvalidPrincipalId', `A valid principal ID must be provided for role assignment.`);
  const tenantId = scopeTenant(ctx, scope);
  const principal = ctx.world.principal(principalId);
  const givenType = principalTypeOf(props['principalType']);
  // ARM's directory lookup: a principal made moments ago may not have replicated there yet.
  const replicated = principal !== undefined && (principal.armVisibleFrom === undefined || principal.armVisibleFrom <= ctx.now);
  const principalInTenant = replicated && principal.tenantId.toLowerCase() === tenantId.toLowerCase();
  if (!principalInTenant && !givenType) {
    throw new ArmError(
      400,
      'PrincipalNotFound',
      `Principal ${principalId.replace(/-/g, '')} does not exist in the directory ${tenantId}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype`,
    );
  }
  const principalType = givenType ?? principal!.type;
  const key = idKey(roleAssignmentId({ scope, name }));
  const existing = ctx.world.roleAssignments.get(key);
  const now = new Date(ctx.now).toISOString();
  if (existing) {
    if (existing.principalId.toLowerCase() !== principalId.toLowerCase() || existing.roleDefinitionId.toLowerCase() !== role.guid.toLowerCase()) {
      throw new ArmError(400, 'RoleAssignmentUpdateNotPermitted', 'Tenant ID, application ID, principal ID, and scope are not allowed to be updated.');
    }
    if (typeof props['description'] === 'string') existing.description = props['description'];
    existing.updatedOn = now;
    return { status: 200, body: renderRoleAssignment(existing) };
  }
  const duplicate = ctx.world.roleAssignments.at(idKey(scope)).find(
    (ra) => idKey(ra.scope) === idKey(scope) && ra.principalId.toLowerCase() === principalId.toLowerCase() && ra.roleDefinitionId.toLowerCase() === role.guid.toLowerCase(),
  );
  if (duplicate) throw new ArmError(409, 'RoleAssignmentExists', 'The role assignment already exists.');
  requireRoleAssignmentRoom(ctx, scope);
  const record: RoleAssignmentRecord = {
    name,
    scope: scope === '/' ? '/' : `/${scope.split('/').filter(Boolean).join('/')}`,
    roleDefinitionId: role.guid,
    principalId,
    principalType,
    createdOn: now,
    updatedOn: now,
    createdBy: ctx.caller.objectId,
    // Azure shows a new assignment at once but authorizes with it only once it has propagated.
    ...(ctx.options.roleAssignmentPropagationMs > 0 ? { effectiveFrom: ctx.now + ctx.options.roleAssignmentPropagationMs } : {}),
    ...(typeof props['description'] === 'string' ? { description: props['description'] } : {}),
  };
  ctx.world.roleAssignments.set(key, record);
  return { status: 201, body: renderRoleAssignment(record) };
}

export function getRoleAssignment(ctx: ArmContext): EmulatorResponse {
  const scope = scopeOf(ctx);
  authorize(ctx, 'Microsoft.Authorization/roleAssignments/read', scope);
  const name = ctx.params['roleAssignmentName'] ?? '';
  const ra = ctx.world.roleAssignments.get(idKey(roleAssignmentId({ scope, name })));
  if (!ra) throw new ArmError(404, 'RoleAssignmentNotFound', `The role assignment '${name}' is not found.`);
  return { status: 200, body: renderRoleAssignment(ra) };
}

export function deleteRoleAssignment(ctx: ArmContext): EmulatorResponse {
  const scope = scopeOf(ctx);
  authorize(ctx, 'Microsoft.Authorization/roleAssignments/delete', scope);
  const key = idKey(roleAssignmentId({ scope, name: ctx.params['roleAssignmentName'] ?? '' }));
  const ra = ctx.world.roleAssignments.get(key);
  if (!ra) return { status: 204 };
  ctx.world.roleAssignments.delete(key);
  return { status: 200, body: renderRoleAssignment(ra) };
}

interface AssignmentFilter {
  atScope: boolean;
  principalId?: string;
  assignedTo?: string;
}

function parseAssignmentFilter(filter: string | undefined): AssignmentFilter {
  const result: AssignmentFilter = { atScope: false };
  if (!filter) return result;
  for (const clause of filter.split(/\s+and\s+/i)) {
    const text = clause.trim();
    let match: RegExpExecArray | null;
    if (/^atScope\(\)$/i.test(text)) result.atScope = true;
    else if ((match = /^principalId\s+eq\s+'([^']*)'$/i.exec(text))) result.principalId = match[1];
    else if ((match = /^assignedTo\('([^']*)'\)$/i.exec(text))) result.assignedTo = match[1];
    else throw new ArmError(400, 'UnsupportedQuery', `The filter '${filter}' is not supported. Supported filters are atScope(), principalId eq '{id}' and assignedTo('{id}').`);
  }
  return result;
}

export function listRoleAssignments(ctx: ArmContext): EmulatorResponse {
  const scope = scopeOf(ctx);
  authorize(ctx, 'Microsoft.Authorization/roleAssignments/read', scope);
  requireScope(ctx, scope);
  const filter = parseAssignmentFilter(ctx.request.query.get('$filter'));
  const principals = filter.assignedTo ? new Set([filter.assignedTo, ...ctx.world.groupsOf(filter.assignedTo)].map((p) => p.toLowerCase())) : undefined;
  const tenantId = scopeTenant(ctx, scope).toLowerCase();
  // Only the assignments the filter can keep are looked at (the world's indexes), in the world's order.
  const scopeKey = idKey(scope);
  const assignments = ctx.world.roleAssignments;
  const candidates = filter.principalId
    ? assignments.withField(filter.principalId)
    : filter.atScope
      ? assignments.atOrAbove(scopeKey)
      : assignments.inOrder([...assignments.atOrAbove(scopeKey), ...assignments.atOrBelow(scopeKey)]);
  const items = candidates.filter((ra) => {
    const above = isAtOrAbove(ra.scope, scope);
    const below = isAtOrAbove(scope, ra.scope);
    if (filter.atScope ? !above : !(above || below)) return false;
    // Assignments of another tenant's subscriptions never show (only "/"-scoped ones are shared).
    const sub = subscriptionOf(ra.scope);
    if (sub && ctx.world.subscription(sub)?.tenantId.toLowerCase() !== tenantId) return false;
    if (filter.principalId && ra.principalId.toLowerCase() !== filter.principalId.toLowerCase()) return false;
    if (principals && !principals.has(ra.principalId.toLowerCase())) return false;
    return true;
  });
  return pagedList(ctx, items.map(renderRoleAssignment));
}

function renderRoleDefinition(scope: string, role: RoleDefinition): Record<string, unknown> {
  return {
    id: roleDefinitionIdFor(scope, role.guid),
    name: role.guid,
    type: 'Microsoft.Authorization/roleDefinitions',
    properties: {
      roleName: role.roleName,
      type: 'BuiltInRole',
      description: role.description,
      assignableScopes: ['/'],
      permissions: [{ actions: role.actions, notActions: role.notActions, dataActions: [], notDataActions: [] }],
      createdOn: '2015-02-02T21:55:09.8806423Z',
      updatedOn: '2024-01-01T00:00:00.0000000Z',
      createdBy: null,
      updatedBy: null,
    },
  };
}

export function getRoleDefinition(ctx: ArmContext): EmulatorResponse {
  const id = ctx.params['roleDefinitionId'] ?? '';
  const role = roleByGuid(id);
  if (!role) throw new ArmError(404, 'RoleDefinitionDoesNotExist', `The specified role definition with ID '${id}' does not exist.`);
  return { status: 200, body: renderRoleDefinition(scopeOf(ctx), role) };
}

export function listRoleDefinitions(ctx: ArmContext): EmulatorResponse {
  const filter = ctx.request.query.get('$filter') ?? '';
  let roles = [...builtInRoles];
  const byName = /roleName\s+eq\s+'([^']*)'/i.exec(filter);
  if (byName) roles = roles.filter((r) => r.roleName.toLowerCase() === (byName[1] ?? '').toLowerCase());
  const byType = /type\s+eq\s+'([^']*)'/i.exec(filter);
  if (byType && byType[1]?.toLowerCase() !== 'builtinrole') roles = [];
  return pagedList(ctx, roles.map((r) => renderRoleDefinition(scopeOf(ctx), r)));
}

export function listPermissions(ctx: ArmContext): EmulatorResponse {
  const scope = scopeOf(ctx);
  const assignments = ctx.world.assignmentsFor(ctx.caller.objectId, scope, ctx.now);
  // ARM refuses the read to a caller without any role assignment at or above the scope.
  if (assignments.length === 0) throw armErrors.authorizationFailed(ctx.caller.objectId, 'Microsoft.Authorization/permissions/read', scope);
  requireScope(ctx, scope);
  const permissions = assignments.flatMap((ra) => {
    const role = roleByGuid(ra.roleDefinitionId);
    return role ? [{ actions: role.actions, notActions: role.notActions, dataActions: [], notDataActions: [] }] : [];
  });
  return pagedList(ctx, permissions);
}
