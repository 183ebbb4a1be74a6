// Writes to our own custom objects: status through the status subresource, and finalizers. Both
// carry the resourceVersion they were computed from, so a concurrent change answers 409 and the
// write is tried again on a fresh read (client-go's retry.RetryOnConflict); a write that would
// change nothing is not sent.
import { isConflict, isNotFound, type KubeClient } from './kube-client.js';
import type { KubeObject } from './informer.js';

const MAX_CONFLICT_RETRIES = 5;

/**
 * Runs `attempt` on the object, and on a 409 Conflict reads the object again and runs it on the
 * fresh copy, up to MAX_CONFLICT_RETRIES times. Returns undefined once the object is gone.
 */
export async function retryOnConflict<T extends KubeObject, R>(
  client: KubeClient,
  path: string,
  obj: T,
  attempt: (latest: T) => Promise<R>,
  signal?: AbortSignal,
): Promise<R | undefined> {
  let latest = obj;
  for (let tries = 0; ; tries++) {
    try {
      return await attempt(latest);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      if (!isConflict(err) || tries >= MAX_CONFLICT_RETRIES) throw err;
    }
    try {
      latest = await client.get<T>(path, { signal });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}

/**
 * Replaces the status with what `computeStatus` makes of the latest stored status. Returns the
 * object as stored, or undefined when it no longer exists. `computeStatus` sees only the status,
 * never the re-read object: after a conflict that object may carry a newer generation and spec
 * than the one reconciled, and a status built from them would claim work not done.
 */
export async function writeStatus<T extends KubeObject & { status?: unknown }>(
  client: KubeClient,
  objectPath: string,
  obj: T,
  computeStatus: (current: T['status'] | undefined) => NonNullable<T['status']>,
  isSame: (current: T['status'], next: NonNullable<T['status']>) => boolean,
  signal?: AbortSignal,
): Promise<T | undefined> {
  return retryOnConflict(
    client,
    objectPath,
    obj,
    async (latest) => {
      const next = computeStatus(latest.status);
      if (isSame(latest.status, next)) return latest;
      return client.replace<T>(`${objectPath}/status`, { ...latest, status: next }, { signal });
    },
    signal,
  );
}

/** Adds or removes a finalizer; returns the object as stored (undefined once it is gone). */
export async function setFinalizer<T extends KubeObject>(client: KubeClient, objectPath: string, obj: T, finalizer: string, present: boolean, signal?: AbortSignal): Promise<T | undefined> {
  return retryOnConflict(
    client,
    objectPath,
    obj,
    async (latest) => {
      const current = latest.metadata.finalizers ?? [];
      if (current.includes(finalizer) === present) return latest;
      const finalizers = present ? [...current, finalizer] : current.filter((f) => f !== finalizer);
      return client.patch<T>(objectPath, { metadata: { finalizers, resourceVersion: latest.metadata.resourceVersion } }, 'merge', { signal });
    },
    signal,
  );
}
