// Property tests of the id formats checked at admission. The CRDs run these regexes in CEL (RE2);
// the ones tested here use only syntax that RE2 and JavaScript read alike, so a generator of
// valid and invalid values checks the regexes against an independent statement of Azure's rules.
import { expect } from 'chai';
import fc from 'fast-check';
import { GALLERY_NAME_REGEX, RESOURCE_GROUP_REGEX, UUID_REGEX, VERSION_REGEX } from '../../src/api/v1alpha1/schema-kit.js';
import { COMMUNITY_GALLERY_IMAGE_ID_REGEX, IMAGE_ID_REGEX, SHARED_GALLERY_IMAGE_ID_REGEX } from '../../src/api/v1alpha1/sharedimagevm.js';

/** RE2's leading (?i) becomes JavaScript's i flag; \p{..} needs the u flag. */
function js(regex: string): RegExp {
  return regex.startsWith('(?i)') ? new RegExp(regex.slice(4), 'iu') : new RegExp(regex, 'u');
}

const alnum = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'.split(''));
const galleryChars = fc.constantFrom(...'abcXYZ019_.-'.split(''));
const uuidArb = fc.uuid();
const versionArb = fc.tuple(fc.nat({ max: 2147483647 }), fc.nat({ max: 2147483647 }), fc.nat({ max: 2147483647 })).map((p) => p.join('.'));
const galleryArb = fc.tuple(alnum, fc.array(fc.constantFrom(...'ab9_.'.split('')), { maxLength: 20 }), alnum).map(([a, m, z]) => a + m.join('') + z);
const imageArb = fc.tuple(alnum, fc.array(fc.constantFrom(...'ab9_.-'.split('')), { maxLength: 20 }), alnum).map(([a, m, z]) => a + m.join('') + z);

describe('admission formats (property tests)', () => {
  it('gallery names: letters, digits, _ and . inside, alphanumeric ends, never a dash', () => {
    fc.assert(
      fc.property(fc.array(galleryChars, { minLength: 1, maxLength: 30 }).map((c) => c.join('')), (name) => {
        const expected = !name.includes('-') && /^[A-Za-z0-9]/.test(name) && /[A-Za-z0-9]$/.test(name);
        expect(js(GALLERY_NAME_REGEX).test(name), name).to.equal(expected);
      }),
    );
  });

  it('UUIDs in any case are accepted, anything else is not', () => {
    fc.assert(fc.property(uuidArb, fc.boolean(), (id, upper) => {
      expect(js(UUID_REGEX).test(upper ? id.toUpperCase() : id)).to.equal(true);
    }));
    fc.assert(fc.property(fc.string({ maxLength: 40 }), (s) => {
      expect(js(UUID_REGEX).test(s)).to.equal(/^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/i.test(s));
    }));
  });

  it('versions are three non-negative integers without leading zeros', () => {
    fc.assert(fc.property(versionArb, (v) => {
      expect(js(VERSION_REGEX).test(v), v).to.equal(true);
    }));
    fc.assert(fc.property(fc.stringMatching(/^[0-9.]{1,12}$/), (v) => {
      const parts = v.split('.');
      const expected = parts.length === 3 && parts.every((p) => /^(0|[1-9][0-9]*)$/.test(p) && p.length <= 10);
      expect(js(VERSION_REGEX).test(v), v).to.equal(expected);
    }));
  });

  it('resource groups end with anything but a period', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom(...'aZ9_-.()é'.split('')), { minLength: 1, maxLength: 90 }).map((c) => c.join('')), (rg) => {
      expect(js(RESOURCE_GROUP_REGEX).test(rg), rg).to.equal(!rg.endsWith('.'));
    }));
  });

  it('image references: each format accepts its own ids in any prefix case, and only its own', () => {
    const prefixCase = fc.constantFrom((s: string) => s, (s: string) => s.toLowerCase(), (s: string) => s.toUpperCase());
    const versionPart = fc.option(fc.oneof(versionArb, fc.constant('latest')), { nil: undefined });
    fc.assert(
      fc.property(uuidArb, galleryArb, imageArb, versionPart, prefixCase, (sub, gallery, image, version, casing) => {
        const tail = version === undefined ? '' : `/${casing('Versions')}/${version}`;
        const ids = {
          id: `/${casing('subscriptions')}/${sub}/${casing('resourceGroups')}/rg1/${casing('providers/Microsoft.Compute/galleries')}/${gallery}/${casing('images')}/${image}${tail}`,
          shared: `/${casing('SharedGalleries')}/${sub}-${gallery.toUpperCase()}/${casing('Images')}/${image}${tail}`,
          community: `/${casing('CommunityGalleries')}/${gallery}-${sub}/${casing('Images')}/${image}${tail}`,
        };
        const formats = { id: js(IMAGE_ID_REGEX), shared: js(SHARED_GALLERY_IMAGE_ID_REGEX), community: js(COMMUNITY_GALLERY_IMAGE_ID_REGEX) };
        for (const [idKind, value] of Object.entries(ids)) {
          for (const [formatKind, regex] of Object.entries(formats)) {
            expect(regex.test(value), `${formatKind} on ${value}`).to.equal(idKind === formatKind);
          }
        }
      }),
    );
  });
});
