// The controller's retry delays: per-key backoff for an error, but never later than a failure
// asks (a refusal Azure says passes within a while is looked at again before that while ends).
import { expect } from 'chai';
import pino from 'pino';
import { BackoffError, Controller } from '../../src/runtime/controller.js';
import type { KubeObject, ObjectCache } from '../../src/runtime/informer.js';
import { OperatorMetrics } from '../../src/runtime/metrics.js';

const one: KubeObject = { metadata: { namespace: 'ns', name: 'one', generation: 1 } };
const cache: ObjectCache<KubeObject> = { get: () => one, list: () => [one], keys: () => ['ns/one'], byIndex: () => [], onChange: () => {} };

async function delayAfter(error: Error): Promise<number> {
  const controller = new Controller({
    name: 'test',
    informer: cache,
    reconciler: { reconcile: () => Promise.reject(error) },
    logger: pino({ level: 'silent' }),
    metrics: new OperatorMetrics({ processMetrics: false }),
    workers: 1,
    resyncMs: 60_000,
    reconcileTimeoutMs: 1_000,
    backoff: { baseMs: 60_000, maxMs: 300_000, jitter: 0 },
  });
  const before = Date.now();
  controller.start();
  for (let i = 0; i < 100 && controller.queue.dueAt('ns/one') === undefined; i++) await new Promise((r) => setTimeout(r, 5));
  const due = controller.queue.dueAt('ns/one')! - before;
  await controller.stop(100);
  return due;
}

describe('controller retry delays', () => {
  it('backs off per key for an error', async () => {
    expect(await delayAfter(new Error('boom'))).to.be.within(59_000, 61_000);
  });
  it('retries no later than a failure asks', async () => {
    expect(await delayAfter(new BackoffError('principal not yet replicated', 5_000))).to.be.within(4_000, 6_000);
  });
});
