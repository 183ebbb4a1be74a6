// The chaos run's audit: the emulator's world and request log held against the objects' final
// specs, after the faults stopped and the objects converged. Each term is defined in the README
// ("npm run chaos", the audit); every one should be zero. Pure: it reads what it is given.
import type { GalleryShare, SharedImageVM, TenantGrant } from '../../src/api/v1alpha1/index.js';
import { galleryId } from '../../src/azure/arm-ids.js';
import { WINDOWS_INHERITED_LOG, WINDOW_LEARNED_LOG } from '../../src/azure/clients.js';
import { roleGuid } from '../../src/azure/roles.js';
import { kstatus } from '../../src/runtime/kstatus.js';
import { idKey } from '../azure-emulator/ids.js';
import type { RequestLogEntry } from '../azure-emulator/request-log.js';
import type { GalleryRecord, World } from '../azure-emulator/world.js';
import type { Workload, WorkloadManifest, WorkloadObject } from '../support/workload.js';

/** One ARM or Entra request as the chaos harness saw it at the emulator (start and answer times). */
export interface ChaosRequest {
  /** Epoch ms when the emulator began handling it, and when it answered (or dropped it). */
  start: number;
  end: number;
  method: string;
  path: string;
  /** 0 for a dropped connection. */
  status: number;
  /** Lower-case subscription id from the path (ARM requests only). */
  subscription?: string;
  /** Object id (oid) of the bearer token's principal, lower case. */
  principal?: string;
  /** Retry-After (seconds) of a 429. */
  retryAfterSeconds?: number;
  /** Whether an injected fault shaped the answer. */
  injected: boolean;
  /**
   * The request's x-gso-gate-seen header (src/azure/clients.ts GATE_SEEN_HEADER): the end (epoch
   * ms) of the latest Retry-After window the sender's gate knew for the subscription when it let
   * the request go, 0 for none; absent when the request did not pass the operator's gate.
   */
  gateSeen?: number;
}

/**
 * When an operator replica learned a Retry-After window: one line of its log, from a 429 it
 * received (the window opened or moved later) or from the Lease when it took over (inherited).
 */
export interface GateLogLine {
  /** Epoch ms of the log line. */
  time: number;
  /** Lower-case subscription id. */
  subscription: string;
  /** Epoch ms the window ends. */
  until: number;
  inherited: boolean;
}

/** A live object at the end: its final manifest with status, as read from Kubernetes. */
export type FinalObject = WorkloadManifest & { metadata: { namespace?: string; name?: string; generation?: number } };

/**
 * The window lines of the operators' logs (pino JSON, one object a line): when each replica
 * learned a Retry-After window (WINDOW_LEARNED_LOG) or inherited windows on taking over the Lease
 * (WINDOWS_INHERITED_LOG). Other lines, and anything not JSON, are skipped.
 */
export function gateLogLines(logs: string[]): GateLogLine[] {
  const lines: GateLogLine[] = [];
  for (const text of logs) {
    for (const raw of text.split('\n')) {
      if (!raw.includes('Retry-After')) continue;
      let entry: { time?: string; msg?: string; subscription?: string; until?: string; windows?: { subscription: string; until: string }[] };
      try {
        entry = JSON.parse(raw) as typeof entry;
      } catch {
        continue;
      }
      const time = Date.parse(entry.time ?? '');
      if (!Number.isFinite(time)) continue;
      if (entry.msg === WINDOW_LEARNED_LOG && entry.subscription && entry.until) lines.push({ time, subscription: entry.subscription.toLowerCase(), until: Date.parse(entry.until), inherited: false });
      if (entry.msg === WINDOWS_INHERITED_LOG) for (const w of entry.windows ?? []) lines.push({ time, subscription: w.subscription.toLowerCase(), until: Date.parse(w.until), inherited: true });
    }
  }
  return lines.filter((l) => Number.isFinite(l.until));
}

export interface AuditInput {
  workload: Workload;
  world: World;
  /** Objects not deleted by the run, as read at the end (missing ones: undefined). */
  live: { object: WorkloadObject; final: FinalObject | undefined }[];
  /** Objects the run deleted, with the spec they had when deleted, and whether they still exist in Kubernetes. */
  deleted: { object: WorkloadObject; spec: WorkloadManifest['spec']; stillPresent: boolean }[];
  requests: ChaosRequest[];
  /** The emulator's own request log, complete (for the write effects). */
  log: RequestLogEntry[];
  /** Epoch ms of every leader change the harness caused (a kill, an API server restart). */
  failovers: number[];
  /** Every replica's window lines (WINDOW_LEARNED_LOG, WINDOWS_INHERITED_LOG), from all their logs. */
  gateLog: GateLogLine[];
}

export interface AuditResult {
  duplicateRoleAssignments: number;
  roleAssignmentsMissing: number;
  roleAssignmentsExtra: number;
  shareGroupsMissing: number;
  shareGroupsExtra: number;
  vmsLeaked: number;
  vmsCreatedTwice: number;
  objectsNotReady: number;
  deletedObjectsRemaining: number;
  deletedObjectsAzureLeftovers: number;
  requestsInsideRetryAfter: number;
  /** Of those, the ones a replica knew of before a leader change, sent by a leader that had not inherited them. */
  requestsInsideRetryAfterAcrossFailover: number;
  /** Not counted above: requests in a window whose sender had not learned it when it sent them (its stamp says so). */
  requestsInFlightAt429: number;
  /** Of those, the ones the emulator read after the operator had logged the window (written to the socket before). */
  requestsInFlightReadAfterLearned: number;
  /** The longest such lag: from the operator's window line to the emulator's receipt (ms; 0 when none). */
  inFlightReadAfterLearnedMaxMs: number;
  /** null when the emulator's request log records no write effects. */
  redundantWrites: number | null;
  /** Samples, to look into a non-zero term (at most 5 each). */
  examples: Record<string, string[]>;
}

const roleKey = (principalId: string, role: string, scope: string) => `${principalId.toLowerCase()}|${roleGuid(role)}|${idKey(scope)}`;
const rgScope = (sub: string, rg: string) => `/subscriptions/${sub}/resourceGroups/${rg}`;

/** The role assignments an object's spec calls for, as keys principal|role GUID|scope. */
function expectedAssignments(w: Workload, world: World, o: WorkloadObject, spec: WorkloadManifest['spec']): string[] {
  if (o.kind === 'GalleryShare') {
    const s = spec as GalleryShare['spec'];
    const scope = galleryId(s.gallery);
    return (s.roleAssignments ?? []).map((a) => roleKey(a.principalId, a.role, a.image ? `${scope}/images/${a.image}${a.version ? `/versions/${a.version}` : ''}` : scope));
  }
  if (o.kind === 'TenantGrant') {
    const s = spec as TenantGrant['spec'];
    const keys: string[] = [];
    const source = world.servicePrincipal(s.application.clientId, s.source.tenantId);
    const target = world.servicePrincipal(s.application.clientId, s.target.tenantId);
    if (source) keys.push(roleKey(source.objectId, s.source.role ?? 'Reader', galleryId(s.source.gallery)));
    if (target) keys.push(roleKey(target.objectId, s.target.role ?? 'Contributor', rgScope(s.target.subscriptionId, s.target.resourceGroup)));
    void w;
    return keys;
  }
  return [];
}

/** Scopes whose assignments only the operator makes in this workload (galleries and grant resource groups). */
function managedScopes(w: Workload): Set<string> {
  const scopes = new Set<string>();
  for (const g of w.seed.galleries ?? []) scopes.add(idKey(g.id ?? galleryId({ subscriptionId: g.subscription!, resourceGroup: g.resourceGroup!, name: g.name! })));
  for (const o of w.objects) {
    if (o.kind === 'TenantGrant') {
      const t = (o.manifest as TenantGrant).spec.target;
      scopes.add(idKey(rgScope(t.subscriptionId, t.resourceGroup)));
    }
  }
  return scopes;
}

const isReady = (obj: FinalObject): boolean => {
  const ready = obj.status?.conditions?.find((c) => c.type === 'Ready');
  return kstatus(obj) === 'Current' && ready?.status === 'True' && ready.observedGeneration === obj.metadata.generation;
};

const vmKey = (sub: string, rg: string, name: string) => `${sub}/${rg}/${name}`.toLowerCase();
const VM_PATH = /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.compute\/(virtualmachines|virtualmachinescalesets)\/([^/]+)$/i;
const WRITE_METHODS = new Set(['PUT', 'PATCH', 'POST', 'DELETE']);

export function audit(input: AuditInput): AuditResult {
  const { workload: w, world } = input;
  const examples: Record<string, string[]> = {};
  const note = (term: string, text: string) => {
    const list = (examples[term] ??= []);
    if (list.length < 5) list.push(text);
  };

  // ----- Role assignments -----
  const scopes = managedScopes(w);
  const actual = new Map<string, number>();
  for (const ra of world.roleAssignments.values()) {
    if (!scopes.has(idKey(ra.scope))) continue;
    const key = roleKey(ra.principalId, ra.roleDefinitionId.split('/').pop() ?? '', ra.scope);
    actual.set(key, (actual.get(key) ?? 0) + 1);
  }
  let duplicateRoleAssignments = 0;
  for (const [key, n] of actual) {
    if (n > 1) {
      duplicateRoleAssignments += n - 1;
      note('duplicateRoleAssignments', `${key} ×${n}`);
    }
  }
  const expected = new Set<string>();
  for (const { object, final } of input.live) for (const k of expectedAssignments(w, world, object, (final ?? object.manifest).spec)) expected.add(k);
  const ofDeleted = new Set<string>();
  for (const d of input.deleted) for (const k of expectedAssignments(w, world, d.object, d.spec)) ofDeleted.add(k);
  let roleAssignmentsMissing = 0;
  for (const k of expected) {
    if (!actual.has(k)) {
      roleAssignmentsMissing++;
      note('roleAssignmentsMissing', k);
    }
  }
  let roleAssignmentsExtra = 0;
  let deletedObjectsAzureLeftovers = 0;
  for (const k of actual.keys()) {
    if (expected.has(k)) continue;
    if (ofDeleted.has(k)) {
      deletedObjectsAzureLeftovers++;
      note('deletedObjectsAzureLeftovers', `role assignment ${k}`);
    } else {
      roleAssignmentsExtra++;
      note('roleAssignmentsExtra', k);
    }
  }

  // ----- Share groups (direct sharing) of the GalleryShares' galleries -----
  const galleries = new Map<string, GalleryRecord>();
  for (const r of world.resources.values()) if (r.kind === 'gallery') galleries.set(idKey(r.id), r);
  let shareGroupsMissing = 0;
  let shareGroupsExtra = 0;
  const compareGroups = (o: WorkloadObject, spec: GalleryShare['spec'] | undefined, deleted: boolean) => {
    const gallery = galleries.get(idKey(galleryId((o.manifest as GalleryShare).spec.gallery)));
    if (!gallery) return;
    const want = new Set([...(spec?.directShare?.subscriptions ?? []), ...(spec?.directShare?.tenants ?? [])].map((x) => x.toLowerCase()));
    const have = new Set([...gallery.sharedSubscriptions, ...gallery.sharedTenants].map((x) => x.toLowerCase()));
    for (const x of want) {
      if (!have.has(x)) {
        shareGroupsMissing++;
        note('shareGroupsMissing', `${o.namespace}/${o.name}: ${x}`);
      }
    }
    for (const x of have) {
      if (want.has(x)) continue;
      if (deleted) {
        deletedObjectsAzureLeftovers++;
        note('deletedObjectsAzureLeftovers', `share group ${x} on ${gallery.name} (${o.namespace}/${o.name})`);
      } else {
        shareGroupsExtra++;
        note('shareGroupsExtra', `${o.namespace}/${o.name}: ${x}`);
      }
    }
  };
  for (const { object, final } of input.live) if (object.kind === 'GalleryShare') compareGroups(object, (final ?? object.manifest).spec as GalleryShare['spec'], false);
  for (const d of input.deleted) if (d.object.kind === 'GalleryShare') compareGroups(d.object, undefined, true);

  // ----- VMs and scale sets -----
  const liveVms = new Set<string>();
  const deletedVms = new Set<string>();
  for (const { object } of input.live) {
    if (object.kind !== 'SharedImageVM') continue;
    const s = (object.manifest as SharedImageVM).spec;
    liveVms.add(vmKey(s.subscriptionId, s.resourceGroup, object.name));
  }
  for (const d of input.deleted) {
    if (d.object.kind !== 'SharedImageVM') continue;
    const s = d.spec as SharedImageVM['spec'];
    deletedVms.add(vmKey(s.subscriptionId, s.resourceGroup, d.object.name));
  }
  let vmsLeaked = 0;
  for (const r of world.resources.values()) {
    if (r.kind !== 'virtualMachine' && r.kind !== 'virtualMachineScaleSet') continue;
    const key = vmKey(r.subscriptionId, r.resourceGroup, r.name);
    if (liveVms.has(key)) continue;
    if (deletedVms.has(key)) {
      deletedObjectsAzureLeftovers++;
      note('deletedObjectsAzureLeftovers', `${r.kind} ${key}`);
    } else {
      vmsLeaked++;
      note('vmsLeaked', `${r.kind} ${key}`);
    }
  }
  const creates = new Map<string, number>();
  for (const r of input.requests) {
    if (r.method !== 'PUT' || r.status !== 201 || !VM_PATH.test(r.path)) continue;
    const key = r.path.toLowerCase();
    creates.set(key, (creates.get(key) ?? 0) + 1);
  }
  let vmsCreatedTwice = 0;
  for (const [key, n] of creates) {
    if (n > 1) {
      vmsCreatedTwice += n - 1;
      note('vmsCreatedTwice', `${key} ×${n}`);
    }
  }

  // ----- Objects -----
  let objectsNotReady = 0;
  for (const { object, final } of input.live) {
    if (!final || !isReady(final)) {
      objectsNotReady++;
      const c = final?.status?.conditions?.filter((x) => x.status === 'True').map((x) => `${x.type}/${x.reason}`).join(',');
      note('objectsNotReady', `${object.kind} ${object.namespace}/${object.name}: ${final ? c : 'missing'}`);
    }
  }
  const deletedObjectsRemaining = input.deleted.filter((d) => d.stillPresent).length;
  for (const d of input.deleted.filter((x) => x.stillPresent)) note('deletedObjectsRemaining', `${d.object.kind} ${d.object.namespace}/${d.object.name}`);

  // ----- Requests inside a Retry-After window -----
  // A window is ARM's: from the emulator's 429 answer (end) for Retry-After, per subscription and
  // principal. A request the emulator received inside it counts when its sender knew the window
  // when it let the request go. No time cut-off decides that: every operator request carries the
  // end of the latest window its gate knew for the subscription (gateSeen). The gate's window for
  // a 429 ends at the moment it learned it plus Retry-After, never before ARM's (one clock, and it
  // learns after the emulator answered), so a stamp at or past ARM's end means the sender knew
  // this window (or one at least as long) and sent anyway: counted. A lower stamp means it had not
  // learned it yet: the request was in flight, counted apart, however late the emulator read it
  // (of those, the ones read after a replica logged the window show how long a written request
  // can wait in a busy process). Two cases the stamp alone cannot clear, from the replicas' logs
  // (gateLog: when each window was learned or inherited): a window a replica had learned before a
  // leader change, then missing from the new leader's stamps (not handed over on the Lease),
  // counts, apart as across a failover (so does a request the old leader sent before it learned
  // the window and the emulator read after the change: the stamp does not name the sender, so the
  // audit errs towards counting); and a window no replica ever learned, with no leader
  // change to explain it, counts (the operator missed a 429). A request without a stamp counts.
  const byCaller = new Map<string, ChaosRequest[]>();
  for (const r of input.requests) {
    if (!r.subscription || !r.principal) continue;
    const key = `${r.subscription}|${r.principal}`;
    const list = byCaller.get(key) ?? [];
    list.push(r);
    byCaller.set(key, list);
  }
  const learnedBySubscription = new Map<string, GateLogLine[]>();
  for (const line of input.gateLog) {
    const list = learnedBySubscription.get(line.subscription) ?? [];
    list.push(line);
    learnedBySubscription.set(line.subscription, list);
  }
  /** The first moment a replica knew a window for this subscription lasting to `until` or later. */
  const learnedAt = (subscription: string, until: number): number | undefined => {
    let first: number | undefined;
    for (const line of learnedBySubscription.get(subscription) ?? []) if (line.until >= until && (first === undefined || line.time < first)) first = line.time;
    return first;
  };
  let requestsInsideRetryAfter = 0;
  let requestsInsideRetryAfterAcrossFailover = 0;
  let requestsInFlightAt429 = 0;
  let requestsInFlightReadAfterLearned = 0;
  const failoverBetween = (from: number, to: number) => input.failovers.some((t) => t >= from && t <= to);
  let inFlightReadAfterLearnedMaxMs = 0;
  type Verdict = { rank: 0 | 1 | 2 | 3; why: string; readAfterLearnedMs?: number };
  for (const list of byCaller.values()) {
    list.sort((a, b) => a.start - b.start);
    const windows = list
      .filter((r) => r.status === 429 && (r.retryAfterSeconds ?? 0) > 0)
      .map((r) => {
        const until = r.end + r.retryAfterSeconds! * 1000;
        return { from: r.end, until, learned: learnedAt(r.subscription!, until), r };
      });
    if (windows.length === 0) continue;
    for (const req of list) {
      let worst: Verdict | undefined;
      for (const win of windows) {
        if (!(req.start > win.from && req.start < win.until)) continue;
        const at = `${req.method} ${req.path} at +${req.start - win.from} ms after a 429 (${win.r.injected ? 'injected' : 'throttled'}, Retry-After ${win.r.retryAfterSeconds} s)`;
        let v: Verdict;
        if (req.gateSeen === undefined) v = { rank: 3, why: `${at}, not stamped by the gate` };
        else if (req.gateSeen >= win.until) v = { rank: 3, why: `${at}, sent knowing a window to +${req.gateSeen - win.from} ms` };
        else if (win.learned === undefined) v = failoverBetween(win.from, req.start) ? { rank: 1, why: `${at}, never learned: its receiver went before` } : { rank: 3, why: `${at}, a 429 no replica learned` };
        else if (win.learned <= req.start && failoverBetween(win.learned, req.start)) v = { rank: 2, why: `${at}, learned at +${win.learned - win.from} ms, not handed over at a failover` };
        else v = { rank: 1, why: at, ...(win.learned <= req.start ? { readAfterLearnedMs: req.start - win.learned } : {}) };
        if (!worst || v.rank > worst.rank) worst = v;
      }
      if (!worst) continue;
      if (worst.rank === 1) {
        requestsInFlightAt429++;
        if (worst.readAfterLearnedMs !== undefined) {
          requestsInFlightReadAfterLearned++;
          inFlightReadAfterLearnedMaxMs = Math.max(inFlightReadAfterLearnedMaxMs, worst.readAfterLearnedMs);
        }
        continue;
      }
      requestsInsideRetryAfter++;
      if (worst.rank === 2) requestsInsideRetryAfterAcrossFailover++;
      note('requestsInsideRetryAfter', worst.why);
    }
  }

  // ----- Writes whose effect was already in place -----
  const withEffect = input.log.filter((e) => e.effect !== undefined);
  let redundantWrites: number | null = null;
  if (withEffect.length > 0) {
    redundantWrites = 0;
    for (const e of withEffect) {
      const effect = e.effect;
      if (!WRITE_METHODS.has(e.method.toUpperCase()) || e.status < 200 || e.status > 299) continue;
      if (effect === 'unchanged' || effect === 'absent') {
        redundantWrites++;
        note('redundantWrites', `${e.method} ${e.path} (${effect}, ${e.status})`);
      }
    }
  }

  return {
    duplicateRoleAssignments,
    roleAssignmentsMissing,
    roleAssignmentsExtra,
    shareGroupsMissing,
    shareGroupsExtra,
    vmsLeaked,
    vmsCreatedTwice,
    objectsNotReady,
    deletedObjectsRemaining,
    deletedObjectsAzureLeftovers,
    requestsInsideRetryAfter,
    requestsInsideRetryAfterAcrossFailover,
    requestsInFlightAt429,
    requestsInFlightReadAfterLearned,
    inFlightReadAfterLearnedMaxMs,
    redundantWrites,
    examples,
  };
}

/** The terms in the order the table prints them, with their labels. */
export const AUDIT_TERMS: [keyof Omit<AuditResult, 'examples' | 'requestsInFlightAt429' | 'requestsInFlightReadAfterLearned' | 'inFlightReadAfterLearnedMaxMs'>, string][] = [
  ['duplicateRoleAssignments', 'duplicate role assignments'],
  ['roleAssignmentsMissing', 'role assignments missing'],
  ['roleAssignmentsExtra', 'role assignments extra'],
  ['shareGroupsMissing', 'share groups missing'],
  ['shareGroupsExtra', 'share groups extra'],
  ['vmsLeaked', 'VMs and scale sets leaked'],
  ['vmsCreatedTwice', 'VMs and scale sets created twice'],
  ['objectsNotReady', 'objects not Ready'],
  ['deletedObjectsRemaining', 'deleted objects still in Kubernetes'],
  ['deletedObjectsAzureLeftovers', "deleted objects' Azure resources left"],
  ['requestsInsideRetryAfter', 'requests inside a Retry-After window'],
  ['requestsInsideRetryAfterAcrossFailover', '  of which across a failover'],
  ['redundantWrites', 'writes beyond the plans'],
];
