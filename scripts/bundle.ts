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
import { build } from 'esbuild';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** The file the image runs. */
export const OPERATOR_BUNDLE = join(repoRoot, 'dist/main.js');

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
    logLevel: 'warning',
  });
  return OPERATOR_BUNDLE;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await bundleOperator();
