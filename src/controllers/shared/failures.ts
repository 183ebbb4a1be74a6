// The one place a failure becomes what happens next. classifyFailure names any failure (a
// long-running operation Azure reports as failed, a refusal or outage of the Kubernetes API, an
// Azure or Entra error) with a class and a code; decideFailure, pure, maps the class to the
// status a person sees and to what the work queue does:
//   throttled -> Reconciling "Throttled", requeue after exactly Retry-After (a result, not an error)
//   retryable -> Reconciling <code>, back off per object
//   transient -> Reconciling <code>, back off, until the while Azure documents has passed since
//                the object first reported it; then Stalled <code> with the advice
//   terminal  -> Stalled <code> with what to do; looked at again after a recheck interval
// Kubernetes failures are named as such, so that a forbidden Secret read is not reported as
// something Azure refused.
import { classifyAzureError, classifyOperationFailure, withTransience, type Failure, type TransienceContext } from '../../azure/errors.js';
import { OperationFailedError } from '../../azure/operations.js';
import type { Outcome } from '../../runtime/conditions.js';
import { KubeApiError } from '../../runtime/kube-client.js';
import type { Phase } from './handler.js';

export type { Failure, TransienceContext };

/**
 * Names any failure with a class and a code. `context` (what the kind knows: grants it just made,
 * consent just seen, regions still replicating) turns the refusals Azure documents as passing
 * within a while into transient ones.
 */
export function classifyFailure(err: unknown, doing: string, context?: TransienceContext): Failure {
  if (err instanceof OperationFailedError) return withTransience(classifyOperationFailure(err.code, err.message, doing), context);
  if (err instanceof KubeApiError) return classifyKubeFailure(err, doing);
  return withTransience(classifyAzureError(err, doing), context);
}

function classifyKubeFailure(err: KubeApiError, doing: string): Failure {
  const code = `Kubernetes${err.reason && err.reason !== 'Unknown' ? err.reason : err.statusCode}`;
  if (err.statusCode === 403) {
    return {
      kind: 'terminal',
      code: 'KubernetesForbidden',
      message: `The Kubernetes API refused the operator while ${doing}: ${err.message}. Its ServiceAccount lacks a permission that the chart's RBAC (config/rbac) grants: reinstall it.`,
    };
  }
  return { kind: 'retryable', code, message: `The Kubernetes API failed while ${doing}: ${err.message}` };
}

/** The codes whose Stalled state a person fixes in a Secret, which the operator cannot watch. */
const CREDENTIAL_CODES = new Set(['InvalidCredentialsSecret', 'SecretNotFound', 'CredentialExpired']);

export interface FailureContext {
  phase: Phase;
  /** Now, in milliseconds since the epoch. */
  now: number;
  /**
   * Since when (ms since the epoch) the object has reported this failure's code without a
   * success in between, as its status says; undefined when this is the first time. Taken from
   * status, so that a restarted operator does not start the while again.
   */
  failingSince?: number;
  /** How soon a Stalled object is looked at again (a person may have fixed Azure meanwhile). */
  stalledRecheckMs: number;
  /**
   * How soon a Stalled credentials failure is looked at again. The operator may only get
   * Secrets, never watch them (a watch would let it read every Secret in the cluster), so a
   * fixed Secret is noticed by looking again.
   */
  credentialsRecheckMs: number;
}

/** Wait exactly `after`; or back off per key, no longer than `atMost` when given. */
export type Requeue = { after: number } | 'backoff' | { backoffAtMost: number };

export interface FailureDecision {
  /** The summary the object's status reports. */
  outcome: Extract<Outcome, { state: 'progressing' | 'stalled' }>;
  /** What the queue does: wait exactly, or back off (counted as a reconcile error). */
  requeue: Requeue;
}

const DELETION_ADVICE = 'The object keeps its finalizer until this works; to delete it without changing Azure, set spec.deletionPolicy: Orphan.';

/** Pure: what a classified failure means for status and the queue. */
export function decideFailure(failure: Failure, context: FailureContext): FailureDecision {
  const stalled = (message: string): FailureDecision => ({
    outcome: { state: 'stalled', reason: failure.code, message: context.phase === 'delete' ? `${message} ${DELETION_ADVICE}` : message },
    requeue: { after: CREDENTIAL_CODES.has(failure.code) ? Math.min(context.credentialsRecheckMs, context.stalledRecheckMs) : context.stalledRecheckMs },
  });
  switch (failure.kind) {
    case 'throttled':
      return { outcome: { state: 'progressing', reason: 'Throttled', message: failure.message }, requeue: { after: failure.retryAfterMs } };
    case 'retryable':
      return { outcome: { state: 'progressing', reason: failure.code, message: failure.message }, requeue: 'backoff' };
    case 'transient': {
      const since = context.failingSince ?? context.now;
      const waited = context.now - since;
      if (waited < failure.settlesWithinMs) {
        const left = Math.ceil((failure.settlesWithinMs - waited) / 1000);
        // Looked at again before the while ends, so that Stalled comes when it should, not a
        // doubled backoff later.
        return {
          outcome: { state: 'progressing', reason: failure.code, message: `${failure.message} Azure says this can pass by itself; retrying for ${left}s more before asking a person.` },
          requeue: { backoffAtMost: failure.settlesWithinMs - waited },
        };
      }
      return stalled(`${failure.message} It has lasted ${Math.round(waited / 1000)}s, longer than it does when it passes by itself.`);
    }
    case 'terminal':
      return stalled(failure.message);
  }
}
