// The Retry-After gate inside a real SDK client's pipeline (src/azure/clients.ts): a 429 closes its
// subscription for every later request, although the SDK's deserialization turns the 429 into a
// thrown RestError before the outer policies see it; and a request that waited for its token while
// the window opened is not sent into it. Found by the chaos run's audit (requests inside a
// Retry-After window); the transport here is a fake that counts what would have left the process.
import { expect } from 'chai';
import { createHttpHeaders, type PipelineRequest, type PipelineResponse } from '@azure/core-rest-pipeline';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { AzureClients, GATE_SEEN_HEADER, ThrottleGate, ThrottledLocallyError, type RetryAfterWindowChange } from '../../src/azure/clients.js';
import type { AzureTransport } from '../../src/azure/transport.js';

const SUBSCRIPTION = '11111111-2222-4333-8444-555555555555';
const OTHER = '66666666-7777-4888-9999-000000000000';
const env = { armEndpoint: 'https://management.example.test', authorityHost: 'https://login.example.test' };

/** A transport that answers 429 + Retry-After: 3 to the first request and 200 to the rest, recording each (and its gate stamp). */
function fakeTransport(sent: string[], stamps: (string | undefined)[] = []): AzureTransport {
  return {
    policy: () => ({
      name: 'fakeTransport',
      sendRequest: (request: PipelineRequest): Promise<PipelineResponse> => {
        sent.push(request.url);
        stamps.push(request.headers.get(GATE_SEEN_HEADER));
        const first = sent.length === 1;
        return Promise.resolve({
          request,
          status: first ? 429 : 200,
          headers: createHttpHeaders(first ? { 'retry-after': '3', 'content-type': 'application/json' } : { 'content-type': 'application/json' }),
          bodyAsText: first ? '{"error":{"code":"SubscriptionRequestsThrottled","message":"throttled"}}' : '{"value":[]}',
        });
      },
    }),
  } as unknown as AzureTransport;
}

const credential = (getTokenDelay: () => Promise<void> = () => Promise.resolve()): TokenCredential => ({
  getToken: async (): Promise<AccessToken> => {
    await getTokenDelay();
    return { token: 'token', expiresOnTimestamp: Date.now() + 3_600_000 };
  },
});

const list = async (clients: AzureClients, cred: TokenCredential, subscription: string) => {
  const items = [];
  for await (const item of clients.authorizationClient(cred, subscription).roleAssignments.listForScope(`/subscriptions/${subscription}`)) items.push(item);
  return items;
};

describe('Retry-After gate in the SDK pipeline', () => {
  it('closes the subscription after a 429 answer: the next request fails locally, another subscription is called', async () => {
    const sent: string[] = [];
    const clients = new AzureClients(env, fakeTransport(sent));
    const cred = credential();
    const first = await list(clients, cred, SUBSCRIPTION).catch((err: unknown) => err);
    expect((first as { statusCode?: number }).statusCode).to.equal(429);
    expect(Object.keys(clients.gate.windows())).to.deep.equal([SUBSCRIPTION]);
    const second = await list(clients, cred, SUBSCRIPTION).catch((err: unknown) => err);
    expect(second).to.be.instanceOf(ThrottledLocallyError);
    expect(sent, 'nothing more left for the throttled subscription').to.have.length(1);
    expect(await list(clients, cred, OTHER)).to.deep.equal([]);
    expect(sent).to.have.length(2);
  });

  it('does not send a request that waited for its token while the window opened', async () => {
    const sent: string[] = [];
    const clients = new AzureClients(env, fakeTransport(sent));
    let release = () => {};
    const tokenHeld = new Promise<void>((resolve) => (release = resolve));
    // The slow request passes the first gate check, then waits for a token (Entra is slow).
    const slow = list(clients, credential(() => tokenHeld), SUBSCRIPTION).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 20));
    const throttled = await list(clients, credential(), SUBSCRIPTION).catch((err: unknown) => err);
    expect((throttled as { statusCode?: number }).statusCode).to.equal(429);
    release();
    expect(await slow).to.be.instanceOf(ThrottledLocallyError);
    expect(sent, 'only the request that was answered 429').to.have.length(1);
  });

  it('does not send a request that waited for its auxiliary (cross-tenant) token while the window opened', async () => {
    const sent: string[] = [];
    const clients = new AzureClients(env, fakeTransport(sent));
    let release = () => {};
    const tokenHeld = new Promise<void>((resolve) => (release = resolve));
    // The auxiliary token is fetched by a policy of its own; it must come before the gate's last check.
    const slow = clients.computeClient(credential(), SUBSCRIPTION, credential(() => tokenHeld)).galleries.get('rg', 'g').catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 20));
    const throttled = await list(clients, credential(), SUBSCRIPTION).catch((err: unknown) => err);
    expect((throttled as { statusCode?: number }).statusCode).to.equal(429);
    release();
    expect(await slow).to.be.instanceOf(ThrottledLocallyError);
    expect(sent, 'only the request that was answered 429').to.have.length(1);
  });

  it('stamps each request with the end of the latest window its gate knew for the subscription (0 for none)', async () => {
    const sent: string[] = [];
    const stamps: (string | undefined)[] = [];
    const clients = new AzureClients(env, fakeTransport(sent, stamps));
    const ended = Date.now() - 1;
    clients.gate.seed({ [OTHER]: ended }); // a window learned and already over
    await list(clients, credential(), SUBSCRIPTION).catch(() => undefined);
    await list(clients, credential(), OTHER);
    expect(stamps).to.deep.equal(['0', String(ended)]);
  });

  it('reports a window once when it opens or moves later, never for the requests it refuses', () => {
    let now = 1_000_000;
    const gate = new ThrottleGate(() => now);
    const changes: RetryAfterWindowChange[] = [];
    gate.onWindowChange((c) => changes.push(c));
    const url = `https://management.example.test/subscriptions/${SUBSCRIPTION.toUpperCase()}/providers/x`;
    gate.throttled(url, 3000);
    // Requests in flight when it opened come back 429 with the same or an earlier end: no new line.
    gate.throttled(url, 3000);
    now += 500;
    gate.throttled(url, 1000);
    for (let i = 0; i < 1000; i++) expect(gate.waitFor(url)).to.be.greaterThan(0);
    now += 1000;
    gate.throttled(url, 3000); // later end: the window is extended
    gate.seed({ [SUBSCRIPTION]: now + 1000 }); // inherited windows are logged where they are inherited
    expect(changes).to.deep.equal([
      { subscription: SUBSCRIPTION, retryAfterMs: 3000, until: 1_003_000 },
      { subscription: SUBSCRIPTION, retryAfterMs: 3000, until: 1_004_500 },
    ]);
  });

  it('a storm of 429s on requests already in flight logs at most one line per answer that moves the window, none per refused call', async () => {
    const sent: string[] = [];
    const clients = new AzureClients(env, {
      policy: () => ({
        name: 'fakeTransport',
        sendRequest: async (request: PipelineRequest): Promise<PipelineResponse> => {
          sent.push(request.url);
          await new Promise((r) => setTimeout(r, 5));
          return { request, status: 429, headers: createHttpHeaders({ 'retry-after': '3', 'content-type': 'application/json' }), bodyAsText: '{"error":{"code":"SubscriptionRequestsThrottled","message":"throttled"}}' };
        },
      }),
    } as unknown as AzureTransport);
    const changes: RetryAfterWindowChange[] = [];
    clients.gate.onWindowChange((c) => changes.push(c));
    const cred = credential();
    await Promise.all(Array.from({ length: 5 }, () => list(clients, cred, SUBSCRIPTION).catch(() => undefined)));
    for (let i = 0; i < 200; i++) await list(clients, cred, SUBSCRIPTION).catch(() => undefined);
    expect(sent).to.have.length(5);
    expect(changes.length).to.be.within(1, 5);
    expect(changes.every((c) => c.subscription === SUBSCRIPTION && c.retryAfterMs === 3000)).to.equal(true);
  });
});
