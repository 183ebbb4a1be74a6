// Service principals made and deleted at run time (consent given and revoked) as ARM sees them:
// a deleted principal's role assignments stay (Azure lists them with the old principalId; the
// portal shows "Identity not found"), a principal made again has a new object id, and ARM's
// directory lookup can lag behind Entra (principalReplicationMs): PrincipalNotFound for a
// role-assignment PUT without principalType, while tokens are issued at once.
import { expect } from 'chai';
import type { RunningEmulator } from '../azure-emulator/index.js';
import { authorization, decodeClaims, entraRejection, ids, parseForms, raw, rejection, secretCredential, startSample, submitForm } from './helpers.js';

const contributor = 'b24988ac-6180-42a0-ab88-20f7382dd24c';
const rgPath = `/subscriptions/${ids.fabrikamSubscription}/resourceGroups/${ids.fabrikamRG}`;
// arm-authorization 9 puts the scope after the endpoint's '/'.
const scope = rgPath.slice(1);
const roleId = `/subscriptions/${ids.fabrikamSubscription}/providers/Microsoft.Authorization/roleDefinitions/${contributor}`;
const readerRoleId = `/subscriptions/${ids.fabrikamSubscription}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7`;
const name1 = '11111111-1111-4111-8111-111111111111';
const name2 = '22222222-2222-4222-8222-222222222222';
const name3 = '33333333-3333-4333-8333-333333333333';

describe('emulator: service principals made and deleted at run time', () => {
  let e: RunningEmulator;
  before(async () => {
    e = await startSample();
  });
  after(async () => e.stop());
  beforeEach(async () => e.control.reset());

  const fabrikamAdmin = () => authorization(e, secretCredential(e, ids.fabrikam, ids.fabrikamAdmin), ids.fabrikamSubscription);
  const appToken = () => secretCredential(e, ids.fabrikam, ids.galleryApp).getToken(e.armScope);
  const assignmentsAtGroup = async () => {
    const all: { name?: string; principalId?: string }[] = [];
    for await (const ra of fabrikamAdmin().roleAssignments.listForScope(scope, { filter: 'atScope()' })) all.push(ra);
    return all;
  };

  it("keeps a deleted service principal's role assignments (old principalId), which authorize nobody; consent again makes a new object id", async () => {
    const first = await e.control.grantConsent(ids.galleryApp, ids.fabrikam);
    await fabrikamAdmin().roleAssignments.create(scope, name1, { roleDefinitionId: roleId, principalId: first, principalType: 'ServicePrincipal' });
    const asApp = await raw(e, 'GET', `${rgPath}?api-version=2022-04-01`, { token: (await appToken()).token });
    expect(asApp.status, 'Contributor lets the app read the resource group').to.equal(200);

    await e.control.revokeConsent(ids.galleryApp, ids.fabrikam);
    expect((await entraRejection(appToken())).aadsts).to.equal('700016');
    const kept = (await assignmentsAtGroup()).find((ra) => ra.name === name1);
    expect(kept?.principalId, 'still listed, with the deleted principal').to.equal(first);
    expect((await raw(e, 'GET', `${rgPath}/providers/Microsoft.Authorization/roleAssignments/${name1}?api-version=2022-04-01`, { token: (await e.control.adminToken(ids.fabrikam)) })).status).to.equal(200);

    const second = await e.control.grantConsent(ids.galleryApp, ids.fabrikam);
    expect(second, 'Entra makes a new service principal').to.not.equal(first);
    const token = await appToken();
    expect(decodeClaims(token.token)['oid']).to.equal(second);
    const refused = await raw(e, 'GET', `${rgPath}?api-version=2022-04-01`, { token: token.token });
    expect(refused.status, "the old principal's assignment is not the new one's").to.equal(403);
    // Granting again without revoking keeps the principal.
    expect(await e.control.grantConsent(ids.galleryApp, ids.fabrikam)).to.equal(second);
  });

  it('a deleted home service principal keeps its assignments too (updateApplication homeServicePrincipal false)', async () => {
    const home = decodeClaims((await secretCredential(e, ids.contoso, ids.galleryApp).getToken(e.armScope)).token)['oid'] as string;
    const galleryOwner = authorization(e, secretCredential(e, ids.contoso, ids.galleryOwner), ids.gallerySubscription);
    const galleryScope = `subscriptions/${ids.gallerySubscription}/resourceGroups/${ids.galleryRG}`;
    await galleryOwner.roleAssignments.create(galleryScope, name1, { roleDefinitionId: `/subscriptions/${ids.gallerySubscription}/providers/Microsoft.Authorization/roleDefinitions/${contributor}`, principalId: home });
    await e.control.updateApplication({ appId: ids.galleryApp, homeServicePrincipal: false });
    expect((await galleryOwner.roleAssignments.get(galleryScope, name1)).principalId).to.equal(home);
  });

  it('with principalReplicationMs: a new principal is PrincipalNotFound to ARM without principalType, accepted with it, and has tokens at once', async () => {
    await e.control.setOptions({ principalReplicationMs: 60_000 });
    const pid = await e.control.grantConsent(ids.galleryApp, ids.fabrikam);
    expect(decodeClaims((await appToken()).token)['oid'], 'Entra issues tokens at once').to.equal(pid);

    const failure = await rejection(fabrikamAdmin().roleAssignments.create(scope, name1, { roleDefinitionId: roleId, principalId: pid }));
    expect(failure.statusCode).to.equal(400);
    expect(failure.code).to.equal('PrincipalNotFound');
    expect(failure.message).to.contain(pid.replace(/-/g, '')).and.contain('replication delay');

    const created = await fabrikamAdmin().roleAssignments.create(scope, name2, { roleDefinitionId: roleId, principalId: pid, principalType: 'ServicePrincipal' });
    expect(created.principalType).to.equal('ServicePrincipal');
    const statuses = (await e.control.requests()).filter((r) => r.operation === 'RoleAssignments_Create').map((r) => r.status);
    expect(statuses).to.deep.equal([400, 201]);

    // Seeded principals are known at once; the new one once the delay has passed (emulator time).
    await fabrikamAdmin().roleAssignments.create(scope, name3, { roleDefinitionId: readerRoleId, principalId: e.emulator.world.servicePrincipal(ids.fabrikamDeployer, ids.fabrikam)!.objectId });
    await e.control.advanceClock(60_000);
    await fabrikamAdmin().roleAssignments.delete(scope, name2);
    const later = await fabrikamAdmin().roleAssignments.create(scope, name1, { roleDefinitionId: roleId, principalId: pid });
    expect(later.principalType).to.equal('ServicePrincipal');
  });

  it('with principalReplicationMs: a principal made by the consent page lags too; one consented before the option does not', async () => {
    const before = await e.control.grantConsent(ids.galleryApp, ids.fabrikam);
    await e.control.setOptions({ principalReplicationMs: 60_000 });
    await fabrikamAdmin().roleAssignments.create(scope, name1, { roleDefinitionId: roleId, principalId: before });
    await e.control.reset();

    await e.control.setOptions({ principalReplicationMs: 60_000 });
    const page = await raw(e, 'GET', `/${ids.fabrikam}/adminconsent?client_id=${ids.galleryApp}`);
    const accept = parseForms(page.text).find((f) => f.id === 'accept')!;
    expect((await submitForm(e, accept)).status).to.equal(302);
    const pid = decodeClaims((await appToken()).token)['oid'] as string;
    const failure = await rejection(fabrikamAdmin().roleAssignments.create(scope, name1, { roleDefinitionId: roleId, principalId: pid }));
    expect(failure.code).to.equal('PrincipalNotFound');
  });

  it('keeps deleted principals across dumpState/loadState (no object id given twice)', async () => {
    const first = await e.control.grantConsent(ids.galleryApp, ids.fabrikam);
    await e.control.revokeConsent(ids.galleryApp, ids.fabrikam);
    const state = await e.control.dumpState();
    expect(state.deletedPrincipals).to.include(first.toLowerCase());
    await e.control.reset();
    await e.control.loadState(state);
    expect(await e.control.grantConsent(ids.galleryApp, ids.fabrikam)).to.not.equal(first);
  });
});
