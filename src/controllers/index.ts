// The controllers this operator runs, and what each one reads. main.ts registers them on the
// manager, and the operator's RBAC rules (src/deploy/rbac.ts) are derived from this list: a kind
// with a controller gets what reconciling needs, a kind only read gets get/list/watch, and a kind
// with no controller yet gets nothing.
//
// Sharding (--watch-label-selector): each controller reconciles the objects of its shard (cache),
// but what it decides from other objects it reads from the caches of every object (lookupCache):
// which GalleryShare holds a gallery, a SharedImageVM's TenantGrant, the VMs that keep a grant.
// Those rules then hold across shards as they do in one process, and no rule ties related
// objects to one shard; the price is that every shard caches every object of those kinds.
import type { Logger } from 'pino';
import { GalleryShareKind, SharedImageVMKind, TenantGrantKind, type GalleryShare, type KindDefinition, type SharedImageVM, type TenantGrant } from '../api/v1alpha1/index.js';
import type { AzureClients } from '../azure/clients.js';
import { Controller } from '../runtime/controller.js';
import type { EventRecorder } from '../runtime/events.js';
import type { KubeClient } from '../runtime/kube-client.js';
import type { OperatorMetrics } from '../runtime/metrics.js';
import { objectKey, type IndexedCache, type KubeObject } from '../runtime/informer.js';
import { GalleryShareHandler } from './galleryshare/handler.js';
import { GALLERY_SHARES_BY_GALLERY, galleryIndexValue, galleryShareGalleries, SHARED_IMAGE_VMS_BY_TENANT_GRANT, sharedImageVmTenantGrants } from './indexes.js';
import { TenantGrantHandler } from './tenantgrant/handler.js';
import { SharedImageVMHandler } from './sharedimagevm/handler.js';
import { computerName } from './sharedimagevm/image-check.js';
import { imageChecker } from './sharedimagevm/image-verdict.js';
import { kstatus } from '../runtime/kstatus.js';
import type { CredentialResolver } from './shared/credentials.js';
import type { KindHandler, ManagedObject } from './shared/handler.js';
import type { Policy } from './shared/policy.js';
import { ManagedReconciler } from './shared/reconciler.js';

/** What a controller needs from the process: the manager's caches and clients, Azure, settings. */
export interface ControllerDeps {
  /** The objects of a kind this process reconciles (its shard's, when sharded). */
  cache<T extends KubeObject>(kind: KindDefinition): IndexedCache<T>;
  /** Every object of a kind, in every shard, read only (cache() itself when not sharded). */
  lookupCache<T extends KubeObject>(kind: KindDefinition): IndexedCache<T>;
  addController<T extends KubeObject>(controller: Controller<T>): void;
  client: KubeClient;
  events: EventRecorder;
  logger: Logger;
  metrics: OperatorMetrics;
  azure: AzureClients;
  credentials: CredentialResolver;
  policy: Policy;
  workers: number;
  resyncMs: number;
  reconcileTimeoutMs: number;
  /** How soon a Stalled object is looked at again. */
  stalledRecheckMs: number;
  /** How soon a Stalled credentials failure is looked at again (Secrets are not watched). */
  credentialsRecheckMs: number;
  /** A TenantGrant whose app certificate expires within this many days warns; 0 never. */
  credentialExpiryWarningDays: number;
  /** The first and longest wait between two checks of consent or target access. */
  consentRecheck: { initialMs: number; maxMs: number };
}

export interface ControllerRegistration {
  /** The kind it reconciles. */
  readonly kind: KindDefinition;
  /** Other kinds it watches, read only. */
  readonly reads: readonly KindDefinition[];
  /** Builds its controller on the shared caches and adds it to the manager. */
  register(deps: ControllerDeps): void;
}

/** The shared reconciler and a controller for one kind's handler. */
function managedController<Obj extends ManagedObject, C, O, A>(deps: ControllerDeps, handler: KindHandler<Obj, C, O, A>): Controller<Obj> {
  const cache = deps.cache<Obj>(handler.kind);
  const reconciler = new ManagedReconciler(handler, {
    cache,
    client: deps.client,
    events: deps.events,
    stalledRecheckMs: deps.stalledRecheckMs,
    credentialsRecheckMs: deps.credentialsRecheckMs,
  });
  return new Controller({
    name: handler.kind.singular,
    informer: cache,
    reconciler,
    logger: deps.logger,
    metrics: deps.metrics,
    workers: deps.workers,
    resyncMs: deps.resyncMs,
    reconcileTimeoutMs: deps.reconcileTimeoutMs,
  });
}

const galleryShares: ControllerRegistration = {
  kind: GalleryShareKind,
  reads: [],
  register(deps) {
    // Claims are decided among every GalleryShare, whatever shard holds it.
    const all = deps.lookupCache<GalleryShare>(GalleryShareKind);
    all.addIndex(GALLERY_SHARES_BY_GALLERY, galleryShareGalleries);
    const sharesOfGallery = (gallery: GalleryShare['spec']['gallery']) => all.byIndex(GALLERY_SHARES_BY_GALLERY, galleryIndexValue(gallery));
    // A shard's own cache and the cache of every object are two watches: a GalleryShare may reach
    // the first before an older one naming its gallery reaches the second. Once the second holds
    // this one, it has seen every object created before it (one watch delivers in order), and
    // the claim can be decided.
    const claimsCurrent = (gs: GalleryShare) => all.get(objectKey(gs))?.metadata.uid === gs.metadata.uid;
    const handler = new GalleryShareHandler({ azure: deps.azure, credentials: deps.credentials, policy: deps.policy, sharesOfGallery, claimsCurrent });
    const controller = managedController(deps, handler);
    // A GalleryShare waiting for a gallery another one holds (GalleryClaimed) goes on as soon as
    // that one is gone, not at its next recheck (in whatever shard that one was). One that
    // reached this shard's cache before the cache of every GalleryShare (claimsCurrent) is
    // decided when it reaches that one too.
    controller.watches(all, (event, gs, old) =>
      event === 'deleted' || (gs.metadata.deletionTimestamp && !old?.metadata.deletionTimestamp)
        ? sharesOfGallery(gs.spec.gallery)
            .filter((other) => other.metadata.uid !== gs.metadata.uid)
            .map(objectKey)
        : event === 'added' && all !== deps.cache<GalleryShare>(GalleryShareKind)
          ? [objectKey(gs)]
          : [],
    );
    deps.addController(controller);
  },
};

const tenantGrants: ControllerRegistration = {
  kind: TenantGrantKind,
  // SharedImageVMs reference grants: a grant's deletion waits for them, and its verify mode
  // checks the actions they need (public IPs, deletes).
  reads: [SharedImageVMKind],
  register(deps) {
    // A grant is kept by the VMs of every shard that reference it.
    const vms = deps.lookupCache<SharedImageVM>(SharedImageVMKind);
    vms.addIndex(SHARED_IMAGE_VMS_BY_TENANT_GRANT, sharedImageVmTenantGrants);
    const vmsReferencing = (grant: TenantGrant) => vms.byIndex(SHARED_IMAGE_VMS_BY_TENANT_GRANT, objectKey(grant));
    const handler = new TenantGrantHandler({
      azure: deps.azure,
      credentials: deps.credentials,
      policy: deps.policy,
      vmsReferencing,
      credentialExpiryWarningDays: deps.credentialExpiryWarningDays,
      consentRecheck: deps.consentRecheck,
    });
    const controller = managedController(deps, handler);
    // A SharedImageVM's reference to a grant concerns only that grant: when it appears, goes (or
    // starts going), or changes what it needs, a deletion waiting for it goes on and verify mode
    // checks what the VMs now need. Status updates of the VM concern no grant.
    const needs = (vm: SharedImageVM) => JSON.stringify([sharedImageVmTenantGrants(vm), vm.spec?.network?.publicIP === true, vm.spec?.deletionPolicy ?? 'Delete', Boolean(vm.metadata.deletionTimestamp)]);
    controller.watches(vms, (event, vm, old) =>
      event !== 'updated' || !old || needs(old) !== needs(vm) ? [...new Set([...sharedImageVmTenantGrants(vm), ...(old ? sharedImageVmTenantGrants(old) : [])])] : [],
    );
    deps.addController(controller);
  },
};

const sharedImageVMs: ControllerRegistration = {
  kind: SharedImageVMKind,
  // A VM acts through its TenantGrant: it waits for the grant to be Ready, and goes on at once
  // when it is.
  reads: [TenantGrantKind],
  register(deps) {
    const vms = deps.cache<SharedImageVM>(SharedImageVMKind);
    vms.addIndex(SHARED_IMAGE_VMS_BY_TENANT_GRANT, sharedImageVmTenantGrants);
    // A VM's grant may be in another shard.
    const grants = deps.lookupCache<TenantGrant>(TenantGrantKind);
    const handler = new SharedImageVMHandler({
      azure: deps.azure,
      credentials: deps.credentials,
      policy: deps.policy,
      grant: (namespace, name) => grants.get(objectKey({ metadata: { namespace, name } })),
      checkImage: imageChecker(deps.azure),
      computerName,
    });
    const controller = managedController(deps, handler);
    // A grant turning Ready (or not) concerns the VMs that reference it, and only those.
    controller.watches(grants, (_event, grant, old) =>
      !old || kstatus(old) !== kstatus(grant) ? vms.byIndex(SHARED_IMAGE_VMS_BY_TENANT_GRANT, objectKey(grant)).map(objectKey) : [],
    );
    deps.addController(controller);
  },
};

export const CONTROLLERS: readonly ControllerRegistration[] = [galleryShares, tenantGrants, sharedImageVMs];
