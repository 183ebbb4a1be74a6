// TenantGrant end to end, access and credentials: verify-only on the target (no writer there),
// the app's own credential (rotated, wrong, expired, disabled, certificates near or past their
// end), tenants and galleries that are not there, and the policy. The real control plane, the
// Azure emulator and the operator as its own process; the behaviour is the README's TenantGrant section.
import { expect } from 'chai';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { kstatus } from '../../src/runtime/kstatus.js';
import { start, type RunningEmulator } from '../azure-emulator/index.js';
import { ids, sampleSeed, secrets } from '../emulator/helpers.js';
import { createGallery, createOwnerSecret } from '../support/azure-fixtures.js';
import { createTestNamespace, deleteNamespace, kubeClients, testKubeconfigPath, type KubeClients } from '../support/kube.js';
import { startOperator, type OperatorProcess } from '../support/operator-process.js';
import { ensureKstatus } from '../support/real-kstatus.js';
import {
  APP,
  SOURCE_TENANT,
  TARGET_TENANT,
  assignmentsAt,
  certificateValidBetween,
  condition,
  createAppSecret,
  createFabrikamAdminSecret,
  createTargetResourceGroup,
  eventsOf,
  expectNoSecrets,
  isReady,
  isStalled,
  sourceScope,
  targetScope,
  tenantGrantManifest,
  tenantGrants,
  tokenRequests,
  updateApplication,
  waitForTenantGrant,
  type Grant,
  type GrantSpecOverrides,
} from '../support/tenantgrants.js';

/** A tenant the policy allows but Entra does not know. */
const UNKNOWN_TENANT = '3f9a2b1c-7d6e-4f50-8a19-2c3b4d5e6f70';
/** A tenant the policy does not allow. */
const REFUSED_TENANT = '9f8e7d6c-5b4a-4321-8fed-cba987654321';
const DAY = 86_400_000;

describe('TenantGrant access and credentials', function () {
  let azure: RunningEmulator;
  let operator: OperatorProcess;
  let clients: KubeClients;
  let client: KubeClient;
  let namespace: string;
  let galleryName: string;
  let targetRG: string;
  let certificateDir: string;
  let soon: { certPem: string; keyPem: string; combinedPem: string; notAfter: Date };
  let expired: { certPem: string; keyPem: string; combinedPem: string; notAfter: Date };
  /** A certificate valid now but never uploaded to the app registration. */
  let unregistered: { certPem: string; keyPem: string; combinedPem: string };
  let targetPid: string;

  const logs = () => operator.logs();
  const create = (tg: Grant) => client.create<Grant>(tenantGrants(namespace), tg);
  const grant = (name: string, overrides: GrantSpecOverrides = {}) => tenantGrantManifest(name, galleryName, targetRG, overrides);
  const verifyOnly = (name: string, overrides: GrantSpecOverrides = {}) => grant(name, { ...overrides, target: { azureCredentialsRef: undefined, ...overrides.target } });
  const waitFor = (name: string, until: (tg: Grant) => boolean, what: string, timeoutMs = 30_000, seen?: (tg: Grant) => void) =>
    waitForTenantGrant(client, namespace, name, until, { what, timeoutMs, logs, ...(seen ? { seen } : {}) });
  const azCommand = () => `az role assignment create --assignee ${APP} --role Contributor --scope ${targetScope(targetRG)}`;
  const targetWrites = async () =>
    (await azure.control.requests()).filter((r) => r.method !== 'GET' && r.path.toLowerCase().includes(`/resourcegroups/${targetRG.toLowerCase()}/providers/microsoft.authorization/roleassignments/`));

  before(async function () {
    this.timeout(600_000);
    await ensureKstatus();
    certificateDir = mkdtempSync(join(tmpdir(), 'gso-tg-cert-'));
    // The app's certificates: one that ends in 10 days (inside the 30-day warning), one that ended.
    const soonEnd = new Date(Math.floor((Date.now() + 10 * DAY) / 1000) * 1000);
    soon = { ...(await certificateValidBetween(certificateDir, 'soon', new Date(Date.now() - DAY), soonEnd)), notAfter: soonEnd };
    const pastEnd = new Date('2024-02-01T00:00:00Z');
    expired = { ...(await certificateValidBetween(certificateDir, 'expired', new Date('2024-01-01T00:00:00Z'), pastEnd)), notAfter: pastEnd };
    unregistered = await certificateValidBetween(certificateDir, 'unregistered', new Date(Date.now() - DAY), new Date(Date.now() + 365 * DAY));
    const seed = sampleSeed();
    seed.applications!.find((a) => a.appId === APP)!.certificates = [soon.certPem, expired.certPem];
    // Tokens live 60 s, below MSAL's renewal margin: every reconcile asks Entra, so a changed
    // registration (expired secret, disabled app) is met at once.
    azure = await start({ seed, options: { retryAfterSeconds: 1, tokenLifetimeSeconds: 60 } });
    targetPid = await azure.control.grantConsent(APP, TARGET_TENANT);
    clients = kubeClients();
    client = new KubeClient(clients.kc);
    operator = await startOperator({
      kubeconfig: testKubeconfigPath(),
      armEndpoint: azure.armEndpoint,
      caPath: azure.caPath,
      extraArgs: [
        '--resync-interval', '5s', '--leader-elect', 'false', '--consent-recheck-initial', '1s', '--consent-recheck-max', '4s',
        '--allowed-grant-target-tenants', [TARGET_TENANT, UNKNOWN_TENANT].join(','),
        // Policy for the whole operator: every other test here grants Contributor at the target and
        // names source.azureCredentialsRef, so these two refuse only the policy test's grants.
        '--allowed-grant-target-roles', 'Contributor',
        '--require-object-credentials', 'true',
      ],
    });
  });

  after(async () => {
    await operator?.stop();
    client?.close();
    await azure?.stop();
    if (certificateDir) rmSync(certificateDir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    namespace = await createTestNamespace(clients, 'tga');
    galleryName = `g${randomBytes(4).toString('hex')}`;
    await createGallery(azure, galleryName, 'Private');
    targetRG = await createTargetResourceGroup(azure);
    await createAppSecret(clients, namespace);
    await createOwnerSecret(clients, namespace);
    await createFabrikamAdminSecret(clients, namespace);
  });

  afterEach(async () => {
    await azure.control.clearFaults();
    await updateApplication(azure, { appId: APP, secrets: [secrets[APP]!], disabled: false, homeServicePrincipal: true });
    await client.delete(tenantGrants(namespace)).catch(() => undefined);
    for (let i = 0; i < 200 && (await client.get<{ items: unknown[] }>(tenantGrants(namespace))).items.length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    await deleteNamespace(clients, namespace);
  });

  it('verify-only: stalls with TargetRoleMissing and the exact az command while the app has Reader, and is Ready by itself once Contributor (a wildcard) is given', async () => {
    await azure.control.assignRole(targetScope(targetRG), targetPid, 'Reader');
    await azure.control.clearRequests();
    await create(verifyOnly('checked'));
    const stalled = await waitFor('checked', isStalled('TargetRoleMissing'), 'Stalled TargetRoleMissing');
    expect(condition(stalled, 'TargetAccess')?.status).to.equal('False');
    expect(condition(stalled, 'Consented')?.status).to.equal('True');
    const message = condition(stalled, 'Stalled')!.message;
    expect(message).to.include(azCommand());
    expect(message, 'names what is missing').to.include('Microsoft.Compute/virtualMachines/write');
    const reads = (await azure.control.requests()).filter((r) => r.method === 'GET' && r.path.toLowerCase().endsWith(`/resourcegroups/${targetRG.toLowerCase()}/providers/microsoft.authorization/permissions`));
    expect(reads.length, 'the permissions were read').to.be.at.least(1);
    expect(reads.every((r) => r.appId === APP && r.tenantId === TARGET_TENANT), "with the app's own token in the target tenant").to.equal(true);
    expect(await targetWrites(), 'verify-only writes nothing in the target tenant').to.deep.equal([]);

    // Fabrikam's admin gives Contributor by hand (actions *, minus its notActions): the next look sees it.
    await azure.control.assignRole(targetScope(targetRG), targetPid, 'Contributor');
    const ready = await waitFor('checked', isReady, 'Ready once Contributor is given', 15_000);
    expect(ready.metadata.generation).to.equal(stalled.metadata.generation);
    expect(condition(ready, 'TargetAccess')?.status).to.equal('True');
    expect(ready.status?.roleAssignments?.map((r) => r.side), 'it owns only the source assignment').to.deep.equal(['Source']);
    expect(await targetWrites()).to.deep.equal([]);
    expect((await assignmentsAt(azure, TARGET_TENANT, targetScope(targetRG))).length, 'the two made by hand').to.equal(2);
  });

  it('verify-only: a 403 on the permissions read is TargetRoleMissing with the az command', async () => {
    await azure.control.addFault({
      method: 'GET',
      path: `/resourceGroups/${targetRG}/providers/Microsoft.Authorization/permissions$`,
      status: 403,
      code: 'AuthorizationFailed',
      message: `The client '${targetPid}' with object id '${targetPid}' does not have authorization to perform action 'Microsoft.Authorization/permissions/read' over scope '${targetScope(targetRG)}' or the scope is invalid.`,
    });
    await create(verifyOnly('forbidden'));
    const stalled = await waitFor('forbidden', isStalled('TargetRoleMissing'), 'Stalled TargetRoleMissing');
    expect(condition(stalled, 'Stalled')!.message).to.include(azCommand());
    expect(condition(stalled, 'TargetAccess')?.status).to.equal('False');
  });

  it('stalls with ServicePrincipalMissing (AADSTS7000229 in the home tenant), saying to create it there', async () => {
    await updateApplication(azure, { appId: APP, homeServicePrincipal: false });
    await create(grant('homeless'));
    const stalled = await waitFor('homeless', isStalled('ServicePrincipalMissing'), 'Stalled ServicePrincipalMissing');
    const message = condition(stalled, 'Stalled')!.message;
    expect(message).to.include(`az ad sp create --id ${APP}`);
    expect(message).to.include(SOURCE_TENANT);
    expect(condition(stalled, 'Consented')?.status, 'the target was not looked at').to.equal('Unknown');
    const failed = await tokenRequests(azure, APP, SOURCE_TENANT);
    expect(failed.some((r) => r.status === 401 || r.status === 400)).to.equal(true);
  });

  it('stalls with ApplicationNotFound when the client id is no application of the source tenant', async () => {
    const unknownApp = randomUUID();
    await create(grant('ghost', { application: { clientId: unknownApp } }));
    const stalled = await waitFor('ghost', isStalled('ApplicationNotFound'), 'Stalled ApplicationNotFound');
    expect(condition(stalled, 'Stalled')!.message).to.include(unknownApp);
  });

  it('follows a rotated app secret: Entra drops the old one, the Secret gets the new one, and the grant stays Ready', async () => {
    await create(grant('rotated'));
    await waitFor('rotated', isReady, 'Ready');
    const newSecret = `rotated-${randomBytes(12).toString('hex')}`;
    // The portal: a new secret, the old one deleted.
    await updateApplication(azure, { appId: APP, secrets: [newSecret] });
    await azure.control.clearRequests();
    await client.patch(`/api/v1/namespaces/${namespace}/secrets/gallery-app`, { stringData: { clientSecret: newSecret } }, 'merge');
    let stalled: string | undefined;
    const deadline = Date.now() + 15_000;
    // Tokens with the new secret: both tenants.
    for (;;) {
      const source = await tokenRequests(azure, APP, SOURCE_TENANT);
      const target = await tokenRequests(azure, APP, TARGET_TENANT);
      if (source.some((r) => r.status === 200) && target.some((r) => r.status === 200)) break;
      if (Date.now() > deadline) throw new Error(`no token with the new secret: ${JSON.stringify([...source, ...target])}\n${logs().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const ready = await waitFor('rotated', isReady, 'Ready with the new secret', 15_000, (tg) => {
      if (kstatus(tg) === 'Failed') stalled ??= condition(tg, 'Stalled')?.reason;
    });
    expect(stalled, 'never Stalled').to.equal(undefined);
    const refused = [...(await tokenRequests(azure, APP, SOURCE_TENANT)), ...(await tokenRequests(azure, APP, TARGET_TENANT))].filter((r) => r.status !== 200);
    expect(refused, 'no token request with the old secret after the Secret changed').to.deep.equal([]);
    await expectNoSecrets(clients, namespace, logs(), [ready.status], [newSecret, secrets[APP]!]);
  });

  it('stalls with AADSTS7000215 on a wrong app secret, which appears in no log line, event or status', async () => {
    const wrong = `wrong-${randomBytes(12).toString('hex')}`;
    await createAppSecret(clients, namespace, { clientSecret: wrong }, 'bad-app');
    await create(grant('bad', { application: { credentialsRef: { name: 'bad-app' } } }));
    const stalled = await waitFor('bad', isStalled('AADSTS7000215'), 'Stalled AADSTS7000215');
    expect((await eventsOf(clients, namespace, 'bad')).some((e) => e.reason === 'AADSTS7000215' && e.type === 'Warning')).to.equal(true);
    await expectNoSecrets(clients, namespace, logs(), [stalled.status], [wrong, secrets[APP]!, secrets[ids.galleryOwner]!, secrets[ids.fabrikamAdmin]!]);
  });

  it('stalls with AADSTS7000222 when the app secret has expired', async () => {
    await updateApplication(azure, { appId: APP, secrets: [{ value: secrets[APP]!, expiresAt: '2024-01-01T00:00:00Z' }] });
    await create(grant('stale'));
    const stalled = await waitFor('stale', isStalled('AADSTS7000222'), 'Stalled AADSTS7000222');
    expect(condition(stalled, 'Ready')?.status).to.equal('False');
    await expectNoSecrets(clients, namespace, logs(), [stalled.status], [secrets[APP]!]);
  });

  it('stalls with AADSTS7000112 when the application is disabled', async () => {
    await updateApplication(azure, { appId: APP, disabled: true });
    await create(grant('disabled'));
    const stalled = await waitFor('disabled', isStalled('AADSTS7000112'), 'Stalled AADSTS7000112');
    expect(condition(stalled, 'Stalled')!.message).to.include(APP);
  });

  it('stalls with TenantNotFound for a target tenant Entra does not know', async () => {
    await create(grant('nowhere', { target: { tenantId: UNKNOWN_TENANT } }));
    const stalled = await waitFor('nowhere', isStalled('TenantNotFound'), 'Stalled TenantNotFound');
    expect(condition(stalled, 'Stalled')!.message).to.include(UNKNOWN_TENANT);
  });

  it('stalls with GalleryNotFound when the source gallery does not exist', async () => {
    await create(grant('nogallery', { source: { gallery: { subscriptionId: ids.gallerySubscription, resourceGroup: ids.galleryRG, name: 'noSuchGallery' } } }));
    const stalled = await waitFor('nogallery', isStalled('GalleryNotFound'), 'Stalled GalleryNotFound');
    expect(condition(stalled, 'Stalled')!.message).to.include('noSuchGallery');
    expect(await assignmentsAt(azure, TARGET_TENANT, targetScope(targetRG)), 'nothing granted in the target for a gallery that is not there').to.deep.equal([]);
  });

  it('stalls with PolicyViolation before any Azure call: a source role and a target tenant the policy does not allow', async () => {
    await azure.control.clearRequests();
    await create(grant('owner', { source: { role: 'Owner' } }));
    await create(grant('elsewhere', { target: { tenantId: REFUSED_TENANT } }));
    const owner = await waitFor('owner', isStalled('PolicyViolation'), 'Stalled PolicyViolation');
    expect(condition(owner, 'Stalled')!.message).to.include('Owner');
    const elsewhere = await waitFor('elsewhere', isStalled('PolicyViolation'), 'Stalled PolicyViolation');
    expect(condition(elsewhere, 'Stalled')!.message).to.include(REFUSED_TENANT);
    const calls = (await azure.control.requests()).filter((r) => r.appId === APP || r.path.toLowerCase().includes(galleryName.toLowerCase()) || r.path.toLowerCase().includes(REFUSED_TENANT));
    expect(calls, 'no Azure call for a refused grant').to.deep.equal([]);
    expect(await assignmentsAt(azure, SOURCE_TENANT, sourceScope(galleryName))).to.deep.equal([]);
  });

  it('stalls with PolicyViolation before any Azure call: a target role outside --allowed-grant-target-roles, and no source credentials under --require-object-credentials', async () => {
    await azure.control.clearRequests();
    await create(grant('target-owner', { target: { role: 'Owner' } }));
    await create(grant('own-identity', { source: { azureCredentialsRef: undefined } }));
    const owner = await waitFor('target-owner', isStalled('PolicyViolation'), 'Stalled PolicyViolation');
    expect(condition(owner, 'Stalled')!.message).to.include('role Owner on the target resource group').and.to.include('allowed-grant-target-roles');
    const own = await waitFor('own-identity', isStalled('PolicyViolation'), 'Stalled PolicyViolation');
    expect(condition(own, 'Stalled')!.message).to.include('source.azureCredentialsRef').and.to.include('require-object-credentials');
    // Both looked at more than once (resyncs every 5 s) before the calls are counted.
    await new Promise((r) => setTimeout(r, 6_000));
    const mine = (path: string) => [galleryName, targetRG].some((n) => path.toLowerCase().includes(n.toLowerCase()));
    const calls = (await azure.control.requests()).filter((r) => r.appId === APP || mine(r.path));
    expect(calls.map((r) => `${r.method} ${r.path} ${r.appId ?? ''}`), 'no Azure call for a refused grant').to.deep.equal([]);
    expect(await assignmentsAt(azure, SOURCE_TENANT, sourceScope(galleryName))).to.deep.equal([]);
    expect(await assignmentsAt(azure, TARGET_TENANT, targetScope(targetRG))).to.deep.equal([]);
  });

  it('stalls with AuthorizationFailed when the source writer may read the gallery but not assign roles: the action, the scope and the roles that allow it', async () => {
    // fabrikam-admin, consented in Contoso by its admin, holds only Reader on the gallery there.
    const writerPid = await azure.control.grantConsent(ids.fabrikamAdmin, SOURCE_TENANT);
    await azure.control.assignRole(sourceScope(galleryName), writerPid, 'Reader');
    await azure.control.clearRequests();
    await create(grant('reader-writer', { source: { azureCredentialsRef: { name: 'fabrikam-admin' } } }));
    const stalled = await waitFor('reader-writer', isStalled('AuthorizationFailed'), 'Stalled AuthorizationFailed');
    const message = condition(stalled, 'Stalled')!.message;
    expect(message).to.include('Microsoft.Authorization/roleAssignments/write');
    expect(message).to.include(sourceScope(galleryName));
    expect(message).to.include('Owner, User Access Administrator or Role Based Access Control Administrator');
    const byWriter = (await azure.control.requests()).filter((r) => r.appId === ids.fabrikamAdmin && r.path.toLowerCase().startsWith(sourceScope(galleryName).toLowerCase()));
    expect(byWriter.some((r) => r.method === 'GET' && r.status === 200), 'it read the gallery').to.equal(true);
    expect(byWriter.filter((r) => r.method === 'PUT').map((r) => r.status), 'the assignment write refused').to.satisfy((all: number[]) => all.length > 0 && all.every((x) => x === 403));
    expect(await assignmentsAt(azure, SOURCE_TENANT, sourceScope(galleryName)), 'only the Reader given by hand').to.have.length(1);
    await expectNoSecrets(clients, namespace, logs(), [stalled.status], [secrets[ids.fabrikamAdmin]!, secrets[APP]!]);
  });

  it('stalls with AADSTS700027 on a certificate not registered on the app, and the private key is in no log line, event or status', async () => {
    await createAppSecret(clients, namespace, { clientCertificate: unregistered.combinedPem }, 'unknown-certificate');
    await create(grant('unknown-cert', { application: { credentialsRef: { name: 'unknown-certificate' } } }));
    const stalled = await waitFor('unknown-cert', isStalled('AADSTS700027'), 'Stalled AADSTS700027');
    expect(condition(stalled, 'Ready')?.status).to.equal('False');
    const refused = await tokenRequests(azure, APP, SOURCE_TENANT);
    expect(refused.some((r) => r.status === 401), 'Entra refused the assertion').to.equal(true);
    const keyLines = unregistered.keyPem.split('\n').filter((line) => line && !line.startsWith('-----'));
    await expectNoSecrets(clients, namespace, logs(), [stalled.status], keyLines);
  });

  it('signs in with a certificate that ends soon: Ready (CredentialExpiringSoon), the end in status, a warning, and the key in no log', async () => {
    await createAppSecret(clients, namespace, { clientCertificate: soon.combinedPem }, 'app-certificate');
    await create(grant('certified', { application: { credentialsRef: { name: 'app-certificate' } } }));
    const ready = await waitFor('certified', (tg) => kstatus(tg) === 'Current' && condition(tg, 'Ready')?.status === 'True', 'Ready');
    expect(condition(ready, 'Ready')?.reason).to.equal('CredentialExpiringSoon');
    expect(Date.parse(ready.status!.credentialExpiresAt!)).to.equal(soon.notAfter.getTime());
    const warning = (await eventsOf(clients, namespace, 'certified')).find((e) => e.reason === 'CredentialExpiringSoon');
    expect(warning?.type).to.equal('Warning');
    expect(warning?.message).to.include(soon.notAfter.toISOString().slice(0, 10));
    const keyLines = soon.keyPem.split('\n').filter((line) => line && !line.startsWith('-----'));
    await expectNoSecrets(clients, namespace, logs(), [ready.status], keyLines);
    // Several resyncs later (every 5 s): still exactly one warning.
    await new Promise((r) => setTimeout(r, 12_000));
    const warnings = (await eventsOf(clients, namespace, 'certified')).filter((e) => e.reason === 'CredentialExpiringSoon');
    expect(warnings.map((e) => e.type)).to.deep.equal(['Warning']);
    expect(warnings.reduce((n, e) => n + e.count, 0), 'one CredentialExpiringSoon event, not one per resync').to.equal(1);
    expect(condition(await client.get<Grant>(`${tenantGrants(namespace)}/certified`), 'Ready')?.reason, 'still said in the condition').to.equal('CredentialExpiringSoon');
  });

  it('stalls with CredentialExpired on a certificate past its end, with the end in status', async () => {
    await createAppSecret(clients, namespace, { clientCertificate: expired.combinedPem }, 'old-certificate');
    await create(grant('expired', { application: { credentialsRef: { name: 'old-certificate' } } }));
    const stalled = await waitFor('expired', isStalled('CredentialExpired'), 'Stalled CredentialExpired');
    expect(Date.parse(stalled.status!.credentialExpiresAt!)).to.equal(expired.notAfter.getTime());
    expect(condition(stalled, 'Stalled')!.message).to.include('2024-02-01');
  });
});
