import { randomUUID } from 'node:crypto';
import { databaseAtMigration, dropDatabases } from './support/database';
import { MikroORM } from '@mikro-orm/postgresql';
import type { CommandOptions, CommandOutcome } from '../domain/commands';
import { DomainError } from '../domain/errors';
import { verifyLog } from '../events/audit';
import { EVENT_TYPES, type RecordedEvent } from '../events/catalogue';
import { ConcurrencyError } from '../events/errors';
import type { Sql } from '../events/sql';
import { EventStore } from '../events/store';
import { MemoryReadModel } from '../projections/memory';
import { historyTableOf } from '../projections/model';
import { ALL_READ_MODELS } from '../projections/models';
import type { ReadModel } from '../projections/readModel';
import { TableReadModel, TemporalReadModel } from '../projections/tables';
import { ephemeralCheckpointKeys } from '../src/checkpointKeys';
import { Commands } from '../src/commands';
import { openDatabase, sqlOf } from '../src/database';
import { Ledger, type Actor, type CommandSpec, type StreamReader } from '../src/ledger';
import { migrations } from '../src/migrations';
import { applyToCurrentTablesOnly } from './support/legacyReadModels';

/*
 * Migration20261205000001TemporalReadModels on an existing database. Each case builds a database at the
 * previous schema (up to Migration20261204000001OrganisationLogs) and fills it as the application did
 * then: the real Commands and deciders, appended by the (unchanged) EventStore with its per-organisation
 * positions, leaf hashes, trees and heads, and the read models' current tables only (the old inline
 * projections: test/support/legacyReadModels.ts), three organisations written at once. Opening it as the
 * application does migrates and rebuilds: no pending rebuild is left, every history table is filled, the
 * TemporalReadModel at EVERY position answers as the MemoryReadModel folded over the log up to there, the
 * current tables and the audit are as they were, and opening again rebuilds nothing (rows untouched).
 * A crash between migrating and rebuilding leaves the rebuild pending for the next start (two at once);
 * an empty old database records no rebuild.
 */

const OLD_SCHEMA = 'Migration20261204000001OrganisationLogs';
const ORGS = ['org-a', 'org-b', 'org-c'];
const created: string[] = [];
const opened: MikroORM[] = [];
const store = new EventStore();

/** A new database at the schema before temporal read models, and an ORM on it (the old application). */
async function oldDatabase(label: string): Promise<{ url: string; orm: MikroORM }> {
  const { url, orm } = await databaseAtMigration(`migtemporal${label}`, OLD_SCHEMA, created);
  expect((await orm.getMigrator().getExecutedMigrations()).map((m) => m.name)).toEqual(migrations.slice(0, 8).map((m) => m.name));
  expect(await tableExists(sqlOf(orm.em.fork()), 'okr_units_history')).toBe(false);
  return { url, orm };
}
const tableExists = async (sql: Sql, table: string): Promise<boolean> =>
  (await sql.query<{ t: string | null }>('SELECT to_regclass(?)::text AS t', [table]))[0]?.t != null;

/**
 * The ledger as the application ran it at the old schema: the same reads, decisions and store append, and
 * the read models' current tables written in the append's transaction (there were no history tables).
 */
const oldLedger = (orm: MikroORM, clock: () => Date): Ledger => ({
  async execute<R>(actor: Actor, spec: CommandSpec<R>, options: CommandOptions = {}): Promise<CommandOutcome<R>> {
    const readSql = sqlOf(orm.em.fork());
    const versions = new Map<string, number>();
    const read: StreamReader = async (streamId, skipTypes) => {
      const stream = await store.readStream(readSql, actor.organisationId, streamId, { skipTypes });
      if (!versions.has(streamId)) versions.set(streamId, stream.version);
      return stream.events;
    };
    const events = await spec.decide(read, clock().toISOString(), (filter) => store.readAll(readSql, { ...filter, organisationId: actor.organisationId }));
    if (!versions.has(spec.target.streamId)) await read(spec.target.streamId);
    const expectedVersion = versions.get(spec.target.streamId) ?? 0;
    if (options.expectedVersion != null && options.expectedVersion !== expectedVersion) throw new ConcurrencyError(spec.target.streamId, options.expectedVersion, expectedVersion);
    const guards = [...versions].filter(([id]) => id !== spec.target.streamId).map(([streamId, version]) => ({ streamId, version }));
    const recorded = await orm.em.fork().transactional(async (em) => {
      const appended = await store.append(sqlOf(em), { organisationId: actor.organisationId, ...spec.target, expectedVersion, events, guards, recordedAt: clock,
        metadata: { actor: actor.actor, correlationId: actor.correlationId, causationId: randomUUID(), idempotencyKey: null } });
      await applyToCurrentTablesOnly(em, appended);
      return appended;
    });
    return { result: spec.result, events: recorded, replayed: false };
  },
}) as unknown as Ledger;

/** One organisation's quarter told through its commands (every event type), then `extra` random check-ins and effort. */
async function story(ledger: Ledger, org: string, writer: string, clock: { t: number }, extra: number): Promise<void> {
  let n = 0;
  const cmd = new Commands(ledger, { organisationId: org, actor: `${writer}@${org}`, correlationId: writer }, () => `${org}-${writer}-${++n}`);
  const step = async <T>(work: () => Promise<T>): Promise<T | null> => {
    clock.t += 3_600_000 * (1 + (n % 3));
    return work().catch((error: unknown) => {
      if (error instanceof DomainError || error instanceof ConcurrencyError) return null;
      throw error;
    });
  };
  const company = (await cmd.registerUnit({ name: `${org} GmbH — “Ünïcødé”`, level: 'COMPANY', parentId: null })).result.unitId;
  const fn = (await cmd.registerUnit({ name: 'Payments', level: 'FUNCTION', parentId: company })).result.unitId;
  const team = (await cmd.registerUnit({ name: 'Checkout, "the team"', level: 'TEAM', parentId: fn })).result.unitId;
  for (const [quarterId, startsOn, endsOn] of [['2026-Q4', '2026-10-01', '2027-01-01'], ['2027-Q1', '2027-01-01', '2027-04-01']] as const) {
    await cmd.planQuarter({ quarterId, startsOn: `${startsOn}T00:00:00Z`, endsOn: `${endsOn}T00:00:00Z` });
    let parentId: string | null = null;
    const krs: string[] = [];
    for (const unitId of [company, fn, team]) {
      const objectiveId: string = (await cmd.draftObjective({ unitId, quarterId, title: `Grow ${unitId}`, description: null, aspirational: true, parentId })).result.objectiveId;
      for (const baseline of [10, 40]) krs.push((await cmd.defineKeyResult({ objectiveId, title: `KR ${baseline}`, metric: 'rate', unit: '%', baseline, target: baseline + 30 })).result.keyResultId);
      await step(() => cmd.commitObjective({ objectiveId }));
      await step(() => cmd.refineObjective({ objectiveId, title: `Grow ${unitId}, refined`, description: 'with "quotes"\nand lines' }));
      if (parentId !== null) await step(() => cmd.alignObjective({ objectiveId, parentId: null }));
      parentId = objectiveId;
    }
    const [kr1, kr2, kr3] = krs as [string, string, string];
    await step(() => cmd.reviseKeyResult({ keyResultId: kr1, reason: 'too easy', target: 70 }));
    await step(() => cmd.setCheckInCadence({ unitId: team, cadence: 'MONTHLY' }));
    for (let i = 0; i < extra; i += 1) {
      await step(() => cmd.recordCheckIn({ keyResultId: krs[i % krs.length] ?? kr1, confidence: (i * 37) % 101, value: i * 1.5, whatChanged: `week ${i}`, asOf: i % 4 === 0 ? new Date(clock.t - 86_400_000).toISOString() : null }));
      await step(() => cmd.logProcessEffort({ unitId: [company, fn, team][i % 3] ?? team, quarterId, activity: (['SETTING', 'CHECK_IN', 'SCORING', 'RETROSPECTIVE'] as const)[i % 4] ?? 'SETTING', personDays: 0.05 * (i + 1) }));
    }
    await step(() => cmd.scoreKeyResult({ keyResultId: kr2, score: 0.6 }));
    await step(() => cmd.scoreKeyResult({ keyResultId: kr2, score: 0.7, note: 'corrected' }));
    for (const learnings of ['first look', 'second look, replacing it']) {
      await step(() => cmd.recordRetrospective({ unitId: team, quarterId, learnings, calibrations: [{ keyResultId: krs[4] ?? kr3, calibration: 'RIGHT' }] }));
    }
    await step(() => cmd.retireObjective({ objectiveId: parentId ?? '', reason: 'superseded' }));
    if (quarterId === '2026-Q4') {
      clock.t = Math.max(clock.t, Date.parse('2027-01-02T00:00:00Z'));
      await step(() => cmd.closeQuarter(quarterId));
      await step(() => cmd.recordCheckIn({ keyResultId: kr3, confidence: 1 })); // refused: closed
    }
  }
}

/** Fills an old database: every organisation's story at once, then two writers per organisation on the same key results. */
async function fill(orm: MikroORM, orgs: readonly string[]): Promise<void> {
  const clock = { t: Date.parse('2026-12-01T09:00:00Z') };
  const ledger = oldLedger(orm, () => new Date(clock.t));
  await Promise.all(orgs.map((org) => story(ledger, org, 'lead', clock, 10)));
  const sql = sqlOf(orm.em.fork());
  await Promise.all(orgs.flatMap((org) => ['w1', 'w2'].map(async (writer, w) => {
    const cmd = new Commands(ledger, { organisationId: org, actor: `${writer}@${org}`, correlationId: writer });
    const krs = await sql.query<{ id: string }>("SELECT id FROM okr_key_results WHERE organisation_id = ? AND quarter_id = '2027-Q1' ORDER BY id LIMIT 2", [org]);
    for (let i = 0; i < 8; i += 1) {
      clock.t += 60_000;
      await cmd.recordCheckIn({ keyResultId: krs[i % 2]?.id ?? '', confidence: 10 * w + i, value: i }).catch((e: unknown) => {
        if (!(e instanceof ConcurrencyError || e instanceof DomainError)) throw e; // two writers of one stream: the old ledger did not retry
      });
    }
  })));
}

/** A value as plain JSON (non-enumerable markers dropped, Dates as ISO), object keys sorted. */
const sortKeys = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(sortKeys) : v !== null && typeof v === 'object'
    ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])])) : v;
const plain = (v: unknown): string => JSON.stringify(sortKeys(JSON.parse(JSON.stringify(v ?? null))));

/** Every ReadModel method for every id and filter the organisation's whole log knows (and one unknown id). */
async function answers(model: ReadModel, all: MemoryReadModel): Promise<Map<string, string>> {
  const ids = (m: Map<string, unknown>) => [...m.keys(), 'missing'];
  const calls: [string, Promise<unknown>][] = [['units()', model.units()], ['quarters()', model.quarters()]];
  for (const u of ids(all.documents('units').docs)) calls.push([`unit(${u})`, model.unit(u)], [`childUnits(${u})`, model.childUnits(u)]);
  for (const q of ids(all.documents('quarters').docs)) {
    calls.push([`quarter(${q})`, model.quarter(q)], [`objectives(${q})`, model.objectives({ quarterId: q })], [`keyResults(${q})`, model.keyResults({ quarterId: q })],
      [`retrospectives(${q})`, model.retrospectives({ quarterId: q })], [`checkIns(${q})`, model.checkIns({ quarterId: q })], [`efforts(${q})`, model.efforts({ quarterId: q })]);
    for (const u of ids(all.documents('units').docs)) {
      calls.push([`objectives(${q},${u})`, model.objectives({ quarterId: q, unitId: u })], [`keyResults(${q},${u})`, model.keyResults({ quarterId: q, unitId: u })],
        [`retrospectives(${q},${u})`, model.retrospectives({ quarterId: q, unitId: u })], [`effort(${u},${q})`, model.effort(u, q)]);
    }
  }
  for (const o of ids(all.documents('objectives').docs)) calls.push([`objective(${o})`, model.objective(o)], [`contributors(${o})`, model.contributors(o)], [`keyResultsOf(${o})`, model.keyResultsOf(o)]);
  for (const k of ids(all.documents('keyResults').docs)) {
    calls.push([`keyResult(${k})`, model.keyResult(k)], [`checkInsOf(${k})`, model.checkInsOf(k)], [`measurementsOf(${k})`, model.measurementsOf(k)]);
  }
  const values = await Promise.all(calls.map(([, p]) => p));
  return new Map(calls.map(([name], i) => [name, plain(values[i])]));
}

async function logOf(sql: Sql, org: string): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const page of store.stream(sql, { organisationId: org })) events.push(...page);
  return events;
}

/** Temporal vs the in-memory fold at every position 0..head of every organisation; the differences, and how many positions. */
async function everyPosition(orm: MikroORM, orgs: readonly string[]): Promise<{ problems: string[]; positions: number }> {
  const sql = sqlOf(orm.em.fork());
  const problems: string[] = [];
  let positions = 0;
  for (const org of orgs) {
    const events = await logOf(sql, org);
    const all = new MemoryReadModel().apply(events);
    for (let p = 0; p <= events.length; p += 1) {
      const at = events[p - 1]?.recordedAt ?? new Date(0);
      const expected = await answers(new MemoryReadModel(at).apply(events.slice(0, p)), all);
      const actual = await answers(new TemporalReadModel(orm.em.fork(), org, p, at), all);
      for (const [call, want] of expected) if (actual.get(call) !== want && problems.length < 20) problems.push(`${org}@${p} ${call}: memory ${want} != temporal ${actual.get(call)}`);
      positions += 1;
    }
    const live = await answers(new TableReadModel(orm.em.fork(), org), all);
    for (const [call, want] of await answers(all, all)) if (live.get(call) !== want && problems.length < 20) problems.push(`${org}@head live ${call}: memory ${want} != ${live.get(call)}`);
  }
  return { problems, positions };
}

/** The read models' tables at the schema this starts from (later migrations add measurements' and columns). */
const TABLES_THEN = ['okr_units', 'okr_quarters', 'okr_objectives', 'okr_key_results', 'okr_check_ins', 'okr_retrospectives', 'okr_effort'];
const currentTables = (_orm?: MikroORM): string[] => ALL_READ_MODELS.map((m) => m.table).filter((t) => TABLES_THEN.includes(t));
/** Event types recorded since then, which the old application could not write. */
const TYPES_SINCE = ['KeyResultMeasured', 'ObjectiveCarriedOver'];
/** Rows as they were then: only the columns `then` had (later migrations added some). */
const asThen = (now: Record<string, unknown[]>, then: Record<string, unknown[]>) =>
  Object.fromEntries(Object.entries(now).map(([t, rs]) => {
    const keys = Object.keys((then[t]?.[0] ?? {}) as object);
    return [t, rs.map((r) => Object.fromEntries(keys.map((k) => [k, (r as Record<string, unknown>)[k]])))];
  }));
/** Every row of `tables` with its xmin (which transaction wrote it), as stored. */
async function rows(sql: Sql, tables: readonly string[]): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const t of tables) {
    const order = t.endsWith('_history') ? 'organisation_id, id, valid_from' : 'organisation_id, id';
    out[t] = await sql.query(`SELECT xmin::text AS xmin, to_jsonb(t) AS row FROM ${t} t ORDER BY ${order}`);
  }
  return out;
}
const withoutXmin = (snapshot: Record<string, unknown[]>) =>
  Object.fromEntries(Object.entries(snapshot).map(([t, rs]) => [t, rs.map((r) => (r as { row: unknown }).row)]));
const pending = async (sql: Sql) => (await sql.query<{ reason: string }>('SELECT reason FROM okr_pending_rebuilds')).map((r) => r.reason);

afterAll(async () => {
  await Promise.all(opened.map((orm) => orm.close(true)));
  await dropDatabases(created);
});

describe('a database filled before temporal read models', () => {
  let url: string;
  let oldCurrent: Record<string, unknown[]>;
  let orm: MikroORM;
  let sql: Sql;

  beforeAll(async () => {
    const old = await oldDatabase('filled');
    url = old.url;
    await fill(old.orm, ORGS);
    oldCurrent = withoutXmin(await rows(sqlOf(old.orm.em.fork()), currentTables(old.orm)));
    await old.orm.close(true);
    orm = await openDatabase(url);
    opened.push(orm);
    sql = sqlOf(orm.em.fork());
  }, 120_000);

  it('migrates and rebuilds at once: nothing left pending, every history table filled', async () => {
    const types = await sql.query<{ type: string; n: string }>('SELECT type, count(*) AS n FROM okr_events GROUP BY type ORDER BY type');
    console.log(`old database: ${JSON.stringify(Object.fromEntries(types.map((t) => [t.type, Number(t.n)])))}`);
    expect(EVENT_TYPES.filter((t) => !types.some((r) => r.type === t) && !TYPES_SINCE.includes(t))).toEqual([]);
    expect((await orm.getMigrator().getPendingMigrations()).map((m) => m.name)).toEqual([]);
    expect(await pending(sql)).toEqual([]);
    for (const table of currentTables(orm).map(historyTableOf)) {
      const [count] = await sql.query<{ n: string; orgs: string }>(`SELECT count(*) AS n, count(DISTINCT organisation_id) AS orgs FROM ${table}`);
      expect([table, Number(count?.orgs)]).toEqual([table, ORGS.length]);
    }
    const [versions] = await sql.query<{ n: string }>("SELECT count(*) AS n FROM okr_key_results_history WHERE valid_to IS NOT NULL");
    expect(Number(versions?.n)).toBeGreaterThan(20); // documents with many versions, not just the current ones
  });

  it('answers as the in-memory fold at every position of every organisation, and the live tables at the head', async () => {
    const { problems, positions } = await everyPosition(orm, ORGS);
    console.log(`migrated database: ${positions} positions checked`);
    expect(problems).toEqual([]);
    expect(positions).toBeGreaterThan(3 * 60);
  }, 60_000);

  it('keeps the current tables as the old application wrote them, and the logs verifiable', async () => {
    expect(asThen(withoutXmin(await rows(sql, currentTables(orm))), oldCurrent)).toEqual(oldCurrent);
    const signing = ephemeralCheckpointKeys().signing;
    for (const org of ORGS) expect(await verifyLog(sql, org, { full: true, signing })).toMatchObject({ ok: true });
  });

  it('does not rebuild when opened again, and appends keep the history going', async () => {
    const tables = [...currentTables(orm), ...currentTables(orm).map(historyTableOf)];
    const before = await rows(sql, tables);
    const again = await openDatabase(url);
    opened.push(again);
    expect(await rows(sql, tables)).toEqual(before); // same rows, written by the same transactions
    expect(await pending(sql)).toEqual([]);
    const head = await store.headPosition(sql, 'org-b');
    const cmd = new Commands(new Ledger(again, () => new Date('2027-02-01T10:00:00Z')), { organisationId: 'org-b', actor: 'after', correlationId: 'c' });
    await cmd.registerUnit({ name: 'New team', level: 'TEAM', parentId: 'org-b-lead-2' });
    const [version] = await sql.query<{ valid_from: string }>("SELECT valid_from FROM okr_units_history WHERE organisation_id = 'org-b' AND name = 'New team'");
    expect(Number(version?.valid_from)).toBe(head + 1);
    const { problems } = await everyPosition(orm, ['org-b']);
    expect(problems).toEqual([]);
  }, 60_000);
});

it('leaves the rebuild pending when the process stops after migrating, and the next start (two at once) does it', async () => {
  const old = await oldDatabase('crash');
  await fill(old.orm, ['org-x']);
  await old.orm.getMigrator().up(); // migrated, then "crashed" before the rebuild
  const oldSql = sqlOf(old.orm.em.fork());
  expect(await pending(oldSql)).toEqual(['temporal read models: history computed from the log']);
  expect(Number((await oldSql.query<{ n: string }>('SELECT count(*) AS n FROM okr_objectives_history'))[0]?.n)).toBe(0);
  await old.orm.close(true);
  const [a, b] = await Promise.all([openDatabase(old.url), openDatabase(old.url, {}, { statementTimeoutMs: 60_000 })]);
  opened.push(a, b);
  expect(await pending(sqlOf(a.em.fork()))).toEqual([]);
  const { problems, positions } = await everyPosition(a, ['org-x']);
  expect(problems).toEqual([]);
  expect(positions).toBeGreaterThan(60);
}, 60_000);

it('migrates an empty old database without a pending rebuild, and the first append starts the history', async () => {
  const old = await oldDatabase('empty');
  await old.orm.close(true);
  const orm = await openDatabase(old.url);
  opened.push(orm);
  const sql = sqlOf(orm.em.fork());
  expect(await tableExists(sql, 'okr_pending_rebuilds')).toBe(true);
  expect(await pending(sql)).toEqual([]);
  for (const table of currentTables(orm).map(historyTableOf)) expect(Number((await sql.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0]?.n)).toBe(0);
  await new Commands(new Ledger(orm, () => new Date('2027-02-01T10:00:00Z')), { organisationId: 'org-new', actor: 'a', correlationId: 'c' })
    .registerUnit({ name: 'Première', level: 'COMPANY', parentId: null });
  expect(await sql.query('SELECT valid_from, valid_to FROM okr_units_history')).toEqual([{ valid_from: '1', valid_to: null }]);
});
