// The classification of every failure that reaches the operator from Azure or Entra, used by
// all controllers (controllers/shared/failures.ts adds Kubernetes' failures and decides what
// each class means for status and the queue):
//   throttled: wait exactly Retry-After, then try again (Reconciling);
//   retryable: back off and try again (Reconciling): 5xx, timeouts, dropped connections, 409s
//              from operations already in flight;
//   transient: a refusal Azure documents as passing within a while (a principal not yet
//              replicated): back off and try again (Reconciling) for that while, then Stalled;
//   terminal:  a person must act (Stalled): reason is the ARM or Entra code, message says what
//              happened and what to do.
// Messages carry Azure's own words and ids, never a secret: Entra echoes no secret, and the
// operator never adds one.

/** A classified failure, from Azure, Entra or Kubernetes: its class, a code, and what to say. */
export type Failure =
  | { kind: 'throttled'; code: string; message: string; retryAfterMs: number }
  | { kind: 'retryable'; code: string; message: string }
  | { kind: 'transient'; code: string; message: string; settlesWithinMs: number }
  | { kind: 'terminal'; code: string; message: string };

export type FailureKind = Failure['kind'];

/**
 * What the caller knows that makes a refusal likely to pass by itself: Azure documents some
 * refusals as replication delays, but only the context tells them from a real refusal.
 */
export interface TransienceContext {
  /** Now, in ms since the epoch. */
  now: number;
  /** Role assignments this operator made recently (scope, and when, in ms): RBAC takes minutes to apply. */
  recentGrants?: readonly { scope: string; at: number }[];
  /** When consent to the application was seen given in the tenant (ms): its service principal takes a while to replicate. */
  consentSeenAt?: number;
  /** Regions an image version targets whose replication has not finished (lower case). */
  replicatingRegions?: readonly string[];
}

/** How long Azure's documented delays last, at most, before a refusal means what it says. */
export const SETTLING_MS = {
  /** A principal created moments ago, not yet replicated to ARM ("this error might be related to a replication delay"). */
  principalReplication: 5 * 60_000,
  /** A role assignment takes effect ("up to 10 minutes", Azure RBAC troubleshooting). */
  roleAssignmentPropagation: 10 * 60_000,
  /** A service principal created by consent reaching the token service. */
  consentReplication: 10 * 60_000,
  /** An image version replicating to a region ("can take hours"). */
  imageReplication: 6 * 3600_000,
};

/** The scope in an AuthorizationFailed message ("... over scope '/subscriptions/...'"), if any. */
function refusedScope(message: string): string | undefined {
  return /over scope '([^']+)'/i.exec(message)?.[1];
}

const isAtOrBelow = (scope: string, granted: string) => {
  const a = scope.toLowerCase().replace(/\/+$/, '');
  const b = granted.toLowerCase().replace(/\/+$/, '');
  return a === b || a.startsWith(`${b}/`);
};

/**
 * A terminal refusal re-read in its context: the refusals Azure documents as passing within a
 * while become transient (Reconciling with backoff for that while, then Stalled).
 */
export function withTransience(failure: Failure, context: TransienceContext | undefined): Failure {
  if (failure.kind !== 'terminal') return failure;
  const transient = (settlesWithinMs: number): Failure => ({ kind: 'transient', code: failure.code, message: failure.message, settlesWithinMs });
  if (failure.code === 'PrincipalNotFound') return transient(SETTLING_MS.principalReplication);
  if (!context) return failure;
  if (failure.code === 'AuthorizationFailed' || failure.code === 'LinkedAuthorizationFailed') {
    const scope = refusedScope(failure.message);
    const recent = (context.recentGrants ?? []).filter((g) => context.now - g.at < SETTLING_MS.roleAssignmentPropagation);
    if (recent.some((g) => scope === undefined || isAtOrBelow(scope, g.scope))) return transient(SETTLING_MS.roleAssignmentPropagation);
  }
  if ((failure.code === 'AADSTS700016' || failure.code === 'AADSTS7000229') && context.consentSeenAt !== undefined && context.now - context.consentSeenAt < SETTLING_MS.consentReplication) {
    return transient(SETTLING_MS.consentReplication);
  }
  if (failure.code === 'GalleryImageNotFound') {
    const region = /not available in (\S+) region/i.exec(failure.message)?.[1]?.toLowerCase().replace(/\s+/g, '');
    if (region && (context.replicatingRegions ?? []).includes(region)) return transient(SETTLING_MS.imageReplication);
  }
  return failure;
}

/**
 * A refusal the operator itself has named (an unknown tenant, an expired certificate): a person
 * must act, and the message says what. Classified as terminal with its own code.
 */
export class RefusalError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RefusalError';
  }
}

/** The code of a request the operator's pacing held back (PacedLocallyError); here so that pacing.ts and this file agree. */
export const PACED_CODE = 'ClientSidePacing';

interface ErrorLike {
  name?: string;
  retryAfterMs?: number;
  message?: string;
  code?: string;
  statusCode?: number;
  response?: { headers?: { get(name: string): string | undefined } };
  errorResponse?: { error?: string; errorDescription?: string };
  reason?: string;
}

/** What to do, by code, for the terminal failures a person is likely to meet. */
const ADVICE: Record<string, string> = {
  AuthorizationFailed:
    'Grant the identity the role it needs on that scope (for a gallery: Owner, or Compute Gallery Sharing Admin plus User Access Administrator or Role Based Access Control Administrator), then wait a few minutes for Azure to apply it.',
  LinkedAuthorizationFailed: 'The identity also needs access to the linked resource in the other tenant: check the TenantGrant (Reader on the gallery in the source tenant).',
  GalleryNotFound: 'Check spec.gallery (subscription, resource group and name), or create the gallery first.',
  ResourceNotFound: 'Check the ids in the spec, or create the resource first.',
  ResourceGroupNotFound: 'Check the resource group name in the spec, or create the resource group first.',
  SubscriptionNotFound: 'Check the subscription id, and that the identity belongs to the tenant that owns it.',
  InvalidAuthenticationTokenTenant: 'The credentials belong to another tenant than the subscription: use credentials of the tenant that owns it.',
  InvalidAuthenticationToken: 'Azure refused the token: check the credentials and the ARM endpoint setting.',
  PrincipalNotFound: 'Check the principalId (an object id in Microsoft Entra ID) and principalType; a principal created moments ago can take a few minutes to replicate.',
  RoleDefinitionDoesNotExist: 'Check the role: a built-in role name or the GUID of a role definition that exists in this subscription.',
  InvalidParameter: 'Azure refused a value in the request; correct the spec as the message says.',
  AADSTS7000215: 'The client secret is wrong or expired: put a current secret of the application in the Secret.',
  AADSTS7000222: 'The client secret has expired: create a new one for the application (az ad app credential reset --id <application id> --append) and update the Secret.',
  AADSTS700016: "The application has no service principal in that tenant: the tenant's administrator must consent to the application.",
  AADSTS7000229: 'The application has no service principal in that tenant: create one (az ad sp create --id <application id>, run by an administrator of the tenant).',
  AADSTS7000112: "The application is disabled in that tenant: its owner or the tenant's administrator must enable it (Enterprise applications, Enabled for users to sign in).",
  AADSTS90002: 'The tenant does not exist: check tenantId in the Secret.',
  AADSTS700027: 'The certificate is not registered on the application or the assertion is invalid: upload the certificate to the app registration, or fix clientCertificate in the Secret.',
  AADSTS700024: 'The client assertion is outside its valid time range: check the clock of the machine.',
  InvalidCredentialsSecret: 'Fix the Secret named in the message.',
  SecretNotFound: 'Create the Secret or key named in the message; the operator looks again within a minute.',
  SkuNotAvailable: 'The VM size is not offered in this region or zone for the subscription: choose another size or region (az vm list-skus --location <region> --size <size>).',
  QuotaExceeded: 'The subscription has no quota left for this VM family in the region: request a quota increase (Azure portal, Quotas) or choose another size.',
  RequestDisallowedByPolicy: 'An Azure Policy assignment refuses the VM: ask its owner for an exemption, or change the spec as the policy requires.',
  GalleryImageNotFound: 'The image version is not available here: check the image id, and ask the image owner to replicate it to this region.',
  CredentialUnavailable: "The operator has no Azure identity of its own here: set azureCredentialsRef on the object, or configure workload identity, managed identity or the AZURE_* variables for the operator.",
};

// Transient whatever the HTTP status: Azure's own "try again" codes and dropped connections.
const RETRYABLE_CODES = new Set([
  // Compute: no capacity for the size in the region or zone right now, or an internal error; a new
  // PUT of the failed VM tries again (Azure's own advice).
  'AllocationFailed',
  'ZonalAllocationFailed',
  'InternalExecutionError',
  'InternalOperationError',
  'AnotherOperationInProgress', 'RetryableError', 'ServiceUnavailable', 'InternalServerError', 'GatewayTimeout', 'REQUEST_SEND_ERROR', 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']);
// Transient only as a 409 (or as the failure of a long-running operation): another operation is
// running on the resource. The same codes with 400 are a refusal that waiting will not change.
const CONFLICT_CODES = new Set(['OperationNotAllowed', 'Conflict']);

/**
 * What to do about a refusal. For an AuthorizationFailed on a write the operator makes (a role
 * assignment, a share) it names the roles that allow that action on the refused scope, as ARM's
 * message gives them ("does not have authorization to perform action '<action>' over scope
 * '<scope>'"); for a refused read it says what the gallery's identity needs as a whole, so that
 * a person grants it once rather than one refusal at a time.
 */
/**
 * Compute uses OperationNotAllowed (409) for "another operation is running", which passes, and for
 * refusals that do not: an exhausted quota, and a resize to a size the VM's current hardware
 * cluster lacks while it runs. Only the words tell them apart: the refusal, as the reason to give
 * and what to do, or undefined.
 */
function computeRefusal(code: string, message: string): { code: string; advice: string } | undefined {
  if (code === 'QuotaExceeded' || (code === 'OperationNotAllowed' && /quota/i.test(message))) return { code: 'QuotaExceeded', advice: ADVICE.QuotaExceeded! };
  if (code === 'OperationNotAllowed' && /unable to resize/i.test(message)) {
    return {
      code,
      advice:
        'The size is not offered on the hardware the running VM is on: deallocate the VM (az vm deallocate) so that Azure can place it where the size exists, and the operator resizes it then (it never stops a VM by itself); or choose one of the sizes the message lists.',
    };
  }
  return undefined;
}

export function advice(code: string, message = ''): string | undefined {
  if (code === 'AuthorizationFailed') {
    const refused = /perform action '([^']+)' over scope '([^']+)'/i.exec(message);
    const action = refused?.[1] ?? '';
    const scope = refused?.[2] ?? '';
    const roles = /^Microsoft\.Authorization\/roleAssignments\/(write|delete)$/i.test(action)
      ? 'Owner, User Access Administrator or Role Based Access Control Administrator'
      : /\/share\/action$/i.test(action)
        ? 'Owner, or Compute Gallery Sharing Admin'
        : undefined;
    if (roles) return `Give the identity ${roles} on ${scope} (or a scope above it), then wait a few minutes for Azure to apply it.`;
  }
  return ADVICE[code];
}

/** Retry-After as Azure sends it: milliseconds (retry-after-ms), seconds, or an HTTP date. */
export function retryAfterMsFromHeaders(headers: { get(name: string): string | undefined }): number | undefined {
  const ms = headers.get('retry-after-ms') ?? headers.get('x-ms-retry-after-ms');
  if (ms && /^\d+$/.test(ms)) return Number(ms);
  const seconds = headers.get('retry-after');
  if (seconds && /^\d+$/.test(seconds)) return Number(seconds) * 1000;
  if (seconds) {
    const at = Date.parse(seconds);
    if (!Number.isNaN(at)) return Math.max(0, at - Date.now());
  }
  return undefined;
}

/** Whether Azure answered 404: the resource (or the operation) does not exist. */
export function isArmNotFound(err: unknown): boolean {
  return (err as { statusCode?: number } | undefined)?.statusCode === 404;
}

export function retryAfterMsOf(err: ErrorLike): number | undefined {
  return err.response?.headers ? retryAfterMsFromHeaders(err.response.headers) : undefined;
}

/** The AADSTS code at the start of an Entra error description, if any. */
function entraCode(err: ErrorLike): string | undefined {
  const text = `${err.errorResponse?.errorDescription ?? ''} ${err.message ?? ''}`;
  return /AADSTS\d+/.exec(text)?.[0];
}

/**
 * What Entra said, without what changes on every answer: from the AADSTS code to the trace and
 * correlation ids and timestamps it appends ("AADSTS7000215: Invalid client secret provided. ..."),
 * so that the same refusal reads the same each time (one event, no status rewrite).
 */
export function entraDescription(text: string): string {
  const from = text.indexOf('AADSTS');
  return firstLine(from >= 0 ? text.slice(from).split(/ Trace ID:| Correlation ID:| Timestamp:/)[0] : text);
}

function firstLine(text: string | undefined): string {
  return (text ?? '').split(/\r?\n/)[0]!.trim();
}

export function classifyAzureError(error: unknown, doing: string): Failure {
  const err = (error ?? {}) as ErrorLike;
  const name = err.name ?? '';

  if (name === 'AbortError') {
    return {
      kind: 'retryable',
      code: 'Abandoned',
      message: `Gave up waiting for Azure while ${doing} (the reconcile timed out, or the operator is shutting down); a change sent meanwhile may or may not have been made, so the next try reads Azure before it writes again.`,
    };
  }

  if (error instanceof RefusalError) return { kind: 'terminal', code: error.code, message: error.message };
  if (name === 'CredentialSecretError') return { kind: 'terminal', code: 'InvalidCredentialsSecret', message: `${err.message} ${ADVICE.InvalidCredentialsSecret}` };

  if (name === 'AuthenticationError' || name === 'AggregateAuthenticationError' || entraCode(err)) {
    const code = entraCode(err) ?? err.errorResponse?.error ?? 'AuthenticationFailed';
    const description = entraDescription(err.errorResponse?.errorDescription ?? err.message ?? '');
    if ((err.statusCode ?? 0) >= 500) return { kind: 'retryable', code, message: `Microsoft Entra ID failed while ${doing}: ${description}` };
    return { kind: 'terminal', code, message: `Microsoft Entra ID refused the credentials while ${doing}: ${description}${ADVICE[code] ? ` ${ADVICE[code]}` : ''}` };
  }
  if ((err.message ?? '').includes('endpoints_resolution_error')) {
    // MSAL could not read the tenant's OpenID configuration: Entra answered AADSTS90002 there,
    // before any token request could say so.
    return {
      kind: 'terminal',
      code: 'TenantNotFound',
      message: `Microsoft Entra ID does not know the tenant of the credentials used while ${doing} (its OpenID configuration could not be read). Check the tenant id (tenantId in the Secret, or the spec), and the authority host setting for sovereign clouds.`,
    };
  }
  if (name === 'CredentialUnavailableError') {
    return { kind: 'terminal', code: 'CredentialUnavailable', message: `No Azure credentials while ${doing}: ${firstLine(err.message)} ${ADVICE.CredentialUnavailable}` };
  }

  const status = err.statusCode ?? 0;
  const code = err.code ?? (status ? `Http${status}` : 'UnknownError');
  const message = firstLine(err.message) || code;
  if (status === 429) {
    // The operator's own pacing (src/azure/pacing.ts) is not Azure throttling, though it is waited out the same way.
    const who = code === PACED_CODE ? "The operator is keeping within ARM's request budget" : 'Azure is throttling requests';
    return { kind: 'throttled', code, message: `${who} while ${doing}: ${message}`, retryAfterMs: err.retryAfterMs ?? retryAfterMsOf(err) ?? 30_000 };
  }
  const refusal = computeRefusal(code, message);
  if (refusal) return { kind: 'terminal', code: refusal.code, message: `Azure refused ${doing} (${status} ${code}): ${message} ${refusal.advice}` };
  if (status >= 500 || status === 408 || RETRYABLE_CODES.has(code) || (status === 409 && CONFLICT_CODES.has(code)) || status === 0) {
    return { kind: 'retryable', code, message: `Azure failed while ${doing} (${status || 'no answer'} ${code}): ${message}` };
  }
  const todo = advice(code, message);
  return { kind: 'terminal', code, message: `Azure refused ${doing} (${status} ${code}): ${message}${todo ? ` ${todo}` : ''}` };
}

/**
 * A long-running operation that Azure ran and reports as failed (no HTTP status of its own): it
 * is tried again when its code is transient (a server error, another operation in the way), and
 * stalls otherwise.
 */
export function classifyOperationFailure(code: string, message: string, doing: string): Failure {
  const refusal = computeRefusal(code, message);
  if (refusal) return { kind: 'terminal', code: refusal.code, message: `Azure could not finish ${doing} (${code}): ${firstLine(message)} ${refusal.advice}` };
  if (RETRYABLE_CODES.has(code) || CONFLICT_CODES.has(code)) return { kind: 'retryable', code, message: `Azure failed to finish ${doing} (${code}): ${firstLine(message)}` };
  return { kind: 'terminal', code, message: `Azure could not finish ${doing} (${code}): ${firstLine(message)}${ADVICE[code] ? ` ${ADVICE[code]}` : ''}` };
}
