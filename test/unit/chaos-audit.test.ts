// The chaos run's audit (test/chaos/audit.ts) on a world built from a small workload: a clean run
// counts zero everywhere, and each kind of loss is counted in its own term.
import { expect } from 'chai';
import type { GalleryShare, SharedImageVM } from '../../src/api/v1alpha1/index.js';
import { galleryId } from '../../src/azure/arm-ids.js';
import { roleGuid } from '../../src/azure/roles.js';
import { idKey } from '../azure-emulator/ids.js';
import { buildWorld } from '../azure-emulator/seed.js';
import { roleAssignmentId, type GalleryRecord, type World } from '../azure-emulator/world.js';
import { WINDOWS_INHERITED_LOG, WINDOW_LEARNED_LOG } from '../../src/azure/clients.js';
import { audit, gateLogLines, type AuditInput, type ChaosRequest, type FinalObject } from '../chaos/audit.js';
import { buildWorkload, type Workload, type WorkloadObject } from '../support/workload.js';

const w: Workload = buildWorkload({ galleryShares: 3, tenantGrants: 1, sharedImageVMs: 2, seed: 5 });
const gs = w.objects.filter((o) => o.kind === 'GalleryShare');
const vms = w.objects.filter((o) => o.kind === 'SharedImageVM');

/** The final object as a converged operator leaves it: Ready for its generation. */
const ready = (o: WorkloadObject): FinalObject =>
  ({
    ...o.manifest,
    metadata: { ...o.manifest.metadata, namespace: o.namespace, generation: 1 },
    status: {
      observedGeneration: 1,
      conditions: [
        { type: 'Ready', status: 'True', reason: 'Ready', message: '', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z' },
        { type: 'Reconciling', status: 'False', reason: 'Ready', message: '', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z' },
        { type: 'Stalled', status: 'False', reason: 'Ready', message: '', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z' },
      ],
    },
  }) as unknown as FinalObject;

function assign(world: World, scope: string, principalId: string, role: string, name: string): void {
  const ra = { name, scope, roleDefinitionId: roleGuid(role), principalId, principalType: 'Group' as const, createdOn: '', updatedOn: '' };
  world.roleAssignments.set(idKey(roleAssignmentId(ra)), ra);
}

/** The world a correct operator leaves: every GalleryShare's assignments and groups, every VM. */
function convergedWorld(): World {
  const world = buildWorld(w.seed, Date.now());
  let n = 0;
  for (const o of gs) {
    const spec = (o.manifest as GalleryShare).spec;
    for (const a of spec.roleAssignments ?? []) assign(world, galleryId(spec.gallery), a.principalId, a.role, `00000000-0000-4000-8000-${String(n++).padStart(12, '0')}`);
    const gallery = world.resources.get(idKey(galleryId(spec.gallery))) as GalleryRecord;
    gallery.sharedSubscriptions = [...(spec.directShare?.subscriptions ?? [])];
    gallery.sharedTenants = [...(spec.directShare?.tenants ?? [])];
  }
  for (const o of vms) {
    const s = (o.manifest as SharedImageVM).spec;
    const id = `/subscriptions/${s.subscriptionId}/resourceGroups/${s.resourceGroup}/providers/Microsoft.Compute/virtualMachines/${o.name}`;
    world.resources.set(idKey(id), { kind: 'virtualMachine', id, name: o.name, subscriptionId: s.subscriptionId, resourceGroup: s.resourceGroup, location: s.location, properties: {}, powerState: 'running', provisioning: {} } as never);
  }
  return world;
}

const input = (world: World, extra: Partial<AuditInput> = {}): AuditInput => ({
  workload: w,
  world,
  // The TenantGrant is left out here (its assignments need the app's principals): this test is about the other terms.
  live: [...gs, ...vms].map((object) => ({ object, final: ready(object) })),
  deleted: [],
  requests: [],
  log: [],
  failovers: [],
  gateLog: [],
  ...extra,
});

const nonZero = (r: ReturnType<typeof audit>) => Object.entries(r).filter(([k, v]) => k !== 'examples' && typeof v === 'number' && v !== 0);

describe('chaos audit', () => {
  it('counts nothing for a converged world', () => {
    expect(nonZero(audit(input(convergedWorld())))).to.deep.equal([]);
  });

  it('counts a duplicate role assignment (same principal, role and scope under another name) and a missing one', () => {
    const world = convergedWorld();
    const spec = (gs[0]!.manifest as GalleryShare).spec;
    const a = spec.roleAssignments![0]!;
    assign(world, galleryId(spec.gallery), a.principalId, a.role, '99999999-0000-4000-8000-000000000001');
    const other = (gs[1]!.manifest as GalleryShare).spec;
    for (const [key, ra] of world.roleAssignments) if (ra.scope === galleryId(other.gallery) && ra.principalId === other.roleAssignments![1]!.principalId) world.roleAssignments.delete(key);
    const r = audit(input(world));
    expect(nonZero(r)).to.deep.equal([['duplicateRoleAssignments', 1], ['roleAssignmentsMissing', 1]]);
  });

  it('counts share groups missing and extra, and what a deleted GalleryShare left behind', () => {
    const world = convergedWorld();
    const g0 = world.resources.get(idKey(galleryId((gs[0]!.manifest as GalleryShare).spec.gallery))) as GalleryRecord;
    g0.sharedTenants = [];
    g0.sharedSubscriptions.push('12345678-1234-4234-8234-123456789012');
    const deleted = gs[2]!;
    const r = audit({ ...input(world), live: input(world).live.filter((l) => l.object !== deleted), deleted: [{ object: deleted, spec: deleted.manifest.spec, stillPresent: true }] });
    // gs-2's two assignments and its two groups remain in Azure, and the object in Kubernetes.
    expect(nonZero(r)).to.deep.equal([['shareGroupsMissing', 1], ['shareGroupsExtra', 1], ['deletedObjectsRemaining', 1], ['deletedObjectsAzureLeftovers', 4]]);
  });

  it('counts a leaked VM, a VM created twice, and an object not Ready', () => {
    const world = convergedWorld();
    const leaked = vms[0]!;
    const requests: ChaosRequest[] = [0, 1].map((i) => ({ start: i, end: i + 1, method: 'PUT', path: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/${vms[1]!.name}`, status: 201, injected: false }));
    const live = input(world).live.filter((l) => l.object !== leaked).map((l) => (l.object === gs[0] ? { object: l.object, final: { ...l.final!, metadata: { ...l.final!.metadata, generation: 2 } } } : l));
    expect(nonZero(audit({ ...input(world), live, requests }))).to.deep.equal([['vmsLeaked', 1], ['vmsCreatedTwice', 1], ['objectsNotReady', 1]]);
  });

  describe('requests inside a Retry-After window', () => {
    // ARM's window: the 429 answered at 1000 with Retry-After 3 s, so 1000..4000; the operator
    // logged it at 1300 (its gate's window: to 4300). gateSeen is the sender's stamp.
    const at = (start: number, gateSeen: number | undefined, extra: Partial<ChaosRequest> = {}): ChaosRequest => ({ start, end: start + 10, method: 'GET', path: '/subscriptions/s1/x', status: 200, subscription: 's1', principal: 'p1', injected: false, ...(gateSeen === undefined ? {} : { gateSeen }), ...extra });
    const throttled = at(0, 0, { end: 1000, status: 429, retryAfterSeconds: 3 });
    const learned = { time: 1300, subscription: 's1', until: 4300, inherited: false };

    it('counts nothing for requests sent before their sender learned the window, however late the emulator read them', () => {
      const requests = [throttled, at(1200, 0), at(1400, 0), at(2000, 0, { principal: 'p2' }), at(4100, 4300)];
      const r = audit(input(convergedWorld(), { requests, gateLog: [learned] }));
      expect(nonZero(r)).to.deep.equal([['requestsInFlightAt429', 2], ['requestsInFlightReadAfterLearned', 1], ['inFlightReadAfterLearnedMaxMs', 100]]);
    });

    it('counts a request sent knowing the window, one without the stamp, and one a new leader sent without the window it was not handed', () => {
      const requests = [throttled, at(2000, 4300), at(2200, undefined), at(3500, 0), at(3600, 4300, { principal: 'p2' })];
      const r = audit(input(convergedWorld(), { requests, gateLog: [learned], failovers: [3000] }));
      expect(nonZero(r)).to.deep.equal([['requestsInsideRetryAfter', 3], ['requestsInsideRetryAfterAcrossFailover', 1]]);
      expect(r.examples.requestsInsideRetryAfter).to.have.length(3);
    });

    it("reads the window lines of the operators' logs, learned and inherited, and skips the rest", () => {
      const line = (o: object) => JSON.stringify({ level: 'info', time: '2026-11-30T05:00:00.000Z', component: 'gallery-share-operator', ...o });
      const logs = [
        [line({ subscription: 'S1', retryAfterMs: 3000, until: '2026-11-30T05:00:03.000Z', msg: WINDOW_LEARNED_LOG }), 'not json Retry-After', line({ msg: 'reconciled' })].join('\n'),
        line({ windows: [{ subscription: 's2', until: '2026-11-30T05:00:09.000Z' }], msg: WINDOWS_INHERITED_LOG }),
      ];
      const t = Date.parse('2026-11-30T05:00:00.000Z');
      expect(gateLogLines(logs)).to.deep.equal([
        { time: t, subscription: 's1', until: t + 3000, inherited: false },
        { time: t, subscription: 's2', until: t + 9000, inherited: true },
      ]);
    });

    it('clears a new leader that inherited the window and waited for its end, and counts a 429 no replica ever logged', () => {
      // Failover at 3000, inherited at 3100: the new leader's first call (4100) is after ARM's window.
      const inherited = { time: 3100, subscription: 's1', until: 4300, inherited: true };
      expect(nonZero(audit(input(convergedWorld(), { requests: [throttled, at(4100, 4300)], gateLog: [learned, inherited], failovers: [3000] })))).to.deep.equal([]);
      // The same requests with the operator's line missing from its log (a damaged log, or a 429 the gate missed).
      const r = audit(input(convergedWorld(), { requests: [throttled, at(1200, 0), at(2000, 0)], gateLog: [] }));
      expect(nonZero(r)).to.deep.equal([['requestsInsideRetryAfter', 2]]);
    });
  });

  it("counts 2xx writes whose effect was already in place, and says when the log records no effects", () => {
    const entry = (method: string, status: number, effect?: 'created' | 'unchanged' | 'absent' | 'changed') => ({ time: '', startTime: '', method, path: '/x', query: '', status, auxiliary: false, durationMs: 1, ...(effect ? { effect } : {}) });
    expect(audit(input(convergedWorld(), { log: [entry('GET', 200)] })).redundantWrites).to.equal(null);
    const log = [entry('PUT', 201, 'created'), entry('PUT', 200, 'unchanged'), entry('DELETE', 204, 'absent'), entry('PATCH', 200, 'changed'), entry('PUT', 409, 'unchanged')];
    expect(audit(input(convergedWorld(), { log: log })).redundantWrites).to.equal(2);
  });
});
