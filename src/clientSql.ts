import type { ClientBase } from 'pg';
import type { Sql } from '../events/sql';

/**
 * `?` placeholders as PostgreSQL's `$1, $2, ...`, leaving quoted strings and identifiers alone (the
 * statements of events/ and projections/ are written with `?`, as MikroORM's connection takes them).
 */
export function numberedPlaceholders(text: string): string {
  let out = '';
  let n = 0;
  let quote: string | null = null;
  for (const ch of text) {
    if (quote !== null) {
      if (ch === quote) quote = null;
      out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else if (ch === '?') {
      n += 1;
      out += `$${n}`;
    } else {
      out += ch;
    }
  }
  return out;
}

/** The store's view of a plain pg connection (a rebuild's own connections). */
export function sqlOfClient(client: ClientBase): Sql {
  const texts = new Map<string, string>();
  return {
    query: async <T>(text: string, params: readonly unknown[] = []) => {
      let numbered = texts.get(text);
      if (numbered === undefined) {
        numbered = numberedPlaceholders(text);
        if (texts.size < 100) texts.set(text, numbered);
      }
      return (await client.query(numbered, [...params])).rows as T[];
    },
  };
}
