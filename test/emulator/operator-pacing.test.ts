// The operator's Azure clients (src/azure/clients.ts) against the emulator's token-bucket
// throttling: with pacing, a burst larger than the bucket is spread out and never answered 429
// (requests held back too long are handed back with their wait, and sent again after exactly that
// wait, as the work queue does); without pacing, the same burst is answered 429.
import { expect } from 'chai';
import { AzureClients } from '../../src/azure/clients.js';
import { CredentialCache } from '../../src/azure/credentials.js';
import type { AzureEnvironment } from '../../src/azure/environment.js';
import { PacedLocallyError, type PacingBudgets } from '../../src/azure/pacing.js';
import { AzureTransport } from '../../src/azure/transport.js';
import type { RunningEmulator } from '../azure-emulator/index.js';
import { ids, secrets, startSample } from './helpers.js';

describe('operator: ARM pacing against the emulator', function () {
  this.timeout(60_000);
  let e: RunningEmulator;
  before(async () => {
    e = await startSample();
  });
  after(async () => e.stop());
  beforeEach(async () => {
    await e.control.reset();
    // ARM's buckets, made small: 10 reads, refilled 5 a second.
    await e.control.setOptions({ throttling: { enabled: true, reads: 10, readsPerSecond: 5 } });
  });

  /** 30 gallery reads at once through the operator's clients; a paced refusal is sent again after its wait. */
  async function burst(pacing?: PacingBudgets): Promise<{ ok: number; paced: number; throttled: number }> {
    const env: AzureEnvironment = { armEndpoint: e.armEndpoint, authorityHost: e.authorityHost, extraCa: e.caPem };
    const transport = new AzureTransport(env);
    const clients = new AzureClients(env, transport, () => {}, pacing);
    const credential = new CredentialCache(env, transport).forMaterial({ tenantId: ids.contoso, clientId: ids.galleryOwner, clientSecret: secrets[ids.galleryOwner]! });
    const compute = clients.computeClient(credential, ids.gallerySubscription);
    // The token first, so that the burst is only ARM reads.
    await credential.getToken(`${e.armEndpoint}/.default`);
    const counts = { ok: 0, paced: 0, throttled: 0 };
    try {
      await Promise.all(
        Array.from({ length: 30 }, async () => {
          for (;;) {
            try {
              await compute.galleries.get(ids.galleryRG, ids.gallery);
              counts.ok++;
              return;
            } catch (err) {
              if (err instanceof PacedLocallyError) {
                counts.paced++;
                await new Promise((r) => setTimeout(r, err.retryAfterMs));
              } else if ((err as { statusCode?: number }).statusCode === 429) {
                counts.throttled++;
                return;
              } else throw err;
            }
          }
        }),
      );
    } finally {
      clients.close();
    }
    return counts;
  }

  it('spreads a burst larger than the bucket so that ARM answers no 429', async () => {
    // 8 at once, then 4 a second: inside ARM's 10 and 5.
    const counts = await burst({ reads: { size: 8, refillPerSecond: 4 }, writes: { size: 8, refillPerSecond: 4 }, deletes: { size: 8, refillPerSecond: 4 } });
    expect(counts.ok).to.equal(30);
    expect(counts.throttled).to.equal(0);
    // 22 reads over the bucket at 4 a second take 5.5 s: those more than 3 s away were handed back.
    expect(counts.paced).to.be.above(0);
    const answered = (await e.control.requests()).filter((r) => r.path.toLowerCase().includes('/galleries/'));
    expect(answered.filter((r) => r.status === 429)).to.deep.equal([]);
    expect(answered.filter((r) => r.status === 200)).to.have.length(30);
  });

  it('without pacing, the same burst is answered 429', async () => {
    const counts = await burst();
    expect(counts.throttled).to.be.above(0);
    expect(counts.ok + counts.throttled).to.equal(30);
  });
});
