// Reading one's permissions needs a role assignment at or above the scope (403 AuthorizationFailed
// otherwise), and RBAC propagation: an assignment made through ARM shows at once but authorizes
// only after roleAssignmentPropagationMs (emulator time); seeded and control-made ones at once.
import { expect } from 'chai';
import type { RunningEmulator } from '../azure-emulator/index.js';
import { authorization, compute, galleryPath, ids, raw, rejection, sampleSeed, secretCredential, startSample } from './helpers.js';

const reader = 'acdd72a7-3385-48ef-bd42-f606fba81ae7';
const roleId = (guid: string) => `/subscriptions/${ids.gallerySubscription}/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
const name1 = '33333333-3333-4333-8333-333333333333';
const permissionsPath = (scope: string) => `${scope}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01`;

describe('emulator: permissions read and RBAC propagation', () => {
  let e: RunningEmulator;
  const appOid = 'a1b2c3d4-0000-4000-8000-00000000b001';
  before(async () => {
    // gallery-app with a known object id in Contoso, and a member of image-consumers (which holds nothing yet).
    const seed = sampleSeed();
    seed.applications!.find((a) => a.appId === ids.galleryApp)!.servicePrincipals = [{ tenant: ids.contoso, objectId: appOid }];
    seed.tenants[0]!.groups![0]!.members?.push(appOid);
    e = await startSample({ seed });
  });
  after(async () => e.stop());
  beforeEach(async () => e.control.reset());

  const owner = () => authorization(e, secretCredential(e, ids.contoso, ids.galleryOwner), ids.gallerySubscription);
  const appToken = () => e.control.issueToken({ appId: ids.galleryApp, tenantId: ids.contoso });

  it("refuses the permissions read (403 AuthorizationFailed, ARM's message) to a caller without any role assignment at or above the scope", async () => {
    const res = await raw(e, 'GET', permissionsPath(galleryPath), { token: await appToken() });
    expect(res.status).to.equal(403);
    expect(res.body.error?.code).to.equal('AuthorizationFailed');
    expect(res.body.error?.message).to.equal(
      `The client '${appOid}' with object id '${appOid}' does not have authorization to perform action 'Microsoft.Authorization/permissions/read' over scope '${galleryPath}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
    );
    const sdk = authorization(e, secretCredential(e, ids.contoso, ids.galleryApp), ids.gallerySubscription);
    const failure = await rejection((async () => {
      for await (const p of sdk.permissions.listForResourceGroup(ids.galleryRG)) void p;
    })());
    expect(failure.statusCode).to.equal(403);
    expect(failure.code).to.equal('AuthorizationFailed');
  });

  it('answers the permissions read to a caller with an assignment above the scope, directly or through a group', async () => {
    await e.control.assignRole(`/subscriptions/${ids.gallerySubscription}/resourceGroups/${ids.galleryRG}`, ids.imageConsumersGroup, 'Reader');
    const res = await raw(e, 'GET', permissionsPath(galleryPath), { token: await appToken() });
    expect(res.status).to.equal(200);
    expect(res.body.value?.[0]?.actions).to.deep.equal(['*/read']);
    // Below an assignment counts; beside it does not.
    const elsewhere = await raw(e, 'GET', permissionsPath(`/subscriptions/${ids.gallerySubscription}`), { token: await appToken() });
    expect(elsewhere.status).to.equal(403);
  });

  it('lets an assignment made through ARM authorize only after roleAssignmentPropagationMs, while it is listed and readable at once', async () => {
    await e.control.setOptions({ roleAssignmentPropagationMs: 60_000 });
    const scope = galleryPath.slice(1);
    const created = await owner().roleAssignments.create(scope, name1, { roleDefinitionId: roleId(reader), principalId: appOid });
    expect((await owner().roleAssignments.get(scope, name1)).id).to.equal(created.id);
    const listed: string[] = [];
    for await (const ra of owner().roleAssignments.listForScope(scope, { filter: 'atScope()' })) listed.push(ra.name!);
    expect(listed).to.include(name1);

    const app = compute(e, secretCredential(e, ids.contoso, ids.galleryApp), ids.gallerySubscription);
    expect((await rejection(app.galleries.get(ids.galleryRG, ids.gallery))).code).to.equal('AuthorizationFailed');
    expect((await raw(e, 'GET', permissionsPath(galleryPath), { token: await appToken() })).status).to.equal(403);
    await e.control.advanceClock(59_000);
    expect((await rejection(app.galleries.get(ids.galleryRG, ids.gallery))).statusCode).to.equal(403);
    await e.control.advanceClock(1_000);
    // A token issued before the jump expires on the emulator's clock only after an hour, so MSAL's cached one still works.
    expect((await app.galleries.get(ids.galleryRG, ids.gallery)).name).to.equal(ids.gallery);
    expect((await raw(e, 'GET', permissionsPath(galleryPath), { token: await appToken() })).status).to.equal(200);
  });

  it('counts seeded and control-made assignments at once, whatever the propagation delay', async () => {
    await e.control.setOptions({ roleAssignmentPropagationMs: 60_000 });
    // Seeded: the gallery owner's Owner on the subscription.
    expect((await compute(e, secretCredential(e, ids.contoso, ids.galleryOwner), ids.gallerySubscription).galleries.get(ids.galleryRG, ids.gallery)).name).to.equal(ids.gallery);
    await e.control.assignRole(galleryPath, appOid, 'Reader');
    const app = compute(e, secretCredential(e, ids.contoso, ids.galleryApp), ids.gallerySubscription);
    expect((await app.galleries.get(ids.galleryRG, ids.gallery)).name).to.equal(ids.gallery);
  });

  it('with the default (0) an assignment made through ARM counts at once', async () => {
    await owner().roleAssignments.create(galleryPath.slice(1), name1, { roleDefinitionId: roleId(reader), principalId: appOid });
    const app = compute(e, secretCredential(e, ids.contoso, ids.galleryApp), ids.gallerySubscription);
    expect((await app.galleries.get(ids.galleryRG, ids.gallery)).name).to.equal(ids.gallery);
  });
});
