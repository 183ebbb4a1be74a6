// The operator's output is JSON lines only, as log pipelines expect: the bundle the image runs,
// under this Node and under Node 24 (the image's; from the cache .ci/run fills, when present),
// prints no plain-text Node warning. Bundling moves library code out of node_modules, where Node
// prints some deprecations it keeps quiet for libraries (DEP0040 punycode and DEP0169 url.parse
// under Node 24, from node-fetch v2 under client-node); scripts/bundle.ts removes those causes,
// and any other process warning becomes a JSON line (src/process-warnings.ts). A fatal error
// is a JSON line too.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GROUP, VERSION } from '../../src/api/v1alpha1/index.js';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { bundleOperator } from '../../scripts/bundle.js';
import { start, type RunningEmulator } from '../azure-emulator/index.js';
import { ids, sampleSeed } from '../emulator/helpers.js';
import { createGallery, createOwnerSecret } from '../support/azure-fixtures.js';
import { galleryShareManifest, waitForGalleryShare } from '../support/galleryshares.js';
import { createTestNamespace, deleteNamespace, kubeClients, repoRoot, testKubeconfigPath, type KubeClients } from '../support/kube.js';
import { chartNodeOptions, startOperator, type OperatorProcess } from '../support/operator-process.js';
import { node24Binary } from '../support/versions.js';

const execFileAsync = promisify(execFile);

/** Each output line parsed; fails on the first line that is not a JSON object with a level. */
function jsonLines(output: string): { level: string; msg?: string; [key: string]: unknown }[] {
  return output
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        throw new Error(`not a JSON line: ${line}\nwhole output:\n${output.slice(-4000)}`);
      }
      expect(parsed, line).to.be.an('object').with.property('level').that.is.a('string');
      return parsed as { level: string; msg?: string };
    });
}

async function nodeVersion(node: string): Promise<string> {
  return (await execFileAsync(node, ['--version'])).stdout.trim();
}

// Under Node 24 from the cache (.ci/run's second run), that is the one binary, tested once.
const nodes = [process.execPath, ...(existsSync(node24Binary()) && realpathSync(node24Binary()) !== realpathSync(process.execPath) ? [node24Binary()] : [])];

describe('the operator logs JSON lines only', () => {
  let clients: KubeClients;
  let admin: KubeClient;
  let azure: RunningEmulator;
  let dir: string;
  const namespaces: string[] = [];
  before(async () => {
    clients = kubeClients();
    admin = new KubeClient(clients.kc);
    azure = await start({ seed: sampleSeed() });
    dir = mkdtempSync(join(tmpdir(), 'gso-json-logs-'));
  });
  after(async () => {
    for (const ns of namespaces) await deleteNamespace(clients, ns);
    admin?.close();
    await azure?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const node of nodes) {
    describe(`the bundle under ${node === process.execPath ? `this Node (${process.version})` : 'Node 24 from the cache'}`, () => {
      let operator: OperatorProcess | undefined;
      afterEach(async () => {
        await operator?.stop('SIGKILL');
        operator = undefined;
      });

      it('brings a GalleryShare to Ready and shuts down with nothing but JSON lines, a process warning among them', async () => {
        const version = await nodeVersion(node);
        const namespace = await createTestNamespace(clients, 'jsonlogs');
        namespaces.push(namespace);
        // A module preloaded with --require emits a process warning at the first TLS connection,
        // mid-run (after start-up has taken Node's own printer off): it must arrive as a JSON line.
        const probe = join(dir, 'warn-at-first-tls-connection.cjs');
        writeFileSync(probe, [
          "const tls = require('node:tls');",
          'const connect = tls.connect;',
          'let warned = false;',
          "tls.connect = function (...args) { if (!warned) { warned = true; process.emitWarning('the first TLS connection (the test\\'s probe)', 'ProbeWarning'); } return connect.apply(this, args); };",
          '',
        ].join('\n'));
        operator = await startOperator({
          node,
          kubeconfig: testKubeconfigPath(),
          armEndpoint: azure.armEndpoint,
          caPath: azure.caPath,
          extraArgs: ['--watch-namespaces', namespace, '--leader-election-namespace', namespace],
          nodeOptions: `${chartNodeOptions()} --require ${probe}`,
        });
        const galleryName = `gjson${namespace.replace(/[^a-z0-9]/g, '').slice(-12)}`;
        await createGallery(azure, galleryName, 'Groups');
        await createOwnerSecret(clients, namespace);
        await admin.create(`/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares`, galleryShareManifest('golden', galleryName, { permission: 'Groups', directShare: { tenants: [ids.fabrikam] } }));
        await waitForGalleryShare(admin, namespace, 'golden', undefined, { logs: () => operator!.logs() });
        expect(await operator.stop('SIGTERM'), version).to.equal(0);

        const lines = jsonLines(operator.logs());
        expect(lines.map((l) => l.msg), version).to.include.members(['starting', 'shutting down']);
        const warnings = lines.filter((l) => l.msg === 'node process warning');
        expect(warnings, `${version}: the probe's warning, as JSON`).to.have.length(1);
        expect(warnings[0]).to.deep.include({ level: 'warn' });
        expect(warnings[0]!.warning).to.deep.equal({ name: 'ProbeWarning', message: "the first TLS connection (the test's probe)" });
        expect(lines.filter((l) => l.msg === 'node process warning' && /Deprecation/.test(JSON.stringify(l.warning))), `${version}: no deprecation warning at all`).to.deep.equal([]);
      });

      it('reports a fatal error as a JSON line', async () => {
        const version = await nodeVersion(node);
        // An API server that is not there: the CRD check at start fails.
        const kubeconfig = join(dir, 'nowhere.kubeconfig');
        writeFileSync(kubeconfig, [
          'apiVersion: v1', 'kind: Config', 'current-context: nowhere',
          'clusters: [{name: nowhere, cluster: {server: "https://127.0.0.1:1"}}]',
          'users: [{name: nowhere, user: {token: not-a-secret}}]',
          'contexts: [{name: nowhere, context: {cluster: nowhere, user: nowhere}}]', '',
        ].join('\n'));
        const run = await execFileAsync(node, [await bundleOperator(), '--kubeconfig', kubeconfig, '--metrics-bind-address', '0'], { cwd: repoRoot, timeout: 60_000 }).then(
          () => ({ code: 0, out: '' }),
          (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, out: `${err.stdout}${err.stderr}` }),
        );
        expect(run.code, version).to.equal(1);
        const lines = jsonLines(run.out);
        expect(lines.at(-1), version).to.deep.include({ level: 'fatal', msg: 'gallery-share-operator failed' });
      });
    });
  }
});
