// What consumers see through sharedGalleries/* and communityGalleries/*: only what is shared with
// their subscription or tenant, or published to the community.
import { expect } from 'chai';
import type { RunningEmulator } from '../azure-emulator/index.js';
import { compute, ids, ownerCompute, rejection, secretCredential, startSample } from './helpers.js';

const fast = { updateIntervalInMs: 5 };
const uniqueName = `${ids.gallerySubscription}-MYGALLERY`;

describe('emulator: shared and community galleries', () => {
  let e: RunningEmulator;
  before(async () => {
    e = await startSample();
  });
  after(async () => e.stop());
  beforeEach(async () => e.control.reset());

  const fabrikam = () => compute(e, secretCredential(e, ids.fabrikam, ids.fabrikamDeployer), ids.fabrikamSubscription);
  const names = async <T extends { name?: string }>(items: AsyncIterable<T>) => {
    const result: string[] = [];
    for await (const item of items) result.push(item.name!);
    return result;
  };
  const share = (groups: { type: string; ids: string[] }[]) => ownerCompute(e).gallerySharingProfile.update(ids.galleryRG, ids.gallery, { operationType: 'Add', groups }, fast);

  it('shows nothing before the gallery is shared', async () => {
    expect(await names(fabrikam().sharedGalleries.list('westus', { sharedTo: 'tenant' }))).to.deep.equal([]);
    expect((await rejection(fabrikam().sharedGalleries.get('westus', uniqueName))).statusCode).to.equal(404);
  });

  it('shows a gallery shared with the tenant under sharedTo=tenant only', async () => {
    await share([{ type: 'AADTenants', ids: [ids.fabrikam] }]);
    expect(await names(fabrikam().sharedGalleries.list('westus', { sharedTo: 'tenant' }))).to.deep.equal([uniqueName]);
    expect(await names(fabrikam().sharedGalleries.list('westus'))).to.deep.equal([]);
    const gallery = await fabrikam().sharedGalleries.get('westus', uniqueName);
    expect(gallery.uniqueId).to.equal(`/SharedGalleries/${uniqueName}`);
  });

  it('shows a gallery shared with the subscription without sharedTo', async () => {
    await share([{ type: 'Subscriptions', ids: [ids.devSubscription] }]);
    const dev = compute(e, secretCredential(e, ids.contoso, ids.portalAdmin), ids.devSubscription);
    expect(await names(dev.sharedGalleries.list('westus'))).to.deep.equal([uniqueName]);
    expect(await names(dev.sharedGalleries.list('westus', { sharedTo: 'tenant' }))).to.deep.equal([]);
    expect(await names(fabrikam().sharedGalleries.list('westus'))).to.deep.equal([]);
  });

  it('serves shared images and versions with their unique ids', async () => {
    await share([{ type: 'AADTenants', ids: [ids.fabrikam] }]);
    const image = await fabrikam().sharedGalleryImages.get('westus', uniqueName, 'ubuntu-2404');
    expect(image.uniqueId).to.equal(`/SharedGalleries/${uniqueName}/Images/ubuntu-2404`);
    expect(image.osState).to.equal('Generalized');
    expect(image.hyperVGeneration).to.equal('V2');
    expect(image.identifier).to.deep.equal({ publisher: 'Contoso', offer: 'ubuntu', sku: '24.04' });
    expect(await names(fabrikam().sharedGalleryImageVersions.list('eastus', uniqueName, 'ubuntu-2404', { sharedTo: 'tenant' }))).to.deep.equal(['1.0.0']);
    const version = await fabrikam().sharedGalleryImageVersions.get('westus', uniqueName, 'ubuntu-2404', '1.0.0');
    expect(version.uniqueId).to.equal(`/SharedGalleries/${uniqueName}/Images/ubuntu-2404/Versions/1.0.0`);
    expect(version.excludeFromLatest).to.equal(false);
    expect(version.storageProfile?.osDiskImage?.diskSizeGB).to.be.a('number');
  });

  it('hides a gallery again after Remove', async () => {
    await share([{ type: 'AADTenants', ids: [ids.fabrikam] }]);
    await ownerCompute(e).gallerySharingProfile.update(ids.galleryRG, ids.gallery, { operationType: 'Remove', groups: [{ type: 'AADTenants', ids: [ids.fabrikam] }] }, fast);
    expect((await rejection(fabrikam().sharedGalleryImages.get('westus', uniqueName, 'ubuntu-2404'))).statusCode).to.equal(404);
  });

  it('serves a community gallery to everyone once community sharing is enabled', async () => {
    const client = ownerCompute(e);
    await client.galleryImages.createOrUpdate(ids.galleryRG, 'contosoPublic', 'tools', { location: 'westus', osType: 'Linux', osState: 'Generalized', identifier: { publisher: 'Contoso', offer: 'tools', sku: '1' } }, fast);
    await client.galleryImageVersions.createOrUpdate(ids.galleryRG, 'contosoPublic', 'tools', '2.0.0', { location: 'westus' }, fast);
    // The gallery has its public name from creation, but nobody sees it under that name yet.
    const publicName = (await client.galleries.get(ids.galleryRG, 'contosoPublic')).sharingProfile!.communityGalleryInfo!.publicNames![0]!;
    for (const hidden of [
      fabrikam().communityGalleries.get('westus', publicName),
      fabrikam().communityGalleryImages.get('westus', publicName, 'tools'),
      fabrikam().communityGalleryImageVersions.get('westus', publicName, 'tools', '2.0.0'),
    ]) {
      const failure = await rejection(hidden);
      expect([failure.statusCode, failure.code]).to.deep.equal([404, 'ResourceNotFound']);
    }
    await client.gallerySharingProfile.update(ids.galleryRG, 'contosoPublic', { operationType: 'EnableCommunity' }, fast);
    expect((await client.galleries.get(ids.galleryRG, 'contosoPublic')).sharingProfile!.communityGalleryInfo!.publicNames).to.deep.equal([publicName]);
    const gallery = await fabrikam().communityGalleries.get('westus', publicName);
    expect(gallery.uniqueId).to.equal(`/CommunityGalleries/${publicName}`);
    expect(gallery.communityMetadata?.publisherUri).to.equal('https://contoso.example.com');
    const image = await fabrikam().communityGalleryImages.get('westus', publicName, 'tools');
    expect(image.uniqueId).to.equal(`/CommunityGalleries/${publicName}/Images/tools`);
    expect(await names(fabrikam().communityGalleryImageVersions.list('westus', publicName, 'tools'))).to.deep.equal(['2.0.0']);
    await client.gallerySharingProfile.update(ids.galleryRG, 'contosoPublic', { operationType: 'Reset' }, fast);
    // Reset keeps the name on the gallery, but it no longer answers.
    expect((await client.galleries.get(ids.galleryRG, 'contosoPublic')).sharingProfile!.communityGalleryInfo!.publicNames).to.deep.equal([publicName]);
    const after = await rejection(fabrikam().communityGalleries.get('westus', publicName));
    expect([after.statusCode, after.code]).to.deep.equal([404, 'ResourceNotFound']);
  });
});
