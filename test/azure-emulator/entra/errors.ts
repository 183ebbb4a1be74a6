// Entra ID's error answers: error, error_description (starting with the AADSTS code), error_codes,
// timestamp, trace and correlation ids, as MSAL and @azure/identity parse them. The HTTP status
// follows the error, as Entra's token endpoint answers: 401 for invalid_client, 400 otherwise.
import { randomUUID } from 'node:crypto';
import type { EmulatorResponse } from '../http.js';

/** Entra's status for a token endpoint error: 401 for `invalid_client` (RFC 6749 5.2), 400 for the rest. */
export function entraStatus(error: string): number {
  return error === 'invalid_client' ? 401 : 400;
}

export function entraError(error: string, code: number, message: string): EmulatorResponse {
  const status = entraStatus(error);
  const timestamp = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  const traceId = randomUUID();
  const correlationId = randomUUID();
  return {
    status,
    headers: { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' },
    body: {
      error,
      error_description: `AADSTS${code}: ${message} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
      error_codes: [code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${code}`,
    },
  };
}

export const entraErrors = {
  tenantNotFound: (tenant: string) =>
    entraError(
      'invalid_request',
      90002,
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
    ),
  applicationNotFound: (appId: string, tenantName: string) =>
    entraError(
      'unauthorized_client',
      700016,
      `Application with identifier '${appId}' was not found in the directory '${tenantName}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    ),
  /** The app has no service principal in the tenant: Entra answers this or 700016 for the same situation. */
  missingServicePrincipal: (appId: string, tenantId: string) =>
    entraError(
      'invalid_client',
      7000229,
      `The client application ${appId} is missing service principal in the tenant ${tenantId}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119`,
    ),
  secretExpired: (appId: string) =>
    entraError(
      'invalid_client',
      7000222,
      `The provided client secret keys for app '${appId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`,
    ),
  applicationDisabled: (appId: string, name: string) => entraError('unauthorized_client', 7000112, `Application '${appId}'(${name}) is disabled.`),
  /** A client-credentials request to /common, /organizations or /consumers: no tenant to issue the token in. */
  noTenant: () => entraError('invalid_request', 50059, 'No tenant-identifying information found in either the request or implied by any provided credentials.'),
  invalidSecret: (appId: string) =>
    entraError(
      'invalid_client',
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${appId}'.`,
    ),
  badAssertion: (reason: string) => entraError('invalid_client', 700027, `Client assertion failed signature validation. [Reason - ${reason}]`),
  assertionExpired: () => entraError('invalid_client', 700024, 'Client assertion is not within its valid time range.'),
  missingCredential: () => entraError('invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."),
  unsupportedGrant: (grant: string) => entraError('unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant}'.`),
  badScope: (scope: string) =>
    entraError(
      'invalid_scope',
      1002012,
      `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    ),
};
