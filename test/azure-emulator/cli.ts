// `npm run emulator -- --seed FILE [--port N] [--ca-out PATH] [--hostname NAME]... [--listen ADDR]`:
// runs the Azure emulator for people and other processes until Ctrl-C or SIGTERM.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { start } from './index.js';

const usage = `Usage: tsx test/azure-emulator/cli.ts [--seed FILE] [--port N] [--ca-out PATH] [--hostname NAME]... [--listen ADDR]
  --seed FILE       YAML seed (default: test/azure-emulator/seeds/sample.yaml)
  --port N          port to listen on (default: a free port)
  --ca-out PATH     also write the CA certificate here
  --hostname NAME   a name in the server certificate (repeatable; default localhost and 127.0.0.1)
  --listen ADDR     address to listen on (default 127.0.0.1)
  --lro-ms N        duration of long-running operations (default 0)
  --share-mode M    lro (202, default) or sync (200) for the share action`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      port: { type: 'string' },
      'ca-out': { type: 'string' },
      hostname: { type: 'string', multiple: true },
      listen: { type: 'string' },
      'lro-ms': { type: 'string' },
      'share-mode': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const seed = values.seed ?? fileURLToPath(new URL('./seeds/sample.yaml', import.meta.url));
  const shareMode = values['share-mode'];
  if (shareMode !== undefined && shareMode !== 'lro' && shareMode !== 'sync') throw new Error(`--share-mode must be lro or sync\n${usage}`);
  const emulator = await start({
    seed,
    ...(values.port ? { port: Number(values.port) } : {}),
    ...(values['ca-out'] ? { caOut: values['ca-out'] } : {}),
    ...(values.hostname ? { hostnames: values.hostname } : {}),
    ...(values.listen ? { listenHost: values.listen } : {}),
    options: {
      ...(values['lro-ms'] ? { lroDurationMs: Number(values['lro-ms']) } : {}),
      ...(shareMode ? { shareMode } : {}),
    },
  });
  const world = emulator.emulator.world;
  const lines = [
    `Azure emulator running (seed ${seed})`,
    `  ARM endpoint:    ${emulator.armEndpoint}`,
    `  Authority host:  ${emulator.authorityHost}`,
    `  Token scope:     ${emulator.armScope}`,
    `  CA certificate:  ${emulator.caPath}   (trust it: NODE_EXTRA_CA_CERTS=${emulator.caPath}, or tlsOptions.ca)`,
    `  Control API:     ${emulator.armEndpoint}/__emulator/ (health, info, consent, faults, requests, counters, reset, state, options, clock, token)`,
    'Tenants and subscriptions:',
    ...[...world.tenants.values()].flatMap((t) => [
      `  ${t.id}  ${t.displayName}${t.domains.length ? ` (${t.domains.join(', ')})` : ''}`,
      ...[...world.subscriptions.values()].filter((s) => s.tenantId === t.id).map((s) => `    subscription ${s.id}  ${s.displayName}`),
    ]),
    'Applications (credentials are in the seed file):',
    ...[...world.applications.values()].map((a) => {
      const tenants = [...world.principals.values()].filter((p) => p.appId === a.appId).map((p) => world.tenants.get(p.tenantId.toLowerCase())?.displayName ?? p.tenantId);
      return `  ${a.appId}  ${a.displayName}${a.admin ? ' [admin]' : ''}  service principals in: ${tenants.join(', ')}`;
    }),
    'Ctrl-C to stop.',
  ];
  console.log(lines.join('\n'));
  const stop = (signal: string) => {
    console.log(`\n${signal}: stopping the Azure emulator`);
    emulator.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
