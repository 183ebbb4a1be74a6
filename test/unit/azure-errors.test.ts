// The one classification of Azure and Entra failures: what waits exactly, what backs off, and
// what stalls with the code as reason and advice in the message.
import { expect } from 'chai';
import { classifyAzureError } from '../../src/azure/errors.js';
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

  it('names operations for metrics by method and resource type', () => {
    const base = 'https://management.azure.com/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g';
    expect(operationName('GET', `${base}?api-version=1`)).to.equal('GET galleries');
    expect(operationName('POST', `${base}/share`)).to.equal('POST share');
    expect(operationName('PUT', `${base}/providers/Microsoft.Authorization/roleAssignments/x`)).to.equal('PUT roleAssignments');
    expect(operationName('GET', 'https://management.azure.com/subscriptions/s/providers/Microsoft.Compute/locations/westus/operations/1')).to.equal('GET operations');
  });
});
