// Role assignments, role definitions and permissions through @azure/arm-authorization: create,
// idempotence, RoleAssignmentExists, PrincipalNotFound, filters, delete, and RBAC taking effect.
import { expect } from 'chai';
import type { RunningEmulator } from '../azure-emulator/index.js';
import { authorization, compute, galleryPath, ids, raw, rejection, sampleSeed, secretCredential, startSample } from './helpers.js';

const reader = 'acdd72a7-3385-48ef-bd42-f606fba81ae7';
const imageReader = 'cf7c76d2-98a3-4358-a134-615aa78bf44d';
const roleId = (guid: string) => `/subscriptions/${ids.gallerySubscription}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
const name1 = '11111111-1111-4111-8111-111111111111';
const name2 = '22222222-2222-4222-8222-222222222222';

describe('emulator: role assignments', () => {
  let e: RunningEmulator;
  before(async () => {
    e = await startSample();
  });
  after(async () => e.stop());
  beforeEach(async () => e.control.reset());

  const owner = () => authorization(e, secretCredential(e, ids.contoso, ids.galleryOwner), ids.gallerySubscription);
  // arm-authorization 9 puts the scope after the endpoint's '/', so scopes are given without the leading '/'.
  const scope = galleryPath.slice(1);

  it('creates an assignment (201), accepts the same PUT again (200), and gets it', async () => {
    const created = await owner().roleAssignments.create(scope, name1, { roleDefinitionId: roleId(reader), principalId: ids.imageConsumersGroup, principalType: 'Group' });
    expect(created.name).to.equal(name1);
    expect(created.principalType).to.equal('Group');
    expect(created.scope).to.equal(galleryPath);
    expect(created.roleDefinitionId).to.equal(roleId(reader));
    const again = await owner().roleAssignments.create(scope, name1, { roleDefinitionId: roleId(reader), principalId: ids.imageConsumersGroup });
    expect(again.id).to.equal(created.id);
    const got = await owner().roleAssignments.get(scope, name1);
    expect(got.principalId).to.equal(ids.imageConsumersGroup);
    const statuses = (await e.control.requests()).filter((r) => r.operation === 'RoleAssignments_Create').map((r) => r.status);
    expect(statuses).to.deep.equal([201, 200]);
  });

  it('answers 409 RoleAssignmentExists for the same principal, role and scope under another name', async () => {
    await owner().roleAssignments.create(scope, name1, { roleDefinitionId: roleId(reader), principalId: ids.imageConsumersGroup });
    const failure = await rejection(owner().roleAssignments.create(scope, name2, { roleDefinitionId: roleId(reader), principalId: ids.imageConsumersGroup }));
    expect(failure.statusCode).to.equal(409);
    expect(failure.code).to.equal('RoleAssignmentExists');
  });

  it('answers 400 PrincipalNotFound for an unknown principal, unless principalType is given', async () => {
    const unknown = '99999999-9999-4999-8999-999999999999';
    const failure = await rejection(owner().roleAssignments.create(scope, name1, { roleDefinitionId: roleId(reader), principalId: unknown }));
    expect(failure.statusCode).to.equal(400);
    expect(failure.code).to.equal('PrincipalNotFound');
    const created = await owner().roleAssignments.create(scope, name1, { roleDefinitionId: roleId(reader), principalId: unknown, principalType: 'ServicePrincipal' });
    expect(created.principalType).to.equal('ServicePrincipal');
  });

  it('refuses a name that is not a GUID', async () => {
    const failure = await rejection(owner().roleAssignments.create(scope, 'not-a-guid', { roleDefinitionId: roleId(reader), principalId: ids.tester }));
    expect(failure.code).to.equal('InvalidRoleAssignmentId');
  });

  it('accepts a tenant-level roleDefinitionId and compares roles by GUID', async () => {
    const created = await owner().roleAssignments.create(scope, name1, { roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${imageReader}`, principalId: ids.tester });
    expect(created.roleDefinitionId?.endsWith(imageReader)).to.equal(true);
  });

  it("lists with atScope() and principalId eq filters (percent-encoded by the SDK)", async () => {
    await owner().roleAssignments.create(scope, name1, { roleDefinitionId: roleId(reader), principalId: ids.imageConsumersGroup });
    await owner().roleAssignments.create(`${scope}/images/ubuntu-2404/versions/1.0.0`, name2, { roleDefinitionId: roleId(imageReader), principalId: ids.tester });
    const atScope: string[] = [];
    for await (const ra of owner().roleAssignments.listForScope(scope, { filter: 'atScope()' })) atScope.push(ra.name!);
    expect(atScope).to.include(name1);
    expect(atScope).to.not.include(name2); // below the scope
    const all: string[] = [];
    for await (const ra of owner().roleAssignments.listForScope(scope)) all.push(ra.name!);
    expect(all).to.include.members([name1, name2]);
    const byPrincipal: string[] = [];
    for await (const ra of owner().roleAssignments.listForScope(scope, { filter: `principalId eq '${ids.tester}'` })) byPrincipal.push(ra.name!);
    expect(byPrincipal).to.deep.equal([name2]);
  });

  it("combines atScope() and principalId eq, as the operator asks (SDK and raw percent-encoded query)", async () => {
    await owner().roleAssignments.create(`subscriptions/${ids.gallerySubscription}`, name1, { roleDefinitionId: roleId(reader), principalId: ids.tester });
    await owner().roleAssignments.create(scope, name2, { roleDefinitionId: roleId(imageReader), principalId: ids.imageConsumersGroup });
    const third = '33333333-3333-4333-8333-333333333333';
    await owner().roleAssignments.create(`${scope}/images/ubuntu-2404`, third, { roleDefinitionId: roleId(imageReader), principalId: ids.tester });
    const names: string[] = [];
    for await (const ra of owner().roleAssignments.listForScope(scope, { filter: `atScope() and principalId eq '${ids.tester}'` })) names.push(ra.name!);
    expect(names).to.deep.equal([name1]); // above the scope yes, below it no, other principals no
    const token = await e.control.issueToken({ appId: ids.galleryOwner, tenantId: ids.contoso });
    const res = await raw(e, 'GET', `${galleryPath}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&%24filter=atScope()%20and%20principalId%20eq%20%27${ids.tester}%27`, { token });
    expect(res.status).to.equal(200);
    expect((res.body.value as unknown as { name: string }[]).map((ra) => ra.name)).to.deep.equal([name1]);
    const unsupported = await raw(e, 'GET', `${galleryPath}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&%24filter=roleName%20eq%20%27x%27`, { token });
    expect(unsupported.status).to.equal(400);
  });

  it('pages a long list with nextLink, which the SDK follows', async () => {
    await e.control.setOptions({ pageSize: 2 });
    const names = [name1, name2, '33333333-3333-4333-8333-333333333333'];
    const principals = [ids.tester, ids.imageConsumersGroup, e.emulator.world.servicePrincipal(ids.galleryApp, ids.contoso)!.objectId];
    for (const [i, name] of names.entries()) await owner().roleAssignments.create(scope, name, { roleDefinitionId: roleId(reader), principalId: principals[i]! });
    const listed: string[] = [];
    for await (const ra of owner().roleAssignments.listForScope(scope, { filter: 'atScope()' })) listed.push(ra.name!);
    expect(listed).to.include.members(names);
    expect((await e.control.requests()).filter((r) => r.operation === 'RoleAssignments_ListForScope').length).to.be.greaterThan(1);
  });

  it('collapses the // that a leading / in the scope produces', async () => {
    const created = await owner().roleAssignments.create(galleryPath, name1, { roleDefinitionId: roleId(reader), principalId: ids.imageConsumersGroup });
    expect(created.scope).to.equal(galleryPath);
  });

  it('deletes (200 with the body, then 204)', async () => {
    await owner().roleAssignments.create(scope, name1, { roleDefinitionId: roleId(reader), principalId: ids.imageConsumersGroup });
    const deleted = await owner().roleAssignments.delete(scope, name1);
    expect(deleted.name).to.equal(name1);
    await owner().roleAssignments.delete(scope, name1);
    const statuses = (await e.control.requests()).filter((r) => r.operation === 'RoleAssignments_Delete').map((r) => r.status);
    expect(statuses).to.deep.equal([200, 204]);
    expect((await rejection(owner().roleAssignments.get(scope, name1))).code).to.equal('RoleAssignmentNotFound');
  });

  it('refuses role assignment writes to a Contributor (403)', async () => {
    const deployer = authorization(e, secretCredential(e, ids.fabrikam, ids.fabrikamDeployer), ids.fabrikamSubscription);
    const failure = await rejection(
      deployer.roleAssignments.create(`subscriptions/${ids.fabrikamSubscription}/resourceGroups/${ids.fabrikamRG}`, name1, {
        roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${reader}`,
        principalId: e.emulator.world.servicePrincipal(ids.fabrikamAdmin, ids.fabrikam)!.objectId,
      }),
    );
    expect(failure.statusCode).to.equal(403);
    expect(failure.code).to.equal('AuthorizationFailed');
  });

  it('gives access as soon as an assignment is made (Reader on the gallery lets the app read it)', async () => {
    const app = compute(e, secretCredential(e, ids.contoso, ids.galleryApp), ids.gallerySubscription);
    expect((await rejection(app.galleries.get(ids.galleryRG, ids.gallery))).statusCode).to.equal(403);
    const appOid = e.emulator.world.servicePrincipal(ids.galleryApp, ids.contoso)!.objectId;
    await owner().roleAssignments.create(scope, name1, { roleDefinitionId: roleId(reader), principalId: appOid });
    expect((await app.galleries.get(ids.galleryRG, ids.gallery)).name).to.equal(ids.gallery);
    expect((await rejection(app.galleries.update(ids.galleryRG, ids.gallery, { description: 'no' }))).statusCode).to.equal(403);
  });

  it('gets and lists role definitions by roleName', async () => {
    const defs: string[] = [];
    for await (const d of owner().roleDefinitions.list(`subscriptions/${ids.gallerySubscription}`, { filter: "roleName eq 'Compute Gallery Sharing Admin'" })) defs.push(d.name!);
    expect(defs).to.deep.equal(['1ef6a3be-d0ac-425d-8c01-acb62866290b']);
    const readerDef = await owner().roleDefinitions.get(`subscriptions/${ids.gallerySubscription}`, reader);
    expect(readerDef.roleName).to.equal('Reader');
    expect(readerDef.permissions?.[0]?.actions).to.deep.equal(['*/read']);
  });

  it("lists the caller's permissions at a scope", async () => {
    const perms = [];
    for await (const p of owner().permissions.listForResourceGroup(ids.galleryRG)) perms.push(p);
    expect(perms.map((p) => p.actions)).to.deep.include(['*']);
    const token = await e.control.issueToken({ appId: ids.galleryOwner, tenantId: ids.contoso });
    const res = await raw(e, 'GET', `${galleryPath}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01`, { token });
    expect(res.status).to.equal(200);
    expect(res.body.value?.[0]?.actions).to.deep.equal(['*']);
  });

  it('authorizes through group membership (a seeded group with the app in it holds Reader on the gallery)', async () => {
    const appOid = 'a1b2c3d4-0000-4000-8000-00000000a001';
    const seed = sampleSeed();
    seed.applications!.find((a) => a.appId === ids.galleryApp)!.servicePrincipals = [{ tenant: ids.contoso, objectId: appOid }];
    seed.tenants[0]!.groups![0]!.members?.push(appOid);
    seed.roleAssignments!.push({ scope: galleryPath, principal: ids.imageConsumersGroup, role: 'Reader' });
    const grouped = await startSample({ seed });
    try {
      const app = compute(grouped, secretCredential(grouped, ids.contoso, ids.galleryApp), ids.gallerySubscription);
      expect((await app.galleries.get(ids.galleryRG, ids.gallery)).name).to.equal(ids.gallery);
      expect((await rejection(app.galleries.get(ids.galleryRG, 'contosoPublic'))).statusCode).to.equal(403);
      const ownerClient = authorization(grouped, secretCredential(grouped, ids.contoso, ids.galleryOwner), ids.gallerySubscription);
      const assigned: string[] = [];
      for await (const ra of ownerClient.roleAssignments.listForScope(scope, { filter: `assignedTo('${appOid}')` })) assigned.push(ra.principalId!);
      expect(assigned).to.deep.equal([ids.imageConsumersGroup]);
    } finally {
      await grouped.stop();
    }
  });
});
