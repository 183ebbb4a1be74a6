// Mocha global fixture for integration tests: one control plane for every test file, with the
// CRDs installed. Test files find it through GSO_TEST_KUBECONFIG and make their own namespace.
// Stopping is guaranteed three ways: mochaGlobalTeardown, signal handlers, and the kernel's
// parent-death signal on every child (see control-plane.ts).
import { execFileSync } from 'node:child_process';
import { startControlPlane, type ControlPlane } from './control-plane.js';
import { installCrds, kubeClients } from './kube.js';

let controlPlane: ControlPlane | undefined;

async function stopAndCheck(): Promise<void> {
  const current = controlPlane;
  controlPlane = undefined;
  if (!current) return;
  const pids = [...current.processes.values()];
  await current.stop();
  const alive = pids.filter((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
  if (alive.length) {
    const ps = execFileSync('ps', ['-o', 'pid,args', '-p', alive.join(',')], { encoding: 'utf8' });
    throw new Error(`control-plane processes outlived stop():\n${ps}`);
  }
}

function onSignal(signal: NodeJS.Signals): void {
  void stopAndCheck().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
}

export async function mochaGlobalSetup(): Promise<void> {
  const started = Date.now();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  controlPlane = await startControlPlane({ controllerManager: true, log: (line) => console.log(`  [control plane] ${line}`) });
  process.env.GSO_TEST_KUBECONFIG = controlPlane.kubeconfigPath;
  try {
    await installCrds(kubeClients(controlPlane.kubeconfigPath));
  } catch (err) {
    // Mocha skips the teardown when setup fails, so stop here.
    await stopAndCheck();
    throw err;
  }
  console.log(`  [control plane] ready with CRDs installed in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

export async function mochaGlobalTeardown(): Promise<void> {
  await stopAndCheck();
}
