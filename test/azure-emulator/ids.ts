// Identifiers: GUID checks, deterministic GUIDs (so a seed gives the same ids on every start), and
// ARM scope arithmetic (ARM compares ids case-insensitively, segment by segment).
import { createHash, randomUUID } from 'node:crypto';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(value: string): boolean {
  return GUID.test(value);
}

/** A GUID derived from text: stable across restarts, distinct for distinct inputs. */
export function deterministicGuid(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The public name Azure gives a community gallery when it is made Community with
 * communityGalleryInfo: the prefix, a dash and a GUID (here derived from the gallery id).
 */
export function communityPublicName(galleryId: string, prefix: string): string {
  return `${prefix}-${deterministicGuid('public-name', galleryId.toLowerCase())}`;
}

export function newGuid(): string {
  return randomUUID();
}

export function sameId(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** Lower-cased, `//`-collapsed, no trailing slash: the key under which the world stores a resource. */
export function idKey(id: string): string {
  return '/' + id.split('/').filter(Boolean).join('/').toLowerCase();
}

/** True when `ancestor` is `scope` itself or one of its parents (`/` is everyone's parent). */
export function isAtOrAbove(ancestor: string, scope: string): boolean {
  const a = idKey(ancestor);
  const s = idKey(scope);
  return a === '/' || a === s || s.startsWith(a + '/');
}

/** The subscription id in a scope, if the scope is inside one. */
export function subscriptionOf(scope: string): string | undefined {
  const segments = scope.split('/').filter(Boolean);
  return segments[0]?.toLowerCase() === 'subscriptions' ? segments[1] : undefined;
}

export function resourceGroupId(subscriptionId: string, resourceGroup: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}`;
}

export function galleryId(subscriptionId: string, resourceGroup: string, gallery: string): string {
  return `${resourceGroupId(subscriptionId, resourceGroup)}/providers/Microsoft.Compute/galleries/${gallery}`;
}

/** What a resource id names, parsed loosely (only the parts the emulator needs). */
export interface ParsedResourceId {
  subscriptionId: string;
  resourceGroup?: string;
  /** `provider/type/name` segments after the resource group's `providers`. */
  providerPath: string[];
}

export function parseResourceId(id: string): ParsedResourceId | undefined {
  const segments = id.split('/').filter(Boolean);
  if (segments[0]?.toLowerCase() !== 'subscriptions' || !segments[1]) return undefined;
  const parsed: ParsedResourceId = { subscriptionId: segments[1], providerPath: [] };
  if (segments[2]?.toLowerCase() === 'resourcegroups' && segments[3]) {
    parsed.resourceGroup = segments[3];
    if (segments[4]?.toLowerCase() === 'providers') parsed.providerPath = segments.slice(5);
  }
  return parsed;
}

/** ARM image version names: Major.Minor.Patch, each a 32-bit integer. */
export function parseVersionName(name: string): [number, number, number] | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(name);
  if (!match) return undefined;
  const parts = [Number(match[1]), Number(match[2]), Number(match[3])] as [number, number, number];
  return parts.every((part) => part <= 2147483647) ? parts : undefined;
}

export function compareVersionNames(a: string, b: string): number {
  const pa = parseVersionName(a) ?? [0, 0, 0];
  const pb = parseVersionName(b) ?? [0, 0, 0];
  for (let i = 0; i < 3; i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

/** Azure region names compare without spaces and case ("West US" is "westus"). */
export function normalizeRegion(region: string): string {
  return region.replace(/\s+/g, '').toLowerCase();
}
