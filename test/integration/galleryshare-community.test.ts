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
import { ensureKstatus, expectKstatusAgrees } from '../support/real-kstatus.js';
import { galleryShareManifest } from '../support/galleryshares.js';

describe('GalleryShare community publishing end to end', () => {
  let azure: RunningEmulator;
  let operator: OperatorProcess;
  let clients: KubeClients;
  let client: KubeClient;
  let namespace: string;
  const galleryName = `c${randomBytes(4).toString('hex')}`;
  const path = () => `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares/public`;

  async function waitFor(predicate: (gs: GalleryShare) => boolean, what: string): Promise<GalleryShare> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const gs = await client.get<GalleryShare>(path());
      if (predicate(gs)) {
        await expectKstatusAgrees(gs, what);
        return gs;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(gs.status)}\n${operator.logs().split('\n').slice(-10).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
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
    await waitFor((gs) => kstatus(gs) === 'Current' && gs.status?.permission === 'Private', 'Private again');
    expect((await sharingProfile()).permissions).to.equal('Private');
  });
});
