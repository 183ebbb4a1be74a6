// Writes to our own custom objects: status through the status subresource, and finalizers. Both
// carry the resourceVersion they were computed from, so a concurrent change answers 409, and
// are retried on a fresh read; a write that would change nothing is not sent.
import { isConflict, isNotFound, type KubeClient } from './kube-client.js';
import type { KubeObject } from './informer.js';

export interface ObjectPaths {
  /** /apis/<group>/<version>/namespaces/<ns>/<plural>/<name> */
  objectPath(namespace: string, name: string): string;
}

const MAX_CONFLICT_RETRIES = 5;

/**
 * Replaces the status with what `computeStatus` makes of the latest stored status. Returns the
 * object as stored, or undefined when it no longer exists. `computeStatus` sees only the status,
 * never the re-read object: after a conflict that object may carry a newer generation and spec
 * than the one reconciled, and a status built from them would claim work not done.
 */
export async function writeStatus<T extends KubeObject & { status?: unknown }>(
  client: KubeClient,
  paths: ObjectPaths,
  obj: T,
  computeStatus: (current: T['status'] | undefined) => NonNullable<T['status']>,
  isSame: (current: T['status'], next: NonNullable<T['status']>) => boolean,
): Promise<T | undefined> {
  let latest = obj;
  for (let attempt = 0; ; attempt++) {
    const next = computeStatus(latest.status);
    if (isSame(latest.status, next)) return latest;
    const path = `${paths.objectPath(latest.metadata.namespace!, latest.metadata.name!)}/status`;
    try {
      return await client.replace<T>(path, { ...latest, status: next });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      if (!isConflict(err) || attempt >= MAX_CONFLICT_RETRIES) throw err;
      latest = await client.get<T>(paths.objectPath(latest.metadata.namespace!, latest.metadata.name!));
    }
  }
}

/** Adds or removes a finalizer; returns the object as stored (undefined once it is gone). */
export async function setFinalizer<T extends KubeObject>(client: KubeClient, paths: ObjectPaths, obj: T, finalizer: string, present: boolean): Promise<T | undefined> {
  let latest = obj;
  for (let attempt = 0; ; attempt++) {
    const current = latest.metadata.finalizers ?? [];
    if (current.includes(finalizer) === present) return latest;
    const finalizers = present ? [...current, finalizer] : current.filter((f) => f !== finalizer);
    const path = paths.objectPath(latest.metadata.namespace!, latest.metadata.name!);
    try {
      return await client.patch<T>(path, { metadata: { finalizers, resourceVersion: latest.metadata.resourceVersion } }, 'merge');
    } catch (err) {
      if (isNotFound(err)) return undefined;
      if (!isConflict(err) || attempt >= MAX_CONFLICT_RETRIES) throw err;
      try {
        latest = await client.get<T>(path);
      } catch (readErr) {
        if (isNotFound(readErr)) return undefined;
        throw readErr;
      }
    }
  }
}
