// Virtual machines and scale sets created from gallery images: PUT as a long-running operation
// (preconditions, orchestration mode, the image and security-type checks, the subnet checks; a VM
// makes its NICs, public IPs and OS disk), GET (instanceView: provisioning and power state), PATCH
// (size, tags, capacity, a scale set's image), DELETE (what the VM made goes or stays by its
// deleteOption), list, and the power actions. Nothing runs: power state is a field; an injected
// operationError fault makes the create's operation fail.
import { header, isRecord, type EmulatorResponse } from '../http.js';
import { newGuid, resourceGroupId } from '../ids.js';
import type { VirtualMachineRecord } from '../world.js';
import { pagedList, properties, requestBody, type ArmContext } from './context.js';
import { ArmError, armErrors } from './errors.js';
import { resolveImageReference, sameRegion } from './image-reference.js';
import { makeNetwork, makeOsDisk, planNetwork, releaseOwned } from './network.js';
import { isLongRunning, operationEnd, pollingHeaders, provisioningFor, provisioningState, startOperation } from './lro.js';
import { locationOf, param, requireResourceGroup, tagsOf } from './lookup.js';

type Kind = VirtualMachineRecord['kind'];

const typeOf: Record<Kind, string> = { virtualMachine: 'Microsoft.Compute/virtualMachines', virtualMachineScaleSet: 'Microsoft.Compute/virtualMachineScaleSets' };
const nameParam: Record<Kind, string> = { virtualMachine: 'vmName', virtualMachineScaleSet: 'vmScaleSetName' };

function resourceId(ctx: ArmContext, kind: Kind): string {
  return `${resourceGroupId(param(ctx, 'subscriptionId'), param(ctx, 'resourceGroupName'))}/providers/${typeOf[kind]}/${param(ctx, nameParam[kind])}`;
}

function find(ctx: ArmContext, kind: Kind): VirtualMachineRecord | undefined {
  const record = ctx.world.resource(resourceId(ctx, kind));
  return record?.kind === kind ? record : undefined;
}

function requireMachine(ctx: ArmContext, kind: Kind): VirtualMachineRecord {
  requireResourceGroup(ctx);
  const record = find(ctx, kind);
  if (!record) throw armErrors.resourceNotFound(typeOf[kind], param(ctx, nameParam[kind]), param(ctx, 'resourceGroupName'));
  return record;
}

function withoutSecrets(osProfile: unknown): unknown {
  if (!isRecord(osProfile)) return osProfile;
  // ARM never returns adminPassword or customData.
  const { adminPassword: _password, customData: _customData, ...rest } = osProfile;
  return { ...rest, secrets: rest['secrets'] ?? [], allowExtensionOperations: rest['allowExtensionOperations'] ?? true };
}

/** The provisioning state, Failed once an operation that failed (an injected operationError) is over. */
function machineState(ctx: ArmContext, record: VirtualMachineRecord): string {
  const state = provisioningState(record, ctx.now);
  return record.failed && state === 'Succeeded' ? 'Failed' : state;
}

function statuses(ctx: ArmContext, record: VirtualMachineRecord): { code: string; level: string; displayStatus: string; message?: string; time?: string }[] {
  const state = machineState(ctx, record);
  if (state === 'Failed' && record.failed) {
    // A create or update that failed: the provisioning status carries the error; no power state.
    return [{ code: `ProvisioningState/failed/${record.failed.code}`, level: 'Error', displayStatus: 'Provisioning failed', message: record.failed.message, time: new Date(ctx.now).toISOString() }];
  }
  const power = state === 'Succeeded' ? record.powerState : 'starting';
  return [
    { code: `ProvisioningState/${state.toLowerCase()}`, level: 'Info', displayStatus: `Provisioning ${state === 'Succeeded' ? 'succeeded' : state.toLowerCase()}`, time: new Date(record.createdAt).toISOString() },
    { code: `PowerState/${power}`, level: 'Info', displayStatus: `VM ${power}` },
  ];
}

export function renderMachine(ctx: ArmContext, record: VirtualMachineRecord, withInstanceView = false): Record<string, unknown> {
  const props: Record<string, unknown> = { ...record.properties, provisioningState: machineState(ctx, record) };
  if (record.kind === 'virtualMachine') {
    props['osProfile'] = withoutSecrets(props['osProfile']);
    if (withInstanceView) props['instanceView'] = { computerName: isRecord(props['osProfile']) ? props['osProfile']['computerName'] : undefined, statuses: statuses(ctx, record) };
  } else if (isRecord(props['virtualMachineProfile'])) {
    props['virtualMachineProfile'] = { ...props['virtualMachineProfile'], osProfile: withoutSecrets(props['virtualMachineProfile']['osProfile']) };
  }
  return {
    id: record.id,
    name: record.name,
    type: typeOf[record.kind],
    location: record.location,
    etag: etagOf(record),
    ...(record.tags ? { tags: record.tags } : {}),
    ...(record.zones ? { zones: record.zones } : {}),
    ...(record.sku ? { sku: record.sku } : {}),
    properties: props,
  };
}

/**
 * The image fields Azure fills in: exactVersion, and the OS disk's type, name (kept from the
 * existing VM) and deleteOption (Detach unless the request says Delete, as in Azure).
 */
function storageWithImage(storageProfile: Record<string, unknown>, exactVersion: string | undefined, osType: string, name: string, existing: unknown): Record<string, unknown> {
  const imageReference = { ...(storageProfile['imageReference'] as Record<string, unknown>), ...(exactVersion ? { exactVersion } : {}) };
  const osDisk = isRecord(storageProfile['osDisk']) ? storageProfile['osDisk'] : {};
  const previous = isRecord(existing) && isRecord(existing['osDisk']) ? existing['osDisk'] : {};
  const deleteOption = osDisk['deleteOption'] ?? previous['deleteOption'] ?? 'Detach';
  if (deleteOption !== 'Delete' && deleteOption !== 'Detach') {
    throw armErrors.invalidParameter(`The value '${JSON.stringify(deleteOption)}' of parameter 'osDisk.deleteOption' is not valid. Allowed values are 'Delete' and 'Detach'.`, 'storageProfile.osDisk.deleteOption');
  }
  return {
    ...storageProfile,
    imageReference,
    osDisk: {
      osType,
      name: previous['name'] ?? `${name}_OsDisk_1_${newGuid().replace(/-/g, '')}`,
      createOption: 'FromImage',
      caching: 'ReadWrite',
      diskSizeGB: 30,
      ...osDisk,
      deleteOption,
    },
    dataDisks: storageProfile['dataDisks'] ?? [],
  };
}

/** The image a machine was created from, as comparable text (the image cannot change later). */
function imageKey(storageProfile: unknown): string {
  const reference = isRecord(storageProfile) && isRecord(storageProfile['imageReference']) ? storageProfile['imageReference'] : {};
  return ['id', 'sharedGalleryImageId', 'communityGalleryImageId', 'publisher', 'offer', 'sku', 'version']
    .map((key) => (typeof reference[key] === 'string' ? reference[key].toLowerCase() : ''))
    .join('|');
}

function profileOf(props: Record<string, unknown>, kind: Kind): Record<string, unknown> {
  if (kind === 'virtualMachine') return props;
  return isRecord(props['virtualMachineProfile']) ? props['virtualMachineProfile'] : {};
}

function answer(ctx: ArmContext, record: VirtualMachineRecord, status: number): EmulatorResponse {
  const body = renderMachine(ctx, record);
  if (record.failed) {
    // An injected operation error: always long-running (the answer shows Creating or Updating), and the operation ends Failed.
    (body['properties'] as Record<string, unknown>)['provisioningState'] = record.provisioning.state;
    return { status, body, headers: pollingHeaders(ctx, startOperation(ctx, { location: record.location, error: record.failed }), false) };
  }
  if (!isLongRunning(ctx)) return { status, body };
  return { status, body, headers: pollingHeaders(ctx, startOperation(ctx, { location: record.location }), false) };
}

const operationErrorMessages: Record<string, string> = {
  AllocationFailed: 'Allocation failed. We do not have sufficient capacity for the requested VM size in this region. Read more about improving likelihood of allocation success at http://aka.ms/allocation-guidance',
  ZonalAllocationFailed: 'Allocation failed. We do not have sufficient capacity for the requested VM size in this zone. Read more about improving likelihood of allocation success at http://aka.ms/allocation-guidance',
  SkuNotAvailable: "The requested VM size for resource '{id}' is currently not available in location '{location}'. Please try another size or deploy to a different location or different zone. See https://aka.ms/azureskunotavailable for details.",
  QuotaExceeded: 'Operation could not be completed as it results in exceeding approved Total Regional Cores quota. Location: {location}. Please read more about quota limits at https://docs.microsoft.com/en-us/azure/azure-supportability/regional-quota-requests',
  OperationNotAllowed: 'Operation could not be completed as it results in exceeding approved standardDSv5Family Cores quota. Location: {location}. Please read more about quota increase at https://aka.ms/ProdportalCRP/?#create/Microsoft.Support/Parameters/',
  RequestDisallowedByPolicy: "Resource '{name}' was disallowed by policy. (Injected by the Azure emulator.)",
  InternalExecutionError: 'An internal execution error occurred. Please retry later.',
};

/** The error an injected operationError fault gives this machine's operation. */
function injectedFailure(ctx: ArmContext, id: string, name: string, location: string): { code: string; message: string } | undefined {
  const injected = ctx.operationError;
  if (!injected) return undefined;
  const template = injected.message ?? operationErrorMessages[injected.code] ?? `The operation failed with ${injected.code} (injected by the Azure emulator).`;
  return { code: injected.code, message: template.replace('{id}', id).replace('{name}', name).replace('{location}', location) };
}

/** `If-None-Match: *` (create only) and `If-Match` (`*` or the current etag) on a PUT or PATCH. */
function checkPreconditions(ctx: ArmContext, existing: VirtualMachineRecord | undefined, id: string): void {
  const ifNoneMatch = header(ctx.request, 'if-none-match');
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '') {
    if (ifNoneMatch.trim() !== '*') throw armErrors.invalidParameter(`The value '${ifNoneMatch}' of header 'If-None-Match' is not supported; only '*' is.`, 'If-None-Match');
    if (existing) throw preconditionFailed(`The resource '${id}' already exists (If-None-Match: *).`);
  }
  const ifMatch = header(ctx.request, 'if-match');
  if (ifMatch !== undefined && ifMatch.trim() !== '') {
    if (!existing) throw preconditionFailed(`The resource '${id}' does not exist (If-Match: ${ifMatch}).`);
    if (ifMatch.trim() !== '*' && ifMatch.trim() !== etagOf(existing)) throw preconditionFailed(`The etag '${ifMatch}' does not match the resource's current etag '${etagOf(existing)}'.`);
  }
}

function preconditionFailed(message: string): ArmError {
  return new ArmError(412, 'PreconditionFailed', message);
}

function etagOf(record: VirtualMachineRecord): string {
  return `"${record.revision ?? 1}"`;
}

function checkCapacity(sku: Record<string, unknown> | undefined): void {
  const capacity = sku?.['capacity'];
  if (capacity !== undefined && (typeof capacity !== 'number' || capacity < 0 || !Number.isInteger(capacity))) throw armErrors.invalidParameter('sku.capacity must be a non-negative integer.', 'sku.capacity');
}

/**
 * Scale set orchestration: Uniform (the API's default) or Flexible; Flexible needs
 * platformFaultDomainCount and virtualMachineProfile.networkProfile.networkApiVersion; the mode and
 * the fault domain count cannot change.
 */
function checkOrchestration(props: Record<string, unknown>, profile: Record<string, unknown>, existing: VirtualMachineRecord | undefined): void {
  const mode = props['orchestrationMode'] ?? existing?.properties['orchestrationMode'] ?? 'Uniform';
  if (mode !== 'Uniform' && mode !== 'Flexible') {
    throw armErrors.invalidParameter(`The value '${JSON.stringify(mode)}' of parameter 'orchestrationMode' is not valid. Allowed values are 'Uniform' and 'Flexible'.`, 'orchestrationMode');
  }
  if (existing && existing.properties['orchestrationMode'] !== mode) throw armErrors.propertyChangeNotAllowed('orchestrationMode');
  props['orchestrationMode'] = mode;
  const faultDomains = props['platformFaultDomainCount'] ?? existing?.properties['platformFaultDomainCount'];
  if (existing && existing.properties['platformFaultDomainCount'] !== undefined && faultDomains !== existing.properties['platformFaultDomainCount']) {
    throw armErrors.propertyChangeNotAllowed('platformFaultDomainCount');
  }
  if (mode === 'Flexible') {
    if (faultDomains === undefined || faultDomains === null) {
      throw armErrors.invalidParameter("Required parameter 'platformFaultDomainCount' is missing (null). It is required for a Virtual Machine Scale Set with orchestrationMode 'Flexible'.", 'platformFaultDomainCount');
    }
    if (typeof faultDomains !== 'number' || !Number.isInteger(faultDomains) || faultDomains < 1 || faultDomains > 3) {
      throw armErrors.invalidParameter(`The specified fault domain count ${JSON.stringify(faultDomains)} must fall in the range 1 to 3.`, 'platformFaultDomainCount');
    }
    const network = isRecord(profile['networkProfile']) ? profile['networkProfile'] : {};
    if (typeof network['networkApiVersion'] !== 'string') {
      throw armErrors.invalidParameter("Required parameter 'virtualMachineProfile.networkProfile.networkApiVersion' is missing (null). It is required for a Virtual Machine Scale Set with orchestrationMode 'Flexible'.", 'virtualMachineProfile.networkProfile.networkApiVersion');
    }
  }
  if (faultDomains !== undefined) props['platformFaultDomainCount'] = faultDomains;
}

function securityTypeOf(profile: Record<string, unknown>): string | undefined {
  const security = isRecord(profile['securityProfile']) ? profile['securityProfile'] : {};
  return typeof security['securityType'] === 'string' ? security['securityType'] : undefined;
}

function put(ctx: ArmContext, kind: Kind): EmulatorResponse {
  requireResourceGroup(ctx);
  const body = requestBody(ctx);
  const location = locationOf(body);
  const props = { ...properties(body) };
  const id = resourceId(ctx, kind);
  const name = param(ctx, nameParam[kind]);
  const existing = find(ctx, kind);
  checkPreconditions(ctx, existing, id);
  if (existing && !sameRegion(existing.location, location)) {
    throw new ArmError(409, 'InvalidResourceLocation', `The resource '${name}' already exists in location '${existing.location}' in resource group '${param(ctx, 'resourceGroupName')}'. A resource with the same name cannot be created in location '${location}'. Please select a new resource name.`);
  }
  let profile: Record<string, unknown>;
  if (kind === 'virtualMachine') {
    profile = props;
    const hardware = isRecord(props['hardwareProfile']) ? props['hardwareProfile'] : {};
    props['hardwareProfile'] = { ...hardware, vmSize: hardware['vmSize'] ?? 'Standard_DS1_v2' };
  } else {
    if (!isRecord(props['virtualMachineProfile'])) throw armErrors.invalidParameter("Required parameter 'virtualMachineProfile' is missing (null).", 'virtualMachineProfile');
    profile = { ...props['virtualMachineProfile'] };
    props['virtualMachineProfile'] = profile;
    checkOrchestration(props, profile, existing);
  }
  const target = kind === 'virtualMachine' ? 'properties' : 'virtualMachineProfile';
  const storageProfile = isRecord(profile['storageProfile']) ? profile['storageProfile'] : {};
  // A VM's image cannot change; a scale set's can (its model moves to the new image).
  if (kind === 'virtualMachine' && existing && imageKey(profileOf(existing.properties, kind)['storageProfile']) !== imageKey(storageProfile)) {
    throw armErrors.propertyChangeNotAllowed('imageReference');
  }
  const resolved = resolveImageReference(ctx, storageProfile, profile['osProfile'], location, id, target, securityTypeOf(profile));
  const nics = planNetwork(ctx, profile['networkProfile'], target, location, name, kind === 'virtualMachine');
  const sku = isRecord(body['sku']) ? { ...body['sku'] } : undefined;
  if (kind === 'virtualMachineScaleSet') checkCapacity(sku);
  const previousStorage = existing ? profileOf(existing.properties, kind)['storageProfile'] : undefined;
  profile['storageProfile'] = storageWithImage(storageProfile, resolved.version?.name, resolved.osType, name, previousStorage);
  let owned: VirtualMachineRecord['owned'];
  if (kind === 'virtualMachine') {
    // The VM makes its NICs (and public IPs) and its managed OS disk; they are resources of their own.
    const vmId = existing?.id ?? id;
    owned = makeNetwork(ctx, vmId, location, nics);
    const networkProfile = { ...(profile['networkProfile'] as Record<string, unknown>) };
    const referenced = Array.isArray(networkProfile['networkInterfaces']) ? networkProfile['networkInterfaces'].filter(isRecord).filter((n) => !owned!.some((o) => o.id.toLowerCase() === String(n['id']).toLowerCase())) : [];
    networkProfile['networkInterfaces'] = [
      ...referenced,
      ...nics.map((nic) => ({ id: nic.id, properties: { primary: nic.primary, deleteOption: nic.deleteOption } })),
    ];
    profile['networkProfile'] = networkProfile;
    const osDisk = (profile['storageProfile'] as Record<string, Record<string, unknown>>)['osDisk']!;
    const diskId = makeOsDisk(ctx, vmId, location, osDisk, resolved.version?.id);
    osDisk['managedDisk'] = { ...(isRecord(osDisk['managedDisk']) ? osDisk['managedDisk'] : {}), id: diskId };
    owned.push({ id: diskId, deleteOption: osDisk['deleteOption'] === 'Delete' ? 'Delete' : 'Detach' });
  }

  const tags = tagsOf(body);
  if (kind === 'virtualMachineScaleSet') {
    props['uniqueId'] = existing?.properties['uniqueId'] ?? newGuid();
  } else {
    props['vmId'] = existing?.properties['vmId'] ?? newGuid();
  }
  props['timeCreated'] = existing?.properties['timeCreated'] ?? new Date(ctx.now).toISOString();
  delete props['provisioningState'];
  delete props['instanceView'];
  const record: VirtualMachineRecord = {
    kind,
    id: existing?.id ?? id,
    name,
    subscriptionId: param(ctx, 'subscriptionId'),
    resourceGroup: param(ctx, 'resourceGroupName'),
    location,
    properties: props,
    powerState: existing?.powerState ?? 'running',
    provisioning: ctx.operationError ? { state: existing ? 'Updating' : 'Creating', until: operationEnd(ctx) } : provisioningFor(ctx, existing ? 'Updating' : 'Creating'),
    createdAt: existing?.createdAt ?? ctx.now,
    revision: (existing?.revision ?? 0) + 1,
    ...(ctx.operationError ? { failed: injectedFailure(ctx, existing?.id ?? id, name, location)! } : {}),
    ...(tags ? { tags } : existing?.tags ? { tags: existing.tags } : {}),
    ...(sku ? { sku: { tier: 'Standard', ...sku, capacity: sku['capacity'] ?? 1 } } : kind === 'virtualMachineScaleSet' ? { sku: existing?.sku ?? { name: 'Standard_DS1_v2', tier: 'Standard', capacity: 1 } } : {}),
    ...(Array.isArray(body['zones']) ? { zones: body['zones'].map(String) } : existing?.zones ? { zones: existing.zones } : {}),
    ...(owned ? { owned } : {}),
  };
  ctx.world.putResource(record);
  return answer(ctx, record, existing ? 200 : 201);
}

function patch(ctx: ArmContext, kind: Kind): EmulatorResponse {
  const record = requireMachine(ctx, kind);
  checkPreconditions(ctx, record, record.id);
  const body = requestBody(ctx);
  const props = properties(body);
  if (kind === 'virtualMachineScaleSet' && props['orchestrationMode'] !== undefined && props['orchestrationMode'] !== record.properties['orchestrationMode']) {
    throw armErrors.propertyChangeNotAllowed('orchestrationMode');
  }
  let storageProfile: Record<string, unknown> | undefined;
  if (kind === 'virtualMachineScaleSet' && isRecord(props['virtualMachineProfile']) && isRecord(props['virtualMachineProfile']['storageProfile']) && isRecord(props['virtualMachineProfile']['storageProfile']['imageReference'])) {
    // A new image for the scale set's model: checked as at creation, with the model's osProfile and security type.
    const model = profileOf(record.properties, kind);
    const current = isRecord(model['storageProfile']) ? model['storageProfile'] : {};
    const wanted = { ...current, imageReference: props['virtualMachineProfile']['storageProfile']['imageReference'] };
    const resolved = resolveImageReference(ctx, wanted, model['osProfile'], record.location, record.id, 'virtualMachineProfile', securityTypeOf(model));
    storageProfile = storageWithImage(wanted, resolved.version?.name, resolved.osType, record.name, current);
  }
  if (kind === 'virtualMachineScaleSet' && isRecord(body['sku'])) checkCapacity(body['sku']);
  if (kind === 'virtualMachine' && isRecord(props['hardwareProfile']) && typeof props['hardwareProfile']['vmSize'] === 'string') {
    record.properties['hardwareProfile'] = { ...(record.properties['hardwareProfile'] as object), vmSize: props['hardwareProfile']['vmSize'] };
  }
  if (storageProfile) record.properties['virtualMachineProfile'] = { ...profileOf(record.properties, kind), storageProfile };
  if (kind === 'virtualMachineScaleSet' && isRecord(body['sku'])) record.sku = { ...(record.sku ?? {}), ...body['sku'] };
  const tags = tagsOf(body);
  if (tags) record.tags = tags;
  record.revision = (record.revision ?? 1) + 1;
  // An update that goes through ends a failed state (Azure retries the model on every write).
  delete record.failed;
  record.provisioning = provisioningFor(ctx, 'Updating');
  return answer(ctx, record, 200);
}

function get(ctx: ArmContext, kind: Kind): EmulatorResponse {
  const expand = (ctx.request.query.get('$expand') ?? '').toLowerCase();
  return { status: 200, body: renderMachine(ctx, requireMachine(ctx, kind), expand === 'instanceview') };
}

function remove(ctx: ArmContext, kind: Kind): EmulatorResponse {
  requireResourceGroup(ctx);
  const record = find(ctx, kind);
  if (!record) return { status: 204 };
  if (!isLongRunning(ctx)) {
    releaseOwned(ctx.world, record);
    ctx.world.deleteResource(record.id);
    return { status: 200 };
  }
  record.provisioning = { state: 'Deleting', until: Number.MAX_SAFE_INTEGER };
  return { status: 202, headers: pollingHeaders(ctx, startOperation(ctx, { location: record.location, effect: { kind: 'delete', resourceId: record.id } }), true) };
}

function list(ctx: ArmContext, kind: Kind): EmulatorResponse {
  const rg = requireResourceGroup(ctx);
  const items = ctx.world.resourcesBelow(rg.id).filter((r): r is VirtualMachineRecord => r.kind === kind);
  return pagedList(ctx, items.map((r) => renderMachine(ctx, r)));
}

function power(ctx: ArmContext, kind: Kind, state: VirtualMachineRecord['powerState']): EmulatorResponse {
  const record = requireMachine(ctx, kind);
  record.powerState = state;
  if (!isLongRunning(ctx)) return { status: 200 };
  return { status: 202, headers: pollingHeaders(ctx, startOperation(ctx, { location: record.location }), true) };
}

function scaleSetInstanceView(ctx: ArmContext): EmulatorResponse {
  const record = requireMachine(ctx, 'virtualMachineScaleSet');
  const capacity = typeof record.sku?.['capacity'] === 'number' ? record.sku['capacity'] : 0;
  const state = machineState(ctx, record).toLowerCase();
  return {
    status: 200,
    body: {
      virtualMachine: { statusesSummary: capacity > 0 ? [{ code: `ProvisioningState/${state}`, count: capacity }, { code: `PowerState/${record.powerState}`, count: capacity }] : [] },
      statuses: statuses(ctx, record),
    },
  };
}

export const virtualMachines = {
  put: (ctx: ArmContext) => put(ctx, 'virtualMachine'),
  patch: (ctx: ArmContext) => patch(ctx, 'virtualMachine'),
  get: (ctx: ArmContext) => get(ctx, 'virtualMachine'),
  delete: (ctx: ArmContext) => remove(ctx, 'virtualMachine'),
  list: (ctx: ArmContext) => list(ctx, 'virtualMachine'),
  instanceView: (ctx: ArmContext): EmulatorResponse => {
    const properties = renderMachine(ctx, requireMachine(ctx, 'virtualMachine'), true)['properties'] as Record<string, unknown>;
    return { status: 200, body: properties['instanceView'] };
  },
  start: (ctx: ArmContext) => power(ctx, 'virtualMachine', 'running'),
  powerOff: (ctx: ArmContext) => power(ctx, 'virtualMachine', 'stopped'),
  deallocate: (ctx: ArmContext) => power(ctx, 'virtualMachine', 'deallocated'),
  restart: (ctx: ArmContext) => power(ctx, 'virtualMachine', 'running'),
};

export const scaleSets = {
  put: (ctx: ArmContext) => put(ctx, 'virtualMachineScaleSet'),
  patch: (ctx: ArmContext) => patch(ctx, 'virtualMachineScaleSet'),
  get: (ctx: ArmContext) => get(ctx, 'virtualMachineScaleSet'),
  delete: (ctx: ArmContext) => remove(ctx, 'virtualMachineScaleSet'),
  list: (ctx: ArmContext) => list(ctx, 'virtualMachineScaleSet'),
  instanceView: scaleSetInstanceView,
};
