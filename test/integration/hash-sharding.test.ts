// Hash-range sharding (--shard-count): operator processes split the namespaces' hash between
// them through range Leases, each reconciling only the namespaces of the range it holds, a
// process without a range standing by; when a holder is SIGKILLed, a standby takes its range
// (after the lease duration: the fencing of leader election) and reconciles it. With the API
// server's ShardedListAndWatch gate on (a control plane of this file's own) the server filters
// too; with it off (the shared control plane: 1.36 without alpha gates) the server ignores the
// selector silently and the processes' own filter makes the same split. A SharedImageVM and its
// TenantGrant are in one namespace, hence one range, and made by that range's holder.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { GROUP, VERSION, type GalleryShare } from '../../src/api/v1alpha1/index.js';
import { fnv1a64, hashRange, inHashRange, shardSelector } from '../../src/runtime/hash-range.js';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { start, type RunningEmulator } from '../azure-emulator/index.js';
import { ids } from '../emulator/helpers.js';
import { createGallery } from '../support/azure-fixtures.js';
import { startControlPlane, type ControlPlane } from '../support/control-plane.js';
import { galleryShareManifest, galleryShares, waitForGalleryShare } from '../support/galleryshares.js';
import { installCrds, kubeClients, testKubeconfigPath, type KubeClients } from '../support/kube.js';
import { startOperator, type OperatorProcess } from '../support/operator-process.js';
import { createVmSecrets, isReady as isVmReady, rbacImage, sharedImageVMs, sivmSeed, subnetId, TEST_GALLERY, vmManifest, waitForVM, type VM } from '../support/sharedimagevms.js';
import {
  APP,
  TARGET_SUBSCRIPTION,
  TARGET_TENANT,
  createAppSecret,
  createFabrikamAdminSecret,
  createTargetNetwork,
  createTargetResourceGroup,
  isReady as isGrantReady,
  tenantGrantManifest,
  tenantGrants,
  waitForTenantGrant,
} from '../support/tenantgrants.js';

const LEASE_ID = 'gso-hash';
const SHARDS = 2;
const RANGES = [hashRange(0, SHARDS), hashRange(1, SHARDS)];

/** `count` fresh namespace names in each of the two ranges (names are drawn until both have enough). */
function namespacesInBothRanges(prefix: string, count: number): string[][] {
  const byRange: string[][] = [[], []];
  while (byRange.some((names) => names.length < count)) {
    const name = `${prefix}-${randomBytes(4).toString('hex')}`;
    const k = RANGES.findIndex((r) => inHashRange(name, r));
    if (byRange[k]!.length < count) byRange[k]!.push(name);
  }
  return byRange;
}

/** The range whose Lease the process holds (leader_election_master_status), or undefined. */
async function rangeHeld(operator: OperatorProcess): Promise<number | undefined> {
  const metrics = await fetch(operator.metricsUrl).then((r) => r.text()).catch(() => '');
  const held = [...metrics.matchAll(new RegExp(`leader_election_master_status\\{name="${LEASE_ID}-shard-(\\d+)-of-${SHARDS}"\\} 1`, 'g'))].map((m) => Number(m[1]));
  expect(held.length, 'a process holds at most one range').to.be.at.most(1);
  return held[0];
}

/** The names a process reconciled in a namespace (of its log lines of a reconcile). */
function reconciledIn(operator: OperatorProcess, namespace: string): Set<string> {
  const names = new Set<string>();
  for (const line of operator.logs().split('\n')) {
    if (!line.startsWith('{') || !line.includes('"reconcileID"')) continue;
    const entry = JSON.parse(line) as { namespace?: string; name?: string };
    if (entry.namespace === namespace && entry.name) names.add(entry.name);
  }
  return names;
}

/** The namespaces a process reconciled: those of its log lines of a reconcile (they carry a reconcileID). */
function reconciledNamespaces(operator: OperatorProcess): Set<string> {
  const namespaces = new Set<string>();
  for (const line of operator.logs().split('\n')) {
    if (!line.startsWith('{') || !line.includes('"reconcileID"')) continue;
    const entry = JSON.parse(line) as { namespace?: string };
    if (entry.namespace) namespaces.add(entry.namespace);
  }
  return namespaces;
}

async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs: number, logs: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${logs().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('hash-range sharding (--shard-count)', function () {
  this.timeout(240_000);
  let azure: RunningEmulator;

  before(async () => {
    azure = await start({ seed: sivmSeed(), options: { retryAfterSeconds: 1, lroDurationMs: 300 } });
  });
  after(async () => {
    await azure?.stop();
  });

  /** A cluster to shard: namespaces in both ranges, each with one GalleryShare on a gallery of its own. */
  function shardedCluster(kubeconfig: () => string) {
    const operators: OperatorProcess[] = [];
    const state = {} as { clients: KubeClients; client: KubeClient; byRange: string[][]; leaseNamespace: string };
    const allLogs = () => operators.map((o, i) => `--- operator ${i}\n${o.logs().slice(-2000)}`).join('\n');

    const launch = async (): Promise<OperatorProcess> => {
      const operator = await startOperator({
        kubeconfig: kubeconfig(),
        armEndpoint: azure.armEndpoint,
        caPath: azure.caPath,
        // Generous lease timings: three operators, an API server, etcd and the emulator share two cores.
        extraArgs: [
          '--resync-interval', '1h',
          '--shard-count', String(SHARDS),
          '--leader-election-namespace', state.leaseNamespace,
          '--leader-election-id', LEASE_ID,
          '--leader-election-lease-duration', '15s',
          '--leader-election-renew-deadline', '10s',
          '--leader-election-retry-period', '2s',
        ],
      });
      operators.push(operator);
      return operator;
    };

    const createShares = async () => {
      for (const namespace of state.byRange.flat()) {
        await state.clients.core.createNamespace({ body: { metadata: { name: namespace, labels: { 'galleryshare.io/test': 'true' } } } });
        await createVmSecrets(state.clients, namespace); // gallery-owner among them
        const gallery = `g${randomBytes(4).toString('hex')}`;
        await createGallery(azure, gallery, 'Private');
        const gs = galleryShareManifest('share', gallery, { roleAssignments: [{ principalId: ids.tester, principalType: 'User', role: 'Reader' }] });
        await state.client.create(galleryShares(namespace), gs);
      }
    };

    /** A TenantGrant and a SharedImageVM made through it, in one namespace (so in one range). */
    const createVmThroughGrant = async (namespace: string) => {
      await createAppSecret(state.clients, namespace);
      await createFabrikamAdminSecret(state.clients, namespace);
      await azure.control.grantConsent(APP, TARGET_TENANT);
      const rg = await createTargetResourceGroup(azure);
      await createTargetNetwork(azure, rg);
      await state.client.create(tenantGrants(namespace), tenantGrantManifest('grant', TEST_GALLERY, rg));
      const vm = vmManifest('vm', {
        image: { id: rbacImage('ubuntu', '1.0.0') },
        azureCredentialsRef: undefined,
        tenantGrantRef: { name: 'grant' },
        subscriptionId: TARGET_SUBSCRIPTION,
        resourceGroup: rg,
        network: { subnetId: subnetId(TARGET_SUBSCRIPTION, rg, 'vnet') },
      });
      await state.client.create<VM>(sharedImageVMs(namespace), vm);
      await waitForTenantGrant(state.client, namespace, 'grant', isGrantReady, { what: 'Ready', timeoutMs: 60_000, logs: allLogs });
      await waitForVM(state.client, namespace, 'vm', isVmReady, { what: 'Ready', timeoutMs: 60_000, logs: allLogs });
    };

    const waitAllReady = async (timeoutMs: number, until?: (gs: GalleryShare) => boolean) => {
      for (const namespace of state.byRange.flat()) {
        await waitForGalleryShare(state.client, namespace, 'share', until, { timeoutMs, logs: allLogs });
      }
    };

    /** Which process holds which range, once every range is held. */
    const holders = async (): Promise<Map<number, OperatorProcess>> =>
      eventually(
        async () => {
          const held = new Map<number, OperatorProcess>();
          for (const o of operators) {
            if (o.child.exitCode !== null || o.child.signalCode !== null) continue;
            const k = await rangeHeld(o);
            if (k === undefined) continue;
            expect(held.has(k), `range ${k} held by two processes`).to.equal(false);
            held.set(k, o);
          }
          return held.size === SHARDS ? held : undefined;
        },
        'every range to be held',
        60_000,
        allLogs,
      );

    /** Each holder reconciled the namespaces of its range and no other. */
    const expectSplit = (held: Map<number, OperatorProcess>, only?: Set<string>) => {
      for (const [k, operator] of held) {
        const reconciled = reconciledNamespaces(operator);
        const ours = state.byRange.flat().filter((ns) => reconciled.has(ns));
        expect(ours.sort(), `range ${k}'s holder reconciled its range's namespaces and no other`).to.deep.equal([...state.byRange[k]!].filter((ns) => !only || only.has(ns)).sort());
        for (const ns of reconciled) expect(inHashRange(ns, RANGES[k]!), `${ns} (hash ${fnv1a64(ns).toString(16)}) reconciled by range ${k}'s holder`).to.equal(true);
      }
    };

    return { operators, state, launch, createShares, createVmThroughGrant, waitAllReady, holders, expectSplit, allLogs };
  }

  describe('with the API server\'s ShardedListAndWatch gate on', () => {
    let controlPlane: ControlPlane;
    const cluster = shardedCluster(() => controlPlane.kubeconfigPath);

    before(async function () {
      this.timeout(180_000);
      controlPlane = await startControlPlane({ apiserverArgs: ['--feature-gates=ShardedListAndWatch=true'] });
      cluster.state.clients = kubeClients(controlPlane.kubeconfigPath);
      cluster.state.client = new KubeClient(cluster.state.clients.kc);
      await installCrds(cluster.state.clients);
      cluster.state.leaseNamespace = 'gso-system';
      await cluster.state.clients.core.createNamespace({ body: { metadata: { name: 'gso-system' } } });
      cluster.state.byRange = namespacesInBothRanges('hash', 2);
    });
    after(async () => {
      await Promise.all(cluster.operators.splice(0).map((o) => o.stop('SIGKILL')));
      cluster.state.client?.close();
      await controlPlane?.stop();
    });

    it('splits the namespaces between two range holders, a third process standing by; a SIGKILLed holder\'s range goes to the standby', async () => {
      const [a, b, c] = [await cluster.launch(), await cluster.launch(), await cluster.launch()];
      const held = await cluster.holders();
      const standby = [a, b, c].find((o) => ![...held.values()].includes(o))!;
      expect(await rangeHeld(standby), 'the third process holds no range').to.equal(undefined);

      await cluster.createShares();
      // A SharedImageVM and its TenantGrant share a namespace, so a range: its holder does both.
      const vmNamespace = cluster.state.byRange[1]![0]!;
      await cluster.createVmThroughGrant(vmNamespace);
      await cluster.waitAllReady(60_000);
      cluster.expectSplit(held);
      expect([...reconciledIn(held.get(1)!, vmNamespace)].sort(), 'range 1\'s holder made the grant and the VM through it').to.deep.equal(['grant', 'share', 'vm']);
      expect(reconciledNamespaces(standby).size, 'the standby reconciles nothing').to.equal(0);
      // The selector the processes send is one the server takes, and it selects the same range.
      for (const [k, range] of RANGES.entries()) {
        const listed = await cluster.state.client.get<{ items: GalleryShare[] }>(`/apis/${GROUP}/${VERSION}/galleryshares?${new URLSearchParams({ shardSelector: shardSelector(range) }).toString()}`);
        expect(listed.items.map((gs) => gs.metadata.namespace).sort(), `the server's range ${k}`).to.deep.equal([...cluster.state.byRange[k]!].sort());
      }

      // The holder of range 0 dies without releasing its Lease: the standby takes range 0 once
      // the Lease has gone unrenewed for its duration, and range 1's holder keeps range 1.
      const victim = held.get(0)!;
      victim.child.kill('SIGKILL');
      await victim.exited;
      const after = await eventually(async () => ((await rangeHeld(standby)) === 0 ? true : undefined), 'the standby to take range 0', 90_000, cluster.allLogs);
      expect(after).to.equal(true);
      expect(await rangeHeld(held.get(1)!)).to.equal(1);

      // An edit in every namespace: each is carried out by the range's (new) holder.
      for (const namespace of cluster.state.byRange.flat()) {
        await cluster.state.client.patch(`${galleryShares(namespace)}/share`, { spec: { roleAssignments: [{ principalId: ids.tester, principalType: 'User', role: 'Reader' }, { principalId: ids.imageConsumersGroup, principalType: 'User', role: 'Reader' }] } }, 'merge');
      }
      await cluster.waitAllReady(60_000, (gs) => gs.status?.roleAssignments?.length === 2 && gs.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True' && x.observedGeneration === gs.metadata.generation) === true);
      cluster.expectSplit(new Map([[0, standby], [1, held.get(1)!]]));
      expect(standby.logs(), 'the new holder of range 0 changed Azure for its namespaces').to.include('changing Azure');
    });
  });

  describe('with the gate off (the API server ignores the selector; each process filters by itself)', () => {
    const cluster = shardedCluster(() => testKubeconfigPath());

    before(() => {
      cluster.state.clients = kubeClients();
      cluster.state.client = new KubeClient(cluster.state.clients.kc);
      cluster.state.byRange = namespacesInBothRanges('hashoff', 2);
      cluster.state.leaseNamespace = cluster.state.byRange[0]![0]!;
    });
    after(async () => {
      await Promise.all(cluster.operators.splice(0).map((o) => o.stop('SIGKILL')));
      for (const namespace of cluster.state.byRange.flat()) await cluster.state.clients.core.deleteNamespace({ name: namespace }).catch(() => undefined);
      cluster.state.client?.close();
    });

    it('makes the same split', async () => {
      // The Lease namespace first (it is one of the test namespaces), then the operators.
      await cluster.createShares();
      await Promise.all([cluster.launch(), cluster.launch()]);
      const held = await cluster.holders();
      await cluster.waitAllReady(60_000);
      cluster.expectSplit(held);
    });
  });
});
