// The SharedImageVM image check: references parsed, `latest` resolved as Azure resolves it, the
// fit of an image to the spec and the size, sizes read from their names, computer names, and the
// cache of answers (time, size, shared in-flight reads, aborts).
import { expect } from 'chai';
import fc from 'fast-check';
import {
  compareVersionNames,
  ImageCheckCache,
  imageReferenceKey,
  parseImageReference,
  type ImageCheckKey,
  type ObservedImage,
  type ObservedImageDefinition,
  type ObservedVersion,
} from '../../src/azure/images.js';
import { checkImageFit, computerName, resolveVersion, sizeCapabilities, type ImageFitSpec, type ResolvedVersion } from '../../src/controllers/sharedimagevm/image-check.js';

const SUB = 'baa78062-9e05-4cbe-bc20-1fc5ea242262';
const galleryId = `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Compute/galleries/g`;

describe('parseImageReference', () => {
  const cases: [string, Parameters<typeof parseImageReference>[0], ReturnType<typeof parseImageReference>][] = [
    ['an id with a version', { id: `${galleryId}/images/ubuntu/versions/1.2.3` }, { kind: 'id', gallery: { subscriptionId: SUB, resourceGroup: 'rg', name: 'g' }, image: 'ubuntu', version: '1.2.3' }],
    ['an id without a version means latest', { id: `${galleryId}/images/ubuntu` }, { kind: 'id', gallery: { subscriptionId: SUB, resourceGroup: 'rg', name: 'g' }, image: 'ubuntu', version: 'latest' }],
    ['an id in another case', { id: `${galleryId}/images/ubuntu/versions/LATEST`.replace('/providers/Microsoft.Compute/galleries/', '/PROVIDERS/microsoft.compute/Galleries/') }, { kind: 'id', gallery: { subscriptionId: SUB, resourceGroup: 'rg', name: 'g' }, image: 'ubuntu', version: 'latest' }],
    ['a shared id', { sharedGalleryImageId: '/SharedGalleries/abc-MYGALLERY/Images/ubuntu/Versions/1.0.0' }, { kind: 'shared', uniqueName: 'abc-MYGALLERY', image: 'ubuntu', version: '1.0.0' }],
    ['a shared id in lower case, latest', { sharedGalleryImageId: '/sharedgalleries/u/images/i/versions/latest' }, { kind: 'shared', uniqueName: 'u', image: 'i', version: 'latest' }],
    ['a community id', { communityGalleryImageId: '/CommunityGalleries/contoso-1/Images/tools/Versions/2.0.1' }, { kind: 'community', publicName: 'contoso-1', image: 'tools', version: '2.0.1' }],
  ];
  for (const [name, spec, expected] of cases) it(name, () => expect(parseImageReference(spec)).to.deep.equal(expected));

  it('refuses what matches no form', () => {
    expect(() => parseImageReference({ id: '/subscriptions/x/images/y' })).to.throw(/image.id/);
    expect(() => parseImageReference({})).to.throw(/one of/);
  });

  it('keys references without case', () => {
    expect(imageReferenceKey(parseImageReference({ sharedGalleryImageId: '/SharedGalleries/U/Images/I/Versions/Latest' }))).to.equal(
      imageReferenceKey(parseImageReference({ sharedGalleryImageId: '/sharedgalleries/u/images/i' })),
    );
  });
});

describe('compareVersionNames', () => {
  it('orders numerically, part by part', () => {
    expect(['1.10.0', '1.9.0', '1.9.10', '1.9.2', '2.0.0', '0.99.99'].sort(compareVersionNames)).to.deep.equal(['0.99.99', '1.9.0', '1.9.2', '1.9.10', '1.10.0', '2.0.0']);
  });
  it('is a total order consistent with the numbers (property)', () => {
    const v = fc.tuple(fc.nat(2 ** 31 - 1), fc.nat(2 ** 31 - 1), fc.nat(2 ** 31 - 1));
    fc.assert(
      fc.property(v, v, (a, b) => {
        const sign = Math.sign(compareVersionNames(a.join('.'), b.join('.')));
        const expected = Math.sign(a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
        return sign === expected;
      }),
    );
  });
});

// ---- observations for the tables ----

const linuxGen2: ObservedImageDefinition = { osType: 'Linux', osState: 'Generalized', hyperVGeneration: 'V2', architecture: 'x64' };

type RegionSpec = string | { name: string; excludeFromLatest?: boolean; replication?: 'Completed' | 'Replicating' | 'Failed' | 'Unknown' };
const version = (name: string, regions: RegionSpec[], more: Partial<ObservedVersion> = {}): ObservedVersion => ({
  name,
  excludeFromLatest: false,
  regions: regions.map((r) => (typeof r === 'string' ? { name: r, excludeFromLatest: false, replication: 'Completed' } : { excludeFromLatest: false, replication: 'Completed', ...r })),
  ...more,
});
const byId = (versions: ObservedVersion[], definition = linuxGen2): ObservedImage => ({ source: 'id', definition, versions });
const shared = (versions: ObservedVersion[], definition = linuxGen2): ObservedImage => ({
  source: 'shared',
  definition,
  // The consumer view: no replication, only the location's region.
  versions: versions.map((v) => ({ ...v, regions: v.regions.map(({ name, excludeFromLatest }) => ({ name, excludeFromLatest })) })),
});

describe('resolveVersion', () => {
  const table: [string, ObservedImage, string, string, ResolvedVersion | { missing: string }][] = [
    ['latest: the highest version', byId([version('1.0.0', ['westus']), version('1.2.0', ['westus']), version('1.1.0', ['westus'])]), 'latest', 'westus', { version: '1.2.0' }],
    ['latest: numeric order (1.10.0 > 1.9.0)', byId([version('1.9.0', ['westus']), version('1.10.0', ['westus'])]), 'latest', 'westus', { version: '1.10.0' }],
    ['latest: skips a version excluded globally', byId([version('1.0.0', ['westus']), version('1.1.0', ['westus'], { excludeFromLatest: true })]), 'latest', 'westus', { version: '1.0.0' }],
    [
      'latest: skips a version excluded for the region only',
      byId([version('1.0.0', ['westus', 'eastus']), version('1.1.0', [{ name: 'westus', excludeFromLatest: true }, 'eastus'])]),
      'latest',
      'westus',
      { version: '1.0.0' },
    ],
    ['latest: a version excluded in another region still counts here', byId([version('1.0.0', ['eastus']), version('1.1.0', [{ name: 'westus', excludeFromLatest: true }, 'eastus'])]), 'latest', 'East US', { version: '1.1.0' }],
    ['latest: skips a version not targeting the region', byId([version('1.0.0', ['westus']), version('1.1.0', ['eastus'])]), 'latest', 'westus', { version: '1.0.0' }],
    ['latest: skips a newer version still replicating (id)', byId([version('1.0.0', ['westus']), version('1.1.0', [{ name: 'westus', replication: 'Replicating' }])]), 'latest', 'westus', { version: '1.0.0' }],
    ['latest: replicating when no version is ready (id)', byId([version('1.1.0', [{ name: 'westus', replication: 'Replicating' }])]), 'latest', 'westus', { missing: 'Replicating' }],
    ['latest: replication not read counts as not ready (id)', byId([version('1.1.0', [{ name: 'westus', replication: undefined }])]), 'latest', 'westus', { missing: 'Replicating' }],
    ['latest: failed replication is not in the region (id)', byId([version('1.1.0', [{ name: 'westus', replication: 'Failed' }])]), 'latest', 'westus', { missing: 'NotInRegion' }],
    ['latest: no version targets the region', byId([version('1.0.0', ['eastus'])]), 'latest', 'westus', { missing: 'NotInRegion' }],
    ['latest: every version excluded', byId([version('1.0.0', ['westus'], { excludeFromLatest: true })]), 'latest', 'westus', { missing: 'NoVersion' }],
    ['latest: excluded for the region', byId([version('1.0.0', [{ name: 'westus', excludeFromLatest: true }])]), 'latest', 'westus', { missing: 'NoVersion' }],
    ['latest: no versions at all (id)', byId([]), 'latest', 'westus', { missing: 'NoVersion' }],
    ['latest: shared, the highest listed', shared([version('1.0.0', ['westus']), version('1.10.0', ['westus']), version('1.9.0', ['westus'])]), 'latest', 'westus', { version: '1.10.0' }],
    ['latest: shared, excluded versions skipped', shared([version('1.0.0', ['westus']), version('1.1.0', ['westus'], { excludeFromLatest: true })]), 'latest', 'westus', { version: '1.0.0' }],
    ['latest: shared, nothing listed at the location', shared([]), 'latest', 'westus', { missing: 'NotInRegion' }],
    ['latest: shared, everything excluded', shared([version('1.0.0', ['westus'], { excludeFromLatest: true })]), 'latest', 'westus', { missing: 'NoVersion' }],
    ['named: exists, replicated', byId([version('1.0.0', ['westus']), version('1.1.0', ['westus'])]), '1.0.0', 'westus', { version: '1.0.0' }],
    ['named: excluded from latest can still be named', byId([version('1.1.0', ['westus'], { excludeFromLatest: true })]), '1.1.0', 'westus', { version: '1.1.0' }],
    ['named: missing (id)', byId([version('1.0.0', ['westus'])]), '2.0.0', 'westus', { missing: 'NoVersion' }],
    ['named: not targeting the region (id)', byId([version('1.0.0', ['eastus'])]), '1.0.0', 'westus', { missing: 'NotInRegion' }],
    ['named: replicating (id)', byId([version('1.0.0', [{ name: 'westus', replication: 'Replicating' }])]), '1.0.0', 'westus', { missing: 'Replicating' }],
    ['named: shared, listed', shared([version('1.0.0', ['westus'])]), '1.0.0', 'westus', { version: '1.0.0' }],
    ['named: shared, not listed at the location', shared([version('1.0.0', ['westus'])]), '2.0.0', 'westus', { missing: 'NotInRegion' }],
  ];
  for (const [name, image, requested, location, expected] of table) {
    it(name, () => {
      const got = resolveVersion(image, requested, location);
      if ('version' in expected) expect(got).to.deep.equal(expected);
      else {
        expect(got).to.have.property('missing', expected.missing);
        expect((got as { message: string }).message).to.be.a('string').and.not.be.empty;
      }
    });
  }

  it('latest is the maximum of the eligible versions (property)', () => {
    const arbVersion = fc.record({
      name: fc.tuple(fc.nat(20), fc.nat(20), fc.nat(20)).map((t) => t.join('.')),
      excludeFromLatest: fc.boolean(),
      region: fc.record({ excludeFromLatest: fc.boolean(), replication: fc.constantFrom('Completed' as const, 'Replicating' as const, 'Failed' as const), targets: fc.boolean() }),
    });
    fc.assert(
      fc.property(fc.uniqueArray(arbVersion, { selector: (v) => v.name, maxLength: 12 }), (vs) => {
        const image = byId(vs.map((v) => version(v.name, v.region.targets ? [{ name: 'westus', excludeFromLatest: v.region.excludeFromLatest, replication: v.region.replication }] : ['eastus'], { excludeFromLatest: v.excludeFromLatest })));
        const eligible = vs.filter((v) => !v.excludeFromLatest && v.region.targets && !v.region.excludeFromLatest && v.region.replication === 'Completed').map((v) => v.name);
        const got = resolveVersion(image, 'latest', 'westus');
        if (eligible.length === 0) return 'missing' in got;
        return 'version' in got && got.version === eligible.sort(compareVersionNames).at(-1);
      }),
    );
  });
});

describe('sizeCapabilities', () => {
  const table: [string, string, 'V1' | 'V2' | 'both'][] = [
    ['Standard_D2s_v5', 'x64', 'both'],
    ['Standard_D2ps_v5', 'Arm64', 'V2'],
    ['Standard_E4pds_v5', 'Arm64', 'V2'],
    ['Standard_D2pls_v6', 'Arm64', 'V2'],
    ['standard_d2ps_v5', 'Arm64', 'V2'],
    ['Basic_A1', 'x64', 'V1'],
    ['Standard_A2_v2', 'x64', 'V1'],
    ['Standard_A4m_v2', 'x64', 'V1'],
    ['Standard_D1', 'x64', 'V1'],
    ['Standard_D14', 'x64', 'V1'],
    ['Standard_D2_v2', 'x64', 'V1'],
    ['Standard_D2_v3', 'x64', 'V1'],
    ['Standard_DS2_v2', 'x64', 'both'],
    ['Standard_D2s_v3', 'x64', 'both'],
    ['Standard_G2', 'x64', 'V1'],
    ['Standard_GS2', 'x64', 'both'],
    ['Standard_D2s_v6', 'x64', 'V2'],
    ['Standard_D2as_v6', 'x64', 'V2'],
    ['Standard_M208ms_v2', 'x64', 'V2'],
    ['Standard_M64ms_v2', 'x64', 'both'],
    ['Standard_E64-16ds_v4', 'x64', 'both'],
    ['Standard_NC24ads_A100_v4', 'x64', 'both'],
    ['Standard_B2s', 'x64', 'both'],
    ['Something_odd', 'x64', 'both'],
  ];
  for (const [size, architecture, hyperVGenerations] of table) {
    it(`${size}: ${architecture}, ${hyperVGenerations}`, () => expect(sizeCapabilities(size)).to.deep.equal({ architecture, hyperVGenerations }));
  }
});

describe('checkImageFit', () => {
  const now = Date.parse('2026-06-01T00:00:00Z');
  const linuxSpec: ImageFitSpec = { location: 'westus', size: 'Standard_D2s_v5', adminUsername: 'azureuser', sshPublicKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA test'] };
  const ok: ResolvedVersion = { version: '1.0.0' };
  const image = (definition: Partial<ObservedImageDefinition> = {}, versions = [version('1.0.0', ['westus'])]) => byId(versions, { ...linuxGen2, ...definition });
  const reasons = (spec: ImageFitSpec, img: ObservedImage, resolved = ok, size = sizeCapabilities(spec.size)) => checkImageFit(spec, img, resolved, size, now).problems.map((p) => p.reason);

  it('accepts a generalized Linux image with an admin and keys', () => expect(checkImageFit(linuxSpec, image(), ok, sizeCapabilities(linuxSpec.size), now)).to.deep.equal({ problems: [], warnings: [] }));

  const table: [string, ImageFitSpec, ObservedImage, string[]][] = [
    ['specialized with adminUsername', linuxSpec, image({ osState: 'Specialized' }), ['SpecializedImageWithOsProfile']],
    ['specialized with a password only', { location: 'westus', size: 'Standard_D2s_v5', adminPasswordSecretRef: { name: 's', key: 'k' } }, image({ osState: 'Specialized' }), ['SpecializedImageWithOsProfile']],
    ['specialized without an OS profile', { location: 'westus', size: 'Standard_D2s_v5' }, image({ osState: 'Specialized' }), []],
    ['generalized without adminUsername', { location: 'westus', size: 'Standard_D2s_v5' }, image(), ['GeneralizedImageNeedsAdmin']],
    ['generalized Linux with an admin but no key or password', { location: 'westus', size: 'Standard_D2s_v5', adminUsername: 'azureuser' }, image(), ['GeneralizedImageNeedsAdmin']],
    ['generalized Windows without a password', { ...linuxSpec }, image({ osType: 'Windows' }), ['GeneralizedImageNeedsAdmin']],
    ['generalized Windows with a password', { location: 'westus', size: 'Standard_D2s_v5', adminUsername: 'azureuser', adminPasswordSecretRef: { name: 's', key: 'k' } }, image({ osType: 'Windows' }), []],
    ['TrustedLaunch required, not set', linuxSpec, image({ securityType: 'TrustedLaunch' }), ['SecurityTypeRequired']],
    ['TrustedLaunch required, set', { ...linuxSpec, securityType: 'TrustedLaunch' }, image({ securityType: 'TrustedLaunch' }), []],
    ['ConfidentialVM required, TrustedLaunch set', { ...linuxSpec, securityType: 'TrustedLaunch' }, image({ securityType: 'ConfidentialVM' }), ['SecurityTypeRequired']],
    ['TrustedLaunchSupported allows Standard', linuxSpec, image({ securityType: 'TrustedLaunchSupported' }), []],
    ['ConfidentialVM on an image without support', { ...linuxSpec, securityType: 'ConfidentialVM' }, image({ securityType: 'TrustedLaunchSupported' }), ['SecurityTypeNotSupported']],
    ['TrustedLaunch on a Gen1 image', { ...linuxSpec, securityType: 'TrustedLaunch' }, image({ hyperVGeneration: 'V1' }), ['SecurityTypeNotSupported']],
    ['Gen2 image on a Gen1-only size', { ...linuxSpec, size: 'Standard_D2_v3' }, image(), ['HyperVGenerationMismatch']],
    ['Gen1 image on a Gen2-only size', { ...linuxSpec, size: 'Standard_D2s_v6' }, image({ hyperVGeneration: 'V1' }), ['HyperVGenerationMismatch']],
    ['Gen1 image on a size that boots both', linuxSpec, image({ hyperVGeneration: 'V1' }), []],
    ['Arm64 image on an x64 size', linuxSpec, image({ architecture: 'Arm64' }), ['ArchitectureMismatch']],
    ['x64 image on an Arm64 size', { ...linuxSpec, size: 'Standard_D2ps_v5' }, image(), ['ArchitectureMismatch']],
    ['Arm64 image on an Arm64 size', { ...linuxSpec, size: 'Standard_D2ps_v5' }, image({ architecture: 'Arm64' }), []],
  ];
  for (const [name, spec, img, expected] of table) it(name, () => expect(reasons(spec, img)).to.deep.equal(expected));

  it('turns a missing version into ImageNotInRegion / ImageVersionNotFound (refused) and ImageReplicating (waiting)', () => {
    const fit = (resolved: ResolvedVersion) => checkImageFit(linuxSpec, image(), resolved, sizeCapabilities(linuxSpec.size), now).problems.map((p) => [p.reason, p.kind]);
    expect(fit({ missing: 'NotInRegion', message: 'm' })).to.deep.equal([['ImageNotInRegion', 'refused']]);
    expect(fit({ missing: 'NoVersion', message: 'm' })).to.deep.equal([['ImageVersionNotFound', 'refused']]);
    expect(fit({ missing: 'Replicating', message: 'm' })).to.deep.equal([['ImageReplicating', 'waiting']]);
  });

  it('warns about an end-of-life version without refusing it', () => {
    const img = image({}, [version('1.0.0', ['westus'], { endOfLifeDate: '2026-01-01T00:00:00.000Z' })]);
    const result = checkImageFit(linuxSpec, img, ok, sizeCapabilities(linuxSpec.size), now);
    expect(result.problems).to.deep.equal([]);
    expect(result.warnings.map((w) => w.reason)).to.deep.equal(['ImageVersionEndOfLife']);
    expect(checkImageFit(linuxSpec, img, ok, sizeCapabilities(linuxSpec.size), Date.parse('2025-12-31T00:00:00Z')).warnings).to.deep.equal([]);
  });

  it('says who must act in every message', () => {
    const spec: ImageFitSpec = { location: 'westus', size: 'Standard_D2_v3', adminUsername: 'azureuser' };
    const problems = checkImageFit(spec, image({ osState: 'Specialized', architecture: 'Arm64', securityType: 'TrustedLaunch' }), { missing: 'NotInRegion', message: 'ask the image owner' }, sizeCapabilities(spec.size), now).problems;
    expect(problems.length).to.be.greaterThan(3);
    for (const p of problems) expect(p.message).to.match(/spec\.|image owner|Remove|Choose|set /i);
  });
});

describe('computerName', () => {
  const objectName = fc.stringMatching(/^[a-z0-9]([-a-z0-9.]{0,80}[a-z0-9])?$/);

  it('keeps a short name', () => {
    expect(computerName('web-1', 'Windows')).to.equal('web-1');
    expect(computerName('web-1.example', 'Linux')).to.equal('web-1.example');
  });

  it('shortens a long Windows name to 15 characters, as documented', () => {
    const name = computerName('my-very-long-windows-vm', 'Windows');
    expect(name).to.match(/^my-very-l-[0-9a-z]{5}$/);
  });

  it('Windows names: at most 15 characters, valid characters, not all digits, no trailing - or ., deterministic (property)', () => {
    fc.assert(
      fc.property(objectName, (n) => {
        const c = computerName(n, 'Windows');
        return c.length >= 1 && c.length <= 15 && /^[A-Za-z0-9-]+$/.test(c) && !/^\d+$/.test(c) && !/[-.]$/.test(c) && !c.startsWith('-') && c === computerName(n, 'Windows');
      }),
    );
  });

  it('Linux names: at most 64 characters, the name itself when it fits (property)', () => {
    fc.assert(
      fc.property(objectName, (n) => {
        const c = computerName(n, 'Linux');
        return c.length <= 64 && !/[-.]$/.test(c) && (n.length > 64 || c === n);
      }),
    );
  });

  it('long names that differ only in the tail get different names (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z][a-z0-9]{15,30}$/), fc.stringMatching(/^[a-z0-9]{1,8}$/), fc.stringMatching(/^[a-z0-9]{1,8}$/), (head, a, b) => {
        fc.pre(a !== b);
        return computerName(`${head}-${a}`, 'Windows') !== computerName(`${head}-${b}`, 'Windows');
      }),
    );
  });

  it('a name with a dot is not taken as is for Windows (dots are not allowed there)', () => {
    expect(computerName('a.b', 'Windows')).to.not.equal('a.b');
    expect(computerName('a.b', 'Windows')).to.not.equal(computerName('a-b', 'Windows'));
  });
});

describe('ImageCheckCache', () => {
  const key = (image = 'ubuntu', region = 'westus', identity = 'tenant/app/sub'): ImageCheckKey => ({
    ref: { kind: 'shared', uniqueName: 'u', image, version: 'latest' },
    region,
    identity,
  });
  const deferred = <T>() => {
    let resolve!: (v: T) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };

  it('reads once for a hundred concurrent callers of one key', async () => {
    const cache = new ImageCheckCache<string>();
    let loads = 0;
    const gate = deferred<string>();
    const answers = Promise.all(
      Array.from({ length: 100 }, () =>
        cache.get(key(), () => {
          loads++;
          return gate.promise;
        }),
      ),
    );
    gate.resolve('answer');
    expect(await answers).to.have.length(100).and.satisfy((a: string[]) => a.every((x) => x === 'answer'));
    expect(loads).to.equal(1);
  });

  it('keeps an answer for ttlMs, then reads again', async () => {
    let now = 0;
    const cache = new ImageCheckCache<number>({ ttlMs: 1000, now: () => now });
    let loads = 0;
    const load = () => Promise.resolve(++loads);
    expect(await cache.get(key(), load)).to.equal(1);
    now = 999;
    expect(await cache.get(key(), load)).to.equal(1);
    now = 1000;
    expect(await cache.get(key(), load)).to.equal(2);
  });

  it('keys by reference (without case), region and identity', async () => {
    const cache = new ImageCheckCache<string>();
    let loads = 0;
    const load = () => Promise.resolve(`${++loads}`);
    await cache.get(key(), load);
    await cache.get({ ...key(), ref: { kind: 'shared', uniqueName: 'U', image: 'UBUNTU', version: 'LATEST' } }, load);
    await cache.get({ ...key(), region: 'West US' }, load);
    expect(loads).to.equal(1);
    await cache.get(key('ubuntu', 'eastus'), load);
    await cache.get(key('ubuntu', 'westus', 'other'), load);
    await cache.get(key('debian'), load);
    expect(loads).to.equal(4);
  });

  it('evicts the least recently used beyond maxEntries', async () => {
    const cache = new ImageCheckCache<string>({ maxEntries: 2 });
    let loads = 0;
    const load = () => Promise.resolve(`${++loads}`);
    await cache.get(key('a'), load);
    await cache.get(key('b'), load);
    await cache.get(key('a'), load); // a used last
    await cache.get(key('c'), load); // evicts b
    expect(cache.size).to.equal(2);
    expect(loads).to.equal(3);
    await cache.get(key('a'), load);
    expect(loads).to.equal(3);
    await cache.get(key('b'), load);
    expect(loads).to.equal(4);
  });

  it('does not keep a failed read, and keeps undefined as an answer', async () => {
    const cache = new ImageCheckCache<string | undefined>();
    let loads = 0;
    await cache.get(key(), () => (loads++, Promise.reject(new Error('403')))).catch(() => undefined);
    expect(await cache.get(key(), () => (loads++, Promise.resolve(undefined)))).to.equal(undefined);
    expect(await cache.get(key(), () => (loads++, Promise.resolve('x')))).to.equal(undefined);
    expect(loads).to.equal(2);
    cache.invalidate(key());
    expect(await cache.get(key(), () => (loads++, Promise.resolve('x')))).to.equal('x');
  });

  it('aborts the shared read only when every waiting caller has aborted', async () => {
    const cache = new ImageCheckCache<string>();
    const gate = deferred<string>();
    let loadSignal: AbortSignal | undefined;
    const load = (signal: AbortSignal) => {
      loadSignal = signal;
      return gate.promise;
    };
    const a = new AbortController();
    const b = new AbortController();
    const first = cache.get(key(), load, a.signal);
    const second = cache.get(key(), load, b.signal);
    a.abort(new Error('first gave up'));
    const firstError = await first.catch((e: Error) => e.message);
    expect(firstError).to.equal('first gave up');
    expect(loadSignal!.aborted).to.equal(false);
    b.abort(new Error('second gave up'));
    expect(await second.catch((e: Error) => e.message)).to.equal('second gave up');
    expect(loadSignal!.aborted).to.equal(true);
    gate.reject(new Error('aborted'));
  });
});
