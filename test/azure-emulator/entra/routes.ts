// Entra ID for daemon apps: OpenID configuration (v2 and v1, tenants and the tenant-less
// common/organizations/consumers), the token endpoint (client credentials with a secret or a
// certificate assertion), JWKS, instance discovery, and the consent pages (consent.ts).
import { randomUUID, X509Certificate } from 'node:crypto';
import type { EmulatorRequest, EmulatorResponse } from '../http.js';
import type { EmulatorOptions } from '../options.js';
import type { ApplicationRecord, TenantRecord, World } from '../world.js';
import { handleConsent, tenantlessAuthorities } from './consent.js';
import { entraErrors } from './errors.js';
import { certificatePublicKey, decodeJwt, signatureValid, type TokenSigner } from './jwt.js';

export interface EntraDependencies {
  world: World;
  options: EmulatorOptions;
  signer: TokenSigner;
  now: number;
  /** The control API's grantConsent, which the consent pages' Accept performs. */
  grantConsent: (appId: string, tenantId: string) => string;
}

/** The tenant id Entra puts in the consumers authority's issuer (Microsoft accounts). */
const consumersTenantId = '9188040d-6c67-4c5b-b112-36a304b66dad';

export interface EntraAnnotations {
  operation?: string;
  principalId?: string;
  tenantId?: string;
  appId?: string;
}

function openIdConfiguration(origin: string, tenant: TenantRecord, v2: boolean, tenantless = false): Record<string, unknown> {
  const base = `${origin}/${tenant.id}`;
  // common and organizations: endpoints under that segment, the issuer with a {tenantid}
  // placeholder (the token's tid fills it); consumers: the Microsoft-account tenant's issuer.
  const issuerTenant = tenantless ? (tenant.id === 'consumers' ? consumersTenantId : '{tenantid}') : tenant.id;
  return {
    token_endpoint: v2 ? `${base}/oauth2/v2.0/token` : `${base}/oauth2/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: v2 ? `${base}/discovery/v2.0/keys` : `${base}/discovery/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: v2 ? `${origin}/${issuerTenant}/v2.0` : `https://sts.windows.net/${issuerTenant}/`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${origin}/oidc/userinfo`,
    authorization_endpoint: v2 ? `${base}/oauth2/v2.0/authorize` : `${base}/oauth2/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'tid', 'ver', 'oid'],
    kerberos_endpoint: `${base}/kerberos`,
    tenant_region_scope: tenantless ? null : 'NA',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
    rbac_url: 'https://pas.windows.net',
  };
}

function instanceDiscovery(origin: string): Record<string, unknown> {
  const host = origin.replace(/^https:\/\//, '');
  return {
    tenant_discovery_endpoint: `${origin}/common/v2.0/.well-known/openid-configuration`,
    'api-version': '1.1',
    metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
  };
}

function resourceOf(scope: string): string | undefined {
  // Client credentials take exactly one scope, "<resource>/.default".
  const scopes = scope.split(' ').filter(Boolean);
  if (scopes.length !== 1 || !scopes[0]!.endsWith('/.default')) return undefined;
  return scopes[0]!.slice(0, -'/.default'.length);
}

/** A certificate's validity (ms since the epoch). */
function certificateValidity(pem: string): { start: number; end: number } {
  const cert = new X509Certificate(pem);
  return { start: Date.parse(cert.validFrom), end: Date.parse(cert.validTo) };
}

/** Dates as Entra prints them in AADSTS messages: MM/dd/yyyy HH:mm:ss (UTC). */
function entraDate(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())}/${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
}

function checkAssertion(deps: EntraDependencies, app: ApplicationRecord, assertion: string): EmulatorResponse | undefined {
  const jwt = decodeJwt(assertion);
  if (!jwt) return entraErrors.badAssertion('The client assertion is not a JWT.');
  const sha256 = typeof jwt.header['x5t#S256'] === 'string' ? Buffer.from(jwt.header['x5t#S256'], 'base64url').toString('hex').toUpperCase() : undefined;
  const sha1 = typeof jwt.header['x5t'] === 'string' ? Buffer.from(jwt.header['x5t'], 'base64url').toString('hex').toUpperCase() : undefined;
  const cert = app.certificates.find((c) => (sha256 && c.thumbprintSha256 === sha256) || (sha1 && c.thumbprintSha1 === sha1));
  if (!cert) {
    return entraErrors.badAssertion(
      `The key was not found., Thumbprint of key used by client: '${sha1 ?? sha256 ?? 'none'}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${app.appId}'.`,
    );
  }
  if (!signatureValid(jwt, certificatePublicKey(cert.pem))) return entraErrors.badAssertion('The provided signature value did not match the expected signature value.');
  // The app's key credential is valid only within the certificate's validity (the portal takes
  // its Start and End from the certificate); outside it Entra refuses the assertion as signed with
  // an expired key, by emulator time.
  const validity = certificateValidity(cert.pem);
  if (deps.now < validity.start || deps.now > validity.end) {
    return entraErrors.badAssertion(
      `The key used is expired., Thumbprint of key used by client: '${cert.thumbprintSha1}', Found key 'Start=${entraDate(validity.start)}, End=${entraDate(validity.end)}'`,
    );
  }
  const { iss, sub, exp } = jwt.claims;
  if (iss !== app.appId || sub !== app.appId) return entraErrors.badAssertion(`The issuer and subject of the assertion must be the client id '${app.appId}'.`);
  if (typeof exp !== 'number' || exp * 1000 <= deps.now) return entraErrors.assertionExpired();
  return undefined;
}

function tokenEndpoint(request: EmulatorRequest, deps: EntraDependencies, tenantPart: string, v2: boolean, notes: EntraAnnotations): EmulatorResponse {
  const form = new URLSearchParams(request.body.toString('utf8'));
  // An app-only token is issued in one tenant; these authorities name none (MSAL refuses them
  // for client credentials before sending: missing_tenant_id_error).
  if (tenantlessAuthorities.has(tenantPart.toLowerCase())) return entraErrors.noTenant();
  const tenant = deps.world.tenant(tenantPart);
  if (!tenant) return entraErrors.tenantNotFound(tenantPart);
  notes.tenantId = tenant.id;
  const grant = form.get('grant_type') ?? '';
  if (grant !== 'client_credentials') return entraErrors.unsupportedGrant(grant);
  const clientId = form.get('client_id') ?? '';
  notes.appId = clientId;
  const app = deps.world.application(clientId);
  if (!app) return entraErrors.applicationNotFound(clientId, tenant.displayName);
  const sp = deps.world.servicePrincipal(app.appId, tenant.id);
  if (!sp) {
    // In its home tenant the registration exists without its service principal: 7000229. In
    // another tenant Entra answers 700016 or 7000229 (option missingServicePrincipalCode).
    const home = app.homeTenantId.toLowerCase() === tenant.id.toLowerCase();
    if (home || deps.options.missingServicePrincipalCode === 7000229) return entraErrors.missingServicePrincipal(app.appId, tenant.id);
    return entraErrors.applicationNotFound(clientId, tenant.displayName);
  }
  notes.principalId = sp.objectId;
  if (app.disabled) return entraErrors.applicationDisabled(app.appId, app.displayName);

  const secret = form.get('client_secret');
  const assertion = form.get('client_assertion');
  let authMethod: '1' | '2';
  if (secret !== null) {
    const known = app.secrets.find((s) => s.value === secret);
    if (!known) return entraErrors.invalidSecret(app.appId);
    if (known.expiresAt !== undefined && Date.parse(known.expiresAt) <= deps.now) return entraErrors.secretExpired(app.appId);
    authMethod = '1';
  } else if (assertion !== null) {
    const failure = checkAssertion(deps, app, assertion);
    if (failure) return failure;
    authMethod = '2';
  } else {
    return entraErrors.missingCredential();
  }

  const requested = v2 ? form.get('scope') ?? '' : `${form.get('resource') ?? ''}/.default`;
  const resource = resourceOf(requested);
  if (!resource) return entraErrors.badScope(requested);

  const iat = Math.floor(deps.now / 1000);
  const lifetime = deps.options.tokenLifetimeSeconds;
  const accessToken = deps.signer.sign({
    aud: resource,
    iss: `https://sts.windows.net/${tenant.id}/`,
    iat,
    nbf: iat,
    exp: iat + lifetime,
    aio: 'emulator',
    appid: app.appId,
    appidacr: authMethod,
    idp: `https://sts.windows.net/${tenant.id}/`,
    idtyp: 'app',
    oid: sp.objectId,
    sub: sp.objectId,
    tid: tenant.id,
    uti: randomUUID().replace(/-/g, '').slice(0, 22),
    ver: '1.0',
  });
  const body: Record<string, unknown> = { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: accessToken };
  if (!v2) Object.assign(body, { expires_on: String(iat + lifetime), not_before: String(iat), resource });
  return { status: 200, headers: { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' }, body };
}

/** Answers Entra paths; undefined when the path is not one of them. */
export function handleEntra(request: EmulatorRequest, deps: EntraDependencies, notes: EntraAnnotations): EmulatorResponse | undefined {
  const s = request.segments.map((x) => x.toLowerCase());
  const tenantPart = request.segments[0] ?? '';
  const path = s.slice(1).join('/');
  if (s[0] === 'common' && path === 'discovery/instance') {
    notes.operation = 'Entra_InstanceDiscovery';
    return { status: 200, body: instanceDiscovery(request.origin) };
  }
  if (request.method === 'GET' && (path === 'v2.0/.well-known/openid-configuration' || path === '.well-known/openid-configuration')) {
    notes.operation = 'Entra_OpenIdConfiguration';
    const v2 = path.startsWith('v2.0');
    if (tenantlessAuthorities.has(s[0] ?? '')) return { status: 200, body: openIdConfiguration(request.origin, { id: s[0]!, displayName: s[0]!, domains: [] }, v2, true) };
    const tenant = deps.world.tenant(tenantPart) ?? (deps.options.unknownTenantDiscovery === 'serve' ? { id: tenantPart, displayName: tenantPart, domains: [] } : undefined);
    if (!tenant) return entraErrors.tenantNotFound(tenantPart);
    return { status: 200, body: openIdConfiguration(request.origin, tenant, v2) };
  }
  if ((request.method === 'GET' || request.method === 'POST') && (path === 'adminconsent' || path === 'v2.0/adminconsent')) {
    notes.operation = request.method === 'GET' ? 'Entra_AdminConsentPage' : 'Entra_AdminConsent';
    return handleConsent(request, deps, 'adminconsent');
  }
  if ((request.method === 'GET' || request.method === 'POST') && (path === 'oauth2/authorize' || path === 'oauth2/v2.0/authorize')) {
    notes.operation = request.method === 'GET' ? 'Entra_AuthorizePage' : 'Entra_Authorize';
    return handleConsent(request, deps, 'authorize');
  }
  if (request.method === 'GET' && (path === 'discovery/v2.0/keys' || path === 'discovery/keys')) {
    notes.operation = 'Entra_Keys';
    return { status: 200, body: deps.signer.jwks() };
  }
  if (request.method === 'POST' && (path === 'oauth2/v2.0/token' || path === 'oauth2/token')) {
    notes.operation = 'Entra_Token';
    return tokenEndpoint(request, deps, tenantPart, path === 'oauth2/v2.0/token', notes);
  }
  return undefined;
}
