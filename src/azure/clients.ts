// Azure SDK clients built with the configured endpoint, scope and CA, one per credential and
// subscription, all sending through the one transport (kept-alive connections, direct or through
// the HTTPS proxy: src/azure/transport.ts). The SDKs' own retries are off: a throttled or failing call goes back to the
// controller's queue at once, which waits exactly Retry-After or backs off per object, so no
// worker ever sleeps inside the SDK. Requests are paced per subscription, credential and kind
// (src/azure/pacing.ts) unless pacing is off. Every request is reported to an observer (metrics).
import { AuthorizationManagementClient } from '@azure/arm-authorization';
import { ComputeManagementClient } from '@azure/arm-compute';
import type { TokenCredential } from '@azure/identity';
import { auxiliaryAuthenticationHeaderPolicy, type PipelinePolicy } from '@azure/core-rest-pipeline';
import { armScope, type AzureEnvironment } from './environment.js';
import { retryAfterMsFromHeaders } from './errors.js';
import { Pacer, pacingPolicy, subscriptionOf, type PacingBudgets } from './pacing.js';
import type { AzureTransport } from './transport.js';

export interface AzureRequestObserver {
  (operation: string, status: number, seconds: number): void;
}

// Resource types, most specific first, that name an operation in metrics ("PUT roleAssignments").
const OPERATION_TYPES = ['roleAssignments', 'roleDefinitions', 'permissions', 'operations', 'share', 'sharedGalleries', 'communityGalleries', 'versions', 'images', 'galleries', 'virtualMachineScaleSets', 'virtualMachines', 'resourceGroups', 'subscriptions'];

/** "GET galleries", "POST share", "GET operations": the method and the last known resource type. */
export function operationName(method: string, url: string): string {
  const segments = new URL(url).pathname.split('/').filter(Boolean).map((s) => s.toLowerCase());
  for (let i = segments.length - 1; i >= 0; i--) {
    const type = OPERATION_TYPES.find((t) => t.toLowerCase() === segments[i]);
    if (type) return `${method} ${type}`;
  }
  return `${method} other`;
}

function observerPolicy(observe: AzureRequestObserver): PipelinePolicy {
  return {
    name: 'galleryShareRequestObserver',
    async sendRequest(request, next) {
      const started = process.hrtime.bigint();
      const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
      try {
        const response = await next(request);
        observe(operationName(request.method, request.url), response.status, seconds());
        return response;
      } catch (err) {
        observe(operationName(request.method, request.url), (err as { statusCode?: number }).statusCode ?? 0, seconds());
        throw err;
      }
    },
  };
}

/** A Retry-After window the gate learned from a 429, or one it extended (what the operator logs). */
export interface RetryAfterWindowChange {
  /** Lower-case subscription id. */
  subscription: string;
  /** The Retry-After that 429 asked for. */
  retryAfterMs: number;
  /** The window's end now (ms since the epoch, wall clock). */
  until: number;
}

/**
 * The operator's log messages for the gate's windows (one line per window opened or moved later;
 * one per hand-over with the windows inherited), named here so that the chaos audit finds them.
 */
export const WINDOW_LEARNED_LOG = 'ARM asked to wait (Retry-After): not calling this subscription until the window ends';
export const WINDOWS_INHERITED_LOG = "honouring the previous leader's Retry-After windows";

/**
 * The header each request carries with the end (ms since the epoch) of the latest Retry-After
 * window its gate knew for the subscription when it let the request go, 0 for none. ARM ignores
 * headers it does not know (this one has no x-ms- prefix, so it means nothing to ARM); the chaos
 * audit reads it to tell a request sent before the operator learned a window (in flight) from one
 * sent into a window it knew.
 */
export const GATE_SEEN_HEADER = 'x-gso-gate-seen';

/**
 * After a 429, no request to that subscription is sent until its Retry-After has passed, whichever
 * object or credential asks. A request refused here fails at once as throttled with the time
 * still to wait, so the caller's queue waits exactly that long. Keyed by subscription alone,
 * stricter than ARM's buckets (per principal too): a subscription id means the same in every
 * replica, so the open windows can be handed to the next leader (windows(), seed()), and
 * Compute's resource-level limits, which also answer 429, are not per principal.
 */
export class ThrottleGate {
  private readonly notBefore = new Map<string, number>();
  private listener: (change: RetryAfterWindowChange) => void = () => {};

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Called once per window opened or moved later by a 429, never for a request the gate
   * refuses: only requests already in flight when the window opened can bring more 429s, so a
   * storm of refused calls costs nothing here.
   */
  onWindowChange(listener: (change: RetryAfterWindowChange) => void): void {
    this.listener = listener;
  }

  /** Milliseconds to wait before calling this subscription, 0 when it may be called now. */
  waitFor(url: string): number {
    const until = this.notBefore.get(subscriptionOf(url)) ?? 0;
    return Math.max(0, until - this.now());
  }

  /** The end of the latest window known for this URL's subscription (ms since the epoch), 0 for none. */
  knownUntil(url: string): number {
    return this.notBefore.get(subscriptionOf(url)) ?? 0;
  }

  throttled(url: string, retryAfterMs: number): void {
    const subscription = subscriptionOf(url);
    const until = this.now() + retryAfterMs;
    if (this.close(subscription, until)) this.listener({ subscription, retryAfterMs, until });
  }

  /** Whether the window's end moved (a later end than the one known, or a new window). */
  private close(subscription: string, until: number): boolean {
    const known = this.notBefore.get(subscription) ?? 0;
    if (until <= known) return false;
    this.notBefore.set(subscription, until);
    return true;
  }

  /** The windows still open: subscription to the wall-clock time (ms since the epoch) it ends. */
  windows(): Record<string, number> {
    const now = this.now();
    const open: Record<string, number> = {};
    for (const [subscription, until] of [...this.notBefore].sort(([a], [b]) => a.localeCompare(b))) {
      if (until > now) open[subscription] = until;
      else this.notBefore.delete(subscription);
    }
    return open;
  }

  /** Closes the gate for windows learned elsewhere (the previous leader's), keeping later ends. */
  seed(windows: Record<string, number>): void {
    for (const [subscription, until] of Object.entries(windows)) {
      if (Number.isFinite(until)) this.close(subscription.toLowerCase(), until);
    }
  }

  /** The open windows as JSON, subscription to its end in ISO 8601 (wall clock); undefined when none is open. */
  windowsText(): string | undefined {
    const open = Object.entries(this.windows());
    return open.length ? JSON.stringify(Object.fromEntries(open.map(([s, until]) => [s, new Date(until).toISOString()]))) : undefined;
  }

  /**
   * Seeds the gate from windowsText's JSON (another replica's), skipping whatever it cannot read:
   * a damaged value must not stop a leader from starting. Returns the windows still open.
   */
  seedFromText(text: string | undefined): Record<string, number> {
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      return {};
    }
    if (!parsed || typeof parsed !== 'object') return {};
    const windows: Record<string, number> = {};
    for (const [subscription, end] of Object.entries(parsed)) {
      const until = typeof end === 'string' ? Date.parse(end) : NaN;
      if (Number.isFinite(until) && until > this.now()) windows[subscription.toLowerCase()] = until;
    }
    this.seed(windows);
    return windows;
  }
}

/** Thrown instead of sending a request while the gate is closed; shaped like the SDK's RestError. */
export class ThrottledLocallyError extends Error {
  readonly statusCode = 429;
  readonly code = 'TooManyRequests';
  constructor(readonly retryAfterMs: number) {
    // No time in the message: it ends up in status, which is written only when it changes.
    super('not calling Azure until the wait it asked for (Retry-After) after throttling this subscription is over');
    this.name = 'RestError';
  }
}

/**
 * The gate, in two places of each client's pipeline. `perCall` (before pacing): a closed gate
 * costs no pacing token. `perRetry` (after the bearer-token and auxiliary-token policies, next to
 * the transport, with no await between): the last check before the request leaves, so a request
 * that waited for a token while a window opened is not sent into it; the place that stamps
 * GATE_SEEN_HEADER; and the only place that sees a 429 as a response, since the
 * SDK's deserialization policy, above it, turns error answers into thrown RestErrors.
 */
function throttleGatePolicy(gate: ThrottleGate, learn: boolean): PipelinePolicy {
  return {
    name: learn ? 'galleryShareThrottleGateLast' : 'galleryShareThrottleGate',
    async sendRequest(request, next) {
      const wait = gate.waitFor(request.url);
      if (wait > 0) throw new ThrottledLocallyError(wait);
      if (learn) request.headers.set(GATE_SEEN_HEADER, String(gate.knownUntil(request.url)));
      const response = await next(request);
      if (learn && response.status === 429) {
        gate.throttled(request.url, retryAfterMsFromHeaders(response.headers) ?? 30_000);
      }
      return response;
    },
  };
}

export class AzureClients {
  readonly gate = new ThrottleGate();
  /** Undefined when pacing is off. */
  readonly pacer: Pacer | undefined;
  private readonly compute = new WeakMap<TokenCredential, Map<string, ComputeManagementClient>>();
  private readonly authorization = new WeakMap<TokenCredential, Map<string, AuthorizationManagementClient>>();

  constructor(
    readonly env: AzureEnvironment,
    /** Shared by every client, and by the credentials (one pool per route, one TLS context). */
    private readonly transport: AzureTransport,
    private readonly observe: AzureRequestObserver = () => {},
    /** The buckets requests are paced with; none: no pacing (Retry-After is honoured anyway). */
    pacing?: PacingBudgets,
  ) {
    this.pacer = pacing ? new Pacer(pacing) : undefined;
  }

  /**
   * The options every client shares. `signing`: policies that still await something before the
   * request can leave (the auxiliary token); they go before the gate's last check, so that no
   * await lies between that check, the header it stamps, and the transport.
   */
  private common(credential: TokenCredential, signing: PipelinePolicy[] = []) {
    const pacer = this.pacer;
    const gate = this.gate;
    return {
      endpoint: this.env.armEndpoint,
      retryOptions: { maxRetries: 0 },
      additionalPolicies: [
        { policy: throttleGatePolicy(this.gate, false), position: 'perCall' as const },
        // After the gate: a closed gate costs no token. After a wait, the gate is asked again.
        ...(pacer
          ? [
              {
                policy: pacingPolicy(pacer, `credential-${this.credentialKey(credential)}`, (url) => {
                  const wait = gate.waitFor(url);
                  if (wait > 0) throw new ThrottledLocallyError(wait);
                }),
                position: 'perCall' as const,
              },
            ]
          : []),
        ...signing.map((policy) => ({ policy, position: 'perRetry' as const })),
        { policy: throttleGatePolicy(this.gate, true), position: 'perRetry' as const },
        { policy: observerPolicy(this.observe), position: 'perRetry' as const },
        { policy: this.transport.policy(), position: 'perRetry' as const },
      ],
    };
  }

  /**
   * A compute client for one credential and subscription. With `auxiliary`, every request also
   * carries that credential's token in x-ms-authorization-auxiliary: how ARM lets a request in
   * one tenant reference a resource in another (a VM made from another tenant's gallery image).
   */
  computeClient(credential: TokenCredential, subscriptionId: string, auxiliary?: TokenCredential): ComputeManagementClient {
    const bySubscription = this.compute.get(credential) ?? new Map<string, ComputeManagementClient>();
    this.compute.set(credential, bySubscription);
    const key = auxiliary ? `${subscriptionId}|${this.credentialKey(auxiliary)}` : subscriptionId;
    let client = bySubscription.get(key);
    if (!client) {
      const scopes = [armScope(this.env)];
      client = new ComputeManagementClient(credential, subscriptionId, {
        ...this.common(credential, auxiliary ? [auxiliaryAuthenticationHeaderPolicy({ credentials: [auxiliary], scopes })] : []),
        credentials: { scopes },
      });
      bySubscription.set(key, client);
    }
    return client;
  }

  private readonly credentialKeys = new WeakMap<TokenCredential, number>();
  private nextCredentialKey = 0;

  /**
   * A number per credential object: the calling principal, as far as pacing and the auxiliary
   * clients need it (the credential cache hands out one object per identity), without decoding
   * any token.
   */
  private credentialKey(credential: TokenCredential): number {
    let key = this.credentialKeys.get(credential);
    if (key === undefined) {
      key = ++this.nextCredentialKey;
      this.credentialKeys.set(credential, key);
    }
    return key;
  }

  authorizationClient(credential: TokenCredential, subscriptionId: string): AuthorizationManagementClient {
    const bySubscription = this.authorization.get(credential) ?? new Map<string, AuthorizationManagementClient>();
    this.authorization.set(credential, bySubscription);
    let client = bySubscription.get(subscriptionId);
    if (!client) {
      client = new AuthorizationManagementClient(credential, subscriptionId, { ...this.common(credential), credentialScopes: [armScope(this.env)] });
      bySubscription.set(subscriptionId, client);
    }
    return client;
  }

  /** Closes the kept-alive connections (at shutdown). */
  close(): void {
    this.transport.close();
  }
}
