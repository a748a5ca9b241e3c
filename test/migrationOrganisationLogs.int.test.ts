import { databaseAtMigration, dropDatabases, withClient } from './support/database';
import { MikroORM } from '@mikro-orm/postgresql';
import { verifyLog } from '../events/audit';
import { streamId, type DomainEvent, type RecordedEvent, type StreamType } from '../events/catalogue';
import { GENESIS_HASH, chainHash } from '../events/hash';
import { eventLeafHash } from '../events/leaf';
import { rootFromFrontier, rootOf, type Hash } from '../events/merkle';
import type { Sql } from '../events/sql';
import { storedRootAt } from '../events/tree';
import { ephemeralCheckpointKeys } from '../src/checkpointKeys';
import { Commands } from '../src/commands';
import { openDatabase, ormOptions, sqlOf } from '../src/database';
import { Ledger } from '../src/ledger';
import { migrations } from '../src/migrations';
import { rebuildProjections } from '../src/rebuild';
import { applyToCurrentTablesOnly } from './support/legacyReadModels';

/*
 * Migration20261204000001OrganisationLogs keeps an existing database working. Each case builds a
 * database at the previous schema (up to Migration20261122000001RateLimits), fills it the way the old
 * store wrote (one global log, one hash chain, okr_log_head), then opens it as the application does:
 * every organisation gets its own gap-free log in the old order, leaf hashes and tree nodes that the
 * full audit accepts, a head, a record of the old chain (matched or not) and the old positions; the
 * application appends on it, and a rebuild of the read models gives back what the live tables held
 * (the old inline projections filled them). A tampered old chain and an empty old database migrate too.
 */

const OLD_SCHEMA = 'Migration20261122000001RateLimits';
const READ_MODELS = ['okr_units', 'okr_quarters', 'okr_objectives', 'okr_key_results', 'okr_check_ins', 'okr_retrospectives', 'okr_effort'];
const signing = ephemeralCheckpointKeys().signing;
const created: string[] = [];
const opened: MikroORM[] = [];

/** A new database migrated only up to the schema before per-organisation logs. */
async function oldDatabase(label: string): Promise<string> {
  const { url, orm } = await databaseAtMigration(`migorg${label}`, OLD_SCHEMA, created, { pool: { min: 0, max: 1 } });
  try {
    const done = (await orm.getMigrator().getExecutedMigrations()).map((m) => m.name);
    expect(done).toEqual(migrations.slice(0, 7).map((m) => m.name));
  } finally {
    await orm.close(true);
  }
  return url;
}

/** Opens the database as the application does, which runs the remaining migration. */
async function migrate(url: string): Promise<{ orm: MikroORM; sql: Sql }> {
  const orm = await openDatabase(url);
  opened.push(orm);
  return { orm, sql: sqlOf(orm.em.fork()) };
}

/** An event as the old store wrote it, with the global position it had. */
interface OldEvent {
  org: string; oldPosition: number; streamId: string; streamType: StreamType; version: number; type: string;
  data: DomainEvent['data'];
  metadata: { actor: string; correlationId: string; causationId: string; idempotencyKey: string | null };
  recordedAt: string;
}

type Planned = { streamId: string; streamType: StreamType; event: DomainEvent };

/** One organisation's history, as its people would have written it: units, a quarter, an objective, effort. */
function history(org: string, length: number): Planned[] {
  const company = `${org}-company`;
  const team = `${org}-payments`;
  const quarterId = '2026-Q4';
  const kr = `${org}-kr`;
  const unit = (id: string, event: DomainEvent): Planned => ({ streamId: streamId.unit(id), streamType: 'unit', event });
  const planned: Planned[] = [
    unit(company, { type: 'UnitRegistered', data: { unitId: company, name: `${org} Ünïcødé GmbH`, level: 'COMPANY', parentId: null } }),
    { streamId: streamId.quarter(quarterId), streamType: 'quarter', event: { type: 'QuarterPlanned', data: {
      quarterId, startsOn: '2026-10-01T00:00:00.000Z', endsOn: '2027-01-01T00:00:00.000Z', settingOpensOn: '2026-09-15T00:00:00.000Z' } } },
    unit(team, { type: 'UnitRegistered', data: { unitId: team, name: 'Équipe « Paiements » 支付 🚀', level: 'FUNCTION', parentId: company } }),
    { streamId: streamId.objective(`${org}-obj`), streamType: 'objective', event: { type: 'ObjectiveDrafted', data: {
      objectiveId: `${org}-obj`, unitId: team, quarterId, unitLevel: 'FUNCTION', title: 'Kunden vertrauen uns — “payments” that never fail',
      description: 'ß, ñ, 日本語, and "quotes"', aspirational: false, parentId: null } } },
    { streamId: streamId.keyResult(kr), streamType: 'keyResult', event: { type: 'KeyResultDefined', data: { keyResultId: kr, objectiveId: `${org}-obj`,
      unitId: team, quarterId, title: 'Fehlgeschlagene Zahlungen < 1 %', metric: 'failed %', unit: '%', baseline: 2, target: 1, direction: 'DECREASE', kind: 'OUTCOME' } } },
    unit(team, { type: 'CheckInCadenceSet', data: { unitId: team, cadence: 'MONTHLY' } }),
    { streamId: streamId.keyResult(kr), streamType: 'keyResult', event: { type: 'CheckInRecorded', data: { keyResultId: kr, objectiveId: `${org}-obj`,
      unitId: team, quarterId, confidence: 70, value: 1.5, whatChanged: 'retries “smarter” — 再試行', blockers: null, asOf: '2026-10-15T00:00:00.000Z' } } },
  ];
  const activities = ['SETTING', 'CHECK_IN', 'SCORING', 'RETROSPECTIVE'] as const;
  for (let k = 0; planned.length < length; k += 1) {
    const unitId = k % 3 === 0 ? company : team;
    planned.push(unit(unitId, { type: 'ProcessEffortLogged', data: {
      unitId, quarterId, activity: activities[k % 4] ?? 'CHECK_IN', personDays: 0.25 * (k + 1),
      note: k % 2 === 0 ? null : `week ${k}: naïve façade ✓`, occurredOn: new Date(Date.UTC(2026, 9, 1 + k)).toISOString() } }));
  }
  return planned.slice(0, length);
}

/** Interleaves the organisations' histories in one irregular (seeded) global order. */
function globalOrder(sizes: Record<string, number>): { org: string; planned: Planned }[] {
  const queues = Object.entries(sizes).map(([org, n]) => ({ org, rest: history(org, n) }));
  const order: { org: string; planned: Planned }[] = [];
  let seed = 20261204;
  for (;;) {
    const left = queues.filter((q) => q.rest.length > 0);
    if (left.length === 0) return order;
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const pick = left[seed % left.length] as (typeof left)[number];
    order.push({ org: pick.org, planned: pick.rest.shift() as Planned });
  }
}

/**
 * Appends as the old application did, one transaction per event: okr_streams, the event at its global
 * position with the chain in `hash`, okr_log_head, and the inline read models (projections/ is unchanged).
 */
async function fillOld(url: string, sizes: Record<string, number>): Promise<{ events: OldEvent[]; lastHash: string }> {
  const events: OldEvent[] = [];
  const versions = new Map<string, number>();
  let chain = GENESIS_HASH;
  let at = Date.parse('2026-10-01T08:00:00.000Z');
  const orm = await MikroORM.init(ormOptions(url, { pool: { min: 0, max: 1 } }));
  try {
    for (const [i, { org, planned }] of globalOrder(sizes).entries()) {
      const key = `${org}/${planned.streamId}`;
      const version = (versions.get(key) ?? 0) + 1;
      versions.set(key, version);
      at += [0, 1_500, 60_000, 7][i % 4] ?? 1; // sometimes two events share an instant, as the old store allowed
      const { type, data } = planned.event;
      const e: OldEvent = {
        org, oldPosition: i + 1, streamId: planned.streamId, streamType: planned.streamType, version, type, data,
        metadata: { actor: `${org}-admin@example.com`, correlationId: `req-${i}`, causationId: `cause-${i}`, idempotencyKey: i % 5 === 0 ? `key-${i}` : null },
        recordedAt: new Date(at).toISOString(),
      };
      events.push(e);
      chain = chainHash(chain, { position: e.oldPosition, organisationId: org, streamId: e.streamId, version, type, schemaVersion: 1,
        data, metadata: e.metadata, recordedAt: e.recordedAt });
      const tag = (k: string): string | null => ((data as Record<string, unknown>)[k] as string | undefined) ?? null;
      await orm.em.fork().transactional(async (em) => {
        const sql = sqlOf(em);
        await sql.query(`INSERT INTO okr_streams (organisation_id, stream_id, stream_type, version) VALUES (?, ?, ?, ?)
          ON CONFLICT (organisation_id, stream_id) DO UPDATE SET version = EXCLUDED.version`, [org, e.streamId, e.streamType, version]);
        await sql.query(
          `INSERT INTO okr_events (position, organisation_id, stream_id, stream_version, type, schema_version, data, metadata,
                                   recorded_at, quarter_id, unit_id, hash)
           VALUES (?, ?, ?, ?, ?, 1, ?::jsonb, ?::jsonb, ?::timestamptz, ?, ?, ?)`,
          [e.oldPosition, org, e.streamId, version, type, JSON.stringify(data), JSON.stringify(e.metadata), e.recordedAt,
            tag('quarterId'), tag('unitId'), chain],
        );
        await sql.query('UPDATE okr_log_head SET position = ?, recorded_at = ?::timestamptz, last_hash = ? WHERE id = 1', [e.oldPosition, e.recordedAt, chain]);
        const recorded = { type, data, position: e.oldPosition, streamId: e.streamId, version, schemaVersion: 1,
          recordedAt: new Date(e.recordedAt), metadata: { ...e.metadata, organisationId: org } } as RecordedEvent;
        await applyToCurrentTablesOnly(em, [recorded]);
      });
    }
  } finally {
    await orm.close(true);
  }
  return { events, lastHash: chain };
}

const leafOf = (e: OldEvent, position: number): Hash =>
  eventLeafHash({ organisationId: e.org, position, streamId: e.streamId, version: e.version, type: e.type, schemaVersion: 1,
    data: e.data, metadata: e.metadata, recordedAt: e.recordedAt });

const migrationRecords = (sql: Sql) => sql.query<Record<string, unknown>>('SELECT * FROM okr_log_migrations ORDER BY organisation_id');

const commandsFor = (orm: MikroORM, organisationId: string): Commands =>
  new Commands(new Ledger(orm, () => new Date('2027-02-01T10:00:00.000Z')), { organisationId, actor: 'after-migration', correlationId: 'c-new' });

afterAll(async () => {
  await Promise.all(opened.map((orm) => orm.close(true)));
  await dropDatabases(created);
});

describe('a database filled at the old schema', () => {
  const SIZES = { 'org-a': 24, 'org-b': 21, 'org-c': 15 };
  const TOTAL = 60;
  let old: { events: OldEvent[]; lastHash: string };
  let orm: MikroORM;
  let sql: Sql;
  const ofOrg = (org: string): OldEvent[] => old.events.filter((e) => e.org === org);

  beforeAll(async () => {
    const url = await oldDatabase('filled');
    old = await fillOld(url, SIZES);
    ({ orm, sql } = await migrate(url));
  });

  it('renumbers each organisation 1..n in the old order, keeping every event as it was', async () => {
    expect(new Set(old.events.slice(0, 6).map((e) => e.org)).size).toBe(3); // really interleaved
    for (const org of Object.keys(SIZES)) {
      const rows = await sql.query<{ position: string; stream_id: string; stream_version: number; type: string; data: unknown; metadata: unknown; recorded_at: string; leaf_hash: Buffer }>(
        'SELECT position, stream_id, stream_version, type, data, metadata, recorded_at, leaf_hash FROM okr_events WHERE organisation_id = ? ORDER BY position',
        [org],
      );
      const expected = ofOrg(org);
      expect(rows.map((r) => Number(r.position))).toEqual(expected.map((_, i) => i + 1));
      expect(rows.map((r) => [r.stream_id, r.stream_version, r.type, r.data, r.metadata, new Date(r.recorded_at).toISOString()])).toEqual(
        expected.map((e) => [e.streamId, e.version, e.type, e.data, e.metadata, e.recordedAt]),
      );
      rows.forEach((r, i) => expect(Buffer.from(r.leaf_hash).equals(leafOf(expected[i] as OldEvent, i + 1))).toBe(true));
      const renumbered = await sql.query<{ position: string; old_position: string }>(
        'SELECT position, old_position FROM okr_log_renumbering WHERE organisation_id = ? ORDER BY position', [org]);
      expect(renumbered.map((r) => [Number(r.position), Number(r.old_position)])).toEqual(expected.map((e, i) => [i + 1, e.oldPosition]));
    }
    expect(Number((await sql.query<{ n: string }>('SELECT count(*) AS n FROM okr_events'))[0]?.n)).toBe(TOTAL);
  });

  it('gives every organisation a head and a record of the old chain', async () => {
    const heads = await sql.query<{ organisation_id: string; position: string; recorded_at: string }>(
      'SELECT organisation_id, position, recorded_at FROM okr_log_heads ORDER BY organisation_id');
    expect(heads.map((h) => [h.organisation_id, Number(h.position), new Date(h.recorded_at).toISOString()])).toEqual(
      Object.keys(SIZES).map((org) => [org, ofOrg(org).length, ofOrg(org).at(-1)?.recordedAt]));
    const records = await migrationRecords(sql);
    expect(records.map((r) => ({ ...r, migrated_at: undefined }))).toEqual(Object.keys(SIZES).map((org) => ({
      organisation_id: org, migration: 'OrganisationLogs', migrated_at: undefined, events: String(ofOrg(org).length),
      old_first_position: String(ofOrg(org)[0]?.oldPosition), old_last_position: String(ofOrg(org).at(-1)?.oldPosition),
      old_head_position: String(TOTAL), old_chain_last_hash: old.lastHash, old_chain_matched: true, old_chain_first_broken_position: null,
    })));
  });

  it('leaves the new schema: no global head, no chain column, keyed by organisation and position', async () => {
    expect((await sql.query<{ t: string | null }>("SELECT to_regclass('okr_log_head')::text AS t"))[0]?.t).toBeNull();
    const columns = await sql.query<{ column_name: string }>("SELECT column_name FROM information_schema.columns WHERE table_name = 'okr_events'");
    expect(columns.map((c) => c.column_name)).not.toContain('hash');
    expect(columns.map((c) => c.column_name)).toContain('leaf_hash');
    const [pk] = await sql.query<{ def: string }>("SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'okr_events'::regclass AND contype = 'p'");
    expect(pk?.def).toMatch(/^PRIMARY KEY \(organisation_id, "?position"?\)$/);
  });

  it('builds trees the full audit accepts, whose roots are the reference MTH at every size', async () => {
    for (const org of Object.keys(SIZES)) {
      const leaves = ofOrg(org).map((e, i) => leafOf(e, i + 1));
      expect(await verifyLog(sql, org, { full: true, signing })).toMatchObject({ ok: true, treeSize: leaves.length, eventsChecked: leaves.length });
      const [head] = await sql.query<{ frontier: string[] }>('SELECT frontier FROM okr_log_heads WHERE organisation_id = ?', [org]);
      expect(rootFromFrontier((head?.frontier ?? []).map((h) => Buffer.from(h, 'base64'))).equals(rootOf(leaves))).toBe(true);
      for (let size = 1; size <= leaves.length; size += 1) {
        expect((await storedRootAt(sql, org, size, leaves.length)).equals(rootOf(leaves.slice(0, size)))).toBe(true);
      }
    }
  });

  it('appends through the application after it, continuing each organisation', async () => {
    for (const org of Object.keys(SIZES)) {
      const n = ofOrg(org).length;
      const outcome = await commandsFor(orm, org).registerUnit({ name: 'Nouvelle équipe', level: 'TEAM', parentId: `${org}-payments` });
      expect(outcome.events.map((e) => e.position)).toEqual([n + 1]);
      expect(await verifyLog(sql, org, { full: true, signing })).toMatchObject({ ok: true, treeSize: n + 1 });
    }
    // The record of the migration is kept as it was.
    expect((await migrationRecords(sql)).map((r) => r.events)).toEqual(Object.keys(SIZES).map((org) => String(ofOrg(org).length)));
  });

  it('rebuilds the read models to exactly what the live tables held', async () => {
    const snapshot = () => Promise.all(READ_MODELS.map((t) => sql.query(`SELECT * FROM ${t} ORDER BY organisation_id, id`)));
    const live = await snapshot();
    const summary = await rebuildProjections(orm);
    expect(summary).toMatchObject({ events: TOTAL + 3, headPosition: TOTAL + 3 });
    expect(summary.tables.find((t) => t.name === 'okr_units')?.rows).toBe(9);
    expect(summary.tables.find((t) => t.name === 'okr_objectives')?.rows).toBe(3);
    expect(summary.tables.find((t) => t.name === 'okr_key_results')?.rows).toBe(3);
    // The live tables are a fold of the log: a rebuild must give back what they held, seq (a position) included.
    (await snapshot()).forEach((rows, i) => expect({ [READ_MODELS[i] as string]: rows }).toEqual({ [READ_MODELS[i] as string]: live[i] }));
  });
});

it('migrates a database whose old chain was tampered with, and says so for every organisation', async () => {
  const url = await oldDatabase('tampered');
  const old = await fillOld(url, { 'org-a': 11, 'org-b': 10, 'org-c': 9 });
  const target = old.events.find((e) => e.oldPosition > 12 && e.type === 'ProcessEffortLogged') as OldEvent;
  await withClient(url, async (c) => {
    // As a superuser could (test/audit.int.test.ts): the append-only trigger off for one transaction.
    for (const s of ['BEGIN', 'ALTER TABLE okr_events DISABLE TRIGGER okr_events_append_only']) await c.query(s);
    await c.query(`UPDATE okr_events SET data = jsonb_set(data, '{personDays}', '99') WHERE position = $1`, [target.oldPosition]);
    for (const s of ['ALTER TABLE okr_events ENABLE TRIGGER okr_events_append_only', 'COMMIT']) await c.query(s);
  });
  const { sql } = await migrate(url);
  const records = await migrationRecords(sql);
  expect(records.map((r) => r.organisation_id)).toEqual(['org-a', 'org-b', 'org-c']);
  for (const r of records) {
    expect(r).toMatchObject({ old_chain_matched: false, old_chain_first_broken_position: String(target.oldPosition),
      old_chain_last_hash: old.lastHash, old_head_position: '30' });
  }
  // The new tree is of the log as it was found (the edit is on the record above, not hidden in the tree).
  for (const org of ['org-a', 'org-b', 'org-c']) expect((await verifyLog(sql, org, { full: true, signing })).ok).toBe(true);
});

it('migrates an empty old database: no heads, no records, and the first append is at position 1', async () => {
  const { orm, sql } = await migrate(await oldDatabase('empty'));
  for (const table of ['okr_log_heads', 'okr_log_migrations', 'okr_log_renumbering', 'okr_tree_nodes']) {
    expect((await sql.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0]?.n).toBe('0');
  }
  expect((await sql.query<{ t: string | null }>("SELECT to_regclass('okr_log_head')::text AS t"))[0]?.t).toBeNull();
  const outcome = await commandsFor(orm, 'org-new').registerUnit({ name: 'Première', level: 'COMPANY', parentId: null });
  expect(outcome.events.map((e) => e.position)).toEqual([1]);
  expect(await verifyLog(sql, 'org-new', { full: true, signing })).toMatchObject({ ok: true, treeSize: 1 });
});
