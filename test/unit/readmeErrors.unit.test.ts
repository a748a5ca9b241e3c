import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, collectErrorCatalogue, readmeErrorTable } from '../support/errorCatalogue';

/**
 * README's error table lists every code and reason the server can return. Why: reasons such as
 * CHECK_IN_IN_FUTURE, QUARTER_NOT_ENDED and PARENT_REQUIRED reached clients without being documented.
 */
const catalogue = collectErrorCatalogue();
const table = readmeErrorTable(readFileSync(path.join(ROOT, 'README.md'), 'utf8'));

describe("README's error table", () => {
  it('sees the reasons the code makes (the catalogue finds what it should)', () => {
    expect(catalogue.reasons.get('CHECK_IN_IN_FUTURE')).toEqual(new Set(['BAD_USER_INPUT']));
    expect(catalogue.reasons.get('NOT_YOUR_UNIT')).toEqual(new Set(['FORBIDDEN']));
    expect(catalogue.reasons.get('KEY_RESULT_NOT_FOUND')).toEqual(new Set(['NOT_FOUND']));
    expect(catalogue.reasons.get('IDEMPOTENCY_KEY_REUSED')).toEqual(new Set(['BAD_USER_INPUT']));
    expect(catalogue.reasons.get('WHAT_CHANGED_TOO_LONG')).toEqual(new Set(['BAD_USER_INPUT']));
    expect(catalogue.reasons.get('QUERY_TOO_DEEP')).toEqual(new Set(['GRAPHQL_VALIDATION_FAILED']));
    expect([...catalogue.codes]).toEqual(expect.arrayContaining(['UNAUTHENTICATED', 'PAYLOAD_TOO_LARGE', 'GRAPHQL_PARSE_FAILED', 'CONFLICT']));
  });

  it('can see every reason: none is built at run time where the catalogue cannot read it', () => {
    expect(catalogue.unlisted).toEqual([]);
  });

  it('has a row for every code the server returns', () => {
    expect([...catalogue.codes].filter((code) => !table.has(code)).sort()).toEqual([]);
  });

  it("lists every reason in a row of its code", () => {
    const missing = [...catalogue.reasons].flatMap(([reason, codes]) =>
      [...codes].filter((code) => !table.get(code)?.has(reason)).map((code) => `${code} ${reason}`),
    );
    expect(missing.sort()).toEqual([]);
  });

  it('lists nothing the code no longer returns', () => {
    const stale = [...table].flatMap(([code, reasons]) => [...reasons].filter((r) => !catalogue.reasons.get(r)?.has(code)).map((r) => `${code} ${r}`));
    expect(stale.sort()).toEqual([]);
  });
});
