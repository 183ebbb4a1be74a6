// `npm run chaos` (tsx test/chaos/chaos.ts): a benchmark that prints figures, not a test. The
// three kinds at scale under every fault at once (run.ts), then the audit (audit.ts) as a table;
// `--json PATH` writes the same as JSON. Issue 12, part 1. The README says what each term means.
//
// Usage: tsx test/chaos/chaos.ts [--galleryshares N] [--tenantgrants N] [--sharedimagevms N]
//          [--replicas 2|3] [--seed N] [--lease-seconds S] [--renew-seconds S] [--retry-seconds S]
//          [--kill-interval-seconds S] [--fault-seconds S] [--lro-ms MS] [--workers N] [--json PATH]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AUDIT_TERMS } from './audit.js';
import { defaultSettings, formatReport, runChaos, type ChaosSettings } from './run.js';

const { values: flags } = parseArgs({
  options: {
    galleryshares: { type: 'string' },
    tenantgrants: { type: 'string' },
    sharedimagevms: { type: 'string' },
    replicas: { type: 'string' },
    seed: { type: 'string' },
    'lease-seconds': { type: 'string' },
    'renew-seconds': { type: 'string' },
    'retry-seconds': { type: 'string' },
    'kill-interval-seconds': { type: 'string' },
    'fault-seconds': { type: 'string' },
    'lro-ms': { type: 'string' },
    workers: { type: 'string' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (flags.help) {
  console.log(`usage: tsx test/chaos/chaos.ts [flags]
  --galleryshares N          GalleryShares (default ${defaultSettings.galleryShares})
  --tenantgrants N           TenantGrants (default ${defaultSettings.tenantGrants})
  --sharedimagevms N         SharedImageVMs (default ${defaultSettings.sharedImageVMs})
  --replicas 2|3             operator replicas with leader election (default ${defaultSettings.replicas})
  --seed N                   seed of the workload and the fault schedule (default ${defaultSettings.seed})
  --lease-seconds S          the operators' lease duration (default ${defaultSettings.leaseSeconds})
  --renew-seconds S          their renew deadline (default ${defaultSettings.renewSeconds})
  --retry-seconds S          their retry period (default ${defaultSettings.retrySeconds})
  --kill-interval-seconds S  between leader kills, at least twice the lease (default ${defaultSettings.killIntervalSeconds})
  --fault-seconds S          how long the faults run (default ${defaultSettings.faultSeconds})
  --lro-ms MS                duration of long-running ARM operations (default ${defaultSettings.lroMs})
  --workers N                the operators' --workers (default ${defaultSettings.workers})
  --json PATH                also write the report as JSON`);
  process.exit(0);
}

function num(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) {
    console.error(`chaos: --${name} must be a number of at least ${min}, not "${value}"`);
    process.exit(2);
  }
  return n;
}

const replicas = num('replicas', flags.replicas, defaultSettings.replicas, 2);
if (replicas !== 2 && replicas !== 3) {
  console.error('chaos: --replicas must be 2 or 3');
  process.exit(2);
}
const started = Date.now();
const say = (line: string) => console.error(`chaos [${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);

const settings: Partial<ChaosSettings> = {
  galleryShares: num('galleryshares', flags.galleryshares, defaultSettings.galleryShares, 0),
  tenantGrants: num('tenantgrants', flags.tenantgrants, defaultSettings.tenantGrants, 0),
  sharedImageVMs: num('sharedimagevms', flags.sharedimagevms, defaultSettings.sharedImageVMs, 0),
  replicas,
  seed: num('seed', flags.seed, defaultSettings.seed, 0),
  leaseSeconds: num('lease-seconds', flags['lease-seconds'], defaultSettings.leaseSeconds),
  renewSeconds: num('renew-seconds', flags['renew-seconds'], defaultSettings.renewSeconds),
  retrySeconds: num('retry-seconds', flags['retry-seconds'], defaultSettings.retrySeconds),
  killIntervalSeconds: num('kill-interval-seconds', flags['kill-interval-seconds'], Math.max(defaultSettings.killIntervalSeconds, 2 * num('lease-seconds', flags['lease-seconds'], defaultSettings.leaseSeconds))),
  faultSeconds: num('fault-seconds', flags['fault-seconds'], defaultSettings.faultSeconds),
  lroMs: num('lro-ms', flags['lro-ms'], defaultSettings.lroMs, 0),
  workers: num('workers', flags.workers, defaultSettings.workers),
  log: say,
};

const report = await runChaos(settings);
console.log(formatReport(report));
if (flags.json) {
  writeFileSync(flags.json, JSON.stringify(report, null, 2));
  say(`wrote ${flags.json}`);
}
const zero = AUDIT_TERMS.every(([key]) => key === 'requestsInsideRetryAfterAcrossFailover' || !report.audit[key]);
process.exit(zero ? 0 : 1);
