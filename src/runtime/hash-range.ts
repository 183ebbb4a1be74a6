// Hash-range sharding: which namespaces a replica holding range k of n reconciles, the
// `shardSelector` that asks the API server for them (KEP-5866, ShardedListAndWatch, alpha in
// Kubernetes 1.36) and the range Leases' names. The hash and the range bounds are those of
// apimachinery's pkg/sharding (v0.36.3): FNV-1a 64 over the UTF-8 bytes of the field's value,
// written '0x' + 16 hex digits, ranges [start, end) with 2^64 written '0x10000000000000000'.
// The API server never says whether it applied a selector to a custom resource (no shardInfo on
// unstructured lists) and ignores it silently when the gate is off, so a replica always filters
// by itself with inHashRange: the server-side selector only saves bandwidth.

const FNV_OFFSET_BASIS = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK_64 = (1n << 64n) - 1n;
/** The size of the hash space: the end of the last range. */
export const HASH_SPACE = 1n << 64n;

/** FNV-1a 64 of a string's UTF-8 bytes (Go's hash/fnv New64a, as apimachinery hashes). */
export function fnv1a64(value: string): bigint {
  let hash = FNV_OFFSET_BASIS;
  for (const byte of new TextEncoder().encode(value)) {
    hash ^= BigInt(byte);
    hash = (hash * FNV_PRIME) & MASK_64;
  }
  return hash;
}

/** A hash or a bound as the API server writes it: '0x' + 16 lower-case hex digits (2^64: 17). */
export function hashHex(value: bigint): string {
  return `0x${value.toString(16).padStart(16, '0')}`;
}

/** Range k of n: [start, end) of the hash space, the n ranges covering it once, in order. */
export interface HashRange {
  index: number;
  count: number;
  start: bigint;
  end: bigint;
}

/** Range k (0 ≤ k < n) of n equal ranges: [k·2^64/n, (k+1)·2^64/n), rounded down. */
export function hashRange(index: number, count: number): HashRange {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`the number of ranges must be a whole number ≥ 1, not ${count}`);
  if (!Number.isInteger(index) || index < 0 || index >= count) throw new RangeError(`range ${index} does not exist among ${count}`);
  const n = BigInt(count);
  return { index, count, start: (BigInt(index) * HASH_SPACE) / n, end: (BigInt(index + 1) * HASH_SPACE) / n };
}

/** Whether a namespace's hash falls in the range (the filter every replica applies by itself). */
export function inHashRange(namespace: string, range: HashRange): boolean {
  const hash = fnv1a64(namespace);
  return hash >= range.start && hash < range.end;
}

/** The `shardSelector` of list and watch for the range, on the objects' namespace. */
export function shardSelector(range: HashRange): string {
  return `shardRange(object.metadata.namespace, '${hashHex(range.start)}', '${hashHex(range.end)}')`;
}

/** The name of range k of n's Lease: `<leader-election-id>-shard-<k>-of-<n>`. */
export function rangeLeaseName(leaderElectionId: string, index: number, count: number): string {
  return `${leaderElectionId}-shard-${index}-of-${count}`;
}

/** Every range Lease's name, range 0 first. */
export function rangeLeaseNames(leaderElectionId: string, count: number): string[] {
  return Array.from({ length: count }, (_, k) => rangeLeaseName(leaderElectionId, k, count));
}
