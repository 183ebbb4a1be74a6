// ARM conventions every client relies on: authentication (401 shapes), tenant isolation,
// RBAC (403 message), case-insensitive paths, `//`, api-version, encoded query names, paging,
// rate-limit headers and throttling.
import { expect } from 'chai';
import type { RunningEmulator } from '../azure-emulator/index.js';
import { compute, galleryPath, ids, ownerCompute, raw, rejection, secretCredential, startSample } from './helpers.js';

describe('emulator: ARM conventions', () => {
  let e: RunningEmulator;
  let ownerToken: string;

  before(async () => {
    e = await startSample();
    ownerToken = (await secretCredential(e, ids.contoso, ids.galleryOwner).getToken(e.armScope)).token;
  });
  after(async () => e.stop());
  afterEach(async () => {
    await e.control.setOptions({ pageSize: 100, throttling: { enabled: false, reads: 250, readsPerSecond: 25, globalReadsPerSecond: 375 } });
  });

  const get = (path: string, token?: string) => raw(e, 'GET', path.includes('?') ? path : `${path}?api-version=2025-12-03`, token ? { token } : {});

  it('answers 401 AuthenticationFailed without a token, with a WWW-Authenticate challenge', async () => {
    const res = await get(galleryPath);
    expect(res.status).to.equal(401);
    expect(res.body.error?.code).to.equal('AuthenticationFailed');
    expect(res.headers['www-authenticate']).to.match(/^Bearer /);
  });

  it('answers 401 InvalidAuthenticationToken for a forged token', async () => {
    const [h, p] = ownerToken.split('.');
    const res = await get(galleryPath, `${h}.${p}.AAAA`);
    expect(res.status).to.equal(401);
    expect(res.body.error?.code).to.equal('InvalidAuthenticationToken');
  });

  it('answers 401 ExpiredAuthenticationToken once the token has expired', async () => {
    const token = await e.control.issueToken({ appId: ids.galleryOwner, tenantId: ids.contoso, lifetimeSeconds: 60 });
    expect((await get(galleryPath, token)).status).to.equal(200);
    await e.control.advanceClock(61_000);
    try {
      const res = await get(galleryPath, token);
      expect(res.status).to.equal(401);
      expect(res.body.error?.code).to.equal('ExpiredAuthenticationToken');
    } finally {
      await e.control.advanceClock(-61_000);
    }
  });

  it('answers 401 InvalidAuthenticationTokenAudience for a token of another resource', async () => {
    const token = await e.control.issueToken({ appId: ids.galleryOwner, tenantId: ids.contoso, audience: 'https://graph.microsoft.com' });
    const res = await get(galleryPath, token);
    expect(res.status).to.equal(401);
    expect(res.body.error?.code).to.equal('InvalidAuthenticationTokenAudience');
  });

  it("refuses a token of one tenant on another tenant's subscription with 401 InvalidAuthenticationTokenTenant", async () => {
    const client = compute(e, secretCredential(e, ids.contoso, ids.galleryOwner), ids.fabrikamSubscription);
    const failure = await rejection(client.galleries.listByResourceGroup(ids.fabrikamRG).next());
    expect(failure.statusCode).to.equal(401);
    expect(failure.code).to.equal('InvalidAuthenticationTokenTenant');
  });

  it('answers 404 SubscriptionNotFound for an unknown subscription', async () => {
    const res = await get('/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/x?api-version=2021-04-01', ownerToken);
    expect(res.status).to.equal(404);
    expect(res.body.error?.code).to.equal('SubscriptionNotFound');
  });

  it("answers 403 AuthorizationFailed with ARM's message when no role allows the action", async () => {
    const deployer = compute(e, secretCredential(e, ids.fabrikam, ids.fabrikamDeployer), ids.fabrikamSubscription);
    const failure = await rejection(deployer.galleries.createOrUpdate('otherRG', 'g1', { location: 'westus' }));
    expect(failure.statusCode).to.equal(403);
    expect(failure.code).to.equal('AuthorizationFailed');
    const oid = e.emulator.world.servicePrincipal(ids.fabrikamDeployer, ids.fabrikam)!.objectId;
    expect(failure.message).to.equal(
      `The client '${oid}' with object id '${oid}' does not have authorization to perform action 'Microsoft.Compute/galleries/write' over scope '/subscriptions/${ids.fabrikamSubscription}/resourceGroups/otherRG/providers/Microsoft.Compute/galleries/g1' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
    );
  });

  it('treats path segments case-insensitively and collapses //', async () => {
    const shouted = galleryPath.replace('/providers/Microsoft.Compute/galleries/', '/PROVIDERS/microsoft.compute/GALLERIES/').replace('/resourceGroups/', '//resourcegroups/');
    const res = await get(shouted, ownerToken);
    expect(res.status).to.equal(200);
    expect(res.body.id).to.equal(galleryPath);
  });

  it('finds resources whatever the case of their names, and answers with the stored casing', async () => {
    const res = await get(`/subscriptions/${ids.gallerySubscription.toUpperCase()}/resourcegroups/MYGALLERYRG/providers/microsoft.compute/galleries/MYGALLERY/images/UBUNTU-2404/versions/1.0.0`, ownerToken);
    expect(res.status).to.equal(200);
    expect(res.body.id).to.equal(`${galleryPath}/images/ubuntu-2404/versions/1.0.0`);
    expect(res.body.name).to.equal('1.0.0');
  });

  it('answers paths it does not serve in the JSON error shape', async () => {
    const unknownType = await get(`/subscriptions/${ids.gallerySubscription}/resourceGroups/${ids.galleryRG}/providers/Microsoft.Compute/snapshots/s1`, ownerToken);
    expect(unknownType.status).to.equal(400);
    expect(unknownType.body.error?.code).to.equal('InvalidResourceType');
    const outside = await get('/no/such/thing', ownerToken);
    expect(outside.status).to.equal(404);
    expect(outside.body.error).to.have.keys('code', 'message');
    expect(outside.headers['content-type']).to.match(/^application\/json/);
  });

  it('accepts any api-version but requires one', async () => {
    expect((await get(`${galleryPath}?api-version=2019-03-01`, ownerToken)).status).to.equal(200);
    const missing = await get(`${galleryPath}?x=1`, ownerToken);
    expect(missing.status).to.equal(400);
    expect(missing.body.error?.code).to.equal('MissingApiVersionParameter');
  });

  it('decodes percent-encoded query names (%24expand=SharingProfile%2FGroups)', async () => {
    const res = await get(`${galleryPath}?api-version=2025-12-03&%24expand=SharingProfile%2FGroups`, ownerToken);
    expect(res.body.properties?.sharingProfile?.groups).to.deep.equal([]);
  });

  it('answers JSON errors in the {"error":{"code","message"}} shape for unknown routes and methods', async () => {
    const res = await raw(e, 'POST', `${galleryPath}?api-version=1`, { token: ownerToken });
    expect(res.status).to.equal(405);
    expect(res.body.error).to.have.keys('code', 'message');
  });

  it('pages lists with nextLink, which the SDK follows', async () => {
    await e.control.setOptions({ pageSize: 1 });
    const first = await get(`/subscriptions/${ids.gallerySubscription}/providers/Microsoft.Compute/galleries?api-version=2025-12-03`, ownerToken);
    expect(first.body.value).to.have.length(1);
    expect(first.body.nextLink).to.be.a('string');
    const second = await get(new URL(first.body.nextLink as unknown as string).pathname + new URL(first.body.nextLink as unknown as string).search, ownerToken);
    expect(second.body.value).to.have.length(1);
    expect(second.body.nextLink).to.equal(undefined);
    const names: string[] = [];
    for await (const g of ownerCompute(e).galleries.list()) names.push(g.name!);
    expect(names.sort()).to.deep.equal(['contosoPublic', 'myGallery']);
  });

  it('reports remaining reads in x-ms-ratelimit-remaining-subscription-(global-)reads headers on reads', async () => {
    e.emulator.throttle.reset();
    await e.control.setOptions({ throttling: { readsPerSecond: 0.01, globalReadsPerSecond: 0.01 } });
    const a = await get(galleryPath, ownerToken);
    const b = await get(galleryPath, ownerToken);
    expect(Number(b.headers['x-ms-ratelimit-remaining-subscription-reads'])).to.equal(Number(a.headers['x-ms-ratelimit-remaining-subscription-reads']) - 1);
    expect(Number(b.headers['x-ms-ratelimit-remaining-subscription-global-reads'])).to.equal(Number(a.headers['x-ms-ratelimit-remaining-subscription-global-reads']) - 1);
    expect(a.headers['x-ms-ratelimit-remaining-subscription-writes']).to.equal(undefined);
    e.emulator.throttle.reset();
  });

  it('throttles with 429 and Retry-After when enabled and the budget is spent', async () => {
    e.emulator.throttle.reset();
    await e.control.setOptions({ throttling: { enabled: true, reads: 2, readsPerSecond: 0.01 } });
    expect((await get(galleryPath, ownerToken)).status).to.equal(200);
    expect((await get(galleryPath, ownerToken)).status).to.equal(200);
    const third = await get(galleryPath, ownerToken);
    expect(third.status).to.equal(429);
    expect(third.body.error?.code).to.equal('SubscriptionRequestsThrottled');
    expect(Number(third.headers['retry-after'])).to.be.within(99, 100);
    e.emulator.throttle.reset();
  });
});
