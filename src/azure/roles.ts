// Role names as the API accepts them, resolved to role-definition GUIDs.
import { BUILT_IN_ROLES, type BuiltInRoleName } from '../api/v1alpha1/roles.js';

/** The role-definition GUID for a built-in role name or a GUID (lower case). */
export function roleGuid(role: string): string {
  const builtIn = BUILT_IN_ROLES[role as BuiltInRoleName] as string | undefined;
  return (builtIn ?? role).toLowerCase();
}
