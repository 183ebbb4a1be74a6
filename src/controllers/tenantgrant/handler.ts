// TenantGrant's part of the shared reconciler. Three identities act for one grant:
//   the app (spec.application): tokens in both tenants say whether it has a service principal
//     there (consent) and its object id; with them it reads the gallery (source access works)
//     and, in verify mode, its own permissions on the target resource group;
//   the source writer (source.azureCredentialsRef, or the operator's own identity) reads the
//     gallery and writes the app's role on it;
//   the target writer (target.azureCredentialsRef, optional) writes the app's role on the target
//     resource group; without it the operator only verifies.
// Every write is a role assignment (synchronous). Planning is plan.ts (pure).
import type { AuthorizationManagementClient } from '@azure/arm-authorization';
import type { ComputeManagementClient } from '@azure/arm-compute';
import { TenantGrantKind, type InFlightOperation, type SharedImageVM, type TenantGrant, type TenantGrantStatus } from '../../api/v1alpha1/index.js';
import { galleryId, sameId } from '../../azure/arm-ids.js';
import type { AzureClients } from '../../azure/clients.js';
import { certificateExpiry, forTenant } from '../../azure/credentials.js';
import { armScope } from '../../azure/environment.js';
import { isArmNotFound, isResourceNotFound } from '../../azure/errors.js';
import type { Polled, Started } from '../../azure/operations.js';
import { isOwnedRoleAssignment, ownedDescription } from '../../azure/ownership.js';
import { createRoleAssignment, deleteRoleAssignment, listRoleAssignmentsAtOrBelow, type ObservedRoleAssignment } from '../../azure/role-assignments.js';
import { roleGuid as roleGuidOfName } from '../../azure/roles.js';
import { appPrincipal, canReadGallery, permissionsOnResourceGroup, type PrincipalLookup } from '../../azure/tenant-access.js';
import { objectKey } from '../../runtime/informer.js';
import type { CredentialResolver } from '../shared/credentials.js';
import type { ActionDescription, DeletionPlan, Explanation, KindHandler, KindPlan, Phase } from '../shared/handler.js';
import type { Policy } from '../shared/policy.js';
import {
  checkGrantPolicy,
  consentUrl,
  DEFAULT_SOURCE_ROLE,
  DEFAULT_TARGET_ROLE,
  ownerOf,
  planGrantDeletion,
  planTenantGrant,
  requiredTargetActions,
  targetResourceGroupId,
  type GrantAction,
  type GrantObservation,
  type Side,
} from './plan.js';

export interface GrantClients {
  sourceWriter: { compute: ComputeManagementClient; authorization: AuthorizationManagementClient };
  targetWriter?: { authorization: AuthorizationManagementClient };
  /** The app's own clients; absent during deletion, which needs only the writers. */
  app?: {
    source: ComputeManagementClient;
    target: AuthorizationManagementClient;
    tokenInSource: Parameters<typeof appPrincipal>[0];
    tokenInTarget: Parameters<typeof appPrincipal>[0];
  };
  /** notAfter of the app's certificate (ms), when its Secret holds one. */
  certificateExpiresAt?: number;
}

export interface TenantGrantHandlerOptions {
  azure: AzureClients;
  credentials: CredentialResolver;
  policy: Policy;
  /** The SharedImageVMs that reference this grant (an index lookup, indexes.ts). */
  vmsReferencing(grant: TenantGrant): SharedImageVM[];
  /** Warn when the app's certificate expires within this many days; 0 never. */
  credentialExpiryWarningDays: number;
  consentRecheck: { initialMs: number; maxMs: number };
  now?: () => number;
  random?: () => number;
}

/** How often a deletion waiting for SharedImageVMs looks again (their deletion also wakes it). */
const IN_USE_RECHECK_MS = 30_000;

export class TenantGrantHandler implements KindHandler<TenantGrant, GrantClients, GrantObservation, GrantAction> {
  readonly kind = TenantGrantKind;
  readonly detailConditions: readonly string[] = ['Consented', 'SourceAccess', 'TargetAccess'];
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly options: TenantGrantHandlerOptions) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  preconditions(obj: TenantGrant, phase: Phase): Explanation | undefined {
    // Policy bounds what an object may do, not what it may undo.
    return phase === 'reconcile' ? checkGrantPolicy(obj.spec, this.options.policy) : undefined;
  }

  deletionBlocked(obj: TenantGrant): (Explanation & { recheckAfterMs: number }) | undefined {
    const users = this.options.vmsReferencing(obj).map(objectKey);
    if (!users.length) return undefined;
    return {
      reason: 'InUse',
      message: `Waiting for SharedImageVM ${users.join(', ')} to be deleted first: they act through this grant's application, and their own deletion needs its access. The TenantGrant goes as soon as none references it.`,
      recheckAfterMs: IN_USE_RECHECK_MS,
    };
  }

  async connect(obj: TenantGrant, phase: Phase, signal: AbortSignal): Promise<GrantClients> {
    const { spec } = obj;
    const namespace = obj.metadata.namespace!;
    const azure = this.options.azure;
    const lastKnownIfGone = phase === 'delete';
    const source = await this.options.credentials.resolve(namespace, spec.source.azureCredentialsRef?.name, { lastKnownIfGone, signal });
    const sourceCredential = forTenant(source.credential, spec.source.tenantId);
    const clients: GrantClients = {
      sourceWriter: { compute: azure.computeClient(sourceCredential, spec.source.gallery.subscriptionId), authorization: azure.authorizationClient(sourceCredential, spec.source.gallery.subscriptionId) },
    };
    if (spec.target.azureCredentialsRef) {
      const target = await this.options.credentials.resolve(namespace, spec.target.azureCredentialsRef.name, { lastKnownIfGone, signal });
      clients.targetWriter = { authorization: azure.authorizationClient(forTenant(target.credential, spec.target.tenantId), spec.target.subscriptionId) };
    }
    if (phase === 'delete') return clients;

    const app = await this.options.credentials.resolveApplication(namespace, spec.application.credentialsRef.name, spec.application.clientId, { signal });
    const expiresAt = app.material.clientCertificate ? certificateExpiry(app.material.clientCertificate)?.getTime() : undefined;
    const inSource = app.inTenant(spec.source.tenantId);
    const inTarget = app.inTenant(spec.target.tenantId);
    clients.app = {
      source: azure.computeClient(inSource, spec.source.gallery.subscriptionId),
      target: azure.authorizationClient(inTarget, spec.target.subscriptionId),
      tokenInSource: inSource,
      tokenInTarget: inTarget,
    };
    if (expiresAt !== undefined) clients.certificateExpiresAt = expiresAt;
    return clients;
  }

  async observe(obj: TenantGrant, clients: GrantClients, phase: Phase, signal: AbortSignal): Promise<GrantObservation | undefined> {
    const { spec } = obj;
    const gallery = spec.source.gallery;
    const scope = armScope(this.options.azure.env);
    const rg = targetResourceGroupId(spec);

    if (phase === 'delete' || !clients.app) {
      // Deletion needs only what this object made; a scope gone takes its assignments with it.
      const sourceAssignments = await assignmentsAt(clients.sourceWriter.authorization, galleryId(gallery), signal);
      const targetAssignments = clients.targetWriter ? await assignmentsAt(clients.targetWriter.authorization, rg, signal) : [];
      return { source: { assignments: sourceAssignments }, target: { assignments: targetAssignments } };
    }

    const application = { ...(clients.certificateExpiresAt !== undefined ? { certificateExpiresAt: clients.certificateExpiresAt } : {}) };
    // An expired certificate: Entra would refuse it, so nothing is asked (plan.ts stalls).
    if (clients.certificateExpiresAt !== undefined && clients.certificateExpiresAt <= this.now()) return { source: {}, application };
    try {
      await clients.sourceWriter.compute.galleries.get(gallery.resourceGroup, gallery.name, { abortSignal: signal });
    } catch (err) {
      // Only the gallery itself missing is GalleryNotFound; a missing resource group or
      // subscription says so with its own code.
      if (isResourceNotFound(err)) return undefined;
      throw err;
    }
    const sourcePrincipal = await appPrincipal(clients.app.tokenInSource, scope, spec.source.tenantId, signal);
    if ('refused' in sourcePrincipal) return { source: { principal: sourcePrincipal }, application };
    const sourceAssignments = await assignmentsAt(clients.sourceWriter.authorization, galleryId(gallery), signal);
    const appCanRead = await canReadGallery(clients.app.source, gallery.resourceGroup, gallery.name, signal);

    const targetPrincipal = await appPrincipal(clients.app.tokenInTarget, scope, spec.target.tenantId, signal);
    const observation: GrantObservation = { source: { principal: sourcePrincipal, assignments: sourceAssignments, appCanRead }, target: { principal: targetPrincipal }, application };
    if ('refused' in targetPrincipal) return observation;
    if (clients.targetWriter) observation.target!.assignments = await assignmentsAt(clients.targetWriter.authorization, rg, signal);
    else observation.target!.permissions = await permissionsOnResourceGroup(clients.app.target, spec.target.resourceGroup, signal);
    return observation;
  }

  absent(obj: TenantGrant): Explanation {
    const { subscriptionId, resourceGroup, name } = obj.spec.source.gallery;
    return {
      reason: 'GalleryNotFound',
      message: `Gallery ${name} does not exist in resource group ${resourceGroup} of subscription ${subscriptionId} (as the source writer sees it). Check spec.source.gallery, or create the gallery; the operator checks again by itself.`,
    };
  }

  plan(obj: TenantGrant, observed: GrantObservation): KindPlan<GrantAction> {
    const vms = this.options.vmsReferencing(obj);
    return planTenantGrant(obj, observed, {
      now: this.now(),
      authorityHost: this.options.azure.env.authorityHost,
      requiredTargetActions: requiredTargetActions({
        publicIp: vms.some((vm) => vm.spec.network?.publicIP === true),
        // VMs are deleted with their objects unless every one says Orphan (Delete is the default).
        deletes: vms.length === 0 || vms.some((vm) => (vm.spec.deletionPolicy ?? 'Delete') === 'Delete'),
      }),
      expiryWarningMs: this.options.credentialExpiryWarningDays * 24 * 3600_000,
      recheck: this.options.consentRecheck,
      jitter: this.random() * 2 - 1,
    });
  }

  planDeletion(obj: TenantGrant, observed: GrantObservation): DeletionPlan<GrantAction> {
    return planGrantDeletion(obj, observed);
  }

  async act(obj: TenantGrant, action: GrantAction, clients: GrantClients, signal: AbortSignal): Promise<Started> {
    const writer = this.writer(action.type === 'createRoleAssignment' ? action.assignment.side : action.side, clients);
    if (action.type === 'createRoleAssignment') {
      const { scope, name, roleDefinitionId, principalId } = action.assignment;
      // principalType spares ARM the directory lookup that a principal made moments ago (by
      // consent) may not pass yet.
      await createRoleAssignment(writer, { scope, name, roleDefinitionId, principalId, principalType: 'ServicePrincipal', description: ownedDescription(ownerOf(obj)) }, signal);
    } else {
      await deleteRoleAssignment(writer, action.assignment.id, signal);
    }
    return { done: true };
  }

  resume(_obj: TenantGrant, _operation: InFlightOperation): Promise<Polled> {
    // Every TenantGrant write is synchronous: an operation in status comes from nothing it does.
    return Promise.resolve({ done: true });
  }

  describe(action: GrantAction): ActionDescription {
    const side = action.type === 'createRoleAssignment' ? action.assignment.side : action.side;
    const where = side === 'Source' ? 'source tenant' : 'target tenant';
    if (action.type === 'createRoleAssignment') {
      const a = action.assignment;
      return { reason: 'RoleAssignmentCreated', text: `assign ${a.role} to the app's service principal ${a.principalId} at ${a.scope} (${where})`, operation: 'createRoleAssignment' };
    }
    return { reason: 'RoleAssignmentDeleted', text: `delete role assignment ${action.assignment.name} at ${action.assignment.scope} (${where})`, operation: 'deleteRoleAssignment' };
  }

  status(obj: TenantGrant, observed: GrantObservation | undefined, { current, gone }: { current?: TenantGrantStatus; gone: boolean }): Omit<TenantGrantStatus, 'observedGeneration' | 'conditions'> {
    const { spec } = obj;
    // A principal id is the app's identity in a tenant: kept while not asked, dropped once the
    // tenant says the app has none there.
    const principalId = (lookup: PrincipalLookup | undefined, kept: string | undefined) => (lookup === undefined ? kept : 'principalId' in lookup ? lookup.principalId : undefined);
    const sourcePrincipalId = principalId(observed?.source.principal, current?.sourcePrincipalId);
    const targetPrincipalId = principalId(observed?.target?.principal, current?.targetPrincipalId);
    // The certificate's end as the app's Secret says now; kept only while the Secret was not read.
    const expiresAt = observed?.application ? observed.application.certificateExpiresAt : current?.credentialExpiresAt ? Date.parse(current.credentialExpiresAt) : undefined;
    // The assignments it owns, side by side: as read now, or as last read when a side was not
    // read this time (a tenant refused the app first); none once the gallery is gone.
    const owner = ownerOf(obj);
    const side = (which: Side, list: ObservedRoleAssignment[] | undefined) =>
      list === undefined
        ? gone
          ? []
          : (current?.roleAssignments ?? []).filter((ra) => ra.side === which)
        : list.filter((ra) => isOwnedRoleAssignment(ra, owner)).map((ra) => ({ side: which, name: ra.name, principalId: ra.principalId, role: roleName(which, spec, ra.roleGuid), scope: ra.scope, id: ra.id }));
    const roleAssignments = [...side('Source', observed?.source.assignments), ...side('Target', observed?.target?.assignments)];
    return {
      consentUrl: consentUrl(spec, this.options.azure.env.authorityHost),
      ...(sourcePrincipalId ? { sourcePrincipalId } : {}),
      ...(targetPrincipalId ? { targetPrincipalId } : {}),
      ...(expiresAt !== undefined ? { credentialExpiresAt: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z') } : {}),
      ...(roleAssignments.length ? { roleAssignments } : {}),
    };
  }

  private writer(side: Side, clients: GrantClients): AuthorizationManagementClient {
    if (side === 'Source') return clients.sourceWriter.authorization;
    if (!clients.targetWriter) throw new Error('no target writer: a TenantGrant without target.azureCredentialsRef never writes in the target tenant');
    return clients.targetWriter.authorization;
  }
}

/** Role assignments exactly at a scope (at-or-below, then filtered); none when the scope is gone. */
async function assignmentsAt(authorization: AuthorizationManagementClient, scope: string, signal: AbortSignal): Promise<ObservedRoleAssignment[]> {
  try {
    return (await listRoleAssignmentsAtOrBelow(authorization, scope, signal)).filter((ra) => sameId(ra.scope, scope));
  } catch (err) {
    if (isArmNotFound(err)) return [];
    throw err;
  }
}

/** The role as the spec writes it when it is the one the spec names, else its GUID. */
function roleName(side: Side, spec: TenantGrant['spec'], guid: string): string {
  const role = side === 'Source' ? (spec.source.role ?? DEFAULT_SOURCE_ROLE) : (spec.target.role ?? DEFAULT_TARGET_ROLE);
  return roleGuidOfName(role) === guid ? role : guid;
}
