// Settings: defaults, flags over environment variables, and a message naming the setting for
// every bad value.
import { expect } from 'chai';
import { ConfigError, loadConfig, parseDuration, parseFlags } from '../../src/config.js';

const noFile = (path: string): string => {
  throw new Error(`ENOENT: ${path}`);
};

const TENANT = '6dc731fe-4bb4-4a4e-9d1a-2b7f3c8e9a10';
const APP = '05de60fa-1b2c-4d3e-8f90-a1b2c3d4e5f6';

describe('operator settings', () => {
  it('has production defaults', () => {
    const config = loadConfig([], {}, noFile);
    expect(config).to.deep.include({
      armEndpoint: 'https://management.azure.com',
      authorityHost: 'https://login.microsoftonline.com',
      workers: 10,
      resyncIntervalMs: 600_000,
      leaderElect: true,
      leaderElectionId: 'gallery-share-operator',
      leaderElectionNamespace: 'default',
      metricsBindAddress: ':8080',
      logLevel: 'info',
      watchNamespaces: [],
      reconcileTimeoutMs: 60_000,
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    });
    expect(config.policy).to.deep.equal({
      allowedShareSubscriptions: undefined,
      allowedShareTenants: undefined,
      allowCommunitySharing: false,
      // Reader and Compute Gallery Image Reader at the source, Contributor at the target.
      allowedGrantSourceRoles: new Set(['acdd72a7-3385-48ef-bd42-f606fba81ae7', 'cf7c76d2-98a3-4358-a134-615aa78bf44d']),
      allowedGrantTargetRoles: new Set(['b24988ac-6180-42a0-ab88-20f7382dd24c']),
      allowedGrantTargetTenants: undefined,
      requireObjectCredentials: false,
    });
    expect(config.credentialExpiryWarningDays).to.equal(30);
    expect(config.consentRecheck).to.deep.equal({ initialMs: 30_000, maxMs: 300_000 });
    // 80% of ARM's documented buckets (250/25 reads, 200/10 writes, 200/10 deletes).
    expect(config.armPacing).to.deep.equal({ reads: { size: 200, refillPerSecond: 20 }, writes: { size: 160, refillPerSecond: 8 }, deletes: { size: 160, refillPerSecond: 8 } });
  });

  it('reads the ARM budgets as SIZE/REFILL, and turns pacing off', () => {
    const config = loadConfig(['--arm-write-budget', '20/2'], { ARM_READ_BUDGET: '250/25', ARM_DELETE_BUDGET: '1/1' }, noFile);
    expect(config.armPacing).to.deep.equal({ reads: { size: 250, refillPerSecond: 25 }, writes: { size: 20, refillPerSecond: 2 }, deletes: { size: 1, refillPerSecond: 1 } });
    expect(loadConfig(['--arm-pacing', 'false'], {}, noFile).armPacing).to.equal(undefined);
  });

  it('reads the TenantGrant policy: roles by name or GUID, * for any, and refuses unknown role names', () => {
    const config = loadConfig(['--allowed-grant-source-roles', '*', '--allowed-grant-target-roles', 'Owner, 11111111-2222-3333-4444-555555555555', '--require-object-credentials', 'true'], {}, noFile);
    expect(config.policy.allowedGrantSourceRoles).to.equal(undefined);
    expect([...config.policy.allowedGrantTargetRoles!]).to.deep.equal(['8e3af657-a8ff-443c-a75c-2fe8c4bcb635', '11111111-2222-3333-4444-555555555555']);
    expect(config.policy.requireObjectCredentials).to.equal(true);
    expect(() => loadConfig(['--allowed-grant-target-roles', 'Contributer'], {}, noFile)).to.throw(/--allowed-grant-target-roles .*Contributer/);
    expect(() => loadConfig(['--consent-recheck-initial', '10m', '--consent-recheck-max', '1m'], {}, noFile)).to.throw(/--consent-recheck-max/);
  });

  it('takes environment variables, and flags over them', () => {
    const config = loadConfig(['--workers', '3', '--resync-interval=90s'], { WORKERS: '7', RESYNC_INTERVAL: '5m', WATCH_NAMESPACES: 'a, b', POD_NAMESPACE: 'ops', ALLOWED_SHARE_TENANTS: 'C333BCCD-7E4F-4C18-BCC2-BA10FDC7B25A' }, noFile);
    expect(config.workers).to.equal(3);
    expect(config.resyncIntervalMs).to.equal(90_000);
    expect(config.watchNamespaces).to.deep.equal(['a', 'b']);
    expect(config.leaderElectionNamespace).to.equal('ops');
    expect([...config.policy.allowedShareTenants!]).to.deep.equal(['c333bccd-7e4f-4c18-bcc2-ba10fdc7b25a']);
  });

  const bad: [string, string[], NodeJS.ProcessEnv, RegExp][] = [
    ['an http ARM endpoint', ['--arm-endpoint', 'http://127.0.0.1:8443'], {}, /--arm-endpoint \(AZURE_RESOURCE_MANAGER_ENDPOINT\): .* must use https/],
    ['zero workers', [], { WORKERS: '0' }, /--workers \(WORKERS\): "0" must be a whole number from 1 to 200/],
    ['a resync too short', ['--resync-interval', '500ms'], {}, /--resync-interval \(RESYNC_INTERVAL\): "500ms" must be between 1s and 24h/],
    ['a malformed duration', ['--resync-interval', 'ten minutes'], {}, /is not a duration/],
    ['a non-boolean', [], { LEADER_ELECT: 'yes' }, /--leader-elect \(LEADER_ELECT\): "yes" must be true or false/],
    ['a tenant that is not a UUID', ['--allowed-share-tenants', 'fabrikam.com'], {}, /--allowed-share-tenants \(ALLOWED_SHARE_TENANTS\): not UUIDs: fabrikam.com/],
    ['an unknown log level', ['--log-level', 'verbose'], {}, /--log-level \(LOG_LEVEL\)/],
    ['a bad address', ['--metrics-bind-address', 'localhost'], {}, /--metrics-bind-address/],
    ['a missing kubeconfig', ['--kubeconfig', '/nonexistent/kubeconfig'], {}, /--kubeconfig \(KUBECONFIG\): cannot read \/nonexistent\/kubeconfig/],
    ['a missing CA file', ['--azure-ca-file', '/nonexistent/ca.pem'], {}, /--azure-ca-file \(AZURE_CA_FILE\): cannot read \/nonexistent\/ca.pem/],
    ['an unknown flag', ['--wokers', '3'], {}, /unknown flag --wokers/],
    ['a tenant of the own identity that is a domain', [], { AZURE_TENANT_ID: 'contoso.com', AZURE_CLIENT_ID: APP, AZURE_CLIENT_SECRET: 's3cr3t-value' }, /AZURE_TENANT_ID: "contoso.com" is not a UUID/],
    ['a client secret without its tenant', [], { AZURE_CLIENT_ID: APP, AZURE_CLIENT_SECRET: 's3cr3t-value' }, /AZURE_CLIENT_SECRET: needs AZURE_TENANT_ID as well/],
    ['an unreadable identity certificate', [], { AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: APP, AZURE_CLIENT_CERTIFICATE_PATH: '/nonexistent/cert.pem' }, /AZURE_CLIENT_CERTIFICATE_PATH: cannot read \/nonexistent\/cert.pem/],
    ['a workload identity token file without a client id', [], { AZURE_TENANT_ID: TENANT, AZURE_FEDERATED_TOKEN_FILE: '/var/run/secrets/azure/tokens/azure-identity-token' }, /AZURE_FEDERATED_TOKEN_FILE: needs AZURE_CLIENT_ID as well/],
    ['a tenant alone', [], { AZURE_TENANT_ID: TENANT }, /AZURE_TENANT_ID: is set without AZURE_CLIENT_ID/],
    ['a flag without a value', ['--workers'], {}, /--workers needs a value/],
    ['an ARM budget without its refill rate', ['--arm-read-budget', '200'], {}, /--arm-read-budget \(ARM_READ_BUDGET\): "200" must be SIZE\/REFILL/],
    ['an ARM budget with a fractional rate', [], { ARM_WRITE_BUDGET: '160/0.5' }, /--arm-write-budget \(ARM_WRITE_BUDGET\): "160\/0.5" must be SIZE\/REFILL/],
    ['an empty ARM bucket', ['--arm-delete-budget=0/8'], {}, /--arm-delete-budget \(ARM_DELETE_BUDGET\): "0\/8" must be SIZE\/REFILL: a bucket of 1 to 10000/],
    ['an ARM refill rate over 1000', ['--arm-read-budget=200/1001', '--arm-pacing=false'], {}, /--arm-read-budget/],
    ['a non-boolean ARM pacing', [], { ARM_PACING: 'on' }, /--arm-pacing \(ARM_PACING\): "on" must be true or false/],
    ['a flag whose value is forgotten before the next flag', ['--watch-namespaces', '--workers', '3'], {}, /^--watch-namespaces needs a value$/],
    ['an unknown short flag', ['-w', '3'], {}, /unknown flag -w/],
    ['an argument that is no flag', ['start'], {}, /unexpected argument start: the operator takes flags only/],
    ['an argument after --', ['--', '--workers=3'], {}, /unexpected argument --workers=3/],
    ['a reconcile timeout under a second', ['--reconcile-timeout=500ms'], {}, /--reconcile-timeout \(RECONCILE_TIMEOUT\): "500ms" must be between 1s and 1h/],
    ['a reconcile timeout over an hour', [], { RECONCILE_TIMEOUT: '2h' }, /--reconcile-timeout \(RECONCILE_TIMEOUT\): "2h" must be between 1s and 1h/],
    ['a lease duration under a second', ['--leader-election-lease-duration', '900ms'], {}, /--leader-election-lease-duration \(LEADER_ELECTION_LEASE_DURATION\): "900ms" must be between 1s and 10m/],
    ['a malformed retry period', [], { LEADER_ELECTION_RETRY_PERIOD: 'often' }, /--leader-election-retry-period \(LEADER_ELECTION_RETRY_PERIOD\): "often" is not a duration/],
    [
      'a lease duration not longer than the renew deadline',
      ['--leader-election-lease-duration', '10s'],
      {},
      /^--leader-election-lease-duration \(LEADER_ELECTION_LEASE_DURATION\) = 10s must be greater than --leader-election-renew-deadline \(LEADER_ELECTION_RENEW_DEADLINE\) = 10s$/,
    ],
    [
      'a renew deadline not longer than 1.2 retry periods',
      ['--leader-election-retry-period=5s'],
      { LEADER_ELECTION_RENEW_DEADLINE: '6s' },
      /^--leader-election-renew-deadline \(LEADER_ELECTION_RENEW_DEADLINE\) = 6s must be greater than 1.2 × --leader-election-retry-period \(LEADER_ELECTION_RETRY_PERIOD\) = 5s$/,
    ],
  ];
  for (const [what, argv, env, message] of bad) {
    it(`refuses ${what}, naming the setting`, () => {
      expect(() => loadConfig(argv, env, noFile)).to.throw(ConfigError, message);
      try {
        loadConfig(argv, env, noFile);
      } catch (err) {
        expect((err as Error).message, 'no secret in the message').not.to.include('s3cr3t-value');
      }
    });
  }

  it("tells which identity the operator's own variables make", () => {
    const files: Record<string, string> = { '/token': 'eyJ...', '/cert.pem': '-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n' };
    const read = (path: string) => {
      if (files[path] === undefined) throw new Error(`ENOENT ${path}`);
      return files[path];
    };
    const kind = (env: NodeJS.ProcessEnv) => loadConfig([], env, read).identity;
    expect(kind({})).to.equal('managed identity');
    expect(kind({ AZURE_CLIENT_ID: APP })).to.equal('managed identity');
    expect(kind({ AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: APP, AZURE_CLIENT_SECRET: 'x' })).to.equal('client secret');
    expect(kind({ AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: APP, AZURE_CLIENT_CERTIFICATE_PATH: '/cert.pem' })).to.equal('client certificate');
    expect(kind({ AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: APP, AZURE_FEDERATED_TOKEN_FILE: '/token' })).to.equal('workload identity');
  });

  it('reads the leader election timings and the reconcile timeout, flags over variables', () => {
    const config = loadConfig(
      ['--leader-election-lease-duration=60s', '--leader-election-renew-deadline', '40s', '--reconcile-timeout', '5m'],
      { LEADER_ELECTION_LEASE_DURATION: '30s', LEADER_ELECTION_RETRY_PERIOD: '500ms', RECONCILE_TIMEOUT: '10s' },
      noFile,
    );
    expect(config).to.deep.include({ leaseDurationMs: 60_000, renewDeadlineMs: 40_000, retryPeriodMs: 500, reconcileTimeoutMs: 300_000 });
  });

  it('parses flags with parseArgs: both spellings, the last of a repeated flag, and --help', () => {
    expect(parseFlags(['--workers', '3', '--log-level=debug', '--workers=4', '--watch-namespaces='])).to.deep.equal({ flags: { workers: '4', logLevel: 'debug', watchNamespaces: '' }, help: false });
    expect(parseFlags(['--help']).help).to.equal(true);
    expect(parseFlags(['-h', '--workers', '2'])).to.deep.equal({ flags: { workers: '2' }, help: true });
    expect(parseFlags(['--']).flags).to.deep.equal({});
    expect(parseFlags(['--allowed-share-tenants=-']).flags, 'an inline value may start with a dash').to.deep.equal({ allowedShareTenants: '-' });
  });

  it('parses durations', () => {
    expect(parseDuration('1h30m')).to.equal(5_400_000);
    expect(parseDuration('500ms')).to.equal(500);
    expect(parseDuration('45')).to.equal(45_000);
    expect(parseDuration('5 minutes')).to.equal(undefined);
  });
});
