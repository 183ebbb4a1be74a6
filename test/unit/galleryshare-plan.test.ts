// The GalleryShare plan, as properties over random specs and random states of Azure: applying the
// plan gives the spec, planning again gives nothing, and assignments made by anyone else are never
// deleted. Plus the cases a person must resolve (policy, permission changes Azure refuses).
import { expect } from 'chai';
import fc from 'fast-check';
import type { GalleryPermission, GalleryShareSpec } from '../../src/api/v1alpha1/index.js';
import { roleScope, uuidV5 } from '../../src/azure/arm-ids.js';
import { isOwnedRoleAssignment, legacyRoleAssignmentName, ownedDescription, roleAssignmentName, type Owner } from '../../src/azure/ownership.js';
import { roleGuid } from '../../src/azure/roles.js';
import { adoptionRecord, checkPolicy, desiredRoleAssignments, keepAdopted, planDeletion, planGalleryShare, type Action, type Observation } from '../../src/controllers/galleryshare/plan.js';

/** The object planned for, and another GalleryShare that once managed the same gallery. */
const OWNER: Owner = { kind: 'GalleryShare', namespace: 'platform', name: 'golden' };
const OTHER: Owner = { kind: 'GalleryShare', namespace: 'platform', name: 'team-a' };

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
      keepDesired: fc.subarray(desiredRoleAssignments(spec, OWNER).map((d) => d.name)),
      staleOwned: fc.array(roleAssignmentArb, { maxLength: 3 }),
      legacyOwned: fc.array(roleAssignmentArb, { maxLength: 2 }),
      otherObjects: fc.array(roleAssignmentArb, { maxLength: 2 }),
      legacyOfOthers: fc.array(roleAssignmentArb, { maxLength: 2 }),
      foreign: fc.array(roleAssignmentArb, { maxLength: 3 }),
    })
    .map(({ permission, subscriptions, tenants, communityEnabled, communityInfo, keepDesired, staleOwned, legacyOwned, otherObjects, legacyOfOthers, foreign }) => {
      const desired = desiredRoleAssignments(spec, OWNER).filter((d) => keepDesired.includes(d.name));
      type Made = 'mine' | 'legacy-mine' | 'other-object' | 'legacy-other' | 'foreign';
      const toObserved = (ra: { principalId: string; role: string; image?: string; version?: string }, made: Made, i: number) => {
        const scope = roleScope(gallery, ra.image, ra.version);
        const guid = roleGuid(ra.role);
        const name = {
          mine: () => roleAssignmentName(OWNER, scope, ra.principalId, guid),
          'legacy-mine': () => legacyRoleAssignmentName('GalleryShare', scope, ra.principalId, guid),
          'other-object': () => roleAssignmentName(OTHER, scope, ra.principalId, guid),
          'legacy-other': () => legacyRoleAssignmentName('GalleryShare', scope, ra.principalId, guid),
          foreign: () => uuidV5(ids[0]!, `foreign-${i}-${ra.principalId}`),
        }[made]();
        const description = made === 'legacy-mine' || made === 'mine' ? ownedDescription(OWNER) : made === 'foreign' ? undefined : ownedDescription(OTHER);
        return { id: `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`, name, scope, principalId: ra.principalId, roleGuid: guid, ...(description ? { description } : {}) };
      };
      const assignments = [
        ...desired.map((d) => ({ id: `${d.scope}/x/${d.name}`, name: d.name, scope: d.scope, principalId: d.principalId, roleGuid: d.roleGuid, description: ownedDescription(OWNER) })),
        ...staleOwned.map((ra, i) => toObserved(ra, 'mine', i)),
        ...legacyOwned.map((ra, i) => toObserved(ra, 'legacy-mine', i)),
        ...otherObjects.map((ra, i) => toObserved(ra, 'other-object', i)),
        ...legacyOfOthers.map((ra, i) => toObserved(ra, 'legacy-other', i)),
        ...foreign.map((ra, i) => toObserved(ra, 'foreign', i)),
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
        next.roleAssignments.push({ id: `${a.scope}/x/${a.name}`, name: a.name, scope: a.scope, principalId: a.principalId, roleGuid: a.roleGuid, description: ownedDescription(OWNER) });
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
        const plan = planGalleryShare(spec, observed, OWNER);
        if (plan.stalled) return;
        const after = apply(observed, plan.actions);
        const again = planGalleryShare(spec, after, OWNER);
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

  it('never deletes an assignment this object did not create (another object\'s, a legacy-named one of another object, a person\'s), and uses one share call per operation type', () => {
    fc.assert(
      fc.property(specArb.chain((spec) => fc.tuple(fc.constant(spec), observationArb(spec))), ([spec, observed]) => {
        const plan = planGalleryShare(spec, observed, OWNER);
        const deleted = plan.actions.flatMap((a) => (a.type === 'deleteRoleAssignment' ? [a.assignment] : []));
        for (const a of deleted) expect(a.description, a.name).to.equal(ownedDescription(OWNER));
        const notMine = observed.roleAssignments.filter((o) => !isOwnedRoleAssignment(o, OWNER)).map((o) => o.name);
        expect(deleted.filter((a) => notMine.includes(a.name))).to.deep.equal([]);
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

  it('deletion undoes exactly what the object added: never what the gallery held before it first acted, never another object\'s assignments', () => {
    fc.assert(
      fc.property(specArb.chain((spec) => fc.tuple(fc.constant(spec), observationArb(spec))), ([spec, observed]) => {
        const adopted = adoptionRecord(observed.gallery);
        const reached = apply(observed, planGalleryShare(spec, observed, OWNER).actions);
        const deletion = planDeletion(spec, reached, OWNER, keepAdopted(adopted, reached.gallery));
        expect(deletion.leftAlone).to.equal(undefined);
        const after = apply(reached, deletion.actions);
        for (const id of spec.directShare?.subscriptions ?? []) expect(after.gallery.subscriptions.includes(id), id).to.equal(adopted.subscriptions.includes(id));
        for (const id of spec.directShare?.tenants ?? []) expect(after.gallery.tenants.includes(id), id).to.equal(adopted.tenants.includes(id));
        if (spec.permission === 'Community') {
          expect(after.gallery.communityEnabled, 'publishing stays only if it was there before').to.equal(adopted.communityPublished);
          expect(after.gallery.permission, 'the permission goes back').to.equal(adopted.permission === 'Community' || reached.gallery.permission !== 'Community' ? reached.gallery.permission : adopted.permission);
        }
        for (const d of desiredRoleAssignments(spec, OWNER)) expect(after.roleAssignments.some((o) => o.name === d.name), d.name).to.equal(false);
        const notMineBefore = reached.roleAssignments.filter((o) => !isOwnedRoleAssignment(o, OWNER));
        expect(after.roleAssignments).to.deep.include.members(notMineBefore);
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
    const plan = planGalleryShare({ gallery, permission: 'Groups', directShare: { tenants: [ids[0]!] } }, observed, OWNER);
    expect(plan.actions).to.deep.equal([]);
    expect(plan.stalled?.reason).to.equal('PermissionChangeNotAllowed');
    expect(plan.stalled?.message).to.include('Azure cannot change a gallery to or from Groups');
  });

  it('treats an assignment that exists under another name as satisfying the spec', () => {
    const spec: GalleryShareSpec = { gallery, roleAssignments: [{ principalId: ids[1]!, principalType: 'Group', role: 'Reader' }] };
    const scope = roleScope(gallery);
    const plan = planGalleryShare(spec, { ...observed, roleAssignments: [{ id: 'x', name: 'made-by-a-person', scope, principalId: ids[1]!, roleGuid: roleGuid('Reader') }] }, OWNER);
    expect(plan.actions).to.deep.equal([]);
  });

  it('owns a legacy-named assignment only when its description names this very object', () => {
    const scope = roleScope(gallery);
    const legacy = legacyRoleAssignmentName('GalleryShare', scope, ids[1]!, roleGuid('Reader'));
    const mine = { id: 'x', name: legacy, scope, principalId: ids[1]!, roleGuid: roleGuid('Reader'), description: ownedDescription(OWNER) };
    const theirs = { ...mine, description: ownedDescription(OTHER) };
    expect(isOwnedRoleAssignment(mine, OWNER)).to.equal(true);
    expect(isOwnedRoleAssignment(theirs, OWNER)).to.equal(false);
    expect(isOwnedRoleAssignment({ ...mine, description: undefined }, OWNER)).to.equal(false);
    // The spec no longer names the principal: this object deletes its own legacy assignment, not another's.
    expect(planGalleryShare({ gallery, roleAssignments: [] }, { ...observed, roleAssignments: [mine] }, OWNER).actions).to.deep.equal([{ type: 'deleteRoleAssignment', assignment: mine }]);
    expect(planGalleryShare({ gallery, roleAssignments: [] }, { ...observed, roleAssignments: [theirs] }, OWNER).actions).to.deep.equal([]);
  });

  it('without the adoption record, deletion leaves direct shares and community publishing alone and says so', () => {
    const groups: Observation = { ...observed, gallery: { ...observed.gallery, permission: 'Groups', subscriptions: [ids[0]!], tenants: [ids[1]!] } };
    const plan = planDeletion({ gallery, permission: 'Groups', directShare: { subscriptions: [ids[0]!], tenants: [ids[1]!] } }, groups, OWNER, undefined);
    expect(plan.actions).to.deep.equal([]);
    expect(plan.leftAlone).to.include(`subscription ${ids[0]}`).and.include(`tenant ${ids[1]}`).and.include('status.adopted');
    const withRecord = planDeletion({ gallery, permission: 'Groups', directShare: { subscriptions: [ids[0]!], tenants: [ids[1]!] } }, groups, OWNER, { permission: 'Groups', subscriptions: [ids[0]!], tenants: [], communityPublished: false });
    expect(withRecord.actions, 'removes only what it added').to.deep.equal([{ type: 'share', operation: 'Remove', subscriptions: [], tenants: [ids[1]!] }]);
  });

  it('an adopted entry the object later removes stops counting as pre-existing', () => {
    const record = { permission: 'Groups' as const, subscriptions: [ids[0]!, ids[1]!], tenants: [], communityPublished: false };
    const afterRemoval = keepAdopted(record, { ...observed.gallery, permission: 'Groups', subscriptions: [ids[1]!] });
    expect(afterRemoval.subscriptions).to.deep.equal([ids[1]!]);
  });

  it('checks the policy: refused tenants and community sharing', () => {
    const refused = checkPolicy({ gallery, permission: 'Groups', directShare: { tenants: [ids[0]!, ids[1]!] } }, { allowedShareTenants: new Set([ids[0]!]), allowCommunitySharing: false, requireObjectCredentials: false });
    expect(refused?.reason).to.equal('PolicyViolation');
    expect(refused?.message).to.include(`tenants ${ids[1]} are not in the operator's allowed-share-tenants`);
    expect(checkPolicy({ gallery, permission: 'Community', community }, { allowCommunitySharing: false, requireObjectCredentials: false })?.message).to.include('community sharing');
    expect(checkPolicy({ gallery, permission: 'Community', community }, { allowCommunitySharing: true, requireObjectCredentials: false })).to.equal(undefined);
  });

  it('names role assignments by UUIDv5 (RFC 4122 test vector) and by owner: kind, namespace and name', () => {
    expect(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com')).to.equal('2ed6657d-e927-568b-95e1-2665a8aea6a2');
    const scope = roleScope(gallery);
    expect(roleAssignmentName(OWNER, scope, ids[0]!, 'r')).not.to.equal(roleAssignmentName({ ...OWNER, kind: 'TenantGrant' }, scope, ids[0]!, 'r'));
    expect(roleAssignmentName(OWNER, scope, ids[0]!, 'r')).not.to.equal(roleAssignmentName(OTHER, scope, ids[0]!, 'r'));
    expect(roleAssignmentName(OWNER, scope, ids[0]!, 'r')).not.to.equal(roleAssignmentName({ ...OWNER, namespace: 'other' }, scope, ids[0]!, 'r'));
    expect(roleAssignmentName(OWNER, scope.toUpperCase(), ids[0]!.toUpperCase(), 'R')).to.equal(roleAssignmentName(OWNER, scope, ids[0]!, 'r'));
  });
});
