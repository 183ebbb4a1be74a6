// Helm for the chart tests, built from the Go module proxy like the control plane (no release
// downloads here), with the link flags of helm's own Makefile, and cached by its recipe
// (test/support/go-tool.ts). Cold, the build takes one to two minutes.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { ensureGoTool, type GoToolRecipe } from './go-tool.js';
import { HELM_VERSION } from './versions.js';

const execFileAsync = promisify(execFile);
const MODULE = 'helm.sh/helm/v3';

/**
 * helm's recipe. Its Makefile links in the Kubernetes version that `helm template` and
 * `helm lint` assume without `--kube-version` (.Capabilities.KubeVersion): one more than the
 * major and the same minor as the k8s.io/client-go it requires (v0.37.0 → 1.37). Without these
 * flags helm assumes Kubernetes 1.20, and a chart whose kubeVersion asks for more fails to render.
 */
export async function helmRecipe(): Promise<GoToolRecipe> {
  const { stdout } = await execFileAsync('go', ['mod', 'download', '-json', `${MODULE}@${HELM_VERSION}`], {
    env: { ...process.env, GOTOOLCHAIN: 'local' },
    timeout: 300_000,
  });
  const goMod = readFileSync((JSON.parse(stdout) as { GoMod: string }).GoMod, 'utf8');
  const clientGo = /^\s*k8s\.io\/client-go v(\d+)\.(\d+)\./m.exec(goMod);
  if (!clientGo) throw new Error(`${MODULE}@${HELM_VERSION}: no k8s.io/client-go in its go.mod`);
  const [major, minor] = [String(Number(clientGo[1]) + 1), clientGo[2]!];
  return {
    name: 'helm',
    install: `${MODULE}/cmd/helm@${HELM_VERSION}`,
    ldflags: [
      `-X ${MODULE}/internal/version.version=${HELM_VERSION}`,
      `-X ${MODULE}/internal/version.metadata=`,
      `-X ${MODULE}/internal/version.gitTreeState=clean`,
      `-X ${MODULE}/pkg/lint/rules.k8sVersionMajor=${major}`,
      `-X ${MODULE}/pkg/lint/rules.k8sVersionMinor=${minor}`,
      `-X ${MODULE}/pkg/chartutil.k8sVersionMajor=${major}`,
      `-X ${MODULE}/pkg/chartutil.k8sVersionMinor=${minor}`,
    ],
  };
}

/** The path of a helm binary of HELM_VERSION, built on first use. */
export async function ensureHelm(log: (line: string) => void = () => {}): Promise<string> {
  return ensureGoTool(await helmRecipe(), log);
}
