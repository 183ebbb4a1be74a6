// The Azure calls behind gallery sharing, in the operator's own terms: read a gallery with its
// share groups, list the role assignments at and below it, start a share or permission change
// without waiting for it (the poller's state is kept and polled on a later reconcile), and
// create or delete role assignments idempotently.
import { restorePoller, type ComputeManagementClient, type Gallery } from '@azure/arm-compute';
import type { AuthorizationManagementClient } from '@azure/arm-authorization';
import { roleGuidOf } from './arm-ids.js';
import { retryAfterMsFromHeaders } from './errors.js';

export type GalleryPermission = 'Private' | 'Groups' | 'Community';

export interface ObservedGallery {
  uniqueName?: string;
  permission: GalleryPermission;
  /** Lower-cased ids shared directly (only with permission Groups). */
  subscriptions: string[];
  tenants: string[];
  communityEnabled: boolean;
  communityPublicNames: string[];
  /** The publisher details the gallery has for community publishing, when it has any. */
  communityInfo?: CommunityInfo;
  provisioningState?: string;
}

export interface ObservedRoleAssignment {
  id: string;
  name: string;
  scope: string;
  principalId: string;
  /** Lower-case GUID of the role definition. */
  roleGuid: string;
}

export interface CommunityInfo {
  publisherUri: string;
  publisherContact: string;
  eula: string;
  publicNamePrefix: string;
}

/** A long-running operation started and not awaited: resume it with its serialized poller. */
export type Started = { done: true } | { done: false; resumeFrom: string; retryAfterMs: number };

export type Polled = { done: true } | { done: false; retryAfterMs: number };

/** Azure gives no Retry-After on some answers; this is how long to wait then. */
const DEFAULT_POLL_MS = 2_000;

/** An onResponse hook for the SDK that keeps the latest Retry-After it saw. */
function retryAfterRecorder() {
  let retryAfterMs: number | undefined;
  return {
    onResponse: (response: { headers: { get(name: string): string | undefined } }) => {
      retryAfterMs = retryAfterMsFromHeaders(response.headers) ?? retryAfterMs;
    },
    retryAfterMs: () => retryAfterMs,
  };
}

function isNotFound(err: unknown): boolean {
  return (err as { statusCode?: number }).statusCode === 404;
}

function toObservedGallery(gallery: Gallery): ObservedGallery {
  const profile = gallery.sharingProfile;
  const group = (type: string) => (profile?.groups ?? []).filter((g) => g.type === type).flatMap((g) => g.ids ?? []).map((id) => id.toLowerCase());
  return {
    uniqueName: gallery.identifier?.uniqueName,
    permission: (profile?.permissions as GalleryPermission | undefined) ?? 'Private',
    subscriptions: group('Subscriptions'),
    tenants: group('AADTenants'),
    communityEnabled: profile?.communityGalleryInfo?.communityGalleryEnabled ?? false,
    communityPublicNames: profile?.communityGalleryInfo?.publicNames ?? [],
    ...(communityInfoOf(profile?.communityGalleryInfo) ? { communityInfo: communityInfoOf(profile?.communityGalleryInfo) } : {}),
    provisioningState: gallery.provisioningState,
  };
}

function communityInfoOf(info: { publisherUri?: string; publisherContact?: string; eula?: string; publicNamePrefix?: string } | undefined): CommunityInfo | undefined {
  if (!info?.publisherUri && !info?.publisherContact && !info?.eula && !info?.publicNamePrefix) return undefined;
  return { publisherUri: info.publisherUri ?? '', publisherContact: info.publisherContact ?? '', eula: info.eula ?? '', publicNamePrefix: info.publicNamePrefix ?? '' };
}

/** One read: the gallery with its share groups; undefined when it does not exist. */
export async function readGallery(compute: ComputeManagementClient, resourceGroup: string, name: string): Promise<ObservedGallery | undefined> {
  try {
    return toObservedGallery(await compute.galleries.get(resourceGroup, name, { expand: 'SharingProfile/Groups' }));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * One read (more only when ARM pages): every role assignment at, above and below the gallery's
 * scope, kept when at or below it. Listing without atScope() is what returns the image and
 * version scopes too, so a resync costs one list however many scopes the spec names.
 */
export async function listRoleAssignmentsAtOrBelow(authorization: AuthorizationManagementClient, galleryScope: string): Promise<ObservedRoleAssignment[]> {
  const prefix = galleryScope.toLowerCase();
  const found: ObservedRoleAssignment[] = [];
  for await (const ra of authorization.roleAssignments.listForScope(galleryScope.replace(/^\/+/, ''))) {
    const scope = ra.scope ?? '';
    const lowered = scope.toLowerCase();
    if (lowered !== prefix && !lowered.startsWith(`${prefix}/`)) continue;
    found.push({ id: ra.id ?? '', name: ra.name ?? '', scope, principalId: (ra.principalId ?? '').toLowerCase(), roleGuid: roleGuidOf(ra.roleDefinitionId ?? '') });
  }
  return found;
}

type ShareOperation =
  | { operationType: 'Add' | 'Remove'; subscriptions: string[]; tenants: string[] }
  | { operationType: 'EnableCommunity' | 'Reset' };

/** Starts a share call (POST .../share) and returns without waiting for it to finish. */
export async function startShare(compute: ComputeManagementClient, resourceGroup: string, name: string, operation: ShareOperation): Promise<Started> {
  const groups =
    operation.operationType === 'Add' || operation.operationType === 'Remove'
      ? [
          ...(operation.subscriptions.length ? [{ type: 'Subscriptions' as const, ids: operation.subscriptions }] : []),
          ...(operation.tenants.length ? [{ type: 'AADTenants' as const, ids: operation.tenants }] : []),
        ]
      : undefined;
  const recorder = retryAfterRecorder();
  const poller = compute.gallerySharingProfile.update(resourceGroup, name, { operationType: operation.operationType, ...(groups ? { groups } : {}) }, { onResponse: recorder.onResponse });
  return submitted(poller, recorder.retryAfterMs);
}

/** Sets the gallery's sharing permission (PATCH), with the community details when publishing. */
export async function startSetPermission(
  compute: ComputeManagementClient,
  resourceGroup: string,
  name: string,
  permission: GalleryPermission,
  community?: CommunityInfo,
): Promise<Started> {
  const recorder = retryAfterRecorder();
  const poller = compute.galleries.update(
    resourceGroup,
    name,
    { sharingProfile: { permissions: permission, ...(community ? { communityGalleryInfo: community } : {}) } },
    { onResponse: recorder.onResponse },
  );
  return submitted(poller, recorder.retryAfterMs);
}

interface PollerLikeMin {
  readonly isDone: boolean;
  readonly operationState: { status: string; error?: Error } | undefined;
  submitted(): Promise<void>;
  serialize(): Promise<string>;
  poll(): Promise<{ status: string; error?: Error }>;
}

// The poller is also a Promise (awaiting it polls until done), so it is never returned or awaited
// itself: only its submission and its serialized state leave this module.
async function submitted(poller: PollerLikeMin, retryAfter: () => number | undefined): Promise<Started> {
  await poller.submitted();
  throwIfFailed(poller.operationState);
  if (poller.isDone) return { done: true };
  return { done: false, resumeFrom: await poller.serialize(), retryAfterMs: retryAfter() ?? DEFAULT_POLL_MS };
}

/** One poll of an operation started earlier (one GET of its status). */
export async function pollStarted(compute: ComputeManagementClient, resumeFrom: string, kind: 'share' | 'permission'): Promise<Polled> {
  const recorder = retryAfterRecorder();
  const options = { onResponse: recorder.onResponse };
  const poller: PollerLikeMin =
    kind === 'share' ? restorePoller(compute, resumeFrom, compute.gallerySharingProfile.update, options) : restorePoller(compute, resumeFrom, compute.galleries.update, options);
  const state = await poller.poll();
  throwIfFailed(state);
  return poller.isDone ? { done: true } : { done: false, retryAfterMs: recorder.retryAfterMs() ?? DEFAULT_POLL_MS };
}

/** A failed long-running operation, with the ARM code from its status body. */
export class OperationFailedError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'OperationFailedError';
  }
}

function throwIfFailed(state: { status: string; error?: Error & { code?: string } } | undefined): void {
  if (state?.status !== 'failed' && state?.status !== 'canceled') return;
  const error = state.error;
  throw new OperationFailedError(error?.code ?? 'OperationFailed', error?.message ?? `the operation ${state.status}`);
}

export type RoleAssignmentResult = 'created' | 'existed';

/** Creates an assignment under our deterministic name; one that already exists counts as success. */
export async function createRoleAssignment(
  authorization: AuthorizationManagementClient,
  assignment: { scope: string; name: string; roleDefinitionId: string; principalId: string; principalType: string; description: string },
): Promise<RoleAssignmentResult> {
  try {
    await authorization.roleAssignments.create(assignment.scope.replace(/^\/+/, ''), assignment.name, {
      roleDefinitionId: assignment.roleDefinitionId,
      principalId: assignment.principalId,
      principalType: assignment.principalType,
      description: assignment.description,
    });
    return 'created';
  } catch (err) {
    // The same principal, role and scope under another name: the spec is satisfied.
    if ((err as { code?: string }).code === 'RoleAssignmentExists') return 'existed';
    throw err;
  }
}

/** Deletes an assignment by id; one already gone counts as success. */
export async function deleteRoleAssignment(authorization: AuthorizationManagementClient, id: string): Promise<void> {
  try {
    await authorization.roleAssignments.deleteById(id.replace(/^\/+/, ''));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

