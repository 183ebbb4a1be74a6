// The token endpoint and the state of an app registration: wrong and expired secrets (401
// invalid_client), disabled apps, an app without its home service principal (7000229), tenant-less
// authorities, and changes at run time through control.updateApplication (in process and remote).
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { remoteControl, type RunningEmulator } from '../azure-emulator/index.js';
import { readSeedFile } from '../azure-emulator/seed.js';
import { decodeClaims, entraRejection, ids, raw, sampleSeed, secretCredential, startSample } from './helpers.js';

const day = 24 * 3600 * 1000;

function tokenForm(appId: string, secret: string, scope: string): { body: string; headers: Record<string, string> } {
  return {
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: appId, client_secret: secret, scope }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  };
}

describe('emulator: Entra applications', () => {
  let e: RunningEmulator;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'entra-apps-'));
    // The seed as YAML: a secret with an expiry is written as { value, expiresAt }.
    const seed = sampleSeed();
    const owner = seed.applications!.find((a) => a.appId === ids.galleryOwner)!;
    const yaml = join(dir, 'seed.json');
    const apps = seed.applications!.map((a) =>
      a === owner ? { ...a, secrets: ['gallery-owner-secret', { value: 'old-secret', expiresAt: '2020-01-01T00:00:00Z' }, { value: 'soon-secret', expiresAt: new Date(Date.now() + day).toISOString() }] } : a,
    );
    const withHomeless = [...apps, { appId: '3c1d6a2e-5b4f-4e8a-9c7d-1f2e3d4c5b6a', name: 'homeless-app', homeTenant: ids.contoso, secrets: ['homeless-secret'], homeServicePrincipal: false }];
    writeFileSync(yaml, JSON.stringify({ ...seed, applications: withHomeless })); // JSON is YAML
    e = await startSample({ seed: readSeedFile(yaml) });
  });
  after(async () => {
    await e.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => e.control.reset());

  it('answers a wrong secret with 401 invalid_client AADSTS7000215, as @azure/identity reports it', async () => {
    const failure = await entraRejection(secretCredential(e, ids.contoso, ids.galleryOwner, 'wrong').getToken(e.armScope));
    expect(failure.status).to.equal(401);
    expect(failure.error).to.equal('invalid_client');
    expect(failure.aadsts).to.equal('7000215');
  });

  it("answers an expired secret with 401 invalid_client AADSTS7000222 in Entra's wording, by emulator time; other secrets keep working", async () => {
    const failure = await entraRejection(secretCredential(e, ids.contoso, ids.galleryOwner, 'old-secret').getToken(e.armScope));
    expect(failure.status).to.equal(401);
    expect(failure.error).to.equal('invalid_client');
    expect(failure.aadsts).to.equal('7000222');
    expect(failure.message).to.contain(
      `AADSTS7000222: The provided client secret keys for app '${ids.galleryOwner}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`,
    );
    await secretCredential(e, ids.contoso, ids.galleryOwner, 'soon-secret').getToken(e.armScope);
    await e.control.advanceClock(day + 1000);
    expect((await entraRejection(secretCredential(e, ids.contoso, ids.galleryOwner, 'soon-secret').getToken(e.armScope))).aadsts).to.equal('7000222');
    await secretCredential(e, ids.contoso, ids.galleryOwner).getToken(e.armScope);
  });

  it('rotates, expires and disables through updateApplication (PATCH /__emulator/applications/{appId} from another process)', async () => {
    const remote = remoteControl(e.armEndpoint, e.caPem);
    await remote.updateApplication({ appId: ids.galleryApp, secrets: ['rotated'] });
    expect((await entraRejection(secretCredential(e, ids.contoso, ids.galleryApp).getToken(e.armScope))).aadsts).to.equal('7000215');
    await secretCredential(e, ids.contoso, ids.galleryApp, 'rotated').getToken(e.armScope);

    const past = new Date(Date.now() - 1000).toISOString();
    await remote.updateApplication({ appId: ids.galleryApp, secrets: [{ value: 'rotated', expiresAt: past }] });
    expect((await entraRejection(secretCredential(e, ids.contoso, ids.galleryApp, 'rotated').getToken(e.armScope))).aadsts).to.equal('7000222');

    await remote.updateApplication({ appId: ids.galleryApp, secrets: ['rotated'], disabled: true });
    const disabled = await entraRejection(secretCredential(e, ids.contoso, ids.galleryApp, 'rotated').getToken(e.armScope));
    expect(disabled.status).to.equal(400);
    expect(disabled.error).to.equal('unauthorized_client');
    expect(disabled.aadsts).to.equal('7000112');
    expect(disabled.message).to.contain(`AADSTS7000112: Application '${ids.galleryApp}'(gallery-app) is disabled.`);
    await remote.updateApplication({ appId: ids.galleryApp, disabled: false });
    await secretCredential(e, ids.contoso, ids.galleryApp, 'rotated').getToken(e.armScope);

    const bad = await raw(e, 'PATCH', `/__emulator/applications/${ids.galleryApp}`, { body: { secrets: [{ value: 'x', expiresAt: 'never' }] } });
    expect(bad.status).to.equal(400);
    const unknown = await raw(e, 'PATCH', '/__emulator/applications/00000000-0000-4000-8000-000000000009', { body: { disabled: true } });
    expect(unknown.status).to.equal(400);
  });

  it('answers AADSTS7000229 (401 invalid_client) for an app without a service principal in its home tenant, until it gets one', async () => {
    const homeless = '3c1d6a2e-5b4f-4e8a-9c7d-1f2e3d4c5b6a';
    const failure = await entraRejection(secretCredential(e, ids.contoso, homeless, 'homeless-secret').getToken(e.armScope));
    expect(failure.status).to.equal(401);
    expect(failure.error).to.equal('invalid_client');
    expect(failure.aadsts).to.equal('7000229');
    expect(failure.message).to.contain(`AADSTS7000229: The client application ${homeless} is missing service principal in the tenant ${ids.contoso}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119`);
    await e.control.updateApplication({ appId: homeless, homeServicePrincipal: true });
    const token = await secretCredential(e, ids.contoso, homeless, 'homeless-secret').getToken(e.armScope);
    expect(decodeClaims(token.token)['tid']).to.equal(ids.contoso);
    await e.control.updateApplication({ appId: homeless, homeServicePrincipal: false });
    expect((await entraRejection(secretCredential(e, ids.contoso, homeless, 'homeless-secret').getToken(e.armScope))).aadsts).to.equal('7000229');
  });

  it('answers 700016 (400 unauthorized_client) in a tenant that never consented, or 7000229 with missingServicePrincipalCode', async () => {
    const byDefault = await entraRejection(secretCredential(e, ids.fabrikam, ids.galleryApp).getToken(e.armScope));
    expect([byDefault.status, byDefault.error, byDefault.aadsts]).to.deep.equal([400, 'unauthorized_client', '700016']);
    await e.control.setOptions({ missingServicePrincipalCode: 7000229 });
    const other = await entraRejection(secretCredential(e, ids.fabrikam, ids.galleryApp).getToken(e.armScope));
    expect([other.status, other.error, other.aadsts]).to.deep.equal([401, 'invalid_client', '7000229']);
    expect(other.message).to.contain(`in the tenant ${ids.fabrikam}`);
  });

  it('serves the OpenID configuration of common, organizations and consumers as Entra does ({tenantid} issuer)', async () => {
    for (const authority of ['common', 'organizations']) {
      const v2 = await raw(e, 'GET', `/${authority}/v2.0/.well-known/openid-configuration`);
      expect(v2.status).to.equal(200);
      expect(v2.body.issuer).to.equal(`${e.authorityHost}/{tenantid}/v2.0`);
      expect(v2.body.token_endpoint).to.equal(`${e.authorityHost}/${authority}/oauth2/v2.0/token`);
      expect(v2.body.authorization_endpoint).to.equal(`${e.authorityHost}/${authority}/oauth2/v2.0/authorize`);
      expect(v2.body.jwks_uri).to.equal(`${e.authorityHost}/${authority}/discovery/v2.0/keys`);
      const v1 = await raw(e, 'GET', `/${authority}/.well-known/openid-configuration`);
      expect(v1.body.issuer).to.equal('https://sts.windows.net/{tenantid}/');
      expect(v1.body.token_endpoint).to.equal(`${e.authorityHost}/${authority}/oauth2/token`);
    }
    const consumers = await raw(e, 'GET', '/consumers/v2.0/.well-known/openid-configuration');
    expect(consumers.body.issuer).to.equal(`${e.authorityHost}/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0`);
    expect((await raw(e, 'GET', '/common/discovery/v2.0/keys')).status).to.equal(200);
  });

  it('refuses client credentials at common, organizations and consumers with AADSTS50059 (400 invalid_request)', async () => {
    for (const authority of ['common', 'organizations', 'consumers']) {
      const res = await raw(e, 'POST', `/${authority}/oauth2/v2.0/token`, tokenForm(ids.galleryOwner, 'gallery-owner-secret', e.armScope));
      expect(res.status, authority).to.equal(400);
      expect(res.body.error).to.equal('invalid_request');
      expect(res.body.error_codes).to.deep.equal([50059]);
      expect(res.body.error_description).to.match(/^AADSTS50059: No tenant-identifying information found/);
    }
  });
});
