import type { MikroORM } from '@mikro-orm/postgresql';
import { EventStore } from '../../events/store';
import { Commands } from '../../src/commands';
import { openDatabase } from '../../src/database';
import { Ledger, type Actor } from '../../src/ledger';
import { createTestDatabase, type TestDatabase } from '../support/database';

/*
 * Probes (these pass on main; kept as evidence of what the review checked): the ledger's hand-made
 * transactions on the pool's connections after a statement timeout, a terminated backend between the
 * append's statements, and a COMMIT that fails. In each case nothing of the command is left (no events,
 * no idempotency record, the head where it was), no pool connection is left inside a transaction, and
 * the next commands on the same pool work.
 */

const ORG = 'org-probe-conn';
const actor: Actor = { organisationId: ORG, actor: 'lead', correlationId: 'c' };
const now = new Date('2027-02-10T12:00:00Z');

let db: TestDatabase;
let orm: MikroORM;
let commands: Commands;
let keyResultId: string;
const store = new EventStore();

beforeAll(async () => {
  db = await createTestDatabase('probeconn');
  orm = await openDatabase(db.url, {}, { statementTimeoutMs: 400 });
  commands = new Commands(new Ledger(orm, () => now), actor);
  await commands.planQuarter({ quarterId: '2027-Q1', startsOn: '2027-01-01T00:00:00.000Z', endsOn: '2027-04-01T00:00:00.000Z' });
  const company = (await commands.registerUnit({ name: 'Co', level: 'COMPANY', parentId: null })).result.unitId;
  const objectiveId = (await commands.draftObjective({ unitId: company, quarterId: '2027-Q1', title: 'Faster' })).result.objectiveId;
  keyResultId = (await commands.defineKeyResult({ objectiveId, title: 'p99', metric: 'p99', baseline: 900, target: 300 })).result.keyResultId;
  await commands.commitObjective({ objectiveId });
}, 60_000);

afterAll(async () => {
  await orm?.close(true);
  await db?.drop();
});

async function leftovers(key: string): Promise<{ inTransaction: number; idempotency: number }> {
  const c = await db.client();
  const { rows: tx } = await c.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'`,
  );
  const { rows: idem } = await c.query('SELECT count(*)::int AS n FROM okr_idempotency WHERE key = $1', [key]);
  return { inTransaction: tx[0].n, idempotency: idem[0].n };
}

async function waitForLockWait(relation: string): Promise<number> {
  const c = await db.client();
  for (let i = 0; i < 400; i += 1) {
    const { rows } = await c.query(
      `SELECT l.pid FROM pg_locks l LEFT JOIN pg_class r ON r.oid = l.relation WHERE NOT l.granted AND (r.relname = $1 OR $1 = 'tuple')`,
      [relation],
    );
    if (rows[0]) return rows[0].pid as number;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`nothing waited on ${relation}`);
}

async function healthy(): Promise<void> {
  for (let i = 0; i < 25; i += 1) await commands.recordCheckIn({ keyResultId, confidence: 50 + i, value: 800 });
}

it('a statement timeout while the claim waits for the head row leaves nothing behind', async () => {
  const head = await store.headPosition(db.sql, ORG);
  const holder = await db.client();
  await holder.query('BEGIN');
  await holder.query('SELECT 1 FROM okr_log_heads WHERE organisation_id = $1 FOR UPDATE', [ORG]);
  const failed = commands.recordCheckIn({ keyResultId, confidence: 10, value: 1 }, { idempotencyKey: 'timeout-1' }).then(() => null, (e: unknown) => e);
  const error = (await failed) as { code?: string } | null;
  await holder.query('ROLLBACK');
  expect(error?.code).toBe('57014');
  expect(await store.headPosition(db.sql, ORG)).toBe(head);
  expect(await leftovers('timeout-1')).toEqual({ inTransaction: 0, idempotency: 0 });
  await healthy();
});

it('a backend terminated between the append\'s two statements leaves nothing behind', async () => {
  const head = await store.headPosition(db.sql, ORG);
  const blocker = await db.client();
  await blocker.query('SET statement_timeout = 0');
  await blocker.query('BEGIN');
  await blocker.query('LOCK TABLE okr_tree_nodes IN SHARE MODE');
  const failed = commands.recordCheckIn({ keyResultId, confidence: 11, value: 1 }, { idempotencyKey: 'killed-1' }).then(() => null, (e: unknown) => e);
  const pid = await waitForLockWait('okr_tree_nodes');
  const killer = await db.client();
  await killer.query('SELECT pg_terminate_backend($1)', [pid]);
  const error = await failed;
  await blocker.query('ROLLBACK');
  expect(error).not.toBeNull();
  expect(await store.headPosition(db.sql, ORG)).toBe(head);
  expect(await leftovers('killed-1')).toEqual({ inTransaction: 0, idempotency: 0 });
  await healthy();
});

it('a COMMIT that fails leaves nothing behind', async () => {
  const c = await db.client();
  await c.query(`CREATE TABLE probe_fail_commit (on_ boolean NOT NULL)`);
  await c.query(`INSERT INTO probe_fail_commit VALUES (true)`);
  await c.query(`CREATE FUNCTION probe_fail_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF (SELECT on_ FROM probe_fail_commit) THEN RAISE EXCEPTION 'probe: refused at commit'; END IF; RETURN NULL; END $$`);
  await c.query(`CREATE CONSTRAINT TRIGGER probe_fail_commit AFTER INSERT ON okr_events DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION probe_fail_commit()`);
  const head = await store.headPosition(db.sql, ORG);
  const error = await commands.recordCheckIn({ keyResultId, confidence: 12, value: 1 }, { idempotencyKey: 'commit-1' }).then(() => null, (e: unknown) => e);
  await c.query('UPDATE probe_fail_commit SET on_ = false');
  expect(String(error)).toMatch(/refused at commit/);
  expect(await store.headPosition(db.sql, ORG)).toBe(head);
  expect(await leftovers('commit-1')).toEqual({ inTransaction: 0, idempotency: 0 });
  await healthy();
  // The same key again now appends (nothing was recorded under it).
  const again = await commands.recordCheckIn({ keyResultId, confidence: 12, value: 1 }, { idempotencyKey: 'commit-1' });
  expect(again.replayed).toBe(false);
  expect(again.events).toHaveLength(1);
});
