// Resolves the Azure credential an object acts with: the Secret its azureCredentialsRef names (in
// the object's own namespace), or the operator's own identity. Shared by the controllers.
import type { TokenCredential } from '@azure/identity';
import { certificateExpiry, CredentialSecretError, parseApplicationSecret, parseCredentialSecret, type ApplicationMaterial, type CredentialCache, type CredentialMaterial } from '../../azure/credentials.js';
import { RefusalError } from '../../azure/errors.js';
import { isNotFound, type KubeClient } from '../../runtime/kube-client.js';

export interface CredentialResolver {
  /**
   * The credential for a Secret in `namespace`, or the default identity when `secretName` is
   * undefined. With `lastKnownIfGone`, a Secret deleted since this process last read it still
   * yields its credentials: deleting a namespace deletes the Secret and the object together, and
   * the object must still undo its sharing in Azure before its finalizer comes off.
   */
  resolve(namespace: string, secretName: string | undefined, options?: { lastKnownIfGone?: boolean; signal?: AbortSignal }): Promise<{ credential: TokenCredential; material?: CredentialMaterial }>;
  /**
   * An app registration's own credential from the Secret `secretName` (parseApplicationSecret),
   * and a credential for it in any tenant (the same object while the Secret is unchanged, so
   * tokens are cached). `lastKnownIfGone` as for resolve.
   */
  resolveApplication(
    namespace: string,
    secretName: string,
    clientId: string,
    options?: { lastKnownIfGone?: boolean; signal?: AbortSignal },
  ): Promise<{ material: ApplicationMaterial; inTenant(tenantId: string): TokenCredential }>;
  /**
   * One key of a Secret in the namespace, as text (a VM's administrator password, its user
   * data). A missing Secret or key is a RefusalError with code SecretNotFound, naming both and
   * never the value. `lastKnownIfGone` as for resolve.
   */
  secretKey(namespace: string, secretName: string, key: string, options?: { lastKnownIfGone?: boolean; signal?: AbortSignal }): Promise<string>;
}

/**
 * `now` (ms since the epoch) is the clock a certificate's end is compared with: a Secret whose
 * certificate has ended is refused (CredentialExpired) without asking Entra, which refuses it.
 */
export function credentialResolver(client: KubeClient, cache: CredentialCache, defaultIdentity: () => TokenCredential, now: () => number = Date.now): CredentialResolver {
  const lastKnownData = new Map<string, Record<string, string> | undefined>();

  /** The Secret's data, or the last seen when it is gone and `lastKnownIfGone`. */
  async function secretData(namespace: string, secretName: string, options: { lastKnownIfGone?: boolean; signal?: AbortSignal }, keys: string) {
    const key = `${namespace}/${secretName}`;
    try {
      const secret = await client.get<{ data?: Record<string, string> }>(`/api/v1/namespaces/${namespace}/secrets/${secretName}`, { signal: options.signal });
      lastKnownData.set(key, secret.data);
      return secret.data;
    } catch (err) {
      if (isNotFound(err) && options.lastKnownIfGone && lastKnownData.has(key)) return lastKnownData.get(key);
      if (isNotFound(err)) throw new CredentialSecretError(`Secret ${secretName} does not exist in namespace ${namespace}; create it with ${keys}.`);
      throw err;
    }
  }

  return {
    async secretKey(namespace, secretName, key, options = {}) {
      let data: Record<string, string> | undefined;
      try {
        data = await secretData(namespace, secretName, options, `the key ${key}`);
      } catch (err) {
        if (err instanceof CredentialSecretError) throw new RefusalError('SecretNotFound', err.message);
        throw err;
      }
      const encoded = data?.[key];
      if (encoded === undefined) throw new RefusalError('SecretNotFound', `Secret ${secretName} in namespace ${namespace} has no key ${key}; add it, or fix the reference in the spec.`);
      return Buffer.from(encoded, 'base64').toString('utf8');
    },
    async resolveApplication(namespace, secretName, clientId, options = {}) {
      const data = await secretData(namespace, secretName, options, 'clientSecret or clientCertificate');
      const material = parseApplicationSecret(secretName, data, clientId);
      return { material, inTenant: (tenantId: string) => cache.forMaterial({ ...material, tenantId }) };
    },
    async resolve(namespace, secretName, options = {}) {
      if (!secretName) return { credential: defaultIdentity() };
      const data = await secretData(namespace, secretName, options, 'tenantId, clientId and clientSecret or clientCertificate');
      const material = parseCredentialSecret(secretName, data);
      const expiresAt = material.clientCertificate ? certificateExpiry(material.clientCertificate) : undefined;
      if (expiresAt && expiresAt.getTime() <= now()) {
        throw new RefusalError(
          'CredentialExpired',
          `The certificate in Secret ${secretName} (namespace ${namespace}) expired at ${expiresAt.toISOString()}: Entra refuses it. Upload a new certificate to the app registration and put it (with its private key) in the Secret; the operator checks again within a minute.`,
        );
      }
      return { credential: cache.forMaterial(material), material };
    },
  };
}
