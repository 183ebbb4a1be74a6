// Every setting of the operator, in one table: its flag, its environment variable, its default,
// how it is parsed and what it means. Flags win over environment variables; node:util's parseArgs
// reads the flags, its options generated from the table. A bad value stops start-up with a
// message that names the setting. `--help` prints the table (the README's table is the same list).
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { BUILT_IN_ROLE_NAMES, BUILT_IN_ROLES } from './api/v1alpha1/roles.js';
import { UUID } from './api/v1alpha1/schema-kit.js';
import { proxyFromEnvironment, type AzureProxy } from './azure/proxy.js';
import { roleGuid } from './azure/roles.js';
import type { PacingBudgets } from './azure/pacing.js';
import type { Budget } from './azure/token-bucket.js';
import type { Policy } from './controllers/shared/policy.js';
import { parseLabelSelector } from './runtime/label-selector.js';
import { leaderElectionTimingsProblem, type LeaderElectionTimings } from './runtime/leader-election.js';


export interface OperatorConfig {
  kubeconfig?: string;
  watchNamespaces: string[];
  /** The label selector of this shard's objects (as the API server takes it); empty: every object. */
  watchLabelSelector: string;
  /** Hash-range sharding: the number of namespace hash ranges (and range Leases); 0: off. */
  shardCount: number;
  armEndpoint: string;
  authorityHost: string;
  azureCaFile?: string;
  /** The HTTPS proxy for Azure traffic, from HTTPS_PROXY and NO_PROXY (environment only). */
  azureProxy?: AzureProxy;
  /** The client-side buckets ARM requests are paced with; undefined when pacing is off. */
  armPacing?: PacingBudgets;
  workers: number;
  resyncIntervalMs: number;
  /** How long one reconcile may take before its calls are abandoned and the object retried. */
  reconcileTimeoutMs: number;
  leaderElect: boolean;
  leaderElectionId: string;
  leaderElectionNamespace: string;
  /** Leader election timings, valid together as client-go requires (see leaderElectionTimingsProblem). */
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  metricsBindAddress: string;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  shutdownTimeoutMs: number;
  policy: Policy;
  /** How soon a TenantGrant whose certificate expires within this many days warns (0: never). */
  credentialExpiryWarningDays: number;
  /** The first and the longest wait between two checks of consent or target access. */
  consentRecheck: { initialMs: number; maxMs: number };
  /** The operator's own Azure identity, as its variables make it (checked, not yet created). */
  identity: IdentityKind;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

interface Setting {
  flag: string;
  env: string;
  default: string;
  description: string;
}

const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** The settings, in the order `--help` and the README list them. */
export const SETTINGS = {
  kubeconfig: { flag: '--kubeconfig', env: 'KUBECONFIG', default: '(in-cluster)', description: 'Kubeconfig file; without it the in-cluster service account is used.' },
  watchNamespaces: { flag: '--watch-namespaces', env: 'WATCH_NAMESPACES', default: '(all)', description: 'Comma-separated namespaces to watch; empty watches all namespaces.' },
  watchLabelSelector: { flag: '--watch-label-selector', env: 'WATCH_LABEL_SELECTOR', default: '(all)', description: 'Kubernetes label selector of the objects this process reconciles (a shard), such as galleryshare.io/shard=shard1, or !galleryshare.io/shard for the default shard; empty reconciles every object.' },
  shardCount: { flag: '--shard-count', env: 'SHARD_COUNT', default: '0', description: 'Hash-range sharding (alpha): replicas split the hash of the namespaces into this many ranges, each held through its own Lease (<leader-election-id>-shard-<k>-of-<n>) and reconciled by its holder alone; run at least this many replicas. Asks the API server for the range with KEP-5866 shardSelector and always filters by itself too. 0 (off) to 64; needs leader election.' },
  armEndpoint: { flag: '--arm-endpoint', env: 'AZURE_RESOURCE_MANAGER_ENDPOINT', default: 'https://management.azure.com', description: 'Azure Resource Manager endpoint (sovereign clouds, the emulator). https only.' },
  authorityHost: { flag: '--authority-host', env: 'AZURE_AUTHORITY_HOST', default: 'https://login.microsoftonline.com', description: 'Microsoft Entra authority host. https only.' },
  azureCaFile: { flag: '--azure-ca-file', env: 'AZURE_CA_FILE', default: '(system CAs)', description: 'Extra PEM CA bundle trusted for Azure and Entra endpoints (added to the system CAs).' },
  armPacing: { flag: '--arm-pacing', env: 'ARM_PACING', default: 'true', description: "Pace ARM requests in the operator with token buckets like ARM's own (per subscription, credential and kind), so that a bulk import is not answered with 429s (true/false). Retry-After is honoured either way." },
  armReadBudget: { flag: '--arm-read-budget', env: 'ARM_READ_BUDGET', default: '200/20', description: "The bucket for ARM reads (GET, HEAD): SIZE/REFILL, requests and requests per second, whole numbers (size 1-10000, refill 1-1000). ARM's own is 250/25." },
  armWriteBudget: { flag: '--arm-write-budget', env: 'ARM_WRITE_BUDGET', default: '160/8', description: "The bucket for ARM writes (PUT, PATCH, POST), as SIZE/REFILL. ARM's own is 200/10." },
  armDeleteBudget: { flag: '--arm-delete-budget', env: 'ARM_DELETE_BUDGET', default: '160/8', description: "The bucket for ARM deletes, as SIZE/REFILL. ARM's own is 200/10." },
  workers: { flag: '--workers', env: 'WORKERS', default: '10', description: 'Concurrent reconciles per controller (1-200).' },
  resyncInterval: { flag: '--resync-interval', env: 'RESYNC_INTERVAL', default: '10m', description: 'How often each object is compared with Azure when nothing changed (with ±10% jitter); 1s to 24h (below a few minutes only for tests: each resync costs ARM reads).' },
  reconcileTimeout: { flag: '--reconcile-timeout', env: 'RECONCILE_TIMEOUT', default: '1m', description: 'How long one reconcile may take; its Azure and Kubernetes calls are abandoned after it, and the object is retried with backoff. 1s to 1h.' },
  leaderElect: { flag: '--leader-elect', env: 'LEADER_ELECT', default: 'true', description: 'Elect a leader on a Lease so that only one replica reconciles (true/false).' },
  leaderElectionId: { flag: '--leader-election-id', env: 'LEADER_ELECTION_ID', default: 'gallery-share-operator', description: 'Name of the leader-election Lease.' },
  leaderElectionNamespace: { flag: '--leader-election-namespace', env: 'LEADER_ELECTION_NAMESPACE', default: "(the pod's namespace, else default)", description: 'Namespace of the leader-election Lease.' },
  leaderElectionLeaseDuration: { flag: '--leader-election-lease-duration', env: 'LEADER_ELECTION_LEASE_DURATION', default: '15s', description: 'How long a standby waits after it last saw the leader renew the Lease before it takes the Lease over; 1s to 10m, longer than the renew deadline.' },
  leaderElectionRenewDeadline: { flag: '--leader-election-renew-deadline', env: 'LEADER_ELECTION_RENEW_DEADLINE', default: '10s', description: 'How long the leader keeps trying to renew the Lease before it gives leadership up and exits; 100ms to 10m, longer than 1.2 × the retry period.' },
  leaderElectionRetryPeriod: { flag: '--leader-election-retry-period', env: 'LEADER_ELECTION_RETRY_PERIOD', default: '2s', description: 'How often the leader renews the Lease and a standby tries to take it (a standby waits up to 1.2 retry periods more, at random); 100ms to 10m.' },
  metricsBindAddress: { flag: '--metrics-bind-address', env: 'METRICS_BIND_ADDRESS', default: ':8080', description: 'host:port serving /metrics, /healthz and /readyz; "0" turns it off.' },
  logLevel: { flag: '--log-level', env: 'LOG_LEVEL', default: 'info', description: 'trace, debug, info, warn, error or fatal. Logs are JSON lines.' },
  shutdownTimeout: { flag: '--shutdown-timeout', env: 'SHUTDOWN_TIMEOUT', default: '30s', description: 'On SIGTERM, how long in-flight reconciles may finish before the process exits.' },
  allowedShareSubscriptions: { flag: '--allowed-share-subscriptions', env: 'ALLOWED_SHARE_SUBSCRIPTIONS', default: '*', description: 'Policy: comma-separated subscription ids direct sharing may target, or * for any.' },
  allowedShareTenants: { flag: '--allowed-share-tenants', env: 'ALLOWED_SHARE_TENANTS', default: '*', description: 'Policy: comma-separated tenant ids direct sharing may target, or * for any.' },
  allowCommunitySharing: { flag: '--allow-community-sharing', env: 'ALLOW_COMMUNITY_SHARING', default: 'false', description: 'Policy: whether GalleryShares may publish galleries to the community (everyone).' },
  allowedGrantSourceRoles: { flag: '--allowed-grant-source-roles', env: 'ALLOWED_GRANT_SOURCE_ROLES', default: 'Reader,Compute Gallery Image Reader', description: 'Policy: comma-separated roles (built-in names or role-definition GUIDs) a TenantGrant may give its app on the gallery, or * for any.' },
  allowedGrantTargetRoles: { flag: '--allowed-grant-target-roles', env: 'ALLOWED_GRANT_TARGET_ROLES', default: 'Contributor', description: 'Policy: comma-separated roles a TenantGrant may give its app on the target resource group, or * for any.' },
  allowedGrantTargetTenants: { flag: '--allowed-grant-target-tenants', env: 'ALLOWED_GRANT_TARGET_TENANTS', default: '*', description: 'Policy: comma-separated tenant ids a TenantGrant may grant access to, or * for any.' },
  requireObjectCredentials: { flag: '--require-object-credentials', env: 'REQUIRE_OBJECT_CREDENTIALS', default: 'false', description: "Policy: when true, TenantGrants and SharedImageVMs may not act with the operator's own identity: they must name their own credentials." },
  credentialExpiryWarningDays: { flag: '--credential-expiry-warning-days', env: 'CREDENTIAL_EXPIRY_WARNING_DAYS', default: '30', description: 'A TenantGrant whose app certificate expires within this many days says so (condition reason and Warning event); 0 turns it off.' },
  consentRecheckInitial: { flag: '--consent-recheck-initial', env: 'CONSENT_RECHECK_INITIAL', default: '30s', description: 'How soon a TenantGrant waiting for consent or for the target role checks again by itself; each later check waits twice as long (±10%).' },
  consentRecheckMax: { flag: '--consent-recheck-max', env: 'CONSENT_RECHECK_MAX', default: '5m', description: 'The longest wait between two such checks.' },
} satisfies Record<string, Setting>;

/**
 * The operator's own Azure identity, for objects without azureCredentialsRef: @azure/identity's
 * standard variables, never flags (a secret on a command line is visible to every process).
 * Which identity they make: workload identity when a token file is given, else a client secret or
 * certificate, else managed identity (with AZURE_CLIENT_ID: the user-assigned one).
 */
export const IDENTITY_VARIABLES = {
  tenantId: { env: 'AZURE_TENANT_ID', description: "Tenant of the operator's own identity (a UUID)." },
  clientId: { env: 'AZURE_CLIENT_ID', description: "Application (client) id of the operator's own identity, or of a user-assigned managed identity (a UUID)." },
  clientSecret: { env: 'AZURE_CLIENT_SECRET', description: 'Client secret of that application (with AZURE_TENANT_ID and AZURE_CLIENT_ID).' },
  certificatePath: { env: 'AZURE_CLIENT_CERTIFICATE_PATH', description: 'PEM file with the certificate and private key of that application, instead of a secret.' },
  federatedTokenFile: { env: 'AZURE_FEDERATED_TOKEN_FILE', description: 'Workload identity token file (set by the AKS webhook, with AZURE_TENANT_ID and AZURE_CLIENT_ID).' },
} as const;

/**
 * The HTTPS proxy for Azure traffic (ARM and Entra): the variables every HTTP client reads, so
 * environment only. The Kubernetes API is never reached through them (only a kubeconfig's own
 * proxy-url applies to it).
 */
export const PROXY_VARIABLES = {
  httpsProxy: { env: 'HTTPS_PROXY', description: 'Proxy (http://host:port, or https://; user:password@ allowed) for every ARM and Entra request; https_proxy too. TLS stays end to end (CONNECT), so --azure-ca-file still applies.' },
  noProxy: { env: 'NO_PROXY', description: 'Comma-separated hosts reached directly: a name (with its subdomains), .domain, an IP, a CIDR, any with :port, or *; no_proxy too.' },
} as const;

export type IdentityKind = 'workload identity' | 'client secret' | 'client certificate' | 'managed identity';

export function helpText(): string {
  const flagWidth = Math.max(...Object.values(SETTINGS).map((s) => s.flag.length));
  const envWidth = Math.max(...[...Object.values(SETTINGS), ...Object.values(IDENTITY_VARIABLES)].map((s) => s.env.length));
  const rows = Object.values(SETTINGS).map((s) => `  ${s.flag.padEnd(flagWidth)} ${s.env.padEnd(envWidth)} default ${s.default}\n      ${s.description}`);
  const identity = Object.values(IDENTITY_VARIABLES).map((v) => `  ${''.padEnd(flagWidth)} ${v.env.padEnd(envWidth)}\n      ${v.description}`);
  const proxy = Object.values(PROXY_VARIABLES).map((v) => `  ${''.padEnd(flagWidth)} ${v.env.padEnd(envWidth)}\n      ${v.description}`);
  return `usage: gallery-share-operator [flags]\n       gallery-share-operator check [--readyz-url URL] [--timeout 60s] [flags]  (the helm test: CRDs served, operator ready)\n\nEvery flag can also be set by its environment variable (the flag wins).\n\n${rows.join('\n')}\n\nThe operator's own Azure identity (environment only; none set: managed identity):\n\n${identity.join('\n')}\n\nThe HTTPS proxy for Azure (environment only; the Kubernetes API is always reached directly):\n\n${proxy.join('\n')}\n`;
}

/** Which identity the variables make, or a ConfigError naming the variable that is wrong. */
export function checkIdentityVariables(env: NodeJS.ProcessEnv, readFile: (path: string) => string): IdentityKind {
  const v = IDENTITY_VARIABLES;
  const fail = (variable: string, why: string): never => {
    throw new ConfigError(`${variable}: ${why}`);
  };
  const tenantId = env[v.tenantId.env];
  const clientId = env[v.clientId.env];
  if (tenantId && !UUID.test(tenantId)) fail(v.tenantId.env, `"${tenantId}" is not a UUID (use the directory (tenant) id, not a domain name)`);
  if (clientId && !UUID.test(clientId)) fail(v.clientId.env, `"${clientId}" is not a UUID (use the application (client) id)`);
  const needsBoth = (variable: string) => {
    const missing = [!tenantId && v.tenantId.env, !clientId && v.clientId.env].filter(Boolean);
    if (missing.length) fail(variable, `needs ${missing.join(' and ')} as well`);
  };
  const readable = (variable: string, path: string): string => {
    try {
      return readFile(path);
    } catch (err) {
      return fail(variable, `cannot read ${path}: ${(err as Error).message}`);
    }
  };
  const tokenFile = env[v.federatedTokenFile.env];
  if (tokenFile) {
    needsBoth(v.federatedTokenFile.env);
    readable(v.federatedTokenFile.env, tokenFile);
    return 'workload identity';
  }
  if (env[v.clientSecret.env]) {
    needsBoth(v.clientSecret.env);
    return 'client secret';
  }
  const certificatePath = env[v.certificatePath.env];
  if (certificatePath) {
    needsBoth(v.certificatePath.env);
    const pem = readable(v.certificatePath.env, certificatePath);
    if (!(pem.includes('PRIVATE KEY-----') && pem.includes('BEGIN CERTIFICATE'))) fail(v.certificatePath.env, `${certificatePath} must be PEM holding both the certificate and its private key`);
    return 'client certificate';
  }
  if (tenantId && !clientId) fail(v.tenantId.env, `is set without ${v.clientId.env} and ${v.clientSecret.env}, ${v.certificatePath.env} or ${v.federatedTokenFile.env}: the identity is incomplete`);
  return 'managed identity';
}

type SettingKey = keyof typeof SETTINGS;
type Raw = Partial<Record<SettingKey, string>>;

/** parseArgs options: one string option per setting, named by its flag, and --help (-h). */
const FLAG_OPTIONS: NonNullable<ParseArgsConfig['options']> = {
  ...Object.fromEntries(Object.values(SETTINGS).map((s: Setting) => [s.flag.slice(2), { type: 'string' as const }])),
  help: { type: 'boolean', short: 'h' },
};
const KEY_BY_OPTION = new Map(Object.entries(SETTINGS).map(([key, s]) => [s.flag.slice(2), key as SettingKey]));

/**
 * The flags in argv (`--name value` or `--name=value`; the last of a repeated flag wins), and
 * whether --help was asked. parseArgs runs lenient and the tokens are checked here, so that every
 * mistake is a ConfigError naming the flag, as Node's own messages would not be.
 */
export function parseFlags(argv: readonly string[]): { flags: Raw; help: boolean } {
  const { tokens } = parseArgs({ args: [...argv], options: FLAG_OPTIONS, strict: false, allowPositionals: true, tokens: true });
  const flags: Raw = {};
  let help = false;
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') throw new ConfigError(`unexpected argument ${token.value}: the operator takes flags only (see --help)`);
    if (token.name === 'help') {
      help = true;
      continue;
    }
    const key = KEY_BY_OPTION.get(token.name);
    if (!key) throw new ConfigError(`unknown flag ${token.rawName} (see --help)`);
    // Lenient parseArgs takes the next argument as the value even when it is another flag
    // (`--workers --log-level debug`): that is a forgotten value, not a value.
    if (token.value === undefined || (!token.inlineValue && token.value.startsWith('-'))) throw new ConfigError(`${token.rawName} needs a value`);
    flags[key] = token.value;
  }
  return { flags, help };
}

/** Reads environment variables, then flags over them, into raw strings. */
export function readRaw(argv: readonly string[], env: NodeJS.ProcessEnv): Raw {
  const raw: Raw = {};
  for (const [key, setting] of Object.entries(SETTINGS) as [SettingKey, Setting][]) {
    if (env[setting.env] !== undefined) raw[key] = env[setting.env];
  }
  return { ...raw, ...parseFlags(argv).flags };
}

export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): OperatorConfig {
  const raw = readRaw(argv, env);
  const name = (key: SettingKey) => `${SETTINGS[key].flag} (${SETTINGS[key].env})`;
  const fail = (key: SettingKey, why: string): never => {
    throw new ConfigError(`${name(key)}: ${why}`);
  };

  const https = (key: 'armEndpoint' | 'authorityHost'): string => {
    const value = (raw[key] ?? SETTINGS[key].default).replace(/\/+$/, '');
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return fail(key, `"${value}" is not a URL`);
    }
    if (url.protocol !== 'https:') fail(key, `"${value}" must use https (Azure SDKs send bearer tokens over https only)`);
    return value;
  };

  const integer = (key: 'workers' | 'credentialExpiryWarningDays' | 'shardCount', min: number, max: number): number => {
    const value = raw[key] ?? SETTINGS[key].default;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) fail(key, `"${value}" must be a whole number from ${min} to ${max}`);
    return n;
  };

  type DurationKey =
    | 'resyncInterval'
    | 'reconcileTimeout'
    | 'shutdownTimeout'
    | 'leaderElectionLeaseDuration'
    | 'leaderElectionRenewDeadline'
    | 'leaderElectionRetryPeriod'
    | 'consentRecheckInitial'
    | 'consentRecheckMax';
  const duration = (key: DurationKey, minMs: number, maxMs: number): number => {
    const value = raw[key] ?? SETTINGS[key].default;
    const ms = parseDuration(value);
    if (ms === undefined) return fail(key, `"${value}" is not a duration (such as 90s, 10m or 1h)`);
    if (ms < minMs || ms > maxMs) fail(key, `"${value}" must be between ${formatDuration(minMs)} and ${formatDuration(maxMs)}`);
    return ms;
  };

  const budget = (key: 'armReadBudget' | 'armWriteBudget' | 'armDeleteBudget'): Budget => {
    const value = (raw[key] ?? SETTINGS[key].default).trim();
    const match = /^(\d+)\/(\d+)$/.exec(value);
    const size = Number(match?.[1]);
    const refillPerSecond = Number(match?.[2]);
    if (!match || size < 1 || size > 10_000 || refillPerSecond < 1 || refillPerSecond > 1000) {
      fail(key, `"${value}" must be SIZE/REFILL: a bucket of 1 to 10000 requests refilled at 1 to 1000 per second (such as 200/20)`);
    }
    return { size, refillPerSecond };
  };

  const bool = (key: 'leaderElect' | 'allowCommunitySharing' | 'requireObjectCredentials' | 'armPacing'): boolean => {
    const value = (raw[key] ?? SETTINGS[key].default).toLowerCase();
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0') return false;
    return fail(key, `"${raw[key]}" must be true or false`);
  };

  const idSet = (key: 'allowedShareSubscriptions' | 'allowedShareTenants' | 'allowedGrantTargetTenants'): ReadonlySet<string> | undefined => {
    const value = (raw[key] ?? SETTINGS[key].default).trim();
    if (value === '*') return undefined;
    const ids = value.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = ids.filter((id) => !UUID.test(id));
    if (bad.length) fail(key, `not UUIDs: ${bad.join(', ')} (give ids, or * for any)`);
    return new Set(ids.map((id) => id.toLowerCase()));
  };

  // Roles by built-in name (as the API accepts them) or role-definition GUID, kept as GUIDs.
  const roleSet = (key: 'allowedGrantSourceRoles' | 'allowedGrantTargetRoles'): ReadonlySet<string> | undefined => {
    const value = (raw[key] ?? SETTINGS[key].default).trim();
    if (value === '*') return undefined;
    const roles = value.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = roles.filter((r) => !Object.hasOwn(BUILT_IN_ROLES, r) && !UUID.test(r));
    if (bad.length) fail(key, `not built-in role names or role-definition GUIDs: ${bad.join(', ')} (names: ${BUILT_IN_ROLE_NAMES.join(', ')}; or * for any)`);
    return new Set(roles.map(roleGuid));
  };

  const consentRecheck = { initialMs: duration('consentRecheckInitial', 1_000, 3600_000), maxMs: duration('consentRecheckMax', 1_000, 24 * 3600_000) };
  if (consentRecheck.maxMs < consentRecheck.initialMs) {
    throw new ConfigError(`${name('consentRecheckMax')} must be at least ${name('consentRecheckInitial')}`);
  }

  const logLevel = raw.logLevel ?? SETTINGS.logLevel.default;
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal'].includes(logLevel)) fail('logLevel', `"${logLevel}" must be trace, debug, info, warn, error or fatal`);

  const namespaces = (raw.watchNamespaces ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const badNamespace = namespaces.find((ns) => !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ns) || ns.length > 63);
  if (badNamespace) fail('watchNamespaces', `"${badNamespace}" is not a namespace name`);

  const watchLabelSelector = (raw.watchLabelSelector ?? '').trim();
  try {
    parseLabelSelector(watchLabelSelector);
  } catch (err) {
    fail('watchLabelSelector', `"${watchLabelSelector}" is not a label selector: ${(err as Error).message}`);
  }

  const metricsBindAddress = raw.metricsBindAddress ?? SETTINGS.metricsBindAddress.default;
  if (metricsBindAddress !== '0' && !/^(\[[^\]]+\]|[^:]*):\d{1,5}$/.test(metricsBindAddress)) fail('metricsBindAddress', `"${metricsBindAddress}" must be host:port (such as :8080) or 0`);

  let azureCaFile: string | undefined;
  if (raw.azureCaFile) {
    azureCaFile = raw.azureCaFile;
    let pem: string;
    try {
      pem = readFile(azureCaFile);
    } catch (err) {
      return fail('azureCaFile', `cannot read ${azureCaFile}: ${(err as Error).message}`);
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) fail('azureCaFile', `${azureCaFile} holds no PEM certificate`);
  }

  if (raw.kubeconfig) {
    try {
      readFile(raw.kubeconfig);
    } catch (err) {
      fail('kubeconfig', `cannot read ${raw.kubeconfig}: ${(err as Error).message}`);
    }
  }

  let leaderElectionNamespace = raw.leaderElectionNamespace;
  if (leaderElectionNamespace === undefined) {
    try {
      leaderElectionNamespace = env.POD_NAMESPACE ?? readFile(SERVICE_ACCOUNT_NAMESPACE_FILE).trim();
    } catch {
      leaderElectionNamespace = 'default';
    }
  }

  const leaderElectionId = raw.leaderElectionId ?? SETTINGS.leaderElectionId.default;
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(leaderElectionId)) fail('leaderElectionId', `"${leaderElectionId}" is not a Lease name`);

  // The range Leases are <leader-election-id>-shard-<k>-of-<n>, and are leader elections.
  const shardCount = integer('shardCount', 0, 64);
  if (shardCount > 0 && !bool('leaderElect')) throw new ConfigError(`${name('shardCount')} = ${shardCount} needs ${name('leaderElect')} = true: each hash range is held through a Lease`);
  if (shardCount > 0 && `${leaderElectionId}-shard-${shardCount - 1}-of-${shardCount}`.length > 253) fail('leaderElectionId', `"${leaderElectionId}" is too long for the range Leases' names (${leaderElectionId}-shard-<k>-of-${shardCount}, at most 253 characters)`);

  // The Lease records its duration in whole seconds, hence at least 1s; the three are checked
  // together with the elector's own rule, so that a bad combination stops start-up here.
  const timings: LeaderElectionTimings = {
    leaseDurationMs: duration('leaderElectionLeaseDuration', 1_000, 10 * 60_000),
    renewDeadlineMs: duration('leaderElectionRenewDeadline', 100, 10 * 60_000),
    retryPeriodMs: duration('leaderElectionRetryPeriod', 100, 10 * 60_000),
  };
  const timingSetting: Record<keyof LeaderElectionTimings, SettingKey> = {
    leaseDurationMs: 'leaderElectionLeaseDuration',
    renewDeadlineMs: 'leaderElectionRenewDeadline',
    retryPeriodMs: 'leaderElectionRetryPeriod',
  };
  const timingsProblem = leaderElectionTimingsProblem(timings, (t) => `${name(timingSetting[t])} = ${raw[timingSetting[t]] ?? SETTINGS[timingSetting[t]].default}`);
  if (timingsProblem) throw new ConfigError(timingsProblem);

  let azureProxy: AzureProxy | undefined;
  try {
    azureProxy = proxyFromEnvironment(env);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }

  // Checked even when pacing is off, so that turning it on cannot find a bad budget.
  const armBudgets: PacingBudgets = { reads: budget('armReadBudget'), writes: budget('armWriteBudget'), deletes: budget('armDeleteBudget') };

  return {
    kubeconfig: raw.kubeconfig || undefined,
    watchNamespaces: namespaces,
    watchLabelSelector,
    shardCount,
    armEndpoint: https('armEndpoint'),
    authorityHost: https('authorityHost'),
    azureCaFile,
    ...(azureProxy ? { azureProxy } : {}),
    ...(bool('armPacing') ? { armPacing: armBudgets } : {}),
    workers: integer('workers', 1, 200),
    resyncIntervalMs: duration('resyncInterval', 1_000, 24 * 3600_000),
    reconcileTimeoutMs: duration('reconcileTimeout', 1_000, 3600_000),
    leaderElect: bool('leaderElect'),
    leaderElectionId,
    leaderElectionNamespace,
    ...timings,
    metricsBindAddress,
    logLevel: logLevel as OperatorConfig['logLevel'],
    shutdownTimeoutMs: duration('shutdownTimeout', 0, 10 * 60_000),
    policy: {
      allowedShareSubscriptions: idSet('allowedShareSubscriptions'),
      allowedShareTenants: idSet('allowedShareTenants'),
      allowCommunitySharing: bool('allowCommunitySharing'),
      allowedGrantSourceRoles: roleSet('allowedGrantSourceRoles'),
      allowedGrantTargetRoles: roleSet('allowedGrantTargetRoles'),
      allowedGrantTargetTenants: idSet('allowedGrantTargetTenants'),
      requireObjectCredentials: bool('requireObjectCredentials'),
    },
    credentialExpiryWarningDays: integer('credentialExpiryWarningDays', 0, 3650),
    consentRecheck,
    identity: checkIdentityVariables(env, readFile),
  };
}

/** "90s", "10m", "1h30m", "500ms"; a bare number is seconds. */
export function parseDuration(text: string): number | undefined {
  const value = text.trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000 };
  const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== value) return undefined;
  return parts.reduce((total, p) => total + Number(p[1]) * units[p[2]!]!, 0);
}

function formatDuration(ms: number): string {
  if (ms % 3600_000 === 0 && ms > 0) return `${ms / 3600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}
