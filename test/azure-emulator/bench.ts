// Throughput of the emulator for simple authenticated GETs (not a test): starts an emulator on the
// sample seed, issues GETs of a gallery over keep-alive connections for a few seconds, prints GETs/s.
// Usage: tsx test/azure-emulator/bench.ts [--seconds N] [--connections N]
import { Agent, request } from 'node:https';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { start } from './index.js';

const { values } = parseArgs({ options: { seconds: { type: 'string' }, connections: { type: 'string' } } });
const seconds = Number(values.seconds ?? 5);
const connections = Number(values.connections ?? 16);

const emulator = await start({ seed: fileURLToPath(new URL('./seeds/sample.yaml', import.meta.url)) });
const token = await emulator.control.issueToken({ appId: '7d2f4a61-3c1e-4b8a-9f05-6e2d1c3b4a58', tenantId: '6dc731fe-2682-41a6-a97e-5fb246cc86f9' });
const path = '/subscriptions/baa78062-9e05-4cbe-bc20-1fc5ea242262/resourceGroups/myGalleryRG/providers/Microsoft.Compute/galleries/myGallery?api-version=2025-12-03';
const agent = new Agent({ keepAlive: true, maxSockets: connections, ca: emulator.caPem });
const url = new URL(path, emulator.armEndpoint);

function get(): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

let done = 0;
let failed = 0;
const deadline = Date.now() + seconds * 1000;
const started = Date.now();
await Promise.all(
  Array.from({ length: connections }, async () => {
    while (Date.now() < deadline) {
      if ((await get()) === 200) done++;
      else failed++;
    }
  }),
);
const elapsed = (Date.now() - started) / 1000;
console.log(`${Math.round(done / elapsed)} GETs/s (${done} in ${elapsed.toFixed(1)} s over ${connections} keep-alive connections, ${failed} failed; client and emulator share this process)`);
agent.destroy();
await emulator.stop();
