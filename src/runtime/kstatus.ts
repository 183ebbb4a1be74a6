// kstatus's rules (sigs.k8s.io/cli-utils/pkg/kstatus) for our objects, as GitOps tools compute
// them: for a custom resource, Terminating while deleting; InProgress while status.observedGeneration
// (when present) differs from metadata.generation, or Reconciling is True; Failed when Stalled is
// True; Current otherwise. kstatus reads no Ready condition, so an object with no status at all
// is Current to it: our CRDs default status to {observedGeneration: -1} so that a fresh object
// reads InProgress. Used by tests, each state checked against kstatus itself
// (test/support/real-kstatus.ts), and by the demo to say what a person would see in Flux.
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
  return 'Current';
}
