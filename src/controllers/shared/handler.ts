// What a kind supplies to the shared reconciler (reconciler.ts): how to connect to Azure for one
// object, what to read (observe), what to change (plan, pure), how to make one change (act) and
// to poll one it started (resume), and what its status says. The reconciler owns everything
// else: cache, finalizer, deletion, preconditions, in-flight operations kept in status, events,
// status writes, and what each failure means. The shape follows crossplane-runtime's managed
// reconciler (one reconciler, a small external client per kind).
import type { Condition, FailureRecord, InFlightOperation, KindDefinition } from '../../api/v1alpha1/index.js';
import type { TransienceContext } from '../../azure/errors.js';
import type { ConditionInput } from '../../runtime/conditions.js';
import type { KubeObject } from '../../runtime/informer.js';
import type { Polled, Started } from '../../azure/operations.js';

export type { Polled, Started };

/** Why something cannot go on, in a status condition's terms: a CamelCase reason and what to do. */
export interface Explanation {
  reason: string;
  message: string;
}

/** The status fields every kind shares; a kind adds its own next to them. */
export interface ManagedStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  operation?: InFlightOperation;
  lastFailure?: FailureRecord;
}

/** An object the shared reconciler manages: a spec with a deletion policy, and a managed status. */
export interface ManagedObject extends KubeObject {
  spec: { deletionPolicy?: 'Delete' | 'Orphan' };
  status?: ManagedStatus;
}

/** An event a plan asks for: something that changed since the stored status (consent detected). */
export interface PlanEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** What a kind's plan says: the writes to make, in order, and the detail conditions. */
export interface KindPlan<Action> {
  actions: Action[];
  /** Detail conditions (DirectShareSynced, ...): how far Azure is from the spec, part by part. */
  details: ConditionInput[];
  /**
   * Set when the spec cannot be reached without a person; no actions then. `recheckAfterMs`
   * replaces the operator's stalled recheck interval where the kind knows better (consent is
   * looked for on its own schedule).
   */
  stalled?: Explanation & { recheckAfterMs?: number };
  /**
   * Set when nothing is left to write but Azure has not yet applied what was written (a role
   * assignment taking effect): Reconciling, looked at again after `recheckAfterMs`. No actions then.
   */
  waiting?: Explanation & { recheckAfterMs: number };
  /** When the object is Ready: a reason other than Reconciled for a caveat (a certificate expiring soon). */
  readyNote?: Explanation;
  /** Events to record; each reason at most once per reconcile. */
  events?: PlanEvent[];
}

/** What deleting an object undoes, and what it leaves in Azure because it cannot tell who added it. */
export interface DeletionPlan<Action> {
  actions: Action[];
  /** Said in a Warning event: what deletion leaves in Azure, and why. */
  leftAlone?: string;
  /** Other events to record as the deletion starts (what deletion never undoes, by design). */
  events?: PlanEvent[];
}

/** How an action is told in logs, events and status. */
export interface ActionDescription {
  /** The Event reason (CamelCase): Shared, RoleAssignmentCreated, ... */
  reason: string;
  /** The change in words, completing "Waiting for Azure to ...": "share with tenants ...". */
  text: string;
  /** The operation's name in status.operation.action, for a long-running action. */
  operation: string;
}

/** Where a reconcile is: making Azure match the spec, or undoing it before the object goes. */
export type Phase = 'reconcile' | 'delete';

export interface KindHandler<Obj extends ManagedObject, Clients, Observed, Action> {
  /** The kind's definition: API paths, CRD name and RBAC come from it. */
  readonly kind: KindDefinition;
  /**
   * The detail condition types of this kind. Their presence in status means the object has
   * observed and planned at least once: one that never got that far made no change in Azure,
   * so deleting it leaves Azure alone.
   */
  readonly detailConditions: readonly string[];
  /**
   * Whether the caches this kind's decisions read (other objects, of every shard) hold this
   * object yet, and with it every object made before it. Until they do, a reconcile does nothing
   * at all (no finalizer, no status): the kind's secondary watch on those caches queues the object
   * again once they hold it. Absent: always.
   */
  cachesCurrent?(obj: Obj): boolean;
  /**
   * Checks made before any Azure call (policy, claims by other objects): an explanation stalls
   * the object. During deletion, an explanation means the object must not touch Azure (another
   * object holds what it names).
   */
  preconditions?(obj: Obj, phase: Phase): Explanation | undefined;
  /**
   * Why the object's deletion must wait (other objects still depend on what it holds in Azure):
   * Reconciling with this reason, whatever its deletion policy, until it returns undefined.
   */
  deletionBlocked?(obj: Obj): (Explanation & { recheckAfterMs: number }) | undefined;
  /**
   * What makes a refusal likely to pass by itself for this object (grants it just made, consent
   * just seen, regions still replicating), for classifyFailure.
   */
  transience?(obj: Obj, now: number): TransienceContext;
  /** Credentials and SDK clients for this object (a Secret read, so it may fail). */
  connect(obj: Obj, phase: Phase, signal: AbortSignal): Promise<Clients>;
  /** Reads only: what Azure holds for this object, or undefined when its target does not exist. */
  observe(obj: Obj, clients: Clients, phase: Phase, signal: AbortSignal): Promise<Observed | undefined>;
  /** The Stalled explanation when observe found no target (GalleryNotFound, ...). */
  absent(obj: Obj): Explanation;
  /** Pure: the writes that make Azure match the spec, and the detail conditions. */
  plan(obj: Obj, observed: Observed): KindPlan<Action>;
  /**
   * Pure: what deleting the object with deletionPolicy Delete undoes: only what the object added,
   * never what it adopted (what Azure held before it first acted).
   */
  planDeletion(obj: Obj, observed: Observed): DeletionPlan<Action>;
  /** Makes one change. A long-running one returns its resume state without waiting for it. */
  act(obj: Obj, action: Action, clients: Clients, signal: AbortSignal): Promise<Started>;
  /** Polls once an operation started earlier, by this process or another. */
  resume(obj: Obj, operation: InFlightOperation, clients: Clients, signal: AbortSignal): Promise<Polled>;
  describe(action: Action): ActionDescription;
  /**
   * Pure: the kind's own status fields. `observed` is what this reconcile last observed, or
   * undefined when it read nothing of the target (`gone` when it found the target gone): the
   * status then claims nothing about its state, keeping only the kind's records and, unless the
   * target is gone, its stable identity. `before` is what this reconcile observed before it made
   * any change (for records of what Azure held before the object first acted); `current` is the
   * stored status. The shared fields (observedGeneration, conditions, operation, lastFailure)
   * are the reconciler's; any returned are ignored.
   */
  status(obj: Obj, observed: Observed | undefined, context: { before?: Observed; current?: Obj['status']; gone: boolean }): Record<string, unknown>;
}
