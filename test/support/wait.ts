// Waiting for a GalleryShare to reach a state, with what it last looked like in the error.
import { GROUP, VERSION, type GalleryShare } from '../../src/api/v1alpha1/index.js';
import { kstatus } from '../../src/runtime/kstatus.js';
import type { KubeClient } from '../../src/runtime/kube-client.js';

export async function waitForGalleryShare(
  client: KubeClient,
  namespace: string,
  name: string,
  until: (gs: GalleryShare) => boolean = (gs) => kstatus(gs) === 'Current',
  options: { what?: string; timeoutMs?: number; logs?: () => string } = {},
): Promise<GalleryShare> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const gs = await client.get<GalleryShare>(`/apis/${GROUP}/${VERSION}/namespaces/${namespace}/galleryshares/${name}`);
    if (until(gs)) return gs;
    if (Date.now() > deadline) {
      const logs = options.logs ? `\noperator log (end):\n${options.logs().slice(-3000)}` : '';
      throw new Error(`${namespace}/${name} not ${options.what ?? 'Ready'}: ${JSON.stringify(gs.status?.conditions)}${logs}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
