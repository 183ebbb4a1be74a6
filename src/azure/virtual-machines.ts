// Virtual machines and scale sets, in the operator's terms: read one (with its instance view),
// start a create, an update or a delete without waiting (the poller's resume state goes into the
// object's status, as for gallery shares), poll one started earlier, and read the private IP of
// the network interface a VM made for itself (one GET through the compute client's own pipeline:
// no Network SDK for one field).
import type { ComputeManagementClient, VirtualMachine, VirtualMachineScaleSet } from '@azure/arm-compute';
import { restorePoller } from '@azure/arm-compute';
import { createDefaultHttpClient, createPipelineRequest } from '@azure/core-rest-pipeline';
import { isArmNotFound } from './errors.js';
import { DEFAULT_POLL_MS, pollOnce, retryAfterRecorder, submitted, type PollerLikeMin, type Polled, type Started } from './operations.js';

export type MachineKind = 'virtualMachine' | 'virtualMachineScaleSet';

/** What the operator reads of a VM or scale set. */
export interface ObservedMachine {
  kind: MachineKind;
  id: string;
  location: string;
  tags: Record<string, string>;
  provisioningState: string;
  /** A VM's power state from its instance view (running, deallocated, ...); undefined for scale sets. */
  powerState?: string;
  size: string;
  /** A scale set's instance count. */
  capacity?: number;
  /** The image reference as Azure holds it, and the version it resolved (exactVersion). */
  image: { id?: string; sharedGalleryImageId?: string; communityGalleryImageId?: string; exactVersion?: string };
  osType?: string;
  /** The id of the VM's primary network interface (the one it made for itself). */
  networkInterfaceId?: string;
}

/** Reads the VM (with its instance view) or the scale set; undefined when it does not exist. */
export async function readMachine(compute: ComputeManagementClient, kind: MachineKind, resourceGroup: string, name: string, signal?: AbortSignal): Promise<ObservedMachine | undefined> {
  try {
    if (kind === 'virtualMachine') return fromVm(await compute.virtualMachines.get(resourceGroup, name, { expand: 'instanceView', abortSignal: signal }));
    return fromScaleSet(await compute.virtualMachineScaleSets.get(resourceGroup, name, { abortSignal: signal }));
  } catch (err) {
    if (isArmNotFound(err)) return undefined;
    throw err;
  }
}

function fromVm(vm: VirtualMachine): ObservedMachine {
  const power = vm.instanceView?.statuses?.find((s) => s.code?.startsWith('PowerState/'))?.code?.slice('PowerState/'.length);
  const nic = vm.networkProfile?.networkInterfaces?.find((n) => n.primary !== false) ?? vm.networkProfile?.networkInterfaces?.[0];
  const image = vm.storageProfile?.imageReference;
  return {
    kind: 'virtualMachine',
    id: vm.id ?? '',
    location: vm.location,
    tags: vm.tags ?? {},
    provisioningState: vm.provisioningState ?? 'Unknown',
    ...(power ? { powerState: power } : {}),
    size: vm.hardwareProfile?.vmSize ?? '',
    image: { id: image?.id, sharedGalleryImageId: image?.sharedGalleryImageId, communityGalleryImageId: image?.communityGalleryImageId, exactVersion: image?.exactVersion },
    ...(vm.storageProfile?.osDisk?.osType ? { osType: vm.storageProfile.osDisk.osType } : {}),
    ...(nic?.id ? { networkInterfaceId: nic.id } : {}),
  };
}

function fromScaleSet(vmss: VirtualMachineScaleSet): ObservedMachine {
  const image = vmss.virtualMachineProfile?.storageProfile?.imageReference;
  return {
    kind: 'virtualMachineScaleSet',
    id: vmss.id ?? '',
    location: vmss.location,
    tags: vmss.tags ?? {},
    provisioningState: vmss.provisioningState ?? 'Unknown',
    size: vmss.sku?.name ?? '',
    capacity: vmss.sku?.capacity ?? 0,
    image: { id: image?.id, sharedGalleryImageId: image?.sharedGalleryImageId, communityGalleryImageId: image?.communityGalleryImageId, exactVersion: image?.exactVersion },
    ...(vmss.virtualMachineProfile?.storageProfile?.osDisk?.osType ? { osType: vmss.virtualMachineProfile.storageProfile.osDisk.osType } : {}),
  };
}

/** The long-running machine operations, by the name kept in status.operation. */
export type MachineOperation = 'createVirtualMachine' | 'createScaleSet' | 'updateVirtualMachine' | 'updateScaleSet' | 'deleteVirtualMachine' | 'deleteScaleSet';

/**
 * Starts a PUT of the whole VM or scale set. `onlyIfNew` sends If-None-Match: * so that a
 * resource made meanwhile by someone else is never overwritten (412 then).
 */
export async function startPutMachine(
  compute: ComputeManagementClient,
  kind: MachineKind,
  resourceGroup: string,
  name: string,
  body: VirtualMachine | VirtualMachineScaleSet,
  onlyIfNew: boolean,
  signal?: AbortSignal,
): Promise<Started> {
  const recorder = retryAfterRecorder();
  const options = { onResponse: recorder.onResponse, abortSignal: signal, ...(onlyIfNew ? { ifNoneMatch: '*' } : {}) };
  const poller: PollerLikeMin =
    kind === 'virtualMachine'
      ? compute.virtualMachines.createOrUpdate(resourceGroup, name, body, options)
      : compute.virtualMachineScaleSets.createOrUpdate(resourceGroup, name, body, options);
  return submitted(poller, recorder.retryAfterMs);
}

/** Starts a PATCH: a VM's size, a scale set's size, capacity or image, and tags (the owner tag of an adopted machine: the whole set, as PATCH replaces tags). */
export async function startUpdateMachine(
  compute: ComputeManagementClient,
  kind: MachineKind,
  resourceGroup: string,
  name: string,
  patch: { size?: string; capacity?: number; imageReference?: { id?: string; sharedGalleryImageId?: string; communityGalleryImageId?: string }; tags?: Record<string, string> },
  signal?: AbortSignal,
): Promise<Started> {
  const recorder = retryAfterRecorder();
  const options = { onResponse: recorder.onResponse, abortSignal: signal };
  const poller: PollerLikeMin =
    kind === 'virtualMachine'
      ? compute.virtualMachines.update(resourceGroup, name, { ...(patch.size ? { hardwareProfile: { vmSize: patch.size } } : {}), ...(patch.tags ? { tags: patch.tags } : {}) }, options)
      : compute.virtualMachineScaleSets.update(
          resourceGroup,
          name,
          {
            ...(patch.size !== undefined || patch.capacity !== undefined ? { sku: { ...(patch.size ? { name: patch.size } : {}), ...(patch.capacity !== undefined ? { capacity: patch.capacity } : {}) } } : {}),
            ...(patch.imageReference ? { virtualMachineProfile: { storageProfile: { imageReference: patch.imageReference } } } : {}),
            ...(patch.tags ? { tags: patch.tags } : {}),
          },
          options,
        );
  return submitted(poller, recorder.retryAfterMs);
}

/** Starts a DELETE; a resource already gone counts as deleted. */
export async function startDeleteMachine(compute: ComputeManagementClient, kind: MachineKind, resourceGroup: string, name: string, signal?: AbortSignal): Promise<Started> {
  const recorder = retryAfterRecorder();
  const options = { onResponse: recorder.onResponse, abortSignal: signal };
  try {
    const poller: PollerLikeMin =
      kind === 'virtualMachine' ? compute.virtualMachines.delete(resourceGroup, name, options) : compute.virtualMachineScaleSets.delete(resourceGroup, name, options);
    return await submitted(poller, recorder.retryAfterMs);
  } catch (err) {
    if (isArmNotFound(err)) return { done: true };
    throw err;
  }
}

/** One poll of a machine operation started earlier, from its resume token. */
export async function pollMachineOperation(compute: ComputeManagementClient, operation: MachineOperation, resumeToken: string, signal: AbortSignal): Promise<Polled> {
  const recorder = retryAfterRecorder();
  const options = { onResponse: recorder.onResponse, abortSignal: signal };
  const method = {
    createVirtualMachine: compute.virtualMachines.createOrUpdate,
    updateVirtualMachine: compute.virtualMachines.update,
    deleteVirtualMachine: compute.virtualMachines.delete,
    createScaleSet: compute.virtualMachineScaleSets.createOrUpdate,
    updateScaleSet: compute.virtualMachineScaleSets.update,
    deleteScaleSet: compute.virtualMachineScaleSets.delete,
  }[operation];
  try {
    return await pollOnce(restorePoller(compute, resumeToken, method as never, options), recorder.retryAfterMs, signal);
  } catch (err) {
    // A delete's last GET of the resource answers 404: it is done.
    if (operation.startsWith('delete') && isArmNotFound(err)) return { done: true };
    throw err;
  }
}

const NETWORK_API_VERSION = '2024-05-01';

/** The private IP address of a network interface (its primary IP configuration), or undefined. */
export async function readPrivateIp(compute: ComputeManagementClient, armEndpoint: string, networkInterfaceId: string, signal?: AbortSignal): Promise<string | undefined> {
  const request = createPipelineRequest({ url: `${armEndpoint.replace(/\/+$/, '')}${networkInterfaceId}?api-version=${NETWORK_API_VERSION}`, method: 'GET', ...(signal ? { abortSignal: signal } : {}) });
  const response = await compute.pipeline.sendRequest(httpClient, request);
  if (response.status === 404) return undefined;
  if (response.status >= 400) {
    const body = JSON.parse(response.bodyAsText ?? '{}') as { error?: { code?: string; message?: string } };
    throw Object.assign(new Error(body.error?.message ?? `GET network interface: ${response.status}`), { name: 'RestError', statusCode: response.status, code: body.error?.code, response });
  }
  const nic = JSON.parse(response.bodyAsText ?? '{}') as { properties?: { ipConfigurations?: { properties?: { primary?: boolean; privateIPAddress?: string } }[] } };
  const configs = nic.properties?.ipConfigurations ?? [];
  return (configs.find((c) => c.properties?.primary) ?? configs[0])?.properties?.privateIPAddress;
}

/**
 * The virtual network of a subnet id: its region, or undefined when the subnet or its network
 * does not exist (404). Read through the compute client's pipeline, as readPrivateIp.
 */
export async function readSubnetRegion(compute: ComputeManagementClient, armEndpoint: string, subnetId: string, signal?: AbortSignal): Promise<{ location: string } | undefined> {
  const vnetId = subnetId.replace(/\/subnets\/[^/]+$/i, '');
  for (const id of [subnetId, vnetId]) {
    const request = createPipelineRequest({ url: `${armEndpoint.replace(/\/+$/, '')}${id}?api-version=${NETWORK_API_VERSION}`, method: 'GET', ...(signal ? { abortSignal: signal } : {}) });
    const response = await compute.pipeline.sendRequest(httpClient, request);
    if (response.status === 404) return undefined;
    if (response.status >= 400) {
      const body = JSON.parse(response.bodyAsText ?? '{}') as { error?: { code?: string; message?: string } };
      throw Object.assign(new Error(body.error?.message ?? `GET ${id}: ${response.status}`), { name: 'RestError', statusCode: response.status, code: body.error?.code, response });
    }
    if (id === vnetId) return { location: ((JSON.parse(response.bodyAsText ?? '{}') as { location?: string }).location ?? '').toLowerCase().replace(/\s+/g, '') };
  }
  return undefined;
}

const httpClient = createDefaultHttpClient();

export { DEFAULT_POLL_MS };
