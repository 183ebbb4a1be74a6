// The image check a SharedImageVM passes before anything is made: the image read as the identity
// that will create the VM (through a cache shared by every VM of the process, so a hundred VMs
// from one image read it once per cache time), `latest` resolved as Azure resolves it, and the
// fit of the image to the spec and the size (image-check.ts), summed up as one verdict for plan.ts.
import type { SharedImageVMSpec } from '../../api/v1alpha1/index.js';
import type { AzureClients } from '../../azure/clients.js';
import { ImageCheckCache, parseImageReference, readImage, type ImageReference, type ObservedImage } from '../../azure/images.js';
import type { ImageChecker } from './handler.js';
import { checkImageFit, resolveVersion, sizeCapabilities } from './image-check.js';
import type { ImageVerdict } from './plan.js';

/** How long an image read stands for every VM asking for the same image, region and identity. */
export const IMAGE_CHECK_TTL_MS = 5 * 60_000;

export function imageChecker(azure: AzureClients, cache = new ImageCheckCache<ObservedImage | undefined>({ ttlMs: IMAGE_CHECK_TTL_MS }), now: () => number = Date.now): ImageChecker {
  return async (vm, { credential, identityKey }, signal) => {
    const { spec } = vm;
    const ref = parseImageReference(spec.image);
    // An RBAC id is read in the gallery's subscription (as the grant's app in the source tenant,
    // where there is a grant); the consumer views of shared and community galleries in the VM's.
    const compute = azure.computeClient(credential, ref.kind === 'id' ? ref.gallery.subscriptionId : spec.subscriptionId);
    const key = { ref, region: spec.location, identity: `${identityKey}|${spec.subscriptionId.toLowerCase()}` };
    const image = await cache.get(key, (s) => readImage(compute, ref, spec.location, s), signal);
    const verdict = judge(spec, ref, image, now());
    // Only an answer that lets VMs be made stands for the cache time: a refusal, or a version still
    // replicating, is read again at the next look, so that a fix or a finished replication shows then.
    if (!verdict.ok) cache.invalidate(key);
    return verdict;
  };
}

/** Pure: the verdict on an image read (undefined: not there, or not visible to the identity). */
export function judge(spec: SharedImageVMSpec, ref: ImageReference, image: ObservedImage | undefined, now: number): ImageVerdict {
  const label = Object.values(spec.image).find(Boolean) ?? 'the image';
  if (!image) {
    return {
      ok: false,
      reason: 'ImageNotFound',
      message: `${label} does not exist, or is not visible to the identity that creates the VM in ${spec.location} (not shared with this subscription or tenant, or not published there). Check the id; the image owner can share it (GalleryShare) or replicate it to ${spec.location}.`,
      replicating: false,
    };
  }
  const resolved = resolveVersion(image, ref.version, spec.location, label);
  const fit = checkImageFit(spec, image, resolved, sizeCapabilities(spec.size), now);
  if (fit.problems.length || 'missing' in resolved) {
    const problems = fit.problems.length ? fit.problems : [{ reason: 'ImageVersionNotFound', kind: 'refused' as const, message: 'missing' in resolved ? resolved.message : '' }];
    return { ok: false, reason: problems[0]!.reason, message: problems.map((p) => p.message).join(' '), replicating: problems.every((p) => p.kind === 'waiting') };
  }
  const { definition } = image;
  return {
    ok: true,
    version: resolved.version,
    osType: definition.osType,
    osState: definition.osState,
    warnings: fit.warnings.map((w) => w.message),
    // A community image that carries a purchase plan needs it in the VM (Azure refuses the VM otherwise).
    ...(ref.kind === 'community' && definition.purchasePlan ? { purchasePlan: definition.purchasePlan } : {}),
  };
}
