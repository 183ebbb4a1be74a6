// The one classification of Azure and Entra failures: what waits exactly, what backs off, and
// what stalls with the code as reason and advice in the message.
import { expect } from 'chai';
import { classifyAzureError, classifyOperationFailure } from '../../src/azure/errors.js';
import { OperationFailedError, pollOnce, submitted } from '../../src/azure/operations.js';
import { classifyFailure } from '../../src/controllers/shared/failures.js';
import { KubeApiError } from '../../src/runtime/kube-client.js';
import { operationName } from '../../src/azure/clients.js';

const headers = (values: Record<string, string>) => ({ get: (name: string) => values[name.toLowerCase()] });

describe('classifyAzureError', () => {
  it('waits exactly Retry-After on 429, in seconds or milliseconds', () => {
    expect(classifyAzureError({ name: 'RestError', statusCode: 429, code: 'TooManyRequests', message: 'slow down', response: { headers: headers({ 'retry-after': '7' }) } }, 'x')).to.deep.include({ kind: 'throttled', retryAfterMs: 7000 });
    expect(classifyAzureError({ name: 'RestError', statusCode: 429, code: 'TooManyRequests', message: 'slow down', response: { headers: headers({ 'retry-after-ms': '1500' }) } }, 'x')).to.deep.include({ kind: 'throttled', retryAfterMs: 1500 });
  });

  it('backs off on 5xx, dropped connections and operations already in flight', () => {
    for (const err of [
      { name: 'RestError', statusCode: 503, code: 'ServiceUnavailable', message: 'busy' },
      { name: 'RestError', code: 'ECONNRESET', message: 'socket hang up' },
      { name: 'RestError', statusCode: 409, code: 'OperationNotAllowed', message: 'another share is running' },
    ]) {
      expect(classifyAzureError(err, 'x').kind, err.code).to.equal('retryable');
    }
  });

  it('stalls on what a person must fix, with the code as reason and advice', () => {
    const denied = classifyAzureError({ name: 'RestError', statusCode: 403, code: 'AuthorizationFailed', message: "The client 'abc' does not have authorization" }, 'sharing the gallery');
    expect(denied).to.deep.include({ kind: 'terminal', code: 'AuthorizationFailed' });
    expect(denied.message).to.include('Compute Gallery Sharing Admin');
    const badSecret = classifyAzureError({ name: 'AuthenticationError', statusCode: 400, message: 'x', errorResponse: { error: 'invalid_client', errorDescription: 'AADSTS7000215: Invalid client secret provided.\nTrace ID: 1' } }, 'x');
    expect(badSecret).to.deep.include({ kind: 'terminal', code: 'AADSTS7000215' });
    expect(badSecret.message).to.include('Invalid client secret provided.').and.not.include('Trace ID');
    expect(classifyAzureError({ name: 'CredentialUnavailableError', message: 'no identity' }, 'x')).to.deep.include({ kind: 'terminal', code: 'CredentialUnavailable' });
  });

  it("reads Entra's refusals as @azure/identity gives them (AuthenticationRequiredError, no status), the same words each time", () => {
    const said = (trace: string) =>
      classifyAzureError(
        { name: 'AuthenticationRequiredError', message: `invalid_client: Error(s): 7000222 - Timestamp: 2026-11-29 22:41:34Z - Description: AADSTS7000222: The provided client secret keys for app 'a' are expired. Trace ID: ${trace} Correlation ID: ${trace} Timestamp: 2026-11-29 22:41:34Z - Correlation ID: ${trace} - Trace ID: ${trace}` },
        'x',
      );
    expect(said('1')).to.deep.include({ kind: 'terminal', code: 'AADSTS7000222' });
    expect(said('1').message).to.equal(said('2').message);
    expect(said('1').message).to.include("AADSTS7000222: The provided client secret keys for app 'a' are expired.").and.include('az ad app credential reset');
  });

  it('AuthorizationFailed says which roles allow the refused action on the refused scope', () => {
    const refused = (action: string) =>
      classifyAzureError({ name: 'RestError', statusCode: 403, code: 'AuthorizationFailed', message: `The client 'c' with object id 'c' does not have authorization to perform action '${action}' over scope '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g' or the scope is invalid.` }, 'x').message;
    expect(refused('Microsoft.Authorization/roleAssignments/write')).to.include('Give the identity Owner, User Access Administrator or Role Based Access Control Administrator on /subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g');
    expect(refused('Microsoft.Compute/galleries/share/action')).to.include('Compute Gallery Sharing Admin on /subscriptions/s');
    expect(refused('Microsoft.Compute/galleries/read')).to.include('Compute Gallery Sharing Admin plus User Access Administrator');
  });

  it('names an unknown tenant (MSAL: endpoints_resolution_error, before any AADSTS code) TenantNotFound, not a missing identity', () => {
    const unknown = classifyAzureError({ name: 'CredentialUnavailableError', message: 'endpoints_resolution_error: See https://aka.ms/msal.js.errors#endpoints_resolution_error for details' }, 'x');
    expect(unknown).to.deep.include({ kind: 'terminal', code: 'TenantNotFound' });
  });

  it('takes a resize the running VM cannot get (409 OperationNotAllowed, "Unable to resize") as a refusal with the advice to deallocate', () => {
    const refused = classifyAzureError({ name: 'RestError', statusCode: 409, code: 'OperationNotAllowed', message: "Unable to resize the VM 'web-1' because the requested size Standard_M64s is not available in the current hardware cluster." }, 'x');
    expect(refused).to.deep.include({ kind: 'terminal', code: 'OperationNotAllowed' });
    expect(refused.message).to.include('deallocate');
  });

  it('takes OperationNotAllowed and Conflict as transient only as a 409 (another operation running), not as a 400 refusal', () => {
    expect(classifyAzureError({ name: 'RestError', statusCode: 409, code: 'Conflict', message: 'busy' }, 'x').kind).to.equal('retryable');
    const refused = classifyAzureError({ name: 'RestError', statusCode: 400, code: 'OperationNotAllowed', message: 'Changing the sharing permission is not allowed while the gallery is shared.' }, 'changing the permission');
    expect(refused).to.deep.include({ kind: 'terminal', code: 'OperationNotAllowed' });
    expect(refused.message).to.include('Changing the sharing permission is not allowed');
  });

  it("stalls on Azure's role-assignment limit (RoleAssignmentLimitExceeded) with the advice to assign groups, as a 400 or a 409", () => {
    for (const statusCode of [400, 409]) {
      const full = classifyAzureError({ name: 'RestError', statusCode, code: 'RoleAssignmentLimitExceeded', message: 'No more role assignments can be created.' }, 'assigning Reader on the gallery');
      expect(full, String(statusCode)).to.deep.include({ kind: 'terminal', code: 'RoleAssignmentLimitExceeded' });
      expect(full.message).to.include('No more role assignments can be created.').and.include('4,000').and.include('groups').and.include('remove unused role assignments');
    }
  });

  it('names operations for metrics by method and resource type', () => {
    const base = 'https://management.azure.com/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g';
    expect(operationName('GET', `${base}?api-version=1`)).to.equal('GET galleries');
    expect(operationName('POST', `${base}/share`)).to.equal('POST share');
    expect(operationName('PUT', `${base}/providers/Microsoft.Authorization/roleAssignments/x`)).to.equal('PUT roleAssignments');
    expect(operationName('GET', 'https://management.azure.com/subscriptions/s/providers/Microsoft.Compute/locations/westus/operations/1')).to.equal('GET operations');
  });
});

describe('a failed long-running operation', () => {
  const failedPoller = (message: string) => ({
    isDone: true,
    operationState: { status: 'failed', error: new Error(message) },
    submitted: () => Promise.resolve(),
    serialize: () => Promise.resolve('{}'),
    poll: () => Promise.resolve({ status: 'failed' }),
  });

  it("keeps the ARM code core-lro puts only in its message, so that AllocationFailed is retried and SkuNotAvailable stalls", async () => {
    const failure = async (message: string) => {
      const err = await submitted(failedPoller(message), () => undefined).then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(OperationFailedError);
      return classifyFailure(err, 'creating the VM');
    };
    expect(await failure('The long-running operation has failed. AllocationFailed. Allocation failed. We do not have sufficient capacity.')).to.deep.include({ kind: 'retryable', code: 'AllocationFailed' });
    expect(await failure('The long-running operation has failed. SkuNotAvailable. The requested size is not available.')).to.deep.include({ kind: 'terminal', code: 'SkuNotAvailable' });
    // A poll that sees the failure rejects with core-lro's error instead of returning it.
    const rejecting = { ...failedPoller(''), isDone: false, operationState: { status: 'running' }, poll: () => Promise.reject(new Error('The long-running operation has failed. ZonalAllocationFailed. No capacity in zone 1.')) };
    const polled = await pollOnce(rejecting, () => undefined, new AbortController().signal).then(() => undefined, (e: unknown) => e);
    expect(polled).to.be.instanceOf(OperationFailedError);
    expect(classifyFailure(polled, 'creating the VM')).to.deep.include({ kind: 'retryable', code: 'ZonalAllocationFailed' });
    expect(await failure('The long-running operation has failed. OperationNotAllowed. Operation could not be completed as it results in exceeding approved standardDSv5Family Cores quota.')).to.deep.include({ kind: 'terminal', code: 'QuotaExceeded' });
  });
});

describe('classifyFailure (what a controller does with any failure)', () => {
  it('retries a long-running operation that failed for a transient reason, and stalls on one that a person must fix', () => {
    expect(classifyFailure(new OperationFailedError('InternalServerError', 'An internal error occurred.'), 'sharing the gallery')).to.deep.include({ kind: 'retryable', code: 'InternalServerError' });
    expect(classifyFailure(new OperationFailedError('AnotherOperationInProgress', 'busy'), 'sharing the gallery').kind).to.equal('retryable');
    const invalid = classifyFailure(new OperationFailedError('InvalidParameter', 'Tenant 123 is not valid.'), 'sharing the gallery');
    expect(invalid).to.deep.include({ kind: 'terminal', code: 'InvalidParameter' });
    expect(invalid.message).to.include('Tenant 123 is not valid.').and.include('correct the spec');
    expect(classifyOperationFailure('OperationFailed', 'the operation failed', 'x').kind).to.equal('terminal');
  });

  it('names a Kubernetes refusal as such, not as something Azure refused', () => {
    const forbidden = classifyFailure(new KubeApiError(403, 'Forbidden', 'GET /api/v1/namespaces/a/secrets/s: 403 secrets "s" is forbidden', {}), 'reading the credentials');
    expect(forbidden).to.deep.include({ kind: 'terminal', code: 'KubernetesForbidden' });
    expect(forbidden.message).to.include('Kubernetes API refused').and.include('RBAC').and.not.include('Azure');
    const outage = classifyFailure(new KubeApiError(503, 'ServiceUnavailable', 'GET /api/v1/namespaces/a/secrets/s: 503', {}), 'reading the credentials');
    expect(outage).to.deep.include({ kind: 'retryable', code: 'KubernetesServiceUnavailable' });
    expect(classifyFailure({ name: 'RestError', statusCode: 403, code: 'AuthorizationFailed', message: 'no' }, 'x').message).to.include('Azure refused');
  });
});
