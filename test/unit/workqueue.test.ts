// The work queue's guarantees, checked against a model over random sequences of operations:
// one worker per key, duplicates collapse, nothing added is lost, and delays keep the earliest.
import { expect } from 'chai';
import fc from 'fast-check';
import { WorkQueue } from '../../src/runtime/workqueue.js';
import { PerKeyBackoff } from '../../src/runtime/backoff.js';
import { FakeClock } from '../support/fake-clock.js';

type Op = { op: 'add'; key: string } | { op: 'get' } | { op: 'done'; index: number };
const keys = fc.constantFrom('a', 'b', 'c', 'd');
const ops = fc.array(
  fc.oneof(
    keys.map((key): Op => ({ op: 'add', key })),
    fc.constant<Op>({ op: 'get' }),
    fc.nat(5).map((index): Op => ({ op: 'done', index })),
  ),
  { maxLength: 60 },
);

describe('WorkQueue', () => {
  it('never hands one key to two workers, collapses duplicates and loses no add', async () => {
    await fc.assert(
      fc.asyncProperty(ops, async (sequence) => {
        const queue = new WorkQueue();
        const inFlight: string[] = [];
        // A key added after its last hand-out must be handed out again.
        const owed = new Set<string>();
        const take = async () => {
          const key = await queue.get();
          expect(key).to.be.a('string');
          expect(inFlight, `key ${key} handed out twice`).not.to.include(key);
          inFlight.push(key!);
          owed.delete(key!);
        };
        for (const step of sequence) {
          if (step.op === 'add') {
            queue.add(step.key);
            owed.add(step.key);
          } else if (step.op === 'get') {
            if (queue.length > 0) await take();
          } else if (inFlight.length > 0) {
            const [key] = inFlight.splice(step.index % inFlight.length, 1);
            queue.done(key!);
          }
          expect(queue.length).to.be.at.most(new Set(['a', 'b', 'c', 'd']).size);
        }
        // Drain: finish everything in flight and everything queued.
        for (let guard = 0; guard < 100 && (inFlight.length > 0 || queue.length > 0); guard++) {
          while (inFlight.length > 0) queue.done(inFlight.pop()!);
          while (queue.length > 0) await take();
        }
        expect([...owed]).to.deep.equal([]);
      }),
    );
  });

  it('hands a key added during processing out again only after done', async () => {
    const queue = new WorkQueue();
    queue.add('ns/a');
    expect(await queue.get()).to.equal('ns/a');
    queue.add('ns/a');
    queue.add('ns/a');
    expect(queue.length, 'not queued while in flight').to.equal(0);
    queue.done('ns/a');
    expect(queue.length).to.equal(1);
    expect(await queue.get()).to.equal('ns/a');
  });

  it('keeps the earliest of several delayed adds', async () => {
    const clock = new FakeClock();
    const queue = new WorkQueue(undefined, clock);
    queue.addAfter('k', 1000);
    queue.addAfter('k', 5000);
    expect(queue.dueAt('k')).to.equal(1000);
    queue.addAfter('k', 200);
    expect(queue.dueAt('k')).to.equal(200);
    await clock.advance(199);
    expect(queue.length).to.equal(0);
    await clock.advance(1);
    expect(queue.length).to.equal(1);
    await clock.advance(5000);
    expect(queue.length, 'the cancelled later timers add nothing').to.equal(1);
  });

  it('wakes a waiting worker, and releases all waiters with undefined on shutdown', async () => {
    const queue = new WorkQueue();
    const waiting = queue.get();
    queue.add('x');
    expect(await waiting).to.equal('x');
    const idle = [queue.get(), queue.get()];
    queue.shutDown();
    expect(await Promise.all(idle)).to.deep.equal([undefined, undefined]);
    queue.add('y');
    expect(await queue.get(), 'no work after shutdown').to.equal(undefined);
  });
});

describe('PerKeyBackoff', () => {
  it('doubles per consecutive failure of a key, caps, and resets on forget', () => {
    const backoff = new PerKeyBackoff({ baseMs: 100, maxMs: 1000, jitter: 0 });
    expect([1, 2, 3, 4, 5, 6].map(() => backoff.next('a'))).to.deep.equal([100, 200, 400, 800, 1000, 1000]);
    expect(backoff.next('b'), 'keys are independent').to.equal(100);
    backoff.forget('a');
    expect(backoff.next('a')).to.equal(100);
  });

  it('stays within [base, cap] with jitter for any number of failures', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 80 }), fc.double({ min: 0, max: 0.9999, noNaN: true }), (failures, r) => {
        const backoff = new PerKeyBackoff({ baseMs: 50, maxMs: 60_000, jitter: 0.2 }, () => r);
        let delay = 0;
        for (let i = 0; i < failures; i++) delay = backoff.next('k');
        expect(delay).to.be.within(50, 60_000);
      }),
    );
  });
});
