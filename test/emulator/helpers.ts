// Shared by the emulator's conformance tests: the sample world's ids, starting an emulator, real SDK
// clients that trust the emulator's CA, and raw HTTPS requests for what the SDKs hide.
import { request as httpsRequest } from 'node:https';
import { fileURLToPath } from 'node:url';
import { ClientCertificateCredential, ClientSecretCredential, type TokenCredential } from '@azure/identity';
import { ComputeManagementClient } from '@azure/arm-compute';
import { AuthorizationManagementClient } from '@azure/arm-authorization';
import { start, type RunningEmulator, type StartOptions } from '../azure-emulator/index.js';
import { readSeedFile, type Seed } from '../azure-emulator/seed.js';

export const samplePath = fileURLToPath(new URL('../azure-emulator/seeds/sample.yaml', import.meta.url));

export const ids = {
  contoso: '6dc731fe-2682-41a6-a97e-5fb246cc86f9',
  gallerySubscription: 'baa78062-9e05-4cbe-bc20-1fc5ea242262',
  devSubscription: '5eebc1c2-1472-47e2-94ff-ddc398c8e78b',
  fabrikam: 'c333bccd-7e4f-4c18-bcc2-ba10fdc7b25a',
  fabrikamSubscription: '56ceae0c-1804-418b-9cda-5ce6d858f5b6',
  imageConsumersGroup: '46aa012d-d1f7-489d-a76f-0a4d731c1075',
  tester: '76694ad6-ac58-4d24-bcf6-4ae1c7777e9d',
  galleryApp: '05de60fa-8991-4b07-9bb1-78a2a5bb1e21',
  galleryOwner: '7d2f4a61-3c1e-4b8a-9f05-6e2d1c3b4a58',
  fabrikamAdmin: '2b9e6c14-8d3f-4a7e-b1c0-5f4e3d2a1b69',
  fabrikamDeployer: '9a4c2e87-1b5d-4f3a-8e6c-0d7b2a9f1e34',
  portalAdmin: 'e1f0d2c3-b4a5-4968-8776-a5b4c3d2e1f0',
  galleryRG: 'myGalleryRG',
  gallery: 'myGallery',
  fabrikamRG: 'myResourceGroup',
} as const;

export const secrets: Record<string, string> = {
  [ids.galleryApp]: 'gallery-app-secret',
  [ids.galleryOwner]: 'gallery-owner-secret',
  [ids.fabrikamAdmin]: 'fabrikam-admin-secret',
  [ids.fabrikamDeployer]: 'fabrikam-deployer-secret',
  [ids.portalAdmin]: 'portal-admin-secret',
};

export const galleryPath = `/subscriptions/${ids.gallerySubscription}/resourceGroups/${ids.galleryRG}/providers/Microsoft.Compute/galleries/${ids.gallery}`;

export function sampleSeed(): Seed {
  return readSeedFile(samplePath);
}

/** An emulator on the sample seed (or a variant of it), with fast operations unless told otherwise. */
export async function startSample(init: Partial<StartOptions> = {}): Promise<RunningEmulator> {
  return start({ seed: sampleSeed(), ...init, options: { retryAfterSeconds: 0, ...(init.options ?? {}) } });
}

const credentialOptions = (e: RunningEmulator) => ({
  authorityHost: e.authorityHost,
  disableInstanceDiscovery: true,
  additionallyAllowedTenants: ['*'],
  tlsOptions: { ca: e.caPem },
});

export function secretCredential(e: RunningEmulator, tenantId: string, appId: string, secret = secrets[appId] ?? ''): ClientSecretCredential {
  return new ClientSecretCredential(tenantId, appId, secret, credentialOptions(e));
}

export function certificateCredential(e: RunningEmulator, tenantId: string, appId: string, combinedPem: string): ClientCertificateCredential {
  return new ClientCertificateCredential(tenantId, appId, { certificate: combinedPem }, credentialOptions(e));
}

export function compute(e: RunningEmulator, credential: TokenCredential, subscriptionId: string): ComputeManagementClient {
  return new ComputeManagementClient(credential, subscriptionId, { endpoint: e.armEndpoint, credentials: { scopes: [e.armScope] }, tlsOptions: { ca: e.caPem } });
}

export function authorization(e: RunningEmulator, credential: TokenCredential, subscriptionId: string): AuthorizationManagementClient {
  return new AuthorizationManagementClient(credential, subscriptionId, { endpoint: e.armEndpoint, credentialScopes: [e.armScope], tlsOptions: { ca: e.caPem } });
}

/** The gallery owner's compute client on the gallery subscription: what most tests act as. */
export function ownerCompute(e: RunningEmulator): ComputeManagementClient {
  return compute(e, secretCredential(e, ids.contoso, ids.galleryOwner), ids.gallerySubscription);
}

/** Fabrikam's deployer on Fabrikam's subscription: who creates VMs from the shared images. */
export function deployerCompute(e: RunningEmulator): ComputeManagementClient {
  return compute(e, secretCredential(e, ids.fabrikam, ids.fabrikamDeployer), ids.fabrikamSubscription);
}

/**
 * Parsed JSON read loosely: every member is again Json, so tests can walk into answers
 * (`res.body.error.code`) and hand the leaves to chai; String()/Number() give typed leaves.
 */
export interface Json {
  readonly [key: string]: Json;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: Json;
}

/** One HTTPS request to the emulator, trusting its CA; `path` may carry a query. */
export async function raw(
  e: RunningEmulator,
  method: string,
  path: string,
  init: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  const url = new URL(path, e.armEndpoint);
  const payload = init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  if (init.token) headers['authorization'] = `Bearer ${init.token}`;
  if (payload !== undefined) {
    headers['content-type'] ??= 'application/json';
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method, headers, ca: e.caPem, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: Json = {};
        try {
          body = text ? (JSON.parse(text) as Json) : {};
        } catch {
          body = {};
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Errors thrown by the SDKs (RestError) carry code and statusCode; this reads them without casts at call sites. */
export async function rejection(promise: Promise<unknown>): Promise<{ code?: string; statusCode?: number; message: string }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { code?: string; statusCode?: number; message?: string };
    return { ...(e.code !== undefined ? { code: e.code } : {}), ...(e.statusCode !== undefined ? { statusCode: e.statusCode } : {}), message: e.message ?? String(err) };
  }
  throw new Error('expected the call to fail, but it succeeded');
}

export function decodeClaims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Waits until `check` returns true (polling every 10 ms), failing with `what` after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * What @azure/identity reports for an Entra error answer: it throws AuthenticationRequiredError whose
 * `cause` is MSAL's ServerError with the OAuth `error` (errorCode), the AADSTS number (errorNo) and
 * the HTTP status. Throws when the promise succeeds.
 */
export async function entraRejection(promise: Promise<unknown>): Promise<{ name: string; message: string; error?: string; aadsts?: string; status?: number }> {
  try {
    await promise;
  } catch (err) {
    const e = err as { name?: string; message?: string; cause?: { errorCode?: string; errorNo?: string; status?: number } };
    return {
      name: e.name ?? '',
      message: `${e.message ?? String(err)}`,
      ...(e.cause?.errorCode !== undefined ? { error: e.cause.errorCode } : {}),
      ...(e.cause?.errorNo !== undefined ? { aadsts: String(e.cause.errorNo) } : {}),
      ...(e.cause?.status !== undefined ? { status: e.cause.status } : {}),
    };
  }
  throw new Error('expected the token request to fail, but it succeeded');
}

/** A form of an HTML page as a browser sees it: where it posts and its hidden fields. */
export interface HtmlForm {
  id: string;
  method: string;
  action: string;
  fields: Record<string, string>;
}

function unescapeHtml(text: string): string {
  return text.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** The forms of a page (enough HTML parsing for the emulator's consent pages). */
export function parseForms(html: string): HtmlForm[] {
  const forms: HtmlForm[] = [];
  for (const match of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attrs = match[1] ?? '';
    const attr = (name: string, text: string) => unescapeHtml(new RegExp(`\\b${name}="([^"]*)"`, 'i').exec(text)?.[1] ?? '');
    const fields: Record<string, string> = {};
    for (const input of (match[2] ?? '').matchAll(/<input\b([^>]*)>/gi)) {
      const inputAttrs = input[1] ?? '';
      if (attr('name', inputAttrs)) fields[attr('name', inputAttrs)] = attr('value', inputAttrs);
    }
    forms.push({ id: attr('id', attrs), method: (attr('method', attrs) || 'get').toUpperCase(), action: attr('action', attrs), fields });
  }
  return forms;
}

/** Submits a form as a browser would (form-urlencoded), without following the redirect. */
export async function submitForm(e: RunningEmulator, form: HtmlForm): Promise<RawResponse> {
  return raw(e, form.method, form.action, { body: new URLSearchParams(form.fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
}

/** The sample seed's subnet for VMs in Fabrikam (myVnet/default, westus). */
export const fabrikamSubnet = `/subscriptions/${ids.fabrikamSubscription}/resourceGroups/${ids.fabrikamRG}/providers/Microsoft.Network/virtualNetworks/myVnet/subnets/default`;

/**
 * A virtual network with one subnet `default` (10.{n}.0.0/24), made through ARM by the seeded admin
 * (the portal); the resource group is made too when missing. Returns the subnet id.
 */
export async function putVnet(e: RunningEmulator, init: { tenantId: string; subscription: string; resourceGroup: string; name: string; location: string; octet?: number }): Promise<string> {
  const token = await e.control.adminToken(init.tenantId);
  const group = `/subscriptions/${init.subscription}/resourceGroups/${init.resourceGroup}`;
  if ((await raw(e, 'GET', `${group}?api-version=2021-04-01`, { token })).status === 404) {
    await raw(e, 'PUT', `${group}?api-version=2021-04-01`, { token, body: { location: init.location } });
  }
  const octet = init.octet ?? 1;
  const body = { location: init.location, properties: { addressSpace: { addressPrefixes: [`10.${octet}.0.0/16`] }, subnets: [{ name: 'default', properties: { addressPrefix: `10.${octet}.0.0/24` } }] } };
  const put = await raw(e, 'PUT', `${group}/providers/Microsoft.Network/virtualNetworks/${init.name}?api-version=2024-05-01`, { token, body });
  if (put.status !== 200 && put.status !== 201) throw new Error(`PUT vnet ${init.name}: ${put.status} ${put.text}`);
  return `${group}/providers/Microsoft.Network/virtualNetworks/${init.name}/subnets/default`;
}
