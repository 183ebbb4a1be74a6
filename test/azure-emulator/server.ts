// The HTTPS server: reads each request, hands control paths (/__emulator/...) to the control API
// and everything else to the emulator, and writes the answer (or drops the connection, or holds it
// open without answering).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createServer, type Server } from 'node:https';
import { handleControl, controlPrefix } from './control-routes.js';
import type { EmulatorControl } from './control.js';
import type { Emulator } from './emulator.js';
import type { HeldRequest } from './faults.js';
import { parseRequestTarget, type EmulatorRequest, type EmulatorResponse } from './http.js';

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function write(res: ServerResponse, response: EmulatorResponse): void {
  const headers: Record<string, string> = {
    'x-ms-request-id': randomUUID(),
    'x-ms-correlation-request-id': randomUUID(),
    ...(response.headers ?? {}),
  };
  let payload: string | undefined;
  if (typeof response.body === 'string') payload = response.body;
  else if (response.body !== undefined) {
    payload = JSON.stringify(response.body);
    headers['content-type'] ??= 'application/json; charset=utf-8';
  }
  headers['content-length'] = String(payload === undefined ? 0 : Buffer.byteLength(payload));
  res.writeHead(response.status, headers);
  res.end(payload);
}

/**
 * A hang fault: nothing is written; the socket is destroyed when the client closes it, when the
 * fault is removed or cleared, or when the server stops (closeAllConnections closes it).
 */
function holdOpen(socket: Socket, held: HeldRequest): void {
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    held.signal.removeEventListener('abort', end);
    socket.off('close', end);
    held.release();
    socket.destroy();
  };
  if (held.signal.aborted || socket.destroyed) {
    end();
    return;
  }
  held.signal.addEventListener('abort', end, { once: true });
  socket.once('close', end);
}

export function createEmulatorServer(tls: { key: string; cert: string }, emulator: Emulator, control: EmulatorControl, info: () => unknown): Server {
  return createServer({ key: tls.key, cert: tls.cert, keepAliveTimeout: 30_000 }, (req, res) => {
    void (async () => {
      try {
        const body = await readBody(req);
        const target = parseRequestTarget(req.url ?? '/');
        const request: EmulatorRequest = { method: (req.method ?? 'GET').toUpperCase(), ...target, headers: req.headers, body, origin: `https://${req.headers.host ?? 'localhost'}` };
        if (request.segments[0] === controlPrefix) {
          write(res, await handleControl(control, request, info));
          return;
        }
        const handled = await emulator.handle(request);
        if (handled.hang) {
          holdOpen(req.socket, handled.hang);
          return;
        }
        if (handled.drop || !handled.response) {
          req.socket.destroy();
          return;
        }
        write(res, handled.response);
      } catch (err) {
        // A bug in the emulator: answer 500 in ARM's shape so the client sees it, and say why.
        console.error('azure-emulator: internal error', err);
        if (!res.headersSent) write(res, { status: 500, body: { error: { code: 'InternalServerError', message: `Azure emulator bug: ${(err as Error).message}` } } });
        else res.destroy();
      }
    })();
  });
}
