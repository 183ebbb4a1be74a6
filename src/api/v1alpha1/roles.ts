// Built-in Azure role names the API accepts by name, with their role-definition GUIDs
// (azure-facts.md). Any other role is given by its role-definition GUID. The table lives in the
// API package because it decides what admission accepts; the Azure layer reads it from here.
export const BUILT_IN_ROLES = {
  Reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
  Contributor: 'b24988ac-6180-42a0-ab88-20f7382dd24c',
  Owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
  'User Access Administrator': '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9',
  'Compute Gallery Sharing Admin': '1ef6a3be-d0ac-425d-8c01-acb62866290b',
  'Compute Gallery Image Reader': 'cf7c76d2-98a3-4358-a134-615aa78bf44d',
} as const;

export type BuiltInRoleName = keyof typeof BUILT_IN_ROLES;
export const BUILT_IN_ROLE_NAMES = Object.keys(BUILT_IN_ROLES) as BuiltInRoleName[];
