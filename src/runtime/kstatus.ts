// kstatus's rules (sigs.k8s.io/cli-utils/pkg/kstatus) for our objects, as GitOps tools compute
// them. Used by tests to prove that every state the operator writes is read right, and by the
// demo to say what a person would see in Flux or Argo CD.
import { findCondition, type Condition } from './conditions.js';

export type KStatus = 'Terminating' | 'InProgress' | 'Failed' | 'Current';

export interface StatusBearing {
  metadata?: { generation?: number; deletionTimestamp?: Date | string };
  status?: { observedGeneration?: number; conditions?: Condition[] };
}

export function kstatus(obj: StatusBearing): KStatus {
  if (obj.metadata?.deletionTimestamp) return 'Terminating';
  const observed = obj.status?.observedGeneration;
  if (observed === undefined || observed !== obj.metadata?.generation) return 'InProgress';
  if (findCondition(obj.status?.conditions, 'Reconciling')?.status === 'True') return 'InProgress';
  if (findCondition(obj.status?.conditions, 'Stalled')?.status === 'True') return 'Failed';
  if (findCondition(obj.status?.conditions, 'Ready')?.status === 'True') return 'Current';
  return 'InProgress';
}
