// How the operator's Azure requests (ARM through the arm-* clients, Entra through
// @azure/identity and MSAL) reach Azure: over kept-alive connections with the configured trust
// (the system CAs plus --azure-ca-file), direct or through the HTTPS proxy from the environment.
//
// The SDKs' own proxy support cannot be used: core-rest-pipeline's proxyPolicy skips any request
// that already has an agent (ours, for one shared pool and one TLS context), and it drops a
// client's tlsOptions when it proxies (it logs "certificates provided to the client will be
// ignored"), so the extra CA would be lost behind the proxy. Here one policy gives every request
// the agent for its URL, so the SDKs' proxyPolicy never acts; and the proxy agent tunnels with
// CONNECT and speaks TLS end to end to Azure with the same trust as a direct connection.
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { TokenCredential } from '@azure/identity';
import { HttpsProxyAgent, type HttpsProxyAgentOptions } from 'https-proxy-agent';
import type { ClientRequest } from 'node:http';
import { Agent } from 'node:https';
import type { SecureContext } from 'node:tls';
import { secureContext, type AzureEnvironment } from './environment.js';
import { bypassesProxy, redactedProxyUrl, type AzureProxy } from './proxy.js';

/** Error codes of a connection that got no answer at all. */
const NETWORK_ERRORS = /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE)$/;

export class AzureTransport {
  /**
   * Left to themselves, the SDKs give each client its own HTTP client and agent, so a thousand
   * subscriptions meant a thousand connection pools; and with an extra CA, Node parsed the whole
   * root store again for each new connection (measured: about 60 MiB of RSS at 1,000
   * GalleryShares). One agent per route, with one TLS context, reuses both.
   */
  private readonly direct: Agent;
  private readonly proxied?: TunnellingAgent;

  constructor(env: AzureEnvironment, readonly proxy?: AzureProxy) {
    const context = secureContext(env);
    const tls = context ? { secureContext: context } : {};
    this.direct = new Agent({ keepAlive: true, ...tls });
    if (proxy) this.proxied = new TunnellingAgent(proxy.url.href, { keepAlive: true, ...tls }, context);
  }

  /** Connections that failed (no answer at all, or the proxy refused), counted, with the last one's error. */
  private failures = 0;
  private lastFailure?: Error;

  /** The agent for a request to this URL: through the proxy unless NO_PROXY names its host. */
  agentFor(url: string): Agent {
    if (!this.proxied || bypassesProxy(url, this.proxy!.noProxy)) return this.direct;
    return this.proxied;
  }

  /** Where a request to this URL goes, for logs: "direct" or the proxy without its credentials. */
  routeOf(url: string): string {
    return this.agentFor(url) === this.direct ? 'direct' : `through ${redactedProxyUrl(this.proxy!.url)}`;
  }

  /**
   * The pipeline policy that gives each https request its agent. Errors of a proxied connection
   * (a proxy that refuses, or answers CONNECT with an error) say that the proxy was used, so a
   * condition reads "through the proxy ...: connect ECONNREFUSED" rather than a bare socket error.
   */
  policy(): PipelinePolicy {
    return {
      name: 'galleryShareAzureTransport',
      sendRequest: async (request, next) => {
        if (!request.url.startsWith('https:')) return next(request);
        const agent = this.agentFor(request.url);
        request.agent = agent;
        const proxied = agent !== this.direct;
        const host = new URL(request.url).host;
        let response;
        try {
          response = await next(request);
        } catch (err) {
          const e = err as Error & { code?: string; statusCode?: number };
          if (e.statusCode === undefined && e.code && NETWORK_ERRORS.test(e.code)) {
            e.message = proxied ? `${host} through the HTTPS proxy ${redactedProxyUrl(this.proxy!.url)}: ${e.message}` : `${host}: ${e.message}`;
            this.failed(e);
          }
          throw e;
        }
        // A proxy that refuses a tunnel answers CONNECT itself; https-proxy-agent hands that
        // answer on as if Azure had given it.
        if (proxied && response.status === 407) {
          throw this.failed(
            Object.assign(new Error(`the HTTPS proxy ${redactedProxyUrl(this.proxy!.url)} refused the tunnel to ${host}: 407 Proxy Authentication Required (give the proxy's user and password in HTTPS_PROXY)`), { statusCode: 407, code: 'ProxyAuthenticationRequired' }),
          );
        }
        return response;
      },
    };
  }

  private failed<E extends Error>(error: E): E {
    this.failures++;
    this.lastFailure = error;
    return error;
  }

  /**
   * The credential, except that a token request that failed because Entra could not be reached
   * fails with that network error. MSAL reports any failure to read the tenant's OpenID
   * configuration as endpoints_resolution_error, which reads as an unknown tenant (a Stalled
   * TenantNotFound), and a failed token request as an authentication error; an unreachable Entra
   * or a refusing proxy is a network failure, retried and named as such. A concurrent request's
   * failure in the same moment may be the one reported: a network failure on the way to Azure all
   * the same, and the next try tells.
   */
  reportingNetworkFailures(credential: TokenCredential): TokenCredential {
    return {
      getToken: async (scopes, options) => {
        const before = this.failures;
        try {
          return await credential.getToken(scopes, options);
        } catch (err) {
          if (this.failures > before && this.lastFailure) {
            const { code, statusCode } = this.lastFailure as { code?: string; statusCode?: number };
            throw Object.assign(new Error(`could not reach Microsoft Entra ID: ${this.lastFailure.message}`), { code, ...(statusCode ? { statusCode } : {}) });
          }
          throw err;
        }
      },
    };
  }

  /** Closes the kept-alive connections (at shutdown). */
  close(): void {
    this.direct.destroy();
    this.proxied?.destroy();
  }
}

/**
 * CONNECT through the proxy, then TLS end to end to Azure with the configured trust. The agent's
 * own options apply only to the connection to the proxy (an https:// proxy); the TLS connection
 * inside the tunnel is made from each request's options, so the trust is added to those here
 * (without it, https-proxy-agent verifies Azure against Node's default roots only).
 */
class TunnellingAgent extends HttpsProxyAgent<string> {
  constructor(proxy: string, options: HttpsProxyAgentOptions<string>, private readonly context: SecureContext | undefined) {
    super(proxy, options);
  }

  override connect(req: ClientRequest, options: Parameters<HttpsProxyAgent<string>['connect']>[1]) {
    return super.connect(req, this.context && options.secureEndpoint ? { ...options, secureContext: this.context } : options);
  }
}
