import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { migrations } from './migrations';
import { sqlOf } from '../projections/sql';
import { rebuildProjections } from './rebuild';

/**
 * Whether MikroORM's own parsing (WHATWG's URL) finds a host in the URL: not in a Unix-socket URL such as
 * `postgresql://okr@/okr?host=/var/run/postgresql`, which it refuses or reads as no host.
 */
function namesHost(url: string): boolean {
  try {
    return new URL(url).hostname !== '';
  } catch {
    return false;
  }
}

export function ormOptions(url: string, overrides: Partial<Options> = {}): Options {
  const { driverOptions, ...rest } = overrides;
  const driver = (driverOptions ?? {}) as { connection?: Record<string, unknown> };
  return {
    // MikroORM reads host, port, user, password and database from a URL and drops the rest (sslmode,
    // host=/socket/dir, application_name, options...). node-postgres parses the whole URL as libpq does,
    // and what it finds there wins over MikroORM's fields: DATABASE_URL means what it says.
    ...(namesHost(url) ? { clientUrl: url } : { dbName: databaseNameOf(url) }),
    driverOptions: { ...driver, connection: { ...driver.connection, connectionString: url } },
    // No entities: every statement is written by hand, and the read models' tables come from their
    // declarations (projections/models/), which test/schema.int.test.ts checks the migrations against.
    entities: [],
    extensions: [Migrator],
    migrations: { migrationsList: migrations, transactional: true, allOrNothing: true, snapshot: false },
    discovery: { disableDynamicFileAccess: true, requireEntitiesArray: true, warnWhenNoEntities: false },
    pool: { min: 0, max: 20 },
    allowGlobalContext: false,
    debug: false,
    // Migrations report through our logs, not MikroORM's console logger.
    logger: () => undefined,
    ...rest,
  };
}

/** The database a URL names (its path), for MikroORM when it cannot parse the URL itself. */
function databaseNameOf(url: string): string {
  const path = /^[a-z]+:\/\/[^/?]*\/([^?]*)/i.exec(url)?.[1] ?? '';
  return decodeURIComponent(path);
}

export interface DatabaseOptions {
  /**
   * Longest a single statement may run on the pool's connections, in ms (PostgreSQL statement_timeout);
   * unset or 0: no limit. The server sets it (OKR_STATEMENT_TIMEOUT_MS); the command line does not, so
   * a rebuild or an export is never cut short. Migrations always run without it.
   */
  statementTimeoutMs?: number;
}

/** Connects and brings the schema up to date (migrations are idempotent and transactional). */
export async function openDatabase(url: string, overrides: Partial<Options> = {}, options: DatabaseOptions = {}): Promise<MikroORM> {
  const timeout = options.statementTimeoutMs ?? 0;
  if (timeout <= 0) {
    const orm = await MikroORM.init(ormOptions(url, overrides));
    await orm.getMigrator().up();
    await rebuildIfPending(orm);
    return orm;
  }
  // Migrations first, on their own connection without the timeout: a long one must not be cut halfway.
  const migrating = await MikroORM.init(ormOptions(url, { ...overrides, pool: { min: 0, max: 1 } }));
  try {
    await migrating.getMigrator().up();
    await rebuildIfPending(migrating);
  } finally {
    await migrating.close(true);
  }
  // pg sends statement_timeout as a startup parameter of every connection the pool opens.
  const driver = (overrides.driverOptions ?? {}) as { connection?: Record<string, unknown> };
  return MikroORM.init(
    ormOptions(url, { ...overrides, driverOptions: { ...driver, connection: { ...driver.connection, statement_timeout: timeout } } }),
  );
}

/**
 * Runs the rebuild a migration asked for (okr_pending_rebuilds: it changed what the read models hold, and
 * only the log can fill them), before the application serves anything. Several servers starting at once
 * rebuild one after another; the record is cleared in the rebuild's own transaction, so a crash leaves it.
 */
async function rebuildIfPending(orm: MikroORM): Promise<void> {
  const pending = () => sqlOf(orm.em.fork()).query<{ reason: string }>('SELECT reason FROM okr_pending_rebuilds');
  if ((await pending()).length === 0) return;
  await rebuildProjections(orm, {
    onlyIf: async (sql) => (await sql.query('SELECT 1 FROM okr_pending_rebuilds LIMIT 1')).length > 0,
    beforeCommit: async (sql) => {
      await sql.query('DELETE FROM okr_pending_rebuilds');
    },
  });
}

export { inSnapshot, sqlOf } from '../projections/sql';
