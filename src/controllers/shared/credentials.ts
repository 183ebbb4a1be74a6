// Resolves the Azure credential an object acts with: the Secret its azureCredentialsRef names (in
// the object's own namespace), or the operator's own identity. Shared by the controllers.
import type { TokenCredential } from '@azure/identity';
import { CredentialSecretError, parseCredentialSecret, type CredentialCache, type CredentialMaterial } from '../../azure/credentials.js';
import { isNotFound, type KubeClient } from '../../runtime/kube-client.js';

export interface CredentialResolver {
  /** The credential for a Secret in `namespace`, or the default identity when `secretName` is undefined. */
  resolve(namespace: string, secretName: string | undefined): Promise<{ credential: TokenCredential; material?: CredentialMaterial }>;
}

export function credentialResolver(client: KubeClient, cache: CredentialCache, defaultIdentity: () => TokenCredential): CredentialResolver {
  return {
    async resolve(namespace, secretName) {
      if (!secretName) return { credential: defaultIdentity() };
      let secret: { data?: Record<string, string> };
      try {
        secret = await client.get(`/api/v1/namespaces/${namespace}/secrets/${secretName}`);
      } catch (err) {
        if (isNotFound(err)) throw new CredentialSecretError(`Secret ${secretName} does not exist in namespace ${namespace}; create it with tenantId, clientId and clientSecret or clientCertificate.`);
        throw err;
      }
      const material = parseCredentialSecret(secretName, secret.data);
      return { credential: cache.forMaterial(material), material };
    },
  };
}
