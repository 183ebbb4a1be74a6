// The kustomize tree in kubebuilder's layout (config/default, config/manager, config/rbac,
// config/prometheus, and config/kustomization.yaml so that `kubectl kustomize config/` builds the
// same as config/default), generated so that it cannot drift from the operator or the chart:
//   - the roles are src/deploy/rbac.ts's rules, as the chart's;
//   - the manager's environment is every setting of src/config.ts at its default, so each one is
//     there to patch; the image, replicas, resources and NODE_OPTIONS are the chart's defaults
//     (values.yaml and Chart.yaml), read here rather than copied.
// Names are kubebuilder's (controller-manager, manager-role, ...) before config/default's
// namePrefix. kustomize rewrites names and namespaces in metadata, roleRefs and subjects but never
// in arguments, so nothing in the arguments names a namespace: the leader-election namespace
// comes from the downward API, and the Lease name is fixed (it lives in the operator's namespace).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { parseDuration, SETTINGS } from '../src/config.js';
import { CLUSTER_RULES, LEADER_ELECTION_RULES } from '../src/deploy/rbac.js';

export const KUSTOMIZE_NAMESPACE = 'gallery-share-operator-system';
export const KUSTOMIZE_NAME_PREFIX = 'gallery-share-operator-';
/** The image name the manager names and config/default replaces (`images:`), as kubebuilder's `controller`. */
export const IMAGE_PLACEHOLDER = 'controller';
const METRICS_PORT = 8080;
/** How much longer than the shutdown timeout the kubelet waits before SIGKILL: time to close watches and flush logs. */
const GRACE_MARGIN_SECONDS = 15;

const LABELS = { 'app.kubernetes.io/name': 'gallery-share-operator', 'app.kubernetes.io/managed-by': 'kustomize' };
const SELECTOR = { 'control-plane': 'controller-manager', 'app.kubernetes.io/name': 'gallery-share-operator' };

interface ChartDefaults {
  repository: string;
  appVersion: string;
  replicas: number;
  resources: unknown;
  nodeOptions: string;
}

function chartDefaults(repositoryRoot: string): ChartDefaults {
  const chart = join(repositoryRoot, 'charts', 'gallery-share-operator');
  const values = parse(readFileSync(join(chart, 'values.yaml'), 'utf8')) as { image?: { repository?: string }; replicas?: number; resources?: unknown; nodeOptions?: string };
  const meta = parse(readFileSync(join(chart, 'Chart.yaml'), 'utf8')) as { appVersion?: string };
  const missing = (what: string): never => {
    throw new Error(`kustomize-files: the chart has no ${what}; the kustomize manager takes its defaults from the chart`);
  };
  return {
    repository: values.image?.repository ?? missing('values.yaml image.repository'),
    appVersion: meta.appVersion ?? missing('Chart.yaml appVersion'),
    replicas: values.replicas ?? missing('values.yaml replicas'),
    resources: values.resources ?? missing('values.yaml resources'),
    nodeOptions: values.nodeOptions ?? missing('values.yaml nodeOptions'),
  };
}

type SettingKey = keyof typeof SETTINGS;
/** Settings given as arguments rather than variables (the probes use the metrics port). */
const ARGUMENTS: Partial<Record<SettingKey, string>> = { metricsBindAddress: `:${METRICS_PORT}`, leaderElectionId: 'gallery-share-operator' };
/** Settings left out of the environment: no in-cluster meaning, or from the downward API. */
const NOT_VARIABLES: SettingKey[] = ['kubeconfig', 'azureCaFile', 'leaderElectionNamespace'];
/** Defaults that the table words for people ("(all)"), as the variable says them. */
const VARIABLE_DEFAULTS: Partial<Record<SettingKey, string>> = { watchNamespaces: '' };

/** The manager's environment: every setting at its default, and the Lease's namespace from the pod. */
export function managerEnvironment(): { name: string; value?: string; valueFrom?: unknown }[] {
  const env: { name: string; value?: string; valueFrom?: unknown }[] = [];
  for (const [key, setting] of Object.entries(SETTINGS) as [SettingKey, (typeof SETTINGS)[SettingKey]][]) {
    if (key in ARGUMENTS || NOT_VARIABLES.includes(key)) continue;
    const value = VARIABLE_DEFAULTS[key] ?? setting.default;
    if (value.startsWith('(')) throw new Error(`kustomize-files: ${setting.env} has no literal default (${value}); say what the manager sets`);
    env.push({ name: setting.env, value });
  }
  env.push({ name: SETTINGS.leaderElectionNamespace.env, valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } });
  return env;
}

/** config/**: path relative to the repository, and content (each file starts with `header`). */
export function kustomizeFiles(repositoryRoot: string, header: string): Map<string, string> {
  // No YAML aliases: the label maps are shared between objects here, and kustomize wants plain YAML.
  const yaml = (doc: unknown) => stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false });
  const render = (...docs: unknown[]) => header + docs.map(yaml).join('---\n');
  const chart = chartDefaults(repositoryRoot);
  const files = new Map<string, string>();
  const kustomization = (body: Record<string, unknown>) => render({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', ...body });
  const rbac = 'rbac.authorization.k8s.io';
  const serviceAccount = { kind: 'ServiceAccount', name: 'controller-manager', namespace: 'system' };

  // config/rbac: the roles (also read by the tests of the chart and of least privilege), the
  // ServiceAccount, and the bindings.
  files.set(join('config', 'rbac', 'role.yaml'), render({ apiVersion: `${rbac}/v1`, kind: 'ClusterRole', metadata: { name: 'manager-role', labels: LABELS }, rules: CLUSTER_RULES }));
  files.set(join('config', 'rbac', 'leader-election-role.yaml'), render({ apiVersion: `${rbac}/v1`, kind: 'Role', metadata: { name: 'leader-election-role', namespace: 'system', labels: LABELS }, rules: LEADER_ELECTION_RULES }));
  files.set(join('config', 'rbac', 'service_account.yaml'), render({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: serviceAccount.name, namespace: serviceAccount.namespace, labels: LABELS } }));
  files.set(join('config', 'rbac', 'role_binding.yaml'), render({
    apiVersion: `${rbac}/v1`, kind: 'ClusterRoleBinding', metadata: { name: 'manager-rolebinding', labels: LABELS },
    roleRef: { apiGroup: rbac, kind: 'ClusterRole', name: 'manager-role' }, subjects: [serviceAccount],
  }));
  files.set(join('config', 'rbac', 'leader_election_role_binding.yaml'), render({
    apiVersion: `${rbac}/v1`, kind: 'RoleBinding', metadata: { name: 'leader-election-rolebinding', namespace: 'system', labels: LABELS },
    roleRef: { apiGroup: rbac, kind: 'Role', name: 'leader-election-role' }, subjects: [serviceAccount],
  }));
  files.set(join('config', 'rbac', 'kustomization.yaml'), kustomization({ resources: ['service_account.yaml', 'role.yaml', 'role_binding.yaml', 'leader-election-role.yaml', 'leader_election_role_binding.yaml'] }));

  // config/manager: the namespace and the Deployment, as the chart's defaults run it.
  const shutdownSeconds = parseDuration(SETTINGS.shutdownTimeout.default)! / 1000;
  const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'system', labels: { ...LABELS, 'control-plane': 'controller-manager' } } };
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'controller-manager', namespace: 'system', labels: { ...LABELS, ...SELECTOR } },
    spec: {
      replicas: chart.replicas,
      selector: { matchLabels: SELECTOR },
      template: {
        metadata: { labels: { ...LABELS, ...SELECTOR }, annotations: { 'kubectl.kubernetes.io/default-container': 'manager' } },
        spec: {
          serviceAccountName: serviceAccount.name,
          securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
          terminationGracePeriodSeconds: shutdownSeconds + GRACE_MARGIN_SECONDS,
          containers: [{
            name: 'manager',
            image: `${IMAGE_PLACEHOLDER}:latest`,
            imagePullPolicy: 'IfNotPresent',
            args: (Object.entries(ARGUMENTS) as [SettingKey, string][]).map(([key, value]) => `${SETTINGS[key].flag}=${value}`),
            env: [...(chart.nodeOptions ? [{ name: 'NODE_OPTIONS', value: chart.nodeOptions }] : []), ...managerEnvironment()],
            ports: [{ name: 'metrics', containerPort: METRICS_PORT }],
            livenessProbe: { httpGet: { path: '/healthz', port: 'metrics' }, periodSeconds: 20 },
            readinessProbe: { httpGet: { path: '/readyz', port: 'metrics' }, periodSeconds: 10 },
            resources: chart.resources,
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          }],
        },
      },
    },
  };
  files.set(join('config', 'manager', 'manager.yaml'), render(namespace, deployment));
  files.set(join('config', 'manager', 'kustomization.yaml'), kustomization({ resources: ['manager.yaml'] }));

  // config/prometheus: a ServiceMonitor for the metrics Service (needs the Prometheus Operator's CRDs).
  files.set(join('config', 'prometheus', 'monitor.yaml'), render({
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: 'controller-manager-metrics-monitor', namespace: 'system', labels: { ...LABELS, ...SELECTOR } },
    spec: { endpoints: [{ path: '/metrics', port: 'metrics', scheme: 'http' }], selector: { matchLabels: SELECTOR } },
  }));
  files.set(join('config', 'prometheus', 'kustomization.yaml'), kustomization({ resources: ['monitor.yaml'] }));

  // config/default: everything together, in one namespace, with one prefix and the released image.
  // The Service's name is short (not kubebuilder's controller-manager-metrics-service): a Service
  // name is a DNS label of at most 63 characters, and overlays add prefixes of their own.
  files.set(join('config', 'default', 'metrics_service.yaml'), render({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'metrics', namespace: 'system', labels: { ...LABELS, ...SELECTOR } },
    spec: { selector: SELECTOR, ports: [{ name: 'metrics', port: METRICS_PORT, protocol: 'TCP', targetPort: 'metrics' }] },
  }));
  files.set(join('config', 'default', 'kustomization.yaml'), [
    header.trimEnd(),
    '# Install: kubectl apply --server-side -k config/default',
    '# Adjust in an overlay of your own (resources: [<this directory>]) rather than here.',
    'apiVersion: kustomize.config.k8s.io/v1beta1',
    'kind: Kustomization',
    '# Every object goes into this namespace (the leader-election Lease too: the operator reads',
    '# its namespace from the downward API) and every name gets this prefix.',
    `namespace: ${KUSTOMIZE_NAMESPACE}`,
    `namePrefix: ${KUSTOMIZE_NAME_PREFIX}`,
    'resources:',
    '  - ../crd',
    '  - ../rbac',
    '  - ../manager',
    '  - metrics_service.yaml',
    '  # [PROMETHEUS] a ServiceMonitor for the metrics Service; needs the Prometheus Operator\'s CRDs.',
    '  #- ../prometheus',
    '# The released image (the chart\'s image and appVersion). A mirror or another version: in an',
    `# overlay, images: [{name: ${chart.repository}, newName: ..., newTag: ...}].`,
    'images:',
    `  - name: ${IMAGE_PLACEHOLDER}`,
    `    newName: ${chart.repository}`,
    `    newTag: "${chart.appVersion}"`,
    '',
  ].join('\n'));

  // `kubectl kustomize config/` builds the same as config/default (the samples are not installed).
  files.set(join('config', 'kustomization.yaml'), kustomization({ resources: ['default'] }));
  return files;
}

/** Directories of config/ that hold only files kustomizeFiles writes. */
export const KUSTOMIZE_GENERATED_DIRS = [join('config', 'rbac'), join('config', 'manager'), join('config', 'default'), join('config', 'prometheus')];
