// The container image, built by `npm run image` (scripts/image.sh: buildah, no Docker engine; the
// real base images where a registry answers, local stand-ins from Debian and Node 24 where none
// does) and run by podman as Kubernetes runs it with the chart's securityContext: as the image's
// user (uid 65532), with a read-only root filesystem and no capabilities, the kubeconfig and the
// Azure CA mounted in. Against the test
// control plane and the Azure emulator (both on the host's network), a GalleryShare goes Ready,
// and everything the operator prints is a JSON line. Slow (a cold build assembles the stand-ins
// and runs npm ci): its own CI step (.ci/run), `npm run test:image`.
import { expect } from 'chai';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GROUP, VERSION } from '../../src/api/v1alpha1/index.js';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { start, type RunningEmulator } from '../azure-emulator/index.js';
import { ids, sampleSeed } from '../emulator/helpers.js';
import { createGallery, createOwnerSecret } from '../support/azure-fixtures.js';
import { freePort } from '../support/control-plane.js';
import { galleryShareManifest, waitForGalleryShare } from '../support/galleryshares.js';
import { createTestNamespace, deleteNamespace, kubeClients, kubectl, repoRoot, type KubeClients } from '../support/kube.js';
import { openssl } from '../support/openssl.js';

const execFileAsync = promisify(execFile);
const TAG = 'localhost/gallery-share-operator:image-test';

describe('the container image', function () {
  let dir: string;
  let storage: string;
  let buildLog = '';
  let extraCaGiven: string;
  // podman with this run's own storage; runc, because crun refuses the hybrid cgroup layout of
  // sandboxes such as this CI's (Kubernetes nodes run either).
  const podman = (args: string[], timeout = 120_000) =>
    execFileAsync('podman', ['--root', join(storage, 'root'), '--runroot', join(storage, 'run'), '--storage-driver', 'overlay', '--runtime', 'runc', '--cgroup-manager', 'cgroupfs', ...args], { timeout, maxBuffer: 64 << 20 });

  before(async function () {
    this.timeout(1_800_000); // a cold build: debootstrap, Node 24 and npm from the registry, npm ci
    dir = mkdtempSync(join(tmpdir(), 'gso-image-'));
    // Storage left by a run that was killed (its after() never ran): removed, so that a rerun
    // starts clean. Only old ones, so that a run in parallel keeps its own.
    for (const stale of readdirSync('/var/tmp').filter((d) => d.startsWith('gso-image-test.')).map((d) => join('/var/tmp', d))) {
      if (Date.now() - statSync(stale).mtimeMs > 3_600_000) await execFileAsync('bash', ['scripts/image.sh', '--storage', stale, '--clean'], { cwd: repoRoot });
    }
    storage = mkdtempSync('/var/tmp/gso-image-test.');
    // Behind a TLS-inspecting proxy (this CI is), npm ci needs its CA, which Node's own
    // NODE_EXTRA_CA_CERTS names; elsewhere a CA of our own shows the secret reaches npm ci.
    extraCaGiven = process.env.NODE_EXTRA_CA_CERTS && existsSync(process.env.NODE_EXTRA_CA_CERTS) ? process.env.NODE_EXTRA_CA_CERTS : join(dir, 'extra-ca.pem');
    if (!existsSync(extraCaGiven)) {
      await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'extra-ca.key', '-out', 'extra-ca.pem', '-subj', '/CN=gso-test-proxy-ca', '-days', '1'], dir, 'the image test');
    }
    const started = Date.now();
    const build = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('bash', ['scripts/image.sh', '--storage', storage, '--keep', '--tag', TAG, '--extra-ca', extraCaGiven], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('exit', (code) => resolve({ code, out }));
    });
    buildLog = build.out;
    for (const line of build.out.split('\n').filter((l) => l.startsWith('[image]') || l.startsWith('image '))) console.log(`  ${line}`);
    console.log(`  [image] npm run image took ${Math.round((Date.now() - started) / 1000)}s`);
    if (build.code !== 0) throw new Error(`scripts/image.sh failed (${build.code}):\n${build.out.slice(-6000)}`);
  });
  after(async function () {
    this.timeout(300_000);
    if (storage) await execFileAsync('bash', ['scripts/image.sh', '--storage', storage, '--clean'], { cwd: repoRoot });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is built from the Dockerfile with OCI labels, and its size printed', async () => {
    const size = /^image \S+: (\d+) bytes/m.exec(buildLog);
    expect(size, 'the size line').to.not.equal(null);
    const [inspected] = JSON.parse((await podman(['image', 'inspect', TAG])).stdout) as { Size: number; Labels: Record<string, string>; Config: { User: string; Entrypoint: string[] } }[];
    expect(inspected!.Size).to.equal(Number(size![1]));
    const revision = (await execFileAsync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot })).stdout.trim();
    const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
    expect(inspected!.Labels).to.include({
      'org.opencontainers.image.title': 'gallery-share-operator',
      'org.opencontainers.image.licenses': 'Apache-2.0',
      'org.opencontainers.image.version': version,
      'org.opencontainers.image.revision': revision,
    });
    expect(inspected!.Labels['org.opencontainers.image.source']).to.match(/^https:\/\//);
    expect(inspected!.Labels['org.opencontainers.image.description']).to.be.a('string').and.not.empty;
    expect(Date.now() - Date.parse(inspected!.Labels['org.opencontainers.image.created']!), 'created: this build').to.be.within(0, 3_600_000);
    expect(inspected!.Config.User).to.equal('65532:65532');
    expect(inspected!.Config.Entrypoint).to.deep.equal(['/nodejs/bin/node', '/app/dist/main.js']);
  });

  it('npm ci in the build trusts the extra CA given as a build secret, which is in no layer', async () => {
    const count = (readFileSync(extraCaGiven, 'utf8').match(/-----BEGIN CERTIFICATE-----/g) ?? []).length;
    expect(buildLog).to.include(`npm ci trusts ${count} extra CA certificate(s)`);
    const history = (await podman(['image', 'history', '--no-trunc', '--format', '{{.CreatedBy}}', TAG])).stdout;
    expect(history).not.to.include(readFileSync(extraCaGiven, 'utf8').split('\n')[1]!);
  });

  it('holds node and the bundle only: no source map, no npm, no Node headers, no shell', async () => {
    const root = (await podman(['image', 'mount', TAG])).stdout.trim();
    try {
      expect(readdirSync(join(root, 'app/dist'))).to.deep.equal(['main.js']);
      expect(existsSync(join(root, 'nodejs/bin/node'))).to.equal(true);
      for (const absent of ['usr/local/lib/node_modules', 'usr/local/bin/npm', 'nodejs/include', 'usr/local/include/node', 'bin/sh', 'usr/bin/sh', 'bin/bash', 'usr/bin/apt-get']) {
        expect(existsSync(join(root, absent)), absent).to.equal(false);
      }
    } finally {
      await podman(['image', 'unmount', TAG]);
    }
  });

  describe('run as uid 65532 with a read-only root filesystem', () => {
    let clients: KubeClients;
    let admin: KubeClient;
    let azure: RunningEmulator;
    let namespace: string;
    let container: ChildProcess | undefined;
    let output = '';
    const name = `gso-image-test-${randomBytes(3).toString('hex')}`;
    before(async () => {
      clients = kubeClients();
      admin = new KubeClient(clients.kc);
      azure = await start({ seed: sampleSeed() });
      namespace = await createTestNamespace(clients, 'image');
    });
    after(async function () {
      this.timeout(120_000);
      await podman(['rm', '--force', '--time', '0', name]).catch(() => undefined);
      container?.kill('SIGKILL');
      await deleteNamespace(clients, namespace);
      admin?.close();
      await azure?.stop();
    });

    it('brings a GalleryShare to Ready, logs JSON lines only and stops cleanly on SIGTERM', async function () {
      this.timeout(300_000);
      // Mounted in as a Secret and a ConfigMap would be: files the nonroot user can read.
      const kubeconfig = join(dir, 'kubeconfig');
      writeFileSync(kubeconfig, (await kubectl(['config', 'view', '--raw', '--flatten'])).stdout);
      const ca = join(dir, 'azure-ca.pem');
      copyFileSync(azure.caPath, ca);
      chmodSync(kubeconfig, 0o644);
      chmodSync(ca, 0o644);
      const port = await freePort();
      // The sandbox may not raise resource limits; podman would raise nofile and nproc.
      const nofile = (await execFileAsync('bash', ['-c', 'ulimit -Sn'])).stdout.trim();
      container = spawn('podman', [
        '--root', join(storage, 'root'), '--runroot', join(storage, 'run'), '--storage-driver', 'overlay', '--runtime', 'runc', '--cgroup-manager', 'cgroupfs',
        // The chart's securityContext: runAsNonRoot without a runAsUser (so the image's USER
        // decides, as here: no --user), a read-only root, no privilege escalation, no
        // capabilities, the runtime's default seccomp profile.
        'run', '--rm', '--name', name, '--network', 'host', '--read-only', '--security-opt', 'no-new-privileges', '--cap-drop', 'ALL',
        '--ulimit', `nofile=${nofile}:${nofile}`, '--ulimit', 'nproc=4096:4096',
        '-v', `${kubeconfig}:/etc/gallery-share-operator/kubeconfig:ro`, '-v', `${ca}:/etc/gallery-share-operator/ca/ca.crt:ro`,
        TAG,
        '--kubeconfig', '/etc/gallery-share-operator/kubeconfig',
        '--arm-endpoint', azure.armEndpoint, '--authority-host', azure.armEndpoint,
        '--azure-ca-file', '/etc/gallery-share-operator/ca/ca.crt',
        '--metrics-bind-address', `127.0.0.1:${port}`,
        '--watch-namespaces', namespace, '--leader-election-namespace', namespace,
      ], { stdio: ['ignore', 'pipe', 'pipe'] });
      container.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      container.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      const exited = new Promise<number | null>((resolve) => container!.once('exit', (code) => resolve(code)));
      const deadline = Date.now() + 120_000;
      while (!(await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok).catch(() => false))) {
        if (container.exitCode !== null) throw new Error(`the container exited (${container.exitCode}):\n${output}`);
        if (Date.now() > deadline) throw new Error(`the operator in the container was not ready:\n${output}`);
        await new Promise((r) => setTimeout(r, 200));
      }

      // What runs is the image's node, as uid 65532, on a read-only root, without capabilities.
      const pid = (await podman(['inspect', '--format', '{{.State.Pid}}', name])).stdout.trim();
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      expect(/^Uid:\s+(\d+)\s+(\d+)/m.exec(status)?.slice(1)).to.deep.equal(['65532', '65532']);
      expect(/^Gid:\s+(\d+)/m.exec(status)?.[1]).to.equal('65532');
      const rootMount = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').find((l) => l.split(' ')[4] === '/');
      expect(rootMount?.split(' ')[5]?.split(','), 'the root mount').to.include('ro');
      expect(/^CapEff:\s+(\w+)/m.exec(status)?.[1]).to.equal('0000000000000000');
      expect(/^NoNewPrivs:\s+(\d)/m.exec(status)?.[1]).to.equal('1');

      const galleryName = `gimg${randomBytes(4).toString('hex')}`;
      await createGallery(azure, galleryName, 'Groups');
      await createOwnerSecret(clients, namespace);
      await admin.create(`/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares`, galleryShareManifest('golden', galleryName, { permission: 'Groups', directShare: { tenants: [ids.fabrikam] } }));
      await waitForGalleryShare(admin, namespace, 'golden', undefined, { logs: () => output, timeoutMs: 60_000 });

      await podman(['stop', '--time', '30', name]);
      expect(await exited, output.slice(-3000)).to.equal(0);
      const lines = output.split('\n').filter((l) => l !== '');
      for (const line of lines) expect(() => JSON.parse(line) as unknown, `not a JSON line: ${line}`).not.to.throw();
      const messages = lines.map((l) => (JSON.parse(l) as { msg?: string }).msg);
      expect(messages).to.include.members(['starting', 'shutting down']);
    });
  });
});
