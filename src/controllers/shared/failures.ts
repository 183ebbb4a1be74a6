// The one place a controller turns any failure into what happens next: a long-running operation
// that Azure reports as failed, a refusal or outage of the Kubernetes API (reading a Secret), or
// an error of an Azure call or of Entra. Kubernetes failures are named as such, so that a
// forbidden Secret read is not reported as something Azure refused.
import { classifyAzureError, classifyOperationFailure, type AzureFailure } from '../../azure/errors.js';
import { OperationFailedError } from '../../azure/gallery-sharing.js';
import { KubeApiError } from '../../runtime/kube-client.js';

export function classifyFailure(err: unknown, doing: string): AzureFailure {
  if (err instanceof OperationFailedError) return classifyOperationFailure(err.code, err.message, doing);
  if (err instanceof KubeApiError) return classifyKubeFailure(err, doing);
  return classifyAzureError(err, doing);
}

function classifyKubeFailure(err: KubeApiError, doing: string): AzureFailure {
  const code = `Kubernetes${err.reason && err.reason !== 'Unknown' ? err.reason : err.statusCode}`;
  if (err.statusCode === 403) {
    return {
      kind: 'terminal',
      code: 'KubernetesForbidden',
      message: `The Kubernetes API refused the operator while ${doing}: ${err.message}. Its ServiceAccount lacks a permission that the chart's RBAC (config/rbac) grants: reinstall it.`,
    };
  }
  return { kind: 'retryable', code, message: `The Kubernetes API failed while ${doing}: ${err.message}` };
}
