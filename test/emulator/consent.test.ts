// The consent pages a target tenant's admin sees, followed as a browser does with a plain HTTPS
// client: GET the page, parse its form, POST it, follow nothing (the 302 goes to the app's redirect
// URI), then check that the app has a service principal in the tenant (a token works there).
import { expect } from 'chai';
import type { RunningEmulator } from '../azure-emulator/index.js';
import { decodeClaims, entraRejection, ids, parseForms, raw, secretCredential, startSample, submitForm, type RawResponse } from './helpers.js';

const docsRedirect = 'https://www.microsoft.com/';

function adminConsentPath(tenant: string, query: Record<string, string>): string {
  return `/${tenant}/adminconsent?${new URLSearchParams(query).toString()}`;
}

/** The AADSTS code of an Entra error page. */
function pageCode(res: RawResponse): string | undefined {
  return /AADSTS(\d+):/.exec(res.text)?.[1];
}

describe('emulator: consent pages', () => {
  let e: RunningEmulator;
  before(async () => {
    e = await startSample();
  });
  after(async () => e.stop());
  beforeEach(async () => e.control.reset());

  const fabrikamToken = () => secretCredential(e, ids.fabrikam, ids.galleryApp).getToken(e.armScope);

  async function acceptPage(path: string): Promise<URL> {
    const page = await raw(e, 'GET', path);
    expect(page.status).to.equal(200);
    const accept = parseForms(page.text).find((f) => f.id === 'accept');
    expect(accept, 'an Accept form').to.not.equal(undefined);
    const answer = await submitForm(e, accept!);
    expect(answer.status).to.equal(302);
    return new URL(String(answer.headers['location']));
  }

  it("shows the admin consent page with the app, the tenant and what consenting does; Accept creates the service principal and redirects with admin_consent=True", async () => {
    const before = await entraRejection(fabrikamToken());
    expect(before.aadsts).to.equal('700016');
    const path = adminConsentPath(ids.fabrikam, { client_id: ids.galleryApp, redirect_uri: docsRedirect, state: 's-42' });
    const page = await raw(e, 'GET', path);
    expect(page.status).to.equal(200);
    expect(String(page.headers['content-type'])).to.match(/^text\/html/);
    expect(page.text).to.contain('gallery-app').and.contain(ids.galleryApp).and.contain('Fabrikam').and.contain(ids.fabrikam).and.contain('service principal');
    const forms = parseForms(page.text);
    expect(forms.map((f) => f.id)).to.deep.equal(['accept', 'cancel']);
    expect(forms[0]!.method).to.equal('POST');
    expect(forms[0]!.action).to.equal(path);
    expect(forms[0]!.fields).to.deep.equal({ consent: 'accept' });

    const answer = await submitForm(e, forms[0]!);
    expect(answer.status).to.equal(302);
    const location = new URL(String(answer.headers['location']));
    expect(`${location.origin}${location.pathname}`).to.equal(docsRedirect);
    expect(location.searchParams.get('admin_consent')).to.equal('True');
    expect(location.searchParams.get('tenant')).to.equal(ids.fabrikam);
    expect(location.searchParams.get('state')).to.equal('s-42');

    const token = await fabrikamToken();
    expect(decodeClaims(token.token)['tid']).to.equal(ids.fabrikam);
    expect(decodeClaims(token.token)['oid']).to.equal(e.emulator.world.servicePrincipal(ids.galleryApp, ids.fabrikam)!.objectId);
  });

  it('makes a second consent harmless (same service principal), and revokeConsent takes it away again', async () => {
    const path = adminConsentPath(ids.fabrikam, { client_id: ids.galleryApp, redirect_uri: docsRedirect });
    await acceptPage(path);
    const first = e.emulator.world.servicePrincipal(ids.galleryApp, ids.fabrikam)!.objectId;
    const again = await acceptPage(path);
    expect(again.searchParams.get('admin_consent')).to.equal('True');
    expect(e.emulator.world.servicePrincipal(ids.galleryApp, ids.fabrikam)!.objectId).to.equal(first);
    await fabrikamToken();
    await e.control.revokeConsent(ids.galleryApp, ids.fabrikam);
    expect((await entraRejection(secretCredential(e, ids.fabrikam, ids.galleryApp).getToken(e.armScope))).aadsts).to.equal('700016');
  });

  it("serves the cross-tenant docs' sign-in URL (oauth2/authorize, response_type=code) as a consent page that redirects with a code", async () => {
    // The docs' URL, byte for byte: the redirect URI percent-encoded with its trailing slash.
    const docsPath = `/${ids.fabrikam}/oauth2/authorize?client_id=${ids.galleryApp}&response_type=code&redirect_uri=https%3A%2F%2Fwww.microsoft.com%2F`;
    const location = await acceptPage(docsPath);
    expect(`${location.origin}${location.pathname}`).to.equal(docsRedirect);
    expect(location.searchParams.get('code')).to.match(/^[\w-]{20,}$/);
    expect(location.searchParams.get('admin_consent')).to.equal(null);
    const token = await fabrikamToken();
    expect(decodeClaims(token.token)['tid']).to.equal(ids.fabrikam);
    const v2 = await raw(e, 'GET', `/fabrikam.onmicrosoft.com/oauth2/v2.0/authorize?client_id=${ids.galleryApp}&response_type=code&redirect_uri=${encodeURIComponent(docsRedirect)}&state=v2`);
    expect(v2.status).to.equal(200);
    expect(v2.text).to.contain(ids.fabrikam);
  });

  it('Cancel redirects with error=access_denied and creates nothing', async () => {
    const page = await raw(e, 'GET', adminConsentPath(ids.fabrikam, { client_id: ids.galleryApp, redirect_uri: docsRedirect, state: 'c' }));
    const cancel = parseForms(page.text).find((f) => f.id === 'cancel')!;
    const answer = await submitForm(e, cancel);
    expect(answer.status).to.equal(302);
    const location = new URL(String(answer.headers['location']));
    expect(location.searchParams.get('error')).to.equal('access_denied');
    expect(location.searchParams.get('state')).to.equal('c');
    expect(e.emulator.world.servicePrincipal(ids.galleryApp, ids.fabrikam)).to.equal(undefined);
  });

  it('matches redirect URIs as Entra does: scheme and host in any case, a bare host with or without its slash; the path exactly', async () => {
    for (const uri of ['https://www.microsoft.com', 'HTTPS://WWW.Microsoft.COM/', 'https://www.microsoft.com:443/']) {
      const page = await raw(e, 'GET', adminConsentPath(ids.fabrikam, { client_id: ids.galleryApp, redirect_uri: uri }));
      expect(page.status, uri).to.equal(200);
    }
    const location = await acceptPage(adminConsentPath(ids.fabrikam, { client_id: ids.galleryApp, redirect_uri: 'https://www.microsoft.com' }));
    expect(location.toString()).to.match(/^https:\/\/www\.microsoft\.com\/\?admin_consent=True/);
    for (const uri of ['https://www.microsoft.com/en-us', 'https://www.microsoft.com/?x=1', 'http://www.microsoft.com/', 'https://evil.example/']) {
      const page = await raw(e, 'GET', adminConsentPath(ids.fabrikam, { client_id: ids.galleryApp, redirect_uri: uri }));
      expect(page.status, uri).to.equal(400);
      expect(pageCode(page), uri).to.equal('50011');
      expect(page.text).to.contain(`The redirect URI &#39;${uri}&#39; specified in the request does not match the redirect URIs configured for the application &#39;${ids.galleryApp}&#39;`);
    }
  });

  it("uses the app's registered reply URL when adminconsent has no redirect_uri; AADSTS500113 when none is registered", async () => {
    const location = await acceptPage(adminConsentPath(ids.fabrikam, { client_id: ids.galleryApp }));
    expect(location.toString()).to.equal(`${docsRedirect}?admin_consent=True&tenant=${ids.fabrikam}`);
    const none = await raw(e, 'GET', adminConsentPath(ids.fabrikam, { client_id: ids.galleryOwner }));
    expect(none.status).to.equal(400);
    expect(pageCode(none)).to.equal('500113');
    expect(none.text).to.contain('No reply address is registered for the application.');
    const unregistered = await raw(e, 'GET', adminConsentPath(ids.fabrikam, { client_id: ids.galleryOwner, redirect_uri: docsRedirect }));
    expect(pageCode(unregistered)).to.equal('50011');
  });

  it('answers the error pages of an unknown app (700016), an unknown tenant (90002), a disabled app (7000112) and a tenant-less authority (50059)', async () => {
    const unknownApp = await raw(e, 'GET', adminConsentPath(ids.fabrikam, { client_id: '00000000-0000-4000-8000-000000000001', redirect_uri: docsRedirect }));
    expect(pageCode(unknownApp)).to.equal('700016');
    expect(unknownApp.text).to.contain("was not found in the directory &#39;Fabrikam&#39;");
    const unknownTenant = await raw(e, 'GET', adminConsentPath('00000000-0000-4000-8000-000000000002', { client_id: ids.galleryApp, redirect_uri: docsRedirect }));
    expect(pageCode(unknownTenant)).to.equal('90002');
    expect((await raw(e, 'GET', adminConsentPath('organizations', { client_id: ids.galleryApp, redirect_uri: docsRedirect }))).text).to.contain('AADSTS50059');
    await e.control.updateApplication({ appId: ids.galleryApp, disabled: true });
    const disabled = await raw(e, 'GET', adminConsentPath(ids.fabrikam, { client_id: ids.galleryApp, redirect_uri: docsRedirect }));
    expect(pageCode(disabled)).to.equal('7000112');
    // A POST is checked again: nothing is consented for a disabled app.
    const post = await raw(e, 'POST', adminConsentPath(ids.fabrikam, { client_id: ids.galleryApp, redirect_uri: docsRedirect }), { body: 'consent=accept', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(pageCode(post)).to.equal('7000112');
    expect(e.emulator.world.servicePrincipal(ids.galleryApp, ids.fabrikam)).to.equal(undefined);
  });

  it('checks the authorize parameters: response_type is required and only code is served', async () => {
    const base = `/${ids.fabrikam}/oauth2/authorize?client_id=${ids.galleryApp}&redirect_uri=${encodeURIComponent(docsRedirect)}`;
    expect(pageCode(await raw(e, 'GET', base))).to.equal('900144');
    expect(pageCode(await raw(e, 'GET', `${base}&response_type=token`))).to.equal('700054');
  });

  it('follows the reply URLs changed at run time (updateApplication)', async () => {
    await e.control.updateApplication({ appId: ids.galleryApp, replyUrls: ['https://contoso.example.com/consented'] });
    expect(pageCode(await raw(e, 'GET', adminConsentPath(ids.fabrikam, { client_id: ids.galleryApp, redirect_uri: docsRedirect })))).to.equal('50011');
    const location = await acceptPage(adminConsentPath(ids.fabrikam, { client_id: ids.galleryApp, redirect_uri: 'https://contoso.example.com/consented' }));
    expect(location.pathname).to.equal('/consented');
    await fabrikamToken();
  });
});
