import { createHash } from 'node:crypto';
import type { ClientBase } from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Sql } from '../events/sql';

/*
 * Statements on plain pg connections, for the paths where a request's time is mostly round trips: the
 * command path (src/ledger.ts) and the request's reads (projections/tables.ts). Every statement is
 * prepared once per connection (PostgreSQL parses and plans it once, then reuses it). The connections
 * are MikroORM's pool's (their settings, statement_timeout included), taken without its query layer.
 */

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

/** Statement texts, numbered and named once. Bounded: past it, statements are sent unnamed. */
const statements = new Map<string, { text: string; name: string }>();
const STATEMENTS_MAX = 2000;

function statementOf(text: string): { text: string; name: string } {
  let statement = statements.get(text);
  if (statement === undefined) {
    statement = { text: numberedPlaceholders(text), name: `okr_${createHash('sha1').update(text).digest('hex').slice(0, 24)}` };
    if (statements.size < STATEMENTS_MAX) statements.set(text, statement);
    else statement = { text: statement.text, name: '' };
  }
  return statement;
}

/** Runs one statement on a connection: prepared (named) unless `prepare` is false. */
async function run<T>(connection: ClientBase, text: string, params: readonly unknown[], prepare = true): Promise<T[]> {
  const statement = statementOf(text);
  const config = prepare && statement.name !== '' ? { name: statement.name, text: statement.text, values: [...params] } : { text: statement.text, values: [...params] };
  return (await connection.query(config)).rows as T[];
}

/** The store's view of a plain pg connection (a rebuild's own connections); statements not prepared. */
export function sqlOfClient(client: ClientBase): Sql {
  return { query: <T>(text: string, params: readonly unknown[] = []) => run<T>(client, text, params, false) };
}

interface PoolClient {
  acquireConnection(): Promise<ClientBase>;
  releaseConnection(connection: ClientBase): Promise<void> | void;
}

/** Statements outside transactions, and transactions on one connection. */
export interface Connections {
  /** Each statement on a connection of the pool, outside any transaction. */
  sql: Sql;
  /** `work` in one transaction (BEGIN, its statements, COMMIT; ROLLBACK when it throws). */
  transaction<T>(work: (sql: Sql) => Promise<T>): Promise<T>;
}

const byOrm = new WeakMap<MikroORM, Connections>();
const observers = new WeakMap<MikroORM, Set<(text: string) => void>>();

/**
 * Calls `observe` with the text of every statement sent through connectionsOf(orm) (tests and the bench
 * count a command's statements with it); returns a function that stops it.
 */
export function observeStatements(orm: MikroORM, observe: (text: string) => void): () => void {
  let set = observers.get(orm);
  if (set === undefined) observers.set(orm, (set = new Set()));
  set.add(observe);
  return () => set?.delete(observe);
}

/** The connections of `orm`'s pool, without its query layer (one object per ORM). */
export function connectionsOf(orm: MikroORM): Connections {
  const known = byOrm.get(orm);
  if (known !== undefined) return known;
  const pool = orm.em.getConnection().getKnex().client as unknown as PoolClient;
  const observed = (text: string): void => {
    const set = observers.get(orm);
    if (set !== undefined) for (const observe of set) observe(text);
  };
  const on = (connection: ClientBase): Sql => ({
    query: <T>(text: string, params: readonly unknown[] = []) => {
      observed(text);
      return run<T>(connection, text, params);
    },
  });
  const connections: Connections = {
    sql: {
      query: async <T>(text: string, params: readonly unknown[] = []) => {
        const connection = await pool.acquireConnection();
        try {
          return await on(connection).query<T>(text, params);
        } finally {
          await pool.releaseConnection(connection);
        }
      },
    },
    async transaction<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
      const connection = await pool.acquireConnection();
      const sql = on(connection);
      try {
        await sql.query('BEGIN');
        let result: T;
        try {
          result = await work(sql);
        } catch (error) {
          await sql.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
        await sql.query('COMMIT');
        return result;
      } finally {
        await pool.releaseConnection(connection);
      }
    },
  };
  byOrm.set(orm, connections);
  return connections;
}

/** Reads on the pool's connections (see connectionsOf). */
export const pooledSql = (orm: MikroORM): Sql => connectionsOf(orm).sql;
