// TenantGrant's planning, pure: from what the app and the writers observed in both tenants, the
// role assignments to make or remove, the detail conditions (Consented, SourceAccess,
// TargetAccess), and what stops the grant: consent a person must give, a role a target admin must
// assign, a client id or service principal that is wrong at home. No I/O here: the handler
// (handler.ts) observes and acts.
import type { TenantGrant, TenantGrantSpec } from '../../api/v1alpha1/index.js';
import { galleryId, roleDefinitionId, sameId } from '../../azure/arm-ids.js';
import { isOwnedRoleAssignment, roleAssignmentName, type Owner } from '../../azure/ownership.js';
import type { ObservedRoleAssignment } from '../../azure/role-assignments.js';
import { roleGuid } from '../../azure/roles.js';
import { SETTLING_MS } from '../../azure/errors.js';
import { missingActions, type PermissionEntry, type PrincipalLookup } from '../../azure/tenant-access.js';
import type { ConditionInput } from '../../runtime/conditions.js';
import type { DeletionPlan, Explanation, KindPlan, PlanEvent } from '../shared/handler.js';
import type { Policy } from '../shared/policy.js';
import { recheckDelay } from '../shared/schedule.js';

export { recheckDelay };

export type Side = 'Source' | 'Target';

export const DEFAULT_SOURCE_ROLE = 'Reader';
export const DEFAULT_TARGET_ROLE = 'Contributor';

/** A role assignment a TenantGrant wants, named for its owner (ownership.ts). */
export interface DesiredGrantAssignment {
  side: Side;
  name: string;
  scope: string;
  principalId: string;
  roleGuid: string;
  roleDefinitionId: string;
  /** As the spec writes it. */
  role: string;
}

export type GrantAction =
  | { type: 'createRoleAssignment'; assignment: DesiredGrantAssignment }
  | { type: 'deleteRoleAssignment'; side: Side; assignment: ObservedRoleAssignment };

/** What observe found, in both tenants. */
export interface GrantObservation {
  source: {
    /** The app's principal in the source tenant; undefined when not asked (deletion). */
    principal?: PrincipalLookup;
    /** Role assignments exactly at the gallery (any principal), read by the source writer; undefined when not read. */
    assignments?: ObservedRoleAssignment[];
    /** Whether the app read the gallery with its own token; undefined when not tried. */
    appCanRead?: boolean;
  };
  /** Undefined when the source side stopped before the target was looked at. */
  target?: {
    principal?: PrincipalLookup;
    /** With a target writer: role assignments exactly at the resource group. */
    assignments?: ObservedRoleAssignment[];
    /** Without one (verify only): the app's own permissions on the resource group. */
    permissions?: PermissionEntry[] | 'forbidden';
  };
  /** The app's Secret, when it was read (not during deletion). */
  application?: {
    /** notAfter of its certificate (ms since the epoch), when it holds one. */
    certificateExpiresAt?: number;
  };
}

/** What the plan needs besides the object and the observation: the clock, settings, randomness. */
export interface GrantPlanContext {
  now: number;
  /** The Entra authority host (https://login.microsoftonline.com), for the consent URL. */
  authorityHost: string;
  /** The actions the app needs on the target resource group (requiredTargetActions). */
  requiredTargetActions: readonly string[];
  /** Warn when the certificate expires within this long; 0 never warns. */
  expiryWarningMs: number;
  recheck: { initialMs: number; maxMs: number };
  /** In [-1, 1]: where in ±10% this recheck falls (Math.random() * 2 - 1 in production). */
  jitter: number;
}

export const ownerOf = (tg: TenantGrant): Owner => ({ kind: 'TenantGrant', namespace: tg.metadata.namespace ?? '', name: tg.metadata.name ?? '' });

export function targetResourceGroupId(spec: TenantGrantSpec): string {
  return `/subscriptions/${spec.target.subscriptionId}/resourceGroups/${spec.target.resourceGroup}`;
}

/**
 * The admin-consent URL for the target tenant on the configured authority; `redirect_uri` only
 * when the spec names the app's registered one (Entra refuses others: AADSTS50011).
 */
export function consentUrl(spec: TenantGrantSpec, authorityHost: string): string {
  const base = `${authorityHost.replace(/\/+$/, '')}/${spec.target.tenantId}/adminconsent?client_id=${spec.application.clientId}`;
  return spec.application.redirectUri ? `${base}&redirect_uri=${encodeURIComponent(spec.application.redirectUri)}` : base;
}

/** The seed's other way: the sign-in URL a target admin opens in a browser. */
function signInUrl(spec: TenantGrantSpec, authorityHost: string): string {
  const redirect = spec.application.redirectUri ? `&redirect_uri=${encodeURIComponent(spec.application.redirectUri)}` : '';
  return `${authorityHost.replace(/\/+$/, '')}/${spec.target.tenantId}/oauth2/authorize?client_id=${spec.application.clientId}&response_type=code${redirect}`;
}

/**
 * What creating VMs from gallery images in the target resource group needs (TenantGrant verify
 * mode): VM, scale set, disk and network interface writes and the join of network interfaces;
 * public IP write and join when one is used; and the matching deletes when the VMs are deleted
 * with their objects.
 */
export function requiredTargetActions(options: { publicIp: boolean; deletes: boolean }): string[] {
  const writes = ['Microsoft.Compute/virtualMachines/write', 'Microsoft.Compute/virtualMachineScaleSets/write', 'Microsoft.Compute/disks/write', 'Microsoft.Network/networkInterfaces/write', 'Microsoft.Network/networkInterfaces/join/action'];
  const ipWrites = ['Microsoft.Network/publicIPAddresses/write', 'Microsoft.Network/publicIPAddresses/join/action'];
  const deletes = ['Microsoft.Compute/virtualMachines/delete', 'Microsoft.Compute/virtualMachineScaleSets/delete', 'Microsoft.Compute/disks/delete', 'Microsoft.Network/networkInterfaces/delete'];
  return [...writes, ...(options.publicIp ? ipWrites : []), ...(options.deletes ? [...deletes, ...(options.publicIp ? ['Microsoft.Network/publicIPAddresses/delete'] : [])] : [])];
}

/** The policy's refusals, checked before any Azure call. */
export function checkGrantPolicy(spec: TenantGrantSpec, policy: Policy): Explanation | undefined {
  const parts: string[] = [];
  const sourceRole = spec.source.role ?? DEFAULT_SOURCE_ROLE;
  const targetRole = spec.target.role ?? DEFAULT_TARGET_ROLE;
  if (policy.allowedGrantSourceRoles && !policy.allowedGrantSourceRoles.has(roleGuid(sourceRole))) parts.push(`role ${sourceRole} on the gallery is not in the operator's allowed-grant-source-roles`);
  if (policy.allowedGrantTargetRoles && !policy.allowedGrantTargetRoles.has(roleGuid(targetRole))) parts.push(`role ${targetRole} on the target resource group is not in the operator's allowed-grant-target-roles`);
  if (policy.allowedGrantTargetTenants && !policy.allowedGrantTargetTenants.has(spec.target.tenantId.toLowerCase())) parts.push(`target tenant ${spec.target.tenantId} is not in the operator's allowed-grant-target-tenants`);
  if (policy.requireObjectCredentials && !spec.source.azureCredentialsRef) {
    parts.push("source.azureCredentialsRef is missing and the operator's policy (require-object-credentials) forbids acting with its own identity: name a Secret with credentials that may write role assignments on the gallery");
  }
  if (!parts.length) return undefined;
  return {
    reason: 'PolicyViolation',
    message: `The operator's policy refuses this TenantGrant: ${parts.join('; ')}. Change the spec, or ask the operator's administrators to allow it. Nothing was changed in Azure.`,
  };
}

/** The assignments the spec asks for on each side, for the principals observed there. */
export function desiredAssignments(spec: TenantGrantSpec, owner: Owner, principals: { source?: string; target?: string }, targetWriter: boolean): DesiredGrantAssignment[] {
  const wanted: DesiredGrantAssignment[] = [];
  const add = (side: Side, scope: string, subscriptionId: string, principalId: string, role: string) => {
    const guid = roleGuid(role);
    wanted.push({ side, name: roleAssignmentName(owner, scope, principalId, guid), scope, principalId, roleGuid: guid, roleDefinitionId: roleDefinitionId(subscriptionId, guid), role });
  };
  if (principals.source) add('Source', galleryId(spec.source.gallery), spec.source.gallery.subscriptionId, principals.source, spec.source.role ?? DEFAULT_SOURCE_ROLE);
  if (principals.target && targetWriter) add('Target', targetResourceGroupId(spec), spec.target.subscriptionId, principals.target, spec.target.role ?? DEFAULT_TARGET_ROLE);
  return wanted;
}

/** The same principal, role and scope under any name satisfies the spec (Azure allows only one). */
const satisfies = (o: ObservedRoleAssignment, d: DesiredGrantAssignment) => sameId(o.scope, d.scope) && o.principalId === d.principalId && o.roleGuid === d.roleGuid;

const condition = (tg: TenantGrant, type: string) => tg.status?.conditions?.find((c) => c.type === type);
const since = (tg: TenantGrant, type: string, status: string) => {
  const c = condition(tg, type);
  return c?.status === status && c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : undefined;
};

const DAY_MS = 24 * 3600_000;

export function planTenantGrant(tg: TenantGrant, observed: GrantObservation, context: GrantPlanContext): KindPlan<GrantAction> {
  const { spec } = tg;
  const owner = ownerOf(tg);
  const app = spec.application.clientId;
  const details: ConditionInput[] = [];
  const events: PlanEvent[] = [];
  const actions: GrantAction[] = [];
  const unknown = (type: string, why: string): ConditionInput => ({ type, status: 'Unknown', reason: 'NotChecked', message: why });

  // ----- The app's certificate, past its end: Entra would refuse it, nothing was asked -----
  const expiresAt = observed.application?.certificateExpiresAt;
  if (expiresAt !== undefined && expiresAt <= context.now) {
    const stalled: Explanation = {
      reason: 'CredentialExpired',
      message: `The certificate in Secret ${spec.application.credentialsRef.name} expired at ${new Date(expiresAt).toISOString()}: Entra refuses it. Upload a new certificate to the app registration and put it (with its private key) in the Secret; the operator checks again by itself.`,
    };
    const why = 'Not checked: the application certificate has expired.';
    details.push(unknown('SourceAccess', why), unknown('Consented', why), unknown('TargetAccess', why));
    return { actions: [], details, stalled };
  }

  // ----- Source: the app's own principal at home, the role on the gallery, the app's read -----
  const sourcePrincipal = observed.source.principal;
  if (!sourcePrincipal || 'refused' in sourcePrincipal) {
    const stalled: Explanation =
      sourcePrincipal?.refused === 'AADSTS7000229'
        ? {
            reason: 'ServicePrincipalMissing',
            message: `Application ${app} has no service principal in its home (source) tenant ${spec.source.tenantId} (Entra: ${sourcePrincipal.message}). An administrator of that tenant creates it with: az ad sp create --id ${app} (or opens the app under Enterprise applications). The operator checks again by itself.`,
          }
        : {
            reason: 'ApplicationNotFound',
            message: `Microsoft Entra ID does not know application ${app} in the source tenant ${spec.source.tenantId} (Entra: ${sourcePrincipal?.message ?? 'no answer'}). Check spec.application.clientId (the Application (client) ID of the app registration) and spec.source.tenantId (the tenant the app is registered in).`,
          };
    details.push({ type: 'SourceAccess', status: 'False', reason: stalled.reason, message: stalled.message });
    details.push(unknown('Consented', 'Not checked: the source tenant refused the app first.'), unknown('TargetAccess', 'Not checked: the source tenant refused the app first.'));
    return { actions: [], details, stalled };
  }

  const principals = {
    source: sourcePrincipal.principalId,
    target: observed.target?.principal && 'principalId' in observed.target.principal ? observed.target.principal.principalId : undefined,
  };
  const targetWriter = spec.target.azureCredentialsRef !== undefined;
  const desired = desiredAssignments(spec, owner, principals, targetWriter);
  const sourceWanted = desired.filter((d) => d.side === 'Source');
  const sourceAssignments = observed.source.assignments ?? [];
  const sourceMissing = sourceWanted.filter((d) => !sourceAssignments.some((o) => satisfies(o, d)));
  for (const d of sourceMissing) actions.push({ type: 'createRoleAssignment', assignment: d });
  // An assignment this object made for a role the spec no longer names (spec.source.role changed).
  for (const o of sourceAssignments) {
    if (isOwnedRoleAssignment(o, owner) && !sourceWanted.some((d) => satisfies(o, d))) actions.push({ type: 'deleteRoleAssignment', side: 'Source', assignment: o });
  }
  const sourceRole = spec.source.role ?? DEFAULT_SOURCE_ROLE;
  let sourcePending: Explanation | undefined;
  if (sourceMissing.length) {
    details.push({ type: 'SourceAccess', status: 'False', reason: 'Assigning', message: `Assigning ${sourceRole} on gallery ${spec.source.gallery.name} to the app's service principal ${principals.source}.` });
  } else if (observed.source.appCanRead === false) {
    sourcePending = {
      reason: 'RoleAssignmentPropagating',
      message: `${sourceRole} on gallery ${spec.source.gallery.name} is assigned to the app's service principal ${principals.source}, but the app cannot read the gallery with its own token yet: Azure takes a few minutes to apply a new role assignment. Checking again.`,
    };
    details.push({ type: 'SourceAccess', status: 'False', ...sourcePending });
  } else {
    details.push({ type: 'SourceAccess', status: 'True', reason: 'Granted', message: `The app (service principal ${principals.source}) reads gallery ${spec.source.gallery.name} with its own token.` });
  }

  // ----- Target: consent, then the role on the resource group -----
  const target = observed.target;
  const wasConsented = condition(tg, 'Consented');
  let stalled: (Explanation & { recheckAfterMs?: number }) | undefined;
  if (!target?.principal) {
    details.push(unknown('Consented', 'Not checked yet.'), unknown('TargetAccess', 'Not checked yet.'));
  } else if ('refused' in target.principal) {
    const url = consentUrl(spec, context.authorityHost);
    const message =
      `Application ${app} has no service principal in the target tenant ${spec.target.tenantId} (Entra: ${target.principal.message}). ` +
      `An administrator of that tenant must consent once: open ${url} and accept. ` +
      `Other ways: sign in at ${signInUrl(spec, context.authorityHost)}, or run az ad sp create --id ${app} signed in to that tenant. ` +
      'The operator checks again by itself and goes on when consent is given.';
    details.push({ type: 'Consented', status: 'False', reason: 'ConsentRequired', message });
    details.push(unknown('TargetAccess', 'Not checked: the app has no service principal in the target tenant.'));
    stalled = { reason: 'ConsentRequired', message, recheckAfterMs: recheckDelay(since(tg, 'Consented', 'False'), context) };
  } else {
    details.push({ type: 'Consented', status: 'True', reason: 'ServicePrincipalFound', message: `The app has a service principal in the target tenant (object id ${principals.target}).` });
    if (wasConsented?.status === 'False') {
      events.push({ type: 'Normal', reason: 'ConsentDetected', message: `Consent detected: application ${app} now has a service principal (${principals.target}) in tenant ${spec.target.tenantId}.` });
    }
    const targetRole = spec.target.role ?? DEFAULT_TARGET_ROLE;
    const rg = targetResourceGroupId(spec);
    if (targetWriter) {
      const targetWanted = desired.filter((d) => d.side === 'Target');
      const assignments = target.assignments ?? [];
      const missing = targetWanted.filter((d) => !assignments.some((o) => satisfies(o, d)));
      for (const d of missing) actions.push({ type: 'createRoleAssignment', assignment: d });
      for (const o of assignments) {
        if (isOwnedRoleAssignment(o, owner) && !targetWanted.some((d) => satisfies(o, d))) actions.push({ type: 'deleteRoleAssignment', side: 'Target', assignment: o });
      }
      details.push(
        missing.length
          ? { type: 'TargetAccess', status: 'False', reason: 'Assigning', message: `Assigning ${targetRole} on ${rg} to the app's service principal ${principals.target}.` }
          : { type: 'TargetAccess', status: 'True', reason: 'Granted', message: `${targetRole} on ${rg} is assigned to the app's service principal ${principals.target}.` },
      );
    } else {
      const permissions = target.permissions ?? 'forbidden';
      const missing = permissions === 'forbidden' ? [...context.requiredTargetActions] : missingActions(context.requiredTargetActions, permissions);
      if (missing.length) {
        const why = permissions === 'forbidden' ? `Azure refuses the app even the read of its own permissions on ${rg}: it has no role there` : `The app lacks ${missing.join(', ')} on ${rg}`;
        const message =
          `${why}, which creating VMs from the gallery's images needs. An administrator of the target tenant assigns the role: ` +
          `az role assignment create --assignee ${app} --role ${targetRole} --scope ${rg}` +
          ' (or name a Secret that may write role assignments there in spec.target.azureCredentialsRef, and the operator assigns it). The operator checks again by itself.';
        details.push({ type: 'TargetAccess', status: 'False', reason: 'TargetRoleMissing', message });
        stalled = { reason: 'TargetRoleMissing', message, recheckAfterMs: recheckDelay(since(tg, 'TargetAccess', 'False'), context) };
      } else {
        details.push({ type: 'TargetAccess', status: 'True', reason: 'Verified', message: `The app may create, run and delete VMs and scale sets in ${rg} (checked with its own token; the operator does not manage the role there).` });
      }
    }
  }

  // ----- The app's certificate: Ready, with a caveat, when it ends soon -----
  let readyNote: Explanation | undefined;
  if (expiresAt !== undefined && context.expiryWarningMs > 0 && expiresAt - context.now <= context.expiryWarningMs) {
    const days = Math.max(0, Math.floor((expiresAt - context.now) / DAY_MS));
    readyNote = {
      reason: 'CredentialExpiringSoon',
      message: `Azure matches the spec, but the certificate in Secret ${spec.application.credentialsRef.name} expires at ${new Date(expiresAt).toISOString()} (in ${days} day(s)): upload a new certificate to the app registration and put it in the Secret before then.`,
    };
  }

  // Writes first (the source role does not wait for consent); then what needs a person; then
  // what Azure applies by itself.
  if (actions.length) return { actions, details, events };
  if (stalled) return { actions, details, events, stalled };
  if (sourcePending) {
    const waitingSince = since(tg, 'SourceAccess', 'False');
    if (waitingSince !== undefined && context.now - waitingSince > SETTLING_MS.roleAssignmentPropagation) {
      // Longer than Azure takes to apply a role assignment: the role does not let the app read.
      const denied: Explanation = {
        reason: 'SourceAccessDenied',
        message: `${sourceRole} on gallery ${spec.source.gallery.name} has been assigned to the app's service principal ${principals.source} for more than ${SETTLING_MS.roleAssignmentPropagation / 60_000} minutes, and the app still cannot read the gallery with its own token. Check that the role allows Microsoft.Compute/galleries/read, and that no deny assignment or condition excludes the app; the operator checks again by itself.`,
      };
      details.splice(details.findIndex((d) => d.type === 'SourceAccess'), 1, { type: 'SourceAccess', status: 'False', ...denied });
      return { actions, details, events, stalled: denied };
    }
    return { actions, details, events, waiting: { ...sourcePending, recheckAfterMs: recheckDelay(waitingSince, { ...context, recheck: { initialMs: 5_000, maxMs: 60_000 } }) } };
  }
  // The expiry warning once, when the grant is Ready with it (a Stalled grant has other news).
  if (readyNote && !tg.status?.conditions?.some((c) => c.type === 'Ready' && c.reason === readyNote.reason)) {
    events.push({ type: 'Warning', reason: readyNote.reason, message: readyNote.message });
  }
  return { actions, details, events, ...(readyNote ? { readyNote } : {}) };
}

/**
 * What deleting the TenantGrant with deletionPolicy Delete undoes: the role assignments it owns on
 * both sides. Consent (the app's service principal in the target tenant) is never removed: the
 * target tenant's admin gave it, and other grants or apps may rely on it.
 */
export function planGrantDeletion(tg: TenantGrant, observed: GrantObservation): DeletionPlan<GrantAction> {
  const owner = ownerOf(tg);
  const actions: GrantAction[] = [];
  for (const o of observed.source.assignments ?? []) if (isOwnedRoleAssignment(o, owner)) actions.push({ type: 'deleteRoleAssignment', side: 'Source', assignment: o });
  for (const o of observed.target?.assignments ?? []) if (isOwnedRoleAssignment(o, owner)) actions.push({ type: 'deleteRoleAssignment', side: 'Target', assignment: o });
  return {
    actions,
    events: [
      {
        type: 'Normal',
        reason: 'ConsentKept',
        message: `Consent is kept: the service principal of application ${tg.spec.application.clientId} in tenant ${tg.spec.target.tenantId} stays (the operator never removes consent; an administrator of that tenant removes it under Enterprise applications, or with az ad sp delete --id ${tg.spec.application.clientId}).`,
      },
    ],
  };
}
