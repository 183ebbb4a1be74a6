// Where the scale run's (test/bench/scale.ts) GalleryShares live in Azure: N galleries spread over
// subscriptions within Azure's limits (at most 100 galleries per subscription and region; at most
// 4,000 role assignments per subscription), each GalleryShare with its own gallery, 2 share
// subscriptions, 1 tenant and 2 role assignments (Reader for a user), as `npm run bench` does.
import { createHash } from 'node:crypto';

/** Azure's documented limits the spread keeps to (azure-facts.md). */
export const GALLERIES_PER_SUBSCRIPTION_AND_REGION = 100;
export const ROLE_ASSIGNMENTS_PER_SUBSCRIPTION = 4000;

const ROLE_ASSIGNMENTS_PER_OBJECT = 2;
const LOCATION = 'westus';
const RESOURCE_GROUP = 'scaleRG';

export interface PlannedGallery {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  location: string;
  shareSubscriptions: string[];
  shareTenants: string[];
  principals: string[];
}

export interface Distribution {
  subscriptions: string[];
  galleries: PlannedGallery[];
  maxGalleriesPerSubscription: number;
  maxRoleAssignmentsPerSubscription: number;
  perObject: string;
  summary: string;
}

/** A stable UUID-shaped id from a label: the same run plans the same ids. */
function uuidFrom(label: string): string {
  const h = createHash('sha256').update(label).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function spreadGalleryShares(n: number): Distribution {
  const perSubscription = Math.min(GALLERIES_PER_SUBSCRIPTION_AND_REGION, Math.floor(ROLE_ASSIGNMENTS_PER_SUBSCRIPTION / ROLE_ASSIGNMENTS_PER_OBJECT));
  const subscriptionCount = Math.ceil(n / perSubscription);
  const subscriptions = Array.from({ length: subscriptionCount }, (_, s) => uuidFrom(`scale-subscription-${s}`));
  const galleries = Array.from({ length: n }, (_, i): PlannedGallery => ({
    subscriptionId: subscriptions[Math.floor(i / perSubscription)]!,
    resourceGroup: RESOURCE_GROUP,
    name: `gsscale${String(i).padStart(5, '0')}`,
    location: LOCATION,
    shareSubscriptions: [uuidFrom(`scale-share-sub-${i}-a`), uuidFrom(`scale-share-sub-${i}-b`)],
    shareTenants: [uuidFrom(`scale-share-tenant-${i}`)],
    principals: [uuidFrom(`scale-principal-${i}-a`), uuidFrom(`scale-principal-${i}-b`)],
  }));
  const maxGalleries = Math.min(n, perSubscription);
  return {
    subscriptions,
    galleries,
    maxGalleriesPerSubscription: maxGalleries,
    maxRoleAssignmentsPerSubscription: maxGalleries * ROLE_ASSIGNMENTS_PER_OBJECT,
    perObject: '2 share subscriptions, 1 tenant, 2 role assignments',
    summary: `${subscriptionCount} gallery subscriptions, 1 region (${LOCATION}); at most ${maxGalleries} galleries (limit ${GALLERIES_PER_SUBSCRIPTION_AND_REGION} per subscription and region) and ${maxGalleries * ROLE_ASSIGNMENTS_PER_OBJECT} role assignments (limit ${ROLE_ASSIGNMENTS_PER_SUBSCRIPTION}) per subscription`,
  };
}
