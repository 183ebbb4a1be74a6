// The field descriptions reach users: the OpenAPI v3 document the API server publishes carries a
// description on every field of the three kinds, and `kubectl explain` shows them.
import { expect } from 'chai';
import { ALL_KINDS, GROUP, VERSION } from '../../src/api/v1alpha1/index.js';
import { kubeClients, kubectl, rawGet } from '../support/kube.js';

interface Schema {
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  allOf?: Schema[];
}

/** Paths of fields below `schema` that have no description. */
function undescribed(schema: Schema, path: string): string[] {
  const missing: string[] = [];
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    const childPath = `${path}.${name}`;
    if (!child.description?.trim()) missing.push(childPath);
    missing.push(...undescribed(child, childPath));
    if (child.items) missing.push(...undescribed(child.items, `${childPath}[]`));
  }
  return missing;
}

describe('published OpenAPI and kubectl explain', () => {
  it('describes every spec and status field of every kind', async () => {
    const { kc } = kubeClients();
    const index = await rawGet(kc, '/openapi/v3');
    expect(index.status).to.equal(200);
    const paths = (JSON.parse(index.body) as { paths: Record<string, { serverRelativeURL: string }> }).paths;
    const entry = paths[`apis/${GROUP}/${VERSION}`];
    expect(entry, 'group version published').to.exist;
    const doc = await rawGet(kc, entry!.serverRelativeURL);
    expect(doc.status).to.equal(200);
    const schemas = (JSON.parse(doc.body) as { components: { schemas: Record<string, Schema> } }).components.schemas;
    for (const kind of ALL_KINDS) {
      const schema = schemas[`io.galleryshare.${VERSION}.${kind.kind}`];
      expect(schema, kind.kind).to.exist;
      expect(schema!.description).to.equal(kind.description);
      for (const part of ['spec', 'status'] as const) {
        expect(schema!.properties?.[part]?.description, `${kind.kind}.${part}`).to.be.a('string').and.not.empty;
        expect(undescribed(schema!.properties![part]!, `${kind.kind}.${part}`)).to.deep.equal([]);
      }
    }
  });

  it('shows the descriptions in kubectl explain', async () => {
    const { stdout } = await kubectl(['explain', 'galleryshares.spec.directShare']);
    expect(stdout).to.include('Direct sharing (az sig share add/remove)');
    expect(stdout).to.match(/subscriptions\s+<\[\]string>/);
    const vm = await kubectl(['explain', 'sharedimagevm.spec.image.sharedGalleryImageId']);
    expect(vm.stdout).to.include('/SharedGalleries/<uniqueName>/Images/<image>/Versions/<version or latest>');
  });
});
