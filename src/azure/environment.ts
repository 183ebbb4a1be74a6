// Where Azure is: the Resource Manager endpoint, the Entra authority host, the token scope, and an
// extra CA for sovereign clouds behind a private CA or for the emulator. Nothing here ever turns
// TLS verification off.
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';

export interface AzureEnvironment {
  armEndpoint: string;
  authorityHost: string;
  /** Extra PEM CA certificates trusted besides the system ones. */
  extraCa?: string;
}

export const PUBLIC_CLOUD = { armEndpoint: 'https://management.azure.com', authorityHost: 'https://login.microsoftonline.com' };

export function armScope(env: AzureEnvironment): string {
  return `${env.armEndpoint.replace(/\/+$/, '')}/.default`;
}

/**
 * TLS options for the SDKs: the system roots plus the extra CA (a `ca` option replaces Node's
 * defaults, so they are added back), or nothing at all when no extra CA is configured.
 */
export function tlsOptions(env: AzureEnvironment): { ca: string[] } | undefined {
  return env.extraCa ? { ca: [...rootCertificates, env.extraCa] } : undefined;
}

/**
 * The same trust as a TLS context, built once: a `ca` option on an agent would make Node parse
 * every root certificate again for each new connection.
 */
export function secureContext(env: AzureEnvironment): SecureContext | undefined {
  const tls = tlsOptions(env);
  return tls ? createSecureContext(tls) : undefined;
}

/** MSAL asks login.microsoftonline.com for instance metadata unless told not to; only do so for it. */
export function isPublicAuthority(env: AzureEnvironment): boolean {
  return env.authorityHost.replace(/\/+$/, '') === PUBLIC_CLOUD.authorityHost;
}
