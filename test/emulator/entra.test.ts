// Entra ID conformance: @azure/identity credentials get tokens from the emulator (secret and
// certificate), and each Entra failure surfaces with its AADSTS code.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicKey, createSign, verify, X509Certificate, type JsonWebKeyInput } from 'node:crypto';
import { generateClientCertificate, type RunningEmulator } from '../azure-emulator/index.js';
import { certificateCredential, compute, decodeClaims, ids, raw, rejection, sampleSeed, secretCredential, startSample } from './helpers.js';

/** A client assertion as MSAL builds it (RS256, x5t), naming one certificate and signed with some key. */
function assertion(init: { certPem: string; signingKeyPem: string; appId: string; aud: string; expiresInSeconds: number }): string {
  const x5t = Buffer.from(new X509Certificate(init.certPem).fingerprint.replace(/:/g, ''), 'hex').toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${part({ alg: 'RS256', typ: 'JWT', x5t })}.${part({ aud: init.aud, iss: init.appId, sub: init.appId, jti: 'j1', nbf: now - 10, exp: now + init.expiresInSeconds })}`;
  const signature = createSign('RSA-SHA256').update(unsigned).sign(init.signingKeyPem).toString('base64url');
  return `${unsigned}.${signature}`;
}

describe('emulator: Entra ID', () => {
  let e: RunningEmulator;
  let dir: string;
  let registered: Awaited<ReturnType<typeof generateClientCertificate>>;
  let unregistered: Awaited<ReturnType<typeof generateClientCertificate>>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'entra-test-'));
    [registered, unregistered] = await Promise.all([generateClientCertificate(dir, 'registered'), generateClientCertificate(dir, 'unregistered')]);
    const seed = sampleSeed();
    const app = seed.applications!.find((a) => a.appId === ids.galleryApp)!;
    app.certificates = [registered.certPem];
    e = await startSample({ seed });
  });

  after(async () => {
    await e.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('issues an RS256 token with tid, oid, appid, aud, iss, iat, nbf and exp to a client secret', async () => {
    const token = await secretCredential(e, ids.contoso, ids.galleryOwner).getToken(e.armScope);
    const claims = decodeClaims(token.token);
    expect(claims['tid']).to.equal(ids.contoso);
    expect(claims['appid']).to.equal(ids.galleryOwner);
    expect(claims['aud']).to.equal(e.armEndpoint);
    expect(claims['iss']).to.equal(`https://sts.windows.net/${ids.contoso}/`);
    expect(claims['oid']).to.equal(e.emulator.world.servicePrincipal(ids.galleryOwner, ids.contoso)!.objectId);
    expect(Number(claims['exp']) - Number(claims['iat'])).to.equal(3599);
    expect(claims['nbf']).to.equal(claims['iat']);
    expect(token.expiresOnTimestamp).to.be.greaterThan(Date.now());
  });

  it('signs tokens with the key published in JWKS', async () => {
    const token = (await secretCredential(e, ids.contoso, ids.galleryOwner).getToken(e.armScope)).token;
    const jwks = await raw(e, 'GET', `/${ids.contoso}/discovery/v2.0/keys`);
    const [h, p, s] = token.split('.') as [string, string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { kid: string; alg: string };
    expect(header.alg).to.equal('RS256');
    const jwk = (jwks.body.keys as unknown as { kid: string }[]).find((k) => k.kid === header.kid);
    expect(jwk).to.not.equal(undefined);
    const key = createPublicKey({ key: jwk as unknown as JsonWebKeyInput['key'], format: 'jwk' });
    expect(verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'))).to.equal(true);
  });

  it('issues a token to a certificate credential (client_assertion, x5t#S256)', async () => {
    const token = await certificateCredential(e, ids.contoso, ids.galleryApp, registered.combinedPem).getToken(e.armScope);
    const claims = decodeClaims(token.token);
    expect(claims['appid']).to.equal(ids.galleryApp);
    expect(claims['appidacr']).to.equal('2');
  });

  it('refuses a certificate that is not registered on the app with AADSTS700027', async () => {
    const failure = await rejection(certificateCredential(e, ids.contoso, ids.galleryApp, unregistered.combinedPem).getToken(e.armScope));
    expect(failure.message).to.contain('AADSTS700027');
  });

  it('refuses an assertion that names a registered certificate but is signed with another key (AADSTS700027), and an expired one (AADSTS700024)', async () => {
    const tokenPath = `/${ids.contoso}/oauth2/v2.0/token`;
    const post = (clientAssertion: string) =>
      raw(e, 'POST', tokenPath, {
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: ids.galleryApp,
          scope: e.armScope,
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: clientAssertion,
        }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
    const base = { certPem: registered.certPem, appId: ids.galleryApp, aud: `${e.authorityHost}${tokenPath}` };
    const good = await post(assertion({ ...base, signingKeyPem: registered.keyPem, expiresInSeconds: 600 }));
    expect(good.status).to.equal(200);
    const forged = await post(assertion({ ...base, signingKeyPem: unregistered.keyPem, expiresInSeconds: 600 }));
    expect(forged.status).to.equal(401);
    expect(forged.body.error).to.equal('invalid_client');
    expect(forged.body.error_codes).to.deep.equal([700027]);
    expect(forged.body.error_description).to.match(/^AADSTS700027: .*signature/);
    const expired = await post(assertion({ ...base, signingKeyPem: registered.keyPem, expiresInSeconds: -60 }));
    expect(expired.status).to.equal(401);
    expect(expired.body.error).to.equal('invalid_client');
    expect(expired.body.error_codes).to.deep.equal([700024]);
  });

  it("refuses an assertion signed with a registered certificate outside its validity (AADSTS700027, the key used is expired), by emulator time", async () => {
    const credential = () => certificateCredential(e, ids.contoso, ids.galleryApp, registered.combinedPem).getToken(e.armScope);
    const validTo = Date.parse(new X509Certificate(registered.certPem).validTo);
    const past = validTo - Date.now() + 60_000;
    await e.control.advanceClock(past);
    try {
      const failure = await rejection(credential());
      expect(failure.message).to.contain('AADSTS700027');
      expect(failure.message).to.contain('The key used is expired.');
    } finally {
      await e.control.advanceClock(-past);
    }
    expect((await credential()).token).to.be.a('string');
  });

  it('refuses a bad secret with AADSTS7000215', async () => {
    const failure = await rejection(secretCredential(e, ids.contoso, ids.galleryOwner, 'wrong').getToken(e.armScope));
    expect(failure.message).to.contain('AADSTS7000215');
  });

  it('refuses an app without a service principal in the tenant with AADSTS700016, until consent is granted', async () => {
    const before = await rejection(secretCredential(e, ids.fabrikam, ids.galleryApp).getToken(e.armScope));
    expect(before.message).to.contain('AADSTS700016');
    const objectId = await e.control.grantConsent(ids.galleryApp, ids.fabrikam);
    const token = await secretCredential(e, ids.fabrikam, ids.galleryApp).getToken(e.armScope);
    expect(decodeClaims(token.token)['oid']).to.equal(objectId);
    expect(decodeClaims(token.token)['tid']).to.equal(ids.fabrikam);
    await e.control.revokeConsent(ids.galleryApp, ids.fabrikam);
  });

  it('refuses an unknown tenant with AADSTS90002 at discovery, as Entra does (MSAL reports endpoints_resolution_error)', async () => {
    const unknown = '00000000-1111-2222-3333-444444444444';
    const discovery = await raw(e, 'GET', `/${unknown}/v2.0/.well-known/openid-configuration`);
    expect(discovery.status).to.equal(400);
    expect(discovery.body.error_codes).to.deep.equal([90002]);
    const failure = await rejection(secretCredential(e, unknown, ids.galleryOwner).getToken(e.armScope));
    expect(failure.message).to.contain('endpoints_resolution_error');
  });

  it("surfaces AADSTS90002 through @azure/identity when discovery is served for unknown tenants", async () => {
    await e.control.setOptions({ unknownTenantDiscovery: 'serve' });
    try {
      const failure = await rejection(secretCredential(e, '00000000-1111-2222-3333-444444444445', ids.galleryOwner).getToken(e.armScope));
      expect(failure.message).to.contain('AADSTS90002');
    } finally {
      await e.control.setOptions({ unknownTenantDiscovery: 'fail' });
    }
  });

  it("answers Entra's error shape: 401 for invalid_client, error, error_description starting with the code, error_codes", async () => {
    const res = await raw(e, 'POST', `/${ids.contoso}/oauth2/v2.0/token`, {
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: ids.galleryOwner, client_secret: 'nope', scope: e.armScope }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).to.equal(401);
    expect(res.body.error).to.equal('invalid_client');
    expect(res.body.error_description).to.match(/^AADSTS7000215: /);
    expect(res.body.error_codes).to.deep.equal([7000215]);
  });

  it('accepts a tenant domain in the authority and serves the OpenID configuration', async () => {
    const config = await raw(e, 'GET', '/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration');
    expect(config.status).to.equal(200);
    expect(config.body.token_endpoint).to.equal(`${e.authorityHost}/${ids.contoso}/oauth2/v2.0/token`);
    expect(config.body.issuer).to.equal(`${e.authorityHost}/${ids.contoso}/v2.0`);
    const token = await secretCredential(e, 'contoso.onmicrosoft.com', ids.galleryOwner).getToken(e.armScope);
    expect(decodeClaims(token.token)['tid']).to.equal(ids.contoso);
  });

  it('answers instance discovery', async () => {
    const res = await raw(e, 'GET', `/common/discovery/instance?api-version=1.1&authorization_endpoint=${encodeURIComponent(e.authorityHost + '/common/oauth2/v2.0/authorize')}`);
    expect(res.status).to.equal(200);
    expect(res.body['tenant_discovery_endpoint']).to.be.a('string');
    expect(res.body.metadata?.[0]?.aliases).to.be.an('array');
  });

  it('makes tokens last as long as configured', async () => {
    await e.control.setOptions({ tokenLifetimeSeconds: 120 });
    const token = await secretCredential(e, ids.contoso, ids.portalAdmin).getToken(e.armScope);
    const claims = decodeClaims(token.token);
    expect(Number(claims['exp']) - Number(claims['iat'])).to.equal(120);
    await e.control.setOptions({ tokenLifetimeSeconds: 3599 });
  });

  it('lets ARM refuse an Entra token once its configured lifetime is over (401 ExpiredAuthenticationToken through the SDK)', async () => {
    await e.control.setOptions({ tokenLifetimeSeconds: 600 });
    try {
      const credential = secretCredential(e, ids.contoso, ids.galleryOwner);
      const client = compute(e, credential, ids.gallerySubscription);
      expect((await client.galleries.get(ids.galleryRG, ids.gallery)).name).to.equal(ids.gallery);
      // MSAL keeps the token (its cache runs on the real clock); the emulator's clock moves past exp.
      await e.control.advanceClock(601_000);
      const failure = await rejection(client.galleries.get(ids.galleryRG, ids.gallery));
      expect(failure.statusCode).to.equal(401);
      expect(failure.code).to.equal('ExpiredAuthenticationToken');
    } finally {
      await e.control.advanceClock(-601_000);
      await e.control.setOptions({ tokenLifetimeSeconds: 3599 });
    }
  });
});
