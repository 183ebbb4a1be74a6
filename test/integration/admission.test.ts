// Admission: the real API server rejects every manifest in test/fixtures/invalid with the message
// its `# expect:` line names, refuses changes to immutable fields, and keeps spec and status
// apart (the status subresource).
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_KINDS } from '../../src/api/v1alpha1/index.js';
import { collectionPath, createTestNamespace, deleteNamespace, kubeClients, loadYamlDocuments, rawRequest, repoRoot, type KubeClients } from '../support/kube.js';

const invalidDir = join(repoRoot, 'test', 'fixtures', 'invalid');
const invalidFiles = readdirSync(invalidDir).filter((f) => f.endsWith('.yaml')).sort();
const samplesDir = join(repoRoot, 'config', 'samples');

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- free-form manifests

function pluralOf(kind: unknown): string {
  const def = ALL_KINDS.find((k) => k.kind === kind);
  if (!def) throw new Error(`unknown kind ${String(kind)}`);
  return def.plural;
}

function sample(file: string): Obj {
  return loadYamlDocuments(join(samplesDir, file))[0] as Obj;
}

async function create(clients: KubeClients, namespace: string, obj: Obj) {
  return rawRequest(clients.kc, 'POST', collectionPath(namespace, pluralOf(obj.kind)), obj);
}

async function mergePatch(clients: KubeClients, namespace: string, obj: Obj, patch: Obj, subresource = '') {
  const path = `${collectionPath(namespace, pluralOf(obj.kind))}/${obj.metadata.name}${subresource}`;
  return rawRequest(clients.kc, 'PATCH', path, patch, { 'content-type': 'application/merge-patch+json' });
}

describe('admission on a real API server', () => {
  let clients: KubeClients;
  let namespace: string;
  before(() => {
    clients = kubeClients();
  });
  beforeEach(async () => {
    namespace = await createTestNamespace(clients, 'admission');
  });
  afterEach(async () => {
    await deleteNamespace(clients, namespace);
  });

  describe('the invalid corpus', () => {
    it('holds at least 40 manifests, each naming the message it expects', () => {
      expect(invalidFiles.length).to.be.at.least(40);
      for (const file of invalidFiles) expect(readFileSync(join(invalidDir, file), 'utf8'), file).to.match(/^# expect: .+$/m);
    });

    for (const file of invalidFiles) {
      it(`rejects ${file}`, async () => {
        const text = readFileSync(join(invalidDir, file), 'utf8');
        const expected = /^# expect: (.+)$/m.exec(text)![1]!.trim();
        const obj = loadYamlDocuments(join(invalidDir, file))[0] as Obj;
        const res = await create(clients, namespace, obj);
        expect(res.status, `${file} was accepted`).to.equal(422);
        const message = (JSON.parse(res.body) as { message: string }).message;
        expect(message, file).to.include(expected);
      });
    }
  });

  describe('role assignments Azure tells apart', () => {
    // The duplicate fixtures end with the entry that repeats an earlier one; without it they pass,
    // so each is refused for the repetition alone.
    for (const file of invalidFiles.filter((f) => f.startsWith('gs-duplicate-role-'))) {
      it(`accepts ${file} without its last, repeated entry`, async () => {
        const obj = loadYamlDocuments(join(invalidDir, file))[0] as Obj;
        obj.spec.roleAssignments.pop();
        const res = await create(clients, namespace, obj);
        expect(res.status, res.body).to.equal(201);
      });
    }

    it('accepts entries that differ in principal, role or scope, whatever their case', async () => {
      const share = sample('galleryshare.yaml');
      const p = '46aa012d-d1f7-489d-a76f-0a4d731c1075';
      const q = '76694ad6-ac58-4d24-bcf6-4ae1c7777e9d';
      share.spec.roleAssignments = [
        { principalId: p, principalType: 'Group', role: 'Reader' },
        { principalId: q.toUpperCase(), principalType: 'Group', role: 'Reader' },
        { principalId: p, principalType: 'Group', role: 'Contributor' },
        { principalId: p, principalType: 'Group', role: 'B24988AC-6180-42A0-AB88-20F7382DD24D' }, // one digit off Contributor's GUID
        { principalId: p, principalType: 'Group', role: 'Reader', image: 'Ubuntu-2404' },
        { principalId: p, principalType: 'Group', role: 'Reader', image: 'ubuntu-2404-gen2' },
        { principalId: p, principalType: 'Group', role: 'Reader', image: 'ubuntu-2404', version: '1.0.0' },
        { principalId: p, principalType: 'Group', role: 'Reader', image: 'ubuntu-2404', version: '1.0.10' },
        { principalId: p, principalType: 'Group', role: 'acdd72a7-3385-48ef-bd42-f606fba81ae7', image: 'ubuntu-2404', version: '10.0.0' },
      ];
      const res = await create(clients, namespace, share);
      expect(res.status, res.body).to.equal(201);
    });

    it('accepts the most assignments allowed (50), with the longest values admission allows, within the CEL cost budget', async () => {
      const share = sample('galleryshare.yaml');
      const image = `Image-${'x'.repeat(73)}`; // 80 characters, the most an image name has
      share.spec.roleAssignments = Array.from({ length: 50 }, (_, i) => ({
        principalId: `46AA012D-D1F7-489D-A76F-0A4D731C${String(i).padStart(4, '0')}`,
        principalType: 'ServicePrincipal',
        role: i % 2 ? 'Compute Gallery Image Reader' : 'CF7C76D2-98A3-4358-A134-615AA78BF44D',
        image,
        version: `2147483647.2147483647.${2147483597 + i}`, // the last is 2147483646
      }));
      const res = await create(clients, namespace, share);
      expect(res.status, res.body).to.equal(201);
    });
  });

  describe('immutable identity fields', () => {
    const cases: { name: string; file: string; patch: Obj; expected: string }[] = [
      { name: 'GalleryShare gallery name', file: 'galleryshare.yaml', patch: { spec: { gallery: { name: 'otherGallery' } } }, expected: 'the gallery reference is immutable' },
      { name: 'GalleryShare gallery subscription', file: 'galleryshare.yaml', patch: { spec: { gallery: { subscriptionId: '00000000-0000-4000-8000-000000000001' } } }, expected: 'the gallery reference is immutable' },
      { name: 'TenantGrant application', file: 'tenantgrant.yaml', patch: { spec: { application: { clientId: '00000000-0000-4000-8000-000000000001' } } }, expected: 'application.clientId is immutable' },
      { name: 'TenantGrant source tenant', file: 'tenantgrant.yaml', patch: { spec: { source: { tenantId: '00000000-0000-4000-8000-000000000001' } } }, expected: 'source.tenantId is immutable' },
      { name: 'TenantGrant source gallery', file: 'tenantgrant.yaml', patch: { spec: { source: { gallery: { resourceGroup: 'otherRG' } } } }, expected: 'the gallery reference is immutable' },
      { name: 'TenantGrant target tenant', file: 'tenantgrant.yaml', patch: { spec: { target: { tenantId: '00000000-0000-4000-8000-000000000001' } } }, expected: 'target.tenantId is immutable' },
      { name: 'TenantGrant target subscription', file: 'tenantgrant.yaml', patch: { spec: { target: { subscriptionId: '00000000-0000-4000-8000-000000000001' } } }, expected: 'target.subscriptionId is immutable' },
      { name: 'TenantGrant target resource group', file: 'tenantgrant.yaml', patch: { spec: { target: { resourceGroup: 'otherRG' } } }, expected: 'target.resourceGroup is immutable' },
      { name: 'SharedImageVM location', file: 'sharedimagevm.yaml', patch: { spec: { location: 'eastus' } }, expected: 'location is immutable' },
      { name: 'SharedImageVM subscription', file: 'sharedimagevm.yaml', patch: { spec: { subscriptionId: '00000000-0000-4000-8000-000000000001', network: { subnetId: '/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/r/providers/Microsoft.Network/virtualNetworks/v/subnets/s' } } }, expected: 'subscriptionId is immutable' },
      { name: 'SharedImageVM resource group', file: 'sharedimagevm.yaml', patch: { spec: { resourceGroup: 'otherRG' } }, expected: 'resourceGroup is immutable' },
      { name: 'SharedImageVM image of a single VM', file: 'sharedimagevm.yaml', patch: { spec: { image: { sharedGalleryImageId: '/SharedGalleries/baa78062-9e05-4cbe-bc20-1fc5ea242262-MYGALLERY/Images/ubuntu-2404/Versions/1.0.0' } } }, expected: 'image is immutable for a single VM' },
      { name: 'SharedImageVM turned into a scale set', file: 'sharedimagevm.yaml', patch: { spec: { scaleSet: { capacity: 2 } } }, expected: 'scaleSet cannot be added or removed' },
      { name: 'SharedImageVM admin user', file: 'sharedimagevm.yaml', patch: { spec: { adminUsername: 'otheruser' } }, expected: 'adminUsername is immutable' },
      {
        name: 'SharedImageVM SSH keys of a single VM',
        file: 'sharedimagevm.yaml',
        patch: { spec: { sshPublicKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBm9hfKhG2cEz0X3xqwNqpLdj5yDsYq0mGc4y4yVf1Zb other@fabrikam'] } },
        expected: 'sshPublicKeys is immutable for a single VM',
      },
      { name: 'SharedImageVM security type of a single VM', file: 'sharedimagevm.yaml', patch: { spec: { securityType: 'TrustedLaunch' } }, expected: 'securityType is immutable for a single VM' },
      { name: 'SharedImageVM zones of a single VM', file: 'sharedimagevm.yaml', patch: { spec: { zones: ['2'] } }, expected: 'zones is immutable for a single VM' },
      { name: 'scale set orchestration mode', file: 'sharedimagevm-crosstenant-scaleset.yaml', patch: { spec: { scaleSet: { orchestrationMode: 'Uniform' } } }, expected: 'scaleSet.orchestrationMode is immutable' },
    ];
    for (const c of cases) {
      it(`refuses a change of the ${c.name}`, async () => {
        const obj = sample(c.file);
        expect((await create(clients, namespace, obj)).status).to.equal(201);
        const res = await mergePatch(clients, namespace, obj, c.patch);
        expect(res.status, res.body).to.equal(422);
        expect((JSON.parse(res.body) as { message: string }).message).to.include(c.expected);
      });
    }

    it('allows the mutable fields to change: size, capacity, the image of a scale set, the share lists', async () => {
      const pool = sample('sharedimagevm-crosstenant-scaleset.yaml');
      expect((await create(clients, namespace, pool)).status).to.equal(201);
      const scaled = await mergePatch(clients, namespace, pool, {
        spec: { size: 'Standard_D4s_v5', scaleSet: { capacity: 5 }, image: { id: pool.spec.image.id.replace('/versions/1.0.0', '/versions/1.1.0') } },
      });
      expect(scaled.status, scaled.body).to.equal(200);
      const share = sample('galleryshare.yaml');
      expect((await create(clients, namespace, share)).status).to.equal(201);
      const changed = await mergePatch(clients, namespace, share, { spec: { directShare: { tenants: [] }, deletionPolicy: 'Orphan' } });
      expect(changed.status, changed.body).to.equal(200);
      expect((JSON.parse(changed.body) as Obj).metadata.generation).to.equal(2);
    });
  });

  describe('the status subresource', () => {
    it('ignores status in a spec update and spec in a status update', async () => {
      const share = sample('galleryshare.yaml');
      const created = await create(clients, namespace, share);
      expect(created.status).to.equal(201);

      const condition = { type: 'Ready', status: 'False', reason: 'Reconciling', message: 'working', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 };
      const statusUpdate = await mergePatch(
        clients,
        namespace,
        share,
        { spec: { permission: 'Private' }, status: { observedGeneration: 1, galleryUniqueName: 'x-MYGALLERY', conditions: [condition] } },
        '/status',
      );
      expect(statusUpdate.status, statusUpdate.body).to.equal(200);
      const afterStatus = JSON.parse(statusUpdate.body) as Obj;
      expect(afterStatus.spec.permission, 'spec untouched by a status update').to.equal('Groups');
      expect(afterStatus.metadata.generation).to.equal(1);
      expect(afterStatus.status.galleryUniqueName).to.equal('x-MYGALLERY');

      const specUpdate = await mergePatch(clients, namespace, share, { spec: { deletionPolicy: 'Orphan' }, status: { galleryUniqueName: 'overwritten' } });
      expect(specUpdate.status, specUpdate.body).to.equal(200);
      const afterSpec = JSON.parse(specUpdate.body) as Obj;
      expect(afterSpec.spec.deletionPolicy).to.equal('Orphan');
      expect(afterSpec.metadata.generation).to.equal(2);
      expect(afterSpec.status.galleryUniqueName, 'status untouched by a spec update').to.equal('x-MYGALLERY');
      expect(afterSpec.status.conditions).to.deep.equal([condition]);
    });
  });
});
