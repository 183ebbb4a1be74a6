// promtool (Prometheus' rule checker and rule unit-test runner), built from the Go module proxy
// like helm and cached by its recipe (test/support/go-tool.ts). Prometheus' Go module versions
// are v0.<minor>.<patch> for Prometheus 3.<minor>.<patch>. Cold, the build takes several minutes
// (Prometheus is a large module); later runs reuse the binary.
import { ensureGoTool, type GoToolRecipe } from './go-tool.js';

export const PROMETHEUS_MODULE_VERSION = 'v0.316.0';

export const PROMTOOL_RECIPE: GoToolRecipe = {
  name: 'promtool',
  install: `github.com/prometheus/prometheus/cmd/promtool@${PROMETHEUS_MODULE_VERSION}`,
  ldflags: [`-X github.com/prometheus/common/version.Version=${PROMETHEUS_MODULE_VERSION.replace(/^v0\./, '3.')}`],
};

/** The path of a promtool binary, built on first use. */
export function ensurePromtool(log: (line: string) => void = () => {}): Promise<string> {
  return ensureGoTool(PROMTOOL_RECIPE, log);
}
