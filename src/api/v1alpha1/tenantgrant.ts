// TenantGrant: a partner tenant may deploy from our gallery through a multi-tenant app
// registration. The app gets a role (Reader) on the gallery in the source tenant; the target
// tenant's admin consents, and the app gets a role (Contributor) on a resource group there.
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
import { immutable, resourceGroup, text, uuid } from './schema-kit.js';
import type { KindDefinition } from './kind.js';

const Application = Type.Object(
  {
    clientId: uuid('application.clientId', 'Application (client) id of the multi-tenant app registration. Immutable.', [
      immutable('application.clientId', 'create a new TenantGrant for another application'),
    ]),
    credentialsRef: credentialsRef(
      "Secret with the application's own credential: clientSecret, or clientCertificate (PEM with the private key and the certificate). tenantId and clientId may be left out (the spec gives them); a clientId that differs from application.clientId is refused. The operator uses it to get tokens for the app in both tenants. A federated (workload identity) credential for the app is not supported yet.",
    ),
    redirectUri: Type.Optional(
      text({
        description:
          "A redirect (reply) URI registered on the app registration, such as https://www.microsoft.com/. When set, status.consentUrl carries it as redirect_uri, and the target admin's browser lands there after consenting; Entra refuses a URI not registered on the app (AADSTS50011). Without it the consent URL has no redirect_uri and Entra uses the app's registered one.",
        maxLength: 2048,
        rules: [
          {
            rule: "isURL(self) && (url(self).getScheme() == 'https' || url(self).getHostname() == 'localhost')",
            message: 'application.redirectUri must be an https URL (or http://localhost), as Entra requires for web redirect URIs',
          },
        ],
      }),
    ),
  },
  { description: 'The multi-tenant app registration that carries the access across tenants.' },
);

const Source = Type.Object(
  {
    tenantId: uuid('source.tenantId', 'Tenant that holds the gallery (the app\'s home tenant). Immutable.', [
      immutable('source.tenantId', 'create a new TenantGrant for another source tenant'),
    ]),
    gallery: galleryRef('The gallery the app may read. Immutable.'),
    role: Type.Optional(roleName('Role the app gets on the gallery. Default Reader.')),
    azureCredentialsRef: Type.Optional(
      credentialsRef(`Secret with credentials that may write role assignments on the gallery. ${AZURE_CREDENTIALS_SECRET_DOC} Omit it to use the operator's own identity.`),
    ),
  },
  { description: 'The source tenant side: the gallery and the role the app gets on it.' },
);

const Target = Type.Object(
  {
    tenantId: uuid('target.tenantId', 'Tenant that deploys from the gallery. Immutable.', [
      immutable('target.tenantId', 'create a new TenantGrant for another target tenant'),
    ]),
    subscriptionId: uuid('target.subscriptionId', 'Subscription in the target tenant where VMs are created. Immutable.', [
      immutable('target.subscriptionId', 'create a new TenantGrant for another subscription'),
    ]),
    resourceGroup: resourceGroup('Resource group in the target subscription where the app may create VMs. Immutable.', [
      immutable('target.resourceGroup', 'create a new TenantGrant for another resource group'),
    ]),
    role: Type.Optional(roleName('Role the app gets on the target resource group. Default Contributor.')),
    azureCredentialsRef: Type.Optional(
      credentialsRef(
        `Secret with credentials of the target tenant that may write role assignments on the resource group. ${AZURE_CREDENTIALS_SECRET_DOC} Without it the operator only checks the app's access there and reports what is missing.`,
      ),
    ),
  },
  { description: 'The target tenant side: where the app may create VMs from the gallery.' },
);

const GrantRoleAssignment = Type.Object(
  {
    side: text({ description: 'Source (on the gallery) or Target (on the target resource group).', maxLength: 8 }),
    name: text({ description: 'Name (GUID) of the role assignment in Azure, derived from this object (kind, namespace, name), scope, principal and role.', maxLength: 36 }),
    principalId: text({ description: "Object id of the app's service principal in that tenant.", maxLength: 36 }),
    role: text({ description: 'Role as written in the spec.', maxLength: 64 }),
    scope: text({ description: 'Azure resource id the role is assigned at.', maxLength: 1024 }),
    id: Type.Optional(text({ description: 'Full Azure resource id of the role assignment.', maxLength: 2048 })),
  },
  { description: 'A role assignment this object owns.' },
);

export const TenantGrantSpec = Type.Object(
  {
    application: Application,
    source: Source,
    target: Target,
    deletionPolicy: deletionPolicy(),
  },
  {
    description: 'TenantGrantSpec declares cross-tenant access for an app registration.',
    'x-kubernetes-validations': [
      {
        rule: 'self.source.tenantId.lowerAscii() != self.target.tenantId.lowerAscii()',
        message: 'source.tenantId and target.tenantId are the same tenant: a TenantGrant is for another tenant (within one tenant use GalleryShare roleAssignments)',
        fieldPath: '.target.tenantId',
      },
    ],
  },
);
export type TenantGrantSpec = Static<typeof TenantGrantSpec>;

export const TenantGrantStatus = Type.Object(
  {
    observedGeneration: observedGeneration(),
    consentUrl: Type.Optional(
      text({ description: "URL to hand to the target tenant's admin so that the app gets a service principal there (admin consent).", maxLength: 2048 }),
    ),
    sourcePrincipalId: Type.Optional(text({ description: "Object id of the app's service principal in the source tenant.", maxLength: 36 })),
    targetPrincipalId: Type.Optional(text({ description: "Object id of the app's service principal in the target tenant.", maxLength: 36 })),
    credentialExpiresAt: Type.Optional(
      Type.String({ description: 'When the certificate in the application Secret expires (its notAfter), where it holds a certificate. A client secret\'s expiry is not known to the operator (it would need Microsoft Graph).', format: 'date-time' }),
    ),
    roleAssignments: Type.Optional(
      Type.Array(GrantRoleAssignment, { description: 'Role assignments this object owns in both tenants, as observed in Azure.', maxItems: 4 }),
    ),
    operation: inFlightOperation(),
    lastFailure: failureRecord(),
    conditions: conditions(),
  },
  { description: 'TenantGrantStatus is what the operator observed in both tenants.' },
);
export type TenantGrantStatus = Static<typeof TenantGrantStatus>;

export interface TenantGrant {
  apiVersion: typeof API_VERSION;
  kind: 'TenantGrant';
  metadata: ObjectMeta;
  spec: TenantGrantSpec;
  status?: TenantGrantStatus;
}

export const TenantGrantKind: KindDefinition = {
  kind: 'TenantGrant',
  plural: 'tenantgrants',
  singular: 'tenantgrant',
  shortNames: ['tg'],
  description:
    'TenantGrant gives a multi-tenant app registration access to a gallery from another tenant: a role on the gallery in the source tenant, consent detection and a role on a resource group in the target tenant.',
  spec: TenantGrantSpec,
  status: TenantGrantStatus,
  summaryColumns: [
    { name: 'Source-Tenant', type: 'string', jsonPath: '.spec.source.tenantId', description: 'The tenant that holds the gallery.' },
    { name: 'Target-Tenant', type: 'string', jsonPath: '.spec.target.tenantId', description: 'The tenant that deploys from the gallery.' },
    { name: 'Consented', type: 'string', jsonPath: '.status.conditions[?(@.type=="Consented")].status', description: 'Whether the app has a service principal in the target tenant.' },
  ],
};
