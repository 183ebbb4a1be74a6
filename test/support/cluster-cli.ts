// `npm run cluster -- --kubeconfig PATH`: the test control plane for people. Starts etcd,
// kube-apiserver and kube-controller-manager on loopback, installs the CRDs, writes an admin
// kubeconfig to PATH, and stops everything on Ctrl-C or SIGTERM.
import { copyFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startControlPlane } from './control-plane.js';
import { installCrds, kubeClients } from './kube.js';

const usage = `usage: npm run cluster -- --kubeconfig PATH [--no-crds] [--no-controller-manager]

Starts a real Kubernetes control plane on 127.0.0.1 (built from Go modules on first use),
writes an admin kubeconfig to PATH and runs until Ctrl-C or SIGTERM.`;

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      options: {
        kubeconfig: { type: 'string' },
        'no-crds': { type: 'boolean', default: false },
        'no-controller-manager': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${usage}`);
    process.exit(2);
  }
  if (args.help) {
    console.log(usage);
    return;
  }
  if (!args.kubeconfig) {
    console.error(`--kubeconfig PATH is required\n\n${usage}`);
    process.exit(2);
  }
  const kubeconfig = resolve(args.kubeconfig);
  const started = Date.now();
  const controlPlane = await startControlPlane({ controllerManager: !args['no-controller-manager'], log: (line) => console.log(`started ${line}`) });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the control plane`);
    await controlPlane.stop();
    rmSync(kubeconfig, { force: true });
    console.log('stopped; kubeconfig removed');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  copyFileSync(controlPlane.kubeconfigPath, kubeconfig);
  if (!args['no-crds']) {
    await installCrds(kubeClients(kubeconfig));
    console.log('installed the galleryshare.io CRDs');
  }
  console.log(`ready in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  console.log(`kubeconfig: ${kubeconfig}`);
  console.log(`try: kubectl --kubeconfig ${kubeconfig} get gallerysharing -A`);
  console.log('Ctrl-C stops everything.');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
