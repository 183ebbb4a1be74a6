// ARM's token buckets: reads, writes and deletes counted per subscription and principal, under a
// global bucket per subscription; burst to the bucket's size, then the refill rate (emulator time);
// the remaining tokens on every answer (errors included); 429 with Retry-After (exactly the seconds
// until a token is back) and ARM's body; the SDK waiting Retry-After out before it retries.
import { expect } from 'chai';
import type { RunningEmulator } from '../azure-emulator/index.js';
import { requestKind } from '../azure-emulator/arm/throttling.js';
import { compute, galleryPath, ids, raw, secretCredential, startSample } from './helpers.js';

const reads = 'x-ms-ratelimit-remaining-subscription-reads';
const writes = 'x-ms-ratelimit-remaining-subscription-writes';
const deletes = 'x-ms-ratelimit-remaining-subscription-deletes';
const globalReads = 'x-ms-ratelimit-remaining-subscription-global-reads';
const globalWrites = 'x-ms-ratelimit-remaining-subscription-global-writes';
const globalDeletes = 'x-ms-ratelimit-remaining-subscription-global-deletes';

describe('emulator: throttling', () => {
  let e: RunningEmulator;
  let admin: string;
  let owner: string;
  before(async () => {
    e = await startSample();
  });
  after(async () => e.stop());
  beforeEach(async () => {
    await e.control.reset();
    admin = await e.control.adminToken(ids.contoso);
    owner = await e.control.issueToken({ appId: ids.galleryOwner, tenantId: ids.contoso });
  });

  const rgPath = (subscription: string, name: string) => `/subscriptions/${subscription}/resourceGroups/${name}?api-version=2021-04-01`;
  const getRg = (token = admin, subscription: string = ids.gallerySubscription) => raw(e, 'GET', rgPath(subscription, ids.galleryRG), { token });
  const putRg = (name: string, token = admin, subscription: string = ids.gallerySubscription) => raw(e, 'PUT', rgPath(subscription, name), { token, body: { location: 'westus' } });
  const deleteRg = (name: string, token = admin, subscription: string = ids.gallerySubscription) => raw(e, 'DELETE', rgPath(subscription, name), { token });

  it('classifies requests as ARM does: GET and HEAD read, DELETE deletes, PUT, PATCH and POST actions write', () => {
    expect(['GET', 'HEAD', 'DELETE', 'PUT', 'PATCH', 'POST'].map(requestKind)).to.deep.equal(['read', 'read', 'delete', 'write', 'write', 'write']);
  });

  it("answers the kind's remaining tokens, the principal's and the subscription's global, at Azure's sizes", async () => {
    // Azure's sizes; slow refills so that the counts are exact whatever time the requests take.
    await e.control.setOptions({ throttling: { readsPerSecond: 0.01, writesPerSecond: 0.01, deletesPerSecond: 0.01, globalReadsPerSecond: 0.01, globalWritesPerSecond: 0.01, globalDeletesPerSecond: 0.01 } });
    const read = await getRg();
    expect(read.status).to.equal(200);
    expect(read.headers[reads]).to.equal('249');
    expect(read.headers[globalReads]).to.equal('3749');
    expect(read.headers[writes]).to.equal(undefined);
    const write = await putRg('a');
    expect(write.status).to.equal(201);
    expect(write.headers[writes]).to.equal('199');
    expect(write.headers[globalWrites]).to.equal('2999');
    expect(write.headers[reads]).to.equal(undefined);
    const del = await deleteRg('a');
    expect(del.status).to.be.oneOf([200, 202]);
    expect(del.headers[deletes]).to.equal('199');
    expect(del.headers[globalDeletes]).to.equal('2999');
    // A POST action (here the share action) is a write.
    const share = await raw(e, 'POST', `${galleryPath}/share?api-version=2025-03-03`, { token: owner, body: { operationType: 'Add', groups: [{ type: 'Subscriptions', ids: [ids.devSubscription] }] } });
    expect(share.status).to.be.oneOf([200, 202]);
    expect(share.headers[writes]).to.equal('199');
    expect(share.headers[globalWrites]).to.equal('2998');
  });

  it('reports the remaining tokens on error answers too (404, 403, 409)', async () => {
    await e.control.setOptions({ throttling: { readsPerSecond: 0.01, deletesPerSecond: 0.01, globalReadsPerSecond: 0.01 } });
    const missing = await raw(e, 'GET', rgPath(ids.gallerySubscription, 'nope'), { token: admin });
    expect(missing.status).to.equal(404);
    expect(missing.headers[reads]).to.equal('249');
    const appToken = await e.control.issueToken({ appId: ids.galleryApp, tenantId: ids.contoso });
    const forbidden = await raw(e, 'GET', `${galleryPath}?api-version=2025-12-03`, { token: appToken });
    expect(forbidden.status).to.equal(403);
    expect(forbidden.headers[reads]).to.equal('249');
    expect(forbidden.headers[globalReads]).to.equal('3748');
    const conflict = await raw(e, 'DELETE', `${galleryPath}?api-version=2025-12-03`, { token: owner });
    expect(conflict.status).to.equal(409);
    expect(conflict.headers[deletes]).to.equal('199');
  });

  it('bursts to the bucket size, then admits requests at the refill rate (emulator time)', async () => {
    // A slow refill (one token per 100 s) so that the real time the requests take adds nothing measurable.
    await e.control.setOptions({ throttling: { enabled: true, reads: 5, readsPerSecond: 0.01 } });
    for (let i = 4; i >= 0; i--) {
      const res = await getRg();
      expect(res.status).to.equal(200);
      expect(res.headers[reads]).to.equal(String(i));
    }
    const refused = await getRg();
    expect(refused.status).to.equal(429);
    expect(refused.headers['retry-after']).to.equal('100');
    // After 200 s two tokens are back: two requests pass, the third is refused.
    await e.control.advanceClock(200_000);
    expect((await getRg()).status).to.equal(200);
    expect((await getRg()).status).to.equal(200);
    expect((await getRg()).status).to.equal(429);
    // The bucket never holds more than its size, however long it rests.
    await e.control.advanceClock(3_000_000);
    admin = await e.control.adminToken(ids.contoso); // the old token has expired meanwhile
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await getRg()).status);
    expect(statuses).to.deep.equal([200, 200, 200, 200, 200, 429]);
  });

  it('answers 429 SubscriptionRequestsThrottled with ARM’s message, and takes no token for a refused request', async () => {
    await e.control.setOptions({ throttling: { enabled: true, reads: 1, readsPerSecond: 0.1 } });
    expect((await getRg(owner)).status).to.equal(200);
    const refused = await getRg(owner);
    expect(refused.status).to.equal(429);
    expect(refused.body).to.have.keys('error');
    expect(refused.body.error?.code).to.equal('SubscriptionRequestsThrottled');
    expect(refused.body.error?.message).to.equal(
      `Number of 'read' requests for subscription '${ids.gallerySubscription}' actor '${ownerObjectId()}' exceeded. Please try again after '10' seconds.`,
    );
    expect(refused.headers[reads]).to.equal('0');
    // Refused requests take no token: ten of them, and the first after 10 s still passes.
    for (let i = 0; i < 10; i++) expect((await getRg(owner)).status).to.equal(429);
    await e.control.advanceClock(10_000);
    expect((await getRg(owner)).status).to.equal(200);
  });

  function ownerObjectId(): string {
    const payload = JSON.parse(Buffer.from(owner.split('.')[1]!, 'base64url').toString()) as { oid: string };
    return payload.oid;
  }

  it('sets Retry-After to the whole seconds until a token is back: just before it refused, at it admitted', async () => {
    // One token per 2.9 s: Retry-After 3 (rounded up).
    await e.control.setOptions({ throttling: { enabled: true, writes: 1, writesPerSecond: 1 / 2.9 } });
    expect((await putRg('a')).status).to.equal(201);
    const refused = await putRg('b');
    expect(refused.status).to.equal(429);
    expect(refused.headers['retry-after']).to.equal('3');
    // 0.1 tokens a second: 10 s. One second before it is up the request is refused (with the 1 s
    // left), at Retry-After it passes.
    await e.control.setOptions({ throttling: { writesPerSecond: 0.1 } });
    await e.control.advanceClock(60_000);
    expect((await putRg('c')).status).to.equal(201);
    const first = await putRg('d');
    expect(first.headers['retry-after']).to.equal('10');
    await e.control.advanceClock(9_000);
    const early = await putRg('d');
    expect(early.status).to.equal(429);
    expect(early.headers['retry-after']).to.equal('1');
    await e.control.advanceClock(1_000);
    expect((await putRg('d')).status).to.equal(201);
  });

  it('keeps separate buckets per kind, per principal and per subscription', async () => {
    await e.control.setOptions({ throttling: { enabled: true, reads: 1, writes: 1, deletes: 1, readsPerSecond: 0.01, writesPerSecond: 0.01, deletesPerSecond: 0.01 } });
    expect((await putRg('a')).status).to.equal(201);
    expect((await putRg('b')).status).to.equal(429);
    // Reads and deletes of the same principal and subscription have their own buckets.
    expect((await getRg()).status).to.equal(200);
    expect((await getRg()).status).to.equal(429);
    expect((await deleteRg('a')).status).to.be.oneOf([200, 202]);
    expect((await deleteRg('x')).status).to.equal(429);
    // Another principal in the same subscription has its own.
    expect((await getRg(owner)).status).to.equal(200);
    // The same principal in another subscription too.
    expect((await putRg('c', admin, ids.devSubscription)).status).to.equal(201);
    expect((await putRg('d', admin, ids.devSubscription)).status).to.equal(429);
  });

  it("refuses every principal once the subscription's global bucket is empty", async () => {
    await e.control.setOptions({ throttling: { enabled: true, globalReads: 3, globalReadsPerSecond: 0.01 } });
    expect((await getRg(admin)).status).to.equal(200);
    expect((await getRg(owner)).status).to.equal(200);
    const third = await getRg(admin);
    expect(third.status).to.equal(200);
    expect(third.headers[globalReads]).to.equal('0');
    expect(third.headers[reads]).to.equal('248');
    const refused = await getRg(owner);
    expect(refused.status).to.equal(429);
    expect(refused.headers['retry-after']).to.equal('100');
    expect(refused.body.error?.code).to.equal('SubscriptionRequestsThrottled');
    expect(refused.body.error?.message).to.equal(`Number of 'read' requests for subscription '${ids.gallerySubscription}' exceeded. Please try again after '100' seconds.`);
    // Another subscription's global bucket is untouched.
    expect((await getRg(admin, ids.devSubscription)).status).to.be.oneOf([200, 404]);
  });

  it('counts but never refuses while throttling is off (the default)', async () => {
    await e.control.setOptions({ throttling: { reads: 1 } });
    await getRg();
    const second = await getRg();
    expect(second.status).to.equal(200);
    expect(second.headers[reads]).to.equal('0');
  });

  it('lets the SDK wait out Retry-After and succeed', async () => {
    // One token, one a second: the SDK's throttling policy sleeps Retry-After (1 s), then a token is back.
    await e.control.setOptions({ throttling: { enabled: true, reads: 1, readsPerSecond: 1 } });
    const client = compute(e, secretCredential(e, ids.contoso, ids.galleryOwner), ids.gallerySubscription);
    await client.galleries.get(ids.galleryRG, ids.gallery);
    const gallery = await client.galleries.get(ids.galleryRG, ids.gallery);
    expect(gallery.name).to.equal(ids.gallery);
    const statuses = (await e.control.requests()).filter((r) => r.operation === 'Galleries_Get').map((r) => r.status);
    expect(statuses).to.deep.equal([200, 429, 200]);
  });
});
