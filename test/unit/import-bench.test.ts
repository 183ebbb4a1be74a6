// The import bench's replay of the request log through Azure's token buckets (test/bench/import.ts):
// the headroom it prints must be counted as ARM counts, when each request arrives.
import { expect } from 'chai';
import { lowestBucketLevel } from '../bench/import.js';

describe('import bench: lowest bucket level', () => {
  const buckets = { read: { size: 2, refillPerSecond: 1 }, write: { size: 2, refillPerSecond: 1 }, delete: { size: 2, refillPerSecond: 1 } };
  const at = (s: number) => new Date(Date.UTC(2026, 10, 30, 0, 0, s)).toISOString();
  // All answered at +2 s, whenever they arrived.
  const get = (startSecond: number) => ({ startTime: at(startSecond), time: at(2), method: 'GET', path: '/subscriptions/s1/resourceGroups/rg', status: 200, principalId: 'p' });

  it('replays requests at their arrival: three a second apart leave a bucket of 2 (refilled 1 a second) at 1, however late they were answered', () => {
    // Had they been counted when answered (all at once, at +2 s), the level would be -1.
    expect(lowestBucketLevel([get(2), get(0), get(1)], buckets)).to.deep.equal({ tokens: 1, size: 2, bucket: 's1 p read' });
  });

  it('three arriving at once take the bucket below zero; 429s and tenant-level requests take nothing', () => {
    const throttled = { ...get(0), status: 429 };
    const tenant = { ...get(0), path: '/subscriptions' };
    expect(lowestBucketLevel([get(0), get(0), throttled, tenant, get(0)], buckets).tokens).to.equal(-1);
  });
});
