// promtool (Prometheus' rule checker and rule unit-test runner), built from the Go module proxy
// like helm and cached by its recipe (test/support/go-tool.ts). Prometheus' Go module versions
// are v0.<minor>.<patch> for Prometheus 3.<minor>.<patch>. Built with Prometheus' own build tag
// remove_all_sd, which leaves out every service-discovery plugin (the Azure, AWS, GCE, Kubernetes
// ... SDKs, most of the module's code): checking and testing rules needs none of them. Later runs
// reuse the binary.
import { ensureGoTool, type GoToolRecipe } from './go-tool.js';

export const PROMETHEUS_MODULE_VERSION = 'v0.316.0';

export const PROMTOOL_RECIPE: GoToolRecipe = {
  name: 'promtool',
  install: `github.com/prometheus/prometheus/cmd/promtool@${PROMETHEUS_MODULE_VERSION}`,
  ldflags: [`-X github.com/prometheus/common/version.Version=${PROMETHEUS_MODULE_VERSION.replace(/^v0\./, '3.')}`],
  tags: ['remove_all_sd'],
};

/** The path of a promtool binary, built on first use. */
export function ensurePromtool(log: (line: string) => void = () => {}): Promise<string> {
  return ensureGoTool(PROMTOOL_RECIPE, log);
}
