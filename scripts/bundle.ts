// Bundles the operator into one file, dist/main.js, with esbuild. Why a bundle and not tsc's
// per-file output: memory. Importing @kubernetes/client-node's package entry loads its whole
// generated API (about a thousand model and API classes) although the operator uses only
// KubeConfig and Watch; that alone costs about 75 MiB of RSS before the first object. The bundle
// keeps only the code that is reachable from src/main.ts, which brings the operator's resident
// memory at start from about 140 MiB to about 75 MiB (`npm run bench` prints the figures). The
// image then needs no node_modules at all.
//
// Not minified: stack traces in logs stay readable. Optional peer modules that packages probe
// with require() inside try/catch (ws: utf-8-validate, node-fetch: encoding) are left to fail at
// run time exactly as they do unbundled.
//
// Deprecation warnings: bundling moves library code out of node_modules, and Node prints some
// deprecations only for code outside node_modules ("application-only"), so the bundle would
// print warnings that the same libraries never print unbundled. Their causes are removed here:
// - DEP0040 (the built-in punycode module, required by tr46 under node-fetch v2 under
//   client-node): aliased to the userland punycode package, the replacement Node names (the
//   same code as the built-in one).
// - DEP0169 (url.parse, called by node-fetch v2, which client-node's Watch uses): node-fetch
//   only hands it URLs that WHATWG URL has already parsed and serialised, so the legacy parser
//   is called as a method of url.Url, which is what url.parse does inside but without the
//   application-only warning, as Node intends for library code.
// Any other warning becomes a JSON log line (src/process-warnings.ts).
import { build, type Plugin } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** The file the image runs. */
export const OPERATOR_BUNDLE = join(repoRoot, 'dist/main.js');

/** node-fetch v2's legacy URL parse, as a method of url.Url (see the top of this file). */
const nodeFetchUrlParse: Plugin = {
  name: 'node-fetch-url-parse',
  setup(build) {
    build.onLoad({ filter: /[\\/]node-fetch[\\/]lib[\\/]index\.(m?js|es\.js)$/ }, async ({ path }) => {
      const source = await readFile(path, 'utf8');
      const legacy = 'const parse_url = Url.parse;';
      // Fail the build rather than ship the warning again when node-fetch changes.
      if (!source.includes(legacy)) throw new Error(`${path}: "${legacy}" not found; node-fetch changed, see scripts/bundle.ts`);
      const replaced = source.replace(legacy, 'const parse_url = (urlStr) => { const parsed = new Url.Url(); parsed.parse(urlStr, false, false); return parsed; };');
      return { contents: replaced, loader: 'js' };
    });
  },
};

/** Writes dist/main.js (and its source map) from src/; takes well under a second. */
export async function bundleOperator(): Promise<string> {
  await build({
    absWorkingDir: repoRoot,
    entryPoints: ['src/main.ts'],
    outfile: OPERATOR_BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20.19',
    sourcemap: 'linked',
    // CommonJS packages inside an ES module bundle call require() for Node's built-ins; an ES
    // module has no require of its own, so the bundle makes one.
    banner: { js: "import { createRequire as __gsoCreateRequire } from 'node:module'; const require = __gsoCreateRequire(import.meta.url);" },
    alias: { punycode: 'punycode/' },
    plugins: [nodeFetchUrlParse],
    logLevel: 'warning',
  });
  return OPERATOR_BUNDLE;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await bundleOperator();
