// ARM's request budgets: reads and writes counted per subscription (and caller) in a window, the
// remaining budget on every answer (errors included), 429 with Retry-After and ARM's body, and the
// SDK waiting Retry-After out before it retries.
import { expect } from 'chai';
import type { RunningEmulator } from '../azure-emulator/index.js';
import { compute, galleryPath, ids, raw, secretCredential, startSample } from './helpers.js';

const reads = 'x-ms-ratelimit-remaining-subscription-reads';
const writes = 'x-ms-ratelimit-remaining-subscription-writes';

describe('emulator: throttling', () => {
  let e: RunningEmulator;
  let admin: string;
  before(async () => {
    e = await startSample();
  });
  after(async () => e.stop());
  beforeEach(async () => {
    await e.control.reset();
    admin = await e.control.adminToken(ids.contoso);
  });

  const rgPath = (subscription: string, name: string) => `/subscriptions/${subscription}/resourceGroups/${name}?api-version=2021-04-01`;

  it('reports the remaining budget on error answers too (404, 403, 409)', async () => {
    const missing = await raw(e, 'GET', rgPath(ids.gallerySubscription, 'nope'), { token: admin });
    expect(missing.status).to.equal(404);
    expect(missing.headers[reads]).to.equal('11999');
    expect(missing.headers[writes]).to.equal('1200');
    const appToken = await e.control.issueToken({ appId: ids.galleryApp, tenantId: ids.contoso });
    const forbidden = await raw(e, 'GET', `${galleryPath}?api-version=2025-12-03`, { token: appToken });
    expect(forbidden.status).to.equal(403);
    expect(forbidden.headers[reads]).to.equal('11999');
    const ownerToken = await e.control.issueToken({ appId: ids.galleryOwner, tenantId: ids.contoso });
    const conflict = await raw(e, 'DELETE', `${galleryPath}?api-version=2025-12-03`, { token: ownerToken });
    expect(conflict.status).to.equal(409);
    expect(conflict.headers[writes]).to.equal('1199');
  });

  it('spends the write budget separately from the read budget, per subscription', async () => {
    await e.control.setOptions({ throttling: { enabled: true, reads: 100, writes: 2, windowMs: 60_000 } });
    expect((await raw(e, 'PUT', rgPath(ids.gallerySubscription, 'a'), { token: admin, body: { location: 'westus' } })).status).to.equal(201);
    const second = await raw(e, 'PUT', rgPath(ids.gallerySubscription, 'b'), { token: admin, body: { location: 'westus' } });
    expect(second.status).to.equal(201);
    expect(second.headers[writes]).to.equal('0');
    const third = await raw(e, 'DELETE', rgPath(ids.gallerySubscription, 'a'), { token: admin });
    expect(third.status).to.equal(429);
    expect(third.body).to.have.keys('error');
    expect(third.body.error?.code).to.equal('SubscriptionRequestsThrottled');
    expect(third.body.error?.message).to.contain("Number of 'write' requests");
    expect(Number(third.headers['retry-after'])).to.be.within(1, 60);
    // Reads in the same subscription, and writes in another one, are still allowed.
    expect((await raw(e, 'GET', rgPath(ids.gallerySubscription, 'a'), { token: admin })).status).to.equal(200);
    expect((await raw(e, 'PUT', rgPath(ids.devSubscription, 'c'), { token: admin, body: { location: 'westus' } })).status).to.equal(201);
  });

  it('refills the budget when the window has passed', async () => {
    await e.control.setOptions({ throttling: { enabled: true, reads: 1, windowMs: 60_000 } });
    expect((await raw(e, 'GET', rgPath(ids.gallerySubscription, ids.galleryRG), { token: admin })).status).to.equal(200);
    const throttled = await raw(e, 'GET', rgPath(ids.gallerySubscription, ids.galleryRG), { token: admin });
    expect(throttled.status).to.equal(429);
    expect(throttled.headers[reads]).to.equal('0');
    await e.control.advanceClock(Number(throttled.headers['retry-after']) * 1000);
    expect((await raw(e, 'GET', rgPath(ids.gallerySubscription, ids.galleryRG), { token: admin })).status).to.equal(200);
  });

  it('counts but never refuses while throttling is off (the default)', async () => {
    await e.control.setOptions({ throttling: { reads: 1 } });
    await raw(e, 'GET', rgPath(ids.gallerySubscription, ids.galleryRG), { token: admin });
    const second = await raw(e, 'GET', rgPath(ids.gallerySubscription, ids.galleryRG), { token: admin });
    expect(second.status).to.equal(200);
    expect(second.headers[reads]).to.equal('0');
  });

  it('lets the SDK wait out Retry-After and succeed', async () => {
    // A one-second window: the SDK's throttling policy sleeps Retry-After (1 s), then the budget is back.
    await e.control.setOptions({ throttling: { enabled: true, reads: 1, windowMs: 1000 } });
    const client = compute(e, secretCredential(e, ids.contoso, ids.galleryOwner), ids.gallerySubscription);
    await client.galleries.get(ids.galleryRG, ids.gallery);
    const gallery = await client.galleries.get(ids.galleryRG, ids.gallery);
    expect(gallery.name).to.equal(ids.gallery);
    const statuses = (await e.control.requests()).filter((r) => r.operation === 'Galleries_Get').map((r) => r.status);
    expect(statuses).to.deep.equal([200, 429, 200]);
  });
});
