// Reconciles one GalleryShare: observe Azure (reads only), plan (pure, plan.ts), act (writes;
// a long-running share or permission change is started, its poller state kept, and the object
// requeued after Retry-After, so no worker waits on Azure), then write status. Deletion undoes
// what the object did (deletionPolicy Delete) or leaves Azure alone (Orphan).
import type { AuthorizationManagementClient } from '@azure/arm-authorization';
import type { ComputeManagementClient } from '@azure/arm-compute';
import type { Logger } from 'pino';
import { FINALIZER, GROUP, VERSION, type GalleryShare, type GalleryShareStatus } from '../../api/v1alpha1/index.js';
import { galleryId } from '../../azure/arm-ids.js';
import type { AzureClients } from '../../azure/clients.js';
import { roleGuid } from '../../azure/roles.js';
import { AzureFailureError } from '../../azure/errors.js';
import {
  createRoleAssignment,
  deleteRoleAssignment,
  listRoleAssignmentsAtOrBelow,
  OperationFailedError,
  pollStarted,
  readGallery,
  startSetPermission,
  startShare,
  type Started,
} from '../../azure/gallery-sharing.js';
import { applyOutcome, sameConditions, setCondition, type Condition, type ConditionInput, type Outcome } from '../../runtime/conditions.js';
import type { ReconcileContext, ReconcileResult, Reconciler, Request } from '../../runtime/controller.js';
import type { EventRecorder } from '../../runtime/events.js';
import type { ObjectCache } from '../../runtime/informer.js';
import type { KubeClient } from '../../runtime/kube-client.js';
import { setFinalizer, writeStatus } from '../../runtime/object-writes.js';
import type { CredentialResolver } from '../shared/credentials.js';
import { classifyFailure } from '../shared/failures.js';
import { checkPolicy, isOwned, outcomeOf, planDeletion, planGalleryShare, type Action, type Observation, type Policy } from './plan.js';

export const GALLERY_SHARE_PATHS = {
  objectPath: (namespace: string, name: string) => `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares/${name}`,
};

export interface GalleryShareReconcilerDeps {
  informer: ObjectCache<GalleryShare>;
  client: KubeClient;
  events: EventRecorder;
  azure: AzureClients;
  credentials: CredentialResolver;
  policy: Policy;
  /** How soon a Stalled object is looked at again (a person may have fixed Azure meanwhile). */
  stalledRecheckMs: number;
}

/** A long-running operation this process started for an object, resumed on later reconciles. */
interface InFlight {
  kind: 'share' | 'permission';
  resumeFrom: string;
  description: string;
}

const describeAction = (a: Action): string => {
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
};

const isLongRunning = (a: Action) => a.type === 'share' || a.type === 'setPermission';

const EVENT_REASON: Record<string, string> = {
  setPermission: 'PermissionChanged',
  Add: 'Shared',
  Remove: 'Unshared',
  EnableCommunity: 'CommunityEnabled',
  Reset: 'SharingReset',
  createRoleAssignment: 'RoleAssignmentCreated',
  deleteRoleAssignment: 'RoleAssignmentDeleted',
};

/** The detail conditions that only a reconcile that observed the gallery and planned writes. */
const SYNC_CONDITIONS = new Set(['DirectShareSynced', 'RoleAssignmentsSynced', 'CommunitySynced']);

export class GalleryShareReconciler implements Reconciler {
  private readonly inFlight = new Map<string, InFlight>();

  constructor(private readonly deps: GalleryShareReconcilerDeps) {}

  async reconcile({ namespace, name }: Request, { logger }: ReconcileContext): Promise<ReconcileResult> {
    const key = `${namespace}/${name}`;
    let obj = this.deps.informer.get(key);
    if (!obj) {
      this.inFlight.delete(key);
      return {};
    }
    if (obj.metadata.deletionTimestamp) return this.finalize(obj, logger);

    const updated = await setFinalizer(this.deps.client, GALLERY_SHARE_PATHS, obj, FINALIZER, true);
    if (!updated) return {};
    obj = updated;

    const claimant = this.olderClaimant(obj);
    if (claimant) {
      return this.stall(obj, {
        reason: 'GalleryClaimed',
        message: `GalleryShare ${claimant} already manages gallery ${obj.spec.gallery.name}; one gallery is managed by one GalleryShare (the oldest). Merge this spec into ${claimant}, or delete one of them.`,
      });
    }
    const refusal = checkPolicy(obj.spec, this.deps.policy);
    if (refusal) return this.stall(obj, refusal);

    try {
      return await this.sync(obj, logger);
    } catch (err) {
      return this.fail(obj, err, 'managing the gallery', logger);
    }
  }

  private async sync(obj: GalleryShare, logger: Logger): Promise<ReconcileResult> {
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    const { spec } = obj;
    const { credential } = await this.deps.credentials.resolve(obj.metadata.namespace!, spec.azureCredentialsRef?.name);
    const compute = this.deps.azure.computeClient(credential, spec.gallery.subscriptionId);
    const authorization = this.deps.azure.authorizationClient(credential, spec.gallery.subscriptionId);

    const pending = this.inFlight.get(key);
    if (pending) {
      const polled = await this.pollInFlight(obj, key, pending, compute);
      if (!polled.done) return this.progress(obj, { reason: 'OperationInProgress', message: `Waiting for Azure to ${pending.description}.` }, polled.retryAfterMs);
    }

    const observation = await this.observe(obj, compute, authorization);
    if (!observation) return this.stallGalleryNotFound(obj);
    const plan = planGalleryShare(spec, observation);
    if (plan.stalled) return this.stall(obj, plan.stalled, observation, plan.details);
    if (plan.actions.length === 0) return this.writeAndFinish(obj, outcomeOf(plan), observation, plan.details);

    // Role assignments are synchronous and independent of the share calls: do them first, so a
    // long-running share operation does not hold them back for another reconcile.
    const ordered = [...plan.actions].sort((a, b) => Number(isLongRunning(a)) - Number(isLongRunning(b)));
    for (const action of ordered) {
      logger.info({ action: action.type, change: describeAction(action) }, 'changing Azure');
      const started = await this.act(obj, action, compute, authorization);
      this.deps.events.record(obj, 'Normal', EVENT_REASON[action.type === 'share' ? action.operation : action.type]!, `${started.done ? 'Done' : 'Started'}: ${describeAction(action)}.`);
      if (!started.done) {
        this.inFlight.set(key, { kind: action.type === 'share' ? 'share' : 'permission', resumeFrom: started.resumeFrom, description: describeAction(action) });
        return this.progress(obj, { reason: 'OperationInProgress', message: `Waiting for Azure to ${describeAction(action)}.` }, started.retryAfterMs, observation, plan.details);
      }
    }
    // Everything was carried out: look again, so Ready says what Azure says, not what we hoped.
    const after = await this.observe(obj, compute, authorization);
    if (!after) return this.stallGalleryNotFound(obj);
    const replan = planGalleryShare(spec, after);
    if (replan.actions.length > 0) return this.progress(obj, { reason: 'Progressing', message: 'Azure does not yet show every change; checking again.' }, 1_000, after, replan.details);
    return this.writeAndFinish(obj, outcomeOf(replan), after, replan.details);
  }

  private async observe(obj: GalleryShare, compute: ComputeManagementClient, authorization: AuthorizationManagementClient): Promise<Observation | undefined> {
    const { gallery } = obj.spec;
    const observedGallery = await readGallery(compute, gallery.resourceGroup, gallery.name);
    if (!observedGallery) return undefined;
    const needsAssignments = obj.spec.roleAssignments !== undefined || (obj.status?.roleAssignments?.length ?? 0) > 0;
    const roleAssignments = needsAssignments ? await listRoleAssignmentsAtOrBelow(authorization, galleryId(gallery)) : [];
    return { gallery: observedGallery, roleAssignments };
  }

  private async act(obj: GalleryShare, action: Action, compute: ComputeManagementClient, authorization: AuthorizationManagementClient): Promise<Started> {
    const { resourceGroup, name } = obj.spec.gallery;
    switch (action.type) {
      case 'setPermission':
        return startSetPermission(compute, resourceGroup, name, action.permission, action.community);
      case 'share':
        return startShare(compute, resourceGroup, name, action.operation === 'Add' || action.operation === 'Remove'
          ? { operationType: action.operation, subscriptions: action.subscriptions, tenants: action.tenants }
          : { operationType: action.operation });
      case 'createRoleAssignment':
        await createRoleAssignment(authorization, { ...action.assignment, description: `Managed by GalleryShare ${obj.metadata.namespace}/${obj.metadata.name}` });
        return { done: true };
      case 'deleteRoleAssignment':
        await deleteRoleAssignment(authorization, action.assignment.id);
        return { done: true };
    }
  }

  private async pollInFlight(obj: GalleryShare, key: string, pending: InFlight, compute: ComputeManagementClient): Promise<{ done: true } | { done: false; retryAfterMs: number }> {
    try {
      const polled = await pollStarted(compute, pending.resumeFrom, pending.kind);
      if (polled.done) this.inFlight.delete(key);
      return polled;
    } catch (err) {
      // The operation's own failure, or an operation Azure no longer knows, ends it. A poll that
      // failed (dropped connection, 5xx, throttling) does not: the next reconcile polls again
      // rather than starting a second share call while the first may still be running.
      if (err instanceof OperationFailedError || (err as { statusCode?: number }).statusCode === 404) this.inFlight.delete(key);
      if (err instanceof OperationFailedError) {
        this.deps.events.record(obj, 'Warning', err.code, `Azure could not ${pending.description}: ${err.message}`);
      }
      throw err;
    }
  }

  private async finalize(obj: GalleryShare, logger: Logger): Promise<ReconcileResult> {
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    if (!(obj.metadata.finalizers ?? []).includes(FINALIZER)) return {};
    // Delete undoes what this object did. One that never got to reconcile the gallery (refused
    // by policy or claimed by an older one from the start) did nothing, so its deletion leaves
    // Azure alone, even where the gallery happens to hold what its spec names.
    const acted = this.inFlight.has(key) || (obj.status?.conditions ?? []).some((c) => SYNC_CONDITIONS.has(c.type));
    const orphan = obj.spec.deletionPolicy === 'Orphan' || this.olderClaimant(obj) !== undefined || !acted;
    if (!orphan) {
      try {
        const { credential } = await this.deps.credentials.resolve(obj.metadata.namespace!, obj.spec.azureCredentialsRef?.name, { lastKnownIfGone: true });
        const compute = this.deps.azure.computeClient(credential, obj.spec.gallery.subscriptionId);
        const authorization = this.deps.azure.authorizationClient(credential, obj.spec.gallery.subscriptionId);
        const pending = this.inFlight.get(key);
        if (pending) {
          const polled = await this.pollInFlight(obj, key, pending, compute);
          if (!polled.done) return { requeueAfterMs: polled.retryAfterMs };
        }
        const observation = await this.observe({ ...obj, spec: { ...obj.spec, roleAssignments: obj.spec.roleAssignments ?? [] } }, compute, authorization);
        for (const action of observation ? planDeletion(obj.spec, observation) : []) {
          logger.info({ action: action.type, change: describeAction(action) }, 'undoing in Azure before deletion');
          const started = await this.act(obj, action, compute, authorization);
          this.deps.events.record(obj, 'Normal', EVENT_REASON[action.type === 'share' ? action.operation : action.type]!, `Deleting: ${describeAction(action)}.`);
          if (!started.done) {
            this.inFlight.set(key, { kind: 'share', resumeFrom: started.resumeFrom, description: describeAction(action) });
            return { requeueAfterMs: started.retryAfterMs };
          }
        }
      } catch (err) {
        const failure = classifyFailure(err, 'undoing the sharing before deletion');
        if (failure.kind !== 'terminal') throw new AzureFailureError(failure);
        const message = `${failure.message} The GalleryShare keeps its finalizer until this works; to delete it without changing Azure, set spec.deletionPolicy: Orphan.`;
        await this.stall(obj, { reason: failure.code, message });
        return { requeueAfterMs: this.deps.stalledRecheckMs };
      }
    }
    this.inFlight.delete(key);
    await setFinalizer(this.deps.client, GALLERY_SHARE_PATHS, obj, FINALIZER, false);
    logger.info({ deletionPolicy: obj.spec.deletionPolicy ?? 'Delete' }, 'finalizer removed');
    return {};
  }

  /** The older GalleryShare (by creation, then name) that names the same gallery, if any. */
  private olderClaimant(obj: GalleryShare): string | undefined {
    const mine = galleryId(obj.spec.gallery).toLowerCase();
    const created = (o: GalleryShare) => `${o.metadata.creationTimestamp ?? ''}|${o.metadata.namespace}/${o.metadata.name}`;
    const older = this.deps.informer
      .list()
      .filter((o) => o.metadata.uid !== obj.metadata.uid && !o.metadata.deletionTimestamp && galleryId(o.spec.gallery).toLowerCase() === mine && created(o) < created(obj))
      .sort((a, b) => (created(a) < created(b) ? -1 : 1));
    return older[0] ? `${older[0].metadata.namespace}/${older[0].metadata.name}` : undefined;
  }

  // ----- Status -------------------------------------------------------------------------------

  /**
   * The status for what this reconcile saw and did. Generation and spec are those of the object
   * it reconciled, never of a newer one read after a write conflict: stamping a newer generation
   * on this outcome would report Ready for a spec not yet applied. The conditions build on the
   * latest stored ones (`current`).
   */
  private statusFrom(obj: GalleryShare, current: GalleryShareStatus | undefined, outcome: Outcome, observation?: Observation, details: ConditionInput[] = []): GalleryShareStatus {
    const generation = obj.metadata.generation ?? 0;
    const now = new Date();
    let conditions: Condition[] = [...(current?.conditions ?? [])];
    for (const detail of details) conditions = setCondition(conditions, detail, generation, now);
    conditions = applyOutcome(conditions, outcome, generation, now);
    if (!observation) return { ...current, observedGeneration: generation, conditions };
    const g = observation.gallery;
    return {
      observedGeneration: generation,
      galleryUniqueName: g.uniqueName,
      permission: g.permission,
      ...(g.communityPublicNames.length ? { communityPublicNames: g.communityPublicNames } : {}),
      ...(g.permission === 'Groups' ? { directShare: { subscriptions: g.subscriptions, tenants: g.tenants } } : {}),
      roleAssignments: observation.roleAssignments.filter(isOwned).map((ra) => ({
        name: ra.name,
        principalId: ra.principalId,
        role: obj.spec.roleAssignments?.find((s) => s.principalId.toLowerCase() === ra.principalId && roleGuid(s.role) === ra.roleGuid)?.role ?? ra.roleGuid,
        scope: ra.scope,
        id: ra.id,
      })),
      conditions,
    };
  }

  private async writeStatus(obj: GalleryShare, outcome: Outcome, observation?: Observation, details?: ConditionInput[]): Promise<void> {
    await writeStatus(this.deps.client, GALLERY_SHARE_PATHS, obj, (current) => this.statusFrom(obj, current, outcome, observation, details), sameStatus);
  }

  private async writeAndFinish(obj: GalleryShare, outcome: Outcome, observation: Observation, details: ConditionInput[]): Promise<ReconcileResult> {
    const wasReady = obj.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True' && c.observedGeneration === obj.metadata.generation);
    await this.writeStatus(obj, outcome, observation, details);
    if (outcome.state === 'ready' && !wasReady) this.deps.events.record(obj, 'Normal', 'Ready', 'Azure matches the spec.');
    return {};
  }

  private async progress(obj: GalleryShare, why: { reason: string; message: string }, retryAfterMs: number, observation?: Observation, details?: ConditionInput[]): Promise<ReconcileResult> {
    await this.writeStatus(obj, { state: 'progressing', ...why }, observation, details);
    return { requeueAfterMs: retryAfterMs };
  }

  private async stall(obj: GalleryShare, why: { reason: string; message: string }, observation?: Observation, details?: ConditionInput[]): Promise<ReconcileResult> {
    const already = obj.status?.conditions?.some((c) => c.type === 'Stalled' && c.status === 'True' && c.reason === why.reason && c.message === why.message);
    await this.writeStatus(obj, { state: 'stalled', ...why }, observation, details);
    if (!already) this.deps.events.record(obj, 'Warning', why.reason, why.message);
    return { requeueAfterMs: this.deps.stalledRecheckMs };
  }

  private stallGalleryNotFound(obj: GalleryShare): Promise<ReconcileResult> {
    const { subscriptionId, resourceGroup, name } = obj.spec.gallery;
    return this.stall(obj, {
      reason: 'GalleryNotFound',
      message: `Gallery ${name} does not exist in resource group ${resourceGroup} of subscription ${subscriptionId}. Check spec.gallery, or create the gallery (az sig create); the operator checks again by itself.`,
    });
  }

  /** Maps a failure to status and to what the queue does next. */
  private async fail(obj: GalleryShare, err: unknown, doing: string, logger: Logger): Promise<ReconcileResult> {
    const failure = classifyFailure(err, doing);
    if (failure.kind === 'terminal') return this.stall(obj, { reason: failure.code, message: failure.message });
    logger.warn({ code: failure.code, kind: failure.kind }, failure.message);
    // Repeats of the same event are counted on one Event, so a flapping Azure does not flood.
    this.deps.events.record(obj, 'Warning', failure.kind === 'throttled' ? 'Throttled' : failure.code, `${failure.message} Retrying by itself.`);
    await this.writeStatus(obj, { state: 'progressing', reason: failure.kind === 'throttled' ? 'Throttled' : failure.code, message: failure.message });
    throw new AzureFailureError(failure);
  }
}

function sameStatus(current: GalleryShareStatus | undefined, next: GalleryShareStatus): boolean {
  if (!current) return false;
  const { conditions: a, ...restA } = current;
  const { conditions: b, ...restB } = next;
  return JSON.stringify(restA) === JSON.stringify(restB) && sameConditions(a, b);
}
