// SharedImageVM's planning, pure: from what was read of the VM (or scale set), the image check's
// verdict and the TenantGrant's state, the one change to make (create, update or delete), the
// detail conditions (ImageAvailable, Provisioned), and what stops it. The request bodies are
// built here too (vmBody, scaleSetBody), so that what the operator sends is tested without Azure.
import type { VirtualMachine, VirtualMachineScaleSet } from '@azure/arm-compute';
import type { SharedImageVM, SharedImageVMSpec } from '../../api/v1alpha1/index.js';
import { ownerText, type Owner } from '../../azure/ownership.js';
import type { MachineKind, ObservedMachine } from '../../azure/virtual-machines.js';
import type { ConditionInput } from '../../runtime/conditions.js';
import type { DeletionPlan, Explanation, KindPlan, PlanEvent } from '../shared/handler.js';
import { recheckDelay } from '../shared/schedule.js';

/** The tag that marks a VM or scale set as made by this object (ownership.ts: kind, namespace, name). */
export const OWNER_TAG = 'galleryshare.io-owner';
/** An annotation that lets an object take over a VM of its name that it did not make (as ASO and Crossplane allow). */
export const ADOPT_ANNOTATION = 'galleryshare.io/adopt';

/** The image check's answer for this object (image-check.ts), as planning needs it. */
export type ImageVerdict =
  | { ok: true; version: string; osType: string; osState: string; warnings: string[]; purchasePlan?: { name: string; publisher: string; product: string } }
  | { ok: false; reason: string; message: string; replicating: boolean };

/** What observe found. */
export interface VmObservation {
  /** The VM or scale set; undefined when it does not exist. */
  machine?: ObservedMachine;
  /** The image check, when it was made this time (before a create, a re-create or an image change). */
  image?: ImageVerdict;
  /** Why the object waits for its TenantGrant, when it does (nothing else was read then). */
  grantWait?: Explanation;
  /** Why the subnet cannot take the VM (missing, another region, no right to join), checked before a create. */
  subnetProblem?: Explanation;
  /** The VM's private IP address, when read (after create, or when its interface changed). */
  privateIPAddress?: string;
}

export type VmAction =
  | { type: 'create'; kind: MachineKind; image: Extract<ImageVerdict, { ok: true }>; replace: boolean }
  | { type: 'update'; kind: MachineKind; size?: string; capacity?: number; imageReference?: ImageReferenceBody; tags?: Record<string, string> }
  | { type: 'delete'; kind: MachineKind };

export type ImageReferenceBody = { id: string } | { sharedGalleryImageId: string } | { communityGalleryImageId: string };

export const kindOf = (spec: SharedImageVMSpec): MachineKind => (spec.scaleSet ? 'virtualMachineScaleSet' : 'virtualMachine');

export const ownerOf = (vm: SharedImageVM): Owner => ({ kind: 'SharedImageVM', namespace: vm.metadata.namespace ?? '', name: vm.metadata.name ?? '' });

/** The image reference as the spec gives it, for the request body. */
export function imageReferenceOf(spec: SharedImageVMSpec): ImageReferenceBody {
  if (spec.image.id) return { id: spec.image.id };
  if (spec.image.sharedGalleryImageId) return { sharedGalleryImageId: spec.image.sharedGalleryImageId };
  return { communityGalleryImageId: spec.image.communityGalleryImageId! };
}

/** Whether the spec asks for the latest version (`/versions/latest`, or an RBAC id without a version). */
export function asksForLatest(spec: SharedImageVMSpec): boolean {
  const ref = Object.values(imageReferenceOf(spec))[0] as string;
  return /\/versions\/latest$/i.test(ref) || !/\/versions\//i.test(ref);
}

/**
 * The image reference a scale set's model carries. With `latest`, Azure would resolve it for each
 * instance as it is made, so instances made at different times could run different versions:
 * the model is pinned to the version the check resolved instead, and moved (a model update) when
 * a newer one appears. A VM, made once, takes the reference as the spec gives it.
 */
export function modelImageReference(spec: SharedImageVMSpec, image: ImageVerdict | undefined): ImageReferenceBody {
  const ref = imageReferenceOf(spec);
  if (!spec.scaleSet || !asksForLatest(spec) || !image?.ok) return ref;
  const [key, value] = Object.entries(ref)[0] as [keyof ImageReferenceBody, string];
  const base = value.replace(/\/versions\/[^/]+$/i, '');
  return { [key]: `${base}/${key === 'id' ? 'versions' : 'Versions'}/${image.version}` } as ImageReferenceBody;
}

const sameText = (a: string | undefined, b: string | undefined) => (a ?? '').toLowerCase() === (b ?? '').toLowerCase();

/** Whether Azure's image reference is the spec's (ids compared without case, as Azure does). */
function sameImage(spec: SharedImageVMSpec, machine: ObservedMachine, image: ImageVerdict | undefined): boolean {
  const wanted = modelImageReference(spec, image);
  if ('id' in wanted) return sameText(wanted.id, machine.image.id);
  if ('sharedGalleryImageId' in wanted) return sameText(wanted.sharedGalleryImageId, machine.image.sharedGalleryImageId);
  return sameText(wanted.communityGalleryImageId, machine.image.communityGalleryImageId);
}

/** Whether this object made the machine (its owner tag), or may take it over (the adoption annotation). */
export function isOwned(vm: SharedImageVM, machine: ObservedMachine): boolean {
  const tag = Object.entries(machine.tags).find(([k]) => k.toLowerCase() === OWNER_TAG)?.[1];
  return tag === ownerText(ownerOf(vm));
}

const adopts = (vm: SharedImageVM) => vm.metadata.annotations?.[ADOPT_ANNOTATION] === 'true';

const IN_PROGRESS = new Set(['creating', 'updating', 'deleting', 'migrating']);

/**
 * How soon to look again at an image version still replicating to the region: a doubling
 * schedule from when the wait began, 5 s first, at most 5 minutes (replication takes minutes to
 * hours; each look is one cached-or-fresh image read).
 */
export const REPLICATING_RECHECK = { initialMs: 5_000, maxMs: 5 * 60_000 };
/** How soon to look again at a VM in another's operation, or waiting for its TenantGrant (a watch also wakes it). */
export const BUSY_RECHECK_MS = 15_000;

/** What planning needs besides the object and the observation: the clock and randomness. */
export interface VmPlanContext {
  now: number;
  /** In [-1, 1], for the recheck's ±10%. */
  jitter: number;
}

export function planSharedImageVM(vm: SharedImageVM, observed: VmObservation, context: VmPlanContext = { now: Date.now(), jitter: 0 }): KindPlan<VmAction> {
  const replicatingRecheck = () => {
    const since = vm.status?.conditions?.find((c) => c.type === 'ImageAvailable' && c.status === 'False')?.lastTransitionTime;
    return recheckDelay(since ? Date.parse(since) : undefined, { ...context, recheck: REPLICATING_RECHECK });
  };
  const { spec } = vm;
  const kind = kindOf(spec);
  const what = kind === 'virtualMachine' ? 'VM' : 'scale set';
  const details: ConditionInput[] = [];
  const events: PlanEvent[] = [];

  if (observed.grantWait) {
    details.push({ type: 'ImageAvailable', status: 'Unknown', reason: 'TenantGrantNotReady', message: 'Not checked: the TenantGrant is not Ready.' });
    return { actions: [], details, waiting: { ...observed.grantWait, recheckAfterMs: BUSY_RECHECK_MS } };
  }

  const image = observed.image;
  if (image && !image.ok) {
    details.push({ type: 'ImageAvailable', status: 'False', reason: image.reason, message: image.message });
  } else if (image?.ok) {
    details.push({ type: 'ImageAvailable', status: 'True', reason: 'Checked', message: `Image version ${image.version} (${image.osType}, ${image.osState}) fits the spec and is available in ${spec.location}.` });
    for (const warning of image.warnings) events.push({ type: 'Warning', reason: 'ImageEndOfLife', message: warning });
  }

  const machine = observed.machine;
  if (!machine || (machine.provisioningState === 'Failed' && isOwned(vm, machine))) {
    // To make (again): a VM that does not exist, or one of ours whose creation failed (Azure
    // retries a failed create on a new PUT; deleting it first would lose its disks and NIC).
    if (!image || !image.ok) {
      details.push({ type: 'Provisioned', status: 'False', reason: 'NotCreated', message: `The ${what} is not created: the image check does not pass.` });
      if (image && image.replicating) return { actions: [], details, events, waiting: { reason: image.reason, message: image.message, recheckAfterMs: replicatingRecheck() } };
      return { actions: [], details, events, stalled: image ? { reason: image.reason, message: image.message } : { reason: 'ImageNotChecked', message: 'The image was not checked.' } };
    }
    if (observed.subnetProblem) {
      details.push({ type: 'Provisioned', status: 'False', reason: observed.subnetProblem.reason, message: observed.subnetProblem.message });
      return { actions: [], details, events, stalled: observed.subnetProblem };
    }
    if (!machine && vm.status?.resourceId) {
      events.push({ type: 'Warning', reason: 'Recreating', message: `The ${what} ${vm.status.resourceId} was deleted outside the operator: creating it again.` });
    }
    details.push({ type: 'Provisioned', status: 'False', reason: machine ? 'Retrying' : 'Creating', message: machine ? `The ${what}'s creation failed in Azure; creating it again.` : `Creating the ${what}.` });
    return { actions: [{ type: 'create', kind, image, replace: machine !== undefined }], details, events };
  }

  if (!isOwned(vm, machine) && !adopts(vm)) {
    const stalled: Explanation = {
      reason: 'ResourceExists',
      message: `A ${what} named ${vm.metadata.name} already exists in resource group ${spec.resourceGroup} and this object did not make it (no ${OWNER_TAG} tag naming it). Rename this object, delete that ${what}, or set the annotation ${ADOPT_ANNOTATION}: "true" to let this object manage it.`,
    };
    details.push({ type: 'Provisioned', status: 'False', reason: 'ResourceExists', message: stalled.message });
    return { actions: [], details, events, stalled };
  }

  if (IN_PROGRESS.has(machine.provisioningState.toLowerCase())) {
    const waiting = { reason: 'ProvisioningInProgress', message: `Azure is ${machine.provisioningState.toLowerCase()} the ${what}; checking again.` };
    details.push({ type: 'Provisioned', status: 'False', ...waiting });
    return { actions: [], details, events, waiting: { ...waiting, recheckAfterMs: BUSY_RECHECK_MS } };
  }

  // Drift: what can change in place.
  const update: Extract<VmAction, { type: 'update' }> = { type: 'update', kind };
  if (!sameText(machine.size, spec.size)) update.size = spec.size;
  if (spec.scaleSet && machine.capacity !== spec.scaleSet.capacity) update.capacity = spec.scaleSet.capacity;
  if (kind === 'virtualMachineScaleSet' && !sameImage(spec, machine, image)) {
    if (!image?.ok) {
      details.push({ type: 'Provisioned', status: 'True', reason: 'Provisioned', message: `The scale set runs its former image; the new one does not pass the image check.` });
      if (image?.replicating) return { actions: [], details, events, waiting: { reason: image.reason, message: image.message, recheckAfterMs: replicatingRecheck() } };
      return { actions: [], details, events, stalled: image ? { reason: image.reason, message: image.message } : { reason: 'ImageNotChecked', message: 'The new image was not checked.' } };
    }
    update.imageReference = modelImageReference(spec, image);
  }
  // Tags: the spec's and the owner tag over what the machine has (tags someone else added stay).
  const wantedTags = tagsFor(spec, ownerOf(vm));
  if (Object.entries(wantedTags).some(([k, v]) => machine.tags[k] !== v)) update.tags = { ...machine.tags, ...wantedTags };
  if (update.size || update.capacity !== undefined || update.imageReference || update.tags) {
    details.push({ type: 'Provisioned', status: 'False', reason: 'Updating', message: `Updating the ${what}: ${describeUpdate(update)}.` });
    return { actions: [update], details, events };
  }

  if (!image) details.push({ type: 'ImageAvailable', status: 'True', reason: 'InUse', message: `The ${what} runs image version ${machine.image.exactVersion ?? 'as created'} (the image was checked before it was made).` });
  // The OS profile is Azure's at creation only: say so where a person may expect a change to act.
  const passwordNote = spec.adminPasswordSecretRef ? ' The administrator password is set only when the VM is made: a changed Secret does not change it.' : '';
  details.push({ type: 'Provisioned', status: 'True', reason: 'Succeeded', message: `The ${what} is provisioned${machine.powerState ? ` and ${machine.powerState}` : ''}.${passwordNote}` });
  return { actions: [], details, events };
}

export function describeUpdate(update: Extract<VmAction, { type: 'update' }>): string {
  return [
    update.size && `size ${update.size}`,
    update.capacity !== undefined && `capacity ${update.capacity}`,
    update.imageReference && `image ${Object.values(update.imageReference)[0]}`,
    update.tags && 'tags',
  ]
    .filter(Boolean)
    .join(', ');
}

/** What deleting the object with deletionPolicy Delete undoes: the machine it made (and, through delete options, its NIC, IP and disk). */
export function planVmDeletion(vm: SharedImageVM, observed: VmObservation): DeletionPlan<VmAction> {
  const machine = observed.machine;
  if (!machine) return { actions: [] };
  if (!isOwned(vm, machine)) return { actions: [], leftAlone: `Left in Azure: ${machine.id}, which this object did not make.` };
  return { actions: [{ type: 'delete', kind: kindOf(vm.spec) }] };
}

/** What the operator puts in a request besides the spec: names, secrets, the verdict. */
export interface BodyInputs {
  name: string;
  computerName: string;
  owner: Owner;
  image: Extract<ImageVerdict, { ok: true }>;
  adminPassword?: string;
  /** The data of userDataSecretRef, base64, as Azure takes it: custom data in the OS profile (cloud-init), or userData without one. */
  userData?: string;
}

function osProfile(spec: SharedImageVMSpec, inputs: BodyInputs) {
  if (inputs.image.osState.toLowerCase() === 'specialized' || !spec.adminUsername) return undefined;
  const linux = inputs.image.osType.toLowerCase() === 'linux';
  return {
    computerName: inputs.computerName,
    adminUsername: spec.adminUsername,
    ...(inputs.adminPassword !== undefined ? { adminPassword: inputs.adminPassword } : {}),
    // Custom data is what cloud-init reads on Azure; it is set only when the VM is made.
    ...(inputs.userData ? { customData: inputs.userData } : {}),
    ...(linux
      ? {
          linuxConfiguration: {
            disablePasswordAuthentication: inputs.adminPassword === undefined,
            ...(spec.sshPublicKeys?.length ? { ssh: { publicKeys: spec.sshPublicKeys.map((keyData) => ({ path: `/home/${spec.adminUsername}/.ssh/authorized_keys`, keyData })) } } : {}),
          },
        }
      : {}),
  };
}

/** A confidential VM's OS disk must say how its guest state is encrypted (Azure refuses it otherwise). */
function osDiskManagedDisk(spec: SharedImageVMSpec) {
  return {
    storageAccountType: spec.osDisk?.storageAccountType ?? 'Standard_LRS',
    ...(spec.securityType === 'ConfidentialVM' ? { securityProfile: { securityEncryptionType: 'VMGuestStateOnly' } } : {}),
  };
}

function securityProfile(spec: SharedImageVMSpec) {
  if (!spec.securityType || spec.securityType === 'Standard') return undefined;
  return { securityType: spec.securityType, uefiSettings: { secureBootEnabled: true, vTpmEnabled: true } };
}

function tagsFor(spec: SharedImageVMSpec, owner: Owner): Record<string, string> {
  return { ...(spec.tags ?? {}), [OWNER_TAG]: ownerText(owner) };
}

const planOf = (inputs: BodyInputs) => (inputs.image.purchasePlan ? { plan: { name: inputs.image.purchasePlan.name, publisher: inputs.image.purchasePlan.publisher, product: inputs.image.purchasePlan.product } } : {});

/**
 * The VM's PUT body: the image, the OS disk, a network interface the VM makes for itself, and
 * delete options set explicitly (Azure's default for the OS disk is Detach: an operator that left
 * it out would leak a disk with every deleted VM), so that deleting the VM takes its NIC, IP and
 * disk with it.
 */
export function vmBody(spec: SharedImageVMSpec, inputs: BodyInputs): VirtualMachine {
  const os = osProfile(spec, inputs);
  const security = securityProfile(spec);
  return {
    location: spec.location,
    tags: tagsFor(spec, inputs.owner),
    ...(spec.zones?.length ? { zones: [...spec.zones] } : {}),
    ...planOf(inputs),
    hardwareProfile: { vmSize: spec.size },
    storageProfile: {
      imageReference: imageReferenceOf(spec),
      osDisk: osDisk(spec),
    },
    ...(os ? { osProfile: os } : {}),
    ...(security ? { securityProfile: security } : {}),
    // Without an OS profile (a specialized image) the data goes as userData (served by IMDS).
    ...(inputs.userData && !os ? { userData: inputs.userData } : {}),
    networkProfile: {
      networkApiVersion: '2020-11-01',
      networkInterfaceConfigurations: [networkInterfaceConfiguration(spec, inputs.name)],
    },
  };
}

/**
 * The network interface a VM (or each scale-set instance) makes for itself in the subnet, with an
 * optional Standard public IP, both deleted with the VM.
 */
function networkInterfaceConfiguration(spec: SharedImageVMSpec, name: string) {
  return {
    name: `${name}-nic`,
    primary: true,
    deleteOption: 'Delete',
    ipConfigurations: [
      {
        name: 'ipconfig1',
        primary: true,
        subnet: { id: spec.network.subnetId },
        ...(spec.network.publicIP ? { publicIPAddressConfiguration: { name: `${name}-ip`, deleteOption: 'Delete', sku: { name: 'Standard' } } } : {}),
      },
    ],
  };
}

/** The OS disk from the image, deleted with the VM (Azure's default, Detach, would leak it). */
function osDisk(spec: SharedImageVMSpec) {
  return { createOption: 'FromImage', caching: spec.osDisk?.caching ?? 'ReadWrite', managedDisk: osDiskManagedDisk(spec), deleteOption: 'Delete' };
}

/** A scale set names its instances from a prefix (Azure adds a suffix of its own), at most 9 characters for Windows. */
function scaleSetOsProfile(os: NonNullable<ReturnType<typeof osProfile>>, computerName: string) {
  const { computerName: _name, ...rest } = os;
  return { ...rest, computerNamePrefix: computerName.slice(0, 9).replace(/[-.]+$/, '') };
}

/** The scale set's PUT body: the same pieces in its VM profile, with its orchestration mode. */
export function scaleSetBody(spec: SharedImageVMSpec, inputs: BodyInputs): VirtualMachineScaleSet {
  const os = osProfile(spec, inputs);
  const security = securityProfile(spec);
  const flexible = (spec.scaleSet?.orchestrationMode ?? 'Flexible') === 'Flexible';
  return {
    location: spec.location,
    tags: tagsFor(spec, inputs.owner),
    ...(spec.zones?.length ? { zones: [...spec.zones] } : {}),
    ...planOf(inputs),
    sku: { name: spec.size, capacity: spec.scaleSet?.capacity ?? 0 },
    orchestrationMode: flexible ? 'Flexible' : 'Uniform',
    ...(flexible ? { platformFaultDomainCount: 1 } : { upgradePolicy: { mode: 'Manual' } }),
    virtualMachineProfile: {
      storageProfile: {
        imageReference: modelImageReference(spec, inputs.image),
        osDisk: osDisk(spec),
      },
      ...(os ? { osProfile: scaleSetOsProfile(os, inputs.computerName) } : {}),
      ...(security ? { securityProfile: security } : {}),
      ...(inputs.userData && !os ? { userData: inputs.userData } : {}),
      networkProfile: {
        ...(flexible ? { networkApiVersion: '2020-11-01' } : {}),
        networkInterfaceConfigurations: [networkInterfaceConfiguration(spec, inputs.name)],
      },
    },
  };
}
