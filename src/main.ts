// The operator process: reads the settings, builds the manager with the GalleryShare controller,
// and handles signals (SIGTERM/SIGINT: graceful shutdown; a lost lease: exit so that the
// Deployment restarts the process as a standby).
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import type { TokenCredential } from '@azure/identity';
import { GROUP, VERSION, type GalleryShare } from './api/v1alpha1/index.js';
import { AzureClients } from './azure/clients.js';
import { CredentialCache, defaultCredential } from './azure/credentials.js';
import type { AzureEnvironment } from './azure/environment.js';
import { ConfigError, helpText, loadConfig, type OperatorConfig } from './config.js';
import { GalleryShareReconciler } from './controllers/galleryshare/reconciler.js';
import { credentialResolver } from './controllers/shared/credentials.js';
import { createLogger } from './logger.js';
import { Controller } from './runtime/controller.js';
import { CombinedCache } from './runtime/informer.js';
import { Manager } from './runtime/manager.js';
import { OperatorMetrics } from './runtime/metrics.js';

function collectionPaths(config: OperatorConfig, plural: string): string[] {
  if (config.watchNamespaces.length === 0) return [`/apis/${GROUP}/${VERSION}/${plural}`];
  return config.watchNamespaces.map((ns) => `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${plural}`);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText());
    return;
  }
  let config: OperatorConfig;
  try {
    config = loadConfig(argv, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`gallery-share-operator: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);

  const kc = new KubeConfig();
  if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
  else kc.loadFromCluster();

  const metrics = new OperatorMetrics();
  const identity = `${hostname()}_${randomBytes(4).toString('hex')}`;
  const manager = new Manager({
    kc,
    logger,
    metrics,
    healthAddress: config.metricsBindAddress === '0' ? '' : config.metricsBindAddress,
    leaderElection: config.leaderElect ? { namespace: config.leaderElectionNamespace, name: config.leaderElectionId, identity } : undefined,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    component: 'gallery-share-operator',
  });

  const env: AzureEnvironment = {
    armEndpoint: config.armEndpoint,
    authorityHost: config.authorityHost,
    ...(config.azureCaFile ? { extraCa: readFileSync(config.azureCaFile, 'utf8') } : {}),
  };
  const azure = new AzureClients(env, (operation, status, seconds) => metrics.azureRequest(operation, status, seconds));
  let ownIdentity: TokenCredential | undefined;
  const defaultIdentity = () => {
    if (!ownIdentity) {
      const { credential, kind } = defaultCredential(env, process.env, (p) => readFileSync(p, 'utf8'));
      logger.info({ kind }, 'using the operator\'s own Azure identity for objects without azureCredentialsRef');
      ownIdentity = credential;
    }
    return ownIdentity;
  };
  const credentials = credentialResolver(manager.client, new CredentialCache(env), defaultIdentity);

  const galleryShares = new CombinedCache(collectionPaths(config, 'galleryshares').map((p) => manager.informer<GalleryShare>(p)));
  const reconciler = new GalleryShareReconciler({
    informer: galleryShares,
    client: manager.client,
    events: manager.events,
    azure,
    credentials,
    policy: config.policy,
    stalledRecheckMs: Math.min(config.resyncIntervalMs, 120_000),
  });
  manager.addController(new Controller({ name: 'galleryshare', informer: galleryShares, reconciler, logger, metrics, workers: config.workers, resyncMs: config.resyncIntervalMs }));

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
      namespaces: config.watchNamespaces.length ? config.watchNamespaces : 'all',
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
    // Deployment restarts this one as a standby (controller-runtime exits the same way).
    logger.error('leadership lost; exiting at once so that a fresh process stands by');
    process.exit(1);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`gallery-share-operator: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
