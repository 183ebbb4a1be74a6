// The Helm chart for the chart tests: where it is, and helm template with its output parsed.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from './kube.js';
import { KUBERNETES_VERSION } from './versions.js';

const execFileAsync = promisify(execFile);

export const CHART = join(repoRoot, 'charts/gallery-share-operator');
/** The chart as released in 0.1.0 (CRDs in crds/), packaged by `helm package` from that tree. */
export const CHART_0_1_0 = join(repoRoot, 'test/fixtures/charts/gallery-share-operator-0.1.0.tgz');

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

export interface Container {
  name: string;
  image: string;
  args: string[];
  env: { name: string; value?: string }[];
  envFrom?: { secretRef: { name: string } }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  livenessProbe?: Record<string, unknown>;
  readinessProbe?: Record<string, unknown>;
}

export interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    serviceAccountName: string;
    automountServiceAccountToken?: boolean;
    terminationGracePeriodSeconds: number;
    priorityClassName?: string;
    containers: Container[];
    volumes?: ({ name: string } & Record<string, unknown>)[];
    topologySpreadConstraints?: Record<string, unknown>[];
  };
}

/** Runs helm (with the test kubeconfig when given); rejects with helm's stderr in the message. */
export async function runHelm(helm: string, args: string[], kubeconfig?: string): Promise<string> {
  try {
    return (await execFileAsync(helm, [...(kubeconfig ? ['--kubeconfig', kubeconfig] : []), ...args], { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`helm ${args.join(' ')}: ${e.stderr || e.message}`);
  }
}

/**
 * `helm template` of a chart with --set values; the YAML and the objects it holds. The `helm test`
 * hook's objects are left out unless withTests (test/integration/check-mode.test.ts covers them).
 */
export async function renderChart(helm: string, options: { chart?: string; release?: string; namespace?: string; sets?: string[]; setStrings?: string[]; withTests?: boolean } = {}): Promise<{ yaml: string; objects: K8sObject[] }> {
  const args = ['template', options.release ?? 'gso', options.chart ?? CHART, '-n', options.namespace ?? 'gso-system', '--kube-version', KUBERNETES_VERSION];
  if (!options.withTests) args.push('--skip-tests');
  for (const s of options.sets ?? []) args.push('--set', s);
  for (const s of options.setStrings ?? []) args.push('--set-string', s);
  const yaml = await runHelm(helm, args);
  const objects = parseAllDocuments(yaml).map((d) => d.toJS() as K8sObject).filter(Boolean);
  return { yaml, objects };
}

/** helm's error for a render that must fail. */
export async function renderError(helm: string, sets: string[], setStrings: string[] = []): Promise<string> {
  return renderChart(helm, { sets, setStrings }).then(
    () => {
      throw new Error(`rendering with ${[...sets, ...setStrings].join(' ')} succeeded; it must fail`);
    },
    (err: Error) => err.message,
  );
}

export const deploymentOf = (objects: K8sObject[]): K8sObject & { spec: { replicas: number; revisionHistoryLimit: number; strategy?: unknown; template: PodTemplate } } =>
  objects.find((o) => o.kind === 'Deployment') as never;
export const podOf = (objects: K8sObject[]): PodTemplate => deploymentOf(objects).spec.template;
export const envOf = (c: Container): Record<string, string> => Object.fromEntries(c.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
