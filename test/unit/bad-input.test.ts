// What the bad-input corpus (test/integration/bad-input.test.ts) found the operator getting wrong,
// pinned one by one: a missing resource group or subscription read as a missing gallery or image,
// a credentials Secret with an expired certificate used (GalleryShare, SharedImageVM, a grant's
// writers) instead of refused as a TenantGrant's app certificate is, and a mangled certificate
// reported as whatever the parser threw.
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ComputeManagementClient } from '@azure/arm-compute';
import { CredentialSecretError, parseApplicationSecret, parseCredentialSecret, type CredentialCache } from '../../src/azure/credentials.js';
import { classifyAzureError, isParentNotFound, isResourceNotFound, RefusalError } from '../../src/azure/errors.js';
import { readGallery } from '../../src/azure/gallery-sharing.js';
import { readImage } from '../../src/azure/images.js';
import { credentialResolver } from '../../src/controllers/shared/credentials.js';
import { classifyFailure, decideFailure } from '../../src/controllers/shared/failures.js';
import type { KubeClient } from '../../src/runtime/kube-client.js';
import { certificateValidBetween } from '../support/tenantgrants.js';

const armError = (statusCode: number, code: string, message: string) => Object.assign(new Error(message), { name: 'RestError', statusCode, code });
const b64 = (s: string) => Buffer.from(s).toString('base64');
const TENANT = '6dc731fe-2682-41a6-a97e-5fb246cc86f9';
const CLIENT = '7d2f4a61-3c1e-4b8a-9f05-6e2d1c3b4a58';

describe('a 404 for a missing resource group or subscription is not a missing resource', () => {
  const throwing = (err: Error) => () => Promise.reject(err);
  const compute = (err: Error) =>
    ({
      galleries: { get: throwing(err) },
      sharedGalleryImages: { get: throwing(err) },
    }) as unknown as ComputeManagementClient;

  it('tells the codes apart', () => {
    expect(isParentNotFound(armError(404, 'ResourceGroupNotFound', "Resource group 'x' could not be found."))).to.equal(true);
    expect(isParentNotFound(armError(404, 'SubscriptionNotFound', "The subscription 's' could not be found."))).to.equal(true);
    expect(isResourceNotFound(armError(404, 'ResourceNotFound', 'The Resource was not found.'))).to.equal(true);
    expect(isResourceNotFound(armError(404, 'GalleryNotFound', 'x'))).to.equal(true);
    expect(isResourceNotFound(armError(404, 'ResourceGroupNotFound', 'x'))).to.equal(false);
    expect(isResourceNotFound(armError(403, 'AuthorizationFailed', 'x'))).to.equal(false);
  });

  it('readGallery: a missing gallery is undefined (GalleryNotFound), a missing resource group or subscription is thrown with its own code and advice', async () => {
    expect(await readGallery(compute(armError(404, 'ResourceNotFound', "The Resource 'Microsoft.Compute/galleries/g' was not found.")), 'rg', 'g')).to.equal(undefined);
    for (const [code, advice] of [
      ['ResourceGroupNotFound', 'Check the resource group name'],
      ['SubscriptionNotFound', 'Check the subscription id'],
    ] as const) {
      const err = await readGallery(compute(armError(404, code, `${code} here`)), 'rg', 'g').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, code).to.be.an('error');
      const failure = classifyAzureError(err, 'managing the GalleryShare');
      expect(failure).to.deep.include({ kind: 'terminal', code });
      expect(failure.message).to.include(advice);
    }
  });

  it('readImage (a shared image): a missing image is undefined (ImageNotFound), a missing subscription is thrown', async () => {
    const ref = { kind: 'shared' as const, uniqueName: 'u', image: 'i', version: 'latest' };
    expect(await readImage(compute(armError(404, 'ResourceNotFound', 'not found')), ref, 'westus')).to.equal(undefined);
    const err = await readImage(compute(armError(404, 'SubscriptionNotFound', "The subscription 's' could not be found.")), ref as never, 'westus').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(classifyAzureError(err, 'x')).to.deep.include({ kind: 'terminal', code: 'SubscriptionNotFound' });
  });
});

describe('a shared image still replicating, refused at create', () => {
  it("is transient in both of Azure's wordings (a named version, and latest) for a region still replicating, and terminal elsewhere", () => {
    const named = armError(404, 'GalleryImageNotFound', 'The gallery image /SharedGalleries/g/Images/i/Versions/1.0.0 is not available in eastus region. Please contact image owner to replicate to this region, or change your requested region.');
    const latest = armError(404, 'GalleryImageNotFound', 'There is no latest image version exists for "/SharedGalleries/g/Images/i/Versions/latest" in eastus region.');
    for (const err of [named, latest]) {
      expect(classifyFailure(err, 'creating the VM', { now: 0, replicatingRegions: ['eastus'] }), err.message).to.deep.include({ kind: 'transient', code: 'GalleryImageNotFound' });
      expect(classifyFailure(err, 'creating the VM', { now: 0, replicatingRegions: ['westus'] }).kind, err.message).to.equal('terminal');
    }
  });
});

describe("Entra's AADSTS700016 for a credentials Secret", () => {
  it('says to check clientId and tenantId first (a wrong id is the usual cause), and consent for an app from another tenant', () => {
    const failure = classifyAzureError(
      { name: 'AuthenticationError', statusCode: 400, message: 'x', errorResponse: { error: 'unauthorized_client', errorDescription: "AADSTS700016: Application with identifier 'a' was not found in the directory 'Fabrikam'." } },
      'managing the GalleryShare',
    );
    expect(failure).to.deep.include({ kind: 'terminal', code: 'AADSTS700016' });
    expect(failure.message).to.include('check clientId and tenantId').and.include('consent');
  });
});

describe('certificates in credentials Secrets', function () {
  this.timeout(60_000);
  let dir: string;
  let expired: { combinedPem: string };
  let valid: { combinedPem: string };
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gso-unit-cert-'));
    expired = await certificateValidBetween(dir, 'expired', new Date('2024-01-01T00:00:00Z'), new Date('2024-02-01T00:00:00Z'));
    valid = await certificateValidBetween(dir, 'valid', new Date(Date.now() - 86_400_000), new Date(Date.now() + 365 * 86_400_000));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const secretData = (clientCertificate: string) => ({ tenantId: b64(TENANT), clientId: b64(CLIENT), clientCertificate: b64(clientCertificate) });
  const resolverFor = (data: Record<string, string>, now = Date.now) =>
    credentialResolver({ get: () => Promise.resolve({ data }) } as unknown as KubeClient, { forMaterial: () => ({ getToken: () => Promise.resolve(null) }) } as unknown as CredentialCache, () => {
      throw new Error('no default identity here');
    }, now);

  it('a mangled certificate (both PEM markers, bytes that do not parse) is InvalidCredentialsSecret, and the message quotes nothing of it', () => {
    const mangled = `-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbA==\n-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n`;
    for (const parse of [() => parseCredentialSecret('owner', secretData(mangled)), () => parseApplicationSecret('app', { clientCertificate: b64(mangled) }, CLIENT)]) {
      expect(parse).to.throw(CredentialSecretError, /clientCertificate must be PEM .* does not parse/);
      try {
        parse();
      } catch (err) {
        expect((err as Error).message).to.not.include('bm90');
      }
    }
    expect(parseCredentialSecret('owner', secretData(valid.combinedPem)).clientCertificate).to.include('BEGIN CERTIFICATE');
  });

  it('a Secret whose certificate has ended is refused as CredentialExpired without asking Entra, and rechecked on the credentials schedule', async () => {
    const err = await resolverFor(secretData(expired.combinedPem))
      .resolve('ns', 'owner-certificate')
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).to.be.instanceOf(RefusalError);
    const failure = classifyFailure(err, 'managing the GalleryShare');
    expect(failure).to.deep.include({ kind: 'terminal', code: 'CredentialExpired' });
    expect(failure.message).to.include('Secret owner-certificate').and.include('2024-02-01').and.include('Upload a new certificate');
    const decision = decideFailure(failure, { phase: 'reconcile', now: Date.now(), stalledRecheckMs: 120_000, credentialsRecheckMs: 60_000 });
    expect(decision.outcome).to.deep.include({ state: 'stalled', reason: 'CredentialExpired' });
    expect(decision.requeue).to.deep.equal({ after: 60_000 });
  });

  it('the same certificate before its end is used', async () => {
    const before = Date.parse('2024-01-15T00:00:00Z');
    const { material } = await resolverFor(secretData(expired.combinedPem), () => before).resolve('ns', 'owner-certificate');
    expect(material?.clientId).to.equal(CLIENT);
    expect((await resolverFor(secretData(valid.combinedPem)).resolve('ns', 'owner-certificate')).material?.tenantId).to.equal(TENANT);
  });
});
