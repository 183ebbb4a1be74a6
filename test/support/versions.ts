// Pinned versions of the test control plane, and where their binaries are cached. The cache
// lives outside the repository, keyed by version, so a version bump builds afresh and nothing
// built is ever committed.
import { homedir } from 'node:os';
import { join } from 'node:path';

export const KUBERNETES_VERSION = 'v1.36.3';
export const ETCD_VERSION = 'v3.6.16';

export function binaryCacheDir(): string {
  const base = process.env.GSO_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'gallery-share-operator');
  return join(base, 'control-plane', `k8s-${KUBERNETES_VERSION}_etcd-${ETCD_VERSION}`);
}
