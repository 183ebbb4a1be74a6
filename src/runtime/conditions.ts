// Status conditions in the metav1.Condition shape, and the one mapping from a reconcile's outcome
// to the summary conditions that kstatus, `kubectl wait`, Flux and Argo CD read:
//   ready       -> Ready=True; Reconciling and Stalled removed
//   progressing -> Ready=False, Reconciling=True (work in flight: a long-running operation, a retry)
//   stalled     -> Ready=False, Stalled=True (a person must act; reason and message say what)
// Abnormal-true conditions (Reconciling, Stalled) are removed rather than set False, as kstatus
// recommends, so a healthy object shows only what is true.
import type { Condition } from '../api/v1alpha1/common.js';

export type { Condition };
export type ConditionStatus = Condition['status'];

export type ConditionInput = Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>;

export const READY = 'Ready';
export const RECONCILING = 'Reconciling';
export const STALLED = 'Stalled';

/**
 * Sets one condition. lastTransitionTime changes only when the status changes, so that it says
 * since when the condition holds, not when the operator last looked.
 */
export function setCondition(conditions: readonly Condition[], input: ConditionInput, generation: number, now: Date): Condition[] {
  const existing = conditions.find((c) => c.type === input.type);
  const lastTransitionTime = existing && existing.status === input.status ? existing.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const next: Condition = { ...input, observedGeneration: generation, lastTransitionTime, message: truncate(input.message) };
  return existing ? conditions.map((c) => (c.type === input.type ? next : c)) : [...conditions, next];
}

export function removeCondition(conditions: readonly Condition[], type: string): Condition[] {
  return conditions.filter((c) => c.type !== type);
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** The summary of one reconcile, as the controllers report it. */
export type Outcome =
  | { state: 'ready'; message: string; reason?: string }
  | { state: 'progressing'; reason: string; message: string }
  | { state: 'stalled'; reason: string; message: string };

/** Applies an outcome to the summary conditions and keeps the detail conditions as given. */
export function applyOutcome(conditions: readonly Condition[], outcome: Outcome, generation: number, now: Date): Condition[] {
  let next = [...conditions];
  switch (outcome.state) {
    case 'ready':
      next = setCondition(next, { type: READY, status: 'True', reason: outcome.reason ?? 'Reconciled', message: outcome.message }, generation, now);
      next = removeCondition(removeCondition(next, RECONCILING), STALLED);
      break;
    case 'progressing':
      next = setCondition(next, { type: READY, status: 'False', reason: outcome.reason, message: outcome.message }, generation, now);
      next = setCondition(next, { type: RECONCILING, status: 'True', reason: outcome.reason, message: outcome.message }, generation, now);
      next = removeCondition(next, STALLED);
      break;
    case 'stalled':
      next = setCondition(next, { type: READY, status: 'False', reason: outcome.reason, message: outcome.message }, generation, now);
      next = setCondition(next, { type: STALLED, status: 'True', reason: outcome.reason, message: outcome.message }, generation, now);
      next = removeCondition(next, RECONCILING);
      break;
  }
  return next;
}

/** Condition messages are capped by the CRD schema; keep the start, which says what happened. */
function truncate(message: string, max = 32_000): string {
  return message.length <= max ? message : `${message.slice(0, max - 3)}...`;
}

/** Whether two condition lists say the same, ignoring times (to skip no-op status writes). */
export function sameConditions(a: readonly Condition[] | undefined, b: readonly Condition[] | undefined): boolean {
  const key = (c: Condition) => `${c.type}|${c.status}|${c.reason}|${c.message}|${c.observedGeneration ?? ''}`;
  const left = (a ?? []).map(key).sort();
  const right = (b ?? []).map(key).sort();
  return left.length === right.length && left.every((k, i) => k === right[i]);
}
