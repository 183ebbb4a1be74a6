// What a write did to the emulator's state, for the request log's `effect`: an audit of "writes
// beyond what the plans called for" counts the writes that changed nothing. Worked out by comparing
// the target's state before and after the handler, leaving out what every write touches whatever it
// asks (provisioning state, timestamps, the etag counter), so that a PUT whose body changes nothing
// the emulator keeps is `unchanged`.
import { idKey } from '../ids.js';
import type { World } from '../world.js';

export type WriteEffect = 'created' | 'changed' | 'unchanged' | 'deleted' | 'absent';

/** Fields every write sets anew, whatever it asks: not part of what a write changes. */
const volatileFields = new Set(['provisioning', 'createdAt', 'revision', 'sharingInProgressUntil', 'createdOn', 'updatedOn', 'createdBy', 'effectiveFrom', 'replicatedAt', 'replicationStartedAt', 'publishedDate']);

function stable(value: unknown): string {
  return JSON.stringify(value, (key, v: unknown) => {
    if (volatileFields.has(key)) return undefined;
    // Object key order is not state: sort keys so that equal records print equally.
    if (v && typeof v === 'object' && !Array.isArray(v)) return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)));
    return v;
  });
}

/** The state of what a request writes: the resource or role assignment at the path (POST actions: the resource they act on). */
export interface WriteTarget {
  key: string;
  /** Serialized state, or undefined when it does not exist. */
  state: string | undefined;
  /** A DELETE already under way (provisioning Deleting): another DELETE changes nothing. */
  deleting: boolean;
}

export function writeTarget(world: World, method: string, path: string): WriteTarget {
  const segments = path.split('/').filter(Boolean);
  const key = idKey(method === 'POST' ? segments.slice(0, -1).join('/') : path);
  const resource = world.resources.get(key);
  if (resource) return { key, state: stable(resource), deleting: resource.provisioning.state === 'Deleting' };
  const assignment = world.roleAssignments.get(key);
  return { key, state: assignment ? stable(assignment) : undefined, deleting: false };
}

/** The effect of a write answered 2xx, from the target's state before and after. */
export function writeEffect(method: string, status: number, before: WriteTarget, after: WriteTarget): WriteEffect {
  if (method === 'DELETE') {
    if (status === 204 || before.state === undefined) return 'absent';
    return before.deleting ? 'unchanged' : 'deleted';
  }
  if (before.state === undefined) return after.state === undefined ? 'unchanged' : 'created';
  if (after.state === undefined) return 'deleted';
  return before.state === after.state ? 'unchanged' : 'changed';
}
