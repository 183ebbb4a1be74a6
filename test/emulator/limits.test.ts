// Azure's limits, enforced: 100 galleries per subscription and region, 4,000 role assignments per
// subscription (every scope in it counted). Lowered through the `limits` option so the tests stay small.
import { expect } from 'chai';
import type { RunningEmulator } from '../azure-emulator/index.js';
import { ids, raw, startSample } from './helpers.js';

const reader = 'acdd72a7-3385-48ef-bd42-f606fba81ae7';
const guid = (n: number) => `${String(n).padStart(8, '0')}-0000-4000-8000-000000000000`;

describe('emulator: Azure limits', () => {
  let e: RunningEmulator;
  let admin: string;
  before(async () => {
    e = await startSample();
  });
  after(async () => e.stop());
  beforeEach(async () => {
    await e.control.reset();
    admin = await e.control.adminToken(ids.contoso);
  });

  const subscriptionPath = `/subscriptions/${ids.gallerySubscription}`;
  const rgPath = `${subscriptionPath}/resourceGroups/${ids.galleryRG}`;
  const galleryUrl = (name: string) => `${subscriptionPath}/resourceGroups/${ids.galleryRG}/providers/Microsoft.Compute/galleries/${name}?api-version=2025-03-03`;
  const putGallery = (name: string, location = 'westus') => raw(e, 'PUT', galleryUrl(name), { token: admin, body: { location } });
  const assignmentUrl = (scope: string, name: string) => `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}?api-version=2022-04-01`;
  const assign = (scope: string, name: string, principalId: string = ids.imageConsumersGroup) =>
    raw(e, 'PUT', assignmentUrl(scope, name), { token: admin, body: { properties: { roleDefinitionId: `${subscriptionPath}/providers/Microsoft.Authorization/roleDefinitions/${reader}`, principalId, principalType: 'Group' } } });

  async function galleriesIn(location: string): Promise<number> {
    const list = await raw(e, 'GET', `${subscriptionPath}/providers/Microsoft.Compute/galleries?api-version=2025-03-03`, { token: admin });
    return (list.body.value as { location: string }[]).filter((g) => g.location === location).length;
  }

  it("defaults to Azure's limits: 100 galleries per subscription and region, 4,000 role assignments per subscription", async () => {
    expect((await e.control.options()).limits).to.deep.equal({ galleriesPerSubscriptionRegion: 100, roleAssignmentsPerSubscription: 4000 });
  });

  it('creates galleries up to the limit per subscription and region, refuses one more (409 OperationNotAllowed), and has room again after a delete', async () => {
    const existing = await galleriesIn('westus');
    expect(existing).to.be.greaterThan(0);
    await e.control.setOptions({ limits: { galleriesPerSubscriptionRegion: existing + 1 } });
    expect((await putGallery('atLimit')).status).to.equal(201);
    const over = await putGallery('overLimit');
    expect(over.status).to.equal(409);
    expect(over.body.error?.code).to.equal('OperationNotAllowed');
    expect(over.body.error?.message).to.equal(
      `Operation could not be completed as it results in exceeding approved Galleries quota. Additional details - Location: westus, Current Limit: ${existing + 1}, Current Usage: ${existing + 1}, Additional Required: 1, (Minimum) New Limit Required: ${existing + 2}.`,
    );
    expect((await raw(e, 'GET', galleryUrl('overLimit'), { token: admin })).status).to.equal(404);
    // An update of a gallery that exists is no new gallery.
    expect((await putGallery('atLimit')).status).to.equal(200);
    // Other regions count apart.
    expect((await putGallery('elsewhere', 'eastus')).status).to.equal(201);
    expect((await raw(e, 'DELETE', galleryUrl('atLimit'), { token: admin })).status).to.equal(200);
    expect((await putGallery('overLimit')).status).to.equal(201);
  });

  it('counts role assignments at every scope of the subscription, refuses one more (400 RoleAssignmentLimitExceeded), and has room again after a delete', async () => {
    const all = await raw(e, 'GET', `${subscriptionPath}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01`, { token: admin });
    // The subscription-wide list (no filter) includes assignments below the subscription.
    const existing = (all.body.value as { properties: { scope: string } }[]).filter((ra) => ra.properties.scope.toLowerCase().startsWith(subscriptionPath.toLowerCase())).length;
    await e.control.setOptions({ limits: { roleAssignmentsPerSubscription: existing + 3 } });
    const galleryScope = `${rgPath}/providers/Microsoft.Compute/galleries/${ids.gallery}`;
    expect((await assign(subscriptionPath, guid(1))).status).to.equal(201);
    expect((await assign(rgPath, guid(2))).status).to.equal(201);
    expect((await assign(galleryScope, guid(3))).status).to.equal(201);
    const over = await assign(galleryScope, guid(4), ids.tester);
    expect(over.status).to.equal(400);
    expect(over.body.error).to.deep.equal({ code: 'RoleAssignmentLimitExceeded', message: 'No more role assignments can be created.' });
    expect((await raw(e, 'GET', assignmentUrl(galleryScope, guid(4)), { token: admin })).status).to.equal(404);
    // The same assignment again creates nothing: still 200 at the limit.
    expect((await assign(galleryScope, guid(3))).status).to.equal(200);
    // The portal is held to the limit too.
    let portalError = '';
    await e.control.assignRole(rgPath, ids.tester, 'Reader').catch((err: Error) => (portalError = err.message));
    expect(portalError).to.contain('RoleAssignmentLimitExceeded');
    // Another subscription counts apart.
    const fabrikamAdmin = await e.control.adminToken(ids.fabrikam);
    const fabrikamSub = `/subscriptions/${ids.fabrikamSubscription}`;
    const elsewhere = await raw(e, 'PUT', assignmentUrl(fabrikamSub, guid(5)), { token: fabrikamAdmin, body: { properties: { roleDefinitionId: `${fabrikamSub}/providers/Microsoft.Authorization/roleDefinitions/${reader}`, principalId: ids.fabrikamDeployer, principalType: 'ServicePrincipal' } } });
    expect(elsewhere.status).to.equal(201);
    expect((await raw(e, 'DELETE', assignmentUrl(rgPath, guid(2)), { token: admin })).status).to.equal(200);
    expect((await assign(galleryScope, guid(4), ids.tester)).status).to.equal(201);
  });
});
