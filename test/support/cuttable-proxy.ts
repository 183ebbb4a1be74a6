// A loopback TCP proxy in front of the API server, for tests of what the runtime does when the
// network misbehaves: connections cut, frozen, or swallowed.
import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy to the API server that can drop every connection and refuse new ones (disconnect),
 * leave the current connections open but carrying nothing while new ones work (freeze), or hold
 * every connection, current and new, open and silent (blackhole): a network partition.
 */
export class CuttableProxy {
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private cut = false;
  private silent = false;
  port = 0;

  constructor(private readonly targetPort: number) {
    this.server = createServer((client) => this.forward(client));
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this;
  }

  private forward(client: Socket): void {
    if (this.cut) return void client.destroy();
    if (this.silent) {
      this.sockets.add(client);
      client.on('error', () => client.destroy());
      return void client.pause();
    }
    const upstream = connect(this.targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  }

  disconnect(): void {
    this.cut = true;
    for (const s of this.sockets) s.destroy();
  }

  reconnect(): void {
    this.cut = false;
    this.silent = false;
  }

  blackhole(): void {
    this.freeze();
    this.silent = true;
  }

  freeze(): void {
    for (const s of this.sockets) {
      s.unpipe();
      s.pause();
    }
  }

  close(): Promise<void> {
    this.disconnect();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
