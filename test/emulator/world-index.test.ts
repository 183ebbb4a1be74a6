// The world's indexes (ScopedMap): lookups by scope and by principal answer exactly what a scan of
// every record would, in the same order, through inserts, replacements under the same key and
// deletes; they are what keeps ARM calls from scanning 20,000 role assignments each.
import { expect } from 'chai';
import { idKey, isAtOrAbove } from '../azure-emulator/ids.js';
import { ancestorKeys, ScopedMap, World } from '../azure-emulator/world.js';
import { rng } from '../support/workload.js';

interface Entry {
  key: string;
  scope: string;
  principal: string;
}

describe('emulator: world indexes', () => {
  it('ancestorKeys lists / and every parent of an id, then the id', () => {
    expect(ancestorKeys('/')).to.deep.equal(['/']);
    expect(ancestorKeys('/subscriptions/s1/resourcegroups/rg')).to.deep.equal(['/', '/subscriptions', '/subscriptions/s1', '/subscriptions/s1/resourcegroups', '/subscriptions/s1/resourcegroups/rg']);
  });

  it('answers at, atOrBelow, atOrAbove and withField as a scan in Map order does, through sets, replacements and deletes', () => {
    const map = new ScopedMap<Entry>(
      (e) => idKey(e.scope),
      (e) => e.principal.toLowerCase(),
    );
    const scopes = ['/', '/subscriptions/S1', '/subscriptions/s1/resourceGroups/RG', '/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/galleries/g1', '/subscriptions/s1/resourceGroups/rg2', '/subscriptions/s2', '/subscriptions/s10'];
    const principals = ['P1', 'p2', 'p3'];
    const random = rng(7);
    const next = (n: number) => Math.floor(random() * n);
    for (let step = 0; step < 2000; step++) {
      const key = `k${next(60)}`;
      if (next(4) === 0) map.delete(key);
      else {
        // A key keeps its scope and principal (as ids do); a replacement is a new record object.
        const n = Number(key.slice(1));
        map.set(key, { key, scope: scopes[n % scopes.length]!, principal: principals[n % principals.length]! });
      }
      if (step % 50 !== 0) continue;
      const all = [...map.values()];
      for (const scope of scopes) {
        const k = idKey(scope);
        expect(map.at(k)).to.deep.equal(all.filter((e) => idKey(e.scope) === k));
        expect(map.atOrBelow(k)).to.deep.equal(all.filter((e) => isAtOrAbove(scope, e.scope)));
        expect(map.atOrAbove(k)).to.deep.equal(all.filter((e) => isAtOrAbove(e.scope, scope)));
      }
      for (const p of principals) expect(map.withField(p.toUpperCase())).to.deep.equal(all.filter((e) => e.principal.toLowerCase() === p.toLowerCase()));
    }
    map.clear();
    expect(map.atOrBelow('/')).to.deep.equal([]);
    expect(map.withField('p1')).to.deep.equal([]);
  });

  it('a replacement under the same key keeps its place in the order, as in a Map', () => {
    const map = new ScopedMap<Entry>((e) => idKey(e.scope));
    map.set('a', { key: 'a', scope: '/subscriptions/s1', principal: 'p' });
    map.set('b', { key: 'b', scope: '/subscriptions/s1/resourceGroups/rg', principal: 'p' });
    map.set('a', { key: 'a', scope: '/subscriptions/s1', principal: 'q' });
    expect(map.atOrBelow('/subscriptions/s1').map((e) => `${e.key}${e.principal}`)).to.deep.equal(['aq', 'bp']);
    expect(map.inOrder([map.get('b')!, map.get('a')!]).map((e) => e.key)).to.deep.equal(['a', 'b']);
  });

  it("resourcesBelow gives a resource's descendants, not the resource nor a namesake's with a longer name", () => {
    const world = new World();
    const base = { location: 'westus', tags: {}, provisioning: { state: 'Succeeded' as const, until: 0 } };
    const rg = '/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/galleries';
    world.putResource({ ...base, kind: 'resourceGroup', id: '/subscriptions/s1/resourceGroups/rg', name: 'rg' } as never);
    world.putResource({ ...base, kind: 'gallery', id: `${rg}/g`, name: 'g' } as never);
    world.putResource({ ...base, kind: 'gallery', id: `${rg}/g2`, name: 'g2' } as never);
    world.putResource({ ...base, kind: 'image', id: `${rg}/g/images/i`, name: 'i' } as never);
    expect(world.resourcesBelow(`${rg}/G`).map((r) => r.id)).to.deep.equal([`${rg}/g/images/i`]);
    world.deleteResource(`${rg}/g/images/i`);
    expect(world.resourcesBelow(`${rg}/g`)).to.deep.equal([]);
    expect(world.resourcesBelow('/subscriptions/s1/resourceGroups/rg').map((r) => r.name)).to.deep.equal(['g', 'g2']);
  });
});
