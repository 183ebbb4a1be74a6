// The control-plane harness itself: `npm run cluster` gives a working kubeconfig for the pinned
// Kubernetes version, stops everything on SIGTERM, and leaves no process behind even when its
// owner is SIGKILLed; the build script says what to install when Go is missing.
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Watch } from '@kubernetes/client-node';
import { KUBERNETES_VERSION } from '../support/versions.js';
import { startControlPlane, type ControlPlane } from '../support/control-plane.js';
import { kubeClients, rawGet, repoRoot } from '../support/kube.js';

interface ClusterRun {
  child: ChildProcessWithoutNullStreams;
  pids: number[];
  output: () => string;
}

/** Starts the cluster CLI as its own node process and waits until it says it is ready. */
async function startClusterCli(kubeconfig: string): Promise<ClusterRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/support/cluster-cli.ts'), '--kubeconfig', kubeconfig, '--no-controller-manager'], {
    cwd: repoRoot,
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 90_000;
  while (!output.includes('ready in')) {
    if (child.exitCode !== null) throw new Error(`cluster CLI exited early:\n${output}`);
    if (Date.now() > deadline) throw new Error(`cluster CLI not ready:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const pids = [...output.matchAll(/\(pid (\d+)\)/g)].map((m) => Number(m[1]));
  return { child, pids, output: () => output };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntilDead(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const living = pids.filter(alive);
    if (living.length === 0 || Date.now() > deadline) return living;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('control-plane harness', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gso-harness-test-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('npm run cluster writes a working admin kubeconfig and stops everything on SIGTERM', async () => {
    const kubeconfig = join(dir, 'admin.kubeconfig');
    const run = await startClusterCli(kubeconfig);
    expect(run.pids, run.output()).to.have.length(2); // etcd and kube-apiserver
    const version = await rawGet(kubeClients(kubeconfig).kc, '/version');
    expect(version.status).to.equal(200);
    expect((JSON.parse(version.body) as { gitVersion: string }).gitVersion).to.equal(KUBERNETES_VERSION);
    const discovery = await rawGet(kubeClients(kubeconfig).kc, '/apis/galleryshare.io/v1alpha1');
    expect(discovery.status, 'CRDs installed').to.equal(200);

    const exited = new Promise<number | null>((resolve) => run.child.once('exit', (code) => resolve(code)));
    run.child.kill('SIGTERM');
    expect(await exited).to.equal(0);
    expect(await waitUntilDead(run.pids, 10_000)).to.deep.equal([]);
    expect(existsSync(kubeconfig), 'kubeconfig removed').to.equal(false);
  });

  it('leaves no process behind when its owner is SIGKILLed', async () => {
    const run = await startClusterCli(join(dir, 'admin.kubeconfig'));
    expect(run.pids.every(alive)).to.equal(true);
    run.child.kill('SIGKILL');
    expect(await waitUntilDead(run.pids, 10_000), 'orphans').to.deep.equal([]);
  });

  it('tells what to install when Go is missing', () => {
    const out = join(dir, 'bin');
    const result = spawnSync('/bin/bash', [join(repoRoot, 'test/support/build-control-plane.sh'), KUBERNETES_VERSION, 'v3.6.16', out], {
      env: { PATH: join(dir, 'empty-path') },
      encoding: 'utf8',
    });
    expect(result.status).to.equal(3);
    expect(result.stderr).to.include('Go is not installed');
    expect(result.stderr).to.include('install Go 1.26 or newer');
    expect(existsSync(out)).to.equal(false);
  });

  describe('powers for the chaos run (a control plane of its own, watch cache off)', () => {
    let cp: ControlPlane;
    before(async () => {
      cp = await startControlPlane({ apiserverArgs: ['--watch-cache=false'] });
    });
    after(async () => cp?.stop());

    it('restartApiserver stops kube-apiserver and starts it again on the same port with the same flags; what was stored stays', async () => {
      const clients = kubeClients(cp.kubeconfigPath);
      await clients.core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'kept' }, data: { a: '1' } } });
      const before = cp.processes.get('kube-apiserver')!;
      await cp.restartApiserver();
      const after = cp.processes.get('kube-apiserver')!;
      expect(after).to.not.equal(before);
      expect(alive(before), 'the old kube-apiserver is gone').to.equal(false);
      expect(alive(after)).to.equal(true);
      // The same kubeconfig (server URL, certificates) reaches the new process.
      const kept = await rawGet(clients.kc, '/api/v1/namespaces/default/configmaps/kept');
      expect(kept.status, kept.body).to.equal(200);
    });

    // Runs after the restart: a 410 here also shows the restarted API server kept --watch-cache=false
    // (the watch cache would serve the old version from memory instead).
    it('compactEtcd makes a watch from an older resourceVersion end with 410 Gone', async () => {
      const clients = kubeClients(cp.kubeconfigPath);
      const created = await clients.core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'old' } } });
      const oldVersion = created.metadata!.resourceVersion!;
      const watchFrom = async (): Promise<{ type: string; code?: number }> =>
        new Promise((resolve, reject) => {
          let first: { type: string; code?: number } | undefined;
          void new Watch(clients.kc)
            .watch('/api/v1/namespaces/default/configmaps', { resourceVersion: oldVersion }, (type, obj: { code?: number }) => {
              first ??= { type, ...(type === 'ERROR' ? { code: obj.code } : {}) };
              resolve(first);
            }, (err) => (first ? resolve(first) : err ? reject(err as Error) : resolve({ type: 'closed' })))
            .then((req) => setTimeout(() => req.abort(), 10_000));
        });
      // Before compaction the watch replays from the old version (the ConfigMap made after it).
      await clients.core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'newer' } } });
      expect((await watchFrom()).type).to.equal('ADDED');
      // Compaction at revision R keeps R itself: one more write puts the watch's start (old + 1) below it.
      await clients.core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'newest' } } });
      const revision = await cp.compactEtcd();
      expect(revision).to.be.greaterThan(Number(oldVersion) + 1);
      expect(await watchFrom()).to.deep.equal({ type: 'ERROR', code: 410 });
    });
  });
});

