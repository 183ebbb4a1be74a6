// Pacing of ARM requests in the SDK pipeline: one bucket per subscription, principal and kind; a
// short wait is taken in the pipeline (and cut short by the request's abort signal), a long one
// fails at once as throttled with exactly that wait, which the queue then waits; ARM's reported
// remainder lowers the buckets. Also the Retry-After gate's hand-over (windows and seed).
import { expect } from 'chai';
import { createHttpHeaders, createPipelineRequest, type PipelineRequest, type PipelineResponse, type SendRequest } from '@azure/core-rest-pipeline';
import { ThrottleGate, ThrottledLocallyError } from '../../src/azure/clients.js';
import { PacedLocallyError, Pacer, pacingPolicy, requestKind } from '../../src/azure/pacing.js';
import { classifyFailure, decideFailure } from '../../src/controllers/shared/failures.js';

const NOW = Date.parse('2026-11-29T12:00:00Z');
const SUB_A = '11111111-1111-1111-1111-111111111111';
const SUB_B = '22222222-2222-2222-2222-222222222222';
const url = (subscription: string) => `https://management.azure.com/subscriptions/${subscription}/resourceGroups/rg/providers/Microsoft.Compute/galleries/g?api-version=2025-03-03`;
const budgets = { reads: { size: 2, refillPerSecond: 20 }, writes: { size: 1, refillPerSecond: 1 }, deletes: { size: 1, refillPerSecond: 1 } };

/** A next() that answers 200 with the given headers and records what was sent. */
function recorder(headers: Record<string, string> = {}) {
  const sent: PipelineRequest[] = [];
  const next: SendRequest = (request) => {
    sent.push(request);
    return Promise.resolve({ request, status: 200, headers: createHttpHeaders(headers) } satisfies PipelineResponse);
  };
  return { sent, next };
}

const send = (policy: ReturnType<typeof pacingPolicy>, next: SendRequest, method: string, subscription: string, abortSignal?: AbortSignal) =>
  policy.sendRequest(createPipelineRequest({ url: url(subscription), method: method as 'GET', ...(abortSignal ? { abortSignal } : {}) }), next);

describe('ARM pacing', () => {
  it('names reads, writes and deletes as ARM counts them', () => {
    expect(['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE'].map(requestKind)).to.deep.equal(['read', 'read', 'write', 'write', 'write', 'delete']);
  });

  it('keeps one bucket per subscription, principal and kind', async () => {
    const pacer = new Pacer(budgets, () => NOW);
    const { sent, next } = recorder();
    const one = pacingPolicy(pacer, 'credential-1', undefined, 0);
    const two = pacingPolicy(pacer, 'credential-2', undefined, 0);
    await send(one, next, 'PUT', SUB_A);
    // The write bucket of credential 1 in A is empty now; every other bucket is full.
    const refused = await send(one, next, 'PATCH', SUB_A).catch((err: unknown) => err);
    expect(refused).to.be.instanceOf(PacedLocallyError);
    await send(one, next, 'DELETE', SUB_A);
    await send(one, next, 'GET', SUB_A);
    await send(one, next, 'PUT', SUB_B);
    await send(two, next, 'PUT', SUB_A);
    expect(sent.map((r) => `${r.method} ${r.url.includes(SUB_A) ? 'A' : 'B'}`)).to.deep.equal(['PUT A', 'DELETE A', 'GET A', 'PUT B', 'PUT A']);
  });

  it('fails a long wait at once with exactly that wait, which the queue waits as Retry-After', async () => {
    const pacer = new Pacer(budgets, () => NOW);
    const { sent, next } = recorder();
    const policy = pacingPolicy(pacer, 'credential-1');
    // Size 1, one per second, 3 s at most in the pipeline: the first write goes now, the next
    // ones would go at 1, 2, 3 s (taken in the pipeline, not awaited here), the fifth at 4 s.
    await send(policy, next, 'PUT', SUB_A);
    const cancel = new AbortController();
    const waiting = [1, 2, 3].map(() => send(policy, next, 'PUT', SUB_A, cancel.signal).catch(() => undefined));
    const err = await send(policy, next, 'PUT', SUB_A).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(PacedLocallyError);
    const paced = err as PacedLocallyError;
    expect(paced.waitMs).to.equal(4_000);
    // Requeued between the next token and half as long again, so that refused objects spread out.
    expect(paced.retryAfterMs).to.be.within(4_000, 6_000);
    expect(sent).to.have.length(1);
    const failure = classifyFailure(err, 'updating the gallery');
    expect(failure).to.deep.include({ kind: 'throttled', code: 'ClientSidePacing', retryAfterMs: paced.retryAfterMs });
    expect(failure.message).to.equal("The operator is keeping within ARM's request budget while updating the gallery: the operator paces its writes in this subscription to stay within ARM's request budget, and waits for its turn");
    const decision = decideFailure(failure, { phase: 'reconcile', now: NOW, stalledRecheckMs: 120_000, credentialsRecheckMs: 60_000 });
    expect(decision).to.deep.equal({ outcome: { state: 'progressing', reason: 'Throttled', message: failure.message }, requeue: { after: paced.retryAfterMs } });
    cancel.abort();
    await Promise.all(waiting);
  });

  it('spreads the objects one bucket refuses over half the wait again, and names no time (status is written once while an object waits its turn)', () => {
    const early = new PacedLocallyError(4_000, 'write', () => 0);
    const late = new PacedLocallyError(4_000, 'write', () => 0.999);
    expect(early.retryAfterMs).to.equal(4_000);
    expect(late.retryAfterMs).to.equal(5_998);
    expect(early.message).to.equal(late.message);
    expect(early.message).to.not.match(/\d/);
  });

  it('takes a short wait in the pipeline, and stops waiting when the request is aborted', async () => {
    const pacer = new Pacer({ ...budgets, reads: { size: 1, refillPerSecond: 20 } }, () => NOW);
    const { sent, next } = recorder();
    const policy = pacingPolicy(pacer, 'credential-1');
    await send(policy, next, 'GET', SUB_A);
    // The next read goes after 50 ms, in the pipeline.
    await send(policy, next, 'GET', SUB_A);
    expect(sent).to.have.length(2);
    // The next one would wait 50 ms more (100 ms in all, under the pipeline's 3 s): aborted meanwhile.
    const controller = new AbortController();
    const aborted = send(policy, next, 'GET', SUB_A, controller.signal).catch((e: unknown) => e);
    controller.abort();
    const err = await aborted;
    expect((err as Error).name).to.equal('AbortError');
    expect(classifyFailure(err, 'reading the gallery').code).to.equal('Abandoned');
    expect(sent).to.have.length(2);
  });

  it('asks the Retry-After gate again after a wait', async () => {
    const pacer = new Pacer({ ...budgets, reads: { size: 1, refillPerSecond: 20 } }, () => NOW);
    const gate = new ThrottleGate(() => NOW);
    const { sent, next } = recorder();
    const policy = pacingPolicy(pacer, 'credential-1', (u) => {
      const wait = gate.waitFor(u);
      if (wait > 0) throw new ThrottledLocallyError(wait);
    });
    await send(policy, next, 'GET', SUB_A);
    const waiting = send(policy, next, 'GET', SUB_A).catch((e: unknown) => e);
    gate.throttled(url(SUB_A), 30_000);
    const err = await waiting;
    expect(err).to.be.instanceOf(ThrottledLocallyError);
    expect((err as ThrottledLocallyError).retryAfterMs).to.equal(30_000);
    expect(sent).to.have.length(1);
  });

  it("lowers a bucket to what ARM reports as left for the principal, per kind", async () => {
    const pacer = new Pacer({ reads: { size: 200, refillPerSecond: 20 }, writes: { size: 160, refillPerSecond: 8 }, deletes: { size: 160, refillPerSecond: 8 } }, () => NOW);
    const { next } = recorder({ 'x-ms-ratelimit-remaining-subscription-writes': '1', 'x-ms-ratelimit-remaining-subscription-reads': '150' });
    const policy = pacingPolicy(pacer, 'credential-1', undefined, 0);
    await send(policy, next, 'PUT', SUB_A);
    // ARM said one write is left: one more goes, the next waits a refill (125 ms at 8/s).
    expect(pacer.take('credential-1', SUB_A, 'write', 0)).to.deep.equal({ waitMs: 0, taken: true });
    expect(pacer.take('credential-1', SUB_A, 'write', 0)).to.deep.equal({ waitMs: 125, taken: false });
    expect(pacer.take('credential-1', SUB_A, 'delete', 0).taken).to.equal(true);
    // Another principal's buckets are not lowered.
    expect(pacer.take('credential-2', SUB_A, 'write', 0).taken).to.equal(true);
  });
});

describe('Retry-After gate hand-over', () => {
  it('lists the open windows as wall-clock ends, drops closed ones, and is seeded with later ends only', () => {
    let now = NOW;
    const gate = new ThrottleGate(() => now);
    gate.throttled(url(SUB_A), 40_000);
    gate.throttled(url(SUB_B), 5_000);
    expect(gate.windows()).to.deep.equal({ [SUB_A]: NOW + 40_000, [SUB_B]: NOW + 5_000 });
    now += 10_000;
    expect(gate.windows()).to.deep.equal({ [SUB_A]: NOW + 40_000 });

    const next = new ThrottleGate(() => now);
    next.throttled(url(SUB_B), 60_000);
    next.seed({ [SUB_A.toUpperCase()]: NOW + 40_000, [SUB_B]: NOW + 20_000 });
    expect(next.waitFor(url(SUB_A))).to.equal(30_000);
    expect(next.waitFor(url(SUB_B))).to.equal(60_000);
  });

  it('writes the open windows as JSON with ISO times, and reads them back skipping what it cannot read', () => {
    const gate = new ThrottleGate(() => NOW);
    expect(gate.windowsText()).to.equal(undefined);
    gate.throttled(url(SUB_A), 40_000);
    const text = gate.windowsText()!;
    expect(JSON.parse(text)).to.deep.equal({ [SUB_A]: '2026-11-29T12:00:40.000Z' });

    const later = new ThrottleGate(() => NOW + 15_000);
    expect(later.seedFromText(text)).to.deep.equal({ [SUB_A]: NOW + 40_000 });
    expect(later.waitFor(url(SUB_A))).to.equal(25_000);
    expect(later.waitFor(url(SUB_B))).to.equal(0);

    const fresh = () => new ThrottleGate(() => NOW);
    expect(fresh().seedFromText('not json')).to.deep.equal({});
    expect(fresh().seedFromText('[1,2]')).to.deep.equal({});
    expect(fresh().seedFromText(undefined)).to.deep.equal({});
    expect(fresh().seedFromText(JSON.stringify({ [SUB_A]: 'soon', [SUB_B]: '2026-11-29T11:00:00Z' }))).to.deep.equal({});
  });
});
