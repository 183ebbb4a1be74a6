// The real tools the tests run (helm, kstatus, Argo CD's health code, promtool…) are built here
// from the Go module proxy: no release downloads are reachable. Each is cached under a key made of
// its whole build recipe (the module and version or the hash of its local source, the link flags,
// the build environment and tags), so a change of any of them builds afresh; a version-only key
// kept a helm built without its Kubernetes-version link flags after those flags were added.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { cacheBase } from './versions.js';

const execFileAsync = promisify(execFile);

/** How one Go program is built. */
export interface GoToolRecipe {
  /** The binary's name; also the first part of its cache directory's name. */
  readonly name: string;
  /**
   * Either a package at a version from the module proxy (`go install`), e.g.
   * `helm.sh/helm/v3/cmd/helm@v3.22.0`…
   */
  readonly install?: string;
  /** …or a local module directory (its go.mod pins the versions), built with `go build .`. */
  readonly sourceDir?: string;
  /** `-ldflags` words; `-s -w` are always added. */
  readonly ldflags?: readonly string[];
  /** `-tags`. */
  readonly tags?: readonly string[];
  /** Extra build environment (GOTOOLCHAIN=local and CGO_ENABLED=0 are always set). */
  readonly env?: Readonly<Record<string, string>>;
}

/** Every file under dir except vendor-like folders, sorted, for the source hash. */
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(path);
    }
  };
  walk(dir);
  return out;
}

/**
 * The cache key of a recipe: 12 hex digits of SHA-256 over the recipe (and, for a local module,
 * every file of its source, by relative path and content).
 */
export function recipeKey(recipe: GoToolRecipe): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ ...recipe, sourceDir: undefined }));
  if (recipe.sourceDir) {
    for (const file of sourceFiles(recipe.sourceDir)) {
      hash.update(relative(recipe.sourceDir, file));
      hash.update(readFileSync(file));
    }
  }
  return hash.digest('hex').slice(0, 12);
}

/** The directory a recipe's binary is cached in (it need not exist yet). */
export function goToolDir(recipe: GoToolRecipe): string {
  return join(cacheBase(), `${recipe.name}-${recipeKey(recipe)}`);
}

const building = new Map<string, Promise<string>>();

/**
 * The path of the recipe's binary, built on first use (cold: from seconds for a small module to
 * several minutes for a large one such as Argo CD). Rejects with what to install when Go is
 * missing, and with go's own output when the build fails. The binary is moved into place last,
 * so an interrupted build never looks complete.
 */
export function ensureGoTool(recipe: GoToolRecipe, log: (line: string) => void = () => {}): Promise<string> {
  const dir = goToolDir(recipe);
  const binary = join(dir, recipe.name);
  let pending = building.get(binary);
  if (!pending) {
    pending = build(recipe, dir, binary, log);
    building.set(binary, pending);
    pending.catch(() => building.delete(binary));
  }
  return pending;
}

async function build(recipe: GoToolRecipe, dir: string, binary: string, log: (line: string) => void): Promise<string> {
  if (existsSync(binary)) return binary;
  const go = await execFileAsync('go', ['version']).catch(() => undefined);
  if (!go) throw new Error(`Go is not installed (or not on PATH); the tests build ${recipe.name} from Go modules. Install Go 1.26 or newer and retry.`);
  if (!recipe.install === !recipe.sourceDir) throw new Error(`recipe ${recipe.name}: give exactly one of install and sourceDir`);
  log(`building ${recipe.name} from Go modules into ${dir} (first run only)`);
  mkdirSync(dir, { recursive: true });
  const partial = join(dir, `.partial-${process.pid}`);
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial);
  const flags = ['-trimpath', '-ldflags', ['-s', '-w', ...(recipe.ldflags ?? [])].join(' ')];
  if (recipe.tags?.length) flags.push('-tags', recipe.tags.join(','));
  const env = { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', ...recipe.env };
  try {
    if (recipe.install) {
      await execFileAsync('go', ['install', ...flags, recipe.install], { env: { ...env, GOBIN: partial }, timeout: 1_800_000, maxBuffer: 16 * 1024 * 1024 });
      const [built] = readdirSync(partial);
      if (!built) throw new Error(`go install ${recipe.install} produced no binary`);
      renameSync(join(partial, built), binary);
    } else {
      await execFileAsync('go', ['build', ...flags, '-o', join(partial, recipe.name), '.'], {
        cwd: recipe.sourceDir,
        env: { GOFLAGS: '-mod=readonly', ...env },
        timeout: 1_800_000,
        maxBuffer: 16 * 1024 * 1024,
      });
      renameSync(join(partial, recipe.name), binary);
    }
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
  return binary;
}
