// Runs openssl for the test certificates (the control plane's and the Azure emulator's), with a
// message that says what to install when it is missing.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Runs `openssl args` in `cwd`; `neededFor` names what the certificates are for. */
export async function openssl(args: string[], cwd: string, neededFor: string): Promise<void> {
  try {
    await execFileAsync('openssl', args, { cwd });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`openssl is not installed: ${neededFor} needs it (apt-get install openssl)`);
    throw err;
  }
}
