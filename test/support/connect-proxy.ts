// A loopback HTTPS proxy as enterprises run them, for tests of the operator's proxy support: it
// answers CONNECT host:port by opening a TCP tunnel (TLS stays end to end between the client and
// the target; the proxy sees only where each tunnel goes) and records every target. Names it
// knows (`hosts`) it resolves itself, so that a client can reach a host that only the proxy can
// resolve, as behind a real proxy. It may ask for credentials. Anything but CONNECT is refused
// with 405 and recorded.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';

export class ConnectProxy {
  /** Every CONNECT target, in order, as the client sent it (host:port). */
  readonly connects: string[] = [];
  /** CONNECT targets refused for lack of the right credentials (407). */
  readonly unauthorized: string[] = [];
  /** Requests that were not CONNECT (method and URL): a client that sent plain HTTP to the proxy. */
  readonly refused: string[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  port = 0;

  /**
   * `hosts`: names the proxy resolves itself. `credentials` ("user:password"): the proxy asks for
   * them (Basic, 407 without them), as authenticating proxies do.
   */
  constructor(
    private readonly hosts: Record<string, string> = {},
    private readonly credentials?: string,
  ) {
    this.server = createServer((req, res) => {
      this.refused.push(`${req.method} ${req.url}`);
      res.writeHead(405, { 'content-type': 'text/plain' }).end('this proxy only tunnels (CONNECT)');
    });
    this.server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => this.tunnel(req, client, head));
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private tunnel(req: IncomingMessage, client: Socket, head: Buffer): void {
    const target = req.url ?? '';
    if (this.credentials && req.headers['proxy-authorization'] !== `Basic ${Buffer.from(this.credentials).toString('base64')}`) {
      this.unauthorized.push(target);
      return void client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="proxy"\r\nContent-Length: 0\r\n\r\n');
    }
    this.connects.push(target);
    const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(target);
    if (!match) return void client.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    const host = match[1]!.replace(/^\[|\]$/g, '');
    const upstream = connect(Number(match[2]), this.hosts[host] ?? host);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    upstream.once('connect', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      client.pipe(upstream).pipe(client);
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
