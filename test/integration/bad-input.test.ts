// Bad input at scale: a corpus of objects of all three kinds that admission accepts but Azure
// cannot satisfy (unknown galleries, resource groups, subscriptions and tenants, a foreign tenant
// without consent, images not in the region or not there at all, principals that do not exist,
// every policy refusal, credentials Secrets with wrong keys or values, the role-assignment
// limit, subnets in another region, ...), applied at once together with a few good objects, to
// one operator process. Each bad object must end in its own state and reason with advice in the
// message, none may hold up the others (the good ones go Ready in the same run), no object may
// loop hot, and no Secret value of the corpus may appear in the operator's log, any Event of the
// namespace or any object's status. The table (CASES) is the corpus: manifest -> expected state
// and reason.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GROUP, VERSION } from '../../src/api/v1alpha1/index.js';
import type { Condition } from '../../src/api/v1alpha1/common.js';
import { kstatus } from '../../src/runtime/kstatus.js';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { start, type RunningEmulator } from '../azure-emulator/index.js';
import { ids, secrets } from '../emulator/helpers.js';
import { createGallery } from '../support/azure-fixtures.js';
import { galleryShareManifest } from '../support/galleryshares.js';
import { createTestNamespace, deleteNamespace, kubeClients, testKubeconfigPath, type KubeClients } from '../support/kube.js';
import { startOperator, type OperatorProcess } from '../support/operator-process.js';
import {
  DEV_DEPLOYER_SECRET,
  DEV_EAST_SUBNET,
  DEV_RG,
  FABRIKAM_EAST_SUBNET,
  createVmSecrets,
  devVmManifest,
  rbacImage,
  sharedImage,
  sivmSeed,
  subnetId,
  vmManifest,
} from '../support/sharedimagevms.js';
import { APP, certificateValidBetween, createTargetResourceGroup, tenantGrantManifest } from '../support/tenantgrants.js';

/** A second multi-tenant app of Contoso, consented nowhere but at home. */
const PARTNER_APP = '8c1d2e3f-4a5b-4c6d-9e7f-0a1b2c3d4e5f';
const PARTNER_SECRET = 'partner-app-secret-5d1c';
/** Values in the corpus's Secrets that are wrong (and still secret). */
const WRONG_SECRET = 'wrong-client-secret-9b41e7';
const VM_PASSWORD = 'Vm-Passw0rd-c7f3a!';
/** Ids no one has. */
const UNKNOWN_SUBSCRIPTION = '0b7e3c1a-5d2f-4e6a-8b9c-1d2e3f4a5b6c';
const UNKNOWN_TENANT = '3f9a2b1c-7d6e-4f50-8a19-2c3b4d5e6f70';
const UNKNOWN_CLIENT = '6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d';
const UNKNOWN_PRINCIPAL = '0c8a9e44-2f1b-4d0e-9a57-3e6b1d2c4f10';
const UNKNOWN_ROLE = 'f0e1d2c3-b4a5-4687-9a8b-7c6d5e4f3a2b';
/** A second subscription of Fabrikam (fabrikam-admin is its Owner), filled to the role-assignment limit. */
const FULL_SUBSCRIPTION = '7e2d4c6b-8a0f-4e1d-9c3b-5a7f9e1d3c5b';
const FULL_RG = 'bi-rg-full';
/** Role assignments the seed makes in each full subscription (a few below the limit: the seed has its own there). */
const FILLED_BY_SEED = 3_980;
const fillerPrincipal = (subscription: string, i: number) => `${String(i).padStart(8, '0')}-0000-4000-8000-${subscription.slice(0, 8)}b1b1`;

/** Galleries (Contoso) the corpus names; each GalleryShare its own (one gallery, one owner). */
const G = {
  good1: 'biGood1',
  good2: 'biGood2',
  tg: 'biGrants',
  subRefused: 'biSubRefused',
  tenantRefused: 'biTenantRefused',
  community: 'biCommunity',
  pnf: 'biPrincipal',
  limit: 'biLimit',
  badRole: 'biRole',
  claimed: 'biGood1',
  oldPrivate: 'biOldPrivate',
  noImage: 'biNoImage',
  creds: 'biCreds',
} as const;

/** Target resource groups (Fabrikam) of the TenantGrants. */
const RG = { good: 'bi-rg-good', verify: 'bi-rg-verify', missing: 'bi-rg-missing' } as const;

type Kind = 'GalleryShare' | 'TenantGrant' | 'SharedImageVM';
type Expected = { state: 'ready' } | { state: 'stalled' | 'reconciling'; reason: string; advice: RegExp };
interface Case {
  /** What is wrong with it, in a person's words. */
  why: string;
  manifest: { apiVersion: string; kind: Kind; metadata: { name: string }; spec: object };
  expected: Expected;
}

const plural: Record<Kind, string> = { GalleryShare: 'galleryshares', TenantGrant: 'tenantgrants', SharedImageVM: 'sharedimagevms' };

// ----- the corpus ---------------------------------------------------------------------------------

const gs = (name: string, gallery: string, spec: object = {}) => galleryShareManifest(name, gallery, spec) as Case['manifest'];
const reader = (principalId: string, principalType = 'Group') => ({ principalId, principalType, role: 'Reader' });
const stalled = (reason: string, advice: RegExp): Expected => ({ state: 'stalled', reason, advice });
const reconciling = (reason: string, advice: RegExp): Expected => ({ state: 'reconciling', reason, advice });
const READY: Expected = { state: 'ready' };
const tg = (name: string, rg: string, overrides: Parameters<typeof tenantGrantManifest>[3] = {}) => tenantGrantManifest(name, G.tg, rg, overrides) as unknown as Case['manifest'];
const vm = (name: string, spec: object = {}) => vmManifest(name, spec) as unknown as Case['manifest'];
const devVm = (name: string, spec: object = {}) => devVmManifest(name, spec) as unknown as Case['manifest'];
const withCreds = (name: string) => ({ azureCredentialsRef: { name } });
/** A gallery of the case's own (one gallery, one GalleryShare): these fail before Azure is read. */
const own = (caseName: string) => `biC_${caseName.replace(/-/g, '_')}`;

const CASES: Case[] = [
  // --- good objects, which must go Ready in the same run ---
  { why: 'good: direct share with Fabrikam and a group reader', manifest: gs('gs-good', G.good1, { permission: 'Groups', directShare: { subscriptions: [ids.fabrikamSubscription], tenants: [ids.fabrikam] }, roleAssignments: [reader(ids.imageConsumersGroup)] }), expected: READY },
  { why: 'good: RBAC only', manifest: gs('gs-good-rbac', G.good2, { roleAssignments: [reader(ids.tester, 'User')] }), expected: READY },
  { why: 'good: the sample grant, consented', manifest: tg('tg-good', RG.good), expected: READY },
  { why: 'good: a VM from a directly shared image', manifest: vm('vm-good'), expected: READY },
  { why: 'good: a VM from an RBAC image id', manifest: devVm('vm-good-dev'), expected: READY },

  // --- GalleryShare: Azure does not have what the spec names ---
  { why: 'a gallery that does not exist', manifest: gs('gs-unknown-gallery', 'biNoSuchGallery', { roleAssignments: [reader(ids.imageConsumersGroup)] }), expected: stalled('GalleryNotFound', /create the gallery/) },
  { why: 'a resource group that does not exist', manifest: gs('gs-unknown-rg', 'biAny', { gallery: { subscriptionId: ids.gallerySubscription, resourceGroup: 'biNoSuchRG', name: 'biAny' } }), expected: stalled('ResourceGroupNotFound', /Check the resource group name/) },
  { why: 'a subscription that does not exist', manifest: gs('gs-unknown-subscription', 'biAny', { gallery: { subscriptionId: UNKNOWN_SUBSCRIPTION, resourceGroup: ids.galleryRG, name: 'biAny' } }), expected: stalled('SubscriptionNotFound', /subscription id/) },
  { why: 'a role that does not exist', manifest: gs('gs-unknown-role', G.badRole, { roleAssignments: [{ principalId: ids.imageConsumersGroup, principalType: 'Group', role: UNKNOWN_ROLE }] }), expected: stalled('RoleDefinitionDoesNotExist', /Check the role/) },
  { why: 'an image definition that does not exist, as the scope of a role assignment', manifest: gs('gs-unknown-image', G.noImage, { roleAssignments: [{ ...reader(ids.imageConsumersGroup), image: 'noSuchImage' }] }), expected: stalled('ResourceNotFound', /create the resource/) },
  { why: 'a principal that does not exist (Azure: PrincipalNotFound, which can be replication)', manifest: gs('gs-unknown-principal', G.pnf, { roleAssignments: [reader(UNKNOWN_PRINCIPAL, 'User')] }), expected: reconciling('PrincipalNotFound', /retrying for \d+s more/) },
  {
    why: "the gallery's subscription is at Azure's role-assignment limit (4,000)",
    manifest: gs('gs-role-limit', G.limit, { gallery: { subscriptionId: ids.devSubscription, resourceGroup: DEV_RG, name: G.limit }, roleAssignments: [reader(ids.imageConsumersGroup)] }), expected: stalled('RoleAssignmentLimitExceeded', /assign roles to Microsoft Entra groups/) },
  { why: 'a second GalleryShare on a gallery another one holds', manifest: gs('gs-claimed', G.claimed, { roleAssignments: [reader(ids.tester, 'User')] }), expected: stalled('GalleryClaimed', /Merge this spec into/) },
  { why: 'Groups asked of an existing Private gallery (Azure allows it only on new galleries)', manifest: gs('gs-permission-change', G.oldPrivate, { permission: 'Groups', directShare: { subscriptions: [ids.fabrikamSubscription] } }), expected: stalled('PermissionChangeNotAllowed', /create a new gallery with permission Groups/) },

  // --- GalleryShare: the operator's policy ---
  { why: 'policy: direct share with a subscription not allowed', manifest: gs('gs-policy-subscription', G.subRefused, { permission: 'Groups', directShare: { subscriptions: [ids.devSubscription] } }), expected: stalled('PolicyViolation', /allowed-share-subscriptions/) },
  { why: 'policy: direct share with a tenant not allowed', manifest: gs('gs-policy-tenant', G.tenantRefused, { permission: 'Groups', directShare: { tenants: [UNKNOWN_TENANT] } }), expected: stalled('PolicyViolation', /allowed-share-tenants/) },
  {
    why: 'policy: community sharing off',
    manifest: gs('gs-policy-community', G.community, { permission: 'Community', community: { publisherUri: 'https://contoso.example.com', publisherContact: 'images@contoso.example.com', eula: 'https://contoso.example.com/eula', publicNamePrefix: 'bicomm' } }),
    expected: stalled('PolicyViolation', /allow-community-sharing/),
  },

  // --- GalleryShare: credentials ---
  { why: 'no credentials Secret', manifest: gs('gs-secret-missing', own('gs-secret-missing'), withCreds('no-such-secret')), expected: stalled('InvalidCredentialsSecret', /create it with/) },
  { why: 'a Secret without clientId', manifest: gs('gs-secret-no-client-id', own('gs-secret-no-client-id'), withCreds('owner-no-client-id')), expected: stalled('InvalidCredentialsSecret', /clientId/) },
  { why: 'a wrong client secret', manifest: gs('gs-wrong-secret', own('gs-wrong-secret'), withCreds('owner-wrong-secret')), expected: stalled('AADSTS7000215', /put a current secret/) },
  { why: 'a client id Entra does not know', manifest: gs('gs-unknown-client', own('gs-unknown-client'), withCreds('owner-unknown-client')), expected: stalled('AADSTS700016', /check clientId and tenantId/) },
  { why: 'a tenant Entra does not know', manifest: gs('gs-unknown-tenant', own('gs-unknown-tenant'), withCreds('owner-unknown-tenant')), expected: stalled('TenantNotFound', /Check the tenant id/) },
  { why: "the right app with another tenant's id", manifest: gs('gs-wrong-tenant', own('gs-wrong-tenant'), withCreds('owner-wrong-tenant')), expected: stalled('AADSTS700016', /check clientId and tenantId/) },
  { why: 'a malformed certificate', manifest: gs('gs-malformed-certificate', own('gs-malformed-certificate'), withCreds('owner-malformed-certificate')), expected: stalled('InvalidCredentialsSecret', /clientCertificate/) },
  { why: 'a certificate whose PEM does not parse', manifest: gs('gs-garbled-certificate', own('gs-garbled-certificate'), withCreds('owner-garbled-certificate')), expected: stalled('InvalidCredentialsSecret', /does not parse/) },
  { why: 'an expired certificate', manifest: gs('gs-expired-certificate', own('gs-expired-certificate'), withCreds('owner-expired-certificate')), expected: stalled('CredentialExpired', /expired at 2024-02-01.*Upload a new certificate/) },
  { why: 'a certificate not registered on the app', manifest: gs('gs-unregistered-certificate', own('gs-unregistered-certificate'), withCreds('owner-unregistered-certificate')), expected: stalled('AADSTS700027', /upload the certificate/) },
  { why: 'an identity without access to the gallery', manifest: gs('gs-no-access', G.creds, withCreds('dev-deployer')), expected: stalled('AuthorizationFailed', /Grant the identity/) },
  { why: "no Secret, and the operator has no identity of its own", manifest: gs('gs-no-identity', own('gs-no-identity'), { azureCredentialsRef: undefined }), expected: stalled('CredentialUnavailable', /set azureCredentialsRef/) },

  // --- TenantGrant ---
  { why: 'a foreign tenant that has not consented to the app', manifest: tg('tg-no-consent', RG.good, { application: { clientId: PARTNER_APP, credentialsRef: { name: 'partner-app' } } }), expected: stalled('ConsentRequired', /adminconsent/) },
  { why: 'policy: a source role not allowed', manifest: tg('tg-policy-source-role', RG.good, { source: { role: 'Contributor' } }), expected: stalled('PolicyViolation', /allowed-grant-source-roles/) },
  { why: 'policy: a target role not allowed', manifest: tg('tg-policy-target-role', RG.good, { target: { role: 'Owner' } }), expected: stalled('PolicyViolation', /allowed-grant-target-roles/) },
  { why: 'policy: a target tenant not allowed', manifest: tg('tg-policy-target-tenant', RG.good, { target: { tenantId: UNKNOWN_TENANT } }), expected: stalled('PolicyViolation', /allowed-grant-target-tenants/) },
  { why: 'policy: no source credentials while they are required', manifest: tg('tg-policy-credentials', RG.good, { source: { azureCredentialsRef: undefined } }), expected: stalled('PolicyViolation', /require-object-credentials/) },
  { why: 'a source gallery that does not exist', manifest: tenantGrantManifest('tg-unknown-gallery', 'biNoSuchGallery', RG.good) as unknown as Case['manifest'], expected: stalled('GalleryNotFound', /create the gallery/) },
  { why: 'a target resource group that does not exist', manifest: tg('tg-unknown-target-rg', RG.missing), expected: stalled('ResourceGroupNotFound', /Check the resource group name/) },
  { why: 'an application Entra does not know', manifest: tg('tg-unknown-app', RG.good, { application: { clientId: UNKNOWN_CLIENT } }), expected: stalled('ApplicationNotFound', /Check spec\.application\.clientId/) },
  { why: "a wrong app secret", manifest: tg('tg-wrong-app-secret', RG.good, { application: { credentialsRef: { name: 'app-wrong-secret' } } }), expected: stalled('AADSTS7000215', /put a current secret/) },
  { why: 'an app Secret that does not exist', manifest: tg('tg-app-secret-missing', RG.good, { application: { credentialsRef: { name: 'no-such-secret' } } }), expected: stalled('InvalidCredentialsSecret', /create it with/) },
  { why: 'an app Secret with the wrong key', manifest: tg('tg-app-secret-wrong-key', RG.good, { application: { credentialsRef: { name: 'app-wrong-key' } } }), expected: stalled('InvalidCredentialsSecret', /clientSecret or clientCertificate/) },
  { why: "an app Secret for another client id", manifest: tg('tg-app-secret-other-client', RG.good, { application: { credentialsRef: { name: 'app-other-client' } } }), expected: stalled('InvalidCredentialsSecret', /belongs to another application/) },
  { why: "an expired app certificate", manifest: tg('tg-expired-certificate', RG.good, { application: { credentialsRef: { name: 'app-expired-certificate' } } }), expected: stalled('CredentialExpired', /Upload a new certificate/) },
  { why: 'verify only, and the app has no role on the target', manifest: tg('tg-target-role-missing', RG.verify, { target: { azureCredentialsRef: undefined } }), expected: stalled('TargetRoleMissing', /az role assignment create/) },
  {
    why: "the target subscription is at Azure's role-assignment limit (4,000)",
    manifest: tg('tg-role-limit', FULL_RG, { target: { subscriptionId: FULL_SUBSCRIPTION } }), expected: stalled('RoleAssignmentLimitExceeded', /assign roles to Microsoft Entra groups/) },
  { why: 'a wrong target writer secret', manifest: tg('tg-wrong-target-writer', RG.good, { target: { azureCredentialsRef: { name: 'fabrikam-admin-wrong-secret' } } }), expected: stalled('AADSTS7000215', /put a current secret/) },

  // --- SharedImageVM ---
  { why: 'an image version not in the region', manifest: vm('vm-not-in-region', { image: { sharedGalleryImageId: sharedImage('westonly') }, location: 'eastus', network: { subnetId: FABRIKAM_EAST_SUBNET } }), expected: stalled('ImageNotInRegion', /replicate/) },
  // The consumer view lists a version that targets the region before it has replicated there: the create tells.
  { why: 'a shared image whose only version is still replicating to the region (passes by itself)', manifest: vm('vm-image-replicating', { image: { sharedGalleryImageId: sharedImage('replicating') }, location: 'eastus', network: { subnetId: FABRIKAM_EAST_SUBNET } }), expected: reconciling('GalleryImageNotFound', /can pass by itself; retrying for \d+s more/) },
  { why: 'an image version that does not exist (RBAC id)', manifest: devVm('vm-unknown-version', { image: { id: rbacImage('ubuntu', '9.9.9') } }), expected: stalled('ImageVersionNotFound', /Name an existing version/) },
  // The consumer view of a shared gallery lists the versions that target a region: one that does not exist looks the same.
  { why: 'a shared image version that does not exist', manifest: vm('vm-unknown-shared-version', { image: { sharedGalleryImageId: sharedImage('ubuntu', '9.9.9') } }), expected: stalled('ImageNotInRegion', /does not exist, or it does not target westus/) },
  { why: 'an image that does not exist', manifest: vm('vm-unknown-image', { image: { sharedGalleryImageId: sharedImage('noSuchImage') } }), expected: stalled('ImageNotFound', /Check the id/) },
  { why: 'a subnet in another region', manifest: vm('vm-subnet-other-region', { network: { subnetId: FABRIKAM_EAST_SUBNET } }), expected: stalled('SubnetInOtherRegion', /Use a subnet in westus/) },
  { why: 'a subnet that does not exist', manifest: vm('vm-unknown-subnet', { network: { subnetId: subnetId(ids.fabrikamSubscription, ids.fabrikamRG, 'myVnet', 'noSuchSubnet') } }), expected: stalled('SubnetNotFound', /fix spec\.network\.subnetId/) },
  { why: 'a specialized image with an admin user', manifest: vm('vm-specialized-admin', { image: { sharedGalleryImageId: sharedImage('specialized') } }), expected: stalled('SpecializedImageWithOsProfile', /Remove adminUsername/) },
  { why: 'a TrustedLaunch image without securityType', manifest: vm('vm-trusted-launch', { image: { sharedGalleryImageId: sharedImage('trusted') } }), expected: stalled('SecurityTypeRequired', /set spec\.securityType to TrustedLaunch/) },
  { why: 'policy: no credentials while they are required', manifest: vm('vm-policy-credentials', { azureCredentialsRef: undefined }), expected: stalled('PolicyViolation', /require-object-credentials/) },
  { why: 'a TenantGrant that does not exist', manifest: vm('vm-grant-missing', { azureCredentialsRef: undefined, tenantGrantRef: { name: 'no-such-grant' }, resourceGroup: RG.good }), expected: reconciling('TenantGrantNotReady', /does not exist/) },
  { why: 'a TenantGrant that waits for consent', manifest: vm('vm-grant-not-ready', { azureCredentialsRef: undefined, tenantGrantRef: { name: 'tg-no-consent' }, resourceGroup: RG.good }), expected: reconciling('TenantGrantNotReady', /ConsentRequired/) },
  { why: "a TenantGrant whose target is another resource group", manifest: vm('vm-grant-mismatch', { azureCredentialsRef: undefined, tenantGrantRef: { name: 'tg-good' } }), expected: stalled('TenantGrantMismatch', /Use a grant that does/) },
  { why: 'a password Secret that does not exist', manifest: vm('vm-password-missing', { sshPublicKeys: undefined, adminPasswordSecretRef: { name: 'no-such-password', key: 'password' } }), expected: stalled('SecretNotFound', /create it with the key password/) },
  { why: 'a password Secret without the key', manifest: vm('vm-password-wrong-key', { sshPublicKeys: undefined, adminPasswordSecretRef: { name: 'vm-password', key: 'passwd' } }), expected: stalled('SecretNotFound', /add it, or fix the reference/) },
  { why: 'a wrong client secret', manifest: vm('vm-wrong-secret', withCreds('deployer-wrong-secret')), expected: stalled('AADSTS7000215', /put a current secret/) },
  { why: 'a subscription that does not exist', manifest: vm('vm-unknown-subscription', { subscriptionId: UNKNOWN_SUBSCRIPTION, network: { subnetId: subnetId(UNKNOWN_SUBSCRIPTION, ids.fabrikamRG, 'myVnet') } }), expected: stalled('SubscriptionNotFound', /Check the subscription id/) },
  { why: 'an identity that may create VMs but not read the image', manifest: devVm('vm-image-no-access', withCreds('dev-deployer')), expected: stalled('AuthorizationFailed', /Grant the identity/) },
  { why: 'a resource group that does not exist', manifest: vm('vm-unknown-rg', { resourceGroup: 'biNoSuchRG', ...withCreds('fabrikam-admin') }), expected: stalled('ResourceGroupNotFound', /create the resource group/) },
  { why: 'an RBAC image in the other region', manifest: devVm('vm-rbac-other-region', { image: { id: rbacImage('westonly') }, location: 'eastus', network: { subnetId: DEV_EAST_SUBNET } }), expected: stalled('ImageNotInRegion', /replicate/) },
];

// ----- the run ------------------------------------------------------------------------------------

interface Managed {
  metadata: { name: string; generation?: number };
  status?: { observedGeneration?: number; conditions?: Condition[] };
}
const cond = (o: Managed | undefined, type: string) => o?.status?.conditions?.find((c) => c.type === type);

/** Whether the object is in the expected state, as kstatus reads it. */
function matches(o: Managed | undefined, expected: Expected): boolean {
  if (!o) return false;
  if (expected.state === 'ready') return kstatus(o) === 'Current' && cond(o, 'Ready')?.status === 'True';
  if (expected.state === 'stalled') {
    const s = cond(o, 'Stalled');
    return kstatus(o) === 'Failed' && s?.status === 'True' && s.reason === expected.reason && expected.advice.test(s.message);
  }
  const r = cond(o, 'Reconciling');
  return kstatus(o) === 'InProgress' && r?.status === 'True' && r.reason === expected.reason && expected.advice.test(r.message);
}

const said = (o: Managed | undefined) => {
  const c = cond(o, 'Stalled')?.status === 'True' ? cond(o, 'Stalled') : cond(o, 'Reconciling')?.status === 'True' ? cond(o, 'Reconciling') : cond(o, 'Ready');
  return o ? `${kstatus(o)} ${c?.type}=${c?.status} ${c?.reason}: ${c?.message}` : 'missing';
};

describe('bad input at scale', function () {
  let azure: RunningEmulator;
  let clients: KubeClients;
  let client: KubeClient;
  let operator: OperatorProcess;
  let namespace: string;
  let certificateDir: string;
  /** Every secret value the corpus's Secrets hold. */
  const leaks: string[] = [];

  before(async function () {
    this.timeout(300_000);
    certificateDir = mkdtempSync(join(tmpdir(), 'gso-bad-input-'));
    const DAY = 86_400_000;
    const expired = await certificateValidBetween(certificateDir, 'expired', new Date('2024-01-01T00:00:00Z'), new Date('2024-02-01T00:00:00Z'));
    const unregistered = await certificateValidBetween(certificateDir, 'unregistered', new Date(Date.now() - DAY), new Date(Date.now() + 365 * DAY));
    const keyLines = (pem: string) => pem.split('\n').filter((line) => line.length > 20 && !line.startsWith('-----'));

    const seed = sivmSeed();
    seed.galleries!.push({ subscription: ids.devSubscription, resourceGroup: DEV_RG, name: G.limit, location: 'westus' });
    seed.tenants.find((t) => t.id === ids.fabrikam)!.subscriptions!.push({ id: FULL_SUBSCRIPTION, name: 'Fabrikam Full' });
    seed.resourceGroups!.push({ subscription: FULL_SUBSCRIPTION, name: FULL_RG, location: 'westus' });
    seed.roleAssignments!.push({ scope: `/subscriptions/${FULL_SUBSCRIPTION}`, principal: ids.fabrikamAdmin, role: 'Owner' });
    // One Reader per person, as an organisation that assigns individuals rather than groups does.
    for (const [subscription, tenantId] of [[ids.devSubscription, ids.contoso], [FULL_SUBSCRIPTION, ids.fabrikam]] as const) {
      const tenant = seed.tenants.find((t) => t.id === tenantId)!;
      for (let i = 0; i < FILLED_BY_SEED; i++) {
        const objectId = fillerPrincipal(subscription, i);
        (tenant.users ??= []).push({ objectId, name: `user${i}@${tenantId.slice(0, 8)}.example.com` });
        seed.roleAssignments!.push({ scope: `/subscriptions/${subscription}`, principal: objectId, role: 'Reader' });
      }
    }
    seed.applications!.push({ appId: PARTNER_APP, name: 'partner-app', homeTenant: ids.contoso, secrets: [PARTNER_SECRET] });
    for (const app of seed.applications!.filter((a) => a.appId === APP || a.appId === ids.galleryOwner)) app.certificates = [...(app.certificates ?? []), expired.certPem];
    azure = await start({ seed, options: { retryAfterSeconds: 0, lroDurationMs: 300 } });
    await azure.control.grantConsent(APP, ids.fabrikam);
    for (const name of [G.good1, G.good2, G.tg, G.subRefused, G.tenantRefused, G.community, G.pnf, G.badRole, G.noImage, G.creds]) await createGallery(azure, name, 'Groups');
    await createGallery(azure, G.oldPrivate, 'Private', true);
    for (const rg of [RG.good, RG.verify]) await createTargetResourceGroup(azure, rg);
    // Two subscriptions filled up to Azure's limit of 4,000 role assignments (the emulator
    // enforces it, counting every scope in the subscription): the dev subscription (Contoso),
    // where a GalleryShare's gallery is, and Fabrikam's second one, which a TenantGrant targets.
    // Both meet ARM's 400 RoleAssignmentLimitExceeded.
    // Most come with the seed (made one by one, each counted, they take a minute); the control
    // API adds the last ones until the emulator refuses one more.
    for (const subscription of [ids.devSubscription, FULL_SUBSCRIPTION]) {
      for (let filled = FILLED_BY_SEED; ; filled++) {
        const principal = fillerPrincipal(subscription, filled);
        const refused = await azure.control.assignRole(`/subscriptions/${subscription}`, principal, 'Reader').then(
          () => false,
          (err: unknown) => /RoleAssignmentLimitExceeded/.test(String(err)),
        );
        if (refused) break;
        expect(filled, 'the limit holds').to.be.below(4_000);
      }
    }
    // Azure's answer the emulator gives only on request: a principal the directory does not
    // know (with principalType given, the emulator skips the lookup, as ARM does).
    await azure.control.addFault({
      method: 'PUT',
      path: `galleries/${G.pnf}/providers/Microsoft.Authorization/roleAssignments/`,
      status: 400,
      code: 'PrincipalNotFound',
      message: `Principal ${UNKNOWN_PRINCIPAL.replace(/-/g, '')} does not exist in the directory ${ids.contoso}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay.`,
    });

    clients = kubeClients();
    client = new KubeClient(clients.kc);
    namespace = await createTestNamespace(clients, 'bad');
    const secret = async (name: string, stringData: Record<string, string>) => {
      await clients.core.createNamespacedSecret({ namespace, body: { metadata: { name }, stringData } });
      for (const [key, value] of Object.entries(stringData)) {
        if (key === 'tenantId' || key === 'clientId') continue;
        leaks.push(...(value.includes('-----BEGIN') ? keyLines(value) : [value]));
      }
    };
    await createVmSecrets(clients, namespace);
    leaks.push(secrets[ids.fabrikamDeployer]!, secrets[ids.galleryOwner]!, DEV_DEPLOYER_SECRET);
    await secret('gallery-app', { clientSecret: secrets[APP]! });
    await secret('partner-app', { clientSecret: PARTNER_SECRET });
    await secret('fabrikam-admin', { tenantId: ids.fabrikam, clientId: ids.fabrikamAdmin, clientSecret: secrets[ids.fabrikamAdmin]! });
    const owner = { tenantId: ids.contoso, clientId: ids.galleryOwner };
    await secret('owner-no-client-id', { tenantId: ids.contoso, clientSecret: secrets[ids.galleryOwner]! });
    await secret('owner-wrong-secret', { ...owner, clientSecret: WRONG_SECRET });
    await secret('owner-unknown-client', { ...owner, clientId: UNKNOWN_CLIENT, clientSecret: `${WRONG_SECRET}-u` });
    await secret('owner-unknown-tenant', { ...owner, tenantId: UNKNOWN_TENANT, clientSecret: secrets[ids.galleryOwner]! });
    await secret('owner-wrong-tenant', { ...owner, tenantId: ids.fabrikam, clientSecret: secrets[ids.galleryOwner]! });
    await secret('owner-malformed-certificate', { ...owner, clientCertificate: '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGUgYXQgYWxsLCBqdXN0IGJ5dGVz\n-----END CERTIFICATE-----\n' });
    await secret('owner-garbled-certificate', { ...owner, clientCertificate: `-----BEGIN PRIVATE KEY-----\n${Buffer.from(`mangled ${WRONG_SECRET} key`).toString('base64')}\n-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n` });
    await secret('fabrikam-admin-wrong-secret', { tenantId: ids.fabrikam, clientId: ids.fabrikamAdmin, clientSecret: `${WRONG_SECRET}-fab` });
    await secret('owner-expired-certificate', { ...owner, clientCertificate: expired.combinedPem });
    await secret('owner-unregistered-certificate', { ...owner, clientCertificate: unregistered.combinedPem });
    await secret('app-wrong-secret', { clientSecret: `${WRONG_SECRET}-app` });
    await secret('app-wrong-key', { password: secrets[APP]! });
    await secret('app-other-client', { clientId: PARTNER_APP, clientSecret: secrets[APP]! });
    await secret('app-expired-certificate', { clientCertificate: expired.combinedPem });
    await secret('deployer-wrong-secret', { tenantId: ids.fabrikam, clientId: ids.fabrikamDeployer, clientSecret: `${WRONG_SECRET}-vm` });
    await secret('vm-password', { password: VM_PASSWORD });

    operator = await startOperator({
      kubeconfig: testKubeconfigPath(),
      armEndpoint: azure.armEndpoint,
      caPath: azure.caPath,
      extraArgs: [
        '--resync-interval', '20s', '--leader-elect', 'false', '--watch-namespaces', namespace,
        // Every refusal the policy has: direct sharing only with Fabrikam, no community,
        // grants only to Fabrikam with the default roles, and object credentials required.
        '--allowed-share-subscriptions', ids.fabrikamSubscription,
        '--allowed-share-tenants', ids.fabrikam,
        '--allow-community-sharing', 'false',
        '--allowed-grant-target-tenants', ids.fabrikam,
        '--require-object-credentials', 'true',
      ],
    });
  });

  after(async () => {
    await operator?.stop();
    if (namespace) {
      for (const kind of Object.keys(plural) as Kind[]) {
        const path = `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${plural[kind]}`;
        const list = await client.get<{ items: Managed[] }>(path).catch(() => ({ items: [] }));
        // The operator is gone: finalizers come off by hand, so the namespace can go.
        for (const o of list.items) await client.patch(`${path}/${o.metadata.name}`, { metadata: { finalizers: null } }, 'merge').catch(() => undefined);
      }
      await deleteNamespace(clients, namespace);
    }
    client?.close();
    await azure?.stop();
    if (certificateDir) rmSync(certificateDir, { recursive: true, force: true });
  });

  it(`applies ${CASES.length} objects at once: each bad one ends in its own state, reason and advice, the good ones go Ready, nothing loops hot, and no secret leaks`, async function () {
    this.timeout(240_000);
    expect(CASES.filter((c) => c.expected.state !== 'ready').length, 'at least 40 bad manifests').to.be.at.least(40);
    const names = CASES.map((c) => `${c.manifest.kind}/${c.manifest.metadata.name}`);
    expect(new Set(names).size, 'unique names').to.equal(names.length);

    const started = Date.now();
    const apply = (c: Case) => client.create(`/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${plural[c.manifest.kind]}`, c.manifest);
    // The good objects first, by a moment: gs-claimed must be the younger of two GalleryShares
    // on one gallery (the older holds it; in one second the names decide).
    await Promise.all(CASES.filter((c) => c.expected.state === 'ready').map(apply));
    await new Promise((r) => setTimeout(r, 1_100));
    await Promise.all(CASES.filter((c) => c.expected.state !== 'ready').map(apply));
    // Every status read on the way is kept, for the secret check across the whole run.
    const statuses = new Set<string>();
    const read = async (c: Case) => {
      const o = await client.get<Managed>(`/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${plural[c.manifest.kind]}/${c.manifest.metadata.name}`).catch(() => undefined);
      if (o?.status) statuses.add(JSON.stringify(o.status));
      return o;
    };

    // Every object reaches its expected state: all at once, within one deadline.
    const deadline = Date.now() + 150_000;
    let pending = CASES;
    let last = new Map<Case, Managed | undefined>();
    while (pending.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1_000));
      const now = await Promise.all(pending.map(async (c) => [c, await read(c)] as const));
      last = new Map(now);
      pending = now.filter(([c, o]) => !matches(o, c.expected)).map(([c]) => c);
    }
    const settledMs = Date.now() - started;
    const wrong = pending.map((c) => `  ${c.manifest.kind}/${c.manifest.metadata.name} (${c.why}): expected ${c.expected.state}${'reason' in c.expected ? ` ${c.expected.reason} ${c.expected.advice}` : ''}, is ${said(last.get(c))}`);
    expect(wrong, `objects not in their expected state after ${Math.round(settledMs / 1000)}s:\n${wrong.join('\n')}\n`).to.deep.equal([]);
    console.log(`      all ${CASES.length} objects in their expected state after ${(settledMs / 1000).toFixed(1)}s`);
    // BAD_INPUT_PRINT=1 prints what each object says (to read the advice as a person would).
    if (process.env.BAD_INPUT_PRINT) for (const [c, o] of last) console.log(`      ${c.manifest.kind}/${c.manifest.metadata.name}: ${said(o)}`);

    // And they stay there: no bad object flips (to Ready or to another reason) on later looks,
    // and none loops hot: over a quiet window, reconciles stay near the stalled recheck's pace.
    const reconciles = async () => {
      const text = await fetch(operator.metricsUrl).then((r) => r.text());
      return [...text.matchAll(/^controller_runtime_reconcile_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    };
    const before = await reconciles();
    const windowMs = 20_000;
    await new Promise((r) => setTimeout(r, windowMs));
    const during = (await reconciles()) - before;
    const after = await Promise.all(CASES.map(async (c) => [c, await read(c)] as const));
    const flipped = after.filter(([c, o]) => !matches(o, c.expected)).map(([c, o]) => `${c.manifest.metadata.name}: ${said(o)}`);
    expect(flipped, 'objects that left their state').to.deep.equal([]);
    // A resync (20 s) and a stalled recheck each look at every object once, and the objects
    // backing off (PrincipalNotFound, TenantGrantNotReady) a few times more: a hot loop is far
    // more than that.
    console.log(`      ${during} reconciles of ${CASES.length} objects in ${windowMs / 1000}s`);
    expect(during, 'reconciles in a quiet window of 20 s').to.be.below(CASES.length * 4);

    // No Secret value of the corpus in the operator's log, any Event of the namespace, or any
    // status read during the run.
    const events = await clients.core.listNamespacedEvent({ namespace });
    expect(events.items.length, 'events were recorded').to.be.greaterThan(CASES.length);
    const everything = [operator.logs(), JSON.stringify(events.items), ...statuses].join('\n');
    expect(new Set(leaks).size, 'secret values to look for (secrets, wrong secrets, private-key lines, a password)').to.be.at.least(20);
    for (const leak of new Set(leaks)) expect(everything.includes(leak), `a secret value (${leak.slice(0, 6)}…) appears in a log line, an event or a status`).to.equal(false);
  });
});
