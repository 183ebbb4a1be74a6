// ARM's error answers: {"error":{"code","message"}} with the status, codes and messages ARM and the
// Compute and Authorization resource providers use. Handlers throw ArmError; the dispatcher renders it.
import type { EmulatorResponse } from '../http.js';

export class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly details?: { code: string; message: string; target?: string }[],
    readonly target?: string,
  ) {
    super(message);
  }

  toResponse(): EmulatorResponse {
    const error: Record<string, unknown> = { code: this.code, message: this.message };
    if (this.target) error['target'] = this.target;
    if (this.details) error['details'] = this.details;
    return { status: this.status, headers: { ...this.headers }, body: { error } };
  }
}

export const armErrors = {
  missingApiVersion: () => new ArmError(400, 'MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests."),
  invalidJson: (detail: string) => new ArmError(400, 'InvalidRequestContent', `The request content was invalid and could not be deserialized: '${detail}'.`),
  invalidParameter: (message: string, target?: string) => new ArmError(400, 'InvalidParameter', message, {}, undefined, target),
  missingAuthorization: () =>
    new ArmError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.", {
      'www-authenticate': 'Bearer authorization_uri="https://login.windows.net/", error="invalid_token", error_description="The authentication failed because of missing \'Authorization\' header."',
    }),
  invalidToken: () =>
    new ArmError(401, 'InvalidAuthenticationToken', 'The access token is invalid.', {
      'www-authenticate': 'Bearer authorization_uri="https://login.windows.net/", error="invalid_token", error_description="The access token is invalid."',
    }),
  expiredToken: (exp: number, now: number) =>
    new ArmError(
      401,
      'ExpiredAuthenticationToken',
      `The access token expiry UTC time '${new Date(exp * 1000).toUTCString()}' is earlier than current UTC time '${new Date(now).toUTCString()}'.`,
      { 'www-authenticate': 'Bearer authorization_uri="https://login.windows.net/", error="invalid_token", error_description="The access token expiry UTC time is earlier than current UTC time."' },
    ),
  wrongAudience: (aud: string, allowed: string[]) =>
    new ArmError(401, 'InvalidAuthenticationTokenAudience', `The access token has been obtained for wrong audience or resource '${aud}'. It should exactly match with one of the allowed audiences ${allowed.map((a) => `'${a}'`).join(',')}.`),
  wrongTenant: (tokenTenant: string, subscriptionTenant: string) =>
    new ArmError(
      401,
      'InvalidAuthenticationTokenTenant',
      `The access token is from the wrong issuer 'https://sts.windows.net/${tokenTenant}/'. It must match the tenant 'https://sts.windows.net/${subscriptionTenant}/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/${subscriptionTenant}' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later.`,
    ),
  authorizationFailed: (oid: string, action: string, scope: string) =>
    new ArmError(
      403,
      'AuthorizationFailed',
      `The client '${oid}' with object id '${oid}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
    ),
  subscriptionNotFound: (subscriptionId: string) => new ArmError(404, 'SubscriptionNotFound', `The subscription '${subscriptionId}' could not be found.`),
  resourceGroupNotFound: (name: string) => new ArmError(404, 'ResourceGroupNotFound', `Resource group '${name}' could not be found.`),
  resourceNotFound: (type: string, name: string, resourceGroup: string) =>
    new ArmError(404, 'ResourceNotFound', `The Resource '${type}/${name}' under resource group '${resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`),
  parentNotFound: (parentName: string) => new ArmError(404, 'ParentResourceNotFound', `Can not perform requested operation on nested resource. Parent resource '${parentName}' not found.`),
  noRoute: (method: string, path: string) =>
    new ArmError(400, 'InvalidResourceType', `The resource type could not be found for the request '${method} ${path}' (the Azure emulator does not implement it).`),
  methodNotAllowed: (method: string) => new ArmError(405, 'MethodNotAllowed', `The requested resource does not support http method '${method}'.`),
  nestedResourcesExist: () => new ArmError(409, 'CannotDeleteResource', 'Can not delete resource before nested resources are deleted.'),
  locationRequired: () => new ArmError(400, 'LocationRequired', 'The location property is required for this definition.'),
  propertyChangeNotAllowed: (property: string) => new ArmError(409, 'PropertyChangeNotAllowed', `Changing property '${property}' is not allowed.`, {}, undefined, property),
};
