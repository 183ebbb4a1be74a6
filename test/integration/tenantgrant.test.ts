// TenantGrant end to end, consent: the real control plane, the Azure emulator and the operator as
// its own process. The target tenant's admin has not consented; the grant says so (Stalled
// ConsentRequired with the URL to hand over), checks again on its own schedule, and is Ready by
// itself once the admin accepts the consent page. Each test has its own namespace, gallery and
// target resource group.
import { expect } from 'chai';
import { randomBytes, randomUUID } from 'node:crypto';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { kstatus } from '../../src/runtime/kstatus.js';
import { start, type RunningEmulator } from '../azure-emulator/index.js';
import { ids, sampleSeed, secrets } from '../emulator/helpers.js';
import { createGallery, createOwnerSecret } from '../support/azure-fixtures.js';
import { createTestNamespace, deleteNamespace, kubeClients, kubectl, testKubeconfigPath, type KubeClients } from '../support/kube.js';
import { startOperator, type OperatorProcess } from '../support/operator-process.js';
import { ensureKstatus } from '../support/real-kstatus.js';
import {
  APP,
  SOURCE_TENANT,
  TARGET_TENANT,
  acceptConsent,
  assignmentsAt,
  condition,
  createAppSecret,
  createFabrikamAdminSecret,
  createTargetResourceGroup,
  ensureNoConsent,
  eventsOf,
  expectNoSecrets,
  expectedAssignmentName,
  isReady,
  isReconciling,
  isStalled,
  principalIdIn,
  setGrantOptions,
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

const READER = 'acdd72a7-3385-48ef-bd42-f606fba81ae7';
const CONTRIBUTOR = 'b24988ac-6180-42a0-ab88-20f7382dd24c';
/** The reply URL of the sample's cross-tenant article, registered on the app. */
const REPLY_URL = 'https://www.microsoft.com/';
const PARTNER_REPLY_URL = 'https://partner.example.com/consented';

describe('TenantGrant consent', function () {
  let azure: RunningEmulator;
  let operator: OperatorProcess;
  let clients: KubeClients;
  let client: KubeClient;
  let namespace: string;
  let galleryName: string;
  let targetRG: string;

  const logs = () => operator.logs();
  const create = (tg: Grant) => client.create<Grant>(tenantGrants(namespace), tg);
  const grant = (name: string, overrides: GrantSpecOverrides = {}) => tenantGrantManifest(name, galleryName, targetRG, overrides);
  const waitFor = (name: string, until: (tg: Grant) => boolean, what: string, timeoutMs = 30_000, seen?: (tg: Grant) => void) =>
    waitForTenantGrant(client, namespace, name, until, { what, timeoutMs, logs, ...(seen ? { seen } : {}) });
  /** The admin-consent URL of the contract, on the emulator's authority. */
  const consentUrlFor = (redirectUri?: string) =>
    `${azure.authorityHost.replace(/\/+$/, '')}/${TARGET_TENANT}/adminconsent?client_id=${APP}${redirectUri ? `&redirect_uri=${encodeURIComponent(redirectUri)}` : ''}`;

  before(async function () {
    this.timeout(600_000); // kstatus is built from Go modules on first use
    await ensureKstatus();
    // Tokens live 60 s, below MSAL's 5-minute renewal margin: every reconcile asks Entra again,
    // so a consent revoked behind the operator's back is seen at the next look, as it would be
    // within the hour in Azure.
    azure = await start({ seed: sampleSeed(), options: { retryAfterSeconds: 1, tokenLifetimeSeconds: 60 } });
    await updateApplication(azure, { appId: APP, replyUrls: [REPLY_URL, PARTNER_REPLY_URL] });
    clients = kubeClients();
    client = new KubeClient(clients.kc);
    operator = await startOperator({
      kubeconfig: testKubeconfigPath(),
      armEndpoint: azure.armEndpoint,
      caPath: azure.caPath,
      extraArgs: ['--resync-interval', '5s', '--leader-elect', 'false', '--consent-recheck-initial', '1s', '--consent-recheck-max', '4s'],
    });
  });

  after(async () => {
    await operator?.stop();
    client?.close();
    await azure?.stop();
  });

  beforeEach(async () => {
    namespace = await createTestNamespace(clients, 'tg');
    galleryName = `g${randomBytes(4).toString('hex')}`;
    await createGallery(azure, galleryName, 'Private');
    targetRG = await createTargetResourceGroup(azure);
    // The app's Secret holds only its clientSecret: the client id and the tenants come from the spec.
    await createAppSecret(clients, namespace);
    await createOwnerSecret(clients, namespace);
    await createFabrikamAdminSecret(clients, namespace);
    await ensureNoConsent(azure, APP, TARGET_TENANT);
  });

  afterEach(async () => {
    await azure.control.clearFaults();
    await setGrantOptions(azure, { roleAssignmentPropagationMs: 0, principalReplicationMs: 0, missingServicePrincipalCode: 700016 });
    await client.delete(tenantGrants(namespace)).catch(() => undefined);
    for (let i = 0; i < 200 && (await client.get<{ items: unknown[] }>(tenantGrants(namespace))).items.length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    await deleteNamespace(clients, namespace);
  });

  it('stalls with ConsentRequired and the consent URL, rechecks on its schedule, and is Ready by itself once the admin accepts the consent page', async () => {
    await azure.control.clearRequests();
    await create(grant('partner'));
    const stalled = await waitFor('partner', isStalled('ConsentRequired'), 'Stalled ConsentRequired');
    const stalledAt = Date.now();
    expect(condition(stalled, 'Consented')?.status).to.equal('False');
    expect(condition(stalled, 'Ready')?.status).to.equal('False');
    expect(stalled.status?.consentUrl, 'the admin-consent URL, without redirect_uri when the spec names none').to.equal(consentUrlFor());
    const message = condition(stalled, 'Stalled')!.message;
    expect(message).to.include(consentUrlFor());
    expect(message, 'the sign-in URL of the cross-tenant article').to.include(`/${TARGET_TENANT}/oauth2/authorize?client_id=${APP}`);
    expect(message).to.include(`az ad sp create --id ${APP}`);

    // While consent is missing the operator asks Entra again after 1 s, 2 s, 4 s, 4 s... (±10%):
    // one token request per look, not a storm. (Before the Stalled status it looked once or twice:
    // its first pass observes, writes the source role, and observes again.)
    await new Promise((r) => setTimeout(r, 9_000));
    const looks = await tokenRequests(azure, APP, TARGET_TENANT);
    const first = Date.parse(looks[0]!.time);
    const schedule = `token requests at +${looks.map((r) => ((Date.parse(r.time) - first) / 1000).toFixed(1)).join('s, +')}s; Stalled seen at +${((stalledAt - first) / 1000).toFixed(1)}s`;
    expect(looks.every((r) => r.status === 400 || r.status === 401), schedule).to.equal(true);
    expect(looks.filter((r) => Date.parse(r.time) < stalledAt).length, `the first pass: ${schedule}`).to.be.within(1, 2);
    const rechecks = looks.map((r) => Date.parse(r.time)).filter((t) => t >= stalledAt);
    const gaps = [rechecks[0]! - stalledAt, ...rechecks.slice(1).map((t, i) => t - rechecks[i]!)];
    // Rechecks about 1, 3 and 7 s after the Stalled status: 3 in the 9 s watched.
    expect(rechecks.length, schedule).to.be.within(2, 4);
    expect(Math.min(...gaps), `never two looks within 0.7 s: ${schedule}`).to.be.at.least(700);
    expect(Math.max(...gaps), `the interval grows: ${schedule}`).to.be.at.least(3_000);
    const warned = (await eventsOf(clients, namespace, 'partner')).filter((e) => e.reason === 'ConsentRequired');
    expect(warned.map((e) => e.type)).to.deep.equal(['Warning']);
    expect(warned.reduce((n, e) => n + e.count, 0), 'ConsentRequired once per episode, not per look').to.equal(1);
    expect(warned[0]!.message).to.include(consentUrlFor());

    // kubectl wait, started now, returns once the grant is Ready by itself.
    const waiting = kubectl(['wait', '-n', namespace, 'tenantgrant/partner', '--for=condition=Ready', '--timeout=60s']);
    waiting.catch(() => undefined);
    // The admin opens the URL in a browser and accepts.
    const consent = await acceptConsent(stalled.status!.consentUrl!, azure.caPem);
    expect(consent.page).to.include(APP);
    expect(consent.postStatus, consent.answer).to.equal(302);
    expect(consent.location, 'back to the registered reply URL').to.match(/^https:\/\/www\.microsoft\.com\/\?.*admin_consent=True/);

    let stalledAgain = false;
    const ready = await waitFor('partner', isReady, 'Ready after consent', 20_000, (tg) => (stalledAgain ||= isStalled()(tg) && condition(tg, 'Stalled')?.reason !== 'ConsentRequired'));
    expect(stalledAgain, 'no other Stalled on the way').to.equal(false);
    expect((await waiting).stdout).to.include('condition met');
    expect(ready.metadata.generation, 'Ready with no change to the object').to.equal(stalled.metadata.generation);
    expect(condition(ready, 'Ready')?.reason).to.equal('Reconciled');
    for (const type of ['Consented', 'SourceAccess', 'TargetAccess']) expect(condition(ready, type)?.status, type).to.equal('True');
    expect(condition(ready, 'Stalled'), 'Stalled removed once not true').to.equal(undefined);

    // Both assignments exist in Azure, for the app's principals in each tenant, owned by this object.
    const sourcePid = await principalIdIn(azure, APP, SOURCE_TENANT);
    const targetPid = await principalIdIn(azure, APP, TARGET_TENANT);
    expect(ready.status?.sourcePrincipalId).to.equal(sourcePid);
    expect(ready.status?.targetPrincipalId).to.equal(targetPid);
    const atSource = await assignmentsAt(azure, SOURCE_TENANT, sourceScope(galleryName));
    const atTarget = await assignmentsAt(azure, TARGET_TENANT, targetScope(targetRG));
    expect(atSource).to.have.length(1);
    expect(atSource[0]).to.include({
      name: expectedAssignmentName(namespace, 'partner', sourceScope(galleryName), sourcePid, 'Reader'),
      principalId: sourcePid,
      principalType: 'ServicePrincipal',
      roleGuid: READER,
      description: `Managed by TenantGrant ${namespace}/partner`,
    });
    expect(atTarget).to.have.length(1);
    expect(atTarget[0]).to.include({
      name: expectedAssignmentName(namespace, 'partner', targetScope(targetRG), targetPid, 'Contributor'),
      principalId: targetPid,
      principalType: 'ServicePrincipal',
      roleGuid: CONTRIBUTOR,
      description: `Managed by TenantGrant ${namespace}/partner`,
    });
    const reported = ready.status?.roleAssignments ?? [];
    expect(reported.map((r) => `${r.side} ${r.principalId} ${r.role} ${(r.id ?? '').toLowerCase()}`).sort()).to.deep.equal(
      [`Source ${sourcePid} Reader ${atSource[0]!.id.toLowerCase()}`, `Target ${targetPid} Contributor ${atTarget[0]!.id.toLowerCase()}`].sort(),
    );
    expect(ready.status?.consentUrl, 'kept once known').to.equal(consentUrlFor());

    const events = await eventsOf(clients, namespace, 'partner');
    const reasons = events.map((e) => e.reason);
    expect(reasons).to.include.members(['ConsentRequired', 'ConsentDetected', 'RoleAssignmentCreated', 'Ready']);
    expect(events.filter((e) => e.reason === 'ConsentDetected').reduce((n, e) => n + e.count, 0)).to.equal(1);
    expect(events.filter((e) => e.reason === 'ConsentRequired').reduce((n, e) => n + e.count, 0), 'still one ConsentRequired').to.equal(1);

    // kubectl's columns: both tenants and whether consent is given.
    const { stdout } = await kubectl(['get', 'tg', '-n', namespace]);
    const [header, row] = stdout.trim().split('\n');
    expect(header).to.match(/SOURCE-TENANT\s+TARGET-TENANT\s+CONSENTED/);
    expect(row).to.include(SOURCE_TENANT).and.to.include(TARGET_TENANT).and.to.match(/\bTrue\b/);

    await expectNoSecrets(clients, namespace, logs(), [stalled.status, ready.status], [secrets[APP]!, secrets[ids.galleryOwner]!, secrets[ids.fabrikamAdmin]!]);
  });

  it('puts the registered redirect URI in the consent URL when the spec names it, and the accepted page returns there', async () => {
    await create(grant('redirected', { application: { redirectUri: PARTNER_REPLY_URL } }));
    const stalled = await waitFor('redirected', isStalled('ConsentRequired'), 'Stalled ConsentRequired');
    expect(stalled.status?.consentUrl).to.equal(consentUrlFor(PARTNER_REPLY_URL));
    const consent = await acceptConsent(stalled.status!.consentUrl!, azure.caPem);
    expect(consent.postStatus, consent.answer).to.equal(302);
    expect(consent.location).to.match(new RegExp(`^${PARTNER_REPLY_URL.replace(/[.]/g, '\\.')}\\?.*admin_consent=True`));
    expect(consent.location).to.include(`tenant=${TARGET_TENANT}`);
    await waitFor('redirected', isReady, 'Ready after consent', 20_000);
  });

  it('reads AADSTS7000229 in the target tenant as missing consent too', async () => {
    // Entra answers either code for an app without a service principal in the tenant.
    await setGrantOptions(azure, { missingServicePrincipalCode: 7000229 });
    await create(grant('other-code'));
    const stalled = await waitFor('other-code', isStalled('ConsentRequired'), 'Stalled ConsentRequired');
    expect(condition(stalled, 'Consented')?.status).to.equal('False');
    expect(condition(stalled, 'Stalled')!.message).to.include('7000229').and.to.include(consentUrlFor());
    await azure.control.grantConsent(APP, TARGET_TENANT);
    await waitFor('other-code', isReady, 'Ready after consent', 15_000);
  });

  it('notices a consent revoked later: Stalled ConsentRequired again, and Ready once given again, for the new principal', async () => {
    await azure.control.grantConsent(APP, TARGET_TENANT);
    await create(grant('revoked'));
    const ready = await waitFor('revoked', isReady, 'Ready');
    const firstPid = ready.status!.targetPrincipalId!;
    expect(firstPid).to.equal(await principalIdIn(azure, APP, TARGET_TENANT));
    expect((await eventsOf(clients, namespace, 'revoked')).map((e) => e.reason), 'consent was there from the start').not.to.include('ConsentRequired');

    // Fabrikam's admin removes the enterprise application. Its role assignments stay in Azure,
    // listed with the deleted principal's id ("Identity not found" in the portal).
    const firstName = expectedAssignmentName(namespace, 'revoked', targetScope(targetRG), firstPid, 'Contributor');
    await azure.control.revokeConsent(APP, TARGET_TENANT);
    expect((await assignmentsAt(azure, TARGET_TENANT, targetScope(targetRG))).map((a) => `${a.name} ${a.principalId}`), "the old principal's assignment outlives it").to.deep.equal([`${firstName} ${firstPid}`]);
    const stalled = await waitFor('revoked', isStalled('ConsentRequired'), 'Stalled ConsentRequired after the revocation', 20_000);
    expect(condition(stalled, 'Consented')?.status).to.equal('False');
    expect(stalled.status?.consentUrl).to.equal(consentUrlFor());
    const warned = (await eventsOf(clients, namespace, 'revoked')).filter((e) => e.reason === 'ConsentRequired');
    expect(warned.reduce((n, e) => n + e.count, 0)).to.equal(1);

    // Consent again: Entra makes a new service principal, with a new object id.
    const secondPid = randomUUID();
    await azure.control.grantConsent(APP, TARGET_TENANT, secondPid);
    const again = await waitFor('revoked', (tg) => isReady(tg) && tg.status?.targetPrincipalId === secondPid, 'Ready for the new principal', 20_000);
    // The grant owns the stale assignment (its name is derived from this object, the scope, the old
    // principal and the role) and has deleted it: only the new principal's is left.
    const atTarget = await assignmentsAt(azure, TARGET_TENANT, targetScope(targetRG));
    expect(atTarget.map((a) => `${a.name} ${a.principalId}`), 'only the new principal\'s assignment').to.deep.equal([`${expectedAssignmentName(namespace, 'revoked', targetScope(targetRG), secondPid, 'Contributor')} ${secondPid}`]);
    expect(again.status?.roleAssignments?.filter((r) => r.side === 'Target').map((r) => `${r.name} ${r.principalId}`)).to.deep.equal([`${atTarget[0]!.name} ${secondPid}`]);
    const deletions = (await eventsOf(clients, namespace, 'revoked')).filter((e) => e.reason === 'RoleAssignmentDeleted');
    expect(deletions.map((e) => e.message).join('\n'), 'a RoleAssignmentDeleted event for the stale one').to.include(firstName);
    const detected = (await eventsOf(clients, namespace, 'revoked')).filter((e) => e.reason === 'ConsentDetected');
    expect(detected.reduce((n, e) => n + e.count, 0)).to.equal(1);
  });

  it('retries PrincipalNotFound right after consent (Reconciling, never Stalled) and is Ready on the third write', async () => {
    await create(grant('fresh'));
    await waitFor('fresh', isStalled('ConsentRequired'), 'Stalled ConsentRequired');
    // Entra has the new principal; ARM's directory does not know it yet, twice.
    const fault = await azure.control.addFault({
      method: 'PUT',
      path: `/resourceGroups/${targetRG}/providers/Microsoft.Authorization/roleAssignments/`,
      status: 400,
      code: 'PrincipalNotFound',
      message: `Principal ${randomUUID().replace(/-/g, '')} does not exist in the directory ${TARGET_TENANT}. Check that you have the correct principal ID.`,
      count: 2,
    });
    await azure.control.clearRequests();
    await azure.control.grantConsent(APP, TARGET_TENANT);
    let sawPrincipalNotFound = false;
    let sawStalled: string | undefined;
    await waitFor('fresh', isReady, 'Ready', 30_000, (tg) => {
      if (isReconciling('PrincipalNotFound')(tg)) sawPrincipalNotFound = true;
      if (kstatus(tg) === 'Failed' && condition(tg, 'Stalled')?.reason !== 'ConsentRequired') sawStalled ??= condition(tg, 'Stalled')?.reason;
      if (sawPrincipalNotFound && kstatus(tg) === 'Failed') sawStalled ??= condition(tg, 'Stalled')?.reason;
    });
    expect(sawStalled, 'never Stalled after consent').to.equal(undefined);
    expect(sawPrincipalNotFound, 'Reconciling PrincipalNotFound while ARM does not know the principal').to.equal(true);
    const puts = (await azure.control.requests()).filter((r) => r.method === 'PUT' && r.path.toLowerCase().includes(`/resourcegroups/${targetRG.toLowerCase()}/providers/microsoft.authorization/roleassignments/`));
    expect(puts.map((r) => r.faultId === fault.id ? 'fault' : r.status)).to.deep.equal(['fault', 'fault', 201]);
  });

  it('sends principalType ServicePrincipal: a principal ARM does not know yet (replication) is assigned at once, with no PrincipalNotFound', async () => {
    await create(grant('replicating'));
    await waitFor('replicating', isStalled('ConsentRequired'), 'Stalled ConsentRequired');
    // The new service principal stays unknown to ARM's directory lookup for the whole test:
    // only a PUT that gives principalType (which skips the lookup) can succeed.
    await setGrantOptions(azure, { principalReplicationMs: 600_000 });
    await azure.control.clearRequests();
    const started = Date.now();
    await azure.control.grantConsent(APP, TARGET_TENANT);
    let sawPrincipalNotFound = false;
    const ready = await waitFor('replicating', isReady, 'Ready', 15_000, (tg) => (sawPrincipalNotFound ||= isReconciling('PrincipalNotFound')(tg)));
    const seconds = (Date.now() - started) / 1000;
    expect(sawPrincipalNotFound, 'never Reconciling PrincipalNotFound').to.equal(false);
    const puts = (await azure.control.requests()).filter((r) => r.method === 'PUT' && r.path.toLowerCase().includes('/providers/microsoft.authorization/roleassignments/'));
    expect(puts.map((r) => `${r.status} ${r.path}`), 'every role-assignment PUT accepted').to.satisfy((all: string[]) => all.every((x) => /^20[01] /.test(x)));
    expect(puts.filter((r) => r.path.toLowerCase().includes(`/resourcegroups/${targetRG.toLowerCase()}/`)).map((r) => r.status), 'the target assignment, written once').to.deep.equal([201]);
    const targetPid = await principalIdIn(azure, APP, TARGET_TENANT);
    expect((await assignmentsAt(azure, TARGET_TENANT, targetScope(targetRG))).map((a) => `${a.principalId} ${a.principalType}`)).to.deep.equal([`${targetPid} ServicePrincipal`]);
    expect(ready.status?.targetPrincipalId).to.equal(targetPid);
    expect(seconds, 'Ready within a few seconds of consent (the recheck schedule), not after a PrincipalNotFound backoff').to.be.below(8);
  });

  it('waits out RBAC propagation (Reconciling RoleAssignmentPropagating) and is Ready without Stalled', async () => {
    await azure.control.grantConsent(APP, TARGET_TENANT);
    await setGrantOptions(azure, { roleAssignmentPropagationMs: 4_000 });
    let sawPropagating = false;
    let sawStalled: string | undefined;
    await create(grant('propagating'));
    const ready = await waitFor('propagating', isReady, 'Ready', 30_000, (tg) => {
      if (isReconciling('RoleAssignmentPropagating')(tg)) sawPropagating = true;
      if (kstatus(tg) === 'Failed') sawStalled ??= condition(tg, 'Stalled')?.reason;
    });
    expect(sawStalled, 'never Stalled').to.equal(undefined);
    expect(sawPropagating, 'Reconciling RoleAssignmentPropagating while the new Reader assignment does not count yet').to.equal(true);
    expect(condition(ready, 'SourceAccess')?.status).to.equal('True');
  });

  it('stalls with InvalidCredentialsSecret when the Secret names another client id, and recovers when it is fixed', async () => {
    await azure.control.grantConsent(APP, TARGET_TENANT);
    await createAppSecret(clients, namespace, { clientId: ids.fabrikamDeployer, clientSecret: secrets[APP]! }, 'wrong-app');
    await create(grant('mismatch', { application: { credentialsRef: { name: 'wrong-app' } } }));
    const stalled = await waitFor('mismatch', isStalled('InvalidCredentialsSecret'), 'Stalled InvalidCredentialsSecret');
    const message = condition(stalled, 'Stalled')!.message;
    expect(message).to.include('wrong-app').and.to.include(ids.fabrikamDeployer).and.to.include(APP);
    expect(await assignmentsAt(azure, SOURCE_TENANT, sourceScope(galleryName)), 'nothing written').to.deep.equal([]);

    await client.patch(`/api/v1/namespaces/${namespace}/secrets/wrong-app`, { stringData: { clientId: APP } }, 'merge');
    await waitFor('mismatch', isReady, 'Ready after the Secret was fixed', 20_000);
  });
});
