// The GalleryShare plan, as properties over random specs and random states of Azure: applying the
// plan gives the spec, planning again gives nothing, and assignments made by anyone else are never
// deleted. Plus the cases a person must resolve (policy, permission changes Azure refuses).
import { expect } from 'chai';
import fc from 'fast-check';
import type { GalleryPermission, GalleryShareSpec } from '../../src/api/v1alpha1/index.js';
import { roleAssignmentName, roleScope, uuidV5 } from '../../src/azure/arm-ids.js';
import { roleGuid } from '../../src/azure/roles.js';
import { checkPolicy, desiredRoleAssignments, planDeletion, planGalleryShare, type Action, type Observation } from '../../src/controllers/galleryshare/plan.js';

const gallery = { subscriptionId: 'baa78062-9e05-4cbe-bc20-1fc5ea242262', resourceGroup: 'rg', name: 'g1' };
const ids = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222', '33333333-3333-4333-8333-333333333333', '44444444-4444-4444-8444-444444444444'];
const roles = ['Reader', 'Compute Gallery Image Reader', 'acdd72a7-3385-48ef-bd42-f606fba81ae7'];
const community = { publisherUri: 'https://c.example', publisherContact: 'a@c.example', eula: 'https://c.example/eula', publicNamePrefix: 'c' };

const roleAssignmentArb = fc.record({
  principalId: fc.constantFrom(...ids),
  principalType: fc.constantFrom('User', 'Group'),
  role: fc.constantFrom(...roles),
  image: fc.option(fc.constantFrom('img1', 'img2'), { nil: undefined }),
  version: fc.option(fc.constant('1.0.0'), { nil: undefined }),
}).map((ra) => (ra.image ? ra : { ...ra, version: undefined }));

/** Specs that admission accepts (no duplicate assignments, directShare only with Groups, ...). */
const specArb: fc.Arbitrary<GalleryShareSpec> = fc
  .record({
    permission: fc.option(fc.constantFrom<GalleryPermission>('Private', 'Groups', 'Community'), { nil: undefined }),
    subscriptions: fc.subarray(ids),
    tenants: fc.subarray(ids),
    withDirectShare: fc.boolean(),
    roleAssignments: fc.option(fc.uniqueArray(roleAssignmentArb, { selector: (ra) => `${ra.principalId}|${roleGuid(ra.role)}|${ra.image}|${ra.version}`, maxLength: 5 }), { nil: undefined }),
  })
  .map(({ permission, subscriptions, tenants, withDirectShare, roleAssignments }) => ({
    gallery,
    ...(permission ? { permission } : {}),
    ...(permission === 'Groups' && withDirectShare ? { directShare: { subscriptions, tenants } } : {}),
    ...(permission === 'Community' ? { community } : {}),
    ...(roleAssignments ? { roleAssignments } : {}),
  }));

/** A state of Azure: any permission, shares, and assignments (ours, stale ours, and foreign). */
const observationArb = (spec: GalleryShareSpec): fc.Arbitrary<Observation> =>
  fc
    .record({
      permission: spec.permission === 'Groups' ? fc.constant<GalleryPermission>('Groups') : fc.constantFrom<GalleryPermission>('Private', 'Community'),
      subscriptions: fc.subarray(ids),
      tenants: fc.subarray(ids),
      communityEnabled: fc.boolean(),
      communityInfo: fc.constantFrom<'spec' | 'older' | 'none'>('spec', 'older', 'none'),
      keepDesired: fc.subarray(desiredRoleAssignments(spec).map((d) => d.name)),
      staleOwned: fc.array(roleAssignmentArb, { maxLength: 3 }),
      foreign: fc.array(roleAssignmentArb, { maxLength: 3 }),
    })
    .map(({ permission, subscriptions, tenants, communityEnabled, communityInfo, keepDesired, staleOwned, foreign }) => {
      const desired = desiredRoleAssignments(spec).filter((d) => keepDesired.includes(d.name));
      const toObserved = (ra: { principalId: string; role: string; image?: string; version?: string }, owned: boolean, i: number) => {
        const scope = roleScope(gallery, ra.image, ra.version);
        const name = owned ? roleAssignmentName('GalleryShare', scope, ra.principalId, roleGuid(ra.role)) : uuidV5(ids[0]!, `foreign-${i}-${ra.principalId}`);
        return { id: `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`, name, scope, principalId: ra.principalId, roleGuid: roleGuid(ra.role) };
      };
      const assignments = [
        ...desired.map((d) => ({ id: `${d.scope}/x/${d.name}`, name: d.name, scope: d.scope, principalId: d.principalId, roleGuid: d.roleGuid })),
        ...staleOwned.map((ra, i) => toObserved(ra, true, i)),
        ...foreign.map((ra, i) => toObserved(ra, false, i)),
      ];
      // Azure holds one assignment per scope, principal and role.
      const unique = assignments.filter((a, i) => assignments.findIndex((b) => b.scope === a.scope && b.principalId === a.principalId && b.roleGuid === a.roleGuid) === i);
      return {
        gallery: {
          uniqueName: `${gallery.subscriptionId}-G1`,
          permission,
          subscriptions: permission === 'Groups' ? subscriptions : [],
          tenants: permission === 'Groups' ? tenants : [],
          communityEnabled: permission === 'Community' && communityEnabled,
          communityPublicNames: [],
          ...(permission === 'Community' && communityInfo !== 'none' ? { communityInfo: communityInfo === 'spec' ? { ...community } : { ...community, eula: 'https://c.example/eula-2019' } } : {}),
        },
        roleAssignments: unique,
      };
    });

/** What Azure does with each action (the model the plan is checked against). */
function apply(observation: Observation, actions: Action[]): Observation {
  const next: Observation = structuredClone(observation);
  for (const action of actions) {
    switch (action.type) {
      case 'setPermission':
        next.gallery.permission = action.permission;
        if (action.community) next.gallery.communityInfo = { ...action.community };
        break;
      case 'share':
        if (action.operation === 'Add') {
          next.gallery.subscriptions = [...new Set([...next.gallery.subscriptions, ...action.subscriptions])];
          next.gallery.tenants = [...new Set([...next.gallery.tenants, ...action.tenants])];
        } else if (action.operation === 'Remove') {
          next.gallery.subscriptions = next.gallery.subscriptions.filter((id) => !action.subscriptions.includes(id));
          next.gallery.tenants = next.gallery.tenants.filter((id) => !action.tenants.includes(id));
        } else if (action.operation === 'EnableCommunity') {
          next.gallery.communityEnabled = true;
        } else {
          next.gallery.communityEnabled = false;
          next.gallery.subscriptions = [];
          next.gallery.tenants = [];
        }
        break;
      case 'createRoleAssignment': {
        const a = action.assignment;
        next.roleAssignments.push({ id: `${a.scope}/x/${a.name}`, name: a.name, scope: a.scope, principalId: a.principalId, roleGuid: a.roleGuid });
        break;
      }
      case 'deleteRoleAssignment':
        next.roleAssignments = next.roleAssignments.filter((o) => o.name !== action.assignment.name);
        break;
    }
  }
  return next;
}

describe('GalleryShare plan (property tests)', () => {
  it('reaches the spec in one plan, after which planning again gives nothing', () => {
    fc.assert(
      fc.property(specArb.chain((spec) => fc.tuple(fc.constant(spec), observationArb(spec))), ([spec, observed]) => {
        const plan = planGalleryShare(spec, observed);
        if (plan.stalled) return;
        const after = apply(observed, plan.actions);
        const again = planGalleryShare(spec, after);
        expect(again.actions, JSON.stringify(plan.actions)).to.deep.equal([]);
        expect(again.details.every((d) => d.status === 'True'), JSON.stringify(again.details)).to.equal(true);
        if (spec.permission) expect(after.gallery.permission).to.equal(spec.permission);
        if (spec.community) expect(after.gallery.communityInfo, 'the publisher details of the spec').to.deep.equal(spec.community);
        if (spec.directShare) {
          expect([...after.gallery.subscriptions].sort()).to.deep.equal([...(spec.directShare.subscriptions ?? [])].sort());
          expect([...after.gallery.tenants].sort()).to.deep.equal([...(spec.directShare.tenants ?? [])].sort());
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never deletes an assignment it did not create, and uses one share call per operation type', () => {
    fc.assert(
      fc.property(specArb.chain((spec) => fc.tuple(fc.constant(spec), observationArb(spec))), ([spec, observed]) => {
        const plan = planGalleryShare(spec, observed);
        const deleted = plan.actions.flatMap((a) => (a.type === 'deleteRoleAssignment' ? [a.assignment.name] : []));
        for (const name of deleted) expect(name.startsWith('foreign'), name).to.equal(false);
        const foreignNames = observed.roleAssignments.filter((o) => o.name !== roleAssignmentName('GalleryShare', o.scope, o.principalId, o.roleGuid)).map((o) => o.name);
        expect(deleted.filter((n) => foreignNames.includes(n))).to.deep.equal([]);
        for (const op of ['Add', 'Remove', 'EnableCommunity', 'Reset']) {
          expect(plan.actions.filter((a) => a.type === 'share' && a.operation === op).length).to.be.at.most(1);
        }
        const removeAt = plan.actions.findIndex((a) => a.type === 'share' && a.operation === 'Remove');
        const addAt = plan.actions.findIndex((a) => a.type === 'share' && a.operation === 'Add');
        if (removeAt >= 0 && addAt >= 0) expect(removeAt).to.be.below(addAt);
      }),
      { numRuns: 300 },
    );
  });

  it('deletion undoes exactly what the spec added', () => {
    fc.assert(
      fc.property(specArb.chain((spec) => fc.tuple(fc.constant(spec), observationArb(spec))), ([spec, observed]) => {
        const reached = apply(observed, planGalleryShare(spec, observed).actions);
        const after = apply(reached, planDeletion(spec, reached));
        for (const id of spec.directShare?.subscriptions ?? []) expect(after.gallery.subscriptions).not.to.include(id);
        for (const id of spec.directShare?.tenants ?? []) expect(after.gallery.tenants).not.to.include(id);
        const desiredNames = desiredRoleAssignments(spec).map((d) => d.name);
        expect(after.roleAssignments.filter((o) => desiredNames.includes(o.name))).to.deep.equal([]);
        const foreignBefore = reached.roleAssignments.filter((o) => o.name !== roleAssignmentName('GalleryShare', o.scope, o.principalId, o.roleGuid));
        expect(after.roleAssignments).to.deep.include.members(foreignBefore);
      }),
      { numRuns: 200 },
    );
  });
});

describe('GalleryShare plan (cases)', () => {
  const observed: Observation = {
    gallery: { permission: 'Private', subscriptions: [], tenants: [], communityEnabled: false, communityPublicNames: [] },
    roleAssignments: [],
  };

  it('refuses a change to or from Groups before calling Azure', () => {
    const plan = planGalleryShare({ gallery, permission: 'Groups', directShare: { tenants: [ids[0]!] } }, observed);
    expect(plan.actions).to.deep.equal([]);
    expect(plan.stalled?.reason).to.equal('PermissionChangeNotAllowed');
    expect(plan.stalled?.message).to.include('Azure cannot change a gallery to or from Groups');
  });

  it('treats an assignment that exists under another name as satisfying the spec', () => {
    const spec: GalleryShareSpec = { gallery, roleAssignments: [{ principalId: ids[1]!, principalType: 'Group', role: 'Reader' }] };
    const scope = roleScope(gallery);
    const plan = planGalleryShare(spec, { ...observed, roleAssignments: [{ id: 'x', name: 'made-by-a-person', scope, principalId: ids[1]!, roleGuid: roleGuid('Reader') }] });
    expect(plan.actions).to.deep.equal([]);
  });

  it('checks the policy: refused tenants and community sharing', () => {
    const refused = checkPolicy({ gallery, permission: 'Groups', directShare: { tenants: [ids[0]!, ids[1]!] } }, { allowedShareTenants: new Set([ids[0]!]), allowCommunitySharing: false });
    expect(refused?.reason).to.equal('PolicyViolation');
    expect(refused?.message).to.include(`tenants ${ids[1]} are not in the operator's allowed-share-tenants`);
    expect(checkPolicy({ gallery, permission: 'Community', community }, { allowCommunitySharing: false })?.message).to.include('community sharing');
    expect(checkPolicy({ gallery, permission: 'Community', community }, { allowCommunitySharing: true })).to.equal(undefined);
  });

  it('names role assignments by UUIDv5 (RFC 4122 test vector) and by owner', () => {
    expect(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com')).to.equal('2ed6657d-e927-568b-95e1-2665a8aea6a2');
    const scope = roleScope(gallery);
    expect(roleAssignmentName('GalleryShare', scope, ids[0]!, 'r')).not.to.equal(roleAssignmentName('TenantGrant', scope, ids[0]!, 'r'));
    expect(roleAssignmentName('GalleryShare', scope.toUpperCase(), ids[0]!.toUpperCase(), 'R')).to.equal(roleAssignmentName('GalleryShare', scope, ids[0]!, 'r'));
  });
});
