// Subscriptions and resource groups over raw HTTPS (the compute SDK has no client for them).
import { expect } from 'chai';
import type { RunningEmulator } from '../azure-emulator/index.js';
import { ids, raw, startSample } from './helpers.js';

describe('emulator: subscriptions and resource groups', () => {
  let e: RunningEmulator;
  let owner: string;
  const rg = `/subscriptions/${ids.fabrikamSubscription}/resourceGroups/newRG`;
  before(async () => {
    e = await startSample();
    owner = await e.control.issueToken({ appId: ids.fabrikamAdmin, tenantId: ids.fabrikam });
  });
  after(async () => e.stop());

  it('lists and gets the subscriptions the caller reaches', async () => {
    const list = await raw(e, 'GET', '/subscriptions?api-version=2022-12-01', { token: owner });
    expect(list.body.value).to.have.length(1);
    expect(list.body.value?.[0]?.subscriptionId).to.equal(ids.fabrikamSubscription);
    const one = await raw(e, 'GET', `/subscriptions/${ids.fabrikamSubscription}?api-version=2022-12-01`, { token: owner });
    expect(one.body.tenantId).to.equal(ids.fabrikam);
  });

  it('creates (201), updates (200), gets and deletes a resource group, and everything in it', async () => {
    const created = await raw(e, 'PUT', `${rg}?api-version=2021-04-01`, { token: owner, body: { location: 'westus' } });
    expect(created.status).to.equal(201);
    expect(created.body.properties?.provisioningState).to.equal('Succeeded');
    const updated = await raw(e, 'PUT', `${rg}?api-version=2021-04-01`, { token: owner, body: { location: 'westus', tags: { a: 'b' } } });
    expect(updated.status).to.equal(200);
    expect(updated.body.tags).to.deep.equal({ a: 'b' });
    expect((await raw(e, 'HEAD', `${rg}?api-version=2021-04-01`, { token: owner })).status).to.equal(204);
    await raw(e, 'PUT', `${rg}/providers/Microsoft.Compute/galleries/inside?api-version=2025-12-03`, { token: owner, body: { location: 'westus' } });
    expect((await raw(e, 'DELETE', `${rg}?api-version=2021-04-01`, { token: owner })).status).to.equal(200);
    expect((await raw(e, 'HEAD', `${rg}?api-version=2021-04-01`, { token: owner })).status).to.equal(404);
    const gone = await raw(e, 'GET', `${rg}?api-version=2021-04-01`, { token: owner });
    expect(gone.status).to.equal(404);
    expect(gone.body.error?.code).to.equal('ResourceGroupNotFound');
    expect((await raw(e, 'GET', `${rg}/providers/Microsoft.Compute/galleries/inside?api-version=2025-12-03`, { token: owner })).status).to.equal(404);
  });

  it('deletes through a 202 with Location when operations take time', async () => {
    await e.control.setOptions({ lroDurationMs: 60_000 });
    await raw(e, 'PUT', `${rg}?api-version=2021-04-01`, { token: owner, body: { location: 'westus' } });
    const accepted = await raw(e, 'DELETE', `${rg}?api-version=2021-04-01`, { token: owner });
    expect(accepted.status).to.equal(202);
    const monitor = new URL(accepted.headers['location'] as string);
    expect((await raw(e, 'GET', monitor.pathname + monitor.search, { token: owner })).status).to.equal(202);
    await e.control.advanceClock(60_000);
    expect((await raw(e, 'GET', monitor.pathname + monitor.search, { token: owner })).status).to.equal(204);
    expect((await raw(e, 'GET', `${rg}?api-version=2021-04-01`, { token: owner })).status).to.equal(404);
  });
});
