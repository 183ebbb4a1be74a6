// Azure SDK clients built with the configured endpoint, scope and CA, one per credential and
// subscription, all sending through the one transport (kept-alive connections, direct or through
// the HTTPS proxy: src/azure/transport.ts). The SDKs' own retries are off: a throttled or failing call goes back to the
// controller's queue at once, which waits exactly Retry-After or backs off per object, so no
// worker ever sleeps inside the SDK. Every request is reported to an observer (metrics).
import { AuthorizationManagementClient } from '@azure/arm-authorization';
import { ComputeManagementClient } from '@azure/arm-compute';
import type { TokenCredential } from '@azure/identity';
import { auxiliaryAuthenticationHeaderPolicy, type PipelinePolicy } from '@azure/core-rest-pipeline';
import { armScope, type AzureEnvironment } from './environment.js';
import { retryAfterMsFromHeaders } from './errors.js';
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

/**
 * ARM throttles per subscription: after a 429, no request to that subscription is sent until its
 * Retry-After has passed, whichever object asks. A request refused here fails at once as throttled
 * with the time still to wait, so the caller's queue waits exactly that long.
 */
export class ThrottleGate {
  private readonly notBefore = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Milliseconds to wait before calling this subscription, 0 when it may be called now. */
  waitFor(url: string): number {
    const until = this.notBefore.get(subscriptionOf(url)) ?? 0;
    return Math.max(0, until - this.now());
  }

  throttled(url: string, retryAfterMs: number): void {
    const key = subscriptionOf(url);
    this.notBefore.set(key, Math.max(this.notBefore.get(key) ?? 0, this.now() + retryAfterMs));
  }
}

function subscriptionOf(url: string): string {
  return /\/subscriptions\/([^/?]+)/i.exec(new URL(url).pathname)?.[1]?.toLowerCase() ?? '(tenant)';
}

/** Thrown instead of sending a request while the gate is closed; shaped like the SDK's RestError. */
export class ThrottledLocallyError extends Error {
  readonly statusCode = 429;
  readonly code = 'TooManyRequests';
  constructor(readonly retryAfterMs: number) {
    super(`not calling Azure for ${Math.ceil(retryAfterMs / 1000)}s more: it asked to wait (Retry-After) after throttling this subscription`);
    this.name = 'RestError';
  }
}

function throttleGatePolicy(gate: ThrottleGate): PipelinePolicy {
  return {
    name: 'galleryShareThrottleGate',
    async sendRequest(request, next) {
      const wait = gate.waitFor(request.url);
      if (wait > 0) throw new ThrottledLocallyError(wait);
      const response = await next(request);
      if (response.status === 429) {
        gate.throttled(request.url, retryAfterMsFromHeaders(response.headers) ?? 30_000);
      }
      return response;
    },
  };
}

export class AzureClients {
  readonly gate = new ThrottleGate();
  private readonly compute = new WeakMap<TokenCredential, Map<string, ComputeManagementClient>>();
  private readonly authorization = new WeakMap<TokenCredential, Map<string, AuthorizationManagementClient>>();

  constructor(
    readonly env: AzureEnvironment,
    /** Shared by every client, and by the credentials (one pool per route, one TLS context). */
    private readonly transport: AzureTransport,
    private readonly observe: AzureRequestObserver = () => {},
  ) {}

  private common() {
    return {
      endpoint: this.env.armEndpoint,
      retryOptions: { maxRetries: 0 },
      additionalPolicies: [
        { policy: throttleGatePolicy(this.gate), position: 'perCall' as const },
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
    const key = auxiliary ? `${subscriptionId}|${this.auxiliaryKey(auxiliary)}` : subscriptionId;
    let client = bySubscription.get(key);
    if (!client) {
      const common = this.common();
      const scopes = [armScope(this.env)];
      client = new ComputeManagementClient(credential, subscriptionId, {
        ...common,
        additionalPolicies: [...common.additionalPolicies, ...(auxiliary ? [{ policy: auxiliaryAuthenticationHeaderPolicy({ credentials: [auxiliary], scopes }), position: 'perRetry' as const }] : [])],
        credentials: { scopes },
      });
      bySubscription.set(key, client);
    }
    return client;
  }

  private readonly auxiliaryKeys = new WeakMap<TokenCredential, number>();
  private nextAuxiliaryKey = 0;

  private auxiliaryKey(credential: TokenCredential): number {
    let key = this.auxiliaryKeys.get(credential);
    if (key === undefined) {
      key = ++this.nextAuxiliaryKey;
      this.auxiliaryKeys.set(credential, key);
    }
    return key;
  }

  authorizationClient(credential: TokenCredential, subscriptionId: string): AuthorizationManagementClient {
    const bySubscription = this.authorization.get(credential) ?? new Map<string, AuthorizationManagementClient>();
    this.authorization.set(credential, bySubscription);
    let client = bySubscription.get(subscriptionId);
    if (!client) {
      client = new AuthorizationManagementClient(credential, subscriptionId, { ...this.common(), credentialScopes: [armScope(this.env)] });
      bySubscription.set(subscriptionId, client);
    }
    return client;
  }

  /** Closes the kept-alive connections (at shutdown). */
  close(): void {
    this.transport.close();
  }
}
