import type { Client } from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { openDatabase, sqlOf } from '../../src/database';
import { createServer, type OkrServer } from '../../src/server';
import { createTestDatabase, totalEvents, type TestDatabase } from '../support/database';

/**
 * Every statement of a request runs under PostgreSQL's statement_timeout (OKR_STATEMENT_TIMEOUT_MS): a
 * statement held up past it is cancelled, answered TIMEOUT / STATEMENT_TIMEOUT, and changes nothing.
 * The command line opens the database without the timeout, so its long operations are never cut.
 * Statements are held up by a lock another session keeps, as a long scan or a stuck rebuild would.
 */
const TIMEOUT_MS = 700;
let db: TestDatabase;
let orm: MikroORM;
let server: OkrServer;
let url: string;
let locker: Client;

async function gql(query: string, variables?: Record<string, unknown>): Promise<any> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  return { status: res.status, ...((await res.json()) as Record<string, unknown>) };
}

const REGISTER = `mutation($i: RegisterUnitInput!) { registerUnit(input: $i) { id name } }`;
const eventCount = () => totalEvents(db.sql);

beforeAll(async () => {
  db = await createTestDatabase('stmttimeout');
  orm = await openDatabase(db.url, {}, { statementTimeoutMs: TIMEOUT_MS });
  server = await createServer({ orm, organisationId: 'org-t', actor: 'alice' });
  url = await server.listen(0, '127.0.0.1');
  locker = await db.client();
  expect((await gql(REGISTER, { i: { name: 'Acme', level: 'COMPANY' } })).errors).toBeUndefined();
});
afterAll(async () => {
  await server?.close();
  await orm?.close(true);
  await db?.drop();
});

/** Runs `during` while another session holds `table` locked against everything, then releases it. */
async function whileLocked<T>(table: string, during: () => Promise<T>): Promise<T> {
  await locker.query('BEGIN');
  await locker.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  try {
    return await during();
  } finally {
    await locker.query('ROLLBACK');
  }
}

it("sets the timeout on the server's connections only", async () => {
  expect((await sqlOf(orm.em.fork()).query<{ statement_timeout: string }>('SHOW statement_timeout'))[0]?.statement_timeout).toBe(`${TIMEOUT_MS}ms`);
  // openDatabase without the option, as the command line calls it: no timeout.
  expect((await db.sql.query<{ statement_timeout: string }>('SHOW statement_timeout'))[0]?.statement_timeout).toBe('0');
  await expect(db.sql.query('SELECT pg_sleep(?)', [(TIMEOUT_MS * 2) / 1000])).resolves.toBeDefined();
  await expect(sqlOf(orm.em.fork()).query('SELECT pg_sleep(?)', [(TIMEOUT_MS * 2) / 1000])).rejects.toMatchObject({ code: '57014' });
});

it('answers a read held up past the timeout with TIMEOUT / STATEMENT_TIMEOUT, and the next one normally', async () => {
  const res = await whileLocked('okr_units', () => gql('{ units { id name } }'));
  expect(res.errors).toHaveLength(1);
  expect(res.errors[0].extensions).toEqual({ code: 'TIMEOUT', reason: 'STATEMENT_TIMEOUT' });
  expect(res.errors[0].message).toMatch(/took longer than the server allows.*nothing was changed/);
  expect(JSON.stringify(res)).not.toMatch(/canceling statement|okr_units/);
  const after = await gql('{ units { name } }');
  expect(after).toMatchObject({ status: 200, data: { units: [{ name: 'Acme' }] } });
});

it('answers a command held up past the timeout with TIMEOUT and appends nothing; the retry then succeeds', async () => {
  const before = await eventCount();
  const input = { i: { name: 'Globex', level: 'COMPANY', idempotencyKey: 'timeout-1' } };
  const res = await whileLocked('okr_units', () => gql(REGISTER, input));
  expect(res.errors?.[0]?.extensions).toEqual({ code: 'TIMEOUT', reason: 'STATEMENT_TIMEOUT' });
  expect(await eventCount()).toBe(before);
  expect((await gql('{ units { name } }')).data.units.map((u: { name: string }) => u.name)).toEqual(['Acme']);
  const retry = await gql(REGISTER, input);
  expect(retry.errors).toBeUndefined();
  expect(retry.data.registerUnit.name).toBe('Globex');
  expect(await eventCount()).toBe(before + 1);
});
