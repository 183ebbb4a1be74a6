// GalleryShare: who may use a gallery. Its sharing permission, the direct-share subscriptions and
// tenants, community publishing, and RBAC role assignments at gallery, image or version scope.
import { Type, type Static } from '@sinclair/typebox';
import {
  API_VERSION,
  type ObjectMeta,
  AZURE_CREDENTIALS_SECRET_DOC,
  conditions,
  credentialsRef,
  deletionPolicy,
  galleryRef,
  observedGeneration,
  inFlightOperation,
  failureRecord,
  roleName,
} from './common.js';
import { BUILT_IN_ROLES } from './roles.js';
import { imageName, imageVersion, list, matching, noDuplicatesIgnoringCase, oneOf, text, uuid } from './schema-kit.js';
import type { KindDefinition } from './kind.js';

export const GALLERY_PERMISSIONS = ['Private', 'Groups', 'Community'] as const;
export type GalleryPermission = (typeof GALLERY_PERMISSIONS)[number];
export const PRINCIPAL_TYPES = ['User', 'Group', 'ServicePrincipal', 'ForeignGroup'] as const;

export const MAX_DIRECT_SHARE_SUBSCRIPTIONS = 30;
export const MAX_DIRECT_SHARE_TENANTS = 5;

const DirectShare = Type.Object(
  {
    subscriptions: Type.Optional(
      list(uuid('each subscription', 'A subscription id.'), {
        description: `Subscriptions the gallery is shared with (at most ${MAX_DIRECT_SHARE_SUBSCRIPTIONS}). This is the whole list: subscriptions shared in Azure but missing here are removed.`,
        maxItems: MAX_DIRECT_SHARE_SUBSCRIPTIONS,
        listType: 'set',
        rules: [noDuplicatesIgnoringCase('directShare.subscriptions')],
      }),
    ),
    tenants: Type.Optional(
      list(uuid('each tenant', 'A tenant id.'), {
        description: `Microsoft Entra tenants the gallery is shared with (at most ${MAX_DIRECT_SHARE_TENANTS}). This is the whole list: tenants shared in Azure but missing here are removed.`,
        maxItems: MAX_DIRECT_SHARE_TENANTS,
        listType: 'set',
        rules: [noDuplicatesIgnoringCase('directShare.tenants')],
      }),
    ),
  },
  {
    description:
      'Direct sharing (az sig share add/remove): the complete list of subscriptions and tenants that may use the gallery. Only with permission Groups.',
  },
);

const HTTPS_URL_RULE = (what: string) => ({
  rule: "isURL(self) && url(self).getScheme() == 'https'",
  message: `${what} must be an https URL, such as https://example.com`,
});

const Community = Type.Object(
  {
    publisherUri: text({ description: 'Link to the publisher web site, shown to everyone.', maxLength: 2048, rules: [HTTPS_URL_RULE('community.publisherUri')] }),
    publisherContact: matching('^[^@\\s]+@[^@\\s]+[.][^@\\s]+$', 'community.publisherContact must be an e-mail address, such as images@example.com', {
      description: 'Support e-mail address of the publisher, shown to everyone.',
      maxLength: 254,
    }),
    eula: text({ description: 'Link to the end-user license agreement of the images.', maxLength: 2048, rules: [HTTPS_URL_RULE('community.eula')] }),
    publicNamePrefix: matching(
      '^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$',
      'community.publicNamePrefix uses letters, digits and dashes, starting and ending with a letter or digit',
      { description: 'Prefix of the public gallery name that consumers use in /CommunityGalleries/<publicName>.', minLength: 1, maxLength: 32 },
    ),
  },
  {
    description:
      'Community publishing (az sig share enable-community): the gallery becomes visible to every Azure user. Only with permission Community, and only if the operator\'s policy allows community sharing.',
  },
);

/**
 * The identity of a role assignment as Azure sees it, as a CEL string expression over the item
 * `v`, given `roles`, the map from built-in role name to GUID: equal for two items exactly when
 * Azure takes them for the same assignment. Principal ids and role GUIDs are compared without
 * case, a built-in role by name is its GUID, and the scope compares the image definition name
 * without case (ARM resource names are case-insensitive; versions are digits without leading
 * zeros, so they compare as written). '/' separates the parts and appears in none of them.
 */
const roleAssignmentKey = (v: string, roles: string) =>
  `${v}.principalId.lowerAscii()` +
  ` + '/' + (${v}.role in ${roles} ? ${roles}[${v}.role] : ${v}.role.lowerAscii())` +
  ` + '/' + (has(${v}.image) ? ${v}.image.lowerAscii() : '')` +
  ` + '/' + (has(${v}.version) ? ${v}.version : '')`;

const ROLE_GUID_BY_NAME_CEL = `{${Object.entries(BUILT_IN_ROLES)
  .map(([name, guid]) => `'${name}': '${guid.toLowerCase()}'`)
  .join(', ')}}`;

/**
 * No two items have the same key. cel.bind is not in the Kubernetes CEL environment, so values are
 * bound by iterating a one-element list, `[value].all(name, ...)`: the role map once, and the list
 * of keys, computed once per item. Then 50 items cost 50 key computations and 2500 comparisons of
 * keys; the API server's estimate for this rule is about 32,000 (the pairwise rule it replaces,
 * which compared fields of each pair, was estimated at 345,000; the limit is 10,000,000). Optional
 * map lookups (`m[?k].orValue(...)`) are avoided: their result has no size bound, which makes the
 * estimate unbounded and the CRD uninstallable.
 */
const ROLE_ASSIGNMENTS_UNIQUE_RULE =
  `[${ROLE_GUID_BY_NAME_CEL}].all(roles, ` +
  `[self.map(a, ${roleAssignmentKey('a', 'roles')})].all(keys, keys.all(k, keys.exists_one(j, j == k))))`;

const RoleAssignment = Type.Object(
  {
    principalId: uuid('roleAssignments.principalId', 'Object id of the user, group or service principal (in any tenant).'),
    principalType: oneOf(PRINCIPAL_TYPES, {
      description: 'Kind of principal: User, Group, ServicePrincipal or ForeignGroup. Giving it lets Azure skip a directory lookup that fails for freshly created principals.',
    }),
    role: roleName('Role to grant: a built-in role name (Reader, Compute Gallery Image Reader, ...) or a role-definition GUID.'),
    image: Type.Optional(imageName('Image definition to scope the assignment to; omit it to grant on the whole gallery.')),
    version: Type.Optional(imageVersion('Image version (Major.Minor.Patch) to scope the assignment to; needs image.')),
  },
  {
    description: 'One RBAC role assignment on the gallery, one of its image definitions, or one image version.',
    'x-kubernetes-validations': [{ rule: '!has(self.version) || has(self.image)', message: 'roleAssignments.version needs roleAssignments.image: a version belongs to an image definition', fieldPath: '.version' }],
  },
);

export const GalleryShareSpec = Type.Object(
  {
    gallery: galleryRef('The gallery whose sharing this object declares. Immutable.'),
    azureCredentialsRef: Type.Optional(
      credentialsRef(
        `Secret with the credentials used to manage the gallery. ${AZURE_CREDENTIALS_SECRET_DOC} Omit it to use the operator's own identity.`,
      ),
    ),
    permission: Type.Optional(
      oneOf(GALLERY_PERMISSIONS, {
        description:
          "The gallery's sharing permission: Private (RBAC only), Groups (direct sharing; Azure allows it only on new galleries) or Community. Omit it to leave the gallery's permission as it is and manage role assignments only.",
      }),
    ),
    directShare: Type.Optional(DirectShare),
    community: Type.Optional(Community),
    roleAssignments: Type.Optional(
      list(RoleAssignment, {
        description:
          'RBAC sharing: role assignments this object creates and owns. Assignments made by anyone else are never touched.',
        maxItems: 50,
        listType: 'atomic',
        rules: [
          {
            rule: ROLE_ASSIGNMENTS_UNIQUE_RULE,
            message:
              'roleAssignments may not repeat the same principal, role and scope (ids and image names are compared without case, and a built-in role by name is the same role as by its GUID)',
          },
        ],
      }),
    ),
    deletionPolicy: deletionPolicy(),
  },
  {
    description: 'GalleryShareSpec declares how a gallery is shared.',
    'x-kubernetes-validations': [
      {
        rule: "!has(self.directShare) || (has(self.permission) && self.permission == 'Groups')",
        message: 'directShare needs permission: Groups (direct sharing is a Groups gallery feature)',
        fieldPath: '.directShare',
      },
      {
        rule: "!has(self.community) || (has(self.permission) && self.permission == 'Community')",
        message: 'community needs permission: Community',
        fieldPath: '.community',
      },
      {
        rule: "!has(self.permission) || self.permission != 'Community' || has(self.community)",
        message: 'permission Community needs the community block (publisherUri, publisherContact, eula, publicNamePrefix)',
        fieldPath: '.permission',
      },
    ],
  },
);
export type GalleryShareSpec = Static<typeof GalleryShareSpec>;

const ObservedRoleAssignment = Type.Object(
  {
    name: text({ description: 'Name (GUID) of the role assignment in Azure, derived from this object (kind, namespace, name), scope, principal and role.', maxLength: 36 }),
    principalId: text({ description: 'Object id of the principal.', maxLength: 36 }),
    role: text({ description: 'Role as written in the spec.', maxLength: 64 }),
    scope: text({ description: 'Azure resource id the role is assigned at.', maxLength: 1024 }),
    id: Type.Optional(text({ description: 'Full Azure resource id of the role assignment.', maxLength: 2048 })),
  },
  { description: 'A role assignment this object owns.' },
);

const Adopted = Type.Object(
  {
    permission: text({ description: 'The sharing permission the gallery had.', maxLength: 16 }),
    subscriptions: Type.Array(text({ description: 'A subscription id (lower case).', maxLength: 36 }), { description: 'Subscriptions the gallery was already shared with.', maxItems: 64 }),
    tenants: Type.Array(text({ description: 'A tenant id (lower case).', maxLength: 36 }), { description: 'Tenants the gallery was already shared with.', maxItems: 16 }),
    communityPublished: Type.Boolean({ description: 'Whether the gallery was already published to the community.' }),
  },
  {
    description:
      'What the gallery held before this object first changed it: adopted, never removed by its deletion. An entry that later leaves Azure (the object removed it, or anyone did) stops counting. Without this record, deletion with deletionPolicy Delete leaves direct shares and community publishing alone and says so in an event.',
  },
);

export const GalleryShareStatus = Type.Object(
  {
    observedGeneration: observedGeneration(),
    galleryUniqueName: Type.Optional(
      text({ description: 'Unique name of the gallery (<subscription>-<GALLERY>), what consumers put in /SharedGalleries/<uniqueName>.', maxLength: 128 }),
    ),
    permission: Type.Optional(text({ description: 'The sharing permission observed in Azure.', maxLength: 16 })),
    communityPublicNames: Type.Optional(
      Type.Array(text({ description: 'A public name.', maxLength: 256 }), {
        description: 'Public names of the community gallery, for /CommunityGalleries/<publicName>; only while it is published (Azure assigns them earlier, but they resolve only once published).',
        maxItems: 16,
      }),
    ),
    directShare: Type.Optional(
      Type.Object(
        {
          subscriptions: Type.Optional(Type.Array(text({ description: 'A subscription id.', maxLength: 36 }), { description: 'Subscriptions the gallery is shared with, as observed in Azure.', maxItems: 64 })),
          tenants: Type.Optional(Type.Array(text({ description: 'A tenant id.', maxLength: 36 }), { description: 'Tenants the gallery is shared with, as observed in Azure.', maxItems: 16 })),
        },
        { description: 'Direct sharing as observed in Azure.' },
      ),
    ),
    roleAssignments: Type.Optional(
      Type.Array(ObservedRoleAssignment, { description: 'Role assignments this object owns, as observed in Azure.', maxItems: 64 }),
    ),
    adopted: Type.Optional(Adopted),
    operation: inFlightOperation(),
    lastFailure: failureRecord(),
    conditions: conditions(),
  },
  { description: 'GalleryShareStatus is what the operator observed in Azure and did.' },
);
export type GalleryShareStatus = Static<typeof GalleryShareStatus>;

export interface GalleryShare {
  apiVersion: typeof API_VERSION;
  kind: 'GalleryShare';
  metadata: ObjectMeta;
  spec: GalleryShareSpec;
  status?: GalleryShareStatus;
}

export const GalleryShareKind: KindDefinition = {
  kind: 'GalleryShare',
  plural: 'galleryshares',
  singular: 'galleryshare',
  shortNames: ['gs', 'gshare'],
  description:
    'GalleryShare declares who may use an Azure Compute Gallery: its sharing permission, the subscriptions and tenants it is directly shared with, community publishing, and RBAC role assignments on the gallery, its images and versions.',
  spec: GalleryShareSpec,
  status: GalleryShareStatus,
  summaryColumns: [
    { name: 'Gallery', type: 'string', jsonPath: '.spec.gallery.name', description: 'The gallery.' },
    { name: 'Permission', type: 'string', jsonPath: '.spec.permission', description: 'The declared sharing permission.' },
    { name: 'Unique-Name', type: 'string', jsonPath: '.status.galleryUniqueName', description: 'The unique name consumers use.', priority: 1 },
  ],
};
