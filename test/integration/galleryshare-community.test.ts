// Community sharing end to end, with an operator whose policy allows it: a private gallery is
// published to the community (permission change, then EnableCommunity), its public names reach
// status, and setting permission back to Private withdraws it (Reset, then the permission).
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { GROUP, VERSION, type GalleryShare } from '../../src/api/v1alpha1/index.js';
import { kstatus } from '../../src/runtime/kstatus.js';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { start, type RunningEmulator } from '../azure-emulator/index.js';
import { sampleSeed } from '../emulator/helpers.js';
import { adminRequest, createGallery, createOwnerSecret, galleryPathOf } from '../support/azure-fixtures.js';
import { createTestNamespace, deleteNamespace, kubeClients, testKubeconfigPath, type KubeClients } from '../support/kube.js';
import { startOperator, type OperatorProcess } from '../support/operator-process.js';
import { ensureKstatus } from '../support/real-kstatus.js';
import { galleryShareManifest, waitForGalleryShare } from '../support/galleryshares.js';

describe('GalleryShare community publishing end to end', () => {
  let azure: RunningEmulator;
  let operator: OperatorProcess;
  let clients: KubeClients;
  let client: KubeClient;
  let namespace: string;
  const galleryName = `c${randomBytes(4).toString('hex')}`;
  const path = () => `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares/public`;

  const waitFor = (predicate: (gs: GalleryShare) => boolean, what: string, name = 'public') => waitForGalleryShare(client, namespace, name, predicate, { what, logs: () => operator.logs() });
  const sharingProfile = async () => (await adminRequest(azure, 'GET', galleryPathOf(galleryName))).body.properties!.sharingProfile!;

  before(async function () {
    this.timeout(600_000); // kstatus is built from Go modules on first use
    await ensureKstatus();
    azure = await start({ seed: sampleSeed(), options: { retryAfterSeconds: 1, lroDurationMs: 300 } });
    clients = kubeClients();
    client = new KubeClient(clients.kc);
    namespace = await createTestNamespace(clients, 'community');
    await createGallery(azure, galleryName, 'Private');
    await createOwnerSecret(clients, namespace);
    operator = await startOperator({ kubeconfig: testKubeconfigPath(), armEndpoint: azure.armEndpoint, caPath: azure.caPath, extraArgs: ['--leader-elect', 'false', '--allow-community-sharing', 'true', '--watch-namespaces', namespace] });
  });
  after(async () => {
    await operator?.stop();
    await deleteNamespace(clients, namespace);
    client?.close();
    await azure?.stop();
  });

  it('publishes a private gallery, reports its public names, and withdraws it again', async () => {
    await client.create(
      `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares`,
      galleryShareManifest('public', galleryName, {
        permission: 'Community',
        community: { publisherUri: 'https://contoso.example.com', publisherContact: 'images@contoso.example.com', eula: 'https://contoso.example.com/eula', publicNamePrefix: 'contoso' },
      }),
    );
    const published = await waitFor((gs) => kstatus(gs) === 'Current', 'Ready');
    expect(published.status?.permission).to.equal('Community');
    expect(published.status?.communityPublicNames?.[0]).to.match(/^contoso/);
    expect(published.status?.conditions?.find((c) => c.type === 'CommunitySynced')?.status).to.equal('True');
    const profile = await sharingProfile();
    expect(profile.permissions).to.equal('Community');
    expect(profile.communityGalleryInfo!.communityGalleryEnabled).to.equal(true);

    // A new EULA while published is written to the gallery, and only then is it Ready again.
    await client.patch(path(), { spec: { community: { eula: 'https://contoso.example.com/eula-2026' } } }, 'merge');
    await waitFor((gs) => kstatus(gs) === 'Current' && gs.status?.observedGeneration === 2, 'Ready with the new EULA');
    const updated = (await sharingProfile()).communityGalleryInfo!;
    expect(updated.eula).to.equal('https://contoso.example.com/eula-2026');
    expect(updated.communityGalleryEnabled, 'still published').to.equal(true);
    expect(updated.publicNames).to.deep.equal(profile.communityGalleryInfo!.publicNames);

    await client.patch(path(), { spec: { permission: 'Private', community: null } }, 'merge');
    const withdrawn = await waitFor((gs) => kstatus(gs) === 'Current' && gs.status?.permission === 'Private', 'Private again');
    const after = await sharingProfile();
    expect(after.permissions).to.equal('Private');
    // Azure keeps assigned public names on a withdrawn gallery; they resolve to nothing, so the
    // status names none ("has a public name" is not "is published").
    expect(after.communityGalleryInfo?.communityGalleryEnabled ?? false).to.equal(false);
    expect(withdrawn.status?.communityPublicNames, 'no public names once withdrawn').to.equal(undefined);
  });

  it('publishes a gallery that Azure already gave public names (permission Community, not yet enabled): EnableCommunity is still called', async () => {
    const preset = `g${galleryName}pre`;
    const put = await adminRequest(azure, 'PUT', galleryPathOf(preset), {
      location: 'westus',
      properties: { sharingProfile: { permissions: 'Community', communityGalleryInfo: { publisherUri: 'https://contoso.example.com', publisherContact: 'images@contoso.example.com', eula: 'https://contoso.example.com/eula', publicNamePrefix: 'contoso' } } },
    });
    expect(put.status).to.be.oneOf([200, 201]);
    const before = ((put.body.properties as unknown as { sharingProfile: { communityGalleryInfo: { publicNames?: string[]; communityGalleryEnabled?: boolean } } }).sharingProfile).communityGalleryInfo;
    expect(before.publicNames, 'Azure names it at creation').to.have.length(1);
    expect(before.communityGalleryEnabled).to.equal(false);
    await client.create(
      `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares`,
      galleryShareManifest('named', preset, {
        permission: 'Community',
        community: { publisherUri: 'https://contoso.example.com', publisherContact: 'images@contoso.example.com', eula: 'https://contoso.example.com/eula', publicNamePrefix: 'contoso' },
      }),
    );
    const ready = await waitFor((gs) => kstatus(gs) === 'Current' && gs.status?.conditions?.find((c) => c.type === 'CommunitySynced')?.status === 'True', 'published', 'named');
    expect(ready.status?.communityPublicNames).to.deep.equal(before.publicNames);
    const profile = (await adminRequest(azure, 'GET', galleryPathOf(preset))).body.properties as unknown as { sharingProfile: { communityGalleryInfo: { communityGalleryEnabled: boolean } } };
    expect(profile.sharingProfile.communityGalleryInfo.communityGalleryEnabled, 'published, not merely named').to.equal(true);
  });

  it('deletion withdraws a gallery it published and makes it private again, and leaves one that was published before it alone', async () => {
    const community = { publisherUri: 'https://contoso.example.com', publisherContact: 'images@contoso.example.com', eula: 'https://contoso.example.com/eula', publicNamePrefix: 'contoso' };
    const profileOf = async (name: string) => (await adminRequest(azure, 'GET', galleryPathOf(name))).body.properties as unknown as { sharingProfile: { permissions: string; communityGalleryInfo?: { communityGalleryEnabled?: boolean } } };
    const collection = `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares`;
    const gone = async (name: string) => {
      for (let i = 0; i < 300 && (await client.get(`${collection}/${name}`).catch(() => undefined)); i++) await new Promise((r) => setTimeout(r, 100));
    };

    // Published by this object: its deletion undoes it.
    const mine = `${galleryName}mine`;
    await createGallery(azure, mine, 'Private');
    await client.create(collection, galleryShareManifest('mine', mine, { permission: 'Community', community }));
    await waitFor((gs) => kstatus(gs) === 'Current' && gs.status?.conditions?.find((c) => c.type === 'CommunitySynced')?.status === 'True', 'published', 'mine');
    await client.delete(`${collection}/mine`);
    await gone('mine');
    const after = await profileOf(mine);
    expect(after.sharingProfile.communityGalleryInfo?.communityGalleryEnabled ?? false, 'withdrawn').to.equal(false);
    expect(after.sharingProfile.permissions, 'private again').to.equal('Private');

    // Published before this object: adopted, left as it was.
    const theirs = `${galleryName}theirs`;
    const put = await adminRequest(azure, 'PUT', galleryPathOf(theirs), { location: 'westus', properties: { sharingProfile: { permissions: 'Community', communityGalleryInfo: community } } });
    expect(put.status).to.be.oneOf([200, 201]);
    const enabled = await adminRequest(azure, 'POST', `${galleryPathOf(theirs)}/share`, { operationType: 'EnableCommunity' });
    expect(enabled.status).to.be.oneOf([200, 202]);
    for (let i = 0; i < 50 && !(await profileOf(theirs)).sharingProfile.communityGalleryInfo?.communityGalleryEnabled; i++) await new Promise((r) => setTimeout(r, 100));
    await client.create(collection, galleryShareManifest('theirs', theirs, { permission: 'Community', community }));
    const adopted = await waitFor((gs) => kstatus(gs) === 'Current' && gs.status?.conditions?.find((c) => c.type === 'CommunitySynced')?.status === 'True', 'adopted', 'theirs');
    expect(adopted.status?.adopted).to.deep.include({ permission: 'Community', communityPublished: true });
    await client.delete(`${collection}/theirs`);
    await gone('theirs');
    const kept = await profileOf(theirs);
    expect(kept.sharingProfile.communityGalleryInfo?.communityGalleryEnabled, 'still published').to.equal(true);
    expect(kept.sharingProfile.permissions).to.equal('Community');
  });
});
