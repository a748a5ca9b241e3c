import type { Client } from 'pg';
import type { DomainEvent } from '../../events/catalogue';
import { EventStore, type AppendFold, type AppendRequest } from '../../events/store';
import { ALL_READ_MODELS } from '../../projections/models';
import { documentsTouched, evolveDocuments, loadQuery, loadedDocuments, writeCtes } from '../../projections/persist';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { pgSql } from '../support/pgSql';

/*
 * Probe (passes on main; evidence of what the review checked): an organisation's first two appends race
 * for its head row (the second waits on the first's speculative insert, then takes the ON CONFLICT DO
 * UPDATE path). Both touch the same read-model document (the unit's effort tally for the quarter); the
 * second's statement snapshot predates the first's commit, its `seen` is null, so it reads the document
 * again under the lock and the tally counts both.
 */

const store = new EventStore();
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('probefirst');
});
afterAll(() => db.drop());

/** What src/ledger.ts folds with (READ_MODEL_FOLD is not exported). */
const FOLD: AppendFold = {
  load(pending) {
    const first = pending[0];
    return first === undefined ? null : loadQuery(first.metadata.organisationId, documentsTouched(pending, ALL_READ_MODELS));
  },
  write(recorded, loaded) {
    const first = recorded[0];
    if (first === undefined) return { ctes: [], params: [] };
    const docs = loadedDocuments(loaded as { m: string; d: Record<string, unknown> }[], ALL_READ_MODELS);
    return writeCtes(first.metadata.organisationId, evolveDocuments(recorded, docs, ALL_READ_MODELS));
  },
};

const effort = (days: number): DomainEvent => ({
  type: 'ProcessEffortLogged',
  data: { unitId: 'u1', quarterId: 'Q', activity: 'SETTING', personDays: days, note: null, occurredOn: '2027-01-01T00:00:00.000Z' },
});

const request = (org: string, streamId: string, events: DomainEvent[]): AppendRequest => ({
  organisationId: org,
  streamId,
  streamType: 'unit',
  expectedVersion: 0,
  events,
  metadata: { actor: 'tester', correlationId: 'c', causationId: 'k', idempotencyKey: null },
  recordedAt: new Date('2027-01-01T00:00:00Z'),
  fold: FOLD,
});

async function inTx<T>(c: Client, work: () => Promise<T>): Promise<T> {
  await c.query('BEGIN');
  try {
    const r = await work();
    await c.query('COMMIT');
    return r;
  } catch (e) {
    await c.query('ROLLBACK');
    throw e;
  }
}

async function waiting(n: number): Promise<void> {
  for (let i = 0; i < 500; i += 1) {
    const rows = await db.sql.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
    if (Number(rows[0]?.n) >= n) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('nobody waited');
}

it('two racing first appends of an organisation both count in a document they share', async () => {
  const org = 'org-first-race';
  const [blocker, a, b] = [await db.client(), await db.client(), await db.client()];
  await blocker.query('BEGIN');
  await blocker.query('LOCK TABLE okr_tree_nodes IN SHARE MODE'); // holds the first append before its second statement
  const first = inTx(a, () => store.append(pgSql(a), request(org, 'unit-a', [effort(1), effort(2)])));
  await waiting(1);
  const second = inTx(b, () => store.append(pgSql(b), request(org, 'unit-b', [effort(4)])));
  await waiting(2); // the second waits on the first's head row
  await blocker.query('COMMIT');
  await Promise.all([first, second]);
  const [row] = await db.sql.query<{ setting_days: number }>('SELECT setting_days FROM okr_effort WHERE organisation_id = ?', [org]);
  expect(row?.setting_days).toBe(7);
  const versions = await db.sql.query<{ valid_from: string; valid_to: string | null; setting_days: number }>(
    'SELECT valid_from, valid_to, setting_days FROM okr_effort_history WHERE organisation_id = ? ORDER BY valid_from', [org]);
  expect(versions).toEqual([
    { valid_from: '1', valid_to: '2', setting_days: 1 },
    { valid_from: '2', valid_to: '3', setting_days: 3 },
    { valid_from: '3', valid_to: null, setting_days: 7 },
  ]);
});
