// The built-in Azure roles the project uses, with their actions, and the matching of an ARM
// action against a role's Actions/NotActions (wildcards, case-insensitive), as ARM evaluates them.

export interface RoleDefinition {
  guid: string;
  roleName: string;
  description: string;
  actions: string[];
  notActions: string[];
}

export const builtInRoles: readonly RoleDefinition[] = [
  {
    guid: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
    roleName: 'Owner',
    description: 'Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.',
    actions: ['*'],
    notActions: [],
  },
  {
    guid: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
    roleName: 'Contributor',
    description: 'Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.',
    actions: ['*'],
    notActions: [
      'Microsoft.Authorization/*/Delete',
      'Microsoft.Authorization/*/Write',
      'Microsoft.Authorization/elevateAccess/Action',
      'Microsoft.Blueprint/blueprintAssignments/write',
      'Microsoft.Blueprint/blueprintAssignments/delete',
      'Microsoft.Compute/galleries/share/action',
      'Microsoft.Purview/consents/write',
      'Microsoft.Purview/consents/delete',
    ],
  },
  {
    guid: 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
    roleName: 'Reader',
    description: 'View all resources, but does not allow you to make any changes.',
    actions: ['*/read'],
    notActions: [],
  },
  {
    guid: '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9',
    roleName: 'User Access Administrator',
    description: 'Lets you manage user access to Azure resources.',
    actions: ['*/read', 'Microsoft.Authorization/*', 'Microsoft.Support/*'],
    notActions: [],
  },
  {
    guid: '1ef6a3be-d0ac-425d-8c01-acb62866290b',
    roleName: 'Compute Gallery Sharing Admin',
    description: 'This role allows user to share gallery to another subscription/tenant or share it to the public.',
    actions: ['Microsoft.Compute/galleries/share/action'],
    notActions: [],
  },
  {
    guid: 'cf7c76d2-98a3-4358-a134-615aa78bf44d',
    roleName: 'Compute Gallery Image Reader',
    description: 'Allows reading the images of a gallery, to create virtual machines from them.',
    // Approximation: the published definition was not available offline; these are the reads a
    // VM deployment from a gallery image needs.
    actions: ['Microsoft.Compute/galleries/read', 'Microsoft.Compute/galleries/images/read', 'Microsoft.Compute/galleries/images/versions/read'],
    notActions: [],
  },
];

export function roleByGuid(guid: string): RoleDefinition | undefined {
  return builtInRoles.find((r) => r.guid.toLowerCase() === guid.toLowerCase());
}

export function roleByName(name: string): RoleDefinition | undefined {
  return builtInRoles.find((r) => r.roleName.toLowerCase() === name.toLowerCase());
}

/** The GUID at the end of a role definition id (subscription-level or tenant-level form), or the id itself. */
export function roleGuidOf(roleDefinitionId: string): string {
  const segments = roleDefinitionId.split('/').filter(Boolean);
  return segments[segments.length - 1] ?? roleDefinitionId;
}

const patternCache = new Map<string, RegExp>();

function wildcardMatches(pattern: string, action: string): boolean {
  let regex = patternCache.get(pattern);
  if (!regex) {
    const source = pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    regex = new RegExp(`^${source}$`, 'i');
    patternCache.set(pattern, regex);
  }
  return regex.test(action);
}

export function roleAllows(role: RoleDefinition, action: string): boolean {
  return role.actions.some((a) => wildcardMatches(a, action)) && !role.notActions.some((n) => wildcardMatches(n, action));
}
