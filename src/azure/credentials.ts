// Azure credentials: from a Secret's data (client secret or certificate), cached by content so a
// changed Secret gives a fresh credential and an unchanged one reuses its token cache (MSAL keeps
// each token for its lifetime); or the operator's own identity (environment, workload identity,
// managed identity). Messages name the Secret and its keys, never their values.
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import {
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
  type TokenCredential,
} from '@azure/identity';
import { UUID } from '../api/v1alpha1/schema-kit.js';
import { isPublicAuthority, type AzureEnvironment } from './environment.js';
import type { AzureTransport } from './transport.js';

export interface CredentialMaterial {
  tenantId: string;
  clientId: string;
  clientSecret?: string;
  /** PEM with the private key and the certificate. */
  clientCertificate?: string;
}

/** A Secret that cannot be used as Azure credentials: a person must fix it. */
export class CredentialSecretError extends Error {
  readonly reason = 'InvalidCredentialsSecret';
  constructor(message: string) {
    super(message);
    this.name = 'CredentialSecretError';
  }
}

/**
 * A clientCertificate must hold a private key and a certificate that both parse: one that does
 * not is the Secret's fault, said as such (not as whatever MSAL or the X.509 parser throws later,
 * which a person cannot act on). The message never quotes the value.
 */
function checkCertificatePem(secretName: string, pem: string): void {
  const problem = `Secret ${secretName}: clientCertificate must be PEM holding both the private key and the certificate`;
  if (!(pem.includes('PRIVATE KEY-----') && pem.includes('BEGIN CERTIFICATE'))) throw new CredentialSecretError(`${problem}.`);
  try {
    createPrivateKey(pem);
    certificateExpiry(pem);
  } catch {
    throw new CredentialSecretError(`${problem}; what it holds does not parse (a truncated or mangled copy?). Put the PEM files in it as they are, e.g. kubectl create secret generic ${secretName} --from-file=clientCertificate=<key-and-cert.pem>.`);
  }
}

/** Reads credentials from Secret data (base64 values, as the API server returns them). */
export function parseCredentialSecret(secretName: string, data: Record<string, string> | undefined, expectedKeys = 'tenantId, clientId and clientSecret or clientCertificate'): CredentialMaterial {
  const value = (key: string) => {
    const encoded = data?.[key];
    return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8').trim();
  };
  const tenantId = value('tenantId');
  const clientId = value('clientId');
  const clientSecret = value('clientSecret');
  const clientCertificate = value('clientCertificate');
  const missing = [!tenantId && 'tenantId', !clientId && 'clientId', !clientSecret && !clientCertificate && 'clientSecret or clientCertificate'].filter(Boolean);
  if (missing.length) throw new CredentialSecretError(`Secret ${secretName} lacks ${missing.join(', ')}; it must hold ${expectedKeys}.`);
  if (!UUID.test(tenantId!)) throw new CredentialSecretError(`Secret ${secretName}: tenantId is not a UUID (use the directory (tenant) id, not a domain name).`);
  if (!UUID.test(clientId!)) throw new CredentialSecretError(`Secret ${secretName}: clientId is not a UUID (use the application (client) id).`);
  if (clientCertificate) checkCertificatePem(secretName, clientCertificate);
  return { tenantId: tenantId!, clientId: clientId!, ...(clientSecret ? { clientSecret } : {}), ...(clientCertificate ? { clientCertificate } : {}) };
}

/** An app registration's own credential, from the Secret a TenantGrant names: no tenant of its own. */
export type ApplicationMaterial = Omit<CredentialMaterial, 'tenantId'>;

/**
 * Reads an application's credential from Secret data: clientSecret or clientCertificate (PEM with
 * the private key). The client id and tenants come from the spec, so tenantId and clientId may be
 * left out; a clientId that differs from the spec's is refused (the Secret belongs to another app).
 */
export function parseApplicationSecret(secretName: string, data: Record<string, string> | undefined, clientId: string): ApplicationMaterial {
  const value = (key: string) => {
    const encoded = data?.[key];
    return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8').trim();
  };
  const clientSecret = value('clientSecret');
  const clientCertificate = value('clientCertificate');
  const givenClientId = value('clientId');
  if (!clientSecret && !clientCertificate) throw new CredentialSecretError(`Secret ${secretName} lacks clientSecret or clientCertificate: it must hold the application's client secret, or its certificate and private key (PEM).`);
  if (givenClientId && givenClientId.toLowerCase() !== clientId.toLowerCase()) {
    throw new CredentialSecretError(`Secret ${secretName} holds clientId ${givenClientId}, but spec.application.clientId is ${clientId}: the Secret belongs to another application. Fix either, or drop clientId from the Secret (the spec gives it).`);
  }
  if (clientCertificate) checkCertificatePem(secretName, clientCertificate);
  return { clientId, ...(clientSecret ? { clientSecret } : {}), ...(clientCertificate ? { clientCertificate } : {}) };
}

const byTenant = new WeakMap<TokenCredential, Map<string, TokenCredential>>();

/**
 * The credential asking for tokens of one tenant, whatever tenant it was made for: how one
 * identity (a multi-tenant app, the operator's own) acts on another tenant's subscription. The
 * SDKs ask without a tenant, so the tenant is added to each request; the same object is returned
 * for the same credential and tenant, so SDK clients cached by credential are reused.
 */
export function forTenant(credential: TokenCredential, tenantId: string): TokenCredential {
  const tenants = byTenant.get(credential) ?? new Map<string, TokenCredential>();
  byTenant.set(credential, tenants);
  const key = tenantId.toLowerCase();
  let scoped = tenants.get(key);
  if (!scoped) {
    scoped = { getToken: (scopes, options) => credential.getToken(scopes, { ...options, tenantId }) };
    tenants.set(key, scoped);
  }
  return scoped;
}

/** When the certificate in a PEM expires, or undefined when it holds none. */
export function certificateExpiry(pem: string): Date | undefined {
  const match = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  if (!match) return undefined;
  return new Date(new X509Certificate(match[0]).validTo);
}

/**
 * Token requests (MSAL's, through @azure/identity's pipeline) go over the same transport as ARM's:
 * the extra CA and the HTTPS proxy apply to them alike.
 */
function commonOptions(env: AzureEnvironment, transport: AzureTransport) {
  return {
    authorityHost: env.authorityHost,
    disableInstanceDiscovery: !isPublicAuthority(env),
    additionallyAllowedTenants: ['*'],
    additionalPolicies: [{ policy: transport.policy(), position: 'perRetry' as const }],
  };
}

export class CredentialCache {
  private readonly byContent = new Map<string, TokenCredential>();

  constructor(private readonly env: AzureEnvironment, private readonly transport: AzureTransport, private readonly maxEntries = 1000) {}

  /** The credential for this material; the same object while the material is unchanged. */
  forMaterial(material: CredentialMaterial): TokenCredential {
    const key = createHash('sha256').update(JSON.stringify([material.tenantId, material.clientId, material.clientSecret ?? '', material.clientCertificate ?? ''])).digest('hex');
    let credential = this.byContent.get(key);
    if (!credential) {
      credential = this.transport.reportingNetworkFailures(
        material.clientCertificate
          ? new ClientCertificateCredential(material.tenantId, material.clientId, { certificate: material.clientCertificate }, commonOptions(this.env, this.transport))
          : new ClientSecretCredential(material.tenantId, material.clientId, material.clientSecret!, commonOptions(this.env, this.transport)),
      );
      if (this.byContent.size >= this.maxEntries) this.byContent.delete(this.byContent.keys().next().value!);
      this.byContent.set(key, credential);
    }
    return credential;
  }
}

/**
 * The operator's own identity, from @azure/identity's standard variables: a client secret or
 * certificate (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET / AZURE_CLIENT_CERTIFICATE_PATH),
 * workload identity (AZURE_FEDERATED_TOKEN_FILE, set by the AKS webhook), else managed identity.
 */
export function defaultCredential(env: AzureEnvironment, transport: AzureTransport, vars: NodeJS.ProcessEnv, readFile: (path: string) => string): { credential: TokenCredential; kind: string } {
  const { AZURE_TENANT_ID: tenantId, AZURE_CLIENT_ID: clientId, AZURE_CLIENT_SECRET: secret, AZURE_CLIENT_CERTIFICATE_PATH: certPath, AZURE_FEDERATED_TOKEN_FILE: tokenFile } = vars;
  if (tokenFile && tenantId && clientId) {
    return { credential: transport.reportingNetworkFailures(new WorkloadIdentityCredential({ tenantId, clientId, tokenFilePath: tokenFile, ...commonOptions(env, transport) })), kind: 'workload identity' };
  }
  if (tenantId && clientId && secret) return { credential: transport.reportingNetworkFailures(new ClientSecretCredential(tenantId, clientId, secret, commonOptions(env, transport))), kind: 'client secret (environment)' };
  if (tenantId && clientId && certPath) {
    return { credential: transport.reportingNetworkFailures(new ClientCertificateCredential(tenantId, clientId, { certificate: readFile(certPath) }, commonOptions(env, transport))), kind: 'client certificate (environment)' };
  }
  return { credential: new ManagedIdentityCredential(clientId ? { clientId } : {}), kind: 'managed identity' };
}
