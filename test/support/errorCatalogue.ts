import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DomainError, notFound } from '../../domain/errors';
import { finiteNumber, instant, optionalText, requiredText } from '../../domain/validate';

/*
 * Every error code and reason the server's code can produce, read from the source itself, so that
 * README's error table can be checked against it. Reasons are found where they are made:
 *   rejected('X', ...) and forbidden('X', ...)          BAD_USER_INPUT / FORBIDDEN
 *   new DomainError('CODE', 'X', ...)                   CODE
 *   notFound('what', ...)                              NOT_FOUND, WHAT_NOT_FOUND (by calling notFound)
 *   requiredText('field', ...), optionalText, finiteNumber, instant: the field's reasons, found by
 *     calling the real validator with input it refuses
 *   extensions: { code: 'CODE', reason: 'X' }          CODE
 *   a parameter `reason: XReason`, where `type XReason = 'A' | 'B'` is declared in the same file, passed to
 *     rejected(reason, ...) or to `code: 'CODE', reason`   BAD_USER_INPUT or CODE, for each literal
 * and codes from `code: 'X'`, `code = ... ? 'X' : 'Y'`, schema/errors.ts's ErrorCode and REQUEST_CODES,
 * and domain/errors.ts's DomainErrorCode. A reason built at run time anywhere else cannot be listed,
 * so it is reported as `unlisted` for the test to fail on.
 */

export const ROOT = path.resolve(__dirname, '../..');
const LAYERS = ['src', 'domain', 'events', 'projections', 'schema'];

export interface ErrorCatalogue {
  codes: Set<string>;
  /** reason -> the codes it comes with */
  reasons: Map<string, Set<string>>;
  /** Places that build a reason the catalogue cannot see (a variable or template literal). */
  unlisted: string[];
}

function sourceFiles(): { file: string; text: string }[] {
  return LAYERS.flatMap((layer) =>
    readdirSync(path.join(ROOT, layer), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => path.join(layer, f))
      .map((file) => ({ file, text: readFileSync(path.join(ROOT, file), 'utf8') })),
  );
}

const reasonOf = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return error.reason;
  }
  throw new Error('the validator accepted input it should refuse');
};

/** What each validator can refuse a field for, by calling it with refused input. */
const VALIDATORS: Record<string, (field: string) => string[]> = {
  requiredText: (f) => [
    reasonOf(() => requiredText(f, ' ', 10)),
    reasonOf(() => requiredText(f, 'too long', 1)),
    reasonOf(() => requiredText(f, '\u0000', 10)),
  ],
  optionalText: (f) => [reasonOf(() => optionalText(f, 'too long', 1)), reasonOf(() => optionalText(f, '\u0000', 10))],
  finiteNumber: (f) => [reasonOf(() => finiteNumber(f, Number.NaN)), reasonOf(() => finiteNumber(f, 1e300))],
  instant: (f) => [reasonOf(() => instant(f, 'not an instant')), reasonOf(() => instant(f, '+010000-01-01T00:00:00Z'))],
};

const UPPER = /'([A-Z][A-Z0-9_]+)'/g;
const lineOf = (text: string, index: number) => text.slice(0, index).split('\n').length;

export function collectErrorCatalogue(): ErrorCatalogue {
  const codes = new Set<string>();
  const reasons = new Map<string, Set<string>>();
  const unlisted: string[] = [];
  const add = (reason: string, code: string) => {
    codes.add(code);
    reasons.set(reason, (reasons.get(reason) ?? new Set()).add(code));
  };

  for (const { file, text } of sourceFiles()) {
    const at = (index: number) => `${file}:${lineOf(text, index)}`;
    for (const m of text.matchAll(/\b(rejected|forbidden)\(\s*(?:'([A-Z0-9_]+)'|([^'\s][^,]*)),/g)) {
      const code = m[1] === 'rejected' ? 'BAD_USER_INPUT' : 'FORBIDDEN';
      if (m[2]) add(m[2], code);
      else if (m[3]?.trim() === 'reason' && /\breason: \w+Reason\b/.test(text)) continue; // typed by a literal union: read below
      else if (file !== path.join('domain', 'validate.ts')) unlisted.push(`${at(m.index)}: ${m[1]}(${m[3]}, ...)`);
    }
    for (const m of text.matchAll(/new DomainError\(\s*(?:'([A-Z_]+)'\s*,\s*'([A-Z0-9_]+)'|([^)]*))/g)) {
      if (m[1] && m[2]) add(m[2], m[1]);
      else if (file !== path.join('domain', 'errors.ts')) unlisted.push(`${at(m.index)}: new DomainError(${m[3]?.slice(0, 40)})`);
    }
    for (const m of text.matchAll(/\bnotFound\(\s*(?:'([a-z ]+)'|([^,]*)),/g)) {
      if (m[1]) add(notFound(m[1], 'x').reason, 'NOT_FOUND');
      else unlisted.push(`${at(m.index)}: notFound(${m[2]}, ...)`);
    }
    // The validators of domain/validate.ts, where they are in scope (domain/, or imported from it).
    const validators = file.startsWith('domain') || /from '(\.\.\/)+domain(\/validate)?'/.test(text);
    for (const m of validators ? text.matchAll(/\b(requiredText|optionalText|finiteNumber|instant)\(\s*(?:'([A-Za-z]+)'|([^,]*)),/g) : []) {
      const validator = VALIDATORS[m[1] as string] as (field: string) => string[];
      if (m[2]) for (const reason of validator(m[2])) add(reason, 'BAD_USER_INPUT');
      else if (!/^\s*field\b/.test(m[3] ?? '')) unlisted.push(`${at(m.index)}: ${m[1]}(${m[3]}, ...)`);
    }
    for (const m of text.matchAll(/code:\s*'([A-Z_]+)'\s*,\s*reason:\s*(?:'([A-Z0-9_]+)'|([^,}\s]+))/g)) {
      if (m[2]) add(m[2], m[1] as string);
      else unlisted.push(`${at(m.index)}: reason ${m[3]}`);
    }
    // A reason passed in as a parameter typed by a union of literals declared in the same file
    // (`type SettingWindowReason = 'A' | 'B'`): every literal, with the code the file gives it to.
    for (const m of text.matchAll(/\btype (\w+Reason) =([^;]*);/g)) {
      const literals = [...(m[2] as string).matchAll(UPPER)].map((l) => l[1] as string);
      const code = /\brejected\(\s*reason\b/.test(text)
        ? 'BAD_USER_INPUT'
        : /code:\s*'([A-Z_]+)'\s*,\s*reason(?=\s*[,}])/.exec(text)?.[1];
      if (code && literals.length > 0) for (const literal of literals) add(literal, code);
      else unlisted.push(`${at(m.index)}: type ${m[1]} (no code found for it)`);
    }
    for (const m of text.matchAll(/\bcode:\s*'([A-Z_]+)'/g)) codes.add(m[1] as string);
    // `const code = cond ? 'A' : 'B';`: every literal assigned (not compared).
    for (const m of text.matchAll(/\bcode\s*=(?!=)([^;]*);/g)) {
      const assigned = m[1] as string;
      for (const literal of assigned.matchAll(UPPER)) {
        if (!/(===|!==)\s*$/.test(assigned.slice(0, literal.index))) codes.add(literal[1] as string);
      }
    }
  }

  const errorsTs = readFileSync(path.join(ROOT, 'schema/errors.ts'), 'utf8');
  const domainErrorsTs = readFileSync(path.join(ROOT, 'domain/errors.ts'), 'utf8');
  const blocks = [
    /export type ErrorCode =([^;]*);/.exec(errorsTs)?.[1],
    /const REQUEST_CODES = new Set\(\[([^\]]*)\]/.exec(errorsTs)?.[1],
    /export type DomainErrorCode =([^;]*);/.exec(domainErrorsTs)?.[1],
  ];
  if (blocks.some((b) => b === undefined)) throw new Error('errorCatalogue: ErrorCode, REQUEST_CODES or DomainErrorCode not found');
  for (const block of blocks) for (const m of (block as string).matchAll(UPPER)) codes.add(m[1] as string);
  return { codes, reasons, unlisted };
}

/** README's "### Errors" table: code -> every backticked reason in that code's rows. */
export function readmeErrorTable(readme: string): Map<string, Set<string>> {
  const section = /^### Errors\n([\s\S]*?)(?=^#{2,3} )/m.exec(readme)?.[1];
  if (section === undefined) throw new Error('README has no "### Errors" section');
  const table = new Map<string, Set<string>>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const code = /^`([A-Z_]+)`$/.exec(cells[1] ?? '')?.[1];
    if (!line.startsWith('|') || code === undefined) continue;
    const listed = table.get(code) ?? new Set<string>();
    for (const m of (cells[3] ?? '').matchAll(/`([A-Z0-9_]+)`/g)) listed.add(m[1] as string);
    table.set(code, listed);
  }
  return table;
}
