// The SharedImageVM image reads (src/azure/images.ts) against the emulator through the real SDK:
// what each reference form reads, how many requests it costs, what the consumer views show, and
// the check's answers on top of them (latest skipping a version still replicating, excluded
// versions, security type from the definition's features, no read access, not visible).
import { expect } from 'chai';
import type { RunningEmulator } from '../azure-emulator/index.js';
import { ImageCheckCache, parseImageReference, readImage, type ObservedImage } from '../../src/azure/images.js';
import { resolveVersion } from '../../src/controllers/sharedimagevm/image-check.js';
import { compute, deployerCompute, galleryPath, ids, ownerCompute, rejection, secretCredential, startSample } from './helpers.js';

const fast = { updateIntervalInMs: 5 };
const uniqueName = `${ids.gallerySubscription}-MYGALLERY`;
const idRef = (version?: string) => parseImageReference({ id: `${galleryPath}/images/ubuntu-2404${version ? `/versions/${version}` : ''}` });
const sharedRef = (version = 'latest') => parseImageReference({ sharedGalleryImageId: `/SharedGalleries/${uniqueName}/Images/ubuntu-2404/Versions/${version}` });

describe('image reads of the SharedImageVM check (emulator, real SDK)', () => {
  let e: RunningEmulator;
  before(async () => {
    e = await startSample();
  });
  after(async () => e.stop());
  beforeEach(async () => e.control.reset());

  /** ARM requests by operation since the last call (or reset); token requests left out. */
  const reads = async () => {
    const counters = await e.control.counters();
    await e.control.clearRequests();
    return Object.fromEntries(Object.entries(counters).filter(([operation]) => !operation.startsWith('Entra_')));
  };
  const addVersion = (name: string, targetRegions: { name: string; excludeFromLatest?: boolean }[], excludeFromLatest = false) =>
    ownerCompute(e).galleryImageVersions.createOrUpdate(ids.galleryRG, ids.gallery, 'ubuntu-2404', name, { location: 'westus', publishingProfile: { excludeFromLatest, targetRegions } }, fast);
  const shareWithFabrikam = () => ownerCompute(e).gallerySharingProfile.update(ids.galleryRG, ids.gallery, { operationType: 'Add', groups: [{ type: 'AADTenants', ids: [ids.fabrikam] }] }, fast);

  describe('by RBAC id', () => {
    it('reads the definition and a named version with its replication: 2 reads', async () => {
      await reads();
      const image = await readImage(ownerCompute(e), idRef('1.0.0'), 'westus');
      expect(await reads()).to.deep.equal({ GalleryImages_Get: 1, GalleryImageVersions_Get: 1 });
      expect(image).to.deep.equal({
        source: 'id',
        definition: { osType: 'Linux', osState: 'Generalized', hyperVGeneration: 'V2', architecture: 'x64' },
        versions: [
          {
            name: '1.0.0',
            excludeFromLatest: false,
            regions: [
              { name: 'westus', excludeFromLatest: false, replication: 'Completed' },
              { name: 'eastus', excludeFromLatest: false, replication: 'Completed' },
            ],
          },
        ],
      } satisfies ObservedImage);
      expect(resolveVersion(image!, '1.0.0', 'westus')).to.deep.equal({ version: '1.0.0' });
    });

    it('gives no versions for a named version that does not exist, and undefined for a definition that does not', async () => {
      const image = await readImage(ownerCompute(e), idRef('9.9.9'), 'westus');
      expect(image?.versions).to.deep.equal([]);
      expect(resolveVersion(image!, '9.9.9', 'westus')).to.have.property('missing', 'NoVersion');
      expect(await readImage(ownerCompute(e), parseImageReference({ id: `${galleryPath}/images/nope` }), 'westus')).to.equal(undefined);
    });

    it('resolves latest past a newer version still replicating (list + one replication read per candidate), then to it once replicated', async () => {
      await e.control.setOptions({ replicationDurationMs: 60_000 });
      await addVersion('1.1.0', [{ name: 'westus' }, { name: 'eastus' }]);
      await reads();
      const during = await readImage(ownerCompute(e), idRef(), 'westus');
      expect(await reads()).to.deep.equal({ GalleryImages_Get: 1, GalleryImageVersions_ListByGalleryImage: 1, GalleryImageVersions_Get: 2 });
      expect(during!.versions.find((v) => v.name === '1.1.0')!.regions[0]!.replication).to.equal('Replicating');
      expect(resolveVersion(during!, 'latest', 'westus')).to.deep.equal({ version: '1.0.0' });
      expect(resolveVersion(during!, '1.1.0', 'westus')).to.have.property('missing', 'Replicating');

      await e.control.advanceClock(60_000);
      const after = await readImage(ownerCompute(e), idRef(), 'westus');
      expect(await reads()).to.deep.equal({ GalleryImages_Get: 1, GalleryImageVersions_ListByGalleryImage: 1, GalleryImageVersions_Get: 1 });
      expect(resolveVersion(after!, 'latest', 'westus')).to.deep.equal({ version: '1.1.0' });
    });

    it('skips versions excluded from latest, globally or for the region, without reading them', async () => {
      await addVersion('1.1.0', [{ name: 'westus' }, { name: 'eastus' }], true);
      await addVersion('1.2.0', [{ name: 'westus', excludeFromLatest: true }, { name: 'eastus' }]);
      await reads();
      const west = await readImage(ownerCompute(e), idRef(), 'westus');
      expect((await reads())['GalleryImageVersions_Get']).to.equal(1);
      expect(resolveVersion(west!, 'latest', 'westus')).to.deep.equal({ version: '1.0.0' });
      const east = await readImage(ownerCompute(e), idRef(), 'eastus');
      expect(resolveVersion(east!, 'latest', 'eastus')).to.deep.equal({ version: '1.2.0' });
      const north = await readImage(ownerCompute(e), idRef(), 'northeurope');
      expect((await reads())['GalleryImageVersions_Get']).to.equal(1); // eastus: one; northeurope: none
      expect(resolveVersion(north!, 'latest', 'northeurope')).to.have.property('missing', 'NotInRegion');
    });

    it('throws 403 when the identity may not read the image (the caller classifies)', async () => {
      // The gallery app's principal in Contoso has no role on the gallery.
      await e.control.grantConsent(ids.galleryApp, ids.contoso);
      const app = compute(e, secretCredential(e, ids.contoso, ids.galleryApp), ids.gallerySubscription);
      const failure = await rejection(readImage(app, idRef('1.0.0'), 'westus'));
      expect(failure.statusCode).to.equal(403);
      expect(failure.code).to.equal('AuthorizationFailed');
    });

    it('reads the security type from the definition features', async () => {
      await ownerCompute(e).galleryImages.createOrUpdate(
        ids.galleryRG,
        ids.gallery,
        'ubuntu-tl',
        { location: 'westus', osType: 'Linux', osState: 'Generalized', hyperVGeneration: 'V2', identifier: { publisher: 'Contoso', offer: 'ubuntu', sku: 'tl' }, features: [{ name: 'SecurityType', value: 'TrustedLaunch' }] },
        fast,
      );
      const image = await readImage(ownerCompute(e), parseImageReference({ id: `${galleryPath}/images/ubuntu-tl` }), 'westus');
      expect(image!.definition.securityType).to.equal('TrustedLaunch');
      expect(image!.versions).to.deep.equal([]);
    });
  });

  describe('by direct share', () => {
    it('reads the consumer views at the location: 2 reads, versions listed there only', async () => {
      await shareWithFabrikam();
      await addVersion('1.1.0', [{ name: 'westus', excludeFromLatest: true }, { name: 'eastus' }]);
      await addVersion('1.2.0', [{ name: 'westus' }, { name: 'northeurope' }]);
      await reads();
      const east = await readImage(deployerCompute(e), sharedRef(), 'eastus');
      expect(await reads()).to.deep.equal({ SharedGalleryImages_Get: 1, SharedGalleryImageVersions_List: 1 });
      expect(east!.source).to.equal('shared');
      expect(east!.versions.map((v) => [v.name, v.regions])).to.deep.equal([
        ['1.0.0', [{ name: 'eastus', excludeFromLatest: false }]],
        ['1.1.0', [{ name: 'eastus', excludeFromLatest: false }]],
      ]);
      expect(resolveVersion(east!, 'latest', 'eastus')).to.deep.equal({ version: '1.1.0' });
      expect(resolveVersion(east!, '1.2.0', 'eastus')).to.have.property('missing', 'NotInRegion');
      const west = await readImage(deployerCompute(e), sharedRef(), 'westus');
      expect(resolveVersion(west!, 'latest', 'westus')).to.deep.equal({ version: '1.2.0' });
    });

    it('answers undefined when the gallery is not shared with the caller', async () => {
      expect(await readImage(deployerCompute(e), sharedRef('1.0.0'), 'westus')).to.equal(undefined);
    });

    it('reads once for a hundred VMs through the cache', async () => {
      await shareWithFabrikam();
      const cache = new ImageCheckCache<ObservedImage | undefined>();
      const client = deployerCompute(e);
      await reads();
      const key = { ref: sharedRef(), region: 'westus', identity: `${ids.fabrikam}/${ids.fabrikamDeployer}/${ids.fabrikamSubscription}` };
      const answers = await Promise.all(Array.from({ length: 100 }, () => cache.get(key, (signal) => readImage(client, key.ref, key.region, signal))));
      expect(answers.every((a) => a?.versions[0]?.name === '1.0.0')).to.equal(true);
      expect(await reads()).to.deep.equal({ SharedGalleryImages_Get: 1, SharedGalleryImageVersions_List: 1 });
    });
  });

  describe('from a community gallery', () => {
    it('reads the community views at the location: 2 reads', async () => {
      const owner = ownerCompute(e);
      await owner.galleryImages.createOrUpdate(ids.galleryRG, 'contosoPublic', 'tools', { location: 'westus', osType: 'Windows', osState: 'Specialized', identifier: { publisher: 'Contoso', offer: 'tools', sku: '1' } }, fast);
      await owner.galleryImageVersions.createOrUpdate(ids.galleryRG, 'contosoPublic', 'tools', '1.0.0', { location: 'westus' }, fast);
      const publicName = (await owner.galleries.get(ids.galleryRG, 'contosoPublic')).sharingProfile!.communityGalleryInfo!.publicNames![0]!;
      const ref = parseImageReference({ communityGalleryImageId: `/CommunityGalleries/${publicName}/Images/tools/Versions/latest` });
      expect(await readImage(deployerCompute(e), ref, 'westus')).to.equal(undefined);
      await owner.gallerySharingProfile.update(ids.galleryRG, 'contosoPublic', { operationType: 'EnableCommunity' }, fast);
      await reads();
      const image = await readImage(deployerCompute(e), ref, 'westus');
      expect(await reads()).to.deep.equal({ CommunityGalleryImages_Get: 1, CommunityGalleryImageVersions_List: 1 });
      expect(image).to.deep.equal({
        source: 'community',
        definition: { osType: 'Windows', osState: 'Specialized', hyperVGeneration: 'V1', architecture: 'x64' },
        versions: [{ name: '1.0.0', excludeFromLatest: false, regions: [{ name: 'westus', excludeFromLatest: false }] }],
      } satisfies ObservedImage);
      expect(resolveVersion(image!, 'latest', 'westus')).to.deep.equal({ version: '1.0.0' });
    });
  });
});
