// SharedImageVM: a virtual machine or scale set made from a shared gallery image, referenced by
// RBAC resource id, by direct share (/SharedGalleries/...) or from a community gallery
// (/CommunityGalleries/...), cross-tenant through a TenantGrant where needed.
import { Type, type Static } from '@sinclair/typebox';
import {
  API_VERSION,
  type ObjectMeta,
  AZURE_CREDENTIALS_SECRET_DOC,
  conditions,
  credentialsRef,
  deletionPolicy,
  observedGeneration,
  inFlightOperation,
  failureRecord,
} from './common.js';
import {
  celString,
  GALLERY_NAME_REGEX,
  IMAGE_NAME_REGEX,
  immutable,
  list,
  location,
  matching,
  objectName,
  oneOf,
  RESOURCE_GROUP_REGEX,
  resourceGroup,
  text,
  UUID_REGEX,
  uuid,
} from './schema-kit.js';
import type { KindDefinition } from './kind.js';

// The pieces of an image reference, without anchors, so they compose into the three id formats.
const strip = (regex: string) => regex.replace(/^\^/, '').replace(/\$$/, '');
const VERSION_OR_LATEST = '([0-9]{1,10}[.][0-9]{1,10}[.][0-9]{1,10}|latest)';
const PUBLIC_NAME = '[A-Za-z0-9][A-Za-z0-9_.-]{0,159}';

/** Azure accepts the prefixes of image ids in any case, so the formats are case-insensitive. */
export const IMAGE_ID_REGEX =
  `(?i)^/subscriptions/${strip(UUID_REGEX)}/resourceGroups/${strip(RESOURCE_GROUP_REGEX)}` +
  `/providers/Microsoft[.]Compute/galleries/${strip(GALLERY_NAME_REGEX)}/images/${strip(IMAGE_NAME_REGEX)}` +
  `(/versions/${VERSION_OR_LATEST})?$`;
export const SHARED_GALLERY_IMAGE_ID_REGEX =
  `(?i)^/SharedGalleries/${PUBLIC_NAME}/Images/${strip(IMAGE_NAME_REGEX)}(/Versions/${VERSION_OR_LATEST})?$`;
export const COMMUNITY_GALLERY_IMAGE_ID_REGEX =
  `(?i)^/CommunityGalleries/${PUBLIC_NAME}/Images/${strip(IMAGE_NAME_REGEX)}(/Versions/${VERSION_OR_LATEST})?$`;
export const SUBNET_ID_REGEX =
  `(?i)^/subscriptions/${strip(UUID_REGEX)}/resourceGroups/${strip(RESOURCE_GROUP_REGEX)}` +
  '/providers/Microsoft[.]Network/virtualNetworks/[A-Za-z0-9][A-Za-z0-9_.-]{0,63}/subnets/[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$';

const Image = Type.Object(
  {
    id: Type.Optional(
      matching(
        IMAGE_ID_REGEX,
        'image.id must be a gallery image resource id: /subscriptions/<uuid>/resourceGroups/<rg>/providers/Microsoft.Compute/galleries/<gallery>/images/<image>[/versions/<Major.Minor.Patch>|latest]',
        { description: 'Full resource id of a gallery image version (or of an image definition, meaning its latest version), shared by RBAC; possibly in another tenant (then set tenantGrantRef).', maxLength: 1024 },
      ),
    ),
    sharedGalleryImageId: Type.Optional(
      matching(
        SHARED_GALLERY_IMAGE_ID_REGEX,
        'image.sharedGalleryImageId must look like /SharedGalleries/<uniqueName>/Images/<image>/Versions/<Major.Minor.Patch>|latest',
        { description: 'Id of an image directly shared with this subscription or tenant: /SharedGalleries/<uniqueName>/Images/<image>/Versions/<version or latest>.', maxLength: 512 },
      ),
    ),
    communityGalleryImageId: Type.Optional(
      matching(
        COMMUNITY_GALLERY_IMAGE_ID_REGEX,
        'image.communityGalleryImageId must look like /CommunityGalleries/<publicName>/Images/<image>/Versions/<Major.Minor.Patch>|latest',
        { description: 'Id of a community gallery image: /CommunityGalleries/<publicName>/Images/<image>/Versions/<version or latest>.', maxLength: 512 },
      ),
    ),
  },
  {
    description: 'The image to create the VM from: exactly one of id, sharedGalleryImageId and communityGalleryImageId.',
    'x-kubernetes-validations': [
      {
        rule: '[has(self.id), has(self.sharedGalleryImageId), has(self.communityGalleryImageId)].filter(x, x).size() == 1',
        message: 'image needs exactly one of id, sharedGalleryImageId and communityGalleryImageId',
      },
    ],
  },
);

// Names Azure refuses as admin user names (its documented list).
const RESERVED_ADMIN_NAMES = [
  'administrator', 'admin', 'user', 'user1', 'test', 'user2', 'test1', 'user3', 'admin1', '1', '123', 'a',
  'actuser', 'adm', 'admin2', 'aspnet', 'backup', 'console', 'david', 'guest', 'john', 'owner', 'root',
  'server', 'sql', 'support', 'support_388945a0', 'sys', 'test2', 'test3', 'user4', 'user5',
];

const SSH_KEY_REGEX = '^(ssh-rsa|ssh-ed25519) [A-Za-z0-9+/]+={0,3}( [^\\n]*)?$';

export const SharedImageVMSpec = Type.Object(
  {
    image: Image,
    tenantGrantRef: Type.Optional(
      Type.Object(
        { name: objectName('tenantGrantRef.name', 'Name of a TenantGrant in the same namespace.') },
        { description: "Cross-tenant: act as the TenantGrant's application, with tokens for its source and target tenants (the source token goes in x-ms-authorization-auxiliary)." },
      ),
    ),
    azureCredentialsRef: Type.Optional(
      credentialsRef(`Secret with the credentials that create the VM. ${AZURE_CREDENTIALS_SECRET_DOC} Omit it (and tenantGrantRef) to use the operator's own identity.`),
    ),
    subscriptionId: uuid('subscriptionId', 'Subscription the VM is created in. Immutable.', [immutable('subscriptionId', 'a VM cannot move to another subscription; create a new object')]),
    resourceGroup: resourceGroup('Resource group the VM is created in. Immutable.', [immutable('resourceGroup', 'a VM cannot move to another resource group; create a new object')]),
    location: location('Azure region of the VM, such as westus; the image version must be replicated there. Immutable.', [
      immutable('location', 'a VM cannot move to another region; create a new object'),
    ]),
    size: matching('^[A-Za-z]+_[A-Za-z0-9_-]+$', 'size must be an Azure VM size such as Standard_D2s_v5', {
      description: 'VM size, such as Standard_D2s_v5. Changing it resizes the VM.',
      minLength: 3,
      maxLength: 64,
    }),
    scaleSet: Type.Optional(
      Type.Object(
        {
          capacity: Type.Integer({ description: 'Number of instances (0 to 1000). Changing it scales the set.', minimum: 0, maximum: 1000 }),
          orchestrationMode: oneOf(['Flexible', 'Uniform'] as const, {
            description:
              "Flexible (the default, what az vmss create and PowerShell create since late 2023) or Uniform. Always sent to Azure; Flexible scale sets get platformFaultDomainCount 1 and networkApiVersion 2020-11-01. Immutable: Azure cannot change a scale set's orchestration mode.",
            default: 'Flexible',
            rules: [immutable('scaleSet.orchestrationMode', "Azure cannot change a scale set's orchestration mode; create a new object")],
          }),
        },
        { description: 'Create a virtual machine scale set instead of one VM. Cannot be added or removed after creation.' },
      ),
    ),
    securityType: Type.Optional(
      oneOf(['Standard', 'TrustedLaunch', 'ConfidentialVM'] as const, {
        description:
          'Security type of the VM: Standard, TrustedLaunch or ConfidentialVM. Images whose definition declares a security type (TrustedLaunch, ConfidentialVM) refuse VMs without it; the operator checks before creating anything. Immutable for a single VM.',
      }),
    ),
    zones: Type.Optional(
      list(oneOf(['1', '2', '3'] as const, { description: 'An availability zone: 1, 2 or 3.' }), {
        description: 'Availability zones: one for a VM, one or more for a scale set. Immutable for a single VM (a VM cannot move between zones).',
        maxItems: 3,
        listType: 'set',
      }),
    ),
    tags: Type.Optional(
      // A map: additionalProperties, as a structural schema requires (TypeBox's Record would emit patternProperties).
      Type.Unsafe<Record<string, string>>({
        type: 'object',
        additionalProperties: { type: 'string', maxLength: 256 },
        description:
          'Azure tags on the VM or scale set (Azure allows 50; keys up to 512 characters, values up to 256). The operator adds its own ownership tags (galleryshare.io-*), which may not be set here.',
        maxProperties: 48,
        'x-kubernetes-validations': [
          { rule: 'self.all(k, k.size() >= 1 && k.size() <= 512)', message: 'tag names have 1 to 512 characters' },
          { rule: "self.all(k, !k.lowerAscii().startsWith('galleryshare.io-'))", message: "tags may not use the prefix galleryshare.io-: the operator's ownership tags use it" },
          { rule: `self.all(k, !k.matches(${celString('[<>%&\\\\?/]')}))`, message: 'tag names may not contain <, >, %, &, \\, ? or / (Azure refuses them)' },
        ],
      }),
    ),
    userDataSecretRef: Type.Optional(
      Type.Object(
        {
          name: objectName('userDataSecretRef.name', 'Name of a Secret in the same namespace.'),
          key: matching('^[-._a-zA-Z0-9]+$', "userDataSecretRef.key must be a Secret data key: letters, digits, '-', '_' and '.'", {
            description: 'Key in the Secret that holds the user data (as plain text; the operator base64-encodes it for Azure).',
            minLength: 1,
            maxLength: 253,
          }),
        },
        {
          description:
            "Secret key with custom data for the VM (a cloud-init file and the like), at most 64 KiB, sent as the OS profile's customData (as userData for a specialized image, which has no OS profile). Set only when the VM is made: a changed Secret does not change an existing VM. It never appears in status, events or logs.",
        },
      ),
    ),
    adminUsername: Type.Optional(
      text({
        description: 'Administrator user name, for generalized images only (a specialized image keeps its own accounts). Immutable.',
        minLength: 1,
        maxLength: 64,
        rules: [
          { rule: `self.matches(${celString('^[A-Za-z_][A-Za-z0-9_.-]*$')}) && !self.endsWith('.')`, message: "adminUsername starts with a letter or '_', uses letters, digits, '_', '-' and '.', and does not end with '.'" },
          { rule: `!(self.lowerAscii() in [${RESERVED_ADMIN_NAMES.map((n) => `'${n}'`).join(', ')}])`, message: 'adminUsername is a name Azure reserves (such as admin, administrator or root); choose another' },
          immutable('adminUsername', 'Azure cannot change the administrator of an existing VM'),
        ],
      }),
    ),
    sshPublicKeys: Type.Optional(
      list(
        matching(SSH_KEY_REGEX, "each of sshPublicKeys must be an OpenSSH public key line starting with 'ssh-rsa ' or 'ssh-ed25519 ' (the contents of ~/.ssh/id_*.pub)", {
          description: 'An OpenSSH public key line.',
          minLength: 16,
          maxLength: 16384,
        }),
        { description: 'SSH public keys for adminUsername (Linux). Azure accepts ssh-rsa (2048 bits or more) and ssh-ed25519 keys.', maxItems: 10, listType: 'set' },
      ),
    ),
    adminPasswordSecretRef: Type.Optional(
      Type.Object(
        {
          name: objectName('adminPasswordSecretRef.name', 'Name of a Secret in the same namespace.'),
          key: matching('^[-._a-zA-Z0-9]+$', "adminPasswordSecretRef.key must be a Secret data key: letters, digits, '-', '_' and '.'", {
            description: 'Key in the Secret that holds the password.',
            minLength: 1,
            maxLength: 253,
          }),
        },
        { description: 'Secret key with the administrator password (Windows, or Linux without SSH keys). The password never appears in status, events or logs.' },
      ),
    ),
    network: Type.Object(
      {
        subnetId: matching(
          SUBNET_ID_REGEX,
          'network.subnetId must be a subnet resource id: /subscriptions/<uuid>/resourceGroups/<rg>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>',
          { description: "Resource id of the subnet for the VM's network interface, in the VM's subscription.", maxLength: 1024 },
        ),
        publicIP: Type.Optional(Type.Boolean({ description: 'Give the VM a public IP address. Default false.', default: false })),
      },
      { description: 'Networking: the VM creates its own network interface in this subnet.' },
    ),
    osDisk: Type.Optional(
      Type.Object(
        {
          caching: Type.Optional(oneOf(['None', 'ReadOnly', 'ReadWrite'] as const, { description: 'OS disk caching: None, ReadOnly or ReadWrite (the default).', default: 'ReadWrite' })),
          storageAccountType: Type.Optional(
            oneOf(['Standard_LRS', 'StandardSSD_LRS', 'StandardSSD_ZRS', 'Premium_LRS', 'Premium_ZRS', 'PremiumV2_LRS', 'UltraSSD_LRS'] as const, {
              description: 'Managed disk type of the OS disk. Default Standard_LRS.',
              default: 'Standard_LRS',
            }),
          ),
        },
        { description: 'OS disk settings.' },
      ),
    ),
    deletionPolicy: deletionPolicy(),
  },
  {
    description: 'SharedImageVMSpec declares a VM or scale set made from a shared gallery image.',
    'x-kubernetes-validations': [
      { rule: '!(has(self.tenantGrantRef) && has(self.azureCredentialsRef))', message: 'set tenantGrantRef or azureCredentialsRef, not both: a TenantGrant brings its own application credentials' },
      { rule: '!(has(self.sshPublicKeys) || has(self.adminPasswordSecretRef)) || has(self.adminUsername)', message: 'sshPublicKeys and adminPasswordSecretRef need adminUsername', fieldPath: '.adminUsername' },
      { rule: '!has(self.adminUsername) || has(self.sshPublicKeys) || has(self.adminPasswordSecretRef)', message: 'adminUsername needs sshPublicKeys or adminPasswordSecretRef', fieldPath: '.adminUsername' },
      {
        rule: "self.network.subnetId.lowerAscii().startsWith('/subscriptions/' + self.subscriptionId.lowerAscii() + '/')",
        message: "network.subnetId must be in the VM's subscription (spec.subscriptionId)",
        fieldPath: '.network.subnetId',
      },
      { rule: 'has(self.scaleSet) == has(oldSelf.scaleSet)', message: 'scaleSet cannot be added or removed: a VM and a scale set are different resources; create a new object' },
      { rule: 'has(self.scaleSet) || self.image == oldSelf.image', message: 'image is immutable for a single VM: Azure cannot change the image of an existing VM; create a new object', fieldPath: '.image' },
      {
        rule: 'has(self.scaleSet) || (has(self.sshPublicKeys) == has(oldSelf.sshPublicKeys) && (!has(self.sshPublicKeys) || self.sshPublicKeys == oldSelf.sshPublicKeys))',
        message: 'sshPublicKeys is immutable for a single VM: Azure sets the OS profile only when it creates the VM (add keys inside the VM, or create a new object)',
        fieldPath: '.sshPublicKeys',
      },
      {
        rule: 'has(self.scaleSet) || (has(self.securityType) == has(oldSelf.securityType) && (!has(self.securityType) || self.securityType == oldSelf.securityType))',
        message: 'securityType is immutable for a single VM; create a new object',
        fieldPath: '.securityType',
      },
      {
        rule: 'has(self.scaleSet) || (has(self.zones) == has(oldSelf.zones) && (!has(self.zones) || self.zones == oldSelf.zones))',
        message: 'zones is immutable for a single VM: a VM cannot move between zones; create a new object',
        fieldPath: '.zones',
      },
      { rule: 'has(self.scaleSet) || !has(self.zones) || self.zones.size() == 1', message: 'a single VM lives in one zone: give one zone, or none', fieldPath: '.zones' },
    ],
  },
);
export type SharedImageVMSpec = Static<typeof SharedImageVMSpec>;

export const SharedImageVMStatus = Type.Object(
  {
    observedGeneration: observedGeneration(),
    resourceId: Type.Optional(text({ description: 'Azure resource id of the VM or scale set.', maxLength: 1024 })),
    resolvedImageVersion: Type.Optional(
      text({ description: "The image version Azure used (its exactVersion), i.e. what 'latest' meant when the VM was made. A scale set's model is pinned to this version and moved when a newer one is published.", maxLength: 32 }),
    ),
    osState: Type.Optional(text({ description: 'OS state of the image: Generalized or Specialized.', maxLength: 16 })),
    provisioningState: Type.Optional(text({ description: 'Provisioning state reported by Azure.', maxLength: 32 })),
    powerState: Type.Optional(text({ description: "Power state of a VM reported by Azure (running, stopped, deallocated...). Empty for a scale set: each of its instances has its own.", maxLength: 32 })),
    privateIPAddress: Type.Optional(text({ description: 'Private IP address of the VM.', maxLength: 64 })),
    networkInterfaceId: Type.Optional(text({ description: 'Resource id of the network interface the VM made for itself (its private IP is read again only when this changes).', maxLength: 1024 })),
    capacity: Type.Optional(Type.Integer({ description: 'Instances of the scale set, as observed in Azure.', minimum: 0 })),
    operation: inFlightOperation(),
    lastFailure: failureRecord(),
    conditions: conditions(),
  },
  { description: 'SharedImageVMStatus is what the operator observed in Azure.' },
);
export type SharedImageVMStatus = Static<typeof SharedImageVMStatus>;

export interface SharedImageVM {
  apiVersion: typeof API_VERSION;
  kind: 'SharedImageVM';
  metadata: ObjectMeta;
  spec: SharedImageVMSpec;
  status?: SharedImageVMStatus;
}

export const SharedImageVMKind: KindDefinition = {
  kind: 'SharedImageVM',
  plural: 'sharedimagevms',
  singular: 'sharedimagevm',
  shortNames: ['sivm'],
  description:
    'SharedImageVM is a virtual machine or scale set created from a shared Azure Compute Gallery image (by RBAC resource id, /SharedGalleries or /CommunityGalleries), cross-tenant through a TenantGrant where needed. Its name is the VM name in Azure.',
  spec: SharedImageVMSpec,
  status: SharedImageVMStatus,
  summaryColumns: [
    { name: 'Image-Version', type: 'string', jsonPath: '.status.resolvedImageVersion', description: 'The image version used.' },
    { name: 'Power', type: 'string', jsonPath: '.status.powerState', description: 'Power state in Azure.' },
    { name: 'Location', type: 'string', jsonPath: '.spec.location', description: 'Azure region.', priority: 1 },
  ],
  objectRules: [
    { rule: 'self.metadata.name.size() <= 64', message: 'SharedImageVM names become Azure VM names, which have at most 64 characters (15 for Windows)' },
  ],
};
