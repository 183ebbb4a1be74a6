// `npm run bench -- --kind import`: a bulk import against ARM's request budgets. N GalleryShares
// (default 1,000; each as in the GalleryShare bench: permission Groups, 2 subscriptions and 1
// tenant shared with, 2 role assignments) created at once, their galleries spread over as many
// subscriptions as Azure's limit of 100 galleries per subscription and region needs, against the
// emulator with ARM's token-bucket throttling on at Azure's sizes (250/25 reads, 200/10 writes,
// 200/10 deletes per subscription and principal). Run with the operator's client-side pacing on
// and, for contrast, off (each on its own subscriptions, so the buckets start full). Prints, per
// run: the 429s ARM answered, the import's duration (first create to all Ready), and the floor the
// buckets set: for each bucket the requests it had to carry, max over buckets of
// (requests - size) / refill rate (no client can finish sooner). Asserts nothing.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { GROUP, VERSION, type GalleryShare } from '../../src/api/v1alpha1/index.js';
import { galleryId } from '../../src/azure/arm-ids.js';
import { requestKind, type RequestKind } from '../../src/azure/pacing.js';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { start as startEmulator, type RequestLogEntry } from '../azure-emulator/index.js';
import type { Seed } from '../azure-emulator/seed.js';
import { ids, raw, sampleSeed, secrets } from '../emulator/helpers.js';
import { startControlPlane } from '../support/control-plane.js';
import { createTestNamespace, installCrds, kubeClients } from '../support/kube.js';
import { startOperator } from '../support/operator-process.js';
import { now, pool, ReadyTracker, seconds, sleep, table, Teardown } from './measure.js';

export interface ImportBenchSettings {
  objects: number;
  workers: number;
  latencyMs: number;
  lroMs: number;
  /** Which runs: pacing on, off, or both (on first). */
  pacing: 'on' | 'off' | 'both';
  operatorNodeOptions: string;
  json?: string;
}

/** Azure's documented buckets per subscription and principal (the emulator's defaults). */
const AZURE_BUCKETS: Record<RequestKind, { size: number; refillPerSecond: number }> = {
  read: { size: 250, refillPerSecond: 25 },
  write: { size: 200, refillPerSecond: 10 },
  delete: { size: 200, refillPerSecond: 10 },
};
const GALLERIES_PER_SUBSCRIPTION = 100;
const RG = 'import-rg';
const CREATE_CONCURRENCY = 20;

interface RunFigures {
  pacing: 'on' | 'off';
  objects: number;
  subscriptions: number;
  importMs: number;
  throttled429: number;
  armRequests: number;
  /** The floor the buckets set, and the bucket that sets it. */
  floorMs: number;
  floorBucket: string;
  /** The floor at the operator's own (smaller) budgets, when pacing is on. */
  pacedFloorMs?: number;
  requestsPerBucket: Record<string, number>;
  /** The lowest level any of Azure's buckets reached, replaying the logged requests (size - this: the headroom left). */
  lowestBucket: { tokens: number; size: number; bucket: string };
}

/**
 * Replays the logged requests through Azure's buckets (start full, refill continuously): the
 * lowest level any reached. By arrival (startTime), as ARM takes a token when a request comes in:
 * the answer times of requests that took long bunch up, and would show a lower level than ARM's.
 */
export function lowestBucketLevel(entries: readonly Pick<RequestLogEntry, 'startTime' | 'path' | 'method' | 'status' | 'principalId'>[], buckets: Record<RequestKind, { size: number; refillPerSecond: number }>): { tokens: number; size: number; bucket: string } {
  const state = new Map<string, { tokens: number; at: number }>();
  let lowest = { tokens: Infinity, size: 0, bucket: '(none)' };
  for (const e of [...entries].sort((a, b) => Date.parse(a.startTime) - Date.parse(b.startTime))) {
    const subscription = /^\/subscriptions\/([^/]+)/i.exec(e.path)?.[1]?.toLowerCase();
    if (!subscription || e.status === 429) continue;
    const kind = requestKind(e.method);
    const { size, refillPerSecond } = buckets[kind];
    const key = `${subscription} ${e.principalId ?? '?'} ${kind}`;
    const at = Date.parse(e.startTime);
    const before = state.get(key) ?? { tokens: size, at };
    const tokens = Math.min(size, before.tokens + ((at - before.at) / 1000) * refillPerSecond) - 1;
    state.set(key, { tokens, at });
    if (tokens < lowest.tokens) lowest = { tokens, size, bucket: key };
  }
  return lowest;
}

/** max over buckets of (requests - size) / refill: the time the buckets alone need. */
export function bucketFloor(entries: readonly RequestLogEntry[], buckets: Record<RequestKind, { size: number; refillPerSecond: number }>): { floorMs: number; bucket: string; perBucket: Record<string, number> } {
  const perBucket: Record<string, number> = {};
  for (const e of entries) {
    const subscription = /^\/subscriptions\/([^/]+)/i.exec(e.path)?.[1]?.toLowerCase();
    if (!subscription || (e.operation ?? '').startsWith('Entra')) continue;
    const key = `${subscription} ${e.principalId ?? '?'} ${requestKind(e.method)}`;
    perBucket[key] = (perBucket[key] ?? 0) + 1;
  }
  let floorMs = 0;
  let bucket = '(none)';
  for (const [key, n] of Object.entries(perBucket)) {
    const { size, refillPerSecond } = buckets[key.split(' ')[2] as RequestKind];
    const ms = (Math.max(0, n - size) / refillPerSecond) * 1000;
    if (ms > floorMs) [floorMs, bucket] = [ms, key];
  }
  return { floorMs, bucket, perBucket };
}

export async function runImportBench(s: ImportBenchSettings): Promise<number> {
  const started = now();
  const say = (line: string) => console.error(`bench [${((now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);
  const teardown = new Teardown(say);

  const runs: ('on' | 'off')[] = s.pacing === 'both' ? ['on', 'off'] : [s.pacing];
  const perRun = Math.ceil(s.objects / GALLERIES_PER_SUBSCRIPTION);
  // Subscriptions of the Contoso tenant, each with a resource group, the gallery owner Owner on it.
  const subscriptionsOf = new Map(runs.map((run) => [run, Array.from({ length: perRun }, () => randomUUID())]));
  const seed: Seed = sampleSeed();
  const contoso = seed.tenants.find((t) => t.id === ids.contoso)!;
  for (const [run, subs] of subscriptionsOf) {
    subs.forEach((id, i) => {
      contoso.subscriptions = [...(contoso.subscriptions ?? []), { id, name: `Import ${run} ${i}` }];
      seed.resourceGroups = [...(seed.resourceGroups ?? []), { subscription: id, name: RG, location: 'westus' }];
      seed.roleAssignments = [...(seed.roleAssignments ?? []), { scope: `/subscriptions/${id}`, principal: ids.galleryOwner, role: 'Owner' }];
    });
  }

  try {
    say(`${s.objects} GalleryShares over ${perRun} subscriptions (≤ ${GALLERIES_PER_SUBSCRIPTION} galleries each), --workers ${s.workers}, ${s.latencyMs} ms per ARM call, ${s.lroMs} ms share operations; ARM throttling at Azure's sizes; pacing ${runs.join(', then ')}`);
    const controlPlane = await startControlPlane({ log: (line) => say(line) });
    teardown.steps.push({ name: 'the control plane', run: () => controlPlane.stop() });
    const clients = kubeClients(controlPlane.kubeconfigPath);
    await installCrds(clients);
    const kube = new KubeClient(clients.kc);
    teardown.steps.push({ name: 'the Kubernetes client', run: () => Promise.resolve(kube.close()) });
    const azure = await startEmulator({ seed, options: { lroDurationMs: 0, retryAfterSeconds: 1 } });
    teardown.steps.push({ name: 'the Azure emulator', run: () => azure.stop() });

    // Galleries, made by the portal admin (another principal) before throttling is on.
    const token = await azure.control.adminToken(ids.contoso);
    const works = new Map(
      runs.map((run) => [
        run,
        Array.from({ length: s.objects }, (_, i) => ({
          name: `import-${run}-${String(i).padStart(4, '0')}`,
          subscription: subscriptionsOf.get(run)![Math.floor(i / GALLERIES_PER_SUBSCRIPTION)]!,
          gallery: `gi${run}${String(i).padStart(4, '0')}`,
        })),
      ]),
    );
    for (const work of works.values()) {
      await pool(work, 50, async (w) => {
        const path = galleryId({ subscriptionId: w.subscription, resourceGroup: RG, name: w.gallery });
        const res = await raw(azure, 'PUT', `${path}?api-version=2025-12-03`, { token, body: { location: 'westus', properties: { sharingProfile: { permissions: 'Groups' } } } });
        if (res.status !== 200 && res.status !== 201) throw new Error(`creating gallery ${w.gallery}: ${res.status} ${res.text}`);
      });
    }
    say(`created ${s.objects * runs.length} galleries`);
    await azure.control.setOptions({ lroDurationMs: s.lroMs, retryAfterSeconds: Math.max(1, Math.round(s.lroMs / 1000)), throttling: { enabled: true } });
    await azure.control.addFault({ path: '^/(subscriptions|providers)(/|$)', latencyMs: s.latencyMs });

    const figures: RunFigures[] = [];
    for (const run of runs) {
      const work = works.get(run)!;
      const namespace = await createTestNamespace(clients, `import-${run}`);
      await clients.core.createNamespacedSecret({
        namespace,
        body: { metadata: { name: 'gallery-owner' }, stringData: { tenantId: ids.contoso, clientId: ids.galleryOwner, clientSecret: secrets[ids.galleryOwner]! } },
      });
      const operator = await startOperator({
        kubeconfig: controlPlane.kubeconfigPath,
        armEndpoint: azure.armEndpoint,
        caPath: azure.caPath,
        extraArgs: ['--workers', String(s.workers), '--leader-elect', 'false', '--log-level', 'info', '--resync-interval', '24h', '--watch-namespaces', namespace, '--arm-pacing', run === 'on' ? 'true' : 'false'],
        nodeOptions: s.operatorNodeOptions,
      });
      teardown.steps.push({ name: `the operator (pacing ${run})`, run: () => teardown.stopOperator(operator) });
      const collection = `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares`;
      const tracker = new ReadyTracker(clients.kc, kube, collection);
      await tracker.start();
      tracker.expect(work.map((w) => w.name));
      await azure.control.clearRequests();

      say(`pacing ${run}: creating ${s.objects} GalleryShares, ${CREATE_CONCURRENCY} at a time`);
      const t0 = now();
      await pool(work, CREATE_CONCURRENCY, async (w) => {
        const gs: GalleryShare = {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: 'GalleryShare',
          metadata: { name: w.name },
          spec: {
            gallery: { subscriptionId: w.subscription, resourceGroup: RG, name: w.gallery },
            azureCredentialsRef: { name: 'gallery-owner' },
            permission: 'Groups',
            directShare: { subscriptions: [randomUUID(), randomUUID()], tenants: [randomUUID()] },
            roleAssignments: [randomUUID(), randomUUID()].map((principalId) => ({ principalId, principalType: 'User' as const, role: 'Reader' })),
          },
        };
        await kube.create(collection, gs);
      });
      const deadline = t0 + Math.max(600_000, s.objects * 1_000);
      let lastProgress = now();
      while (tracker.pending().length > 0) {
        if (teardown.interrupted) throw new Error('teardown.interrupted');
        if (now() > deadline) throw new Error(`${tracker.pending().length} of ${s.objects} not Ready after ${seconds(now() - t0)}\n${operator.logs().split('\n').slice(-20).join('\n')}`);
        if (now() - lastProgress > 10_000) {
          lastProgress = now();
          say(`pacing ${run}: ${s.objects - tracker.pending().length}/${s.objects} Ready`);
        }
        await sleep(100);
      }
      const importMs = Math.max(...tracker.readyAt.values()) - t0;
      tracker.stop();
      await teardown.stopOperator(operator);
      teardown.steps.pop();
      const entries = (await azure.control.requests()).filter((e) => !(e.operation ?? '').startsWith('Entra'));
      const counters = await azure.control.counters();
      const counted = Object.values(counters).reduce((a, b) => a + b, 0);
      const logged = (await azure.control.requests()).length;
      if (counted !== logged) say(`warning: the request log dropped entries (${logged} of ${counted}); the figures below undercount`);
      const floor = bucketFloor(entries, AZURE_BUCKETS);
      const paced = run === 'on' ? bucketFloor(entries, { read: { size: 200, refillPerSecond: 20 }, write: { size: 160, refillPerSecond: 8 }, delete: { size: 160, refillPerSecond: 8 } }) : undefined;
      const f: RunFigures = {
        pacing: run,
        objects: s.objects,
        subscriptions: perRun,
        importMs,
        throttled429: entries.filter((e) => e.status === 429 && !e.faultId).length,
        armRequests: entries.length,
        floorMs: floor.floorMs,
        floorBucket: floor.bucket,
        ...(paced ? { pacedFloorMs: paced.floorMs } : {}),
        requestsPerBucket: floor.perBucket,
        lowestBucket: lowestBucketLevel(entries, AZURE_BUCKETS),
      };
      figures.push(f);
      say(`pacing ${run}: all Ready in ${seconds(importMs)}, ${f.throttled429} 429s, ${f.armRequests} ARM requests; floor ${seconds(f.floorMs)}; lowest bucket ${f.lowestBucket.tokens.toFixed(1)} of ${f.lowestBucket.size}`);
    }

    const busiest = (f: RunFigures) => {
      const [sub, , kind] = f.floorBucket.split(' ');
      return `${f.requestsPerBucket[f.floorBucket] ?? 0} ${kind}s in subscription ${sub?.slice(0, 8)}…`;
    };
    console.log(
      `\nImport of ${s.objects} GalleryShares over ${perRun} subscriptions (${GALLERIES_PER_SUBSCRIPTION} galleries each), ARM throttling at Azure's sizes (reads 250/25 s, writes 200/10 s, deletes 200/10 s per subscription and principal), --workers ${s.workers}, ${s.latencyMs} ms per ARM call, ${s.lroMs} ms share operations:\n`,
    );
    console.log(
      table([
        ['client-side pacing', '429s received', 'import (first create to all Ready)', 'floor at Azure\'s buckets', 'floor at the operator\'s budgets', 'ARM requests', 'busiest bucket', 'lowest bucket level (Azure\'s)'],
        ...figures.map((f) => [
          f.pacing === 'on' ? 'on (defaults: 200/20, 160/8, 160/8)' : 'off',
          String(f.throttled429),
          seconds(f.importMs),
          seconds(f.floorMs),
          f.pacedFloorMs === undefined ? '' : seconds(f.pacedFloorMs),
          String(f.armRequests),
          busiest(f),
          `${f.lowestBucket.tokens.toFixed(1)} of ${f.lowestBucket.size} (${f.lowestBucket.bucket.split(' ')[2]}s)`,
        ]),
      ]),
    );
    if (s.json) writeFileSync(s.json, JSON.stringify(figures, null, 2) + '\n');
    await teardown.run();
    return 0;
  } catch (err) {
    say(`failed: ${err instanceof Error ? err.message : String(err)}`);
    await teardown.run();
    return 1;
  }
}
