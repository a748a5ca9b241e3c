import type { MikroORM } from '@mikro-orm/postgresql';

/**
 * The DATABASE_URL an ORM was opened with (src/database.ts ormOptions), for the connections opened
 * beside its pool (a rebuild's, the log follower's LISTEN, the shared rate limits'): the whole URL, so
 * they connect exactly as the pool does (sslmode, a Unix socket's directory, application_name...).
 */
export function databaseUrlOf(orm: MikroORM): string {
  const driver = orm.config.get('driverOptions') as { connection?: { connectionString?: unknown } } | undefined;
  const given = driver?.connection?.connectionString;
  return typeof given === 'string' ? given : String(orm.config.get('clientUrl'));
}
