// The token bucket that paces the operator's ARM calls: never more than its size in a burst, its
// refill rate held over any window, waits computed exactly (neither early nor needlessly late),
// refusals that take nothing, and ARM's reported remainder lowering it.
import { expect } from 'chai';
import fc from 'fast-check';
import { TokenBucket, type Budget } from '../../src/azure/token-bucket.js';

const budgets = fc.record({ size: fc.integer({ min: 1, max: 30 }), refillPerSecond: fc.integer({ min: 1, max: 50 }) });
/** Requests: the ms since the previous one, and the longest wait each accepts. */
const requests = fc.array(fc.record({ gapMs: fc.nat(400), maxWaitMs: fc.oneof(fc.constant(Infinity), fc.nat(3000)) }), { minLength: 1, maxLength: 120 });
const T0 = 1_764_460_800_000; // a wall-clock time, as Date.now gives

/** The send times of the requests the bucket took, sorted. */
function sendTimes(budget: Budget, sequence: { gapMs: number; maxWaitMs: number }[]): number[] {
  const bucket = new TokenBucket(budget, T0);
  let now = T0;
  const sends: number[] = [];
  for (const r of sequence) {
    now += r.gapMs;
    const take = bucket.take(now, r.maxWaitMs);
    if (take.taken) sends.push(now + take.waitMs);
  }
  return sends.sort((a, b) => a - b);
}

describe('TokenBucket', () => {
  it('lets at most size requests go at once, and at most size + rate × window over any window', () => {
    fc.assert(
      fc.property(budgets, requests, (budget, sequence) => {
        const sends = sendTimes(budget, sequence);
        for (let i = 0; i < sends.length; i++) {
          for (let j = i; j < sends.length; j++) {
            const allowed = budget.size + Math.floor(((sends[j]! - sends[i]!) * budget.refillPerSecond) / 1000);
            expect(j - i + 1, `${j - i + 1} requests sent in ${sends[j]! - sends[i]!} ms`).to.be.at.most(allowed);
          }
        }
      }),
    );
  });

  it('waits exactly: a request that waits would be too soon one millisecond earlier', () => {
    fc.assert(
      fc.property(budgets, requests, (budget, sequence) => {
        const bucket = new TokenBucket(budget, T0);
        let now = T0;
        const sends: number[] = [];
        for (const r of sequence) {
          now += r.gapMs;
          const take = bucket.take(now, Infinity);
          const at = now + take.waitMs;
          // Sends go in the order they were taken.
          if (sends.length) expect(at).to.be.at.least(sends[sends.length - 1]!);
          sends.push(at);
          if (take.waitMs === 0) continue;
          const j = sends.length - 1;
          const tooSoon = sends.slice(0, j).some((s, i) => j - i + 1 > budget.size + Math.floor(((at - 1 - s) * budget.refillPerSecond) / 1000));
          expect(tooSoon, `request ${j} waited ${take.waitMs} ms; 1 ms less would also do`).to.equal(true);
        }
      }),
    );
  });

  it('lets a burst of size go at once, and the next ones at the refill rate', () => {
    const bucket = new TokenBucket({ size: 3, refillPerSecond: 4 }, T0);
    expect([1, 2, 3, 4, 5, 6].map(() => bucket.take(T0, Infinity).waitMs)).to.deep.equal([0, 0, 0, 250, 500, 750]);
    // A rate that does not divide a second: each send at the whole millisecond it may go.
    const sixths = new TokenBucket({ size: 1, refillPerSecond: 6 }, T0);
    expect([1, 2, 3, 4].map(() => sixths.take(T0, Infinity).waitMs)).to.deep.equal([0, 167, 334, 501]);
  });

  it('refuses a wait longer than allowed without taking a token, and names the wait a take would get', () => {
    fc.assert(
      fc.property(budgets, requests, fc.nat(2000), (budget, sequence, maxWaitMs) => {
        const bucket = new TokenBucket(budget, T0);
        let now = T0;
        for (const r of sequence) {
          now += r.gapMs;
          const before = bucket.tokens(now);
          const take = bucket.take(now, maxWaitMs);
          if (!take.taken) {
            expect(take.waitMs).to.be.above(maxWaitMs);
            expect(bucket.tokens(now)).to.equal(before);
            expect(bucket.take(now, Infinity).waitMs).to.equal(take.waitMs);
          }
        }
      }),
    );
  });

  it('refills at its rate up to its size, and no further', () => {
    const bucket = new TokenBucket({ size: 4, refillPerSecond: 10 }, T0);
    for (let i = 0; i < 4; i++) expect(bucket.take(T0, 0)).to.deep.equal({ waitMs: 0, taken: true });
    expect(bucket.take(T0, 0)).to.deep.equal({ waitMs: 100, taken: false });
    expect(bucket.take(T0 + 99, 0)).to.deep.equal({ waitMs: 1, taken: false });
    expect(bucket.take(T0 + 100, 0)).to.deep.equal({ waitMs: 0, taken: true });
    expect(bucket.tokens(T0 + 100)).to.equal(0);
    expect(bucket.tokens(T0 + 350)).to.equal(2.5);
    expect(bucket.tokens(T0 + 60_000)).to.equal(4);
  });

  it('is lowered, never raised, to the remainder the server reports', () => {
    const bucket = new TokenBucket({ size: 200, refillPerSecond: 10 }, T0);
    bucket.atMost(T0, 1000);
    expect(bucket.tokens(T0)).to.equal(200);
    bucket.atMost(T0, 3);
    expect(bucket.tokens(T0)).to.equal(3);
    bucket.atMost(T0, 150);
    expect(bucket.tokens(T0)).to.equal(3);
    for (let i = 0; i < 3; i++) expect(bucket.take(T0, 0).taken).to.equal(true);
    expect(bucket.take(T0, 0)).to.deep.equal({ waitMs: 100, taken: false });
    bucket.atMost(T0, 0);
    expect(bucket.waitMs(T0)).to.equal(100);
  });

  it('rejects budgets that are not whole numbers of at least 1', () => {
    expect(() => new TokenBucket({ size: 0, refillPerSecond: 10 }, T0)).to.throw(/at least 1/);
    expect(() => new TokenBucket({ size: 10, refillPerSecond: 2.5 }, T0)).to.throw(/whole/);
  });
});
