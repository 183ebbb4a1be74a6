// Writes every generated file (see generated-files.ts). With --check it writes nothing and exits 1
// when a generated file is missing or stale, so CI catches a schema change without a regenerate.
import { mkdirSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GENERATED_DIRS, generatedFiles, repositoryRoot } from './generated-files.js';

/** Generated files on disk that generation no longer produces (a renamed kind, say). */
function strayFiles(expected: Map<string, string>): string[] {
  const stray: string[] = [];
  for (const dir of GENERATED_DIRS) {
    const abs = join(repositoryRoot, dir);
    if (!existsSync(abs)) continue;
    for (const name of readdirSync(abs)) {
      const rel = join(dir, name);
      if (!expected.has(rel)) stray.push(rel);
    }
  }
  return stray;
}

function main(): void {
  const check = process.argv.includes('--check');
  const files = generatedFiles();
  const stale: string[] = [];
  for (const [rel, content] of files) {
    const abs = join(repositoryRoot, rel);
    const current = existsSync(abs) ? readFileSync(abs, 'utf8') : undefined;
    if (current === content) continue;
    stale.push(rel);
    if (!check) {
      mkdirSync(dirname(abs), { recursive: true });
      writeFileSync(abs, content);
    }
  }
  const stray = strayFiles(files);
  if (check) {
    if (stale.length || stray.length) {
      for (const f of stale) console.error(`stale generated file: ${f}`);
      for (const f of stray) console.error(`generated directory holds a file generation does not produce: ${f}`);
      console.error('run `npm run generate` and commit the result');
      process.exit(1);
    }
    console.log(`generated files are up to date (${files.size} files)`);
    return;
  }
  for (const f of stray) console.warn(`not generated any more, remove it: ${f}`);
  console.log(stale.length ? `wrote ${stale.join(', ')}` : `generated files are up to date (${files.size} files)`);
}

main();
