import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { verifyLog } from '../../events/audit';
import type { CheckpointKeys } from '../../src/checkpointKeys';
import { openDatabase, ormOptions, sqlOf } from '../../src/database';
import type { Sql } from '../../events/sql';

/** The server's admin database, where test databases are created and dropped. */
export function adminUrl(): string {
  const url = process.env.TEST_ADMIN_DATABASE_URL;
  if (!url) throw new Error('TEST_ADMIN_DATABASE_URL is not set: run the tests through jest (see jest.config.js).');
  return url;
}

export interface TestDatabase {
  url: string;
  orm: MikroORM;
  sql: Sql;
  /** A plain pg client on the same database, for statements outside the application's path. */
  client(): Promise<Client>;
  drop(): Promise<void>;
}

/** A fresh, migrated database of its own for one test file. */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `okr_t_${label.replace(/[^a-z0-9]/gi, '').toLowerCase().slice(0, 20)}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  const orm = await openDatabase(url.toString());
  const clients: Client[] = [];
  return {
    url: url.toString(),
    orm,
    sql: sqlOf(orm.em.fork()),
    async client() {
      const c = new Client({ connectionString: url.toString() });
      await c.connect();
      clients.push(c);
      return c;
    },
    async drop() {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
      await orm.close(true);
      const a = new Client({ connectionString: adminUrl() });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

/** Every event in the database, of every organisation: what tests compare to see that nothing was appended. */
export async function totalEvents(sql: Sql): Promise<number> {
  const rows = await sql.query<{ n: string }>('SELECT count(*) AS n FROM okr_events');
  return Number(rows[0]?.n ?? 0);
}

/**
 * Every organisation's log recomputed in full (events/audit.ts verifyLog) against the checkpoints the
 * server signed with `keys`: ok only when each matches.
 * eventsChecked adds them up; the first failing organisation's position and reason are reported.
 */
export async function verifyEveryLog(
  sql: Sql,
  keys: CheckpointKeys,
): Promise<{ ok: boolean; eventsChecked: number; firstBrokenPosition: number | null; reason: string | null }> {
  const heads = await sql.query<{ organisation_id: string }>('SELECT organisation_id FROM okr_log_heads ORDER BY organisation_id');
  let eventsChecked = 0;
  for (const { organisation_id: org } of heads) {
    const result = await verifyLog(sql, org, { full: true, signing: keys.signing });
    eventsChecked += result.eventsChecked;
    if (!result.ok) return { ok: false, eventsChecked, firstBrokenPosition: result.firstBrokenPosition, reason: `${org}: ${result.reason}` };
  }
  return { ok: true, eventsChecked, firstBrokenPosition: null, reason: null };
}

/** Runs `work` on a plain pg client of `url`, closed afterwards. */
export async function withClient<T>(url: string, work: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: url });
  await c.connect();
  return work(c).finally(() => c.end());
}

/**
 * A database at an older schema, for the migration tests: made on the test server (its name added to
 * `created` at once, for dropDatabases), then migrated by the application's own migrator up to
 * `migration` and no further. The ORM on it is the caller's to close.
 */
export async function databaseAtMigration(
  label: string,
  migration: string,
  created: string[],
  overrides: Partial<Options> = {},
): Promise<{ url: string; orm: MikroORM }> {
  const name = `okr_t_${label}_${randomBytes(4).toString('hex')}`;
  await withClient(adminUrl(), (c) => c.query(`CREATE DATABASE ${name}`));
  created.push(name);
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  const orm = await MikroORM.init(ormOptions(url.toString(), overrides));
  await orm.getMigrator().up({ to: migration });
  return { url: url.toString(), orm };
}

/** Drops the databases databaseAtMigration made, whoever is still connected. */
export async function dropDatabases(names: readonly string[]): Promise<void> {
  await withClient(adminUrl(), async (c) => {
    for (const name of names) await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });
}
