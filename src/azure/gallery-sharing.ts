// The Azure calls behind gallery sharing, in the operator's own terms: read a gallery with its
// share groups, and start a share or permission change without waiting for it (its resume token
// goes into the object's status, and the operation is polled on a later reconcile, by any
// process). Role assignments are in role-assignments.ts.
import { restorePoller, type ComputeManagementClient, type Gallery } from '@azure/arm-compute';
import { isResourceNotFound } from './errors.js';
import { isAnotherOperationRunning, pollOnce, retryAfterRecorder, submitted, type PollerLikeMin, type Polled, type Started } from './operations.js';

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

export interface CommunityInfo {
  publisherUri: string;
  publisherContact: string;
  eula: string;
  publicNamePrefix: string;
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

/**
 * One read: the gallery with its share groups; undefined when it does not exist. A missing
 * resource group or subscription is thrown (ResourceGroupNotFound, SubscriptionNotFound), so that
 * the object says which part of spec.gallery is wrong.
 */
export async function readGallery(compute: ComputeManagementClient, resourceGroup: string, name: string, signal?: AbortSignal): Promise<ObservedGallery | undefined> {
  try {
    return toObservedGallery(await compute.galleries.get(resourceGroup, name, { expand: 'SharingProfile/Groups', abortSignal: signal }));
  } catch (err) {
    if (isResourceNotFound(err)) return undefined;
    throw err;
  }
}

type ShareOperation =
  | { operationType: 'Add' | 'Remove'; subscriptions: string[]; tenants: string[] }
  | { operationType: 'EnableCommunity' | 'Reset' };

/** Starts a share call (POST .../share) and returns without waiting for it to finish. */
export async function startShare(compute: ComputeManagementClient, resourceGroup: string, name: string, operation: ShareOperation, signal?: AbortSignal): Promise<Started> {
  const groups =
    operation.operationType === 'Add' || operation.operationType === 'Remove'
      ? [
          ...(operation.subscriptions.length ? [{ type: 'Subscriptions' as const, ids: operation.subscriptions }] : []),
          ...(operation.tenants.length ? [{ type: 'AADTenants' as const, ids: operation.tenants }] : []),
        ]
      : undefined;
  const recorder = retryAfterRecorder();
  const poller = compute.gallerySharingProfile.update(resourceGroup, name, { operationType: operation.operationType, ...(groups ? { groups } : {}) }, { onResponse: recorder.onResponse, abortSignal: signal });
  try {
    return await submitted(poller, recorder.retryAfterMs);
  } catch (err) {
    // Azure runs one share operation per gallery at a time. The one running may be the very
    // change asked for, started by a process that died before recording it: look again later.
    if (isAnotherOperationRunning(err)) return { done: false, retryAfterMs: recorder.retryAfterMs() ?? DEFAULT_RETRY_WHILE_BUSY_MS };
    throw err;
  }
}

/** How soon to look again when Azure refuses a share because another one runs (and says no Retry-After). */
const DEFAULT_RETRY_WHILE_BUSY_MS = 5_000;

/** Sets the gallery's sharing permission (PATCH), with the community details when publishing. */
export async function startSetPermission(
  compute: ComputeManagementClient,
  resourceGroup: string,
  name: string,
  permission: GalleryPermission,
  community?: CommunityInfo,
  signal?: AbortSignal,
): Promise<Started> {
  const recorder = retryAfterRecorder();
  const poller = compute.galleries.update(
    resourceGroup,
    name,
    { sharingProfile: { permissions: permission, ...(community ? { communityGalleryInfo: community } : {}) } },
    { onResponse: recorder.onResponse, abortSignal: signal },
  );
  return submitted(poller, recorder.retryAfterMs);
}

/** The long-running gallery operations the operator starts, by the name kept in status.operation. */
export type GalleryOperation = 'share' | 'setPermission';

/** One poll of a share or permission change started earlier, from its resume token. */
export async function pollGalleryOperation(compute: ComputeManagementClient, operation: GalleryOperation, resumeToken: string, signal: AbortSignal): Promise<Polled> {
  const recorder = retryAfterRecorder();
  const options = { onResponse: recorder.onResponse, abortSignal: signal };
  const poller: PollerLikeMin =
    operation === 'share' ? restorePoller(compute, resumeToken, compute.gallerySharingProfile.update, options) : restorePoller(compute, resumeToken, compute.galleries.update, options);
  return pollOnce(poller, recorder.retryAfterMs, signal);
}

