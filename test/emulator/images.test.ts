// Image definitions and versions through @azure/arm-compute: create, immutable properties,
// version names, per-region replication over time ($expand=ReplicationStatus), excludeFromLatest.
import { expect } from 'chai';
import type { RunningEmulator } from '../azure-emulator/index.js';
import { ids, ownerCompute, rejection, sampleSeed, startSample } from './helpers.js';

const fast = { updateIntervalInMs: 5 };
const definition = { location: 'westus', osType: 'Linux', osState: 'Generalized', hyperVGeneration: 'V2', identifier: { publisher: 'Contoso', offer: 'debian', sku: '12' } } as const;

describe('emulator: image definitions and versions', () => {
  let e: RunningEmulator;
  before(async () => {
    e = await startSample();
  });
  after(async () => e.stop());
  beforeEach(async () => e.control.reset());

  it('creates and gets an image definition', async () => {
    const client = ownerCompute(e);
    const image = await client.galleryImages.createOrUpdate(ids.galleryRG, ids.gallery, 'debian-12', definition, fast);
    expect(image.provisioningState).to.equal('Succeeded');
    const got = await client.galleryImages.get(ids.galleryRG, ids.gallery, 'debian-12');
    expect(got.osType).to.equal('Linux');
    expect(got.hyperVGeneration).to.equal('V2');
    expect(got.identifier).to.deep.equal(definition.identifier);
    const names: string[] = [];
    for await (const i of client.galleryImages.listByGallery(ids.galleryRG, ids.gallery)) names.push(i.name!);
    expect(names.sort()).to.deep.equal(['debian-12', 'ubuntu-2404']);
  });

  it('refuses to change osState of an existing definition (409 PropertyChangeNotAllowed)', async () => {
    const failure = await rejection(ownerCompute(e).galleryImages.createOrUpdate(ids.galleryRG, ids.gallery, 'ubuntu-2404', { ...definition, osState: 'Specialized', identifier: { publisher: 'Contoso', offer: 'ubuntu', sku: '24.04' } }, fast));
    expect(failure.code).to.equal('PropertyChangeNotAllowed');
  });

  it('answers ParentResourceNotFound for an image in a missing gallery', async () => {
    const failure = await rejection(ownerCompute(e).galleryImages.createOrUpdate(ids.galleryRG, 'missing', 'x', definition, fast));
    expect(failure.statusCode).to.equal(404);
    expect(failure.code).to.equal('ParentResourceNotFound');
  });

  it('refuses version names that are not Major.Minor.Patch', async () => {
    const failure = await rejection(ownerCompute(e).galleryImageVersions.createOrUpdate(ids.galleryRG, ids.gallery, 'ubuntu-2404', '1.0', { location: 'westus' }, fast));
    expect(failure.code).to.equal('InvalidParameter');
  });

  it('replicates each region after the configured time ($expand=ReplicationStatus)', async () => {
    await e.control.setOptions({ replicationDurationMs: 60_000 });
    const client = ownerCompute(e);
    await client.galleryImageVersions.createOrUpdate(
      ids.galleryRG,
      ids.gallery,
      'ubuntu-2404',
      '1.1.0',
      { location: 'westus', publishingProfile: { targetRegions: [{ name: 'westus' }, { name: 'eastus', excludeFromLatest: true }] }, storageProfile: { source: { id: '/subscriptions/x/resourceGroups/y/providers/Microsoft.Compute/images/z' } } },
      fast,
    );
    const during = await client.galleryImageVersions.get(ids.galleryRG, ids.gallery, 'ubuntu-2404', '1.1.0', { expand: 'ReplicationStatus' });
    expect(during.replicationStatus?.aggregatedState).to.equal('InProgress');
    expect(during.replicationStatus?.summary?.map((s) => s.state)).to.deep.equal(['Replicating', 'Replicating']);
    expect(during.publishingProfile?.targetRegions?.[1]?.excludeFromLatest).to.equal(true);
    const plain = await client.galleryImageVersions.get(ids.galleryRG, ids.gallery, 'ubuntu-2404', '1.1.0');
    expect(plain.replicationStatus).to.equal(undefined);
    await e.control.advanceClock(60_000);
    const done = await client.galleryImageVersions.get(ids.galleryRG, ids.gallery, 'ubuntu-2404', '1.1.0', { expand: 'ReplicationStatus' });
    expect(done.replicationStatus?.aggregatedState).to.equal('Completed');
    expect(done.replicationStatus?.summary?.every((s) => s.progress === 100)).to.equal(true);
  });

  it('lists versions and refuses to delete an image that has versions', async () => {
    const client = ownerCompute(e);
    const names: string[] = [];
    for await (const v of client.galleryImageVersions.listByGalleryImage(ids.galleryRG, ids.gallery, 'ubuntu-2404')) names.push(v.name!);
    expect(names).to.deep.equal(['1.0.0']);
    expect((await rejection(client.galleryImages.delete(ids.galleryRG, ids.gallery, 'ubuntu-2404', fast))).code).to.equal('CannotDeleteResource');
    await client.galleryImageVersions.delete(ids.galleryRG, ids.gallery, 'ubuntu-2404', '1.0.0', fast);
    await client.galleryImages.delete(ids.galleryRG, ids.gallery, 'ubuntu-2404', fast);
    expect((await rejection(client.galleryImages.get(ids.galleryRG, ids.gallery, 'ubuntu-2404'))).statusCode).to.equal(404);
  });

  it('updates excludeFromLatest with PATCH', async () => {
    const updated = await ownerCompute(e).galleryImageVersions.update(ids.galleryRG, ids.gallery, 'ubuntu-2404', '1.0.0', { publishingProfile: { excludeFromLatest: true } }, fast);
    expect(updated.publishingProfile?.excludeFromLatest).to.equal(true);
  });

  it('starts seeded versions with the replication the seed describes (seconds per region, failed regions)', async () => {
    const seed = sampleSeed();
    const image = seed.galleries![0]!.images![0]!;
    image.versions!.push({ name: '2.0.0', replicationSeconds: 600, targetRegions: ['westus', { name: 'eastus', replicationSeconds: 60 }, { name: 'northeurope', failed: true }] });
    const seeded = await startSample({ seed });
    try {
      const client = ownerCompute(seeded);
      const states = async () => {
        const v = await client.galleryImageVersions.get(ids.galleryRG, ids.gallery, 'ubuntu-2404', '2.0.0', { expand: 'ReplicationStatus' });
        return [v.replicationStatus?.aggregatedState, ...(v.replicationStatus?.summary ?? []).map((r) => `${r.region}:${r.state}`)];
      };
      expect(await states()).to.deep.equal(['Failed', 'westus:Replicating', 'eastus:Replicating', 'northeurope:Failed']);
      await seeded.control.advanceClock(60_000);
      expect(await states()).to.deep.equal(['Failed', 'westus:Replicating', 'eastus:Completed', 'northeurope:Failed']);
      await seeded.control.advanceClock(540_000);
      expect(await states()).to.deep.equal(['Failed', 'westus:Completed', 'eastus:Completed', 'northeurope:Failed']);
    } finally {
      await seeded.stop();
    }
  });
});
