// The operator behind an enterprise HTTPS proxy: every ARM and Entra request goes through the
// proxy (HTTPS_PROXY), as a CONNECT tunnel with TLS end to end to Azure, still trusting only the
// system CAs and --azure-ca-file; NO_PROXY sends a host direct; the Kubernetes API is reached
// directly whatever the variables say; and a proxy that refuses connections is named in the
// object's condition. The operator runs as its own process against the real API server.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { GROUP, VERSION, type GalleryShare } from '../../src/api/v1alpha1/index.js';
import { KubeClient } from '../../src/runtime/kube-client.js';
import { start, type RunningEmulator } from '../azure-emulator/index.js';
import { ids, sampleSeed } from '../emulator/helpers.js';
import { createGallery, createOwnerSecret } from '../support/azure-fixtures.js';
import { ConnectProxy } from '../support/connect-proxy.js';
import { freePort } from '../support/control-plane.js';
import { galleryShareManifest, waitForGalleryShare } from '../support/galleryshares.js';
import { createTestNamespace, deleteNamespace, kubeClients, testKubeconfigPath, type KubeClients } from '../support/kube.js';
import { expectNoSecrets } from '../support/tenantgrants.js';
import { startOperator, type OperatorProcess } from '../support/operator-process.js';

/**
 * A name that never resolves (RFC 6761 reserves .invalid): only the proxy knows where it is, so
 * every request the emulator logs under it came through the proxy.
 */
const AZURE_HOST = 'azure.gso.invalid';

describe('Azure traffic through an HTTPS proxy', function () {
  let clients: KubeClients;
  let client: KubeClient;
  let namespace: string;
  let azure: RunningEmulator | undefined;
  let proxy: ConnectProxy | undefined;
  let operator: OperatorProcess | undefined;
  const apiServer = () => new URL(clients.kc.getCurrentCluster()!.server).host;

  before(() => {
    clients = kubeClients();
    client = new KubeClient(clients.kc);
  });
  after(() => client?.close());

  beforeEach(async () => {
    namespace = await createTestNamespace(clients, 'proxy');
    await createOwnerSecret(clients, namespace);
  });

  afterEach(async () => {
    await client.delete(`/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares`).catch(() => undefined);
    for (let i = 0; i < 100; i++) {
      const left = await client.get<{ items: unknown[] }>(`/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares`);
      if (left.items.length === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await operator?.stop('SIGKILL');
    operator = undefined;
    await proxy?.close();
    proxy = undefined;
    await azure?.stop();
    azure = undefined;
    await deleteNamespace(clients, namespace);
  });

  /** A gallery in the emulator (made by the test directly, at 127.0.0.1) and a GalleryShare of it. */
  async function shareAGallery(emulator: RunningEmulator, name = 'behind-proxy'): Promise<string> {
    const galleryName = `g${randomBytes(4).toString('hex')}`;
    await createGallery({ ...emulator, armEndpoint: `https://127.0.0.1:${emulator.port}` }, galleryName, 'Groups');
    await emulator.control.clearRequests();
    await client.create<GalleryShare>(`/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares`, galleryShareManifest(name, galleryName, { permission: 'Groups', directShare: { tenants: [ids.fabrikam] } }));
    return galleryName;
  }

  const operatorFor = (emulator: RunningEmulator, env: NodeJS.ProcessEnv) =>
    startOperator({
      kubeconfig: testKubeconfigPath(),
      armEndpoint: emulator.armEndpoint,
      caPath: emulator.caPath,
      extraArgs: ['--leader-elect', 'false', '--watch-namespaces', namespace],
      // Whatever the runner has: only what the test gives counts.
      env: { HTTPS_PROXY: '', https_proxy: '', NO_PROXY: '', no_proxy: '', HTTP_PROXY: '', http_proxy: '', ALL_PROXY: '', all_proxy: '', NODE_EXTRA_CA_CERTS: '', ...env },
    });

  it('sends every ARM and Entra request through the proxy, trusting --azure-ca-file end to end, and the Kubernetes API direct', async () => {
    azure = await start({ seed: sampleSeed(), hostnames: [AZURE_HOST, '127.0.0.1'] });
    expect(azure.armEndpoint).to.equal(`https://${AZURE_HOST}:${azure.port}`);
    proxy = await new ConnectProxy({ [AZURE_HOST]: '127.0.0.1' }).listen();
    operator = await operatorFor(azure, { HTTPS_PROXY: proxy.url });

    await shareAGallery(azure);
    await waitForGalleryShare(client, namespace, 'behind-proxy', undefined, { logs: () => operator!.logs() });

    const requests = await azure.control.requests();
    const operations = new Set(requests.map((r) => r.operation));
    expect([...operations], 'Entra token requests reached the emulator').to.include('Entra_Token');
    expect([...operations], 'ARM requests reached the emulator').to.include.members(['Entra_OpenIdConfiguration', 'Galleries_Get', 'RoleAssignments_ListForScope', 'GallerySharingProfile_Update']);
    // Every one of them came through a tunnel: the name resolves nowhere else.
    expect(proxy.connects.length, 'tunnels opened').to.be.greaterThan(0);
    expect(new Set(proxy.connects), 'CONNECT targets').to.deep.equal(new Set([`${AZURE_HOST}:${azure.port}`]));
    expect(proxy.connects, 'the Kubernetes API went direct').not.to.include(apiServer());
    expect(proxy.refused, 'plain requests to the proxy').to.deep.equal([]);
    expect(operator.logs()).to.match(/"arm":"through http:\/\/127\.0\.0\.1:\d+"/);
  });

  it('goes direct to hosts NO_PROXY names (no_proxy and https_proxy, lower case, read as well)', async () => {
    azure = await start({ seed: sampleSeed(), endpointHost: 'localhost' });
    proxy = await new ConnectProxy().listen();
    operator = await operatorFor(azure, { https_proxy: proxy.url, no_proxy: '.example.com,localhost' });

    await shareAGallery(azure);
    await waitForGalleryShare(client, namespace, 'behind-proxy', undefined, { logs: () => operator!.logs() });

    expect((await azure.control.requests()).map((r) => r.operation)).to.include.members(['Entra_Token', 'Galleries_Get']);
    expect(proxy.connects, 'CONNECT targets').to.deep.equal([]);
    expect(operator.logs()).to.include('"arm":"direct"');
  });

  it('sends the proxy credentials from HTTPS_PROXY, and names a proxy that asks for them when they are missing', async () => {
    azure = await start({ seed: sampleSeed() });
    proxy = await new ConnectProxy({}, 'gso:proxy-pass').listen();
    operator = await operatorFor(azure, { HTTPS_PROXY: `http://127.0.0.1:${proxy.port}` });
    await shareAGallery(azure);
    const refused = await waitForGalleryShare(client, namespace, 'behind-proxy', (o) => /407/.test(o.status?.conditions?.find((c) => c.type === 'Ready')?.message ?? ''), {
      what: 'not Ready, naming the 407',
      logs: () => operator!.logs(),
    });
    expect(refused.status!.conditions!.find((c) => c.type === 'Ready')!.message).to.include(`the HTTPS proxy http://127.0.0.1:${proxy.port} refused the tunnel to 127.0.0.1:${azure.port}: 407 Proxy Authentication Required`);
    expect(proxy.unauthorized.length).to.be.greaterThan(0);
    expect(await azure.control.requests(), 'nothing reached Azure').to.deep.equal([]);

    // With the credentials in HTTPS_PROXY the tunnels open, and the password is never logged.
    await operator.stop('SIGKILL');
    operator = await operatorFor(azure, { HTTPS_PROXY: `http://gso:proxy-pass@127.0.0.1:${proxy.port}` });
    await shareAGallery(azure, 'with-credentials');
    await waitForGalleryShare(client, namespace, 'with-credentials', undefined, { logs: () => operator!.logs() });
    expect(new Set(proxy.connects)).to.deep.equal(new Set([`127.0.0.1:${azure.port}`]));
    await expectNoSecrets(clients, namespace, operator.logs(), [refused.status], ['proxy-pass']);
  });

  it('names a proxy that refuses connections in the condition, and does not hang', async () => {
    azure = await start({ seed: sampleSeed() });
    const closedPort = await freePort();
    operator = await operatorFor(azure, { HTTPS_PROXY: `http://user:s3cret-proxy-password@127.0.0.1:${closedPort}` });

    await shareAGallery(azure);
    const gs = await waitForGalleryShare(client, namespace, 'behind-proxy', (o) => /proxy/i.test(o.status?.conditions?.find((c) => c.type === 'Ready')?.message ?? ''), {
      what: 'not Ready, naming the proxy',
      logs: () => operator!.logs(),
    });
    const ready = gs.status!.conditions!.find((c) => c.type === 'Ready')!;
    expect(ready.status).to.equal('False');
    expect(ready.message).to.include(`through the HTTPS proxy http://***@127.0.0.1:${closedPort}`).and.to.include('ECONNREFUSED');
    expect(await azure.control.requests(), 'nothing reached Azure').to.deep.equal([]);
    await expectNoSecrets(clients, namespace, operator.logs(), [gs.status], ['s3cret-proxy-password']);
  });
});
