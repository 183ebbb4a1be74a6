// Every ARM operation the emulator serves, with its operation name and the RBAC action it needs.
import type { ArmRoute } from './router.js';
import * as rg from './resource-groups.js';
import * as galleries from './galleries.js';
import { shareGallery } from './sharing.js';
import * as images from './images.js';
import * as shared from './shared-galleries.js';
import * as community from './community-galleries.js';
import * as authz from './authorization.js';
import { getOperation } from './lro.js';
import { scaleSets, virtualMachines } from './virtual-machines.js';
import { network } from './network.js';

const sub = '/subscriptions/{subscriptionId}';
const rgPath = `${sub}/resourceGroups/{resourceGroupName}`;
const gallery = `${rgPath}/providers/Microsoft.Compute/galleries/{galleryName}`;
const image = `${gallery}/images/{galleryImageName}`;
const version = `${image}/versions/{galleryImageVersionName}`;
const location = `${sub}/providers/Microsoft.Compute/locations/{location}`;
const sharedGallery = `${location}/sharedGalleries/{galleryUniqueName}`;
const communityGallery = `${location}/communityGalleries/{publicGalleryName}`;
const authorization = '{*scope}/providers/Microsoft.Authorization';
const vm = `${rgPath}/providers/Microsoft.Compute/virtualMachines/{vmName}`;
const vmss = `${rgPath}/providers/Microsoft.Compute/virtualMachineScaleSets/{vmScaleSetName}`;
const vnet = `${rgPath}/providers/Microsoft.Network/virtualNetworks/{virtualNetworkName}`;
const nic = `${rgPath}/providers/Microsoft.Network/networkInterfaces/{networkInterfaceName}`;
const pip = `${rgPath}/providers/Microsoft.Network/publicIPAddresses/{publicIpAddressName}`;
const disk = `${rgPath}/providers/Microsoft.Compute/disks/{diskName}`;

export const armRoutes: ArmRoute[] = [
  { method: 'GET', pattern: '/subscriptions', operation: 'Subscriptions_List', handle: rg.listSubscriptions },
  { method: 'GET', pattern: sub, operation: 'Subscriptions_Get', handle: rg.getSubscription },

  { method: 'GET', pattern: `${sub}/resourcegroups`, operation: 'ResourceGroups_List', action: 'Microsoft.Resources/subscriptions/resourceGroups/read', handle: rg.listResourceGroups },
  { method: 'PUT', pattern: rgPath, operation: 'ResourceGroups_CreateOrUpdate', action: 'Microsoft.Resources/subscriptions/resourceGroups/write', handle: rg.putResourceGroup },
  { method: 'HEAD', pattern: rgPath, operation: 'ResourceGroups_CheckExistence', action: 'Microsoft.Resources/subscriptions/resourceGroups/read', handle: rg.checkResourceGroup },
  { method: 'GET', pattern: rgPath, operation: 'ResourceGroups_Get', action: 'Microsoft.Resources/subscriptions/resourceGroups/read', handle: rg.getResourceGroup },
  { method: 'DELETE', pattern: rgPath, operation: 'ResourceGroups_Delete', action: 'Microsoft.Resources/subscriptions/resourceGroups/delete', handle: rg.deleteResourceGroup },

  { method: 'GET', pattern: `${sub}/providers/Microsoft.Compute/galleries`, operation: 'Galleries_List', action: 'Microsoft.Compute/galleries/read', handle: galleries.listGalleriesBySubscription },
  { method: 'GET', pattern: `${rgPath}/providers/Microsoft.Compute/galleries`, operation: 'Galleries_ListByResourceGroup', action: 'Microsoft.Compute/galleries/read', handle: galleries.listGalleriesByResourceGroup },
  { method: 'PUT', pattern: gallery, operation: 'Galleries_CreateOrUpdate', action: 'Microsoft.Compute/galleries/write', handle: galleries.putGallery },
  { method: 'PATCH', pattern: gallery, operation: 'Galleries_Update', action: 'Microsoft.Compute/galleries/write', handle: galleries.patchGallery },
  { method: 'GET', pattern: gallery, operation: 'Galleries_Get', action: 'Microsoft.Compute/galleries/read', handle: galleries.getGallery },
  { method: 'DELETE', pattern: gallery, operation: 'Galleries_Delete', action: 'Microsoft.Compute/galleries/delete', handle: galleries.deleteGallery },
  { method: 'POST', pattern: `${gallery}/share`, operation: 'GallerySharingProfile_Update', action: 'Microsoft.Compute/galleries/share/action', handle: shareGallery },

  { method: 'GET', pattern: `${gallery}/images`, operation: 'GalleryImages_ListByGallery', action: 'Microsoft.Compute/galleries/images/read', handle: images.listImages },
  { method: 'PUT', pattern: image, operation: 'GalleryImages_CreateOrUpdate', action: 'Microsoft.Compute/galleries/images/write', handle: images.putImage },
  { method: 'PATCH', pattern: image, operation: 'GalleryImages_Update', action: 'Microsoft.Compute/galleries/images/write', handle: images.patchImage },
  { method: 'GET', pattern: image, operation: 'GalleryImages_Get', action: 'Microsoft.Compute/galleries/images/read', handle: images.getImage },
  { method: 'DELETE', pattern: image, operation: 'GalleryImages_Delete', action: 'Microsoft.Compute/galleries/images/delete', handle: images.deleteImage },
  { method: 'GET', pattern: `${image}/versions`, operation: 'GalleryImageVersions_ListByGalleryImage', action: 'Microsoft.Compute/galleries/images/versions/read', handle: images.listVersions },
  { method: 'PUT', pattern: version, operation: 'GalleryImageVersions_CreateOrUpdate', action: 'Microsoft.Compute/galleries/images/versions/write', handle: images.putVersion },
  { method: 'PATCH', pattern: version, operation: 'GalleryImageVersions_Update', action: 'Microsoft.Compute/galleries/images/versions/write', handle: images.patchVersion },
  { method: 'GET', pattern: version, operation: 'GalleryImageVersions_Get', action: 'Microsoft.Compute/galleries/images/versions/read', handle: images.getVersion },
  { method: 'DELETE', pattern: version, operation: 'GalleryImageVersions_Delete', action: 'Microsoft.Compute/galleries/images/versions/delete', handle: images.deleteVersion },

  // Consumer reads: visibility comes from the share itself, not from RBAC.
  { method: 'GET', pattern: `${location}/sharedGalleries`, operation: 'SharedGalleries_List', handle: shared.listSharedGalleries },
  { method: 'GET', pattern: sharedGallery, operation: 'SharedGalleries_Get', handle: shared.getSharedGallery },
  { method: 'GET', pattern: `${sharedGallery}/images`, operation: 'SharedGalleryImages_List', handle: shared.listSharedImages },
  { method: 'GET', pattern: `${sharedGallery}/images/{galleryImageName}`, operation: 'SharedGalleryImages_Get', handle: shared.getSharedImage },
  { method: 'GET', pattern: `${sharedGallery}/images/{galleryImageName}/versions`, operation: 'SharedGalleryImageVersions_List', handle: shared.listSharedVersions },
  { method: 'GET', pattern: `${sharedGallery}/images/{galleryImageName}/versions/{galleryImageVersionName}`, operation: 'SharedGalleryImageVersions_Get', handle: shared.getSharedVersion },
  { method: 'GET', pattern: communityGallery, operation: 'CommunityGalleries_Get', handle: community.getCommunityGallery },
  { method: 'GET', pattern: `${communityGallery}/images`, operation: 'CommunityGalleryImages_List', handle: community.listCommunityImages },
  { method: 'GET', pattern: `${communityGallery}/images/{galleryImageName}`, operation: 'CommunityGalleryImages_Get', handle: community.getCommunityImage },
  { method: 'GET', pattern: `${communityGallery}/images/{galleryImageName}/versions`, operation: 'CommunityGalleryImageVersions_List', handle: community.listCommunityVersions },
  { method: 'GET', pattern: `${communityGallery}/images/{galleryImageName}/versions/{galleryImageVersionName}`, operation: 'CommunityGalleryImageVersions_Get', handle: community.getCommunityVersion },

  { method: 'GET', pattern: `${rgPath}/providers/Microsoft.Compute/virtualMachines`, operation: 'VirtualMachines_List', action: 'Microsoft.Compute/virtualMachines/read', handle: virtualMachines.list },
  { method: 'PUT', pattern: vm, operation: 'VirtualMachines_CreateOrUpdate', action: 'Microsoft.Compute/virtualMachines/write', handle: virtualMachines.put },
  { method: 'PATCH', pattern: vm, operation: 'VirtualMachines_Update', action: 'Microsoft.Compute/virtualMachines/write', handle: virtualMachines.patch },
  { method: 'GET', pattern: vm, operation: 'VirtualMachines_Get', action: 'Microsoft.Compute/virtualMachines/read', handle: virtualMachines.get },
  { method: 'DELETE', pattern: vm, operation: 'VirtualMachines_Delete', action: 'Microsoft.Compute/virtualMachines/delete', handle: virtualMachines.delete },
  { method: 'GET', pattern: `${vm}/instanceView`, operation: 'VirtualMachines_InstanceView', action: 'Microsoft.Compute/virtualMachines/instanceView/read', handle: virtualMachines.instanceView },
  { method: 'POST', pattern: `${vm}/start`, operation: 'VirtualMachines_Start', action: 'Microsoft.Compute/virtualMachines/start/action', handle: virtualMachines.start },
  { method: 'POST', pattern: `${vm}/powerOff`, operation: 'VirtualMachines_PowerOff', action: 'Microsoft.Compute/virtualMachines/powerOff/action', handle: virtualMachines.powerOff },
  { method: 'POST', pattern: `${vm}/deallocate`, operation: 'VirtualMachines_Deallocate', action: 'Microsoft.Compute/virtualMachines/deallocate/action', handle: virtualMachines.deallocate },
  { method: 'POST', pattern: `${vm}/restart`, operation: 'VirtualMachines_Restart', action: 'Microsoft.Compute/virtualMachines/restart/action', handle: virtualMachines.restart },
  { method: 'GET', pattern: `${rgPath}/providers/Microsoft.Compute/virtualMachineScaleSets`, operation: 'VirtualMachineScaleSets_List', action: 'Microsoft.Compute/virtualMachineScaleSets/read', handle: scaleSets.list },
  { method: 'PUT', pattern: vmss, operation: 'VirtualMachineScaleSets_CreateOrUpdate', action: 'Microsoft.Compute/virtualMachineScaleSets/write', handle: scaleSets.put },
  { method: 'PATCH', pattern: vmss, operation: 'VirtualMachineScaleSets_Update', action: 'Microsoft.Compute/virtualMachineScaleSets/write', handle: scaleSets.patch },
  { method: 'GET', pattern: vmss, operation: 'VirtualMachineScaleSets_Get', action: 'Microsoft.Compute/virtualMachineScaleSets/read', handle: scaleSets.get },
  { method: 'DELETE', pattern: vmss, operation: 'VirtualMachineScaleSets_Delete', action: 'Microsoft.Compute/virtualMachineScaleSets/delete', handle: scaleSets.delete },
  { method: 'GET', pattern: `${vmss}/instanceView`, operation: 'VirtualMachineScaleSets_GetInstanceView', action: 'Microsoft.Compute/virtualMachineScaleSets/instanceView/read', handle: scaleSets.instanceView },

  { method: 'GET', pattern: `${rgPath}/providers/Microsoft.Network/virtualNetworks`, operation: 'VirtualNetworks_List', action: 'Microsoft.Network/virtualNetworks/read', handle: network.listVirtualNetworks },
  { method: 'PUT', pattern: vnet, operation: 'VirtualNetworks_CreateOrUpdate', action: 'Microsoft.Network/virtualNetworks/write', handle: network.putVirtualNetwork },
  { method: 'GET', pattern: vnet, operation: 'VirtualNetworks_Get', action: 'Microsoft.Network/virtualNetworks/read', handle: network.getVirtualNetwork },
  { method: 'DELETE', pattern: vnet, operation: 'VirtualNetworks_Delete', action: 'Microsoft.Network/virtualNetworks/delete', handle: network.deleteVirtualNetwork },
  { method: 'GET', pattern: `${vnet}/subnets`, operation: 'Subnets_List', action: 'Microsoft.Network/virtualNetworks/subnets/read', handle: network.listSubnets },
  { method: 'PUT', pattern: `${vnet}/subnets/{subnetName}`, operation: 'Subnets_CreateOrUpdate', action: 'Microsoft.Network/virtualNetworks/subnets/write', handle: network.putSubnet },
  { method: 'GET', pattern: `${vnet}/subnets/{subnetName}`, operation: 'Subnets_Get', action: 'Microsoft.Network/virtualNetworks/subnets/read', handle: network.getSubnet },
  { method: 'DELETE', pattern: `${vnet}/subnets/{subnetName}`, operation: 'Subnets_Delete', action: 'Microsoft.Network/virtualNetworks/subnets/delete', handle: network.deleteSubnet },
  { method: 'GET', pattern: `${rgPath}/providers/Microsoft.Network/networkInterfaces`, operation: 'NetworkInterfaces_List', action: 'Microsoft.Network/networkInterfaces/read', handle: network.listNetworkInterfaces },
  { method: 'GET', pattern: nic, operation: 'NetworkInterfaces_Get', action: 'Microsoft.Network/networkInterfaces/read', handle: network.getNetworkInterface },
  { method: 'DELETE', pattern: nic, operation: 'NetworkInterfaces_Delete', action: 'Microsoft.Network/networkInterfaces/delete', handle: network.deleteNetworkInterface },
  { method: 'GET', pattern: `${rgPath}/providers/Microsoft.Network/publicIPAddresses`, operation: 'PublicIPAddresses_List', action: 'Microsoft.Network/publicIPAddresses/read', handle: network.listPublicIpAddresses },
  { method: 'GET', pattern: pip, operation: 'PublicIPAddresses_Get', action: 'Microsoft.Network/publicIPAddresses/read', handle: network.getPublicIpAddress },
  { method: 'DELETE', pattern: pip, operation: 'PublicIPAddresses_Delete', action: 'Microsoft.Network/publicIPAddresses/delete', handle: network.deletePublicIpAddress },
  { method: 'GET', pattern: `${rgPath}/providers/Microsoft.Compute/disks`, operation: 'Disks_ListByResourceGroup', action: 'Microsoft.Compute/disks/read', handle: network.listDisks },
  { method: 'GET', pattern: disk, operation: 'Disks_Get', action: 'Microsoft.Compute/disks/read', handle: network.getDisk },
  { method: 'DELETE', pattern: disk, operation: 'Disks_Delete', action: 'Microsoft.Compute/disks/delete', handle: network.deleteDisk },

  { method: 'GET', pattern: `${location}/operations/{operationId}`, operation: 'Operations_Get', handle: getOperation },

  { method: 'GET', pattern: `${authorization}/roleAssignments`, operation: 'RoleAssignments_ListForScope', handle: authz.listRoleAssignments },
  { method: 'PUT', pattern: `${authorization}/roleAssignments/{roleAssignmentName}`, operation: 'RoleAssignments_Create', handle: authz.putRoleAssignment },
  { method: 'GET', pattern: `${authorization}/roleAssignments/{roleAssignmentName}`, operation: 'RoleAssignments_Get', handle: authz.getRoleAssignment },
  { method: 'DELETE', pattern: `${authorization}/roleAssignments/{roleAssignmentName}`, operation: 'RoleAssignments_Delete', handle: authz.deleteRoleAssignment },
  { method: 'GET', pattern: `${authorization}/roleDefinitions`, operation: 'RoleDefinitions_List', handle: authz.listRoleDefinitions },
  { method: 'GET', pattern: `${authorization}/roleDefinitions/{roleDefinitionId}`, operation: 'RoleDefinitions_Get', handle: authz.getRoleDefinition },
  { method: 'GET', pattern: `${authorization}/permissions`, operation: 'Permissions_ListForScope', handle: authz.listPermissions },
];
