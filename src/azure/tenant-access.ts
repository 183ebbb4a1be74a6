// What a multi-tenant app registration may do in a tenant, as the app itself finds out: whether it
// has a service principal there (a token for it is issued, and its `oid` claim is that principal's
// object id; no directory API needed), whether it can read a gallery, and which actions it may
// perform on a resource group (ARM's permissions read, evaluated as Azure evaluates them).
import type { AuthorizationManagementClient } from '@azure/arm-authorization';
import type { ComputeManagementClient } from '@azure/arm-compute';
import type { TokenCredential } from '@azure/identity';
import { entraDescription, RefusalError } from './errors.js';

/**
 * The app's service principal in a tenant, or why Entra issued no token: AADSTS700016
 * (application not found in the directory) or AADSTS7000229 (missing service principal). Entra
 * answers either when the app has no service principal in the tenant, as HTTP 400 or 401.
 */
export type PrincipalLookup = { principalId: string } | { refused: 'AADSTS700016' | 'AADSTS7000229'; message: string };

const NO_SERVICE_PRINCIPAL = new Set(['AADSTS700016', 'AADSTS7000229']);

/**
 * Asks Entra for a token of `scope` in `tenantId` with the app's credential (one token request
 * unless a valid token is cached). Other refusals are thrown as the SDK gives them; an unknown
 * tenant, which MSAL reports as an endpoint-resolution error before any AADSTS code, is thrown as
 * a RefusalError with code TenantNotFound.
 */
export async function appPrincipal(credential: TokenCredential, scope: string, tenantId: string, signal?: AbortSignal): Promise<PrincipalLookup> {
  let token: string;
  try {
    const result = await credential.getToken(scope, { tenantId, ...(signal ? { abortSignal: signal } : {}) });
    if (!result) throw new Error(`no token for ${scope} in tenant ${tenantId}`);
    token = result.token;
  } catch (err) {
    const text = (err as Error).message ?? '';
    const code = /AADSTS\d+/.exec(text)?.[0];
    if (code && NO_SERVICE_PRINCIPAL.has(code)) return { refused: code as 'AADSTS700016' | 'AADSTS7000229', message: entraDescription(text) };
    if (text.includes('endpoints_resolution_error')) {
      throw new RefusalError('TenantNotFound', `Microsoft Entra ID does not know tenant ${tenantId} (its OpenID configuration could not be read): check the tenant id in the spec, and the authority host setting for sovereign clouds.`);
    }
    throw err;
  }
  const principalId = claims(token)['oid'];
  if (typeof principalId !== 'string') throw new Error(`the token for tenant ${tenantId} carries no oid claim`);
  return { principalId: principalId.toLowerCase() };
}

/** The claims of a JWT (not verified: the token came from Entra over TLS, for our own use). */
function claims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? '';
  try {
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/**
 * Whether the caller may read the gallery: true on 200, false on 403 (no role there yet, or one
 * not yet in effect). Anything else (404, throttling, 5xx) is thrown.
 */
export async function canReadGallery(compute: ComputeManagementClient, resourceGroup: string, gallery: string, signal?: AbortSignal): Promise<boolean> {
  try {
    await compute.galleries.get(resourceGroup, gallery, { abortSignal: signal });
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 403) return false;
    throw err;
  }
}

/** One entry of ARM's permissions read: what a role assignment allows, less what it excludes. */
export interface PermissionEntry {
  actions: string[];
  notActions: string[];
}

/**
 * The caller's own permissions on a resource group (GET .../providers/Microsoft.Authorization/
 * permissions), or 'forbidden' when ARM refuses the read itself (403: the caller has no access
 * there at all).
 */
export async function permissionsOnResourceGroup(authorization: AuthorizationManagementClient, resourceGroup: string, signal?: AbortSignal): Promise<PermissionEntry[] | 'forbidden'> {
  const found: PermissionEntry[] = [];
  try {
    for await (const p of authorization.permissions.listForResourceGroup(resourceGroup, { abortSignal: signal })) {
      found.push({ actions: p.actions ?? [], notActions: p.notActions ?? [] });
    }
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 403) return 'forbidden';
    throw err;
  }
  return found;
}

/** The caller's own permissions on one resource, or 'forbidden' when ARM refuses the read itself. */
export async function permissionsOnResource(
  authorization: AuthorizationManagementClient,
  resourceGroup: string,
  providerNamespace: string,
  resourceType: string,
  resourceName: string,
  signal?: AbortSignal,
): Promise<PermissionEntry[] | 'forbidden'> {
  const found: PermissionEntry[] = [];
  try {
    for await (const p of authorization.permissions.listForResource(resourceGroup, providerNamespace, '', resourceType, resourceName, { abortSignal: signal })) {
      found.push({ actions: p.actions ?? [], notActions: p.notActions ?? [] });
    }
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 403) return 'forbidden';
    throw err;
  }
  return found;
}

/** An action pattern (`*`, `Microsoft.Compute/*`, `*\/read`) as Azure matches it: `*` is any text, case-insensitive. */
function actionPattern(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`, 'i');
}

/**
 * Pure: the actions of `required` that the permissions do not allow. Azure allows an action when
 * some role assignment's actions match it and that same assignment's notActions do not
 * (notActions subtract from their own role only; they are not deny rules).
 */
export function missingActions(required: readonly string[], permissions: readonly PermissionEntry[]): string[] {
  const compiled = permissions.map((p) => ({ actions: p.actions.map(actionPattern), notActions: p.notActions.map(actionPattern) }));
  return required.filter((action) => !compiled.some((p) => p.actions.some((a) => a.test(action)) && !p.notActions.some((n) => n.test(action))));
}
