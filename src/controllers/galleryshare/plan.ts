// The GalleryShare plan: a pure function from the spec and what was observed in Azure to the
// actions that make Azure match the spec, and the conditions that say how far apart they are.
// No I/O here: handler.ts observes, the shared reconciler calls this and acts. Applying the plan to the observation
// gives the spec, and planning again gives nothing (test/unit/galleryshare-plan.test.ts).
import type { GalleryPermission, GalleryShareSpec } from '../../api/v1alpha1/index.js';
import type { ConditionInput } from '../../runtime/conditions.js';
import { roleAssignmentName, roleDefinitionId, roleScope, sameId } from '../../azure/arm-ids.js';
import type { CommunityInfo, ObservedGallery } from '../../azure/gallery-sharing.js';
import type { ObservedRoleAssignment } from '../../azure/role-assignments.js';
import { roleGuid } from '../../azure/roles.js';
import type { KindPlan } from '../shared/handler.js';
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

/** The owner part of our role-assignment names (see roleAssignmentName). */
const OWNER = 'GalleryShare';

const lower = (ids: readonly string[] | undefined) => (ids ?? []).map((id) => id.toLowerCase());
const missing = (want: string[], have: string[]) => want.filter((id) => !have.includes(id));

/** Refusals by the operator's policy, checked before any call to Azure. */
export function checkPolicy(spec: GalleryShareSpec, policy: Policy): { reason: string; message: string } | undefined {
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

/** The role assignments the spec asks for, with their deterministic names. */
export function desiredRoleAssignments(spec: GalleryShareSpec): DesiredRoleAssignment[] {
  return (spec.roleAssignments ?? []).map((ra) => {
    const scope = roleScope(spec.gallery, ra.image, ra.version);
    const guid = roleGuid(ra.role);
    return {
      name: roleAssignmentName(OWNER, scope, ra.principalId, guid),
      scope,
      principalId: ra.principalId.toLowerCase(),
      principalType: ra.principalType,
      roleGuid: guid,
      roleDefinitionId: roleDefinitionId(spec.gallery.subscriptionId, guid),
      role: ra.role,
    };
  });
}

/** Whether an observed assignment was made by the operator (its name is the one we would give it). */
export function isOwned(ra: ObservedRoleAssignment): boolean {
  return ra.name.toLowerCase() === roleAssignmentName(OWNER, ra.scope, ra.principalId, ra.roleGuid);
}

export function planGalleryShare(spec: GalleryShareSpec, observed: Observation): Plan {
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

  // Role assignments: create what is missing; delete only what we own and no longer want.
  const desired = desiredRoleAssignments(spec);
  const observedByName = new Map(observed.roleAssignments.map((ra) => [ra.name.toLowerCase(), ra]));
  const toCreate = desired.filter((d) => !observedByName.has(d.name) && !observed.roleAssignments.some((o) => equivalent(o, d)));
  const desiredNames = new Set(desired.map((d) => d.name));
  const toDelete = observed.roleAssignments.filter((o) => isOwned(o) && !desiredNames.has(o.name.toLowerCase()));
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

/** What deleting the GalleryShare with deletionPolicy Delete undoes. */
export function planDeletion(spec: GalleryShareSpec, observed: Observation): Action[] {
  const actions: Action[] = [];
  if (spec.directShare && observed.gallery.permission === 'Groups') {
    const subscriptions = lower(spec.directShare.subscriptions).filter((id) => lower(observed.gallery.subscriptions).includes(id));
    const tenants = lower(spec.directShare.tenants).filter((id) => lower(observed.gallery.tenants).includes(id));
    if (subscriptions.length || tenants.length) actions.push({ type: 'share', operation: 'Remove', subscriptions, tenants });
  }
  if (spec.permission === 'Community' && observed.gallery.communityEnabled) actions.push({ type: 'share', operation: 'Reset' });
  const desiredNames = new Set(desiredRoleAssignments(spec).map((d) => d.name));
  for (const o of observed.roleAssignments) {
    if (isOwned(o) && desiredNames.has(o.name.toLowerCase())) actions.push({ type: 'deleteRoleAssignment', assignment: o });
  }
  return actions;
}

function sameCommunityInfo(wanted: NonNullable<GalleryShareSpec['community']>, observed: CommunityInfo | undefined): boolean {
  return observed !== undefined && (['publisherUri', 'publisherContact', 'eula', 'publicNamePrefix'] as const).every((key) => wanted[key] === observed[key]);
}
