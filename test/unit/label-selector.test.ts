// --watch-label-selector is judged at start-up with apimachinery's selector grammar, so that a
// mistyped selector stops the operator with a message instead of every list answering 400.
import { expect } from 'chai';
import { LabelSelectorError, parseLabelSelector } from '../../src/runtime/label-selector.js';

describe('label selectors', () => {
  it('reads every form labels.Parse takes, spaces or not', () => {
    expect(parseLabelSelector('')).to.deep.equal([]);
    expect(parseLabelSelector('galleryshare.io/shard=shard1')).to.deep.equal([{ key: 'galleryshare.io/shard', operator: '=', values: ['shard1'] }]);
    expect(parseLabelSelector('!galleryshare.io/shard')).to.deep.equal([{ key: 'galleryshare.io/shard', operator: '!', values: [] }]);
    expect(parseLabelSelector('a==b, c != d ,e,f=')).to.deep.equal([
      { key: 'a', operator: '=', values: ['b'] },
      { key: 'c', operator: '!=', values: ['d'] },
      { key: 'e', operator: 'exists', values: [] },
      { key: 'f', operator: '=', values: [''] },
    ]);
    expect(parseLabelSelector('tier in (a, b),env notin (prod)')).to.deep.equal([
      { key: 'tier', operator: 'in', values: ['a', 'b'] },
      { key: 'env', operator: 'notin', values: ['prod'] },
    ]);
    expect(parseLabelSelector('gen>2,gen<10')).to.deep.equal([
      { key: 'gen', operator: '>', values: ['2'] },
      { key: 'gen', operator: '<', values: ['10'] },
    ]);
  });

  it('refuses what the API server would answer 400 to, saying what is wrong', () => {
    const cases: [string, RegExp][] = [
      ['galleryshare.io/shard=shard 1', /expected "," or the end/],
      ['=shard1', /expected a key, found "="/],
      ['shard1,', /ends with ","/],
      ['a/b/c=d', /more than one "\/"/],
      ['Galleryshare.IO/shard=x', /prefix must be a DNS subdomain/],
      ['-shard=x', /the name must be/],
      ['shard=-x', /value "-x"/],
      [`shard=${'x'.repeat(64)}`, /at most 63/],
      ['shard in ()', /cannot be empty/],
      ['shard in (a', /expected "," or "\)"/],
      ['shard in a', /expected "\(" after "shard in"/],
      ['gen>x', /takes a whole number/],
      ['a b', /after "a", found "b"/],
    ];
    for (const [selector, message] of cases) {
      expect(() => parseLabelSelector(selector), selector).to.throw(LabelSelectorError, message);
    }
  });
});
