// Kubernetes helpers for integration tests: clients for the shared test control plane, one
// namespace per test, CRD installation, raw requests, and kubectl with the test kubeconfig.
import * as k8s from '@kubernetes/client-node';
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { GROUP, VERSION } from '../../src/api/v1alpha1/index.js';

const execFileAsync = promisify(execFile);
export const repoRoot = join(import.meta.dirname, '..', '..');

export function testKubeconfigPath(): string {
  const path = process.env.GSO_TEST_KUBECONFIG;
  if (!path) throw new Error('GSO_TEST_KUBECONFIG is not set: integration tests run through `npm run test:integration`, which starts the control plane');
  return path;
}

export interface KubeClients {
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  custom: k8s.CustomObjectsApi;
  apiext: k8s.ApiextensionsV1Api;
}

export function kubeClients(kubeconfigPath = testKubeconfigPath()): KubeClients {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return {
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
    apiext: kc.makeApiClient(k8s.ApiextensionsV1Api),
  };
}

/** A fresh namespace for one test, so tests never see each other's objects. */
export async function createTestNamespace(clients: KubeClients, prefix = 'test'): Promise<string> {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  await clients.core.createNamespace({ body: { metadata: { name, labels: { 'galleryshare.io/test': 'true' } } } });
  return name;
}

export async function deleteNamespace(clients: KubeClients, name: string): Promise<void> {
  await clients.core.deleteNamespace({ name }).catch(() => undefined);
}

export function loadYamlDocuments(path: string): Record<string, unknown>[] {
  return parseAllDocuments(readFileSync(path, 'utf8'))
    .map((d) => d.toJS() as Record<string, unknown> | null)
    .filter((d): d is Record<string, unknown> => d !== null);
}

/** The generated CRDs, as the chart and kustomize ship them. */
export function crdDocuments(): k8s.V1CustomResourceDefinition[] {
  const dir = join(repoRoot, 'crds');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => loadYamlDocuments(join(dir, f))) as unknown as k8s.V1CustomResourceDefinition[];
}

/** Creates or replaces the CRDs and waits until they are Established and served by discovery. */
export async function installCrds(clients: KubeClients): Promise<void> {
  // Server-side apply with raw JSON: client-node's typed serializer knows JSONSchemaProps'
  // `default` only as `_default` and would silently drop every default from the schemas.
  for (const crd of crdDocuments()) {
    const res = await rawRequest(
      clients.kc,
      'PATCH',
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata!.name!}?fieldManager=gallery-share-tests&force=true`,
      crd,
      { 'content-type': 'application/apply-patch+yaml' },
    );
    if (res.status !== 200 && res.status !== 201) throw new Error(`applying CRD ${crd.metadata!.name}: ${res.status} ${res.body}`);
  }
  const deadline = Date.now() + 60_000;
  for (const crd of crdDocuments()) {
    for (;;) {
      const current = await clients.apiext.readCustomResourceDefinition({ name: crd.metadata!.name! });
      const established = current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
      if (established) break;
      if (Date.now() > deadline) throw new Error(`CRD ${crd.metadata!.name} was not Established within 60s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  for (;;) {
    const discovery = await rawGet(clients.kc, `/apis/${GROUP}/${VERSION}`).catch(() => ({ status: 0, body: '' }));
    if (discovery.status === 200) {
      const names = (JSON.parse(discovery.body) as { resources: { name: string }[] }).resources.map((r) => r.name);
      if (crdDocuments().every((c) => names.includes(c.spec.names.plural))) break;
    }
    if (Date.now() > deadline) throw new Error('the CRDs did not appear in discovery within 60s');
    await new Promise((r) => setTimeout(r, 100));
  }
  // Discovery lists a CRD before its storage is ready (a LIST answers 429 "storage is
  // (re)initializing" for a moment), so wait until every kind can be listed.
  for (const crd of crdDocuments()) {
    for (;;) {
      const list = await rawGet(clients.kc, `/apis/${GROUP}/${VERSION}/${crd.spec.names.plural}`);
      if (list.status === 200) break;
      if (Date.now() > deadline) throw new Error(`listing ${crd.spec.names.plural} still fails after 60s: ${list.body}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** A raw request through the kubeconfig's TLS and credentials, for what the typed clients hide. */
export async function rawRequest(
  kc: k8s.KubeConfig,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const opts: import('node:https').RequestOptions = { method, headers: { accept: 'application/json', ...headers } };
  await kc.applyToHTTPSOptions(opts);
  const { request } = await import('node:https');
  const url = new URL(path, cluster.server);
  return new Promise((resolve, reject) => {
    const req = request(url, opts, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on('error', reject);
    if (body !== undefined) {
      req.setHeader('content-type', headers['content-type'] ?? 'application/json');
      req.write(typeof body === 'string' ? body : JSON.stringify(body));
    }
    req.end();
  });
}

export const rawGet = (kc: k8s.KubeConfig, path: string, headers: Record<string, string> = {}) => rawRequest(kc, 'GET', path, undefined, headers);

/** Runs the machine's kubectl against the test control plane. */
export async function kubectl(args: string[], kubeconfigPath = testKubeconfigPath()): Promise<{ stdout: string; stderr: string }> {
  return execFileAsync('kubectl', ['--kubeconfig', kubeconfigPath, ...args], { timeout: 60_000 });
}

/** The collection path of a kind in a namespace. */
export function collectionPath(namespace: string, plural: string): string {
  return `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${plural}`;
}

/**
 * A kubeconfig (written into dir) that authenticates as a ServiceAccount with a real token from
 * the TokenRequest API, to run the operator with exactly the RBAC it is given.
 */
export async function serviceAccountKubeconfig(clients: KubeClients, namespace: string, serviceAccount: string, dir: string): Promise<string> {
  const token = await clients.core.createNamespacedServiceAccountToken({ namespace, name: serviceAccount, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  const cluster = clients.kc.getCurrentCluster()!;
  const path = join(dir, `${serviceAccount}.kubeconfig`);
  writeFileSync(
    path,
    [
      'apiVersion: v1', 'kind: Config',
      `clusters: [{name: test, cluster: {server: "${cluster.server}", certificate-authority-data: "${cluster.caData}"}}]`,
      `users: [{name: ${serviceAccount}, user: {token: "${token.status!.token}"}}]`,
      `contexts: [{name: test, context: {cluster: test, user: ${serviceAccount}}}]`, 'current-context: test', '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return path;
}
