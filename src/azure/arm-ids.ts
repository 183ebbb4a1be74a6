// Azure resource ids and names the operator computes: gallery, image and version scopes, role
// definition ids, the unique name consumers use, and UUIDv5 (for the deterministic names of
// ownership.ts).
import { createHash } from 'node:crypto';

export interface GalleryCoordinates {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

export function galleryId(g: GalleryCoordinates): string {
  return `/subscriptions/${g.subscriptionId}/resourceGroups/${g.resourceGroup}/providers/Microsoft.Compute/galleries/${g.name}`;
}

/** The scope of a role assignment: the gallery, one image definition, or one image version. */
export function roleScope(g: GalleryCoordinates, image?: string, version?: string): string {
  let scope = galleryId(g);
  if (image) scope += `/images/${image}`;
  if (image && version) scope += `/versions/${version}`;
  return scope;
}

/** `{subscriptionId}-{GALLERYNAME}`: what consumers put in /SharedGalleries/<uniqueName>. */
export function galleryUniqueName(g: GalleryCoordinates): string {
  return `${g.subscriptionId}-${g.name.toUpperCase()}`;
}

export function roleDefinitionId(subscriptionId: string, roleGuid: string): string {
  return `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${roleGuid}`;
}

/** The GUID at the end of a role definition id, in lower case (ARM answers either id form). */
export function roleGuidOf(roleDefinitionIdOrGuid: string): string {
  return (roleDefinitionIdOrGuid.split('/').pop() ?? '').toLowerCase();
}

/** ARM compares ids without case; so does the operator. */
export function sameId(a: string, b: string): boolean {
  return a.toLowerCase().replace(/\/+$/, '') === b.toLowerCase().replace(/\/+$/, '');
}

/** RFC 4122 version-5 UUID of `name` in `namespace`. */
export function uuidV5(namespace: string, name: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
