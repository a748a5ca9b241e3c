import type { MikroORM } from '@mikro-orm/postgresql';
import { openDatabase, sqlOf } from '../src/database';
import { databaseUrlOf } from '../src/databaseUrl';
import { rebuildProjections } from '../src/rebuild';
import { createTestDatabase, type TestDatabase } from './support/database';

/*
 * DATABASE_URL means what libpq would make of it. MikroORM reads host, port, user, password and database
 * from a URL and dropped the rest: `?sslmode=require` connected without TLS, `?application_name=` was
 * lost, and a URL naming its host in the query (a Unix socket's directory) would not parse at all.
 */

let db: TestDatabase;
const opened: MikroORM[] = [];

beforeAll(async () => {
  db = await createTestDatabase('databaseurl');
});

afterAll(async () => {
  await Promise.all(opened.map((orm) => orm.close(true)));
  await db.drop();
});

const withParams = (url: string, params: Record<string, string>): string => {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.toString();
};

async function open(url: string, statementTimeoutMs?: number): Promise<MikroORM> {
  const orm = await openDatabase(url, {}, { statementTimeoutMs });
  opened.push(orm);
  return orm;
}

const session = (orm: MikroORM) =>
  sqlOf(orm.em.fork()).query<{ app: string; timeout: string; ssl: boolean | null; db: string }>(
    `SELECT current_setting('application_name') AS app, current_setting('statement_timeout') AS timeout,
            (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl, current_database() AS db`,
  );

describe('DATABASE_URL', () => {
  it('reaches the server whole: parameters of the URL hold on the pool\'s connections, with the statement timeout', async () => {
    const orm = await open(withParams(db.url, { application_name: 'okr-url-test' }), 4321);
    const [row] = await session(orm);
    expect(row).toMatchObject({ app: 'okr-url-test', timeout: '4321ms' });
    // The connections opened beside the pool (a rebuild's, the follower's) get the same URL.
    expect(databaseUrlOf(orm)).toContain('application_name=okr-url-test');
    await expect(rebuildProjections(orm)).resolves.toMatchObject({ events: 0 });
  });

  it('never connects without TLS when the URL requires it', async () => {
    let connected: { ssl: boolean | null } | undefined;
    let refusal: unknown = null;
    try {
      [connected] = await session(await open(withParams(db.url, { sslmode: 'require' })));
    } catch (error) {
      refusal = error;
    }
    // The test servers have no TLS: refused. A server with TLS would have to give an encrypted session.
    if (refusal === null) expect(connected?.ssl).toBe(true);
    else expect(String((refusal as Error).message)).toMatch(/SSL/);
  });

  it('takes a URL with no host before its path, the host given as a parameter (how a Unix socket\'s directory is named)', async () => {
    const u = new URL(db.url);
    const user = u.username === '' ? '' : `${u.username}${u.password === '' ? '' : `:${u.password}`}@`;
    const hostless = `postgresql://${user}${u.pathname}?host=${encodeURIComponent(u.hostname)}&port=${u.port || '5432'}`;
    // (With a user and no host, WHATWG's URL parser, which MikroORM uses, refuses it: `Invalid URL`.)
    const orm = await open(hostless);
    const [row] = await session(orm);
    expect(row?.db).toBe(u.pathname.slice(1));
  });
});
