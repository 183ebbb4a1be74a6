// Helm for the chart tests, built from the Go module proxy like the control plane (no release
// downloads here) and cached by version. Cold, the build takes one to two minutes.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { HELM_VERSION, helmCacheDir } from './versions.js';

const execFileAsync = promisify(execFile);

/** The path of a helm binary of HELM_VERSION, built on first use. */
export async function ensureHelm(log: (line: string) => void = () => {}): Promise<string> {
  const binary = join(helmCacheDir(), 'helm');
  if (existsSync(binary)) return binary;
  const go = await execFileAsync('go', ['version']).catch(() => undefined);
  if (!go) throw new Error('Go is not installed (or not on PATH); the chart tests build helm from Go modules. Install Go 1.26 or newer and retry.');
  log(`building helm ${HELM_VERSION} from Go modules into ${dirname(binary)} (first run only)`);
  mkdirSync(dirname(helmCacheDir()), { recursive: true });
  const work = mkdtempSync(`${helmCacheDir()}.work.`);
  try {
    await execFileAsync(
      'go',
      ['install', '-trimpath', '-ldflags', `-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}`, `helm.sh/helm/v3/cmd/helm@${HELM_VERSION}`],
      { env: { ...process.env, GOBIN: work, GOTOOLCHAIN: 'local', CGO_ENABLED: '0' }, timeout: 900_000, maxBuffer: 16 * 1024 * 1024 },
    );
    // Moved into place last, so an interrupted build never looks complete.
    mkdirSync(helmCacheDir(), { recursive: true });
    renameSync(join(work, 'helm'), binary);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return binary;
}
