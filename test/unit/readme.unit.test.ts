import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { validate, type GraphQLSchema } from 'graphql';
import { okrSchema } from '../../schema/build';
import { SEED_PLACEHOLDERS } from '../../src/cli';
import { blocks, operations, placeholdersIn, SAMPLE } from '../support/readmeExamples';

/**
 * README is what a newcomer runs. Why: its examples used dates the server refused on today's clock, it
 * captured npm's banner into $TOKEN, and it linked to files outside the repository.
 */

const ROOT = path.resolve(__dirname, '../..');

describe("README's GraphQL examples", () => {
  let schema: GraphQLSchema;
  beforeAll(async () => {
    schema = await okrSchema();
  });

  const graphql = blocks('graphql');

  it('are there (every section of the API shows some)', () => {
    expect(graphql.length).toBeGreaterThanOrEqual(12);
  });

  it('use only placeholders `npm run seed` prints (or draftObjective and addWebhook answer)', () => {
    const used = new Set(graphql.flatMap(placeholdersIn));
    const known = new Set([...SEED_PLACEHOLDERS, '<new objective id>', '<new webhook id>']);
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
