// Starts a real Kubernetes control plane on loopback: etcd, kube-apiserver and (optionally)
// kube-controller-manager, built from Go modules by build-control-plane.sh and cached by version.
// This is what controller-runtime's envtest does, without downloads: generated certificates,
// free ports, an admin kubeconfig, readiness checks, and a stop() that leaves no process behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { binaryCacheDir, ETCD_VERSION, KUBERNETES_VERSION } from './versions.js';
import { openssl as runOpenssl } from './openssl.js';

const here = dirname(fileURLToPath(import.meta.url));

export interface ControlPlaneOptions {
  /** Also run kube-controller-manager (namespace deletion, garbage collection, service account tokens). */
  controllerManager?: boolean;
  /** Called with one line per step, for people watching `npm run cluster`. */
  log?: (line: string) => void;
  /** More kube-apiserver flags (a test that needs, say, --watch-cache=false). */
  apiserverArgs?: string[];
}

export interface ControlPlane {
  /** https://127.0.0.1:<port> */
  server: string;
  /** http://127.0.0.1:<port>: etcd's client URL (its JSON gateway serves /v3/kv/...). */
  etcdUrl: string;
  /** Admin kubeconfig (system:masters). */
  kubeconfigPath: string;
  /** Directory with certificates, logs and etcd data; removed by stop(). */
  dir: string;
  /** Processes that are running, by component name (kept current by restartApiserver). */
  processes: ReadonlyMap<string, number>;
  /** Paths of the CA certificate and the admin client certificate and key. */
  certs: { ca: string; adminCert: string; adminKey: string; serviceAccountKey: string };
  /**
   * Stops kube-apiserver (SIGTERM, as an upgrade or a node drain does; SIGKILL after 10 s) and
   * starts it again with the same flags and port, resolving once /readyz answers 200. Clients see
   * refused connections meanwhile, and every watch ends.
   */
  restartApiserver(): Promise<void>;
  /**
   * Compacts etcd at its current revision (its JSON gateway: the revision from POST /v3/kv/range,
   * then POST /v3/kv/compaction), so that a watch resumed from an older resourceVersion gets 410
   * Gone, when the API server reads etcd directly (`apiserverArgs: ['--watch-cache=false']`).
   * Resolves to the revision compacted at.
   */
  compactEtcd(): Promise<number>;
  stop(): Promise<void>;
}

export interface Binaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
}

/** Builds the binaries once (several minutes cold) and returns their paths. */
export async function ensureBinaries(log: (line: string) => void = () => {}): Promise<Binaries> {
  const dir = binaryCacheDir();
  const binaries: Binaries = {
    etcd: join(dir, 'etcd'),
    kubeApiserver: join(dir, 'kube-apiserver'),
    kubeControllerManager: join(dir, 'kube-controller-manager'),
  };
  if ([binaries.etcd, binaries.kubeApiserver, binaries.kubeControllerManager].every((p) => existsSync(p))) return binaries;
  log(`building etcd ${ETCD_VERSION} and Kubernetes ${KUBERNETES_VERSION} from Go modules into ${dir} (first run only)`);
  await new Promise<void>((resolve, reject) => {
    const child = spawn('bash', [join(here, 'build-control-plane.sh'), KUBERNETES_VERSION, ETCD_VERSION, dir], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`building the control plane failed (exit ${code}); see the output above`)),
    );
  });
  return binaries;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const openssl = (args: string[], cwd: string) => runOpenssl(args, cwd, 'the test control plane (its certificates)');

/** A CA, an apiserver serving certificate for loopback, an admin client and a service-account key. */
async function makeCertificates(dir: string): Promise<ControlPlane['certs'] & { serverCert: string; serverKey: string; serviceAccountPub: string }> {
  const days = '3650';
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', days, '-subj', '/CN=gallery-share-operator-test-ca'], dir);
  const sign = async (name: string, subject: string, extensions: string) => {
    writeFileSync(join(dir, `${name}.ext`), extensions);
    await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
    await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', days, '-extfile', `${name}.ext`], dir);
  };
  await Promise.all([
    sign('server', '/CN=kube-apiserver', 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc,IP:10.0.0.1\nextendedKeyUsage=serverAuth\n'),
    sign('admin', '/O=system:masters/CN=admin', 'extendedKeyUsage=clientAuth\n'),
    openssl(['genrsa', '-out', 'sa.key', '2048'], dir),
  ]);
  await openssl(['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
  return {
    ca: join(dir, 'ca.crt'),
    adminCert: join(dir, 'admin.crt'),
    adminKey: join(dir, 'admin.key'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    serviceAccountKey: join(dir, 'sa.key'),
    serviceAccountPub: join(dir, 'sa.pub'),
  };
}

export function kubeconfigYaml(server: string, certs: ControlPlane['certs'], user = 'admin'): string {
  const b64 = (path: string) => readFileSync(path).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: test',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(certs.ca)}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    client-certificate-data: ${b64(certs.adminCert)}`,
    `    client-key-data: ${b64(certs.adminKey)}`,
    'contexts:',
    '- name: test',
    '  context:',
    '    cluster: test',
    `    user: ${user}`,
    'current-context: test',
    '',
  ].join('\n');
}

/**
 * Children are started under `setpriv --pdeathsig KILL`, so the kernel kills them if this process
 * dies without running stop() (SIGKILL, a crash): no orphan survives an interrupted test run.
 */
const useSetpriv = existsSync('/usr/bin/setpriv');

function startProcess(name: string, binary: string, args: string[], dir: string): ChildProcess {
  const logFile = join(dir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  const [command, commandArgs] = useSetpriv ? ['/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', binary, ...args]] : [binary, args];
  const child = spawn(command, commandArgs, { stdio: ['ignore', fd, fd], cwd: dir });
  closeSync(fd);
  return child;
}

function tail(path: string, lines = 30): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

interface ProbeTls { ca: string; cert: string; key: string }

/** GET url; resolves to the status code, or 0 when nothing answers yet. */
function probe(url: string, tls?: ProbeTls): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const options = tls ? { ca: readFileSync(tls.ca), cert: readFileSync(tls.cert), key: readFileSync(tls.key), timeout: 3000 } : { timeout: 3000 };
    const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before it was ready; last log lines:\n${tail(logFile)}`);
    }
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what} was not ready after ${timeoutMs / 1000}s; last log lines:\n${tail(logFile)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

const RUN_DIR_PREFIX = 'gso-control-plane-';

/** Removes run directories left by a control plane whose owner died without stop() (SIGKILL). */
function removeAbandonedRunDirs(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(RUN_DIR_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
    } catch {
      continue; // being created right now by another process, or not ours to judge
    }
    if (owner > 0 && isAlive(owner)) continue;
    rmSync(dir, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = options.log ?? (() => {});
  const binaries = await ensureBinaries(log);
  removeAbandonedRunDirs();
  const dir = mkdtempSync(join(tmpdir(), RUN_DIR_PREFIX));
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  const children: { name: string; child: ChildProcess }[] = [];
  let stopped = false;

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // Reverse order: the controller manager and the apiserver go before the etcd they depend on.
    for (const { child } of [...children].reverse()) await stopChild(child, 5000);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const certs = await makeCertificates(dir);
    const [etcdClientPort, etcdPeerPort, apiPort, kcmPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;

    const etcd = startProcess('etcd', binaries.etcd, [
      `--data-dir=${join(dir, 'etcd-data')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
      '--unsafe-no-fsync=true',
      '--quota-backend-bytes=4294967296',
    ], dir);
    children.push({ name: 'etcd', child: etcd });
    await waitFor('etcd', async () => (await probe(`${etcdUrl}/health`)).status === 200, 30_000, etcd, join(dir, 'etcd.log'));
    log(`etcd ${ETCD_VERSION} (pid ${etcd.pid}) on ${etcdUrl}`);

    const server = `https://127.0.0.1:${apiPort}`;
    const apiserverArgs = [
      `--etcd-servers=${etcdUrl}`,
      `--secure-port=${apiPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--authorization-mode=RBAC',
      `--service-account-issuer=${server}/`,
      `--service-account-key-file=${certs.serviceAccountPub}`,
      `--service-account-signing-key-file=${certs.serviceAccountKey}`,
      `--client-ca-file=${certs.ca}`,
      `--tls-cert-file=${certs.serverCert}`,
      `--tls-private-key-file=${certs.serverKey}`,
      '--allow-privileged=true',
      '--enable-priority-and-fairness=false',
      '--profiling=false',
      ...(options.controllerManager ? [] : ['--disable-admission-plugins=ServiceAccount']),
      ...(options.apiserverArgs ?? []),
    ];
    const apiserverEntry = { name: 'kube-apiserver', child: startProcess('kube-apiserver', binaries.kubeApiserver, apiserverArgs, dir) };
    children.push(apiserverEntry);
    const tls = { ca: certs.ca, cert: certs.adminCert, key: certs.adminKey };
    const apiserverReady = () =>
      waitFor(
        'kube-apiserver',
        async () => (await probe(`${server}/readyz`, tls)).status === 200 && (await probe(`${server}/api/v1/namespaces/default`, tls)).status === 200,
        120_000,
        apiserverEntry.child,
        join(dir, 'kube-apiserver.log'),
      );
    await apiserverReady();
    log(`kube-apiserver ${KUBERNETES_VERSION} (pid ${apiserverEntry.child.pid}) on ${server}`);

    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfigYaml(server, certs), { mode: 0o600 });

    if (options.controllerManager) {
      const kcm = startProcess('kube-controller-manager', binaries.kubeControllerManager, [
        `--kubeconfig=${kubeconfigPath}`,
        `--authentication-kubeconfig=${kubeconfigPath}`,
        `--authorization-kubeconfig=${kubeconfigPath}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${kcmPort}`,
        '--leader-elect=false',
        `--service-account-private-key-file=${certs.serviceAccountKey}`,
        `--root-ca-file=${certs.ca}`,
        `--cluster-signing-cert-file=${certs.ca}`,
        `--cluster-signing-key-file=${join(dir, 'ca.key')}`,
        '--controllers=*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller,-persistentvolume-binder,-attachdetach,-persistentvolume-expander',
      ], dir);
      children.push({ name: 'kube-controller-manager', child: kcm });
      // Its own serving certificate is self-signed, so readiness is judged by its work instead:
      // the service-account controller has created the default ServiceAccount.
      await waitFor(
        'kube-controller-manager',
        async () => (await probe(`${server}/api/v1/namespaces/default/serviceaccounts/default`, tls)).status === 200,
        90_000,
        kcm,
        join(dir, 'kube-controller-manager.log'),
      );
      log(`kube-controller-manager ${KUBERNETES_VERSION} (pid ${kcm.pid})`);
    }

    const processes = new Map(children.map(({ name, child }) => [name, child.pid ?? -1]));

    const restartApiserver = async () => {
      if (stopped) throw new Error('the control plane is stopped');
      await stopChild(apiserverEntry.child, 10_000);
      // Same flags, same port: clients keep their kubeconfig. The old process has exited, so the
      // port is free again (the listener closes with the process).
      apiserverEntry.child = startProcess('kube-apiserver', binaries.kubeApiserver, apiserverArgs, dir);
      processes.set('kube-apiserver', apiserverEntry.child.pid ?? -1);
      await apiserverReady();
      log(`kube-apiserver restarted (pid ${apiserverEntry.child.pid})`);
    };

    const compactEtcd = async () => {
      const post = async (path: string, body: unknown) => {
        const res = await fetch(`${etcdUrl}${path}`, { method: 'POST', body: JSON.stringify(body) });
        const text = await res.text();
        if (!res.ok) throw new Error(`etcd ${path}: ${res.status} ${text}`);
        return JSON.parse(text) as { header?: { revision?: string } };
      };
      // Any key does: the answer's header carries the store's current revision.
      const range = await post('/v3/kv/range', { key: Buffer.from('/registry').toString('base64'), limit: 1 });
      const revision = Number(range.header?.revision);
      if (!Number.isInteger(revision) || revision < 1) throw new Error(`etcd gave no revision: ${JSON.stringify(range)}`);
      await post('/v3/kv/compaction', { revision: String(revision), physical: true });
      log(`etcd compacted at revision ${revision}`);
      return revision;
    };

    return { server, etcdUrl, kubeconfigPath, dir, processes, certs, restartApiserver, compactEtcd, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
