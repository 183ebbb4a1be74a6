// The cache indexes the controllers look objects up by (client-go's Indexers), each a name and its
// index function, with the function that makes the value to look up, so that filing and looking
// up cannot disagree:
// - which GalleryShares name a gallery (one GalleryShare per gallery: the older one wins);
// - which SharedImageVMs reference a TenantGrant (a TenantGrant's change concerns only those).
import type { GalleryRef, GalleryShare, SharedImageVM } from '../api/v1alpha1/index.js';
import { galleryId } from '../azure/arm-ids.js';
import { objectKey, type IndexFunc } from '../runtime/informer.js';

/**
 * A gallery as an index value. Azure resource names are case-insensitive, so two GalleryShares
 * that spell a gallery differently still name the same one.
 */
export const galleryIndexValue = (gallery: GalleryRef): string => galleryId(gallery).toLowerCase();

export const GALLERY_SHARES_BY_GALLERY = 'galleryshares-by-gallery';
export const galleryShareGalleries: IndexFunc<GalleryShare> = (share) => (share.spec?.gallery ? [galleryIndexValue(share.spec.gallery)] : []);

/** Look up with objectKey(tenantGrant): a reference names a TenantGrant in the SharedImageVM's own namespace. */
export const SHARED_IMAGE_VMS_BY_TENANT_GRANT = 'sharedimagevms-by-tenantgrant';
export const sharedImageVmTenantGrants: IndexFunc<SharedImageVM> = (vm) => {
  const grant = vm.spec?.tenantGrantRef?.name;
  return grant ? [objectKey({ metadata: { namespace: vm.metadata.namespace, name: grant } })] : [];
};
