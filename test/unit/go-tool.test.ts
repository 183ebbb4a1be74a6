// The cache key of a built test tool covers its whole recipe: a helm built without its
// Kubernetes-version link flags must not be reused once the flags are in the recipe.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { goToolDir, recipeKey, type GoToolRecipe } from '../support/go-tool.js';

describe('the cache key of a tool built from Go modules', () => {
  const helm: GoToolRecipe = { name: 'helm', install: 'helm.sh/helm/v3/cmd/helm@v3.22.0', ldflags: ['-X a.b=1'] };

  it('is the same for the same recipe', () => {
    expect(recipeKey({ ...helm })).to.equal(recipeKey(helm));
    expect(goToolDir(helm)).to.match(/helm-[0-9a-f]{12}$/);
  });

  it('changes with the version, the link flags, the tags and the build environment', () => {
    const variants: GoToolRecipe[] = [
      { ...helm, install: 'helm.sh/helm/v3/cmd/helm@v3.22.1' },
      { ...helm, ldflags: [] },
      { ...helm, ldflags: ['-X a.b=2'] },
      { ...helm, tags: ['netgo'] },
      { ...helm, env: { GOEXPERIMENT: 'x' } },
    ];
    const keys = new Set([recipeKey(helm), ...variants.map(recipeKey)]);
    expect(keys.size).to.equal(variants.length + 1);
  });

  it('changes with any file of a local module, and with a file added', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gso-go-tool-'));
    try {
      writeFileSync(join(dir, 'main.go'), 'package main\n');
      writeFileSync(join(dir, 'go.sum'), 'a v1\n');
      const recipe: GoToolRecipe = { name: 'kstatus', sourceDir: dir };
      const before = recipeKey(recipe);
      writeFileSync(join(dir, 'go.sum'), 'a v2\n');
      const changed = recipeKey(recipe);
      writeFileSync(join(dir, 'extra.go'), 'package main\n');
      const added = recipeKey(recipe);
      expect(new Set([before, changed, added]).size).to.equal(3);
      // The key is of the source, not of where it sits.
      expect(recipeKey({ name: 'kstatus', sourceDir: `${dir}/` })).to.equal(added);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
