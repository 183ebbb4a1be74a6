// The galleryshare.io/v1alpha1 API: the three kinds, their TypeScript types and their CRDs.
export * from './common.js';
export * from './roles.js';
export * from './galleryshare.js';
export * from './tenantgrant.js';
export * from './sharedimagevm.js';
export { collectionPath, crdName, customResourceDefinition, objectPath, type KindDefinition, type PrinterColumn } from './kind.js';
import { GalleryShareKind } from './galleryshare.js';
import { TenantGrantKind } from './tenantgrant.js';
import { SharedImageVMKind } from './sharedimagevm.js';

export const ALL_KINDS = [GalleryShareKind, TenantGrantKind, SharedImageVMKind] as const;
