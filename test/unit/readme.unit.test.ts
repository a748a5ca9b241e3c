import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { Kind, parse, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import { okrSchema } from '../../schema/build';
import { SEED_PLACEHOLDERS } from '../../src/cli';

/**
 * README is what a newcomer runs. Why: its examples used dates the server refused on today's clock, it
 * captured npm's banner into $TOKEN, and it linked to files outside the repository.
 */

const ROOT = path.resolve(__dirname, '../..');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** Values of the right shape for each placeholder, as `npm run seed` prints them. */
const SAMPLE: Record<string, string> = {
  '<current quarter>': '2026-Q4',
  '<previous quarter>': '2026-Q3',
  '<next quarter>': '2027-Q1',
  '<next quarter starts>': '2027-01-01T00:00:00Z',
  '<next quarter ends>': '2027-04-01T00:00:00Z',
  '<earlier instant>': '2026-11-17T00:00:00Z',
  '<company id>': '3f1c2a6e-0000-5000-8000-000000000001',
  '<function id>': '3f1c2a6e-0000-5000-8000-000000000002',
  '<team id>': '3f1c2a6e-0000-5000-8000-000000000003',
  '<function objective id>': '3f1c2a6e-0000-5000-8000-000000000004',
  '<objective id>': '3f1c2a6e-0000-5000-8000-000000000005',
  '<key result id>': '3f1c2a6e-0000-5000-8000-000000000006',
  // From draftObjective's answer, not from the seed.
  '<new objective id>': '3f1c2a6e-0000-5000-8000-000000000007',
};

const blocks = (lang: string): string[] =>
  [...README.matchAll(new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```', 'gm'))].map((m) => m[1] as string);

const placeholdersIn = (text: string): string[] => [...text.matchAll(/<[a-z][a-z ]*>/g)].map((m) => m[0]);

/** Each operation of a block on its own, placeholders replaced by sample values. */
function operations(block: string): { source: string; document: DocumentNode }[] {
  const filled = block.replace(/<[a-z][a-z ]*>/g, (p) => SAMPLE[p] ?? p);
  const document = parse(filled);
  return document.definitions.map((definition) => ({
    source: filled.slice(definition.loc?.start, definition.loc?.end),
    document: { kind: Kind.DOCUMENT, definitions: [definition] },
  }));
}

describe("README's GraphQL examples", () => {
  let schema: GraphQLSchema;
  beforeAll(async () => {
    schema = await okrSchema();
  });

  const graphql = blocks('graphql');

  it('are there (every section of the API shows some)', () => {
    expect(graphql.length).toBeGreaterThanOrEqual(12);
  });

  it('use only placeholders `npm run seed` prints (or draftObjective answers)', () => {
    const used = new Set(graphql.flatMap(placeholdersIn));
    const known = new Set([...SEED_PLACEHOLDERS, '<new objective id>']);
    expect([...used].filter((p) => !known.has(p))).toEqual([]);
    expect(Object.keys(SAMPLE).sort()).toEqual([...known].sort());
  });

  it('parse, each operation on its own', () => {
    for (const block of graphql) expect(() => operations(block)).not.toThrow();
  });

  it('validate against the schema the server serves (dates and ids included)', () => {
    const problems = graphql.flatMap(operations).flatMap(({ source, document }) =>
      validate(schema, document).map((error) => `${error.message}\n    in: ${source.split('\n')[0]}`),
    );
    expect(problems).toEqual([]);
  });

  it('are dated by the seed, never by a fixed year (a fixed date goes stale or lies in the future)', () => {
    expect(graphql.flatMap((b) => [...b.matchAll(/"\d{4}-\d{2}-\d{2}[^"]*"|"\d{4}-Q\d"/g)].map((m) => m[0]))).toEqual([]);
  });
});

describe("README's shell examples", () => {
  it('capture command output with `npm run -s`, so that npm\'s banner is not captured too', () => {
    const captures = blocks('sh').flatMap((b) => [...b.matchAll(/\$\(\s*npm run (?!-s\b)[^)]*\)/g)].map((m) => m[0]));
    expect(captures).toEqual([]);
  });
});

describe('documentation links', () => {
  const docs = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => path.join('docs', f))];

  it('point at files inside the repository that exist', () => {
    const broken = docs.flatMap((doc) => {
      const text = readFileSync(path.join(ROOT, doc), 'utf8');
      return [...text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
        .map((m) => m[1] as string)
        .filter((target) => !/^[a-z]+:/.test(target))
        .filter((target) => {
          const resolved = path.resolve(ROOT, path.dirname(doc), target);
          return !resolved.startsWith(ROOT + path.sep) || !existsSync(resolved);
        })
        .map((target) => `${doc} -> ${target}`);
    });
    expect(broken).toEqual([]);
  });

  it('never name the sibling shared/ directory the project was specified from', () => {
    expect(docs.filter((doc) => /\.\.\/shared|\bshared\/(contract|notes|seed)\b/.test(readFileSync(path.join(ROOT, doc), 'utf8')))).toEqual([]);
  });
});
