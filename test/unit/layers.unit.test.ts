import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * The import rules of eslint.config.mjs, checked against probe files in each layer: an import that
 * points outward is an error, one that points inward is not. (ESLint loads its config as ESM, which
 * jest cannot, so the probes run in one child process through ESLint's own API.)
 */

const ROOT = path.resolve(__dirname, '../..');

interface Probe {
  file: string;
  from: string;
  allowed: boolean;
}

const PROBES: Probe[] = [
  { file: 'events/probe.ts', from: '../domain/errors', allowed: false },
  { file: 'events/probe.ts', from: '../projections/docs', allowed: false },
  { file: 'events/probe.ts', from: './catalogue', allowed: true },
  { file: 'domain/probe.ts', from: '../projections/docs', allowed: false },
  { file: 'domain/probe.ts', from: '../schema/context', allowed: false },
  { file: 'domain/probe.ts', from: '../events/catalogue', allowed: true },
  { file: 'projections/probe.ts', from: '../schema/context', allowed: false },
  { file: 'projections/probe.ts', from: '../src/ledger', allowed: false },
  { file: 'projections/probe.ts', from: '../events/catalogue', allowed: true },
  { file: 'schema/probe.ts', from: '../src/commands', allowed: false },
  { file: 'schema/resolvers/probe.ts', from: '../../src/ledger', allowed: false },
  { file: 'schema/probe.ts', from: '@mikro-orm/postgresql', allowed: false },
  { file: 'schema/probe.ts', from: '../domain/commands', allowed: true },
  { file: 'schema/resolvers/probe.ts', from: '../../projections/readModel', allowed: true },
  { file: 'src/probe.ts', from: '../schema/context', allowed: true },
  { file: 'test/probe.ts', from: '../src/commands', allowed: true },
  { file: 'bench/probe.ts', from: '../src/commands', allowed: true },
];

const SCRIPT = `
import { ESLint } from 'eslint';
const probes = JSON.parse(process.argv[1]);
const eslint = new ESLint({ cwd: process.cwd() });
const out = [];
for (const p of probes) {
  const [result] = await eslint.lintText(\`import { x } from '\${p.from}';\\nexport const y = x;\\n\`, { filePath: p.file });
  out.push(result.messages.filter((m) => m.ruleId === 'no-restricted-imports').length > 0);
}
process.stdout.write(JSON.stringify(out));
`;

describe('layering (eslint no-restricted-imports per layer)', () => {
  it('refuses every outward import and allows the inward ones', () => {
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', SCRIPT, JSON.stringify(PROBES)], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    const refused = JSON.parse(output) as boolean[];
    const verdicts = PROBES.map((p, i) => `${p.file} <- ${p.from}: ${refused[i] ? 'refused' : 'allowed'}`);
    expect(verdicts).toEqual(PROBES.map((p) => `${p.file} <- ${p.from}: ${p.allowed ? 'allowed' : 'refused'}`));
  });
});
