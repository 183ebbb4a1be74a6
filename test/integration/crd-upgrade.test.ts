// The operator refuses to start against CRDs older than itself: the API server would silently
// drop the status fields they lack (status.operation among them, and with it the record that keeps
// a restarted operator from starting an operation again). helm upgrade never updates CRDs, so
// this is what an upgrade that forgot them looks like.
import { expect } from 'chai';
import { crdName, GalleryShareKind } from '../../src/api/v1alpha1/index.js';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { start, type RunningEmulator } from '../azure-emulator/index.js';
import { sampleSeed } from '../emulator/helpers.js';
import { kubeClients, testKubeconfigPath } from '../support/kube.js';
import { startOperator } from '../support/operator-process.js';

describe('start-up check of the installed CRDs', () => {
  let azure: RunningEmulator;
  let client: KubeClient;
  const path = `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crdName(GalleryShareKind)}`;
  const operationField = '/spec/versions/0/schema/openAPIV3Schema/properties/status/properties/operation';
  let saved: unknown;

  before(async () => {
    azure = await start({ seed: sampleSeed() });
    client = new KubeClient(kubeClients().kc);
    const crd = await client.get<{ spec: { versions: { schema: { openAPIV3Schema: { properties: { status: { properties: Record<string, unknown> } } } } }[] } }>(path);
    saved = crd.spec.versions[0]!.schema.openAPIV3Schema.properties.status.properties['operation'];
    expect(saved, 'the installed CRD is current to begin with').not.to.equal(undefined);
  });
  after(async () => {
    // Put the field back whatever happened, for the test files that follow.
    const crd = await client.get<{ spec: { versions: { schema: { openAPIV3Schema: { properties: { status: { properties: Record<string, unknown> } } } } }[] } }>(path);
    if (!crd.spec.versions[0]!.schema.openAPIV3Schema.properties.status.properties['operation']) {
      await client.patch(path, [{ op: 'add', path: operationField, value: saved }], 'json');
    }
    client?.close();
    await azure?.stop();
  });

  it('stops with a message naming the missing fields and the CRD upgrade to do, and starts once the CRD is upgraded', async () => {
    await client.patch(path, [{ op: 'remove', path: operationField }], 'json');
    const options = { kubeconfig: testKubeconfigPath(), armEndpoint: azure.armEndpoint, caPath: azure.caPath, extraArgs: ['--leader-elect', 'false'] };
    const refused = await startOperator(options).then(
      async (operator) => {
        await operator.stop('SIGKILL');
        return undefined;
      },
      (err: Error) => err.message,
    );
    expect(refused, 'the operator refused to start').to.be.a('string');
    expect(refused).to.include('exited (2)').and.include(`${crdName(GalleryShareKind)} (v1alpha1) lacks status.operation`).and.include('kubectl apply --server-side -f crds/');
    // A log line like every other: JSON, level fatal.
    const output = refused!.slice(refused!.indexOf('\n') + 1).trim().split('\n');
    expect(output.map((line) => (JSON.parse(line) as { level: string }).level).at(-1)).to.equal('fatal');

    await client.patch(path, [{ op: 'add', path: operationField, value: saved }], 'json');
    const operator = await startOperator(options);
    await operator.stop();
  });
});
