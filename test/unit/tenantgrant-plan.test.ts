// TenantGrant's pure planning: what each observation of the two tenants means (consent, the
// source role and the app's own read, the target role or its verification), the consent URL, the
// recheck schedule, the policy, and how Azure evaluates actions (wildcards, notActions).
import { expect } from 'chai';
import fc from 'fast-check';
import type { TenantGrant } from '../../src/api/v1alpha1/index.js';
import type { AzureClients } from '../../src/azure/clients.js';
import { parseApplicationSecret } from '../../src/azure/credentials.js';
import { roleAssignmentName } from '../../src/azure/ownership.js';
import type { ObservedRoleAssignment } from '../../src/azure/role-assignments.js';
import { missingActions } from '../../src/azure/tenant-access.js';
import {
  checkGrantPolicy,
  consentUrl,
  planGrantDeletion,
  planTenantGrant,
  recheckDelay,
  requiredTargetActions,
  type GrantObservation,
  type GrantPlanContext,
} from '../../src/controllers/tenantgrant/plan.js';
import { TenantGrantHandler } from '../../src/controllers/tenantgrant/handler.js';
import type { CredentialResolver } from '../../src/controllers/shared/credentials.js';

const app = '05de60fa-8991-4b07-9bb1-78a2a5bb1e21';
const sourceTenant = '6dc731fe-2682-41a6-a97e-5fb246cc86f9';
const targetTenant = 'c333bccd-7e4f-4c18-bcc2-ba10fdc7b25a';
const sub = 'baa78062-9e05-4cbe-bc20-1fc5ea242262';
const targetSub = '56ceae0c-1804-418b-9cda-5ce6d858f5b6';
const galleryScope = `/subscriptions/${sub}/resourceGroups/myGalleryRG/providers/Microsoft.Compute/galleries/myGallery`;
const rgScope = `/subscriptions/${targetSub}/resourceGroups/myResourceGroup`;
const sourceSp = '11111111-1111-1111-1111-111111111111';
const targetSp = '22222222-2222-2222-2222-222222222222';
const READER = 'acdd72a7-3385-48ef-bd42-f606fba81ae7';
const CONTRIBUTOR = 'b24988ac-6180-42a0-ab88-20f7382dd24c';
const owner = { kind: 'TenantGrant', namespace: 'platform', name: 'contoso-to-fabrikam' };

function grant(spec: Partial<TenantGrant['spec']> = {}, conditions: NonNullable<TenantGrant['status']>['conditions'] = []): TenantGrant {
  return {
    apiVersion: 'galleryshare.io/v1alpha1',
    kind: 'TenantGrant',
    metadata: { name: owner.name, namespace: owner.namespace, generation: 1 },
    spec: {
      application: { clientId: app, credentialsRef: { name: 'gallery-app' } },
      source: { tenantId: sourceTenant, gallery: { subscriptionId: sub, resourceGroup: 'myGalleryRG', name: 'myGallery' } },
      target: { tenantId: targetTenant, subscriptionId: targetSub, resourceGroup: 'myResourceGroup', azureCredentialsRef: { name: 'fabrikam-admin' } },
      ...spec,
    },
    status: { observedGeneration: 1, conditions },
  };
}

const NOW = Date.parse('2026-11-29T12:00:00Z');
const context: GrantPlanContext = {
  now: NOW,
  authorityHost: 'https://login.microsoftonline.com',
  requiredTargetActions: requiredTargetActions({ publicIp: false, deletes: true }),
  expiryWarningMs: 30 * 24 * 3600_000,
  recheck: { initialMs: 30_000, maxMs: 300_000 },
  jitter: 0,
};

const assignment = (scope: string, principalId: string, roleGuid: string, name = roleAssignmentName(owner, scope, principalId, roleGuid)): ObservedRoleAssignment => ({
  id: `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`,
  name,
  scope,
  principalId,
  roleGuid,
});

const consented = (over: Partial<GrantObservation> = {}): GrantObservation => ({
  source: { principal: { principalId: sourceSp }, assignments: [assignment(galleryScope, sourceSp, READER)], appCanRead: true },
  target: { principal: { principalId: targetSp }, assignments: [assignment(rgScope, targetSp, CONTRIBUTOR)] },
  ...over,
});

const detail = (plan: ReturnType<typeof planTenantGrant>, type: string) => plan.details.find((d) => d.type === type);

describe('TenantGrant plan', () => {
  it('everything in place: no actions, all three details True, Ready', () => {
    const plan = planTenantGrant(grant(), consented(), context);
    expect(plan.actions).to.deep.equal([]);
    expect(plan.stalled).to.equal(undefined);
    expect(plan.waiting).to.equal(undefined);
    expect(['Consented', 'SourceAccess', 'TargetAccess'].map((t) => detail(plan, t)?.status)).to.deep.equal(['True', 'True', 'True']);
  });

  it('assigns the roles it lacks, on each side, to the principal the app\'s tokens name, under its own names', () => {
    const plan = planTenantGrant(grant(), consented({ source: { principal: { principalId: sourceSp }, assignments: [] }, target: { principal: { principalId: targetSp }, assignments: [] } }), context);
    expect(plan.actions.map((a) => a.type === 'createRoleAssignment' && [a.assignment.side, a.assignment.scope, a.assignment.principalId, a.assignment.roleGuid, a.assignment.name])).to.deep.equal([
      ['Source', galleryScope, sourceSp, READER, roleAssignmentName(owner, galleryScope, sourceSp, READER)],
      ['Target', rgScope, targetSp, CONTRIBUTOR, roleAssignmentName(owner, rgScope, targetSp, CONTRIBUTOR)],
    ]);
  });

  it('an equal assignment under another name (made in the portal) satisfies the spec and is never deleted', () => {
    const portal = assignment(galleryScope, sourceSp, READER, '99999999-9999-9999-9999-999999999999');
    const observed = consented({ source: { principal: { principalId: sourceSp }, assignments: [portal], appCanRead: true } });
    expect(planTenantGrant(grant(), observed, context).actions).to.deep.equal([]);
    expect(planGrantDeletion(grant(), observed).actions.map((a) => a.type === 'deleteRoleAssignment' && a.assignment.name)).to.deep.equal([roleAssignmentName(owner, rgScope, targetSp, CONTRIBUTOR)]);
  });

  it('a changed source role: the new one assigned, the old one it owns deleted', () => {
    const plan = planTenantGrant(grant({ source: { ...grant().spec.source, role: 'Compute Gallery Image Reader' } }), consented(), context);
    expect(plan.actions.map((a) => a.type)).to.deep.equal(['createRoleAssignment', 'deleteRoleAssignment']);
  });

  it('no service principal in the target tenant: ConsentRequired with the admin-consent URL, the sign-in URL and az ad sp create; source writes still go first', () => {
    const observed = consented({ source: { principal: { principalId: sourceSp }, assignments: [] }, target: { principal: { refused: 'AADSTS700016', message: 'AADSTS700016: not found' } } });
    const first = planTenantGrant(grant(), observed, context);
    expect(first.stalled).to.equal(undefined);
    expect(first.actions).to.have.length(1);
    const plan = planTenantGrant(grant(), { ...observed, source: consented().source }, context);
    expect(plan.stalled?.reason).to.equal('ConsentRequired');
    expect(plan.stalled?.message).to.include(`https://login.microsoftonline.com/${targetTenant}/adminconsent?client_id=${app}`).and.include('/oauth2/authorize?client_id=').and.include(`az ad sp create --id ${app}`);
    expect(detail(plan, 'Consented')).to.include({ status: 'False', reason: 'ConsentRequired' });
    expect(detail(plan, 'TargetAccess')?.status).to.equal('Unknown');
    expect(plan.stalled?.recheckAfterMs).to.equal(30_000);
  });

  it('AADSTS7000229 in the target tenant means the same as 700016 there', () => {
    const plan = planTenantGrant(grant(), consented({ target: { principal: { refused: 'AADSTS7000229', message: 'AADSTS7000229: missing service principal' } } }), context);
    expect(plan.stalled?.reason).to.equal('ConsentRequired');
  });

  it('at home, 700016 is a wrong client id and 7000229 a missing service principal (with the command); nothing else is looked at', () => {
    const wrongId = planTenantGrant(grant(), { source: { principal: { refused: 'AADSTS700016', message: 'AADSTS700016: x' }, assignments: [] } }, context);
    expect(wrongId.stalled?.reason).to.equal('ApplicationNotFound');
    expect(wrongId.stalled?.message).to.include('spec.application.clientId');
    const noSp = planTenantGrant(grant(), { source: { principal: { refused: 'AADSTS7000229', message: 'AADSTS7000229: x' }, assignments: [] } }, context);
    expect(noSp.stalled?.reason).to.equal('ServicePrincipalMissing');
    expect(noSp.stalled?.message).to.include(`az ad sp create --id ${app}`);
    expect(noSp.actions).to.deep.equal([]);
  });

  it('consent detected: an event when Consented goes from False to True, none when it was already True', () => {
    const was = (status: 'True' | 'False') => grant({}, [{ type: 'Consented', status, reason: 'x', message: 'x', lastTransitionTime: '2026-11-29T11:00:00Z' }]);
    expect(planTenantGrant(was('False'), consented(), context).events?.map((e) => e.reason)).to.deep.equal(['ConsentDetected']);
    expect(planTenantGrant(was('True'), consented(), context).events).to.deep.equal([]);
  });

  it('source role in place but not yet usable by the app: waiting (Reconciling), not Stalled, not Ready', () => {
    const plan = planTenantGrant(grant(), consented({ source: { ...consented().source, appCanRead: false } }), context);
    expect(plan.stalled).to.equal(undefined);
    expect(plan.waiting?.reason).to.equal('RoleAssignmentPropagating');
    expect(detail(plan, 'SourceAccess')).to.include({ status: 'False', reason: 'RoleAssignmentPropagating' });
  });

  it('a role that never lets the app read: Reconciling while Azure may still apply it, Stalled SourceAccessDenied after 10 minutes', () => {
    const waitingSince = (minutes: number) =>
      grant({}, [{ type: 'SourceAccess', status: 'False', reason: 'RoleAssignmentPropagating', message: 'x', lastTransitionTime: new Date(NOW - minutes * 60_000).toISOString() }]);
    const cannotRead = consented({ source: { ...consented().source, appCanRead: false } });
    expect(planTenantGrant(waitingSince(9), cannotRead, context).waiting?.reason).to.equal('RoleAssignmentPropagating');
    const denied = planTenantGrant(waitingSince(11), cannotRead, context);
    expect(denied.stalled?.reason).to.equal('SourceAccessDenied');
    expect(denied.stalled?.message).to.include('Microsoft.Compute/galleries/read');
    expect(detail(denied, 'SourceAccess')).to.include({ status: 'False', reason: 'SourceAccessDenied' });
  });

  describe('verify only (no target.azureCredentialsRef)', () => {
    const verifyGrant = () => {
      const g = grant();
      delete g.spec.target.azureCredentialsRef;
      return g;
    };
    const withPermissions = (permissions: NonNullable<GrantObservation['target']>['permissions']) => consented({ target: { principal: { principalId: targetSp }, permissions } });

    it("Contributor's wildcard passes; nothing is written in the target tenant", () => {
      const plan = planTenantGrant(verifyGrant(), withPermissions([{ actions: ['*'], notActions: ['Microsoft.Authorization/*/Delete', 'Microsoft.Authorization/*/Write'] }]), context);
      expect(plan.actions).to.deep.equal([]);
      expect(detail(plan, 'TargetAccess')).to.include({ status: 'True', reason: 'Verified' });
    });

    it('Reader, or a refused permissions read: TargetRoleMissing with the exact az command, rechecked on the consent schedule', () => {
      for (const permissions of [[{ actions: ['*/read'], notActions: [] }], 'forbidden'] as const) {
        const plan = planTenantGrant(verifyGrant(), withPermissions(permissions as never), context);
        expect(plan.stalled?.reason).to.equal('TargetRoleMissing');
        expect(plan.stalled?.message).to.include(`az role assignment create --assignee ${app} --role Contributor --scope ${rgScope}`);
        expect(plan.stalled?.recheckAfterMs).to.equal(30_000);
      }
    });
  });

  it('a certificate expiring within the warning window: Ready with reason CredentialExpiringSoon and one Warning event', () => {
    const soon = consented({ application: { certificateExpiresAt: NOW + 10 * 24 * 3600_000 } });
    const plan = planTenantGrant(grant(), soon, context);
    expect(plan.readyNote?.reason).to.equal('CredentialExpiringSoon');
    expect(plan.events?.map((e) => [e.type, e.reason])).to.deep.equal([['Warning', 'CredentialExpiringSoon']]);
    const warned = grant({}, [{ type: 'Ready', status: 'True', reason: 'CredentialExpiringSoon', message: 'x', lastTransitionTime: '2026-11-29T11:00:00Z' }]);
    expect(planTenantGrant(warned, soon, context).events).to.deep.equal([]);
    expect(planTenantGrant(grant(), consented({ application: { certificateExpiresAt: NOW + 60 * 24 * 3600_000 } }), context).readyNote).to.equal(undefined);
    // Not while the grant is Stalled (it would be repeated at every recheck): it comes with Ready.
    const stalledSoon = planTenantGrant(grant(), { ...soon, target: { principal: { refused: 'AADSTS700016', message: 'x' } } }, context);
    expect(stalledSoon.stalled?.reason).to.equal('ConsentRequired');
    expect(stalledSoon.events).to.deep.equal([]);
  });

  it('a certificate past its end: Stalled CredentialExpired before anything else, nothing written', () => {
    const plan = planTenantGrant(grant(), consented({ source: {}, application: { certificateExpiresAt: NOW - 1 } }), context);
    expect(plan.stalled?.reason).to.equal('CredentialExpired');
    expect(plan.actions).to.deep.equal([]);
    expect(plan.details.map((d) => d.status)).to.deep.equal(['Unknown', 'Unknown', 'Unknown']);
  });

  it('deletion removes what it owns on both sides, and says consent is kept', () => {
    const plan = planGrantDeletion(grant(), consented());
    expect(plan.actions.map((a) => a.type === 'deleteRoleAssignment' && a.side)).to.deep.equal(['Source', 'Target']);
    expect(plan.events?.map((e) => e.reason)).to.deep.equal(['ConsentKept']);
  });
});

describe('consent URL', () => {
  it('is the admin-consent URL on the configured authority; redirect_uri only when the spec names one', () => {
    expect(consentUrl(grant().spec, 'https://login.example.net/')).to.equal(`https://login.example.net/${targetTenant}/adminconsent?client_id=${app}`);
    const withRedirect = grant({ application: { clientId: app, credentialsRef: { name: 'a' }, redirectUri: 'https://www.microsoft.com/' } });
    expect(consentUrl(withRedirect.spec, 'https://login.microsoftonline.com')).to.equal(
      `https://login.microsoftonline.com/${targetTenant}/adminconsent?client_id=${app}&redirect_uri=https%3A%2F%2Fwww.microsoft.com%2F`,
    );
  });
});

describe('recheck schedule', () => {
  const at = (elapsedMs: number | undefined, jitter = 0) => recheckDelay(elapsedMs === undefined ? undefined : NOW - elapsedMs, { now: NOW, recheck: { initialMs: 30_000, maxMs: 300_000 }, jitter });

  it('30 s first, doubling with the time waited, capped at 5 minutes', () => {
    expect([at(undefined), at(0), at(30_000), at(90_000), at(210_000), at(450_000), at(86_400_000)]).to.deep.equal([30_000, 30_000, 60_000, 120_000, 240_000, 300_000, 300_000]);
  });

  it('jitter stays within ±10%', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), fc.double({ min: -1, max: 1, noNaN: true }), (elapsed, jitter) => {
        const base = at(elapsed);
        const delay = at(elapsed, jitter);
        return delay >= Math.floor(base * 0.9) && delay <= Math.ceil(base * 1.1);
      }),
    );
  });
});

describe('actions as Azure evaluates them', () => {
  const needed = requiredTargetActions({ publicIp: true, deletes: true });

  it('wildcards match any text, without case; notActions subtract from their own role only', () => {
    expect(missingActions(needed, [{ actions: ['*'], notActions: [] }])).to.deep.equal([]);
    expect(missingActions(['Microsoft.Compute/virtualMachines/write'], [{ actions: ['microsoft.compute/*'], notActions: [] }])).to.deep.equal([]);
    expect(missingActions(['Microsoft.Compute/virtualMachines/write'], [{ actions: ['*'], notActions: ['Microsoft.Compute/*/write'] }])).to.deep.equal(['Microsoft.Compute/virtualMachines/write']);
    // Another role that allows it wins: notActions are not deny assignments.
    expect(missingActions(['Microsoft.Compute/virtualMachines/write'], [{ actions: ['*'], notActions: ['Microsoft.Compute/*'] }, { actions: ['Microsoft.Compute/virtualMachines/*'], notActions: [] }])).to.deep.equal([]);
    expect(missingActions(['Microsoft.Network/networkInterfaces/join/action'], [{ actions: ['*/read'], notActions: [] }])).to.deep.equal(['Microsoft.Network/networkInterfaces/join/action']);
  });

  it('public IP and delete actions only when the referencing SharedImageVMs need them', () => {
    expect(requiredTargetActions({ publicIp: false, deletes: false }).some((a) => /publicIP|delete/i.test(a))).to.equal(false);
    expect(needed).to.include.members(['Microsoft.Network/publicIPAddresses/join/action', 'Microsoft.Network/publicIPAddresses/delete', 'Microsoft.Compute/virtualMachines/delete']);
  });
});

describe('TenantGrant policy', () => {
  const policy = { allowCommunitySharing: false, allowedGrantSourceRoles: new Set([READER]), allowedGrantTargetRoles: new Set([CONTRIBUTOR]), requireObjectCredentials: false };

  it('refuses roles and tenants outside the policy, and the operator\'s own identity when objects must bring theirs', () => {
    expect(checkGrantPolicy(grant().spec, policy)).to.equal(undefined);
    const owner = grant({ source: { ...grant().spec.source, role: 'Owner' } });
    expect(checkGrantPolicy(owner.spec, policy)?.message).to.include('role Owner on the gallery');
    expect(checkGrantPolicy(grant().spec, { ...policy, allowedGrantTargetTenants: new Set(['00000000-0000-0000-0000-000000000000']) })?.message).to.include(`target tenant ${targetTenant}`);
    expect(checkGrantPolicy(grant().spec, { ...policy, requireObjectCredentials: true })?.reason).to.equal('PolicyViolation');
  });
});

describe('the application Secret', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');

  it('needs no tenantId or clientId; a clientId of another app is refused; a secret or a certificate is required', () => {
    expect(parseApplicationSecret('gallery-app', { clientSecret: b64('s3cret') }, app)).to.deep.equal({ clientId: app, clientSecret: 's3cret' });
    expect(() => parseApplicationSecret('gallery-app', { clientSecret: b64('s3cret'), clientId: b64('7d2f4a61-3c1e-4b8a-9f05-6e2d1c3b4a58') }, app)).to.throw(/belongs to another application/);
    expect(() => parseApplicationSecret('gallery-app', { tenantId: b64(sourceTenant) }, app)).to.throw(/lacks clientSecret or clientCertificate/);
  });
});

describe('TenantGrant status', () => {
  const handler = new TenantGrantHandler({
    azure: { env: { armEndpoint: 'https://management.azure.com', authorityHost: 'https://login.microsoftonline.com' } } as AzureClients,
    credentials: {} as CredentialResolver,
    policy: { allowCommunitySharing: false, requireObjectCredentials: false },
    vmsReferencing: () => [],
    credentialExpiryWarningDays: 30,
    consentRecheck: { initialMs: 30_000, maxMs: 300_000 },
  });
  const stored = {
    observedGeneration: 1,
    sourcePrincipalId: sourceSp,
    targetPrincipalId: targetSp,
    credentialExpiresAt: '2027-01-01T00:00:00Z',
    roleAssignments: [
      { side: 'Source', name: 's', principalId: sourceSp, role: 'Reader', scope: galleryScope },
      { side: 'Target', name: 't', principalId: targetSp, role: 'Contributor', scope: rgScope },
    ],
  };

  it('lists the assignments it owns on both sides as read, with the role as the spec writes it', () => {
    const status = handler.status(grant(), consented(), { current: stored, gone: false });
    expect(status.roleAssignments?.map((ra) => [ra.side, ra.role, ra.principalId])).to.deep.equal([['Source', 'Reader', sourceSp], ['Target', 'Contributor', targetSp]]);
    expect(status.consentUrl).to.equal(`https://login.microsoftonline.com/${targetTenant}/adminconsent?client_id=${app}`);
  });

  it('a side not read this time (a tenant refused the app first) keeps what was last read of it, not an empty list', () => {
    const consentRevoked = handler.status(grant(), consented({ target: { principal: { refused: 'AADSTS700016', message: 'x' } } }), { current: stored, gone: false });
    expect(consentRevoked.roleAssignments?.map((ra) => ra.name)).to.include('t');
    expect(consentRevoked.targetPrincipalId, 'no principal in the target tenant any more').to.equal(undefined);
    const refusedAtHome = handler.status(grant(), { source: { principal: { refused: 'AADSTS7000229', message: 'x' } }, application: {} }, { current: stored, gone: false });
    expect(refusedAtHome.roleAssignments?.map((ra) => ra.name)).to.deep.equal(['s', 't']);
    expect(refusedAtHome.sourcePrincipalId).to.equal(undefined);
    expect(handler.status(grant(), undefined, { current: stored, gone: true }).roleAssignments, 'gallery gone').to.equal(undefined);
  });

  it("the certificate's end as the Secret says now: gone once the Secret holds a client secret instead, kept while the Secret was not read", () => {
    expect(handler.status(grant(), consented({ application: {} }), { current: stored, gone: false }).credentialExpiresAt).to.equal(undefined);
    expect(handler.status(grant(), undefined, { current: stored, gone: false }).credentialExpiresAt).to.equal('2027-01-01T00:00:00Z');
    expect(handler.status(grant(), consented({ application: { certificateExpiresAt: Date.parse('2028-02-03T04:05:06.789Z') } }), { current: stored, gone: false }).credentialExpiresAt).to.equal('2028-02-03T04:05:06Z');
  });
});
