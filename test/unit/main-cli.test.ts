// The operator's command line: --help lists every setting, and a bad setting stops start-up with
// exit code 2 and a message that names it (a JSON log line), before anything connects anywhere.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { IDENTITY_VARIABLES, PROXY_VARIABLES, SETTINGS } from '../../src/config.js';

const main = join(import.meta.dirname, '..', '..', 'src', 'main.ts');
const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', main, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env }, timeout: 30_000 });

describe('operator command line', () => {
  it('prints every setting with --help', () => {
    const result = run(['--help']);
    expect(result.status).to.equal(0);
    expect(result.stderr).to.equal('');
    for (const setting of Object.values(SETTINGS)) {
      expect(result.stdout).to.include(setting.flag);
      expect(result.stdout).to.include(setting.env);
    }
    for (const variable of Object.values(IDENTITY_VARIABLES)) expect(result.stdout).to.include(variable.env);
  });

  it('stops on a bad setting with a message naming it, as a JSON log line on stderr', () => {
    // One JSON line, level fatal, on stderr; nothing on stdout.
    const fatal = (result: ReturnType<typeof run>) => {
      expect(result.stdout).to.equal('');
      const lines = result.stderr.trim().split('\n');
      expect(lines, result.stderr).to.have.length(1);
      const line = JSON.parse(lines[0]!) as { level: string; msg: string };
      expect(line.level).to.equal('fatal');
      return line.msg;
    };
    const result = run([], { WORKERS: 'many' });
    expect(result.status).to.equal(2);
    expect(fatal(result)).to.include('--workers (WORKERS): "many" must be a whole number from 1 to 200');
    const missing = run(['--kubeconfig', '/nonexistent']);
    expect(missing.status).to.equal(2);
    expect(fatal(missing)).to.include('--kubeconfig (KUBECONFIG): cannot read /nonexistent');
  });
});

describe('README settings table', () => {
  it('lists exactly the settings, in order, with their defaults and meanings', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const rows = readme.split('\n').filter((line) => line.startsWith('| `--'));
    expect(rows).to.deep.equal(Object.values(SETTINGS).map((s) => `| \`${s.flag}\` | \`${s.env}\` | ${s.default} | ${s.description} |`));
    for (const variable of [...Object.values(IDENTITY_VARIABLES), ...Object.values(PROXY_VARIABLES)]) expect(readme).to.include(`| (none) | \`${variable.env}\` | | ${variable.description} |`);
  });
});
