import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { MikroORM } from '@mikro-orm/postgresql';
import { quarterDigest, verifyChain } from '../events/audit';
import { EventStore } from '../events/store';
import { Commands } from '../src/commands';
import { ormOptions, sqlOf } from '../src/database';
import { Ledger } from '../src/ledger';
import { runOkr } from './support/cli';
import { createTestDatabase, type TestDatabase } from './support/database';

/**
 * The tamper-evident log: a superuser can switch off the append-only trigger and edit history, but
 * the hash chain then shows exactly where; an auditor's quarter digest shows it without the database.
 */
const ORG = 'org-audit';
let db: TestDatabase;
let commands: Commands;
let now = new Date('2027-01-10T09:00:00Z');
let keyResultId = '';

beforeAll(async () => {
  db = await createTestDatabase('audit');
  commands = new Commands(new Ledger(db.orm, () => now), { organisationId: ORG, actor: 'auditor-test', correlationId: 'c' });
  const { result: company } = await commands.registerUnit({ name: 'Acme', level: 'COMPANY', parentId: null });
  await commands.planQuarter({ quarterId: '2027-Q1', startsOn: '2027-01-01T00:00:00Z', endsOn: '2027-04-01T00:00:00Z' });
  await commands.planQuarter({ quarterId: '2027-Q2', startsOn: '2027-04-01T00:00:00Z', endsOn: '2027-07-01T00:00:00Z' });
  const { result: objective } = await commands.draftObjective({ unitId: company.unitId, quarterId: '2027-Q1', title: 'Customers trust us' });
  const { result: kr } = await commands.defineKeyResult({
    objectiveId: objective.objectiveId, title: 'Reduce failed payments from 2% to 1%', metric: 'failed %', baseline: 2, target: 1,
  });
  keyResultId = kr.keyResultId;
  for (let i = 0; i < 5; i += 1) {
    now = new Date(now.getTime() + 86_400_000);
    await commands.recordCheckIn({ keyResultId, confidence: 50 + i, value: 2 - i * 0.1, whatChanged: `week ${i}, "quoted", ünïcødé` });
  }
});
afterAll(() => db.drop());

/** Runs statements as a superuser would: with the append-only trigger switched off. */
async function asSuperuser(statements: string[]): Promise<void> {
  const c = await db.client();
  await c.query('BEGIN');
  await c.query('ALTER TABLE okr_events DISABLE TRIGGER okr_events_append_only');
  for (const s of statements) await c.query(s);
  await c.query('ALTER TABLE okr_events ENABLE TRIGGER okr_events_append_only');
  await c.query('COMMIT');
}

const positionOf = async (type: string, nth = 0): Promise<number> => {
  const rows = await db.sql.query<{ position: string }>('SELECT position FROM okr_events WHERE type = ? ORDER BY position', [type]);
  return Number(rows[nth]?.position);
};

it('verifies an untouched log, every event checked', async () => {
  const head = await new EventStore().headPosition(db.sql);
  expect(await verifyChain(db.sql)).toEqual({ ok: true, eventsChecked: head, firstBrokenPosition: null, reason: null });
});

it('finds exactly the event whose data was edited behind the trigger, and only while it is edited', async () => {
  const target = await positionOf('CheckInRecorded', 2);
  const before = await quarterDigest(db.sql, ORG, '2027-Q1');
  await asSuperuser([`UPDATE okr_events SET data = jsonb_set(data, '{confidence}', '99') WHERE position = ${target}`]);
  const tampered = await verifyChain(db.sql);
  expect(tampered).toMatchObject({ ok: false, firstBrokenPosition: target, eventsChecked: target });
  expect(tampered.reason).toMatch(/does not match its hash/);
  expect((await quarterDigest(db.sql, ORG, '2027-Q1')).digest).not.toBe(before.digest);
  const original = 50 + 2;
  await asSuperuser([`UPDATE okr_events SET data = jsonb_set(data, '{confidence}', '${original}') WHERE position = ${target}`]);
  expect((await verifyChain(db.sql)).ok).toBe(true);
  expect(await quarterDigest(db.sql, ORG, '2027-Q1')).toEqual(before);
});

it('finds an edited actor in the metadata too', async () => {
  const target = await positionOf('KeyResultDefined');
  await asSuperuser([`UPDATE okr_events SET metadata = jsonb_set(metadata, '{actor}', '"mallory"') WHERE position = ${target}`]);
  expect(await verifyChain(db.sql)).toMatchObject({ ok: false, firstBrokenPosition: target });
  await asSuperuser([`UPDATE okr_events SET metadata = jsonb_set(metadata, '{actor}', '"auditor-test"') WHERE position = ${target}`]);
  expect((await verifyChain(db.sql)).ok).toBe(true);
});

it('finds an event filed under another quarter than its data names (the index the digest and asOf use)', async () => {
  const target = await positionOf('CheckInRecorded', 3);
  const before = await quarterDigest(db.sql, ORG, '2027-Q1');
  await asSuperuser([`UPDATE okr_events SET quarter_id = 'elsewhere' WHERE position = ${target}`]);
  expect(await verifyChain(db.sql)).toMatchObject({ ok: false, firstBrokenPosition: target, reason: expect.stringMatching(/another quarter or unit/) });
  await asSuperuser([`UPDATE okr_events SET quarter_id = '2027-Q1' WHERE position = ${target}`]);
  expect((await verifyChain(db.sql)).ok).toBe(true);
  expect(await quarterDigest(db.sql, ORG, '2027-Q1')).toEqual(before);
});

it('finds a removed event (a gap) and a removed tail (the head no longer matches)', async () => {
  const c = await db.client();
  const middle = await positionOf('CheckInRecorded', 1);
  const { rows } = await c.query(`SELECT * FROM okr_events WHERE position = ${middle}`);
  await asSuperuser([`DELETE FROM okr_events WHERE position = ${middle}`]);
  expect(await verifyChain(db.sql)).toMatchObject({ ok: false, firstBrokenPosition: middle, reason: expect.stringMatching(/missing/) });
  // put it back exactly as it was
  const r = rows[0];
  await c.query('BEGIN');
  await c.query(
    `INSERT INTO okr_events (position, organisation_id, stream_id, stream_version, type, schema_version, data, metadata, recorded_at, quarter_id, unit_id, hash)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)`,
    [r.position, r.organisation_id, r.stream_id, r.stream_version, r.type, r.schema_version, r.data, r.metadata, r.recorded_at, r.quarter_id, r.unit_id, r.hash],
  );
  await c.query('COMMIT');
  expect((await verifyChain(db.sql)).ok).toBe(true);

  const last = await new EventStore().headPosition(db.sql);
  await asSuperuser([`DELETE FROM okr_events WHERE position = ${last}`]);
  expect(await verifyChain(db.sql)).toMatchObject({ ok: false, firstBrokenPosition: last, reason: expect.stringMatching(/end/) });
});

describe('the quarter digest', () => {
  let other: TestDatabase;
  beforeAll(async () => {
    other = await createTestDatabase('digest');
  });
  afterAll(() => other.drop());

  it('is stable, ignores other quarters, and changes when the quarter gains an event', async () => {
    const c = new Commands(new Ledger(other.orm, () => new Date('2027-01-05T00:00:00Z')), { organisationId: ORG, actor: 'a', correlationId: 'c' });
    const { result: unit } = await c.registerUnit({ name: 'Acme', level: 'COMPANY', parentId: null });
    await c.planQuarter({ quarterId: '2027-Q1', startsOn: '2027-01-01T00:00:00Z', endsOn: '2027-04-01T00:00:00Z' });
    await c.planQuarter({ quarterId: '2027-Q2', startsOn: '2027-04-01T00:00:00Z', endsOn: '2027-07-01T00:00:00Z' });
    const first = await quarterDigest(other.sql, ORG, '2027-Q1');
    expect(first).toMatchObject({ organisationId: ORG, quarterId: '2027-Q1', events: 1 });
    expect(first.digest).toMatch(/^[0-9a-f]{64}$/);
    await c.draftObjective({ unitId: unit.unitId, quarterId: '2027-Q2', title: 'Next quarter' });
    expect(await quarterDigest(other.sql, ORG, '2027-Q1')).toEqual(first);
    await c.draftObjective({ unitId: unit.unitId, quarterId: '2027-Q1', title: 'This quarter' });
    const second = await quarterDigest(other.sql, ORG, '2027-Q1');
    expect(second.events).toBe(2);
    expect(second.digest).not.toBe(first.digest);
  });

  it('is printed by `audit digest`, which trims --organisation as every command does (export did, digest did not)', async () => {
    const expected = await quarterDigest(other.sql, ORG, '2027-Q1');
    const run = await runOkr(['audit', 'digest', '--quarter', '2027-Q1', '--organisation', ` ${ORG} `], { DATABASE_URL: other.url });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(JSON.parse(JSON.stringify(expected)));
  }, 120_000);
});

it('chains the events recorded before the hash-chain migration', async () => {
  const name = `okr_t_chainmig_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: process.env.TEST_ADMIN_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(process.env.TEST_ADMIN_DATABASE_URL as string);
  url.pathname = `/${name}`;
  const orm = await MikroORM.init(ormOptions(url.toString()));
  try {
    await orm.getMigrator().up({ to: 'Migration20261121000004Notify' });
    const sql = sqlOf(orm.em.fork());
    await sql.query(
      `WITH head AS (UPDATE okr_log_head SET position = 2, recorded_at = '2027-01-01T00:00:00Z' WHERE id = 1)
       INSERT INTO okr_events (position, organisation_id, stream_id, stream_version, type, schema_version, data, metadata, recorded_at, unit_id)
       VALUES (1, 'o', 'unit-a', 1, 'UnitRegistered', 1, '{"unitId":"a","name":"A","level":"COMPANY","parentId":null}', '{"actor":"x"}', '2027-01-01T00:00:00Z', 'a'),
              (2, 'o', 'unit-b', 1, 'UnitRegistered', 1, '{"unitId":"b","name":"B","level":"COMPANY","parentId":null}', '{"actor":"y"}', '2027-01-01T00:00:00Z', 'b')`,
    );
    await orm.getMigrator().up();
    expect(await verifyChain(sql)).toEqual({ ok: true, eventsChecked: 2, firstBrokenPosition: null, reason: null });
  } finally {
    await orm.close(true);
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
});
