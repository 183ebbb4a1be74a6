// The controllers' indexes: GalleryShares by the gallery they name (however its name is cased)
// and SharedImageVMs by the TenantGrant they reference, looked up with the same value functions.
import { expect } from 'chai';
import pino from 'pino';
import type { GalleryShare, SharedImageVM } from '../../src/api/v1alpha1/index.js';
import {
  GALLERY_SHARES_BY_GALLERY,
  SHARED_IMAGE_VMS_BY_TENANT_GRANT,
  galleryIndexValue,
  galleryShareGalleries,
  sharedImageVmTenantGrants,
} from '../../src/controllers/indexes.js';
import { Informer, objectKey } from '../../src/runtime/informer.js';
import { FakeListerWatcher } from '../support/fake-lister-watcher.js';

const SUB = '2e5a6f1c-0d3b-4a7e-9c8f-1b2a3c4d5e6f';
const share = (namespace: string, name: string, gallery: { subscriptionId: string; resourceGroup: string; name: string }) =>
  ({ apiVersion: 'galleryshare.io/v1alpha1', kind: 'GalleryShare', metadata: { namespace, name, resourceVersion: '1' }, spec: { gallery } }) as unknown as GalleryShare;
const vm = (namespace: string, name: string, tenantGrant?: string) =>
  ({ apiVersion: 'galleryshare.io/v1alpha1', kind: 'SharedImageVM', metadata: { namespace, name, resourceVersion: '1' }, spec: tenantGrant ? { tenantGrantRef: { name: tenantGrant } } : {} }) as unknown as SharedImageVM;

async function informerOf<T extends GalleryShare | SharedImageVM>(objects: T[]) {
  const lw = new FakeListerWatcher<T>();
  lw.objects = objects;
  const informer = new Informer<T>({ listerWatcher: lw, logger: pino({ level: 'silent' }) });
  await informer.start();
  return informer;
}

describe('controller indexes', () => {
  it('finds the GalleryShares that name a gallery, however its names are cased', async () => {
    const gallery = { subscriptionId: SUB, resourceGroup: 'rg-images', name: 'corpGallery' };
    const informer = await informerOf([
      share('a', 'first', gallery),
      share('b', 'second', { subscriptionId: SUB.toUpperCase(), resourceGroup: 'RG-Images', name: 'CORPGALLERY' }),
      share('a', 'other', { ...gallery, name: 'otherGallery' }),
    ]);
    informer.addIndex(GALLERY_SHARES_BY_GALLERY, galleryShareGalleries);
    expect(informer.byIndex(GALLERY_SHARES_BY_GALLERY, galleryIndexValue(gallery)).map(objectKey).sort()).to.deep.equal(['a/first', 'b/second']);
    await informer.stop();
  });

  it('finds the SharedImageVMs that reference a TenantGrant in their own namespace', async () => {
    const informer = await informerOf([vm('team', 'vm1', 'partner'), vm('team', 'vm2', 'partner'), vm('other', 'vm3', 'partner'), vm('team', 'vm4')]);
    informer.addIndex(SHARED_IMAGE_VMS_BY_TENANT_GRANT, sharedImageVmTenantGrants);
    const grant = { metadata: { namespace: 'team', name: 'partner' } };
    expect(informer.byIndex(SHARED_IMAGE_VMS_BY_TENANT_GRANT, objectKey(grant)).map(objectKey).sort()).to.deep.equal(['team/vm1', 'team/vm2']);
    await informer.stop();
  });
});
