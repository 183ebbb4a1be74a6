// Azure-side fixtures for the operator's integration tests: requests as the emulator's portal
// admin (changes a person makes behind the operator's back), a fresh gallery per test, and the
// gallery owner's credentials as a Secret.
import { expect } from 'chai';
import type { RunningEmulator } from '../azure-emulator/index.js';
import { ids, raw, secrets, type RawResponse } from '../emulator/helpers.js';
import type { KubeClients } from './kube.js';

export function galleryPathOf(name: string): string {
  return `/subscriptions/${ids.gallerySubscription}/resourceGroups/${ids.galleryRG}/providers/Microsoft.Compute/galleries/${name}`;
}

/** An ARM request as the seeded portal admin of the gallery's tenant. */
export async function adminRequest(azure: RunningEmulator, method: string, path: string, body?: unknown): Promise<RawResponse> {
  const token = await azure.control.adminToken(ids.contoso);
  return raw(azure, method, `${path}${path.includes('?') ? '&' : '?'}api-version=2025-12-03`, { token, body });
}

/** A new gallery in the sample world, optionally with the image definition ubuntu-2404. */
export async function createGallery(azure: RunningEmulator, name: string, permission: 'Private' | 'Groups', withImage = false): Promise<void> {
  const gallery = await adminRequest(azure, 'PUT', galleryPathOf(name), { location: 'westus', properties: { sharingProfile: { permissions: permission } } });
  expect(gallery.status, gallery.text).to.be.oneOf([200, 201, 202]);
  if (!withImage) return;
  const image = await adminRequest(azure, 'PUT', `${galleryPathOf(name)}/images/ubuntu-2404`, {
    location: 'westus',
    properties: { osType: 'Linux', osState: 'Generalized', hyperVGeneration: 'V2', identifier: { publisher: 'contoso', offer: 'ubuntu', sku: '2404' } },
  });
  expect(image.status, image.text).to.be.oneOf([200, 201, 202]);
}

/** The gallery owner's service-principal credentials, as a person creates them with kubectl. */
export async function createOwnerSecret(clients: KubeClients, namespace: string, name = 'gallery-owner'): Promise<void> {
  await clients.core.createNamespacedSecret({
    namespace,
    body: { metadata: { name }, stringData: { tenantId: ids.contoso, clientId: ids.galleryOwner, clientSecret: secrets[ids.galleryOwner]! } },
  });
}
