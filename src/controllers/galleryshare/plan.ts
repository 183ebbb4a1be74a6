// The GalleryShare plan: a pure function from the spec and what was observed in Azure to the
// actions that make Azure match the spec, and the conditions that say how far apart they are.
// No I/O here: handler.ts observes, the shared reconciler calls this and acts. Applying the plan to the observation
// gives the spec, and planning again gives nothing (test/unit/galleryshare-plan.test.ts).
import type { GalleryPermission, GalleryShareSpec } from '../../api/v1alpha1/index.js';
import type { ConditionInput } from '../../runtime/conditions.js';
import { roleDefinitionId, roleScope, sameId } from '../../azure/arm-ids.js';
import { isOwnedRoleAssignment, roleAssignmentName, type Owner } from '../../azure/ownership.js';
import type { CommunityInfo, ObservedGallery } from '../../azure/gallery-sharing.js';
import type { ObservedRoleAssignment } from '../../azure/role-assignments.js';
import { roleGuid } from '../../azure/roles.js';
import type { Explanation, KindPlan } from '../shared/handler.js';
import type { Policy } from '../shared/policy.js';

export interface Observation {
  gallery: ObservedGallery;
  /** Every assignment at or below the gallery, whoever made it. */
  roleAssignments: ObservedRoleAssignment[];
}

export interface DesiredRoleAssignment {
  name: string;
  scope: string;
  principalId: string;
  principalType: string;
  roleGuid: string;
  roleDefinitionId: string;
  /** The role as the spec names it, for status. */
  role: string;
}

export type Action =
  | { type: 'setPermission'; permission: GalleryPermission; community?: GalleryShareSpec['community'] }
  | { type: 'share'; operation: 'Remove' | 'Add'; subscriptions: string[]; tenants: string[] }
  | { type: 'share'; operation: 'EnableCommunity' | 'Reset' }
  | { type: 'createRoleAssignment'; assignment: DesiredRoleAssignment }
  | { type: 'deleteRoleAssignment'; assignment: ObservedRoleAssignment };

/** The plan: its detail conditions are DirectShareSynced, RoleAssignmentsSynced and CommunitySynced. */
export type Plan = KindPlan<Action>;

/**
 * What the gallery held before the object first changed it (status.adopted): the object adopts
 * it, and its deletion never removes it. Ids in lower case.
 */
export interface Adopted {
  permission: GalleryPermission;
  subscriptions: string[];
  tenants: string[];
  communityPublished: boolean;
}

/** What deleting the object with deletionPolicy Delete undoes, and what it leaves for lack of a record. */
export interface DeletionPlan {
  actions: Action[];
  /** Set when the adoption record is missing: what deletion leaves in Azure because it cannot tell who added it. */
  leftAlone?: string;
}

const lower = (ids: readonly string[] | undefined) => (ids ?? []).map((id) => id.toLowerCase());
const missing = (want: string[], have: string[]) => want.filter((id) => !have.includes(id));

/** Refusals by the operator's policy, checked before any call to Azure. */
export function checkPolicy(spec: GalleryShareSpec, policy: Policy): Explanation | undefined {
  const refusedSubs = lower(spec.directShare?.subscriptions).filter((id) => policy.allowedShareSubscriptions && !policy.allowedShareSubscriptions.has(id));
  const refusedTenants = lower(spec.directShare?.tenants).filter((id) => policy.allowedShareTenants && !policy.allowedShareTenants.has(id));
  const parts: string[] = [];
  if (refusedSubs.length) parts.push(`subscriptions ${refusedSubs.join(', ')} are not in the operator's allowed-share-subscriptions`);
  if (refusedTenants.length) parts.push(`tenants ${refusedTenants.join(', ')} are not in the operator's allowed-share-tenants`);
  if (spec.permission === 'Community' && !policy.allowCommunitySharing) parts.push('community sharing (publishing to every Azure user) is turned off by the operator\'s policy (allow-community-sharing)');
  if (!parts.length) return undefined;
  return {
    reason: 'PolicyViolation',
    message: `The operator's policy refuses this GalleryShare: ${parts.join('; ')}. Remove them from the spec, or ask the operator's administrators to allow them. Nothing was changed in Azure.`,
  };
}

/** The role assignments the spec asks for, with the names the owner gives them (ownership.ts). */
export function desiredRoleAssignments(spec: GalleryShareSpec, owner: Owner): DesiredRoleAssignment[] {
  return (spec.roleAssignments ?? []).map((ra) => {
    const scope = roleScope(spec.gallery, ra.image, ra.version);
    const guid = roleGuid(ra.role);
    return {
      name: roleAssignmentName(owner, scope, ra.principalId, guid),
      scope,
      principalId: ra.principalId.toLowerCase(),
      principalType: ra.principalType,
      roleGuid: guid,
      roleDefinitionId: roleDefinitionId(spec.gallery.subscriptionId, guid),
      role: ra.role,
    };
  });
}

/** What the gallery holds now, as the record of what was there before the object first acted. */
export function adoptionRecord(gallery: ObservedGallery): Adopted {
  return { permission: gallery.permission, subscriptions: lower(gallery.subscriptions), tenants: lower(gallery.tenants), communityPublished: gallery.communityEnabled };
}

/**
 * The record kept up to date with what Azure holds now: an adopted entry that is gone (removed by
 * the object itself because the spec dropped it, or by anyone) stops counting as pre-existing, so
 * if it comes back it was added by whoever adds it then.
 */
export function keepAdopted(record: Adopted, gallery: ObservedGallery): Adopted {
  const now = adoptionRecord(gallery);
  return {
    permission: record.permission,
    subscriptions: record.subscriptions.filter((id) => now.subscriptions.includes(id)),
    tenants: record.tenants.filter((id) => now.tenants.includes(id)),
    communityPublished: record.communityPublished && now.communityPublished,
  };
}

export function planGalleryShare(spec: GalleryShareSpec, observed: Observation, owner: Owner): Plan {
  const actions: Action[] = [];
  const details: ConditionInput[] = [];
  const current = observed.gallery.permission;
  const wanted = spec.permission;

  // Azure allows Private <-> Community only: direct sharing must be chosen when the gallery is
  // created. Refuse before calling Azure.
  if (wanted && wanted !== current && (wanted === 'Groups' || current === 'Groups')) {
    return {
      actions: [],
      details,
      stalled: {
        reason: 'PermissionChangeNotAllowed',
        message: `The gallery's sharing permission is ${current} and the spec asks for ${wanted}; Azure cannot change a gallery to or from Groups (direct sharing is chosen when a gallery is created). Set permission: ${current} in the spec, or create a new gallery with permission ${wanted} and point this GalleryShare's replacement at it.`,
      },
    };
  }

  // Permission and community publishing.
  if (wanted === 'Community') {
    // The publisher details are part of the spec too: a changed EULA or contact is written with a
    // gallery update, as the permission is. (Whether Azure accepts a new public-name prefix once
    // published is for Azure to say: a refusal stalls with its code and message.)
    const detailsDiffer = spec.community !== undefined && !sameCommunityInfo(spec.community, observed.gallery.communityInfo);
    if (current !== 'Community' || detailsDiffer) actions.push({ type: 'setPermission', permission: 'Community', community: spec.community });
    if (!observed.gallery.communityEnabled) actions.push({ type: 'share', operation: 'EnableCommunity' });
    const synced = current === 'Community' && observed.gallery.communityEnabled && !detailsDiffer;
    details.push(synced
      ? { type: 'CommunitySynced', status: 'True', reason: 'Published', message: `Published to the community as ${observed.gallery.communityPublicNames.join(', ') || '(public names pending)'}.` }
      : { type: 'CommunitySynced', status: 'False', reason: 'Publishing', message: 'Publishing the gallery to the community.' });
  } else if (wanted === 'Private' && current === 'Community') {
    if (observed.gallery.communityEnabled) actions.push({ type: 'share', operation: 'Reset' });
    actions.push({ type: 'setPermission', permission: 'Private' });
    details.push({ type: 'CommunitySynced', status: 'False', reason: 'Unpublishing', message: 'Withdrawing the gallery from the community.' });
  } else if (wanted === 'Private' && current === 'Private') {
    details.push({ type: 'CommunitySynced', status: 'True', reason: 'NotPublished', message: 'The gallery is private.' });
  }

  // Direct sharing: the spec's lists are the whole truth, when the spec has directShare at all.
  if (spec.directShare && (wanted ?? current) === 'Groups') {
    const wantSubs = lower(spec.directShare.subscriptions);
    const wantTenants = lower(spec.directShare.tenants);
    const haveSubs = lower(observed.gallery.subscriptions);
    const haveTenants = lower(observed.gallery.tenants);
    const remove = { subscriptions: missing(haveSubs, wantSubs), tenants: missing(haveTenants, wantTenants) };
    const add = { subscriptions: missing(wantSubs, haveSubs), tenants: missing(wantTenants, haveTenants) };
    if (remove.subscriptions.length || remove.tenants.length) actions.push({ type: 'share', operation: 'Remove', ...remove });
    if (add.subscriptions.length || add.tenants.length) actions.push({ type: 'share', operation: 'Add', ...add });
    const changes = [
      add.subscriptions.length && `add ${add.subscriptions.length} subscription(s)`,
      add.tenants.length && `add ${add.tenants.length} tenant(s)`,
      remove.subscriptions.length && `remove ${remove.subscriptions.length} subscription(s)`,
      remove.tenants.length && `remove ${remove.tenants.length} tenant(s)`,
    ].filter(Boolean);
    details.push(changes.length
      ? { type: 'DirectShareSynced', status: 'False', reason: 'Sharing', message: `Direct sharing differs from the spec: ${changes.join(', ')}.` }
      : { type: 'DirectShareSynced', status: 'True', reason: 'Synced', message: `Shared with ${wantSubs.length} subscription(s) and ${wantTenants.length} tenant(s).` });
  }

  // Role assignments: create what is missing; delete only what this object made and no longer wants.
  const desired = desiredRoleAssignments(spec, owner);
  const toCreate = desired.filter((d) => !observed.roleAssignments.some((o) => equivalent(o, d)));
  const toDelete = observed.roleAssignments.filter((o) => isOwnedRoleAssignment(o, owner) && !desired.some((d) => equivalent(o, d)));
  for (const assignment of toCreate) actions.push({ type: 'createRoleAssignment', assignment });
  for (const assignment of toDelete) actions.push({ type: 'deleteRoleAssignment', assignment });
  if (spec.roleAssignments !== undefined || toDelete.length) {
    details.push(toCreate.length || toDelete.length
      ? { type: 'RoleAssignmentsSynced', status: 'False', reason: 'Assigning', message: `Role assignments differ from the spec: ${toCreate.length} to create, ${toDelete.length} to delete.` }
      : { type: 'RoleAssignmentsSynced', status: 'True', reason: 'Synced', message: `${desired.length} role assignment(s) in place.` });
  }

  return { actions, details };
}

/**
 * The same principal, role and scope under another name (made by a person, or 409
 * RoleAssignmentExists): Azure allows only one, so it satisfies the spec, but it is not ours and
 * will never be deleted by the operator.
 */
function equivalent(o: ObservedRoleAssignment, d: DesiredRoleAssignment): boolean {
  return sameId(o.scope, d.scope) && o.principalId.toLowerCase() === d.principalId && o.roleGuid === d.roleGuid;
}

/**
 * What deleting the GalleryShare with deletionPolicy Delete undoes: what the spec names and Azure
 * holds, less what the gallery held before the object first acted (`adopted`). Without that
 * record (a status restored without it), who added a share or the community publishing cannot be
 * told, so deletion leaves them and says so; role assignments carry their owner in their names,
 * so they need no record.
 */
export function planDeletion(spec: GalleryShareSpec, observed: Observation, owner: Owner, adopted: Adopted | undefined): DeletionPlan {
  const actions: Action[] = [];
  const doubtful: string[] = [];
  if (spec.directShare && observed.gallery.permission === 'Groups') {
    const subscriptions = lower(spec.directShare.subscriptions).filter((id) => lower(observed.gallery.subscriptions).includes(id));
    const tenants = lower(spec.directShare.tenants).filter((id) => lower(observed.gallery.tenants).includes(id));
    if (!adopted) {
      if (subscriptions.length || tenants.length) doubtful.push(`the direct shares with ${[...subscriptions.map((id) => `subscription ${id}`), ...tenants.map((id) => `tenant ${id}`)].join(', ')}`);
    } else {
      const remove = { subscriptions: missing(subscriptions, adopted.subscriptions), tenants: missing(tenants, adopted.tenants) };
      if (remove.subscriptions.length || remove.tenants.length) actions.push({ type: 'share', operation: 'Remove', ...remove });
    }
  }
  if (spec.permission === 'Community') {
    if (!adopted) {
      if (observed.gallery.communityEnabled) doubtful.push('the community publishing');
    } else {
      if (observed.gallery.communityEnabled && !adopted.communityPublished) actions.push({ type: 'share', operation: 'Reset' });
      // The object made the gallery a community gallery: it goes back to what it was (after the
      // Reset, which is a long-running operation: a later pass of the deletion does this).
      if (observed.gallery.permission === 'Community' && adopted.permission !== 'Community') actions.push({ type: 'setPermission', permission: adopted.permission });
    }
  }
  // Every assignment this object made, in the spec or not (one it made for an entry the spec
  // has since dropped, not yet deleted): the names say whose they are.
  for (const o of observed.roleAssignments) {
    if (isOwnedRoleAssignment(o, owner)) actions.push({ type: 'deleteRoleAssignment', assignment: o });
  }
  return {
    actions,
    ...(doubtful.length
      ? { leftAlone: `Left in Azure: ${doubtful.join(' and ')}. The record of what the gallery held before this GalleryShare first changed it (status.adopted) is missing, so what this object added cannot be told from what it adopted; remove them by hand if this object added them.` }
      : {}),
  };
}

function sameCommunityInfo(wanted: NonNullable<GalleryShareSpec['community']>, observed: CommunityInfo | undefined): boolean {
  return observed !== undefined && (['publisherUri', 'publisherContact', 'eula', 'publicNamePrefix'] as const).every((key) => wanted[key] === observed[key]);
}
