// Resolves the Azure credential an object acts with: the Secret its azureCredentialsRef names (in
// the object's own namespace), or the operator's own identity. Shared by the controllers.
import type { TokenCredential } from '@azure/identity';
import { CredentialSecretError, parseCredentialSecret, type CredentialCache, type CredentialMaterial } from '../../azure/credentials.js';
import { isNotFound, type KubeClient } from '../../runtime/kube-client.js';

export interface CredentialResolver {
  /**
   * The credential for a Secret in `namespace`, or the default identity when `secretName` is
   * undefined. With `lastKnownIfGone`, a Secret deleted since this process last read it still
   * yields its credentials: deleting a namespace deletes the Secret and the object together, and
   * the object must still undo its sharing in Azure before its finalizer comes off.
   */
  resolve(namespace: string, secretName: string | undefined, options?: { lastKnownIfGone?: boolean; signal?: AbortSignal }): Promise<{ credential: TokenCredential; material?: CredentialMaterial }>;
}

export function credentialResolver(client: KubeClient, cache: CredentialCache, defaultIdentity: () => TokenCredential): CredentialResolver {
  const lastKnown = new Map<string, CredentialMaterial>();
  return {
    async resolve(namespace, secretName, options = {}) {
      if (!secretName) return { credential: defaultIdentity() };
      const key = `${namespace}/${secretName}`;
      let secret: { data?: Record<string, string> };
      try {
        secret = await client.get(`/api/v1/namespaces/${namespace}/secrets/${secretName}`, { signal: options.signal });
      } catch (err) {
        const remembered = lastKnown.get(key);
        if (isNotFound(err) && options.lastKnownIfGone && remembered) return { credential: cache.forMaterial(remembered), material: remembered };
        if (isNotFound(err)) throw new CredentialSecretError(`Secret ${secretName} does not exist in namespace ${namespace}; create it with tenantId, clientId and clientSecret or clientCertificate.`);
        throw err;
      }
      const material = parseCredentialSecret(secretName, secret.data);
      lastKnown.set(key, material);
      return { credential: cache.forMaterial(material), material };
    },
  };
}
