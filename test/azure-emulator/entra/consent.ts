// The consent pages a target tenant's administrator sees: admin consent
// (`/{tenant}/adminconsent`, `/{tenant}/v2.0/adminconsent`) and the sign-in URL of the
// cross-tenant gallery docs (`/{tenant}/oauth2/authorize?response_type=code`, and v2.0). GET
// answers an HTML page with an Accept and a Cancel form; POST (the form) creates the app's service
// principal in the tenant (control grantConsent) and redirects to the redirect URI as Entra does.
// Errors before a redirect URI is established are Entra's HTML error pages (AADSTS code + text).
import { randomBytes, randomUUID } from 'node:crypto';
import type { EmulatorRequest, EmulatorResponse } from '../http.js';
import type { ApplicationRecord, TenantRecord, World } from '../world.js';

export interface ConsentDependencies {
  world: World;
  /** The control API's grantConsent: the app gets a service principal in the tenant (idempotent). */
  grantConsent: (appId: string, tenantId: string) => string;
}

/** Authorities that name no tenant: Entra would take the tenant from the admin's sign-in. */
export const tenantlessAuthorities = new Set(['common', 'organizations', 'consumers']);

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

function html(status: number, title: string, body: string): EmulatorResponse {
  return {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store, no-cache', pragma: 'no-cache' },
    body: `<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>\n<body>\n${body}\n</body>\n</html>\n`,
  };
}

/** Entra's sign-in error page: "Sorry, but we're having trouble signing you in." with the AADSTS code. */
export function errorPage(code: number, message: string): EmulatorResponse {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return html(
    400,
    'Sign in to your account',
    [
      `<h1>Sorry, but we&#39;re having trouble signing you in.</h1>`,
      `<p id="error" data-code="${code}">AADSTS${code}: ${escapeHtml(message)}</p>`,
      `<dl><dt>Request Id</dt><dd>${traceId}</dd><dt>Correlation Id</dt><dd>${correlationId}</dd><dt>Timestamp</dt><dd>${timestamp}</dd>`,
      `<dt>Message</dt><dd>AADSTS${code}: ${escapeHtml(message)}</dd></dl>`,
    ].join('\n'),
  );
}

const pageErrors = {
  tenantNotFound: (tenant: string) =>
    errorPage(
      90002,
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
    ),
  noTenant: () => errorPage(50059, 'No tenant-identifying information found in either the request or implied by any provided credentials.'),
  missingParameter: (name: string) => errorPage(900144, `The request body must contain the following parameter: '${name}'.`),
  applicationNotFound: (appId: string, tenantName: string) =>
    errorPage(
      700016,
      `Application with identifier '${appId}' was not found in the directory '${tenantName}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    ),
  applicationDisabled: (app: ApplicationRecord) => errorPage(7000112, `Application '${app.appId}'(${app.displayName}) is disabled.`),
  invalidRedirectUri: () => errorPage(90102, "'redirect_uri' value must be a valid absolute URI."),
  redirectMismatch: (uri: string, appId: string) =>
    errorPage(
      50011,
      `The redirect URI '${uri}' specified in the request does not match the redirect URIs configured for the application '${appId}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.`,
    ),
  noReplyAddress: () => errorPage(500113, 'No reply address is registered for the application.'),
  responseType: (type: string) => errorPage(700054, `response_type '${type}' is not enabled for the application.`),
};

/**
 * Whether a requested redirect URI is a registered one, as Entra compares them: scheme and host
 * case-insensitively (and the default port implied), the path case-sensitively and exactly (a
 * trailing slash in a path matters), the query exactly; a URI without a path is the same as one
 * with `/` (https://www.microsoft.com and https://www.microsoft.com/ are one), since Entra adds the
 * slash itself. Fragments are never registered, so a requested URI with one does not match.
 */
export function redirectUriMatches(requested: string, registered: string): boolean {
  let a: URL;
  let b: URL;
  try {
    a = new URL(requested);
    b = new URL(registered);
  } catch {
    return false;
  }
  return a.protocol === b.protocol && a.host === b.host && a.pathname === b.pathname && a.search === b.search && a.hash === '' && b.hash === '';
}

type Flow = 'adminconsent' | 'authorize';

interface ConsentRequest {
  flow: Flow;
  app: ApplicationRecord;
  tenant: TenantRecord;
  redirectUri: string;
  state?: string;
}

/** Validates the query in Entra's order: tenant, client_id, app, (response_type), redirect URI. */
function validate(request: EmulatorRequest, world: World, flow: Flow): ConsentRequest | EmulatorResponse {
  const tenantPart = request.segments[0] ?? '';
  if (tenantlessAuthorities.has(tenantPart.toLowerCase())) return pageErrors.noTenant();
  const tenant = world.tenant(tenantPart);
  if (!tenant) return pageErrors.tenantNotFound(tenantPart);
  const clientId = request.query.get('client_id');
  if (!clientId) return pageErrors.missingParameter('client_id');
  const app = world.application(clientId);
  if (!app) return pageErrors.applicationNotFound(clientId, tenant.displayName);
  if (app.disabled) return pageErrors.applicationDisabled(app);
  if (flow === 'authorize') {
    const responseType = request.query.get('response_type');
    if (!responseType) return pageErrors.missingParameter('response_type');
    if (responseType !== 'code') return pageErrors.responseType(responseType);
  }
  const registered = app.replyUrls ?? [];
  const requested = request.query.get('redirect_uri');
  let redirectUri: string;
  if (requested === undefined || requested === '') {
    // Without redirect_uri Entra sends the answer to the app's (first) registered reply URL.
    const first = registered[0];
    if (first === undefined) return pageErrors.noReplyAddress();
    redirectUri = first;
  } else {
    try {
      new URL(requested);
    } catch {
      return pageErrors.invalidRedirectUri();
    }
    if (!registered.some((r) => redirectUriMatches(requested, r))) return pageErrors.redirectMismatch(requested, app.appId);
    redirectUri = requested;
  }
  const state = request.query.get('state');
  return { flow, app, tenant, redirectUri, ...(state !== undefined ? { state } : {}) };
}

/** The URL the form posts to: the same path and query. */
function selfUrl(request: EmulatorRequest): string {
  const query = new URLSearchParams([...request.query.entries()]).toString();
  return query ? `${request.rawPath}?${query}` : request.rawPath;
}

function consentPage(request: EmulatorRequest, c: ConsentRequest): EmulatorResponse {
  const action = escapeHtml(selfUrl(request));
  const app = escapeHtml(c.app.displayName);
  const tenant = escapeHtml(c.tenant.displayName);
  const body = [
    `<h1>Permissions requested</h1>`,
    `<p>Accept for your organization</p>`,
    `<dl>`,
    `<dt>Application</dt><dd id="app-name">${app}</dd>`,
    `<dt>Application (client) ID</dt><dd id="app-id">${escapeHtml(c.app.appId)}</dd>`,
    `<dt>Organization</dt><dd id="tenant-name">${tenant}</dd>`,
    `<dt>Tenant ID</dt><dd id="tenant-id">${escapeHtml(c.tenant.id)}</dd>`,
    `<dt>Reply URL</dt><dd id="redirect-uri">${escapeHtml(c.redirectUri)}</dd>`,
    `</dl>`,
    `<p id="effect">If you accept, ${app} gets a service principal (an enterprise application) in ${tenant}: it can then sign in to ${tenant} with its own credentials and use the Azure roles that ${tenant}&#39;s administrators assign to it. Accepting grants no role by itself. You can remove the application from ${tenant} later (Enterprise applications).</p>`,
    `<form id="accept" method="post" action="${action}">`,
    `<input type="hidden" name="consent" value="accept">`,
    `<button type="submit">Accept</button>`,
    `</form>`,
    `<form id="cancel" method="post" action="${action}">`,
    `<input type="hidden" name="consent" value="cancel">`,
    `<button type="submit">Cancel</button>`,
    `</form>`,
  ].join('\n');
  return html(200, 'Permissions requested', body);
}

function redirect(to: string, params: Record<string, string | undefined>): EmulatorResponse {
  const url = new URL(to);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  return { status: 302, headers: { location: url.toString(), 'cache-control': 'no-store, no-cache', pragma: 'no-cache' }, body: '' };
}

function accept(request: EmulatorRequest, deps: ConsentDependencies, c: ConsentRequest): EmulatorResponse {
  const form = new URLSearchParams(request.body.toString('utf8'));
  if (form.get('consent') !== 'accept') {
    return redirect(c.redirectUri, {
      error: 'access_denied',
      error_subcode: 'cancel',
      error_description: 'AADSTS65004: User declined to consent to access the app.',
      state: c.state,
    });
  }
  deps.grantConsent(c.app.appId, c.tenant.id);
  if (c.flow === 'adminconsent') return redirect(c.redirectUri, { admin_consent: 'True', tenant: c.tenant.id, state: c.state });
  // No sign-in and no real authorization code: the code is random and the token endpoint refuses it.
  return redirect(c.redirectUri, { code: randomBytes(32).toString('base64url'), state: c.state, session_state: randomUUID() });
}

/** Answers GET (the page) and POST (the form) of a consent URL. */
export function handleConsent(request: EmulatorRequest, deps: ConsentDependencies, flow: Flow): EmulatorResponse {
  const checked = validate(request, deps.world, flow);
  if ('status' in checked) return checked;
  return request.method === 'POST' ? accept(request, deps, checked) : consentPage(request, checked);
}
