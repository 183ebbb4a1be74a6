// The metrics and health endpoint: /metrics (Prometheus text), /healthz (the process runs) and
// /readyz (informers synced, and either leading or standing by; not while shutting down).
import { createServer, type Server } from 'node:http';
import type { OperatorMetrics } from './metrics.js';

export interface HealthChecks {
  /** Why the operator is not ready, or undefined when it is. */
  notReadyReason(): string | undefined;
}

export async function startHealthServer(address: string, metrics: OperatorMetrics, checks: HealthChecks): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const { host, port } = parseAddress(address);
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/metrics') {
      metrics.registry
        .metrics()
        .then((text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text))
        .catch((err: Error) => res.writeHead(500).end(err.message));
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    } else if (path === '/readyz') {
      const reason = checks.notReadyReason();
      res.writeHead(reason ? 503 : 200, { 'content-type': 'text/plain' }).end(reason ?? 'ok');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address();
  return {
    server,
    port: typeof bound === 'object' && bound ? bound.port : port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** ":8080", "0.0.0.0:8080", "127.0.0.1:0" or "[::1]:8080". */
export function parseAddress(address: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address);
  if (!match) throw new Error(`"${address}" is not an address (host:port, such as :8080 or 127.0.0.1:8080)`);
  const port = Number(match[3]);
  if (port > 65535) throw new Error(`"${address}": port ${port} is out of range`);
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}
