// The one reconciler every Azure-backed kind uses. A kind supplies a handler (handler.ts); this
// file owns the flow, written once:
//
//   cache read -> deleting? finalize : ensure finalizer -> preconditions (policy, claims)
//   -> connect (credentials) -> resume the operation recorded in status.operation, if any
//   -> observe (reads only) -> plan (pure) -> act (one write at a time, an event each; a
//   long-running operation is started, its resume token written to status, and the key requeued
//   after Retry-After, so no worker waits on Azure and any process can resume it)
//   -> look again -> status -> done, requeue-after, or back off (decideFailure, failures.ts).
//
// Every call gets the reconcile's AbortSignal. A write sent without an answer has an unknown
// outcome; the next reconcile observes before it writes again, which is what every reconcile
// does first anyway.
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { FINALIZER, objectPath, type InFlightOperation } from '../../api/v1alpha1/index.js';
import { applyOutcome, sameConditions, setCondition, type Condition, type ConditionInput, type Outcome } from '../../runtime/conditions.js';
import { BackoffError, type ReconcileContext, type ReconcileResult, type Reconciler, type Request } from '../../runtime/controller.js';
import type { EventRecorder } from '../../runtime/events.js';
import { objectKey, type ObjectCache } from '../../runtime/informer.js';
import type { KubeClient } from '../../runtime/kube-client.js';
import { setFinalizer, writeStatus } from '../../runtime/object-writes.js';
import { isArmNotFound } from '../../azure/errors.js';
import { OperationFailedError } from '../../azure/operations.js';
import { classifyFailure, decideFailure } from './failures.js';
import type { DeletionPlan, Explanation, KindHandler, KindPlan, ManagedObject, ManagedStatus, Phase } from './handler.js';

export interface ManagedReconcilerOptions<Obj extends ManagedObject> {
  cache: ObjectCache<Obj>;
  client: KubeClient;
  events: EventRecorder;
  /** How soon a Stalled object is looked at again (a person may have fixed Azure meanwhile). */
  stalledRecheckMs: number;
  /** How soon a Stalled credentials failure is looked at again (Secrets are not watched). */
  credentialsRecheckMs: number;
  now?: () => number;
}

/** How soon to look again when Azure does not yet show the changes just made. */
const SETTLE_MS = 1_000;

/** How long the status write that reports an abandoned reconcile may take. */
const REPORT_AFTER_ABORT_MS = 5_000;

/** A failure that the queue retries with per-key backoff (and counts as a reconcile error). */
export class RetryLaterError extends BackoffError {
  constructor(readonly code: string, message: string, maxDelayMs?: number) {
    super(message, maxDelayMs);
    this.name = 'RetryLaterError';
  }
}

/**
 * The object left this controller's cache while the reconcile ran: relabelled into another shard
 * (label sharding), or deleted. The controller that holds it now acts on it, so this reconcile
 * stops before its next Azure write and writes no status: one request already in flight is the
 * most two shards can overlap by.
 */
class NoLongerHeldError extends Error {
  constructor() {
    super('the object left this controller\'s cache (another shard holds it now, or it is gone)');
    this.name = 'NoLongerHeldError';
  }
}

/** What one reconcile knows as it goes: the object, its logger and signal, and the operation in flight. */
interface Run<Obj extends ManagedObject, Observed> {
  obj: Obj;
  key: string;
  path: string;
  phase: Phase;
  logger: Logger;
  signal: AbortSignal;
  /** The long-running operation in flight, as status must record it after this reconcile. */
  operation: InFlightOperation | undefined;
  /** What this reconcile observed before it made any change. */
  before?: Observed;
  /** What this reconcile last observed, and the detail conditions its plan gave. */
  latest?: { observed: Observed; details: ConditionInput[] };
  /** Reasons of the plan events already recorded by this reconcile. */
  recorded: Set<string>;
}

/** What one status write reports. */
interface Report<Observed> {
  outcome: Outcome;
  /**
   * What this reconcile observed of the target. Undefined when it found the target gone, or
   * observed nothing (a precondition refused, a failure before the first read, an operation
   * still running): the status then claims nothing about the target (detail conditions Unknown,
   * the kind's observed fields dropped, its records kept).
   */
  observed?: Observed;
  details?: ConditionInput[];
  /** The failure met, when the outcome is one (kept in status.lastFailure), else undefined. */
  failureCode?: string;
  /** Set when observe found the target gone (not merely unread). */
  gone?: boolean;
}

export class ManagedReconciler<Obj extends ManagedObject, Clients, Observed, Action> implements Reconciler {
  /**
   * Operations this process started whose status write the cache may not show yet: the informer
   * delivers our own write a moment later, and a reconcile in between must not start the
   * operation again. Status is the record every process reads; this only bridges that moment.
   */
  private readonly started = new Map<string, InFlightOperation>();
  private readonly now: () => number;

  constructor(
    private readonly handler: KindHandler<Obj, Clients, Observed, Action>,
    private readonly options: ManagedReconcilerOptions<Obj>,
  ) {
    this.now = options.now ?? Date.now;
  }

  async reconcile({ namespace, name }: Request, { logger, signal }: ReconcileContext): Promise<ReconcileResult> {
    const key = objectKey({ metadata: { namespace, name } });
    const obj = this.options.cache.get(key);
    if (!obj) {
      this.started.delete(key);
      return {};
    }
    if (this.handler.cachesCurrent?.(obj) === false) {
      logger.debug('waiting for the caches of other objects to hold this one before deciding anything');
      return {};
    }
    const phase: Phase = obj.metadata.deletionTimestamp ? 'delete' : 'reconcile';
    const run: Run<Obj, Observed> = {
      obj,
      key,
      path: objectPath(this.handler.kind, namespace, name),
      phase,
      logger,
      signal,
      operation: this.started.get(key) ?? obj.status?.operation,
      recorded: new Set(),
    };
    if (phase === 'delete') return this.finalize(run);

    const updated = await setFinalizer(this.options.client, run.path, obj, FINALIZER, true, signal);
    if (!updated) return {};
    run.obj = updated;

    const refusal = this.handler.preconditions?.(run.obj, 'reconcile');
    if (refusal) return this.stall(run, { outcome: { state: 'stalled', ...refusal } });

    try {
      return await this.sync(run);
    } catch (err) {
      return this.failed(run, err);
    }
  }

  // ----- Making Azure match the spec ------------------------------------------------------------

  private async sync(run: Run<Obj, Observed>): Promise<ReconcileResult> {
    const { handler } = this;
    const clients = await handler.connect(run.obj, run.phase, run.signal);

    const waiting = await this.resumeOperation(run, clients);
    if (waiting) return waiting;

    const observed = await handler.observe(run.obj, clients, run.phase, run.signal);
    this.ensureHeld(run);
    if (!observed) return this.stall(run, { outcome: { state: 'stalled', ...handler.absent(run.obj) }, gone: true });
    run.before = observed;
    const plan = this.planFor(run, observed);
    if (plan.stalled || plan.actions.length === 0) return this.conclude(run, observed, plan);
    if (!this.hasActed(run.obj)) {
      // Before the object's first change, status records what Azure held (the kind's records of
      // what it adopts): were the process to die after Azure accepted the change, the next one
      // must not take the object's own change for something it found there.
      const outcome: Outcome = { state: 'progressing', reason: 'Progressing', message: `Applying ${plan.actions.length} change(s) in Azure.` };
      await this.writeStatus(run, { outcome, observed, details: plan.details });
    }

    for (const action of plan.actions) {
      const pending = await this.act(run, action, clients, 'changing Azure', (done, text) => `${done ? 'Done' : 'Started'}: ${text}.`);
      if (pending) return this.progress(run, { outcome: { state: 'progressing', ...pending }, observed, details: plan.details }, pending.retryAfterMs);
    }
    // Everything was carried out: look again, so that Ready says what Azure says, not what we hoped.
    const after = await handler.observe(run.obj, clients, run.phase, run.signal);
    if (!after) return this.stall(run, { outcome: { state: 'stalled', ...handler.absent(run.obj) }, gone: true });
    const replan = this.planFor(run, after);
    if (replan.actions.length > 0 && !replan.stalled) {
      const outcome: Outcome = { state: 'progressing', reason: 'Progressing', message: 'Azure does not yet show every change; checking again.' };
      return this.progress(run, { outcome, observed: after, details: replan.details }, SETTLE_MS);
    }
    return this.conclude(run, after, replan);
  }

  /** The kind's plan for what was observed, remembered for status, with the events it asks for recorded. */
  private planFor(run: Run<Obj, Observed>, observed: Observed): KindPlan<Action> {
    const plan = this.handler.plan(run.obj, observed);
    run.latest = { observed, details: plan.details };
    for (const event of plan.events ?? []) {
      if (run.recorded.has(event.reason)) continue;
      run.recorded.add(event.reason);
      this.options.events.record(run.obj, event.type, event.reason, event.message);
    }
    return plan;
  }

  /** A plan with nothing (more) to write: Stalled, waiting for Azure, or Ready. */
  private conclude(run: Run<Obj, Observed>, observed: Observed, plan: KindPlan<Action>): Promise<ReconcileResult> {
    if (plan.stalled) {
      const { recheckAfterMs, ...why } = plan.stalled;
      return this.stall(run, { outcome: { state: 'stalled', ...why }, observed, details: plan.details }, recheckAfterMs);
    }
    if (plan.waiting) {
      const { recheckAfterMs, ...why } = plan.waiting;
      return this.progress(run, { outcome: { state: 'progressing', ...why }, observed, details: plan.details }, recheckAfterMs);
    }
    return this.finish(run, observed, plan);
  }

  /**
   * Polls the operation in flight, if any. Returns the result to give the queue while it runs;
   * undefined once it has finished (or there was none), and the reconcile goes on. A poll that
   * failed (5xx, a dropped connection, throttling) keeps the operation, so that the next
   * reconcile polls again rather than start a second one while the first may still run; the
   * operation's own failure, or an operation Azure no longer knows, ends it.
   */
  private async resumeOperation(run: Run<Obj, Observed>, clients: Clients): Promise<ReconcileResult | undefined> {
    const operation = run.operation;
    if (!operation) return undefined;
    let polled;
    try {
      polled = await this.handler.resume(run.obj, operation, clients, run.signal);
    } catch (err) {
      const failure = classifyFailure(err, `waiting for Azure to ${operation.description}`);
      const failed = err instanceof OperationFailedError;
      if (failed || isArmNotFound(err)) {
        this.endOperation(run);
        if (failed) this.options.events.record(run.obj, 'Warning', failure.code, `Azure could not ${operation.description}: ${err.message}`);
      }
      throw err;
    }
    if (!polled.done) {
      const outcome: Outcome = { state: 'progressing', reason: 'OperationInProgress', message: `Waiting for Azure to ${operation.description}.` };
      return this.progress(run, { outcome }, polled.retryAfterMs);
    }
    this.endOperation(run);
    return undefined;
  }

  private endOperation(run: Run<Obj, Observed>): void {
    run.operation = undefined;
    this.started.delete(run.key);
  }

  /**
   * Makes one change, with a log line and an event. Returns undefined when it is done, or why the
   * reconcile must wait (a long-running operation now recorded in run.operation, or another
   * operation running on the resource).
   */
  private async act(
    run: Run<Obj, Observed>,
    action: Action,
    clients: Clients,
    logMessage: string,
    eventText: (done: boolean, text: string) => string,
  ): Promise<(Explanation & { retryAfterMs: number }) | undefined> {
    const description = this.handler.describe(action);
    this.ensureHeld(run);
    run.logger.info({ action: description.operation, change: description.text }, logMessage);
    const started = await this.handler.act(run.obj, action, clients, run.signal);
    if (started.done) {
      this.options.events.record(run.obj, 'Normal', description.reason, eventText(true, description.text));
      return undefined;
    }
    if (!started.resumeToken) {
      run.logger.info({ action: description.operation }, 'another operation is running on the resource; looking again later');
      return { reason: 'OperationInProgress', message: `Azure is busy with another operation on the resource; waiting to ${description.text}.`, retryAfterMs: started.retryAfterMs };
    }
    this.options.events.record(run.obj, 'Normal', description.reason, eventText(false, description.text));
    run.operation = {
      action: description.operation,
      description: description.text,
      resumeToken: started.resumeToken,
      startedAt: timestamp(new Date(this.now())),
      generation: run.obj.metadata.generation ?? 0,
    };
    this.started.set(run.key, run.operation);
    return { reason: 'OperationInProgress', message: `Waiting for Azure to ${description.text}.`, retryAfterMs: started.retryAfterMs };
  }

  // ----- Deletion -------------------------------------------------------------------------------

  /**
   * Delete undoes what the object did. One that never got to observe and plan (refused by policy,
   * claimed by another object from the start) did nothing, so its deletion leaves Azure alone,
   * even where Azure happens to hold what its spec names; so does one whose preconditions now
   * say another object holds its target.
   */
  private async finalize(run: Run<Obj, Observed>): Promise<ReconcileResult> {
    const { obj } = run;
    if (!(obj.metadata.finalizers ?? []).includes(FINALIZER)) return {};
    const blocked = this.handler.deletionBlocked?.(obj);
    if (blocked) {
      const { recheckAfterMs, ...why } = blocked;
      return this.progress(run, { outcome: { state: 'progressing', ...why } }, recheckAfterMs);
    }
    const acted = run.operation !== undefined || this.hasActed(obj);
    const orphan = obj.spec.deletionPolicy === 'Orphan' || !acted || this.handler.preconditions?.(obj, 'delete') !== undefined;
    if (!orphan) {
      try {
        const waiting = await this.undo(run);
        if (waiting) return waiting;
      } catch (err) {
        return this.failed(run, err);
      }
    }
    this.started.delete(run.key);
    await setFinalizer(this.options.client, run.path, obj, FINALIZER, false, run.signal);
    run.logger.info({ deletionPolicy: obj.spec.deletionPolicy ?? 'Delete' }, 'finalizer removed');
    return {};
  }

  /**
   * Whether the object has observed and planned before (its status has detail conditions): one
   * that never did made no change in Azure.
   */
  private hasActed(obj: Obj): boolean {
    return (obj.status?.conditions ?? []).some((c) => this.handler.detailConditions.includes(c.type));
  }

  private async undo(run: Run<Obj, Observed>): Promise<ReconcileResult | undefined> {
    const clients = await this.handler.connect(run.obj, 'delete', run.signal);
    const waiting = await this.resumeOperation(run, clients);
    if (waiting) return waiting;
    const observed = await this.handler.observe(run.obj, clients, 'delete', run.signal);
    const plan: DeletionPlan<Action> = observed ? this.handler.planDeletion(run.obj, observed) : { actions: [] };
    if (plan.leftAlone) this.options.events.record(run.obj, 'Warning', 'LeftInAzure', plan.leftAlone);
    for (const event of plan.events ?? []) this.options.events.record(run.obj, event.type, event.reason, event.message);
    for (const action of plan.actions) {
      const pending = await this.act(run, action, clients, 'undoing in Azure before deletion', (_done, text) => `Deleting: ${text}.`);
      if (pending) return this.progress(run, { outcome: { state: 'progressing', ...pending } }, pending.retryAfterMs);
    }
    return undefined;
  }

  // ----- Outcomes -------------------------------------------------------------------------------

  private async finish(run: Run<Obj, Observed>, observed: Observed, plan: KindPlan<Action>): Promise<ReconcileResult> {
    const wasReady = run.obj.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True' && c.observedGeneration === run.obj.metadata.generation);
    const outcome: Outcome = plan.readyNote ? { state: 'ready', ...plan.readyNote } : { state: 'ready', message: 'Azure matches the spec.' };
    await this.writeStatus(run, { outcome, observed, details: plan.details });
    if (!wasReady) this.options.events.record(run.obj, 'Normal', 'Ready', 'Azure matches the spec.');
    return {};
  }

  private async progress(run: Run<Obj, Observed>, report: Report<Observed>, retryAfterMs: number): Promise<ReconcileResult> {
    await this.writeStatus(run, report);
    return { requeueAfterMs: retryAfterMs };
  }

  private async stall(run: Run<Obj, Observed>, report: Report<Observed> & { outcome: { state: 'stalled' } }, recheckMs = this.options.stalledRecheckMs): Promise<ReconcileResult> {
    const { reason, message } = report.outcome;
    const already = run.obj.status?.conditions?.some((c) => c.type === 'Stalled' && c.status === 'True' && c.reason === reason && c.message === message);
    await this.writeStatus(run, report);
    if (!already) this.options.events.record(run.obj, 'Warning', reason, message);
    return { requeueAfterMs: recheckMs };
  }

  /** Maps a failure to status, an event, and what the queue does next (decideFailure). */
  /** Throws NoLongerHeldError when this controller's cache no longer holds the object (by uid). */
  private ensureHeld(run: Run<Obj, Observed>): void {
    if (this.options.cache.get(run.key)?.metadata.uid !== run.obj.metadata.uid) throw new NoLongerHeldError();
  }

  private async failed(run: Run<Obj, Observed>, err: unknown): Promise<ReconcileResult> {
    if (err instanceof NoLongerHeldError) {
      run.logger.info(err.message + '; stopping before changing Azure');
      this.started.delete(run.key);
      return {};
    }
    const doing = run.phase === 'delete' ? 'undoing the changes in Azure before deletion' : `managing the ${this.handler.kind.kind}`;
    const failure = classifyFailure(err, doing, this.handler.transience?.(run.obj, this.now()));
    if (run.signal.aborted) {
      // The reconcile ran out of time (or shutdown stopped waiting): saying so in status is worth
      // one more short write, which the aborted signal would refuse.
      run.signal = AbortSignal.timeout(REPORT_AFTER_ABORT_MS);
    }
    const last = run.obj.status?.lastFailure;
    const decision = decideFailure(failure, {
      phase: run.phase,
      now: this.now(),
      ...(last?.code === failure.code ? { failingSince: Date.parse(last.since) } : {}),
      stalledRecheckMs: this.options.stalledRecheckMs,
      credentialsRecheckMs: this.options.credentialsRecheckMs,
    });
    // What this reconcile did observe before it failed (a write failed after the reads) is still true.
    const report: Report<Observed> = { outcome: decision.outcome, failureCode: failure.code, ...(run.latest ?? {}) };
    if (decision.outcome.state === 'stalled') return this.stall(run, { ...report, outcome: decision.outcome }, typeof decision.requeue === 'object' && 'after' in decision.requeue ? decision.requeue.after : undefined);

    run.logger.warn({ code: failure.code, kind: failure.kind }, failure.message);
    // Repeats of the same event are counted on one Event, so a flapping Azure does not flood.
    this.options.events.record(run.obj, 'Warning', decision.outcome.reason, `${failure.message} Retrying by itself.`);
    await this.writeStatus(run, report);
    if (decision.requeue === 'backoff') throw new RetryLaterError(failure.code, failure.message);
    if ('backoffAtMost' in decision.requeue) throw new RetryLaterError(failure.code, failure.message, decision.requeue.backoffAtMost);
    return { requeueAfterMs: decision.requeue.after };
  }

  // ----- Status ---------------------------------------------------------------------------------

  /**
   * The status for what this reconcile saw and did. Generation and spec are those of the object
   * it reconciled, never of a newer one read after a write conflict: stamping a newer generation
   * on this outcome would report Ready for a spec not yet applied. The conditions build on the
   * latest stored ones (`current`).
   */
  private statusFrom(run: Run<Obj, Observed>, current: ManagedStatus | undefined, report: Report<Observed>): ManagedStatus {
    const generation = run.obj.metadata.generation ?? 0;
    const now = new Date(this.now());
    let conditions: Condition[] = [...(current?.conditions ?? [])];
    if (report.observed === undefined) {
      // Nothing of the target was seen this time (it is gone, or was not read): no detail
      // condition may still say that its parts are in place. One that says a part is missing
      // (False) stays as it was, with its time: that is still the last thing known, and kinds
      // measure waits from it (consent awaited since, rechecked on a schedule from then).
      const why = report.outcome.state === 'ready' ? { reason: 'NotObserved', message: report.outcome.message } : report.outcome;
      for (const c of conditions.filter((c) => this.handler.detailConditions.includes(c.type) && c.status === 'True')) {
        conditions = setCondition(conditions, { type: c.type, status: 'Unknown', reason: why.reason, message: `Not observed: ${why.message}` }, generation, now);
      }
    }
    if (report.observed !== undefined) {
      // What the plan says now is the whole truth about the parts: a part the plan no longer
      // speaks of (the spec dropped it) has no condition left.
      const given = new Set((report.details ?? []).map((d) => d.type));
      conditions = conditions.filter((c) => !this.handler.detailConditions.includes(c.type) || given.has(c.type));
    }
    for (const detail of report.details ?? []) conditions = setCondition(conditions, detail, generation, now);
    conditions = applyOutcome(conditions, report.outcome, generation, now);
    const previousFailure = current?.lastFailure;
    const fields = this.handler.status(run.obj, report.observed, { before: run.before, current, gone: report.gone === true });
    // Kept until a success (Ready): steps in between (a pre-write, an operation started) do not
    // end a failure's while.
    const lastFailure =
      report.failureCode === undefined
        ? report.outcome.state === 'ready'
          ? undefined
          : previousFailure
        : previousFailure?.code === report.failureCode
          ? previousFailure
          : { code: report.failureCode, since: timestamp(now) };
    const status: ManagedStatus = {
      ...withoutShared(fields),
      observedGeneration: generation,
      ...(run.operation ? { operation: run.operation } : {}),
      ...(lastFailure ? { lastFailure } : {}),
      conditions,
    };
    // As the API server stores it (no undefined members), so that comparing with the stored
    // status finds "nothing changed" and no write is sent.
    return JSON.parse(JSON.stringify(status)) as ManagedStatus;
  }

  private async writeStatus(run: Run<Obj, Observed>, report: Report<Observed>): Promise<void> {
    const stored = await writeStatus(this.options.client, run.path, run.obj, (current) => this.statusFrom(run, current, report) as NonNullable<Obj['status']>, sameStatus, run.signal);
    // Later writes of this reconcile start from what is stored, but keep the generation this
    // reconcile works for (a newer one stays for the next reconcile).
    if (stored && stored.metadata.generation === run.obj.metadata.generation) {
      run.obj = { ...run.obj, metadata: { ...run.obj.metadata, resourceVersion: stored.metadata.resourceVersion }, status: stored.status };
    }
  }
}

function withoutShared(fields: Record<string, unknown>): Record<string, unknown> {
  const { observedGeneration: _g, conditions: _c, operation: _o, lastFailure: _f, ...rest } = fields;
  return rest;
}

/** Two statuses that say the same, ignoring condition times (no write is sent for those). */
function sameStatus(current: ManagedStatus | undefined, next: ManagedStatus): boolean {
  if (!current) return false;
  const { conditions: a, ...restA } = current;
  const { conditions: b, ...restB } = next;
  return isDeepStrictEqual(restA, restB) && sameConditions(a, b);
}

/** RFC 3339 to the second, as metav1.Time serializes. */
function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

