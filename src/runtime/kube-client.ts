// A small JSON client for the Kubernetes API on top of client-node's KubeConfig, which keeps
// what client-node does well (kubeconfig and in-cluster loading, TLS, token files and exec
// plugins). Requests are raw JSON because client-node's typed serializers silently drop fields
// they do not model (JSONSchemaProps.default, for one), and merge/apply patches need their own
// content types. Keep-alive connections: a reconcile makes several calls in a row.
import type { KubeConfig } from '@kubernetes/client-node';
import { Agent, request, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';

export class KubeApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly reason: string,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export const isNotFound = (err: unknown) => err instanceof KubeApiError && err.statusCode === 404;
export const isConflict = (err: unknown) => err instanceof KubeApiError && err.statusCode === 409;
export const isGone = (err: unknown) => err instanceof KubeApiError && err.statusCode === 410;

export type PatchType = 'merge' | 'json' | 'apply';
const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

/** Per-call options: a signal that abandons the call (the reconcile's timeout, or shutdown). */
export interface KubeCallOptions {
  signal?: AbortSignal;
}

export class KubeClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 32 });

  constructor(readonly kc: KubeConfig) {}

  get<T>(path: string, options?: KubeCallOptions): Promise<T> {
    return this.request<T>('GET', path, undefined, 'application/json', options);
  }

  create<T>(path: string, body: unknown, options?: KubeCallOptions): Promise<T> {
    return this.request<T>('POST', path, body, 'application/json', options);
  }

  replace<T>(path: string, body: unknown, options?: KubeCallOptions): Promise<T> {
    return this.request<T>('PUT', path, body, 'application/json', options);
  }

  patch<T>(path: string, body: unknown, type: PatchType, options?: KubeCallOptions): Promise<T> {
    return this.request<T>('PATCH', path, body, PATCH_CONTENT_TYPES[type], options);
  }

  delete<T>(path: string, options?: KubeCallOptions): Promise<T> {
    return this.request<T>('DELETE', path, undefined, 'application/json', options);
  }

  async request<T>(method: string, path: string, body?: unknown, contentType = 'application/json', callOptions: KubeCallOptions = {}): Promise<T> {
    callOptions.signal?.throwIfAborted();
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    const url = new URL(path, cluster.server);
    const options: RequestOptions = { method, headers: { accept: 'application/json' }, agent: url.protocol === 'https:' ? this.agent : undefined, ...(callOptions.signal ? { signal: callOptions.signal } : {}) };
    await this.kc.applyToHTTPSOptions(options);
    // applyToHTTPSOptions installs a fresh Agent on every call, which would make every request
    // a new TLS handshake (most of the operator's CPU under load); keep our keep-alive agent
    // unless the cluster goes through a proxy, whose agent must stay.
    if (url.protocol === 'https:' && !cluster.proxyUrl) options.agent = this.agent;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined) options.headers = { ...options.headers, 'content-type': contentType, 'content-length': Buffer.byteLength(payload) };
    const send = url.protocol === 'https:' ? request : httpRequest;
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = send(url, options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${url.pathname} timed out after 30s`)));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
    const parsed: unknown = text ? safeJson(text) : undefined;
    if (status >= 200 && status < 300) return parsed as T;
    const statusBody = parsed as { reason?: string; message?: string } | undefined;
    throw new KubeApiError(status, statusBody?.reason ?? 'Unknown', `${method} ${url.pathname}: ${status} ${statusBody?.message ?? text.slice(0, 200)}`, parsed);
  }

  close(): void {
    this.agent.destroy();
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
