// GalleryShare's part of the shared reconciler: it reads the gallery with its share groups and
// the role assignments at and below it (2 ARM reads), plans with plan.ts (pure), and makes one
// change at a time: a share call or permission change (long-running: started, its resume token
// kept in status, polled later) or a role assignment. Claims (one GalleryShare per gallery, the
// oldest) and the operator's policy are checked before any Azure call.
import type { AuthorizationManagementClient } from '@azure/arm-authorization';
import type { ComputeManagementClient } from '@azure/arm-compute';
import { GalleryShareKind, type GalleryShare, type GalleryShareStatus, type InFlightOperation } from '../../api/v1alpha1/index.js';
import { galleryId } from '../../azure/arm-ids.js';
import { isArmNotFound } from '../../azure/errors.js';
import type { AzureClients } from '../../azure/clients.js';
import { pollGalleryOperation, readGallery, startSetPermission, startShare, type GalleryOperation } from '../../azure/gallery-sharing.js';
import type { Polled, Started } from '../../azure/operations.js';
import { isOwnedRoleAssignment, ownedDescription, type Owner } from '../../azure/ownership.js';
import { createRoleAssignment, deleteRoleAssignment, listRoleAssignmentsAtOrBelow } from '../../azure/role-assignments.js';
import { roleGuid } from '../../azure/roles.js';
import { objectKey } from '../../runtime/informer.js';
import type { CredentialResolver } from '../shared/credentials.js';
import type { ActionDescription, DeletionPlan, Explanation, KindHandler, KindPlan, Phase } from '../shared/handler.js';
import type { Policy } from '../shared/policy.js';
import { adoptionRecord, checkPolicy, keepAdopted, planDeletion, planGalleryShare, type Action, type Adopted, type Observation } from './plan.js';

export interface GalleryShareClients {
  compute: ComputeManagementClient;
  authorization: AuthorizationManagementClient;
}

export interface GalleryShareHandlerOptions {
  azure: AzureClients;
  credentials: CredentialResolver;
  policy: Policy;
  /** The GalleryShares that name this gallery: an index lookup (indexes.ts), not a scan. */
  sharesOfGallery(gallery: GalleryShare['spec']['gallery']): GalleryShare[];
  /**
   * Whether sharesOfGallery's cache holds this GalleryShare yet (and with it every older one):
   * always, when that cache is the one the object was read from; a shard reads claims from a
   * cache of every shard's objects, a separate watch that may lag its own. Absent: always.
   */
  claimsCurrent?(gs: GalleryShare): boolean;
}

/** The owner of what a GalleryShare makes in Azure (ownership.ts). */
export const ownerOf = (gs: GalleryShare): Owner => ({ kind: 'GalleryShare', namespace: gs.metadata.namespace ?? '', name: gs.metadata.name ?? '' });


const EVENT_REASON: Record<string, string> = {
  setPermission: 'PermissionChanged',
  Add: 'Shared',
  Remove: 'Unshared',
  EnableCommunity: 'CommunityEnabled',
  Reset: 'SharingReset',
  createRoleAssignment: 'RoleAssignmentCreated',
  deleteRoleAssignment: 'RoleAssignmentDeleted',
};

const isLongRunning = (a: Action) => a.type === 'share' || a.type === 'setPermission';

export class GalleryShareHandler implements KindHandler<GalleryShare, GalleryShareClients, Observation, Action> {
  readonly kind = GalleryShareKind;
  readonly detailConditions: readonly string[] = ['DirectShareSynced', 'RoleAssignmentsSynced', 'CommunitySynced'];

  constructor(private readonly options: GalleryShareHandlerOptions) {}

  /** Deciding the claim without the older GalleryShares could let two act on one gallery. */
  cachesCurrent(obj: GalleryShare): boolean {
    return this.options.claimsCurrent?.(obj) ?? true;
  }

  preconditions(obj: GalleryShare, phase: Phase): Explanation | undefined {
    const claimant = this.olderClaimant(obj);
    if (claimant) {
      return {
        reason: 'GalleryClaimed',
        message: `GalleryShare ${claimant} already manages gallery ${obj.spec.gallery.name}; one gallery is managed by one GalleryShare (the oldest). Merge this spec into ${claimant}, or delete one of them.`,
      };
    }
    // Policy bounds what an object may do, not what it may undo.
    return phase === 'reconcile' ? checkPolicy(obj.spec, this.options.policy) : undefined;
  }

  async connect(obj: GalleryShare, phase: Phase, signal: AbortSignal): Promise<GalleryShareClients> {
    const { credential } = await this.options.credentials.resolve(obj.metadata.namespace!, obj.spec.azureCredentialsRef?.name, { lastKnownIfGone: phase === 'delete', signal });
    const { subscriptionId } = obj.spec.gallery;
    return { compute: this.options.azure.computeClient(credential, subscriptionId), authorization: this.options.azure.authorizationClient(credential, subscriptionId) };
  }

  async observe(obj: GalleryShare, clients: GalleryShareClients, phase: Phase, signal: AbortSignal): Promise<Observation | undefined> {
    const { gallery } = obj.spec;
    // Its resource group or subscription gone: while deleting, the gallery went with them and
    // there is nothing to undo; otherwise the refusal says which is missing.
    const observedGallery = await readGallery(clients.compute, gallery.resourceGroup, gallery.name, signal).catch((err: unknown) => {
      if (phase === 'delete' && isArmNotFound(err)) return undefined;
      throw err;
    });
    if (!observedGallery) return undefined;
    // Always listed: the assignments this object made are found by their names in Azure, not by
    // what its status last said (a status may have been written while nothing was read).
    const roleAssignments = await listRoleAssignmentsAtOrBelow(clients.authorization, galleryId(gallery), signal);
    return { gallery: observedGallery, roleAssignments };
  }

  absent(obj: GalleryShare): Explanation {
    const { subscriptionId, resourceGroup, name } = obj.spec.gallery;
    return {
      reason: 'GalleryNotFound',
      message: `Gallery ${name} does not exist in resource group ${resourceGroup} of subscription ${subscriptionId}. Check spec.gallery, or create the gallery (az sig create); the operator checks again by itself.`,
    };
  }

  plan(obj: GalleryShare, observed: Observation): KindPlan<Action> {
    const plan = planGalleryShare(obj.spec, observed, ownerOf(obj));
    // Role assignments are synchronous and independent of the share calls: they go first, so
    // that a long-running share operation does not hold them back for another reconcile.
    return { ...plan, actions: [...plan.actions].sort((a, b) => Number(isLongRunning(a)) - Number(isLongRunning(b))) };
  }

  planDeletion(obj: GalleryShare, observed: Observation): DeletionPlan<Action> {
    return planDeletion(obj.spec, observed, ownerOf(obj), obj.status?.adopted as Adopted | undefined);
  }

  async act(obj: GalleryShare, action: Action, { compute, authorization }: GalleryShareClients, signal: AbortSignal): Promise<Started> {
    const { resourceGroup, name } = obj.spec.gallery;
    switch (action.type) {
      case 'setPermission':
        return startSetPermission(compute, resourceGroup, name, action.permission, action.community, signal);
      case 'share':
        return startShare(
          compute,
          resourceGroup,
          name,
          action.operation === 'Add' || action.operation === 'Remove'
            ? { operationType: action.operation, subscriptions: action.subscriptions, tenants: action.tenants }
            : { operationType: action.operation },
          signal,
        );
      case 'createRoleAssignment':
        await createRoleAssignment(authorization, { ...action.assignment, description: ownedDescription(ownerOf(obj)) }, signal);
        return { done: true };
      case 'deleteRoleAssignment':
        await deleteRoleAssignment(authorization, action.assignment.id, signal);
        return { done: true };
    }
  }

  resume(_obj: GalleryShare, operation: InFlightOperation, { compute }: GalleryShareClients, signal: AbortSignal): Promise<Polled> {
    return pollGalleryOperation(compute, operation.action as GalleryOperation, operation.resumeToken, signal);
  }

  describe(action: Action): ActionDescription {
    const operation = action.type === 'share' ? 'share' : action.type;
    return { reason: EVENT_REASON[action.type === 'share' ? action.operation : action.type]!, text: describeAction(action), operation };
  }

  status(obj: GalleryShare, observed: Observation | undefined, { before, current, gone }: { before?: Observation; current?: GalleryShareStatus; gone: boolean }): Omit<GalleryShareStatus, 'observedGeneration' | 'conditions'> {
    const adopted = this.adopted(obj, observed, before, current);
    if (!observed) {
      // Not read this time: say nothing of the sharing. The unique name is the gallery's identity
      // (what consumers put in /SharedGalleries/...), kept unless the gallery is gone.
      const uniqueName = gone ? undefined : current?.galleryUniqueName;
      return { ...(uniqueName ? { galleryUniqueName: uniqueName } : {}), ...(adopted ? { adopted } : {}) };
    }
    const g = observed.gallery;
    const owner = ownerOf(obj);
    return {
      galleryUniqueName: g.uniqueName,
      permission: g.permission,
      // Azure assigns public names before publishing; they resolve only once published.
      ...(g.communityEnabled && g.communityPublicNames.length ? { communityPublicNames: g.communityPublicNames } : {}),
      ...(g.permission === 'Groups' ? { directShare: { subscriptions: g.subscriptions, tenants: g.tenants } } : {}),
      ...(adopted ? { adopted } : {}),
      roleAssignments: observed.roleAssignments.filter((ra) => isOwnedRoleAssignment(ra, owner)).map((ra) => ({
        name: ra.name,
        principalId: ra.principalId,
        role: obj.spec.roleAssignments?.find((s) => s.principalId.toLowerCase() === ra.principalId && roleGuid(s.role) === ra.roleGuid)?.role ?? ra.roleGuid,
        scope: ra.scope,
        id: ra.id,
      })),
    };
  }

  /**
   * The record of what the gallery held before this object first acted: made from the first
   * observation of the first reconcile that got that far (the one before its first change), then
   * kept in step with Azure. An object that acted before but has no record (a status restored
   * without it) gets none: what it adopted can no longer be told.
   */
  private adopted(obj: GalleryShare, observed: Observation | undefined, before: Observation | undefined, current: GalleryShareStatus | undefined): Adopted | undefined {
    const record = current?.adopted as Adopted | undefined;
    if (record) return observed ? keepAdopted(record, observed.gallery) : record;
    const actedBefore = (current?.conditions ?? []).some((c) => this.detailConditions.includes(c.type));
    const first = before ?? observed;
    return actedBefore || !first ? undefined : adoptionRecord(first.gallery);
  }

  /** The older GalleryShare (by creation, then name) that names the same gallery, if any. */
  private olderClaimant(obj: GalleryShare): string | undefined {
    const created = (o: GalleryShare) => `${o.metadata.creationTimestamp ?? ''}|${objectKey(o)}`;
    const older = this.options
      .sharesOfGallery(obj.spec.gallery)
      .filter((o) => o.metadata.uid !== obj.metadata.uid && !o.metadata.deletionTimestamp && created(o) < created(obj))
      .sort((a, b) => (created(a) < created(b) ? -1 : 1));
    return older[0] ? objectKey(older[0]) : undefined;
  }
}

function describeAction(a: Action): string {
  switch (a.type) {
    case 'setPermission':
      return a.community ? `set the sharing permission to ${a.permission} with the community publisher details of the spec` : `set the sharing permission to ${a.permission}`;
    case 'share':
      if (a.operation === 'Add' || a.operation === 'Remove') {
        const parts = [a.subscriptions.length && `subscriptions ${a.subscriptions.join(', ')}`, a.tenants.length && `tenants ${a.tenants.join(', ')}`].filter(Boolean).join(' and ');
        return a.operation === 'Add' ? `share with ${parts}` : `stop sharing with ${parts}`;
      }
      return a.operation === 'EnableCommunity' ? 'publish to the community' : 'reset sharing';
    case 'createRoleAssignment':
      return `assign ${a.assignment.role} to ${a.assignment.principalId} at ${a.assignment.scope}`;
    case 'deleteRoleAssignment':
      return `delete role assignment ${a.assignment.name} at ${a.assignment.scope}`;
  }
}
