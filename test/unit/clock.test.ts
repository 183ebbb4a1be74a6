// The fake clock the runtime's tests rely on: timers run in order at their own time, timers set
// by a timer inside the window run in the same advance, and sleep wakes on abort without rejecting.
import { expect } from 'chai';
import { realClock } from '../../src/runtime/clock.js';
import { FakeClock } from '../support/fake-clock.js';

describe('Clock', () => {
  it('runs due timers in order, each at its own time, including ones set along the way', async () => {
    const clock = new FakeClock(1_000);
    const ran: string[] = [];
    clock.setTimeout(() => ran.push(`b@${clock.now()}`), 200);
    clock.setTimeout(() => {
      ran.push(`a@${clock.now()}`);
      clock.setTimeout(() => ran.push(`c@${clock.now()}`), 150);
    }, 100);
    const cancelled = clock.setTimeout(() => ran.push('never'), 50);
    cancelled.cancel();
    await clock.advance(249);
    expect(ran).to.deep.equal(['a@1100', 'b@1200']);
    expect(clock.now()).to.equal(1_249);
    await clock.advance(1);
    expect(ran).to.deep.equal(['a@1100', 'b@1200', 'c@1250']);
    expect(clock.pending()).to.equal(0);
  });

  it('lets a sleeper continue before the next timer runs', async () => {
    const clock = new FakeClock();
    const wakes: number[] = [];
    void (async () => {
      for (let i = 0; i < 3; i++) {
        await clock.sleep(100);
        wakes.push(clock.now());
      }
    })();
    await clock.advance(1_000);
    expect(wakes).to.deep.equal([100, 200, 300]);
  });

  it('sleep resolves early on abort, at once when already aborted, and leaves no timer behind', async () => {
    for (const clock of [new FakeClock(), realClock]) {
      const controller = new AbortController();
      const sleeping = clock.sleep(60_000, controller.signal);
      controller.abort();
      await sleeping;
      await clock.sleep(60_000, controller.signal);
      if (clock instanceof FakeClock) expect(clock.pending()).to.equal(0);
    }
  });
});
