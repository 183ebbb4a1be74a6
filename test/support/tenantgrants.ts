// TenantGrants in the integration tests: the manifest every test starts from (the sample world's
// multi-tenant gallery-app from Contoso's gallery to a resource group of Fabrikam), the Secrets it
// names, waiting for a state (which kstatus itself must read as the operator's own model does),
// the role assignments as Azure holds them, and the target admin's consent through the emulator's
// consent page, as a browser would give it. The status fields are those of src/api/v1alpha1/tenantgrant.ts.
import { request as httpsRequest } from 'node:https';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { GROUP, VERSION, type TenantGrant } from '../../src/api/v1alpha1/index.js';
import type { Condition } from '../../src/api/v1alpha1/common.js';
import { galleryId } from '../../src/azure/arm-ids.js';
import { roleAssignmentName } from '../../src/azure/ownership.js';
import { roleGuid } from '../../src/azure/roles.js';
import { kstatus } from '../../src/runtime/kstatus.js';
import type { KubeClient } from '../../src/runtime/kube-client.js';
import type { RunningEmulator } from '../azure-emulator/index.js';
import type { RequestLogEntry } from '../azure-emulator/request-log.js';
import { decodeClaims, ids, raw, secrets, type RawResponse } from '../emulator/helpers.js';
import type { KubeClients } from './kube.js';
import { openssl } from './openssl.js';
import { expectKstatusAgrees } from './real-kstatus.js';

/** The TenantGrant of the contract (src/api/v1alpha1/tenantgrant.ts). */
export type Grant = TenantGrant;

/** A deep-partial spec, for the overrides of one test. */
export interface GrantSpecOverrides {
  application?: Partial<Grant['spec']['application']>;
  source?: Partial<Grant['spec']['source']>;
  target?: Partial<Grant['spec']['target']>;
  deletionPolicy?: Grant['spec']['deletionPolicy'];
}

export const APP = ids.galleryApp;
export const SOURCE_TENANT = ids.contoso;
export const TARGET_TENANT = ids.fabrikam;
export const TARGET_SUBSCRIPTION = ids.fabrikamSubscription;

/**
 * The sample grant (config/samples/tenantgrant.yaml) on a gallery and a target resource group of
 * the test's own; `overrides` replace fields of each part. A field set to undefined is removed.
 */
export function tenantGrantManifest(name: string, galleryName: string, targetResourceGroup: string, overrides: GrantSpecOverrides = {}): Grant {
  const clean = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'TenantGrant',
    metadata: { name },
    spec: clean({
      application: clean({ clientId: APP, credentialsRef: { name: 'gallery-app' }, ...overrides.application }),
      source: clean({
        tenantId: SOURCE_TENANT,
        gallery: { subscriptionId: ids.gallerySubscription, resourceGroup: ids.galleryRG, name: galleryName },
        role: 'Reader',
        azureCredentialsRef: { name: 'gallery-owner' },
        ...overrides.source,
      }),
      target: clean({
        tenantId: TARGET_TENANT,
        subscriptionId: TARGET_SUBSCRIPTION,
        resourceGroup: targetResourceGroup,
        role: 'Contributor',
        azureCredentialsRef: { name: 'fabrikam-admin' },
        ...overrides.target,
      }),
      ...(overrides.deletionPolicy ? { deletionPolicy: overrides.deletionPolicy } : {}),
    }),
  };
}

/** The TenantGrant collection of a namespace. */
export function tenantGrants(namespace: string): string {
  return `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/tenantgrants`;
}

export function tenantGrantPath(namespace: string, name: string): string {
  return `${tenantGrants(namespace)}/${name}`;
}

export function sharedImageVMs(namespace: string): string {
  return `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/sharedimagevms`;
}

export function condition(tg: Grant | undefined, type: string): Condition | undefined {
  return tg?.status?.conditions?.find((c) => c.type === type);
}

/** Ready for the current spec: kstatus Current, Ready True for this generation. */
export function isReady(tg: Grant): boolean {
  const ready = condition(tg, 'Ready');
  return kstatus(tg) === 'Current' && ready?.status === 'True' && ready.observedGeneration === tg.metadata.generation;
}

/** Stalled (kstatus Failed) for this generation, with `reason` when given. */
export function isStalled(reason?: string): (tg: Grant) => boolean {
  return (tg) => {
    const stalled = condition(tg, 'Stalled');
    return kstatus(tg) === 'Failed' && stalled?.status === 'True' && (reason === undefined || stalled.reason === reason) && tg.status?.observedGeneration === tg.metadata.generation;
  };
}

/** Reconciling (kstatus InProgress) with `reason` when given. */
export function isReconciling(reason?: string): (tg: Grant) => boolean {
  return (tg) => {
    const reconciling = condition(tg, 'Reconciling');
    return kstatus(tg) === 'InProgress' && reconciling?.status === 'True' && (reason === undefined || reconciling.reason === reason);
  };
}

/**
 * Waits until the TenantGrant satisfies `until` (default: Ready), then checks that kstatus itself
 * (Flux's) reads that state as the operator's kstatus model does. `seen` (when given) is called
 * with every version read on the way, so a test can assert what never happened (no Stalled).
 */
export async function waitForTenantGrant(
  client: KubeClient,
  namespace: string,
  name: string,
  until: (tg: Grant) => boolean = isReady,
  options: { what?: string; timeoutMs?: number; logs?: () => string; seen?: (tg: Grant) => void } = {},
): Promise<Grant> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const tg = await client.get<Grant>(tenantGrantPath(namespace, name)).catch(() => undefined);
    if (tg) options.seen?.(tg);
    if (tg && until(tg)) {
      await expectKstatusAgrees(tg, `${namespace}/${name} (${options.what ?? 'Ready'})`);
      return tg;
    }
    if (Date.now() > deadline) {
      const logs = options.logs ? `\noperator log (end):\n${options.logs().slice(-3000)}` : '';
      throw new Error(`${namespace}/${name} not ${options.what ?? 'Ready'}: ${JSON.stringify(tg?.status)}${logs}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the object is gone (the operator removed its finalizer). */
export async function waitUntilGone(client: KubeClient, path: string, timeoutMs = 30_000, logs?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const obj = await client.get<Grant>(path).catch(() => undefined);
    if (!obj) return;
    if (Date.now() > deadline) throw new Error(`${path} still exists: ${JSON.stringify(obj.status?.conditions)}${logs ? `\n${logs().slice(-3000)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The app's Secret: only clientSecret (tenants and client id come from the spec), unless `data` says more. */
export async function createAppSecret(clients: KubeClients, namespace: string, data: Record<string, string> = { clientSecret: secrets[APP]! }, name = 'gallery-app'): Promise<void> {
  await clients.core.createNamespacedSecret({ namespace, body: { metadata: { name }, stringData: data } });
}

/** The target writer: fabrikam-admin (Owner of Fabrikam's subscription). */
export async function createFabrikamAdminSecret(clients: KubeClients, namespace: string, name = 'fabrikam-admin'): Promise<void> {
  await clients.core.createNamespacedSecret({
    namespace,
    body: { metadata: { name }, stringData: { tenantId: ids.fabrikam, clientId: ids.fabrikamAdmin, clientSecret: secrets[ids.fabrikamAdmin]! } },
  });
}

/** An ARM request as the seeded portal admin of `tenantId`. */
export async function adminRequestIn(azure: RunningEmulator, tenantId: string, method: string, path: string, body?: unknown): Promise<RawResponse> {
  const token = await azure.control.adminToken(tenantId);
  return raw(azure, method, `${path}${path.includes('?') ? '&' : '?'}api-version=2022-04-01`, { token, body });
}

/** A fresh resource group in Fabrikam's subscription (each test its own, so assignments never mix). */
export async function createTargetResourceGroup(azure: RunningEmulator, name = `rg-${randomBytes(4).toString('hex')}`): Promise<string> {
  const res = await adminRequestIn(azure, TARGET_TENANT, 'PUT', targetScope(name), { location: 'westus' });
  expect(res.status, res.text).to.be.oneOf([200, 201]);
  return name;
}

/**
 * The virtual network `vnet` (10.9.0.0/16, subnet `default`) in a target resource group, made by
 * Fabrikam's admin: where a VM made through a TenantGrant goes (subnetId(TARGET_SUBSCRIPTION, rg, 'vnet')).
 */
export async function createTargetNetwork(azure: RunningEmulator, resourceGroup: string): Promise<void> {
  const vnet = await adminRequestIn(azure, TARGET_TENANT, 'PUT', `${targetScope(resourceGroup)}/providers/Microsoft.Network/virtualNetworks/vnet`, {
    location: 'westus',
    properties: { addressSpace: { addressPrefixes: ['10.9.0.0/16'] }, subnets: [{ name: 'default', properties: { addressPrefix: '10.9.0.0/24' } }] },
  });
  expect(vnet.status, vnet.text).to.be.oneOf([200, 201]);
}

export function targetScope(resourceGroup: string): string {
  return `/subscriptions/${TARGET_SUBSCRIPTION}/resourceGroups/${resourceGroup}`;
}

export function sourceScope(galleryName: string): string {
  return galleryId({ subscriptionId: ids.gallerySubscription, resourceGroup: ids.galleryRG, name: galleryName });
}

export interface AzureRoleAssignment {
  id: string;
  name: string;
  principalId: string;
  principalType?: string;
  roleGuid: string;
  scope: string;
  description?: string;
}

/** The role assignments made exactly at `scope`, as Azure lists them to the tenant's admin. */
export async function assignmentsAt(azure: RunningEmulator, tenantId: string, scope: string): Promise<AzureRoleAssignment[]> {
  const res = await adminRequestIn(azure, tenantId, 'GET', `${scope}/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()`);
  expect(res.status, res.text).to.equal(200);
  const all = res.body.value as unknown as { id: string; name: string; properties: { principalId: string; principalType?: string; roleDefinitionId: string; scope: string; description?: string } }[];
  return all
    .filter((a) => a.properties.scope.toLowerCase() === scope.toLowerCase())
    .map((a) => ({
      id: a.id,
      name: a.name,
      principalId: a.properties.principalId,
      ...(a.properties.principalType ? { principalType: a.properties.principalType } : {}),
      roleGuid: (a.properties.roleDefinitionId.split('/').pop() ?? '').toLowerCase(),
      scope: a.properties.scope,
      ...(a.properties.description ? { description: a.properties.description } : {}),
    }));
}

/** The name the operator gives the assignment it makes for this grant (src/azure/ownership.ts). */
export function expectedAssignmentName(namespace: string, name: string, scope: string, principalId: string, role: string): string {
  return roleAssignmentName({ kind: 'TenantGrant', namespace, name }, scope, principalId, roleGuid(role));
}

/** The object id of the app's service principal in a tenant: the oid of a token the emulator issues for it. */
export async function principalIdIn(azure: RunningEmulator, appId: string, tenantId: string): Promise<string> {
  return String(decodeClaims(await azure.control.issueToken({ appId, tenantId })).oid);
}

/** The emulator's log entries of token requests for `appId` in `tenantId`. */
export async function tokenRequests(azure: RunningEmulator, appId: string, tenantId: string): Promise<RequestLogEntry[]> {
  return (await azure.control.requests()).filter(
    (r) => r.operation === 'Entra_Token' && r.appId?.toLowerCase() === appId.toLowerCase() && (r.tenantId?.toLowerCase() === tenantId.toLowerCase() || r.path.toLowerCase().startsWith(`/${tenantId.toLowerCase()}/`)),
  );
}

/** Revokes the app's consent in a tenant, whether or not it was given (the emulator answers an error when it was not). */
export async function ensureNoConsent(azure: RunningEmulator, appId: string, tenantId: string): Promise<void> {
  await azure.control.revokeConsent(appId, tenantId).catch(() => undefined);
}

/** Warning and Normal events of one object, as [reason, count, message]. */
export async function eventsOf(clients: KubeClients, namespace: string, name: string): Promise<{ reason: string; type: string; count: number; message: string }[]> {
  const events = await clients.core.listNamespacedEvent({ namespace });
  return events.items
    .filter((e) => e.involvedObject.name === name && e.involvedObject.kind === 'TenantGrant')
    .map((e) => ({ reason: e.reason ?? '', type: e.type ?? '', count: e.count ?? 1, message: e.message ?? '' }));
}

/** Everything a secret could leak into: the operator's log, the namespace's events, the object's status. */
export async function expectNoSecrets(clients: KubeClients, namespace: string, logs: string, statuses: unknown[], leaks: string[]): Promise<void> {
  const events = await clients.core.listNamespacedEvent({ namespace });
  const everything = [logs, JSON.stringify(events.items), JSON.stringify(statuses)].join('\n');
  for (const leak of leaks) expect(everything.includes(leak), `a secret (${leak.slice(0, 4)}…) appears in a log line, event or status`).to.equal(false);
}

// --- the consent page, as a browser meets it ---------------------------------------------------

interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function https(url: URL, method: string, caPem: string, body?: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const h: Record<string, string> = { accept: 'text/html', ...headers };
    if (body !== undefined) {
      h['content-type'] = 'application/x-www-form-urlencoded';
      h['content-length'] = String(Buffer.byteLength(body));
    }
    const req = httpsRequest(url, { method, headers: h, ca: caPem, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const decodeHtml = (s: string) => s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
const attribute = (tag: string, name: string) => {
  const m = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  return m ? decodeHtml(m[1] ?? m[2] ?? m[3] ?? '') : undefined;
};

export interface ConsentResult {
  page: string;
  postStatus: number;
  /** Where the answer to the accept sends the browser (the redirect URI), when it redirects. */
  location?: string;
  answer: string;
}

/**
 * Follows a consent URL as the target tenant's admin in a browser: GET the page (following
 * redirects within the authority), find the form with the accept button, and submit it with its
 * hidden fields and cookies. Does not follow a redirect to the app's redirect URI.
 */
export async function acceptConsent(consentUrl: string, caPem: string): Promise<ConsentResult> {
  let url = new URL(consentUrl);
  const authority = url.origin;
  const cookies = new Map<string, string>();
  const keepCookies = (a: HttpAnswer) => {
    const set = a.headers['set-cookie'];
    for (const c of Array.isArray(set) ? set : set ? [set] : []) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      if (i > 0) cookies.set(pair!.slice(0, i).trim(), pair!.slice(i + 1).trim());
    }
  };
  const cookieHeader = (): Record<string, string> => (cookies.size ? { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') } : {});
  let page: HttpAnswer;
  for (let hops = 0; ; hops++) {
    page = await https(url, 'GET', caPem, undefined, cookieHeader());
    keepCookies(page);
    const location = page.headers.location;
    if (page.status >= 300 && page.status < 400 && typeof location === 'string' && hops < 5 && new URL(location, url).origin === authority) {
      url = new URL(location, url);
      continue;
    }
    break;
  }
  if (page.status !== 200) throw new Error(`GET ${url.pathname}: ${page.status} ${page.text.slice(0, 500)}`);
  const forms = [...page.text.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)];
  if (forms.length === 0) throw new Error(`the consent page has no form:\n${page.text.slice(0, 1000)}`);
  // The accept form: the one whose id, fields or button says accept (not cancel).
  const isAccept = (tag: string) => /accept|approve|yes/i.test(`${attribute(tag, 'value') ?? ''} ${attribute(tag, 'name') ?? ''} ${attribute(tag, 'id') ?? ''}`);
  const buttonsOf = (html: string) => [...html.matchAll(/<button\b[^>]*>[\s\S]*?<\/button>|<input\b[^>]*>/gi)].map((m) => m[0]).filter((t) => /^<button/i.test(t) || /type\s*=\s*["']?submit/i.test(t));
  const chosen = forms.find((f) => /accept/i.test(attribute(`<form${f[1]!}>`, 'id') ?? '')) ?? forms.find((f) => /accept/i.test(f[2]!) && !/cancel|deny|decline/i.test(f[2]!)) ?? forms[0]!;
  const [, formTag, inner] = chosen;
  const fields = new URLSearchParams();
  for (const m of inner!.matchAll(/<input\b[^>]*>/gi)) {
    const tag = m[0];
    const type = (attribute(tag, 'type') ?? 'text').toLowerCase();
    const name = attribute(tag, 'name');
    if (!name || type === 'submit' || type === 'button') continue;
    if ((type === 'checkbox' || type === 'radio') && !/\schecked\b/i.test(tag)) continue;
    fields.append(name, attribute(tag, 'value') ?? '');
  }
  const accept = buttonsOf(inner!).find(isAccept);
  if (accept && attribute(accept, 'name')) fields.append(attribute(accept, 'name')!, attribute(accept, 'value') ?? '');
  const method = (attribute(`<form${formTag!}>`, 'method') ?? 'get').toUpperCase();
  const action = new URL(attribute(`<form${formTag!}>`, 'action') ?? url.href, url);
  let answer: HttpAnswer;
  if (method === 'POST') {
    answer = await https(action, 'POST', caPem, fields.toString(), cookieHeader());
  } else {
    for (const [k, v] of fields) action.searchParams.append(k, v);
    answer = await https(action, 'GET', caPem, undefined, cookieHeader());
  }
  const location = answer.headers.location;
  return { page: page.text, postStatus: answer.status, ...(typeof location === 'string' ? { location } : {}), answer: answer.text };
}

// --- emulator control added for TenantGrant (test/azure-emulator on branch tg-emulator) ---------

/** A change to an application's registration (control.updateApplication of the tg-emulator branch). */
export interface ApplicationUpdate {
  appId: string;
  /** Replaces every secret: a value, or `{ value, expiresAt }` (ISO time, emulator time). */
  secrets?: (string | { value: string; expiresAt?: string })[];
  replyUrls?: string[];
  disabled?: boolean;
  /** false: no service principal in the home tenant (AADSTS7000229 there). */
  homeServicePrincipal?: boolean;
}

/** The TenantGrant options of the emulator (tg-emulator branch). */
export interface GrantEmulatorOptions {
  roleAssignmentPropagationMs?: number;
  /** How long a service principal made at run time (consent) is unknown to ARM's directory lookup. */
  principalReplicationMs?: number;
  missingServicePrincipalCode?: 700016 | 7000229;
  tokenLifetimeSeconds?: number;
}

export async function updateApplication(azure: RunningEmulator, update: ApplicationUpdate): Promise<void> {
  await (azure.control as unknown as { updateApplication(u: ApplicationUpdate): Promise<void> }).updateApplication(update);
}

export async function setGrantOptions(azure: RunningEmulator, patch: GrantEmulatorOptions): Promise<void> {
  await azure.control.setOptions(patch);
}

// --- application certificates with chosen validity ----------------------------------------------

const opensslTime = (d: Date) => `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;

/**
 * A self-signed RSA certificate valid from `notBefore` to `notAfter` (past dates too: an expired
 * credential), with its key, as an application credential. `openssl ca -selfsign` sets the dates,
 * which `req -x509 -days` cannot put in the past.
 */
export async function certificateValidBetween(dir: string, name: string, notBefore: Date, notAfter: Date): Promise<{ certPem: string; keyPem: string; combinedPem: string }> {
  const work = join(dir, name);
  mkdirSync(join(work, 'db'), { recursive: true });
  writeFileSync(join(work, 'db', 'index.txt'), '');
  writeFileSync(
    join(work, 'ca.cnf'),
    ['[ca]', 'default_ca = self', '[self]', 'database = db/index.txt', 'new_certs_dir = db', 'default_md = sha256', 'policy = any', 'rand_serial = yes', 'unique_subject = no', '[any]', 'commonName = supplied', ''].join('\n'),
  );
  const why = 'the TenantGrant certificate tests';
  await openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'app.key', '-out', 'app.csr', '-subj', `/CN=${name}`], work, why);
  await openssl(['ca', '-batch', '-config', 'ca.cnf', '-selfsign', '-keyfile', 'app.key', '-in', 'app.csr', '-out', 'app.crt', '-notext', '-startdate', opensslTime(notBefore), '-enddate', opensslTime(notAfter)], work, why);
  const certPem = readFileSync(join(work, 'app.crt'), 'utf8');
  const keyPem = readFileSync(join(work, 'app.key'), 'utf8');
  return { certPem, keyPem, combinedPem: `${keyPem}${certPem}` };
}
