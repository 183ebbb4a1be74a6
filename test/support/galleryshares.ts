// GalleryShares in the integration tests: the manifest every test starts from, and waiting for
// one to reach a state (with what it last looked like in the error), which kstatus itself must
// read as the operator's own model does.
import { GROUP, VERSION, type GalleryShare } from '../../src/api/v1alpha1/index.js';
import { ids } from '../emulator/helpers.js';
import { kstatus } from '../../src/runtime/kstatus.js';
import type { KubeClient } from '../../src/runtime/kube-client.js';
import { expectKstatusAgrees } from './real-kstatus.js';

/**
 * A GalleryShare on a gallery of the emulator's sample world that signs in with the gallery
 * owner's Secret (azure-fixtures.ts, createOwnerSecret); `spec` adds or overrides fields.
 */
export function galleryShareManifest(name: string, galleryName: string, spec: Partial<GalleryShare['spec']> = {}): GalleryShare {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'GalleryShare',
    metadata: { name },
    spec: {
      gallery: { subscriptionId: ids.gallerySubscription, resourceGroup: ids.galleryRG, name: galleryName },
      azureCredentialsRef: { name: 'gallery-owner' },
      ...spec,
    },
  };
}

/** The GalleryShare collection of a namespace. */
export function galleryShares(namespace: string): string {
  return `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares`;
}

/** Ready for the current spec: kstatus Current, and the Ready condition True for this generation. */
export function isReady(gs: GalleryShare): boolean {
  const ready = gs.status?.conditions?.find((c) => c.type === 'Ready');
  return kstatus(gs) === 'Current' && ready?.status === 'True' && ready.observedGeneration === gs.metadata.generation;
}

/**
 * Waits until the GalleryShare satisfies `until` (default: Ready), then checks that kstatus itself
 * (Flux's) reads that state as the operator's kstatus model does.
 */
export async function waitForGalleryShare(
  client: KubeClient,
  namespace: string,
  name: string,
  until: (gs: GalleryShare) => boolean = isReady,
  options: { what?: string; timeoutMs?: number; logs?: () => string } = {},
): Promise<GalleryShare> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const gs = await client.get<GalleryShare>(`/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares/${name}`).catch(() => undefined);
    if (gs && until(gs)) {
      await expectKstatusAgrees(gs, `${namespace}/${name} (${options.what ?? 'Ready'})`);
      return gs;
    }
    if (Date.now() > deadline) {
      const logs = options.logs ? `\noperator log (end):\n${options.logs().slice(-3000)}` : '';
      throw new Error(`${namespace}/${name} not ${options.what ?? 'Ready'}: ${JSON.stringify(gs?.status)}${logs}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
