// SharedImageVM's part of the shared reconciler. The identity that creates the VM is the
// TenantGrant's app (a token of the grant's target tenant, with the source tenant's token in
// x-ms-authorization-auxiliary when the image lives there), the object's own Secret, or the
// operator's own identity. Each reconcile reads the VM (one GET with its instance view); the image
// is checked, through a cache, only before the VM is made or its image changes; the network
// interface is read only when its id is new. Create, update and delete are long-running: started,
// kept in status.operation by the shared reconciler, and polled.
import type { ComputeManagementClient } from '@azure/arm-compute';
import type { TokenCredential } from '@azure/identity';
import { SharedImageVMKind, type InFlightOperation, type SharedImageVM, type SharedImageVMStatus, type TenantGrant } from '../../api/v1alpha1/index.js';
import type { AzureClients } from '../../azure/clients.js';
import { RefusalError, type TransienceContext } from '../../azure/errors.js';
import type { Polled, Started } from '../../azure/operations.js';
import { missingActions, permissionsOnResource } from '../../azure/tenant-access.js';
import { pollMachineOperation, readMachine, readPrivateIp, readSubnetRegion, startDeleteMachine, startPutMachine, startUpdateMachine, type MachineOperation } from '../../azure/virtual-machines.js';
import { kstatus } from '../../runtime/kstatus.js';
import type { CredentialResolver } from '../shared/credentials.js';
import type { ActionDescription, DeletionPlan, Explanation, KindHandler, KindPlan, Phase } from '../shared/handler.js';
import type { Policy } from '../shared/policy.js';
import { asksForLatest, describeUpdate, kindOf, ownerOf, planSharedImageVM, planVmDeletion, scaleSetBody, vmBody, type ImageVerdict, type VmAction, type VmObservation } from './plan.js';

/** The identity a SharedImageVM acts with, and the clients made from it. */
export interface VmClients {
  /** Reads, updates and deletes the VM. */
  compute?: ComputeManagementClient;
  /** Creates the VM, or changes a scale set's image: with the auxiliary token where the image is in another tenant. */
  imageWrites?: ComputeManagementClient;
  /** The credential that reads the image (the grant's app in the source tenant, or the VM's own). */
  imageCredential?: TokenCredential;
  /** A key naming the identity, for the image check's cache. */
  identityKey?: string;
  /** The credential that creates the VM (for the permissions read on a subnet elsewhere). */
  credential?: TokenCredential;
  /** Why the object waits for its TenantGrant; no clients then. */
  grantWait?: Explanation;
}

/** Checks the image as the identity that will create the VM (image-check.ts), through its cache. */
export type ImageChecker = (vm: SharedImageVM, clients: { credential: TokenCredential; identityKey: string }, signal: AbortSignal) => Promise<ImageVerdict>;

export interface SharedImageVMHandlerOptions {
  azure: AzureClients;
  credentials: CredentialResolver;
  policy: Policy;
  /** The TenantGrant a SharedImageVM references, from the cache. */
  grant(namespace: string, name: string): TenantGrant | undefined;
  checkImage: ImageChecker;
  /** The Windows or Linux computer name for a VM of this name (image-check.ts). */
  computerName(name: string, osType: string): string;
}

const OPERATION: Record<VmAction['type'], Record<'virtualMachine' | 'virtualMachineScaleSet', MachineOperation>> = {
  create: { virtualMachine: 'createVirtualMachine', virtualMachineScaleSet: 'createScaleSet' },
  update: { virtualMachine: 'updateVirtualMachine', virtualMachineScaleSet: 'updateScaleSet' },
  delete: { virtualMachine: 'deleteVirtualMachine', virtualMachineScaleSet: 'deleteScaleSet' },
};

export class SharedImageVMHandler implements KindHandler<SharedImageVM, VmClients, VmObservation, VmAction> {
  readonly kind = SharedImageVMKind;
  readonly detailConditions: readonly string[] = ['ImageAvailable', 'Provisioned'];

  constructor(private readonly options: SharedImageVMHandlerOptions) {}

  preconditions(obj: SharedImageVM, phase: Phase): Explanation | undefined {
    if (phase !== 'reconcile') return undefined;
    const { spec } = obj;
    if (this.options.policy.requireObjectCredentials && !spec.tenantGrantRef && !spec.azureCredentialsRef) {
      return {
        reason: 'PolicyViolation',
        message: "The operator's policy (require-object-credentials) forbids acting with its own identity: set azureCredentialsRef (a Secret that may create VMs there) or tenantGrantRef. Nothing was changed in Azure.",
      };
    }
    if (!spec.tenantGrantRef) return undefined;
    const grant = this.options.grant(obj.metadata.namespace ?? '', spec.tenantGrantRef.name);
    if (!grant) return undefined; // waited for in connect (Reconciling), not refused
    const problems: string[] = [];
    if (grant.spec.target.subscriptionId.toLowerCase() !== spec.subscriptionId.toLowerCase() || grant.spec.target.resourceGroup.toLowerCase() !== spec.resourceGroup.toLowerCase()) {
      problems.push(`the VM's subscription and resource group (${spec.subscriptionId}/${spec.resourceGroup}) are not the grant's target (${grant.spec.target.subscriptionId}/${grant.spec.target.resourceGroup})`);
    }
    if (spec.image.id) {
      const g = grant.spec.source.gallery;
      const prefix = `/subscriptions/${g.subscriptionId}/resourceGroups/${g.resourceGroup}/providers/Microsoft.Compute/galleries/${g.name}/`.toLowerCase();
      if (!spec.image.id.toLowerCase().startsWith(prefix)) problems.push(`the image is not in the grant's source gallery ${g.name}`);
    }
    if (!problems.length) return undefined;
    return { reason: 'TenantGrantMismatch', message: `TenantGrant ${spec.tenantGrantRef.name} does not cover this VM: ${problems.join('; ')}. Use a grant that does, or change the spec.` };
  }

  /**
   * The consumer views of shared and community galleries list the versions that target a region,
   * not whether replication there has finished: a create refused with GalleryImageNotFound in the
   * VM's own region, for an image the check found listed there, is replication still running.
   */
  transience(obj: SharedImageVM, now: number): TransienceContext {
    return obj.spec.image.id ? { now } : { now, replicatingRegions: [obj.spec.location.toLowerCase()] };
  }

  async connect(obj: SharedImageVM, phase: Phase, signal: AbortSignal): Promise<VmClients> {
    const { spec } = obj;
    const namespace = obj.metadata.namespace!;
    const azure = this.options.azure;
    const lastKnownIfGone = phase === 'delete';
    if (spec.tenantGrantRef) {
      const grant = this.options.grant(namespace, spec.tenantGrantRef.name);
      if (!grant && phase === 'delete' && obj.status?.resourceId) {
        // The VM was made through a grant that is gone: nobody left to delete it as. Letting the
        // object go would leak the VM; say so and wait for the grant, or for Orphan.
        throw new RefusalError(
          'TenantGrantNotFound',
          `TenantGrant ${spec.tenantGrantRef.name}, through which ${obj.status.resourceId} was made, does not exist: the operator cannot delete the VM without its application. Re-create the grant, or set spec.deletionPolicy: Orphan and delete the VM in Azure yourself.`,
        );
      }
      // Ready for its current spec, as kstatus reads it (a grant being changed is not yet Ready).
      const ready = grant !== undefined && kstatus(grant) === 'Current';
      if (!grant || (!ready && phase === 'reconcile')) {
        const state = grant ? (grant.status?.conditions?.find((c) => c.type === 'Stalled' && c.status === 'True') ?? grant.status?.conditions?.find((c) => c.type === 'Ready')) : undefined;
        return {
          grantWait: {
            reason: 'TenantGrantNotReady',
            message: grant
              ? `Waiting for TenantGrant ${spec.tenantGrantRef.name} to be Ready (it is ${state?.reason ?? 'not yet reconciled'}${state?.message ? `: ${state.message}` : ''}).`
              : `Waiting for TenantGrant ${spec.tenantGrantRef.name}, which does not exist in namespace ${namespace}.`,
          },
        };
      }
      const app = await this.options.credentials.resolveApplication(namespace, grant.spec.application.credentialsRef.name, grant.spec.application.clientId, { lastKnownIfGone, signal });
      const target = app.inTenant(grant.spec.target.tenantId);
      const source = app.inTenant(grant.spec.source.tenantId);
      // The auxiliary token only on the writes that reference an image in the other tenant (an
      // RBAC id): reads and deletes need none, and go on even when the source tenant refuses the app.
      const compute = azure.computeClient(target, spec.subscriptionId);
      const imageWrites = spec.image.id ? azure.computeClient(target, spec.subscriptionId, source) : compute;
      return { compute, imageWrites, credential: target, imageCredential: spec.image.id ? source : target, identityKey: `grant:${namespace}/${grant.metadata.name}:${grant.spec.application.clientId}` };
    }
    const { credential, material } = await this.options.credentials.resolve(namespace, spec.azureCredentialsRef?.name, { lastKnownIfGone, signal });
    const compute = azure.computeClient(credential, spec.subscriptionId);
    return { compute, imageWrites: compute, credential, imageCredential: credential, identityKey: material ? `app:${material.tenantId}:${material.clientId}` : 'operator' };
  }

  async observe(obj: SharedImageVM, clients: VmClients, phase: Phase, signal: AbortSignal): Promise<VmObservation | undefined> {
    if (clients.grantWait || !clients.compute) return { grantWait: clients.grantWait ?? { reason: 'TenantGrantNotReady', message: 'Waiting for the TenantGrant.' } };
    const { spec } = obj;
    const kind = kindOf(spec);
    const name = obj.metadata.name!;
    const machine = await readMachine(clients.compute, kind, spec.resourceGroup, name, signal);
    if (phase === 'delete') return machine ? { machine } : {};
    const observation: VmObservation = machine ? { machine } : {};
    // The image is checked only when something is to be made from it: the VM, or a scale set's
    // model (whose `latest` is pinned to a version, and moved when a newer one appears: checked
    // at each resync, through the cache).
    const scaleSetModel = kind === 'virtualMachineScaleSet' && machine !== undefined && (asksForLatest(spec) || !sameImageReference(spec, machine.image));
    if (!machine || machine.provisioningState === 'Failed' || scaleSetModel) {
      observation.image = await this.options.checkImage(obj, { credential: clients.imageCredential!, identityKey: clients.identityKey! }, signal);
    }
    if (!machine && observation.image?.ok) {
      const problem = await this.subnetProblem(obj, clients, signal);
      if (problem) observation.subnetProblem = problem;
    }
    // The private IP: read once per network interface (after create, or when the id changes).
    const nicId = machine?.networkInterfaceId;
    if (nicId && machine.provisioningState === 'Succeeded') {
      const known = obj.status?.networkInterfaceId?.toLowerCase() === nicId.toLowerCase() ? obj.status.privateIPAddress : undefined;
      const ip = known ?? (await readPrivateIp(clients.compute, this.options.azure.env.armEndpoint, nicId, signal));
      if (ip) observation.privateIPAddress = ip;
    }
    return observation;
  }

  /**
   * Before a create: the subnet exists and lies in the VM's region; one outside the VM's resource
   * group (the grant's, where there is one) must let the identity join it.
   */
  private async subnetProblem(obj: SharedImageVM, clients: VmClients, signal: AbortSignal): Promise<Explanation | undefined> {
    const { spec } = obj;
    const subnet = spec.network.subnetId;
    const region = await readSubnetRegion(clients.compute!, this.options.azure.env.armEndpoint, subnet, signal);
    if (!region) return { reason: 'SubnetNotFound', message: `Subnet ${subnet} does not exist (or its virtual network does not). Create it, or fix spec.network.subnetId.` };
    if (region.location !== spec.location.toLowerCase()) {
      return { reason: 'SubnetInOtherRegion', message: `Subnet ${subnet} belongs to a virtual network in ${region.location}, not in the VM's region ${spec.location}: a VM's network interface must be in its own region. Use a subnet in ${spec.location}.` };
    }
    const parsed = /^\/subscriptions\/[^/]+\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Network\/virtualNetworks\/([^/]+)\//i.exec(subnet);
    if (!parsed || parsed[1]!.toLowerCase() === spec.resourceGroup.toLowerCase() || !clients.credential) return undefined;
    const permissions = await permissionsOnResource(this.options.azure.authorizationClient(clients.credential, spec.subscriptionId), parsed[1]!, 'Microsoft.Network', 'virtualNetworks', parsed[2]!, signal);
    const join = 'Microsoft.Network/virtualNetworks/subnets/join/action';
    if (permissions === 'forbidden' || missingActions([join], permissions).length) {
      return {
        reason: 'SubnetJoinDenied',
        message: `The identity that creates the VM may not join subnet ${subnet} (it lacks ${join} there). The network's owner grants it, for example: az role assignment create --assignee <identity> --role "Network Contributor" --scope ${subnet}.`,
      };
    }
    return undefined;
  }

  absent(obj: SharedImageVM): Explanation {
    return { reason: 'ResourceGroupNotFound', message: `Resource group ${obj.spec.resourceGroup} does not exist in subscription ${obj.spec.subscriptionId}.` };
  }

  plan(obj: SharedImageVM, observed: VmObservation): KindPlan<VmAction> {
    return planSharedImageVM(obj, observed, { now: Date.now(), jitter: Math.random() * 2 - 1 });
  }

  planDeletion(obj: SharedImageVM, observed: VmObservation): DeletionPlan<VmAction> {
    return planVmDeletion(obj, observed);
  }

  async act(obj: SharedImageVM, action: VmAction, clients: VmClients, signal: AbortSignal): Promise<Started> {
    const { spec } = obj;
    const name = obj.metadata.name!;
    const compute = clients.compute!;
    switch (action.type) {
      case 'create': {
        const namespace = obj.metadata.namespace!;
        const adminPassword = spec.adminPasswordSecretRef ? await this.options.credentials.secretKey(namespace, spec.adminPasswordSecretRef.name, spec.adminPasswordSecretRef.key, { signal }) : undefined;
        const userData = spec.userDataSecretRef
          ? Buffer.from(await this.options.credentials.secretKey(namespace, spec.userDataSecretRef.name, spec.userDataSecretRef.key, { signal }), 'utf8').toString('base64')
          : undefined;
        const inputs = {
          name,
          computerName: this.options.computerName(name, action.image.osType),
          owner: ownerOf(obj),
          image: action.image,
          ...(adminPassword !== undefined ? { adminPassword } : {}),
          ...(userData !== undefined ? { userData } : {}),
        };
        const body = action.kind === 'virtualMachine' ? vmBody(spec, inputs) : scaleSetBody(spec, inputs);
        // A new VM only if none exists: a VM made meanwhile by someone else is never overwritten.
        return startPutMachine(clients.imageWrites ?? compute, action.kind, spec.resourceGroup, name, body, !action.replace, signal);
      }
      case 'update':
        return startUpdateMachine(action.imageReference ? (clients.imageWrites ?? compute) : compute, action.kind, spec.resourceGroup, name, { ...(action.size ? { size: action.size } : {}), ...(action.capacity !== undefined ? { capacity: action.capacity } : {}), ...(action.imageReference ? { imageReference: action.imageReference } : {}), ...(action.tags ? { tags: action.tags } : {}) }, signal);
      case 'delete':
        return startDeleteMachine(compute, action.kind, spec.resourceGroup, name, signal);
    }
  }

  resume(_obj: SharedImageVM, operation: InFlightOperation, clients: VmClients, signal: AbortSignal): Promise<Polled> {
    if (!clients.compute) return Promise.resolve({ done: false, retryAfterMs: 15_000 });
    return pollMachineOperation(clients.compute, operation.action as MachineOperation, operation.resumeToken, signal);
  }

  describe(action: VmAction): ActionDescription {
    const what = action.kind === 'virtualMachine' ? 'VM' : 'scale set';
    const operation = OPERATION[action.type][action.kind];
    switch (action.type) {
      case 'create':
        return { reason: action.replace ? 'Recreating' : 'Creating', text: `create the ${what} from image version ${action.image.version}`, operation };
      case 'update':
        return { reason: 'Updating', text: `update the ${what}: ${describeUpdate(action)}`, operation };
      case 'delete':
        return { reason: 'Deleting', text: `delete the ${what} with its network interface, IP address and OS disk`, operation };
    }
  }

  status(obj: SharedImageVM, observed: VmObservation | undefined, { current, gone }: { current?: SharedImageVMStatus; gone: boolean }): Omit<SharedImageVMStatus, 'observedGeneration' | 'conditions'> {
    const machine = observed?.machine;
    // The image's OS state, as its check last said (kept: the image is not read again while the VM runs).
    const osState = observed?.image?.ok ? observed.image.osState : current?.osState;
    if (!machine) {
      // Not read, or not there: only what identifies the VM is kept (not while it is gone).
      const keep = !gone && observed === undefined;
      return {
        ...(keep && current?.resourceId ? { resourceId: current.resourceId, ...(current.resolvedImageVersion ? { resolvedImageVersion: current.resolvedImageVersion } : {}) } : {}),
        ...(osState ? { osState } : {}),
      };
    }
    return {
      resourceId: machine.id,
      ...(machine.image.exactVersion ? { resolvedImageVersion: machine.image.exactVersion } : {}),
      ...(osState ? { osState } : {}),
      provisioningState: machine.provisioningState,
      ...(machine.powerState ? { powerState: machine.powerState } : {}),
      ...(machine.capacity !== undefined ? { capacity: machine.capacity } : {}),
      ...(observed.privateIPAddress ? { privateIPAddress: observed.privateIPAddress } : {}),
      ...(machine.networkInterfaceId ? { networkInterfaceId: machine.networkInterfaceId } : {}),
    };
  }
}

function sameImageReference(spec: SharedImageVM['spec'], image: { id?: string; sharedGalleryImageId?: string; communityGalleryImageId?: string }): boolean {
  const eq = (a?: string, b?: string) => (a ?? '').toLowerCase() === (b ?? '').toLowerCase();
  return eq(spec.image.id, image.id) && eq(spec.image.sharedGalleryImageId, image.sharedGalleryImageId) && eq(spec.image.communityGalleryImageId, image.communityGalleryImageId);
}

