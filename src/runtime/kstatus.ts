// kstatus's rules (sigs.k8s.io/cli-utils/pkg/kstatus) for our objects, as GitOps tools compute
// them: for a custom resource, Terminating while deleting; InProgress while status.observedGeneration
// (when present) differs from metadata.generation, or Reconciling is True; Failed when Stalled is
// True; when none of these decides, InProgress for a Ready condition that is False or Unknown
// (kstatus's last fallback, status.go checkReadyCondition) and Current otherwise. So an object
// with no status at all is Current to it: our CRDs default status to {observedGeneration: -1} so
// that a fresh object reads InProgress. Used by tests, each state checked against kstatus itself
// (test/support/real-kstatus.ts), by the demo to say what a person would see in Flux, and by the
// galleryshare_objects gauge (objectState below).
import { findCondition, type Condition } from './conditions.js';

export type KStatus = 'Terminating' | 'InProgress' | 'Failed' | 'Current';

export interface StatusBearing {
  metadata?: { generation?: number; deletionTimestamp?: Date | string };
  status?: { observedGeneration?: number; conditions?: Condition[] };
}

export function kstatus(obj: StatusBearing): KStatus {
  if (obj.metadata?.deletionTimestamp) return 'Terminating';
  const observed = obj.status?.observedGeneration;
  if (observed !== undefined && observed !== obj.metadata?.generation) return 'InProgress';
  if (findCondition(obj.status?.conditions, 'Reconciling')?.status === 'True') return 'InProgress';
  if (findCondition(obj.status?.conditions, 'Stalled')?.status === 'True') return 'Failed';
  const ready = findCondition(obj.status?.conditions, 'Ready')?.status;
  if (ready === 'False' || ready === 'Unknown') return 'InProgress';
  return 'Current';
}

/** An object's state for monitoring (the `galleryshare_objects` gauge). */
export type ObjectState = 'ready' | 'reconciling' | 'stalled';
export const OBJECT_STATES: readonly ObjectState[] = ['ready', 'reconciling', 'stalled'];

/**
 * kstatus's answer in three states an alert can use: Failed is stalled, InProgress is
 * reconciling, Current is ready when Ready is True. Two cases kstatus leaves open are decided so
 * that every object counts once and a person's attention is asked for only when it is needed:
 * an object being deleted is reconciling (its deletion is work in flight), unless it is Stalled
 * (a deletion that waits for a person, such as a Secret deleted with its namespace, must alert);
 * and an object the operator has not written status for yet (no Ready condition: kstatus would
 * call an object without status Current) is reconciling, since the leader has it in its queue,
 * rather than a fourth "unknown" state that no alert would watch.
 */
export function objectState(obj: StatusBearing): ObjectState {
  const stalled = findCondition(obj.status?.conditions, 'Stalled')?.status === 'True';
  switch (kstatus(obj)) {
    case 'Terminating':
      return stalled ? 'stalled' : 'reconciling';
    case 'Failed':
      return 'stalled';
    case 'InProgress':
      return 'reconciling';
    case 'Current':
      return findCondition(obj.status?.conditions, 'Ready')?.status === 'True' ? 'ready' : 'reconciling';
  }
}

/** How many of the objects are in each state (every state present, zero or more). */
export function countObjectStates(objects: Iterable<StatusBearing>): Record<ObjectState, number> {
  const counts: Record<ObjectState, number> = { ready: 0, reconciling: 0, stalled: 0 };
  for (const obj of objects) counts[objectState(obj)]++;
  return counts;
}
