// The chaos run's workload generator (test/support/workload.ts): the same seed gives the same
// world and objects, Azure's limits hold at any size, and the emulator accepts the world.
import { expect } from 'chai';
import { buildWorld } from '../azure-emulator/seed.js';
import { buildWorkload, distribution, describeWorkload } from '../support/workload.js';

describe('chaos workload generator', () => {
  it('is deterministic from its seed, and another seed gives other ids', () => {
    const a = buildWorkload({ galleryShares: 20, tenantGrants: 5, sharedImageVMs: 10, seed: 7 });
    const b = buildWorkload({ galleryShares: 20, tenantGrants: 5, sharedImageVMs: 10, seed: 7 });
    const c = buildWorkload({ galleryShares: 20, tenantGrants: 5, sharedImageVMs: 10, seed: 8 });
    expect(JSON.stringify(a.seed)).to.equal(JSON.stringify(b.seed));
    expect(JSON.stringify(a.objects)).to.equal(JSON.stringify(b.objects));
    expect(a.publisher.id).to.not.equal(c.publisher.id);
  });

  it('keeps at most 100 galleries per subscription and region and 4,000 role assignments per subscription, at 1,000 GalleryShares', () => {
    const w = buildWorkload({ galleryShares: 1000, tenantGrants: 50, sharedImageVMs: 100 });
    const perCell = new Map<string, number>();
    for (const g of w.seed.galleries ?? []) perCell.set(`${g.subscription}/${g.location}`, (perCell.get(`${g.subscription}/${g.location}`) ?? 0) + 1);
    expect(Math.max(...perCell.values())).to.be.at.most(100);
    expect(new Set((w.seed.galleries ?? []).map((g) => g.subscription)).size).to.be.at.least(5);
    for (const r of distribution(w).roleAssignmentsBySubscription) expect(r.planned + r.seeded, r.subscription).to.be.at.most(4000);
    expect(w.objects).to.have.length(1150);
  });

  it('opens more subscriptions when role assignments would pass a (lowered) limit', () => {
    const w = buildWorkload({ galleryShares: 100, tenantGrants: 0, sharedImageVMs: 0, maxRoleAssignmentsPerSubscription: 100 });
    const d = distribution(w);
    for (const r of d.roleAssignmentsBySubscription) expect(r.planned + r.seeded).to.be.at.most(100);
    expect(d.roleAssignmentsBySubscription.filter((r) => r.tenant === 'Publisher').length).to.be.at.least(4);
  });

  it('gives a world the emulator loads, every object named once, and prints its distribution', () => {
    const w = buildWorkload({ galleryShares: 30, tenantGrants: 6, sharedImageVMs: 12 });
    const world = buildWorld(w.seed, Date.now());
    expect([...world.resources.values()].filter((r) => r.kind === 'gallery')).to.have.length(32);
    const keys = w.objects.map((o) => `${o.kind}/${o.namespace}/${o.name}`);
    expect(new Set(keys).size).to.equal(keys.length);
    expect(w.objects.some((o) => o.kind === 'SharedImageVM' && 'tenantGrantRef' in o.manifest.spec)).to.equal(true);
    expect(describeWorkload(w)).to.match(/30 GalleryShares, 6 TenantGrants, 12 SharedImageVMs/);
  });
});
