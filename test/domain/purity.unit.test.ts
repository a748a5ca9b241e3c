/**
 * Why: the deciders must stay pure (time and ids arrive on commands) and import nothing but each
 * other and the event catalogue, so they run anywhere, replay deterministically and test without
 * a database. This reads the source, so it fails the moment either rule is broken.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

const DOMAIN = path.resolve(__dirname, '../../domain');
const ALLOWED_OUTSIDE = new Set(['../events/catalogue']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every module specifier: static imports and re-exports, side-effect imports, require() and import(). */
function specifiers(source: string): string[] {
  const patterns = [
    /\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\brequire\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g,
    /\bimport\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g,
  ];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((match) => match[1] ?? ''));
}

/** Why a specifier in a file of `dir` is not allowed, or null when it is. */
function importViolation(file: string, specifier: string): string | null {
  const relativeToDomain = path.relative(DOMAIN, path.dirname(file));
  // '../events/catalogue' is written relative to domain/ itself; deeper files would climb further.
  const fromDomainRoot = path.posix.normalize(path.posix.join(relativeToDomain.split(path.sep).join('/'), specifier));
  if (ALLOWED_OUTSIDE.has(fromDomainRoot)) return null;
  if (!specifier.startsWith('.')) return `imports package "${specifier}"`;
  const target = path.resolve(path.dirname(file), specifier);
  if (target === DOMAIN || target.startsWith(DOMAIN + path.sep)) return null;
  return `imports "${specifier}" from outside domain/`;
}

const IMPURE: readonly [string, RegExp][] = [
  ['new Date() without arguments', /\bnew\s+Date\s*(\(\s*\)|(?![\s(]))/],
  ['Date.now', /\bDate\s*\.\s*now\b/],
  ['Math.random', /\bMath\s*\.\s*random\b/],
  ['randomUUID', /\brandomUUID\b/],
];

function violations(file: string, source: string): string[] {
  const found = specifiers(source)
    .map((specifier) => importViolation(file, specifier))
    .filter((v): v is string => v !== null);
  for (const [what, pattern] of IMPURE) if (pattern.test(source)) found.push(`uses ${what}`);
  return found;
}

const files = sourceFiles(DOMAIN);

describe('the domain', () => {
  it('is the set of files the checks below read', () => {
    const names = files.map((f) => path.relative(DOMAIN, f)).sort();
    expect(names).toEqual(expect.arrayContaining(['errors.ts', 'keyResult.ts', 'objective.ts', 'quarter.ts', 'unit.ts', 'validate.ts']));
  });

  it.each(files.map((f) => [path.relative(DOMAIN, f), f] as const))(
    '%s imports only domain/ and ../events/catalogue, and reads no clock or randomness',
    (_, file) => {
      expect(violations(file, readFileSync(file, 'utf8'))).toEqual([]);
    },
  );
});

describe('the purity check itself', () => {
  const file = path.join(DOMAIN, 'example.ts');

  it.each([
    ["import { Entity } from '@mikro-orm/core';", 'imports package "@mikro-orm/core"'],
    ["import type { X } from '../projections/x';", 'imports "../projections/x" from outside domain/'],
    ["export * from '../schema/types';", 'imports "../schema/types" from outside domain/'],
    ["const db = require('../src/db');", 'imports "../src/db" from outside domain/'],
    ["import 'reflect-metadata';", 'imports package "reflect-metadata"'],
    ['const at = new Date();', 'uses new Date() without arguments'],
    ['const at = new Date;', 'uses new Date() without arguments'],
    ['const t = Date.now();', 'uses Date.now'],
    ['const r = Math.random();', 'uses Math.random'],
    ["import { randomUUID } from 'node:crypto';", 'uses randomUUID'],
  ])('catches %s', (source, expected) => {
    expect(violations(file, source)).toContain(expected);
  });

  it.each([
    "import type { Instant } from '../events/catalogue';",
    "import { rejected } from './errors';",
    'const t = new Date(at).getTime();',
    'return new Date(ms(startsOn) - 21 * DAY).toISOString();',
  ])('lets %s through', (source) => {
    expect(violations(file, source)).toEqual([]);
  });
});
