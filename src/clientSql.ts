import { createHash } from 'node:crypto';
import type { ClientBase } from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
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

interface PoolClient {
  acquireConnection(): Promise<ClientBase>;
  releaseConnection(connection: ClientBase): Promise<void> | void;
}

/** Statement texts, numbered and named once (a bounded cache: the read path has a few dozen). */
const prepared = new Map<string, { text: string; name: string }>();
const PREPARED_MAX = 500;

/**
 * Reads on the connections of MikroORM's pool without its query layer, each statement prepared once per
 * connection (PostgreSQL parses and plans it once, then reuses it): the request path's reads, where a
 * GraphQL answer is a few single-index lookups and the layers around them cost more than the lookups.
 * Outside any transaction; writes go through the ledger.
 */
export function pooledSql(orm: MikroORM): Sql {
  const pool = orm.em.getConnection().getKnex().client as unknown as PoolClient;
  return {
    query: async <T>(text: string, params: readonly unknown[] = []) => {
      let statement = prepared.get(text);
      if (statement === undefined) {
        statement = { text: numberedPlaceholders(text), name: `okr_${createHash('sha1').update(text).digest('hex').slice(0, 20)}` };
        if (prepared.size < PREPARED_MAX) prepared.set(text, statement);
        else statement = { text: statement.text, name: '' };
      }
      const connection = await pool.acquireConnection();
      try {
        const result = await connection.query(statement.name === '' ? { text: statement.text, values: [...params] } : { name: statement.name, text: statement.text, values: [...params] });
        return result.rows as T[];
      } finally {
        await pool.releaseConnection(connection);
      }
    },
  };
}
