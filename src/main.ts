// The operator process: reads the settings, checks that the installed CRDs know what it writes,
// builds the manager with the registered controllers (src/controllers/index.ts), and handles
// signals (SIGTERM/SIGINT: graceful shutdown; a lost lease: exit so that the Deployment restarts
// the process as a standby).
// First, before any dependency is loaded: Node's process warnings become JSON log lines.
import { logProcessWarnings } from './process-warnings.js';
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import type { TokenCredential } from '@azure/identity';
import { VERSION } from './api/v1alpha1/index.js';
import { AzureClients, WINDOWS_INHERITED_LOG, WINDOW_LEARNED_LOG } from './azure/clients.js';
import { CredentialCache, defaultCredential } from './azure/credentials.js';
import type { AzureEnvironment } from './azure/environment.js';
import { AzureTransport } from './azure/transport.js';
import { runCheck } from './check.js';
import { ConfigError, helpText, loadConfig, type OperatorConfig } from './config.js';
import { CONTROLLERS } from './controllers/index.js';
import { credentialResolver } from './controllers/shared/credentials.js';
import { createLogger } from './logger.js';
import { outdatedCrds } from './runtime/crd-check.js';
import { KubeApiError } from './runtime/kube-client.js';
import { Manager } from './runtime/manager.js';
import { OperatorMetrics } from './runtime/metrics.js';

/**
 * How soon a Stalled credentials failure is looked at again: the operator may get Secrets but
 * not watch them, so a fixed Secret is noticed by looking again (the README says so).
 */
const CREDENTIALS_RECHECK_MS = 60_000;

/**
 * The leader-election Lease's annotation where the leader keeps ARM's open Retry-After windows
 * (JSON: each subscription to the end of its window, ISO 8601), so that the next leader does not
 * call a subscription ARM asked to wait: written with the renewals, read before controllers start.
 */
const RETRY_AFTER_ANNOTATION = 'galleryshare.io/arm-retry-after';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  // `check`: the helm test hook's check (CRDs served, operator ready), in the operator's image.
  if (argv[0] === 'check') process.exit(await runCheck(argv.slice(1), process.env));
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText());
    return;
  }
  let config: OperatorConfig;
  try {
    config = loadConfig(argv, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      // A JSON line like every log line (a bad flag in a pod's args reaches the log pipeline
      // too), on stderr, where a person running the command looks for it.
      createLogger('info', pino.destination({ dest: 2, sync: true })).fatal(err.message);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  logProcessWarnings(logger);

  const kc = new KubeConfig();
  if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
  else kc.loadFromCluster();

  const metrics = new OperatorMetrics();
  const identity = `${hostname()}_${randomBytes(4).toString('hex')}`;
  /** Set by leader election: writes the Lease (and the Retry-After windows on it) at once. */
  let writeWindowsNow: () => void = () => {};
  const manager = new Manager({
    kc,
    logger,
    metrics,
    healthAddress: config.metricsBindAddress === '0' ? '' : config.metricsBindAddress,
    leaderElection: config.leaderElect
      ? {
          namespace: config.leaderElectionNamespace,
          name: config.leaderElectionId,
          identity,
          leaseDurationMs: config.leaseDurationMs,
          renewDeadlineMs: config.renewDeadlineMs,
          retryPeriodMs: config.retryPeriodMs,
          annotations: [
            {
              name: RETRY_AFTER_ANNOTATION,
              current: () => azure.gate.windowsText(),
              watch: (changed) => {
                writeWindowsNow = changed;
              },
              inherit: (value) => {
                const windows = azure.gate.seedFromText(value);
                const open = Object.entries(windows).map(([subscription, until]) => ({ subscription, until: new Date(until).toISOString() }));
                if (open.length) logger.info({ windows: open }, WINDOWS_INHERITED_LOG);
              },
            },
          ],
        }
      : undefined,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    component: 'gallery-share-operator',
    watchNamespaces: config.watchNamespaces,
    watchLabelSelector: config.watchLabelSelector,
    hashRanges: config.shardCount,
  });

  // The API server drops status fields its CRD does not know: an operator newer than its CRDs
  // would lose the operations it records. Refuse to start rather than run like that.
  const outdated = await outdatedCrds(manager.client, CONTROLLERS.map((c) => c.kind), VERSION).catch((err: unknown) => {
    if (!(err instanceof KubeApiError)) throw err;
    logger.fatal(
      `could not read the installed CustomResourceDefinitions to check them (${err.message}). ` +
        'The operator needs get on its own customresourcedefinitions (config/rbac and the chart grant it).',
    );
    return process.exit(2);
  });
  if (outdated.length) {
    logger.fatal(
      `the installed CustomResourceDefinitions are older than this operator: ${outdated.join('; ')}. ` +
        'Upgrade the CRDs first (kubectl apply --server-side -f crds/ from this release; the Helm chart from 0.2.0 upgrades them with helm upgrade unless crds.enabled=false, 0.1.0 never did), then start the operator again.',
    );
    process.exit(2);
  }

  const env: AzureEnvironment = {
    armEndpoint: config.armEndpoint,
    authorityHost: config.authorityHost,
    ...(config.azureCaFile ? { extraCa: readFileSync(config.azureCaFile, 'utf8') } : {}),
  };
  const transport = new AzureTransport(env, config.azureProxy);
  const azure = new AzureClients(env, transport, (operation, status, seconds) => metrics.azureRequest(operation, status, seconds), config.armPacing);
  // One line per window opened or moved later (the gate never reports a refused request), so a
  // storm of 429s cannot flood the log; the chaos audit reads when each window was learned.
  azure.gate.onWindowChange(({ subscription, retryAfterMs, until }) => {
    logger.info({ subscription, retryAfterMs, until: new Date(until).toISOString() }, WINDOW_LEARNED_LOG);
    // On the Lease now, not at the next renewal: a leader killed right after a 429 hands it over.
    writeWindowsNow();
  });
  let ownIdentity: TokenCredential | undefined;
  const defaultIdentity = () => {
    if (!ownIdentity) {
      const { credential, kind } = defaultCredential(env, transport, process.env, (p) => readFileSync(p, 'utf8'));
      logger.info({ kind }, 'using the operator\'s own Azure identity for objects without azureCredentialsRef');
      ownIdentity = credential;
    }
    return ownIdentity;
  };
  const credentials = credentialResolver(manager.client, new CredentialCache(env, transport), defaultIdentity);

  const stalledRecheckMs = Math.min(config.resyncIntervalMs, 120_000);
  for (const registration of CONTROLLERS) {
    registration.register({
      cache: (kind) => manager.cache(kind),
      lookupCache: (kind) => manager.lookupCache(kind),
      addController: (controller) => manager.addController(controller),
      client: manager.client,
      events: manager.events,
      logger,
      metrics,
      azure,
      credentials,
      policy: config.policy,
      workers: config.workers,
      resyncMs: config.resyncIntervalMs,
      reconcileTimeoutMs: config.reconcileTimeoutMs,
      stalledRecheckMs,
      credentialsRecheckMs: Math.min(CREDENTIALS_RECHECK_MS, stalledRecheckMs),
      credentialExpiryWarningDays: config.credentialExpiryWarningDays,
      consentRecheck: config.consentRecheck,
    });
  }

  // galleryshare_objects: the leader counts the objects of each kind it reconciles from the
  // caches its controllers already hold (the caches exist once the controllers are registered).
  const reconciledCaches = CONTROLLERS.map((c) => ({ kind: c.kind.kind, cache: manager.cache(c.kind) }));
  metrics.countObjectsFrom(() => (manager.isLeader() ? reconciledCaches.map(({ kind, cache }) => ({ kind, objects: cache.list() })) : undefined));

  let stopping = false;
  const shutdown = (signal: string, code: number) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    manager
      .stop()
      .catch((err: Error) => logger.error({ err: err.message }, 'shutdown failed'))
      .finally(() => {
        azure.close();
        process.exit(code);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM', 0));
  process.on('SIGINT', () => shutdown('SIGINT', 0));

  logger.info(
    {
      armEndpoint: config.armEndpoint,
      authorityHost: config.authorityHost,
      azureRoute: { arm: transport.routeOf(config.armEndpoint), entra: transport.routeOf(config.authorityHost) },
      namespaces: config.watchNamespaces.length ? config.watchNamespaces : 'all',
      labelSelector: config.watchLabelSelector || 'all',
      hashRanges: config.shardCount || 'off',
      workers: config.workers,
      resyncIntervalMs: config.resyncIntervalMs,
      leaderElection: config.leaderElect,
      ownAzureIdentity: config.identity,
    },
    'starting',
  );
  await manager.start(() => {
    // At once, without finishing in-flight work as a graceful shutdown would: a standby may hold
    // the lease already, and two processes must not write to Azure at the same time. The
    // Deployment restarts this one as a standby (controller-runtime exits the same way). With
    // hash ranges the same holds of a range Lease: this exit, before the lease duration a
    // successor waits, is what fences the range.
    logger.error('leadership lost; exiting at once so that a fresh process stands by');
    process.exit(1);
  });
}

main().catch((err: unknown) => {
  // A JSON line like every other log line (the settings may not have been read: level info).
  const logger = createLogger('info');
  logProcessWarnings(logger);
  logger.fatal({ err: err instanceof Error ? err.stack ?? err.message : String(err) }, 'gallery-share-operator failed');
  process.exit(1);
});
