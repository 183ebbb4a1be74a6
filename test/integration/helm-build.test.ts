// The helm the tests build is linked as helm's own Makefile links it: without --kube-version it
// assumes the Kubernetes version of the client-go it was built with, not 1.20, so the chart (whose
// kubeVersion asks for 1.30 or newer) renders, as it does with a released helm.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureHelm } from '../support/helm.js';
import { repoRoot } from '../support/kube.js';

const execFileAsync = promisify(execFile);

describe('the helm the tests build', function () {
  let helm: string;
  let dir: string;
  before(async function () {
    this.timeout(900_000); // building helm the first time
    helm = await ensureHelm((line) => console.log(`  [helm] ${line}`));
    dir = mkdtempSync(join(tmpdir(), 'gso-helm-build-'));
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('renders the chart without --kube-version', async () => {
    const { stdout } = await execFileAsync(helm, ['template', 'gso', join(repoRoot, 'charts/gallery-share-operator')], { timeout: 60_000 });
    expect(stdout).to.include('kind: Deployment');
  });

  it('assumes the Kubernetes version of its client-go (v0.37 → v1.37.0), as a released helm does', async () => {
    const chart = join(dir, 'probe');
    mkdirSync(join(chart, 'templates'), { recursive: true });
    writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: probe\nversion: 0.0.1\n');
    writeFileSync(join(chart, 'templates/cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: probe }\ndata: { kube: {{ .Capabilities.KubeVersion.Version | quote }} }\n');
    const { stdout } = await execFileAsync(helm, ['template', 'probe', chart], { timeout: 60_000 });
    expect(stdout).to.include('kube: "v1.37.0"');
  });
});
