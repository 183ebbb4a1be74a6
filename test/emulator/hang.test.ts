// The hang fault: a matching request is accepted and never answered, until the client gives up,
// the fault goes (removed, cleared, reset) or the emulator stops; then its socket is destroyed.
import { expect } from 'chai';
import { remoteControl, type RunningEmulator } from '../azure-emulator/index.js';
import { eventually, galleryPath, ids, ownerCompute, raw, rejection, startSample } from './helpers.js';

describe('emulator: hang fault', () => {
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

  const hanging = async () => (await e.control.faults())[0]?.hanging ?? -1;
  const getGallery = () => raw(e, 'GET', `${galleryPath}?api-version=2025-12-03`, { token });

  it('never answers a matching SDK call; the client abandons it (AbortSignal) and the emulator lets the socket go', async () => {
    const client = ownerCompute(e);
    await client.galleries.get(ids.galleryRG, ids.gallery); // the token is cached: only the GET can hang
    const fault = await e.control.addFault({ method: 'GET', path: '/galleries/myGallery$', hang: true });
    expect(fault.hanging).to.equal(0);
    const started = Date.now();
    const failure = await rejection(client.galleries.get(ids.galleryRG, ids.gallery, { abortSignal: AbortSignal.timeout(300) }));
    expect(Date.now() - started).to.be.greaterThanOrEqual(290);
    expect(failure.message).to.match(/abort/i);
    expect(failure.statusCode).to.equal(undefined);
    // The client closed its socket: the emulator notices and holds nothing any more.
    await eventually(async () => (await hanging()) === 0, 'the abandoned request is let go');
    const [after] = await e.control.faults();
    expect(after?.hits).to.equal(1);
    const logged = (await e.control.requests()).filter((r) => r.faultId === fault.id);
    expect(logged.map((r) => [r.method, r.path, r.status])).to.deep.equal([['GET', galleryPath, 0]]);
  });

  it('hangs only `count` times, then answers as usual', async () => {
    const client = ownerCompute(e);
    await client.galleries.get(ids.galleryRG, ids.gallery);
    await e.control.addFault({ method: 'GET', path: '/galleries/myGallery$', hang: true, count: 1 });
    const failure = await rejection(client.galleries.get(ids.galleryRG, ids.gallery, { abortSignal: AbortSignal.timeout(200) }));
    expect(failure.message).to.match(/abort/i);
    expect((await client.galleries.get(ids.galleryRG, ids.gallery, { abortSignal: AbortSignal.timeout(2000) })).name).to.equal(ids.gallery);
    const [fault] = await e.control.faults();
    expect(fault).to.include({ hits: 1, hanging: 0 });
  });

  it('holds several requests at once and destroys their sockets when the fault is removed (over HTTPS too)', async () => {
    const control = remoteControl(e.armEndpoint, e.caPem);
    const fault = await control.addFault({ path: '/galleries/myGallery$', hang: true });
    const pending = [getGallery(), getGallery()].map((p) => rejection(p));
    await eventually(async () => (await hanging()) === 2, 'both requests are held');
    const removed = Date.now();
    await control.removeFault(fault.id);
    for (const failure of await Promise.all(pending)) expect(failure.message).to.match(/socket hang up|ECONNRESET/);
    expect(Date.now() - removed).to.be.lessThan(1000);
    expect((await getGallery()).status).to.equal(200);
  });

  it('lets go of held requests on clearFaults and on reset; an SDK call then gets through on its retry', async () => {
    await e.control.addFault({ path: '/galleries/myGallery$', hang: true });
    const raw1 = rejection(getGallery());
    await eventually(async () => (await hanging()) === 1, 'the request is held');
    await e.control.clearFaults();
    expect((await raw1).message).to.match(/socket hang up|ECONNRESET/);

    const client = ownerCompute(e);
    await client.galleries.get(ids.galleryRG, ids.gallery);
    await e.control.addFault({ path: '/galleries/myGallery$', hang: true });
    const sdkCall = client.galleries.get(ids.galleryRG, ids.gallery);
    await eventually(async () => (await hanging()) === 1, 'the SDK request is held');
    await e.control.reset();
    // The SDK retries a connection reset; the retry finds no fault.
    expect((await sdkCall).name).to.equal(ids.gallery);
  });

  it('does not keep stop() waiting on a held request', async () => {
    const other = await startSample();
    const otherToken = await other.control.issueToken({ appId: ids.galleryOwner, tenantId: ids.contoso });
    await other.control.addFault({ path: '/galleries/myGallery$', hang: true });
    const pending = rejection(raw(other, 'GET', `${galleryPath}?api-version=2025-12-03`, { token: otherToken }));
    await eventually(async () => (await other.control.faults())[0]?.hanging === 1, 'the request is held');
    const stopping = Date.now();
    await other.stop();
    expect(Date.now() - stopping).to.be.lessThan(1000);
    expect((await pending).message).to.match(/socket hang up|ECONNRESET/);
  });
});
