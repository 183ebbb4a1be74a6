// The control handle, in process and over HTTPS: faults (status, latency, dropped connection, count,
// probability), the request log and counters, reset, dump and load, options, consent.
import { expect } from 'chai';
import { remoteControl, type EmulatorControl, type RunningEmulator } from '../azure-emulator/index.js';
import { galleryPath, ids, ownerCompute, raw, rejection, secretCredential, startSample } from './helpers.js';

describe('emulator: control', () => {
  let e: RunningEmulator;
  let token: string;
  before(async () => {
    e = await startSample();
  });
  after(async () => e.stop());
  beforeEach(async () => {
    await e.control.reset();
    token = await e.control.issueToken({ appId: ids.galleryOwner, tenantId: ids.contoso });
  });

  const getGallery = () => raw(e, 'GET', `${galleryPath}?api-version=2025-12-03`, { token });

  for (const [label, control] of [
    ['in process', () => e.control],
    ['over HTTPS', () => remoteControl(e.armEndpoint, e.caPem)],
  ] as [string, () => EmulatorControl][]) {
    describe(label, () => {
      it('injects a status for a method and path, a given number of times', async () => {
        await control().addFault({ method: 'GET', path: '/galleries/myGallery$', status: 409, code: 'Conflict', message: 'injected', count: 1 });
        const first = await getGallery();
        expect(first.status).to.equal(409);
        expect(first.body.error?.code).to.equal('Conflict');
        expect((await getGallery()).status).to.equal(200);
        const [fault] = await control().faults();
        expect(fault?.hits).to.equal(1);
      });

      it('adds latency', async () => {
        await control().addFault({ path: 'galleries', latencyMs: 150 });
        const started = Date.now();
        expect((await getGallery()).status).to.equal(200);
        expect(Date.now() - started).to.be.greaterThanOrEqual(140);
        await control().clearFaults();
      });

      it('drops the connection', async () => {
        await control().addFault({ path: 'galleries', drop: true, count: 1 });
        const failure = await rejection(getGallery());
        expect(failure.message).to.match(/socket hang up|ECONNRESET/);
      });

      it('never fires with probability 0', async () => {
        await control().addFault({ path: '.*', status: 500, probability: 0 });
        expect((await getGallery()).status).to.equal(200);
      });

      it('fires only for its method, and for a share of the requests with a probability', async () => {
        await control().addFault({ method: 'PUT', path: 'galleries', status: 503 });
        expect((await getGallery()).status).to.equal(200);
        await control().clearFaults();
        await control().addFault({ method: 'GET', path: 'galleries/mygallery$', status: 500, probability: 0.5 });
        const statuses: number[] = [];
        for (let i = 0; i < 40; i++) statuses.push((await getGallery()).status);
        const failed = statuses.filter((s) => s === 500).length;
        expect(failed).to.be.within(4, 36);
        expect(statuses.filter((s) => s === 200).length).to.equal(40 - failed);
        const [fault] = await control().faults();
        expect(fault?.hits).to.equal(failed);
        const logged = (await control().requests()).filter((r) => r.faultId === fault?.id);
        expect(logged).to.have.length(failed);
      });

      it('injects faults on Entra paths too, which @azure/identity reports', async () => {
        await control().addFault({ method: 'POST', path: '/oauth2/v2.0/token$', status: 400, body: { error: 'invalid_client', error_description: 'AADSTS7000222: The provided client secret keys are expired.', error_codes: [7000222] }, count: 1 });
        const failure = await rejection(secretCredential(e, ids.contoso, ids.galleryOwner).getToken(e.armScope));
        expect(failure.message).to.contain('AADSTS7000222');
      });

      it('logs requests without secrets, with principal, tenant, operation and auxiliary flag, and counts operations', async () => {
        await raw(e, 'GET', `${galleryPath}?api-version=2025-12-03`, { token, headers: { 'x-ms-authorization-auxiliary': `Bearer ${token}` } });
        const log = await control().requests();
        const entry = log.find((r) => r.operation === 'Galleries_Get')!;
        expect(entry).to.include({ method: 'GET', path: galleryPath, status: 200, tenantId: ids.contoso, auxiliary: true });
        expect(entry.principalId).to.equal(e.emulator.world.servicePrincipal(ids.galleryOwner, ids.contoso)!.objectId);
        expect(entry.durationMs).to.be.a('number');
        expect(JSON.stringify(log)).to.not.contain(token);
        expect((await control().counters())['Galleries_Get']).to.equal(1);
      });

      it('dumps and loads the state, and resets to the seed', async () => {
        const before = await control().dumpState();
        await ownerCompute(e).galleries.createOrUpdate(ids.galleryRG, 'temporary', { location: 'westus' });
        expect((await getGallery()).status).to.equal(200);
        await control().loadState(before);
        expect((await rejection(ownerCompute(e).galleries.get(ids.galleryRG, 'temporary'))).statusCode).to.equal(404);
        await ownerCompute(e).galleries.createOrUpdate(ids.galleryRG, 'temporary', { location: 'westus' });
        await control().reset();
        expect((await rejection(ownerCompute(e).galleries.get(ids.galleryRG, 'temporary'))).statusCode).to.equal(404);
      });

      it('reads and changes options', async () => {
        const changed = await control().setOptions({ shareMode: 'sync', throttling: { reads: 5 } });
        expect(changed.shareMode).to.equal('sync');
        expect(changed.throttling).to.include({ reads: 5, enabled: false });
        expect((await control().options()).shareMode).to.equal('sync');
      });

      it('grants consent and mints tokens for the seeded admin', async () => {
        const oid = await control().grantConsent(ids.galleryApp, ids.fabrikam);
        const admin = await control().adminToken(ids.fabrikam);
        const res = await raw(e, 'GET', `/subscriptions/${ids.fabrikamSubscription}/resourceGroups/${ids.fabrikamRG}?api-version=2021-04-01`, { token: admin });
        expect(res.status).to.equal(200);
        expect(oid).to.match(/^[0-9a-f-]{36}$/);
      });
    });
  }

  it('answers 400 to a control call that cannot be done', async () => {
    const failure = await rejection(remoteControl(e.armEndpoint, e.caPem).grantConsent('00000000-0000-0000-0000-000000000000', ids.fabrikam));
    expect(failure.message).to.contain('400');
  });
});
