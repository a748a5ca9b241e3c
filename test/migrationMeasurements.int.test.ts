import { randomUUID } from 'node:crypto';
import { MikroORM } from '@mikro-orm/postgresql';
import type { CommandOptions, CommandOutcome } from '../domain/commands';
import { DomainError } from '../domain/errors';
import { verifyLog } from '../events/audit';
import type { RecordedEvent } from '../events/catalogue';
import { ConcurrencyError } from '../events/errors';
import type { Sql } from '../events/sql';
import { EventStore, type AppendFold } from '../events/store';
import type { Doc } from '../projections/docs';
import { MemoryReadModel } from '../projections/memory';
import type { ReadModelDeclaration } from '../projections/model';
import { ALL_READ_MODELS } from '../projections/models';
import { documentsTouched, evolveDocuments, loadQuery, loadedDocuments, writeCtes } from '../projections/persist';
import type { ReadModel } from '../projections/readModel';
import { TableReadModel, TemporalReadModel } from '../projections/tables';
import { ephemeralCheckpointKeys } from '../src/checkpointKeys';
import { Commands } from '../src/commands';
import { openDatabase, sqlOf } from '../src/database';
import { Ledger, type Actor, type CommandSpec, type StreamReader } from '../src/ledger';
import { migrations } from '../src/migrations';
import { databaseAtMigration, dropDatabases } from './support/database';
import { legacyKeyResultEvolve } from './support/legacyReadModels';

/*
 * Migration20261216000001MeasurementsAndCarryOver on an existing database. Each case builds a database at
 * the schema before it (up to Migration20261207000001ReadModelLookups) and fills it as the application did
 * then: the real Commands and deciders, appended by the store, folded into the read models' tables and
 * their history with the columns they had and the fold of check-ins they had (current: the latest
 * check-in's value, even none). Opening it as the application does migrates it; then the history tables
 * at EVERY position, and the live tables at the head, must answer as the in-memory fold of the log with
 * today's declarations, and the application must measure and carry over on it.
 *
 * Where every check-in gave a value, the old and the new rule for `current` agree: the migration fills the
 * new columns and records no rebuild. Where a check-in gave none, it records one, and opening rebuilds.
 */

const OLD_SCHEMA = 'Migration20261207000001ReadModelLookups';
const created: string[] = [];
const opened: MikroORM[] = [];
const store = new EventStore();

/** A database at the schema before measurements, and an ORM on it (the previous application). */
async function previousDatabase(label: string): Promise<{ url: string; orm: MikroORM }> {
  const { url, orm } = await databaseAtMigration(`migmeasure${label}`, OLD_SCHEMA, created);
  const index = migrations.findIndex((m) => m.name === OLD_SCHEMA);
  expect((await orm.getMigrator().getExecutedMigrations()).map((m) => m.name)).toEqual(migrations.slice(0, index + 1).map((m) => m.name));
  return { url, orm };
}

/** The read models as the previous application declared them: the tables and columns it had, its fold of check-ins. */
async function previousModels(sql: Sql): Promise<ReadModelDeclaration<Doc>[]> {
  const models: ReadModelDeclaration<Doc>[] = [];
  for (const model of ALL_READ_MODELS) {
    const rows = await sql.query<{ name: string }>('SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?', [model.table]);
    if (rows.length === 0) continue; // measurements: no table, and no event of theirs yet
    const existing = new Set(rows.map((r) => r.name));
    models.push({
      ...model,
      columns: model.columns.filter((c) => existing.has(c.name)),
      evolve: model.name === 'keyResults' ? legacyKeyResultEvolve(model) : model.evolve,
    });
  }
  return models;
}

/** The previous application's append: the same store, folding into those models (current tables and history). */
async function previousLedger(orm: MikroORM, clock: () => Date): Promise<Ledger> {
  const models = await previousModels(sqlOf(orm.em.fork()));
  const fold: AppendFold = {
    load: (pending) => loadQuery(pending[0]?.metadata.organisationId ?? '', documentsTouched(pending, models)),
    write: (recorded, loaded) =>
      writeCtes(recorded[0]?.metadata.organisationId ?? '', evolveDocuments(recorded, loadedDocuments(loaded as { m: string; d: Record<string, unknown> }[], models), models)),
  };
  return {
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
      const recorded = await orm.em.fork().transactional((em) =>
        store.append(sqlOf(em), { organisationId: actor.organisationId, ...spec.target, expectedVersion, events, guards, recordedAt: clock, fold,
          metadata: { actor: actor.actor, correlationId: actor.correlationId, causationId: randomUUID(), idempotencyKey: null } }));
      return { result: spec.result, events: recorded, replayed: false };
    },
  } as unknown as Ledger;
}

/**
 * One organisation's two quarters as its people told them through the previous application: back-dated
 * and late check-ins, scores, a retrospective, effort, a closed quarter. With `valueless`, some check-ins
 * give a confidence only.
 */
async function story(ledger: Ledger, org: string, clock: { t: number }, valueless: boolean): Promise<void> {
  let n = 0;
  const cmd = new Commands(ledger, { organisationId: org, actor: `lead@${org}`, correlationId: 'story' }, () => `${org}-${++n}`);
  const step = async <T>(work: () => Promise<T>): Promise<T | null> => {
    clock.t += 3_600_000 * (1 + (n % 3));
    return work().catch((error: unknown) => {
      if (error instanceof DomainError || error instanceof ConcurrencyError) return null;
      throw error;
    });
  };
  const company = (await cmd.registerUnit({ name: `${org} GmbH`, level: 'COMPANY', parentId: null })).result.unitId;
  const fn = (await cmd.registerUnit({ name: 'Engineering', level: 'FUNCTION', parentId: company })).result.unitId;
  const team = (await cmd.registerUnit({ name: 'Delivery « CI »', level: 'TEAM', parentId: fn })).result.unitId;
  for (const [quarterId, startsOn, endsOn] of [['2026-Q4', '2026-10-01', '2027-01-01'], ['2027-Q1', '2027-01-01', '2027-04-01']] as const) {
    await cmd.planQuarter({ quarterId, startsOn: `${startsOn}T00:00:00Z`, endsOn: `${endsOn}T00:00:00Z` });
    const objectiveId = (await cmd.draftObjective({ unitId: team, quarterId, title: 'Faster pipelines', description: null })).result.objectiveId;
    const krs: string[] = [];
    for (const baseline of [42, 12]) {
      krs.push((await cmd.defineKeyResult({ objectiveId, title: `p95 from ${baseline}`, metric: 'p95 minutes', unit: 'min', baseline, target: baseline / 3 })).result.keyResultId);
    }
    await step(() => cmd.commitObjective({ objectiveId }));
    for (let i = 0; i < 8; i += 1) {
      const keyResultId = krs[i % 2] ?? '';
      const value = valueless && (i % 3 === 2 || i >= 6) ? null : 40 - i;
      const asOf = i % 4 === 1 ? new Date(clock.t - 2 * 86_400_000).toISOString() : null;
      await step(() => cmd.recordCheckIn({ keyResultId, confidence: 30 + 5 * i, value, whatChanged: `week ${i}`, asOf }));
      if (i % 3 === 0) await step(() => cmd.logProcessEffort({ unitId: team, quarterId, activity: 'CHECK_IN', personDays: 0.25 }));
    }
    await step(() => cmd.scoreKeyResult({ keyResultId: krs[0] ?? '', score: 0.6 }));
    await step(() => cmd.recordRetrospective({ unitId: team, quarterId, learnings: 'Caching helped', calibrations: [{ keyResultId: krs[1] ?? '', calibration: 'TOO_HARD' }] }));
    if (quarterId === '2026-Q4') {
      clock.t = Math.max(clock.t, Date.parse('2027-01-02T00:00:00Z'));
      await step(() => cmd.closeQuarter(quarterId));
    }
  }
}

/** A value as plain JSON (non-enumerable markers dropped, Dates as ISO), object keys sorted. */
const sortKeys = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(sortKeys) : v !== null && typeof v === 'object'
    ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])])) : v;
const plain = (v: unknown): string => JSON.stringify(sortKeys(JSON.parse(JSON.stringify(v ?? null))));

/** Every ReadModel method for every id and filter the organisation's whole log knows (and one unknown id). */
async function answers(model: ReadModel, all: MemoryReadModel): Promise<Map<string, string>> {
  const ids = (name: 'units' | 'quarters' | 'objectives' | 'keyResults') => [...all.documents(name).docs.keys(), 'missing'];
  const calls: [string, Promise<unknown>][] = [['units()', model.units()], ['quarters()', model.quarters()]];
  for (const q of ids('quarters')) {
    calls.push([`objectives(${q})`, model.objectives({ quarterId: q })], [`keyResults(${q})`, model.keyResults({ quarterId: q })],
      [`checkIns(${q})`, model.checkIns({ quarterId: q })], [`measurements(${q})`, model.measurements({ quarterId: q })],
      [`retrospectives(${q})`, model.retrospectives({ quarterId: q })], [`efforts(${q})`, model.efforts({ quarterId: q })]);
  }
  for (const o of ids('objectives')) calls.push([`objective(${o})`, model.objective(o)], [`keyResultsOf(${o})`, model.keyResultsOf(o)]);
  for (const k of ids('keyResults')) {
    calls.push([`keyResult(${k})`, model.keyResult(k)], [`checkInsOf(${k})`, model.checkInsOf(k)], [`measurementsOf(${k})`, model.measurementsOf(k)]);
  }
  const values = await Promise.all(calls.map(([, p]) => p));
  return new Map(calls.map(([name], i) => [name, plain(values[i])]));
}

/** The history tables at every position of the organisation's log, and the live tables at its head, against the in-memory fold. */
async function everyPosition(orm: MikroORM, org: string): Promise<{ problems: string[]; positions: number }> {
  const sql = sqlOf(orm.em.fork());
  const events: RecordedEvent[] = [];
  for await (const page of store.stream(sql, { organisationId: org })) events.push(...page);
  const all = new MemoryReadModel().apply(events);
  const problems: string[] = [];
  for (let p = 0; p <= events.length; p += 1) {
    const at = events[p - 1]?.recordedAt ?? new Date(0);
    const expected = await answers(new MemoryReadModel(at).apply(events.slice(0, p)), all);
    const actual = await answers(new TemporalReadModel(orm.em.fork(), org, p, at), all);
    for (const [call, want] of expected) if (actual.get(call) !== want && problems.length < 10) problems.push(`${org}@${p} ${call}: memory ${want} != temporal ${actual.get(call)}`);
  }
  const live = await answers(new TableReadModel(orm.em.fork(), org), all);
  for (const [call, want] of await answers(all, all)) if (live.get(call) !== want && problems.length < 20) problems.push(`${org}@head live ${call}: memory ${want} != ${live.get(call)}`);
  return { problems, positions: events.length + 1 };
}

const pending = async (sql: Sql) => (await sql.query<{ reason: string }>('SELECT reason FROM okr_pending_rebuilds')).map((r) => r.reason);

afterAll(async () => {
  await Promise.all(opened.map((orm) => orm.close(true)));
  await dropDatabases(created);
});

describe('a database whose every check-in gave a value', () => {
  const ORGS = ['org-a', 'org-b'];
  let orm: MikroORM;
  let sql: Sql;
  let before: { krs: unknown[]; versions: string };

  beforeAll(async () => {
    const previous = await previousDatabase('valued');
    const clock = { t: Date.parse('2026-12-01T09:00:00Z') };
    const ledger = await previousLedger(previous.orm, () => new Date(clock.t));
    for (const org of ORGS) await story(ledger, org, clock, false);
    const old = sqlOf(previous.orm.em.fork());
    before = {
      krs: await old.query('SELECT organisation_id, id, current, confidence, latest_check_in_as_of, version FROM okr_key_results ORDER BY 1, 2'),
      versions: (await old.query<{ n: string }>('SELECT count(*) AS n FROM okr_key_results_history'))[0]?.n ?? '0',
    };
    await previous.orm.close(true);
    orm = await openDatabase(previous.url);
    opened.push(orm);
    sql = sqlOf(orm.em.fork());
  }, 120_000);

  it('migrates without a rebuild: the new columns filled, the rows as they were', async () => {
    expect(await pending(sql)).toEqual([]);
    expect(await sql.query('SELECT organisation_id, id, current, confidence, latest_check_in_as_of, version FROM okr_key_results ORDER BY 1, 2')).toEqual(before.krs);
    expect((await sql.query<{ n: string }>('SELECT count(*) AS n FROM okr_key_results_history'))[0]?.n).toBe(before.versions);
    for (const table of ['okr_key_results', 'okr_key_results_history']) {
      const [odd] = await sql.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}
        WHERE current_at IS DISTINCT FROM latest_check_in_as_of OR current_source IS NOT NULL OR carried_from IS NOT NULL`);
      expect([table, odd?.n]).toEqual([table, '0']);
    }
    for (const table of ['okr_objectives', 'okr_objectives_history']) {
      const [odd] = await sql.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE carried_to <> '[]'::jsonb OR carried_from IS NOT NULL`);
      expect([table, odd?.n]).toEqual([table, '0']);
    }
    expect(Number((await sql.query<{ n: string }>('SELECT count(*) AS n FROM okr_key_results WHERE current_at IS NOT NULL'))[0]?.n)).toBeGreaterThan(0);
  });

  it('answers as the in-memory fold at every position, and the live tables at the head', async () => {
    for (const org of ORGS) {
      const { problems, positions } = await everyPosition(orm, org);
      expect(problems).toEqual([]);
      expect(positions).toBeGreaterThan(30);
    }
  }, 60_000);

  it('measures and carries over on the migrated database, and the history goes on', async () => {
    const at = () => new Date('2027-03-20T10:00:00Z');
    const cmd = new Commands(new Ledger(orm, at), { organisationId: 'org-a', actor: 'after', correlationId: 'c' });
    const [kr] = await sql.query<{ id: string; objective_id: string }>(
      "SELECT id, objective_id FROM okr_key_results WHERE organisation_id = 'org-a' AND quarter_id = '2027-Q1' ORDER BY seq LIMIT 1",
    );
    await cmd.recordMeasurement({ keyResultId: kr?.id ?? '', value: 17.5, source: 'ci/p95', at: '2027-03-19T23:00:00Z' });
    await cmd.recordCheckIn({ keyResultId: kr?.id ?? '', confidence: 55, value: null, whatChanged: 'numbers from CI' });
    await cmd.planQuarter({ quarterId: '2027-Q2', startsOn: '2027-04-01T00:00:00Z', endsOn: '2027-07-01T00:00:00Z' });
    const { result } = await cmd.carryOverObjective({ objectiveId: kr?.objective_id ?? '', toQuarterId: '2027-Q2' });
    expect(await new TableReadModel(orm.em.fork(), 'org-a').keyResult(kr?.id ?? '')).toMatchObject({ current: 17.5, currentSource: 'ci/p95', confidence: 55 });
    const carried = await new TableReadModel(orm.em.fork(), 'org-a').keyResultsOf(result.objectiveId);
    expect(carried.find((k) => k.carriedFrom === kr?.id)).toMatchObject({ baseline: 17.5, quarterId: '2027-Q2' });
    const { problems } = await everyPosition(orm, 'org-a');
    expect(problems).toEqual([]);
    expect(await verifyLog(sql, 'org-a', { full: true, signing: ephemeralCheckpointKeys().signing })).toMatchObject({ ok: true });
  }, 60_000);
});

describe('a database with check-ins that gave no value', () => {
  it('records a rebuild, which opening runs: current is then the latest reading with a value, at every position', async () => {
    const previous = await previousDatabase('valueless');
    const clock = { t: Date.parse('2026-12-01T09:00:00Z') };
    await story(await previousLedger(previous.orm, () => new Date(clock.t)), 'org-v', clock, true);
    const old = sqlOf(previous.orm.em.fork());
    // The previous rule: a check-in without a value, when latest, left the key result without a current value.
    expect(Number((await old.query<{ n: string }>('SELECT count(*) AS n FROM okr_key_results WHERE current IS NULL AND latest_check_in_as_of IS NOT NULL'))[0]?.n)).toBeGreaterThan(0);
    await previous.orm.getMigrator().up(); // migrated, not yet rebuilt
    expect(await pending(old)).toEqual(['current values follow readings: a check-in without a value no longer blanks them']);
    await previous.orm.close(true);
    const orm = await openDatabase(previous.url);
    opened.push(orm);
    const sql = sqlOf(orm.em.fork());
    expect(await pending(sql)).toEqual([]);
    expect(Number((await sql.query<{ n: string }>('SELECT count(*) AS n FROM okr_key_results WHERE current IS NULL AND latest_check_in_as_of IS NOT NULL'))[0]?.n)).toBe(0);
    const { problems } = await everyPosition(orm, 'org-v');
    expect(problems).toEqual([]);
  }, 120_000);
});

it('migrates an empty database without a rebuild, and the first measurement starts its history', async () => {
  const previous = await previousDatabase('empty');
  await previous.orm.close(true);
  const orm = await openDatabase(previous.url);
  opened.push(orm);
  const sql = sqlOf(orm.em.fork());
  expect(await pending(sql)).toEqual([]);
  const at = new Date('2027-01-15T10:00:00Z');
  let n = 0;
  const cmd = new Commands(new Ledger(orm, () => at), { organisationId: 'org-new', actor: 'a', correlationId: 'c' }, () => `id-${++n}`);
  const company = (await cmd.registerUnit({ name: 'Co', level: 'COMPANY', parentId: null })).result.unitId;
  await cmd.planQuarter({ quarterId: '2027-Q1', startsOn: '2027-01-01T00:00:00Z', endsOn: '2027-04-01T00:00:00Z' });
  const objectiveId = (await cmd.draftObjective({ unitId: company, quarterId: '2027-Q1', title: 'Fast' })).result.objectiveId;
  const keyResultId = (await cmd.defineKeyResult({ objectiveId, title: 'p95 from 40 to 15', metric: 'p95', baseline: 40, target: 15 })).result.keyResultId;
  await cmd.recordMeasurement({ keyResultId, value: 33, source: 'ci' });
  expect(await sql.query('SELECT id, valid_from, valid_to FROM okr_measurements_history')).toEqual([{ id: `keyResult-${keyResultId}/2`, valid_from: '5', valid_to: null }]);
});
