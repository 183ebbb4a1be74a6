// Time per ARM call of the emulator in the world of the scale run at its end (not a test): seeds
// the scale run's workload (test/support/workload.ts, seed 1, N GalleryShares), adds the two role
// assignments each GalleryShare makes (2N, 20,000 at the default 10,000), then issues the calls one
// GalleryShare's reconcile makes, one at a time over one keep-alive connection, and prints the mean
// ms per call of each kind. Client and emulator share this process.
// Usage: tsx test/azure-emulator/bench-scale.ts [--objects N] [--calls N]
import { Agent, request } from 'node:https';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { buildWorkload } from '../support/workload.js';
import { idKey } from './ids.js';
import { start } from './index.js';
import { builtInRoles } from './arm/roles.js';
import { roleAssignmentId, type RoleAssignmentRecord } from './world.js';

const { values } = parseArgs({ options: { objects: { type: 'string' }, calls: { type: 'string' } } });
const N = Number(values.objects ?? 10_000);
const calls = Number(values.calls ?? 200);

const workload = buildWorkload({ galleryShares: N, tenantGrants: 0, sharedImageVMs: 0, seed: 1, namespacePrefix: 'scale' });
const azure = await start({ seed: workload.seed, options: { lroDurationMs: 0, retryAfterSeconds: 1 } });
const world = azure.emulator.world;
const roleGuid = (name: string) => builtInRoles.find((r) => r.roleName === name)!.guid;
const at = new Date().toISOString();
for (const o of workload.objects) {
  if (o.manifest.kind !== 'GalleryShare') continue;
  const { gallery, roleAssignments } = o.manifest.spec;
  const scope = `/subscriptions/${gallery.subscriptionId}/resourceGroups/${gallery.resourceGroup}/providers/Microsoft.Compute/galleries/${gallery.name}`;
  for (const ra of roleAssignments ?? []) {
    const record: RoleAssignmentRecord = { name: randomUUID(), scope, roleDefinitionId: roleGuid(ra.role), principalId: ra.principalId, principalType: 'Group', createdOn: at, updatedOn: at };
    world.roleAssignments.set(idKey(roleAssignmentId(record)), record);
  }
}
console.log(`${world.roleAssignments.size} role assignments, ${world.resources.size} resources`);

const secret = workload.secrets.find((s) => s.name === 'gallery-owner')!;
const token = await azure.control.issueToken({ appId: secret.stringData['clientId']!, tenantId: secret.stringData['tenantId']! });
const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: azure.caPem });

function call(method: string, path: string, body?: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, azure.armEndpoint);
    const req = request(url, { method, agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

// The galleries of the owner's namespace (its credentials' role assignments reach them).
const mine = workload.objects.filter((o) => o.namespace === secret.namespace && o.manifest.kind === 'GalleryShare');
const kinds: Record<string, (i: number) => [string, string, unknown?]> = {
  'GET gallery': (i) => ['GET', `${scopeOf(i)}?api-version=2025-03-03`],
  'GET roleAssignments (list at gallery)': (i) => ['GET', `${scopeOf(i)}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01`],
  'PUT roleAssignment': (i) => [
    'PUT',
    `${scopeOf(i)}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}?api-version=2022-04-01`,
    { properties: { roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${roleGuid('Contributor')}`, principalId: workload.groups[i % workload.groups.length], principalType: 'Group' } },
  ],
};
function scopeOf(i: number): string {
  const g = (mine[i % mine.length]!.manifest as { spec: { gallery: { subscriptionId: string; resourceGroup: string; name: string } } }).spec.gallery;
  return `/subscriptions/${g.subscriptionId}/resourceGroups/${g.resourceGroup}/providers/Microsoft.Compute/galleries/${g.name}`;
}

for (const [kind, make] of Object.entries(kinds)) {
  for (let i = 0; i < 20; i++) await call(...make(i)); // warm up
  const statuses = new Map<number, number>();
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    const status = await call(...make(i + 20));
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6 / calls;
  console.log(`${kind}: ${ms.toFixed(2)} ms per call (${calls} calls; status ${[...statuses].map(([s, n]) => `${s}x${n}`).join(', ')})`);
}
agent.destroy();
await azure.stop();
