// Hash-range sharding's arithmetic: the hash is the API server's (FNV-1a 64, checked against the
// hashes kube-apiserver 1.36.3 filtered by, in a probe of the namespaces below; the server's own
// filtering is exercised in test/integration/sharded-list-watch.test.ts), the n ranges cover the
// hash space exactly once, and the selector and Lease names are written as the server and the
// RBAC rules expect them.
import { expect } from 'chai';
import fc from 'fast-check';
import { KubeConfig } from '@kubernetes/client-node';
import { fnv1a64, HASH_SPACE, hashHex, hashRange, inHashRange, rangeLeaseName, rangeLeaseNames, shardSelector } from '../../src/runtime/hash-range.js';
import type { KubeClient } from '../../src/runtime/kube-client.js';
import { kubeListerWatcher } from '../../src/runtime/list-watch.js';

describe('hash-range sharding', () => {
  it('hashes namespaces as the API server does (FNV-1a 64 of the UTF-8 bytes)', () => {
    const known: Record<string, string> = {
      alpha: '0x8ac625bb85ed202b',
      bravo: '0xb469211dfdbe6043',
      charlie: '0xa3683978114e2021',
      delta: '0x52076675ec13a0c1',
      echo: '0x3000e56026044164',
      foxtrot: '0xe9d5f383e02ade2f',
    };
    for (const [namespace, hash] of Object.entries(known)) expect(hashHex(fnv1a64(namespace)), namespace).to.equal(hash);
    // Go's hash/fnv test vectors: the empty string is the offset basis; bytes, not UTF-16 units.
    expect(hashHex(fnv1a64(''))).to.equal('0xcbf29ce484222325');
    expect(hashHex(fnv1a64('a'))).to.equal('0xaf63dc4c8601ec8c');
    expect(fnv1a64('é')).to.not.equal(fnv1a64('\u00e9'.normalize('NFD')));
  });

  it('puts the probe namespaces where the server put them: delta and echo below 2^63, the rest above', () => {
    const [low, high] = [hashRange(0, 2), hashRange(1, 2)];
    expect(['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'].filter((ns) => inHashRange(ns, low))).to.deep.equal(['delta', 'echo']);
    expect(['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'].filter((ns) => inHashRange(ns, high))).to.deep.equal(['alpha', 'bravo', 'charlie', 'foxtrot']);
  });

  it('splits the hash space into n ranges that cover it exactly once, for n = 1..7', () => {
    for (let n = 1; n <= 7; n++) {
      const ranges = Array.from({ length: n }, (_, k) => hashRange(k, n));
      expect(ranges[0]!.start, `n=${n}`).to.equal(0n);
      expect(ranges[n - 1]!.end, `n=${n}`).to.equal(HASH_SPACE);
      for (let k = 0; k < n; k++) {
        expect(ranges[k]!.start < ranges[k]!.end, `n=${n} k=${k} not empty`).to.equal(true);
        if (k > 0) expect(ranges[k]!.start, `n=${n} k=${k} starts where k-1 ends`).to.equal(ranges[k - 1]!.end);
      }
    }
    // Any namespace-like string is in exactly one range of each n.
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 63 }), fc.integer({ min: 1, max: 7 }), (namespace, n) => {
        const holders = Array.from({ length: n }, (_, k) => hashRange(k, n)).filter((r) => inHashRange(namespace, r));
        return holders.length === 1;
      }),
      { numRuns: 2000 },
    );
    // And so is any hash, the bounds themselves included ([start, end)).
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: HASH_SPACE - 1n }), fc.integer({ min: 1, max: 7 }), (hash, n) => {
        const ranges = Array.from({ length: n }, (_, k) => hashRange(k, n));
        const edges = [hash, ...ranges.map((r) => r.start)];
        return edges.every((h) => ranges.filter((r) => h >= r.start && h < r.end).length === 1);
      }),
    );
  });

  it('refuses ranges that do not exist', () => {
    expect(() => hashRange(2, 2)).to.throw(RangeError);
    expect(() => hashRange(-1, 2)).to.throw(RangeError);
    expect(() => hashRange(0, 0)).to.throw(RangeError);
    expect(() => hashRange(0.5, 2)).to.throw(RangeError);
  });

  it('writes the selector as the API server parses it: 16 hex digits, 2^64 as 17', () => {
    expect(shardSelector(hashRange(0, 1))).to.equal("shardRange(object.metadata.namespace, '0x0000000000000000', '0x10000000000000000')");
    expect(shardSelector(hashRange(0, 2))).to.equal("shardRange(object.metadata.namespace, '0x0000000000000000', '0x8000000000000000')");
    expect(shardSelector(hashRange(1, 2))).to.equal("shardRange(object.metadata.namespace, '0x8000000000000000', '0x10000000000000000')");
    expect(shardSelector(hashRange(1, 3))).to.equal("shardRange(object.metadata.namespace, '0x5555555555555555', '0xaaaaaaaaaaaaaaaa')");
  });

  it('names range k of n\'s Lease <leader-election-id>-shard-<k>-of-<n>', () => {
    expect(rangeLeaseName('gallery-share-operator', 0, 2)).to.equal('gallery-share-operator-shard-0-of-2');
    expect(rangeLeaseNames('gso', 3)).to.deep.equal(['gso-shard-0-of-3', 'gso-shard-1-of-3', 'gso-shard-2-of-3']);
  });

  it('lists a range with the shardSelector and drops what the server sent from outside it (a server with the gate off sends everything)', async () => {
    const asked: string[] = [];
    const everything = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'].map((namespace) => ({ metadata: { namespace, name: 'share' } }));
    // Only get is used by list(); the rest of KubeClient is not needed here.
    const client = { get: (path: string) => (asked.push(path), Promise.resolve({ items: everything, metadata: { resourceVersion: '7' } })) } as unknown as KubeClient;
    const page = await kubeListerWatcher<{ metadata: { namespace: string } }>(new KubeConfig(), client, '/apis/galleryshare.io/v1alpha1/galleryshares', '', hashRange(0, 2)).list({ limit: 500 });
    expect(page.items.map((o) => o.metadata.namespace)).to.deep.equal(['delta', 'echo']);
    expect(new URL(asked[0]!, 'https://x').searchParams.get('shardSelector')).to.equal(shardSelector(hashRange(0, 2)));
    const unsharded = await kubeListerWatcher<{ metadata: { namespace: string } }>(new KubeConfig(), client, '/apis/galleryshare.io/v1alpha1/galleryshares').list({ limit: 500 });
    expect(unsharded.items).to.have.length(6);
    expect(asked[1]).not.to.include('shardSelector');
  });
});
