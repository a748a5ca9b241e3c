import { DomainError } from '../domain/errors';
import { EVENT_TYPES, type Calibration, type CheckInCadence, type ProcessActivity, type RecordedEvent } from '../events/catalogue';
import { ConcurrencyError } from '../events/errors';
import { EventStore } from '../events/store';
import type { Doc } from '../projections/docs';
import { MemoryReadModel, type DocumentSet } from '../projections/memory';
import { READ_MODELS, type ReadModelName } from '../projections/models';
import type { ReadModel } from '../projections/readModel';
import { TableReadModel, TemporalReadModel } from '../projections/tables';
import { Commands } from '../src/commands';
import { History } from '../src/history';
import { Ledger } from '../src/ledger';
import { rebuildProjections } from '../src/rebuild';
import { createTestDatabase, totalEvents, type TestDatabase } from './support/database';
import { snapshotDifferences, snapshotReadModels, type Snapshot } from './support/faults';

/*
 * Temporal read models against their reference. A seeded random workload (3 organisations, concurrent
 * writers, every kind of command, refusals and conflicts included) goes through the real write path;
 * then at EVERY position of every organisation's log, the TemporalReadModel (history tables) must answer
 * every ReadModel method, for every id and filter, exactly as the MemoryReadModel folded over the log up
 * to that position; the history rows valid there must be exactly the reference's documents; History maps
 * each recorded instant to its position. The live TableReadModel equals the reference at the head. A
 * rebuild run while appends and reads continue (one append during the build, one waiting for the swap)
 * reproduces the history the live path wrote, row for row, readers never see it half done, and what the
 * write path leaves afterwards equals a second rebuild (in pages that split documents' versions).
 */

const SEED = 20261205;
const HOUR = 3_600_000;
const LONG = 120_000;
const ORGS = ['org-a', 'org-b', 'org-c'];
const QUARTERS = [
  { quarterId: '2026-Q4', startsOn: '2026-10-01T00:00:00Z', endsOn: '2027-01-01T00:00:00Z' },
  { quarterId: '2027-Q1', startsOn: '2027-01-01T00:00:00Z', endsOn: '2027-04-01T00:00:00Z' },
];
const TEXTS = ['Retries added', 'Vendor "SDK", finally', 'Line one\nline two', 'Ça avance — lentement'];

/** A seeded PRNG (mulberry32): the same commands for the same seed (their interleaving is up to the writers). */
type Rng = () => number;
const mulberry32 = (seed: number): Rng => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    const t = Math.imul(a ^ (a >>> 15), a | 1);
    const u = t ^ (t + Math.imul(t ^ (t >>> 7), t | 61));
    return ((u ^ (u >>> 14)) >>> 0) / 4294967296;
  };
};
const int = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
const chance = (rng: Rng, p: number): boolean => rng() < p;
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)] as T;

/** The writers' shared clock: it only moves forward. */
let now = Date.parse('2026-12-14T09:00:00.000Z');
const clock = (): Date => new Date(now);

/** What the writers know of an organisation (the log decides what is true). */
interface World {
  org: string;
  units: { id: string; parentId: string | null }[];
  objectives: { id: string; unitId: string; quarterId: string }[];
  keyResults: { id: string; unitId: string; quarterId: string; baseline: number }[];
}
/** Runs a command; the domain may refuse it or a stream may have moved, which the workload counts and moves on. */
const tally = { ok: 0, refused: 0, conflicts: 0 };
const attempt = (work: () => Promise<unknown>): Promise<void> =>
  work().then(() => void (tally.ok += 1), (error: unknown) => {
    if (error instanceof DomainError) tally.refused += 1;
    else if (error instanceof ConcurrencyError) tally.conflicts += 1;
    else throw error;
  });

let db: TestDatabase;
let ledger: Ledger;
const commands = (org: string, actor: string): Commands => {
  let n = 0;
  return new Commands(ledger, { organisationId: org, actor, correlationId: `${actor}-corr` }, () => `${org}-${actor}-${++n}`);
};

async function draft(cmd: Commands, rng: Rng, world: World, unitId: string, quarterId: string): Promise<void> {
  const description = chance(rng, 0.5) ? pick(rng, TEXTS) : null;
  const { result } = await cmd.draftObjective({ unitId, quarterId, title: `Objective ${int(rng, 1, 999)}, "better"`, description, aspirational: chance(rng, 0.6) });
  world.objectives.push({ id: result.objectiveId, unitId, quarterId });
  const baseline = int(rng, 0, 100);
  const target = baseline + int(rng, 5, 50);
  const kr = await cmd.defineKeyResult({ objectiveId: result.objectiveId, title: `KR ${int(rng, 1, 999)}`, metric: 'p95 ms', unit: pick(rng, ['%', null]), baseline, target });
  world.keyResults.push({ id: kr.result.keyResultId, unitId, quarterId, baseline });
}

async function setUp(rng: Rng, org: string): Promise<World> {
  const cmd = commands(org, 'admin');
  const world: World = { org, units: [], objectives: [], keyResults: [] };
  const unit = async (name: string, level: 'COMPANY' | 'FUNCTION' | 'TEAM', parentId: string | null): Promise<string> => {
    const id = (await cmd.registerUnit({ name, level, parentId })).result.unitId;
    world.units.push({ id, parentId });
    return id;
  };
  const company = await unit(`${org} Inc.`, 'COMPANY', null);
  for (let f = 0; f < 2; f += 1) {
    const fn = await unit(`Function ${f}`, 'FUNCTION', company);
    for (let t = int(rng, 1, 2); t > 0; t -= 1) await unit(`Team ${f}.${t}, "the ${t}s"`, 'TEAM', fn);
  }
  for (const quarter of QUARTERS) {
    await cmd.planQuarter(quarter);
    for (const unit of world.units) await draft(cmd, rng, world, unit.id, quarter.quarterId);
  }
  return world;
}

/** One random command against a random organisation (refusals and conflicts are part of the workload). */
async function randomCommand(rng: Rng, worlds: World[], cmds: Map<string, Commands>): Promise<void> {
  now += Math.round(rng() * 3 * HOUR);
  const world = pick(rng, worlds);
  const cmd = cmds.get(world.org) as Commands;
  const kr = pick(rng, world.keyResults);
  const objective = pick(rng, world.objectives);
  const unit = pick(rng, world.units);
  const quarterId = pick(rng, QUARTERS).quarterId;
  const text = (p: number): string | null => (chance(rng, p) ? pick(rng, TEXTS) : null);
  const self = world.units.find((u) => u.id === objective.unitId);
  const parents = world.objectives.filter((o) => o.quarterId === objective.quarterId && o.unitId === self?.parentId);
  const own = world.keyResults.filter((k) => k.unitId === unit.id && k.quarterId === quarterId).slice(0, 2);
  const carryOver = async () => {
    // Mostly from 2026-Q4 into 2027-Q1, whose setting window is open; the other way round is refused.
    const from = chance(rng, 0.8) ? pick(rng, world.objectives.filter((o) => o.quarterId === '2026-Q4')) : objective;
    const toQuarterId = QUARTERS.find((q) => q.quarterId !== from.quarterId)?.quarterId ?? quarterId;
    const { events } = await cmd.carryOverObjective({ objectiveId: from.id, toQuarterId, keyResultIds: chance(rng, 0.2) ? [] : null });
    for (const e of events) {
      const d = e.data as { objectiveId: string; keyResultId?: string; unitId: string; quarterId: string; baseline?: number };
      if (e.type === 'ObjectiveDrafted') world.objectives.push({ id: d.objectiveId, unitId: d.unitId, quarterId: d.quarterId });
      if (e.type === 'KeyResultDefined') world.keyResults.push({ id: d.keyResultId ?? '', unitId: d.unitId, quarterId: d.quarterId, baseline: d.baseline ?? 0 });
    }
  };
  const commandsByWeight: [number, () => Promise<unknown>][] = [
    [25, () => cmd.recordCheckIn({ keyResultId: kr.id, confidence: int(rng, 0, 100), value: chance(rng, 0.1) ? null : int(rng, 0, 9999) / 100,
      whatChanged: text(1), asOf: chance(rng, 0.3) ? new Date(now - rng() * 5 * 24 * HOUR).toISOString() : null }, chance(rng, 0.05) ? { expectedVersion: 999 } : undefined)],
    // Pinned to a stale version now and then: a ConcurrencyError, which the ledger does not retry.
    [8, () => cmd.reviseKeyResult({ keyResultId: kr.id, reason: pick(rng, TEXTS), target: kr.baseline + int(rng, 1, 80), title: chance(rng, 0.3) ? `Revised ${int(rng, 1, 99)}` : null },
      chance(rng, 0.4) ? { expectedVersion: 1 } : undefined)],
    [10, () => cmd.scoreKeyResult({ keyResultId: kr.id, score: int(rng, 0, 100) / 100, note: chance(rng, 0.6) ? 'final numbers' : null })],
    [4, () => cmd.retireObjective({ objectiveId: objective.id, reason: pick(rng, TEXTS) })],
    [6, () => cmd.recordRetrospective({ unitId: unit.id, quarterId, learnings: pick(rng, TEXTS),
      calibrations: own.map((k) => ({ keyResultId: k.id, calibration: pick<Calibration>(rng, ['TOO_EASY', 'RIGHT', 'TOO_HARD']) })) })],
    [12, () => cmd.logProcessEffort({ unitId: unit.id, quarterId, activity: pick<ProcessActivity>(rng, ['SETTING', 'CHECK_IN', 'SCORING', 'RETROSPECTIVE']),
      personDays: int(rng, 1, 30) / 20, note: text(0.3) })],
    [4, () => cmd.setCheckInCadence({ unitId: unit.id, cadence: pick<CheckInCadence>(rng, ['BIWEEKLY', 'MONTHLY']) })],
    [6, () => cmd.refineObjective({ objectiveId: objective.id, title: `Refined ${int(rng, 1, 99)}`, description: text(0.5) })],
    [7, () => cmd.alignObjective({ objectiveId: objective.id, parentId: parents.length > 0 && chance(rng, 0.8) ? pick(rng, parents).id : null })],
    [10, () => cmd.commitObjective({ objectiveId: objective.id })],
    [8, () => draft(cmd, rng, world, unit.id, quarterId)],
    [14, () => cmd.recordMeasurement({ keyResultId: kr.id, value: int(rng, -500, 99999) / 100, source: pick(rng, ['ci/p95', 'grafana "errors"', 'Überwachung']),
      at: chance(rng, 0.5) ? new Date(now - rng() * 5 * 24 * HOUR).toISOString() : null })],
    [6, carryOver],
  ];
  let roll = rng() * commandsByWeight.reduce((sum, [w]) => sum + w, 0);
  for (const [weight, run] of commandsByWeight) {
    roll -= weight;
    if (roll < 0) return attempt(run);
  }
}

async function runWriters(worlds: World[], writers: number, each: number, seed: number): Promise<void> {
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    const rng = mulberry32(seed + 7919 * w);
    const cmds = new Map(worlds.map((world) => [world.org, commands(world.org, `w${seed}.${w}`)]));
    for (let i = 0; i < each; i += 1) await randomCommand(rng, worlds, cmds);
  }));
}

/** A value as plain JSON (non-enumerable markers dropped, Dates as ISO), object keys sorted. */
const sortKeys = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(sortKeys) : v !== null && typeof v === 'object'
    ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])])) : v;
const plain = (v: unknown): string => JSON.stringify(sortKeys(JSON.parse(JSON.stringify(v ?? null))));

/** The ids to ask about, by projection name: every document of the reference, and one that never exists. */
interface Ids { units: Set<string>; quarters: Set<string>; objectives: Set<string>; keyResults: Set<string> }
const idsOf = (m: MemoryReadModel): Ids => {
  const of = (set: DocumentSet<Doc>) => new Set([...set.docs.keys(), 'missing']);
  return { units: of(m.documents('units')), quarters: of(m.documents('quarters')), objectives: of(m.documents('objectives')), keyResults: of(m.documents('keyResults')) };
};

/** Every ReadModel method, for every id and filter in `ids`, as plain JSON by call. */
async function answers(model: ReadModel, ids: Ids): Promise<Map<string, string>> {
  // First, while nothing is loaded yet: objectives read with their key results in one round trip must
  // give the key results a separate read would (the live and history tables prime keyResultsOf).
  const withKeyResults: [string, Promise<unknown>][] = [];
  for (const q of ids.quarters) {
    for (const u of [null, ...ids.units]) {
      const found = await model.objectives({ quarterId: q, unitId: u }, { keyResults: true });
      withKeyResults.push([`objectives(${q},${u}) with keyResultsOf`, Promise.all(found.map(async (o) => [o, await model.keyResultsOf(o.id)]))]);
    }
  }
  const calls: [string, Promise<unknown>][] = [...withKeyResults, ['units()', model.units()], ['quarters()', model.quarters()]];
  for (const u of ids.units) calls.push([`unit(${u})`, model.unit(u)], [`childUnits(${u})`, model.childUnits(u)]);
  for (const q of ids.quarters) {
    calls.push([`quarter(${q})`, model.quarter(q)], [`objectives(${q})`, model.objectives({ quarterId: q })], [`keyResults(${q})`, model.keyResults({ quarterId: q })],
      [`retrospectives(${q})`, model.retrospectives({ quarterId: q })], [`checkIns(${q})`, model.checkIns({ quarterId: q })], [`efforts(${q})`, model.efforts({ quarterId: q })]);
    for (const u of ids.units) {
      calls.push([`objectives(${q},${u})`, model.objectives({ quarterId: q, unitId: u })], [`keyResults(${q},${u})`, model.keyResults({ quarterId: q, unitId: u })],
        [`retrospectives(${q},${u})`, model.retrospectives({ quarterId: q, unitId: u })], [`effort(${u},${q})`, model.effort(u, q)]);
    }
  }
  for (const o of ids.objectives) calls.push([`objective(${o})`, model.objective(o)], [`contributors(${o})`, model.contributors(o)], [`keyResultsOf(${o})`, model.keyResultsOf(o)]);
  for (const k of ids.keyResults) {
    calls.push([`keyResult(${k})`, model.keyResult(k)], [`checkInsOf(${k})`, model.checkInsOf(k)], [`measurementsOf(${k})`, model.measurementsOf(k)]);
  }
  for (const q of ids.quarters) calls.push([`measurements(${q})`, model.measurements({ quarterId: q })]);
  const values = await Promise.all(calls.map(([, p]) => p));
  return new Map(calls.map(([name], i) => [name, plain(values[i])]));
}

function diff(where: string, expected: Map<string, string>, actual: Map<string, string>, out: string[]): void {
  for (const [call, want] of expected) {
    const got = actual.get(call);
    if (got === want || out.length >= 20) continue;
    let at = 0;
    while (at < want.length && want[at] === got?.[at]) at += 1;
    const near = (s: string | undefined) => s?.slice(Math.max(0, at - 120), at + 120);
    out.push(`${where} ${call}, from character ${at}: memory …${near(want)}… != temporal …${near(got)}…`);
  }
}

/** Each projection's documents in the reference, with the history table its versions live in. */
const historyOf = (name: string): string => READ_MODELS[name as ReadModelName].history;
const docSets = (m: MemoryReadModel): DocumentSet<Doc>[] => (Object.keys(READ_MODELS) as ReadModelName[]).map((name) => m.documents(name));

async function logOf(org: string): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const page of new EventStore().stream(db.sql, { organisationId: org })) events.push(...page);
  return events;
}

/** Compares temporal and reference at every position in [from, head] of each organisation; returns how many. */
async function checkPositions(from: Record<string, number>, problems: string[]): Promise<number> {
  const history = new History(db.orm);
  const counts = await Promise.all(ORGS.map(async (org) => {
    const events = await logOf(org);
    expect(events.map((e) => e.position)).toEqual(events.map((_, i) => i + 1));
    const ids = idsOf(new MemoryReadModel().apply(events));
    let checked = 0;
    for (let p = from[org] ?? 0; p <= events.length; p += 1) {
      const at = events[p - 1]?.recordedAt ?? new Date(Date.parse('2026-01-01T00:00:00Z'));
      const reference = new MemoryReadModel(at).apply(events.slice(0, p));
      const temporal = new TemporalReadModel(db.orm.em.fork(), org, p, at);
      // The versions valid at p are exactly the reference's documents (nothing missing, nothing extra).
      const sets = docSets(reference);
      const valid = await db.sql.query<{ t: string; id: string }>(sets.map((set) => `SELECT '${set.projection.name}' AS t, id FROM ${historyOf(set.projection.name)}
        WHERE organisation_id = ? AND valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)`).join(' UNION ALL '), sets.flatMap(() => [org, p, p]));
      for (const set of sets) {
        const got = valid.filter((r) => r.t === set.projection.name).map((r) => r.id).sort();
        if (plain(got) !== plain([...set.docs.keys()].sort())) problems.push(`${org}@${p} ${set.projection.name}: valid ids ${plain(got)}`);
      }
      for (const r of valid) if (r.t in ids) ids[r.t as keyof Ids].add(r.id); // and whatever the history holds
      diff(`${org}@${p}`, await answers(reference, ids), await answers(temporal, ids), problems);
      const expectedPosition = p === 0 ? 0 : Math.max(...events.filter((e) => e.recordedAt.getTime() <= at.getTime()).map((e) => e.position));
      const mapped = await history.positionAt(org, at);
      if (mapped !== expectedPosition) problems.push(`${org}: History.positionAt(${at.toISOString()}) = ${mapped}, expected ${expectedPosition}`);
      checked += 1;
    }
    return checked;
  }));
  return counts.reduce((a, b) => a + b, 0);
}

const heads = async (): Promise<Record<string, number>> =>
  Object.fromEntries((await db.sql.query<{ o: string; p: string }>('SELECT organisation_id AS o, position AS p FROM okr_log_heads')).map((h) => [h.o, Number(h.p)]));

describe('temporal read models', () => {
  let worlds: World[];

  beforeAll(async () => {
    db = await createTestDatabase('temporal');
    ledger = new Ledger(db.orm, clock);
    const rng = mulberry32(SEED);
    worlds = [];
    for (const org of ORGS) worlds.push(await setUp(rng, org));
    await runWriters(worlds, 6, 40, SEED + 1);
    now = Math.max(now, Date.parse('2027-01-02T00:00:00Z'));
    for (const org of ORGS) await attempt(() => commands(org, 'admin').closeQuarter('2026-Q4'));
    await runWriters(worlds, 6, 15, SEED + 2);
  }, LONG);
  afterAll(() => db.drop());

  it('ran a workload with every event type, refusals and conflicts, in every organisation', async () => {
    const types = await db.sql.query<{ type: string }>('SELECT DISTINCT type FROM okr_events');
    console.log(`workload: ${JSON.stringify(tally)}, ${await totalEvents(db.sql)} events, heads ${JSON.stringify(await heads())}`);
    expect(EVENT_TYPES.filter((t) => !types.some((r) => r.type === t))).toEqual([]);
    expect(tally.refused).toBeGreaterThan(0);
    expect(tally.conflicts).toBeGreaterThan(0);
    // The writers really interleaved: consecutive positions of one organisation by different writers.
    const [switches] = await db.sql.query<{ n: string }>(`SELECT count(*) AS n FROM (SELECT metadata->>'actor' AS a,
      lag(metadata->>'actor') OVER (PARTITION BY organisation_id ORDER BY position) AS b FROM okr_events) x WHERE a <> b AND a LIKE 'w%' AND b LIKE 'w%'`);
    expect(Number(switches?.n)).toBeGreaterThan(50);
    expect(Object.values(await heads()).every((h) => h > 60)).toBe(true);
  });

  it('appended every carry-over whole: the link, the draft and its key results, at consecutive positions of one instant', async () => {
    const links = await db.sql.query<{ organisation_id: string; position: string; recorded_at: Date; to: string; causation: string }>(
      `SELECT organisation_id, position, recorded_at, data->>'toObjectiveId' AS to, metadata->>'causationId' AS causation
         FROM okr_events WHERE type = 'ObjectiveCarriedOver' ORDER BY organisation_id, position`,
    );
    console.log(`carry-overs: ${links.length}`);
    expect(links.length).toBeGreaterThanOrEqual(5);
    let carriedKeyResults = 0;
    for (const link of links) {
      const command = await db.sql.query<{ position: string; type: string; recorded_at: Date; objective: string }>(
        `SELECT position, type, recorded_at, coalesce(data->>'objectiveId', '') AS objective FROM okr_events
          WHERE organisation_id = ? AND metadata->>'causationId' = ? ORDER BY position`,
        [link.organisation_id, link.causation],
      );
      expect(command.map((e) => Number(e.position) - Number(link.position))).toEqual(command.map((_, i) => i));
      expect(new Set(command.map((e) => new Date(e.recorded_at).getTime()))).toEqual(new Set([new Date(link.recorded_at).getTime()]));
      expect(command.slice(0, 2).map((e) => e.type)).toEqual(['ObjectiveCarriedOver', 'ObjectiveDrafted']);
      expect(command.slice(2).every((e) => e.type === 'KeyResultDefined' && e.objective === link.to)).toBe(true);
      carriedKeyResults += command.length - 2;
    }
    expect(carriedKeyResults).toBeGreaterThan(0);
  });

  it('answers like the in-memory fold at every position of every organisation', async () => {
    const problems: string[] = [];
    const t0 = performance.now();
    const checked = await checkPositions({}, problems);
    console.log(`temporal vs memory: ${checked} positions checked in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    expect(problems).toEqual([]);
    expect(checked).toBe(Object.values(await heads()).reduce((a, b) => a + b + 1, 0));
  }, LONG);

  it('has the live tables equal to the in-memory fold at the head', async () => {
    const problems: string[] = [];
    for (const org of ORGS) {
      const reference = new MemoryReadModel().apply(await logOf(org));
      diff(`${org}@head`, await answers(reference, idsOf(reference)), await answers(new TableReadModel(db.orm.em.fork(), org), idsOf(reference)), problems);
    }
    expect(problems).toEqual([]);
  });

  it('rebuilds while appends and reads run: the history is what the live path wrote, and later appends fold onto it', async () => {
    const before: Snapshot = await snapshotReadModels(db.orm, db.sql);
    const headsBefore = await heads();
    const eventsBefore = await totalEvents(db.sql);
    const late = (actor: string) => commands('org-a', actor).logProcessEffort({ unitId: worlds[0]?.units[0]?.id ?? '', quarterId: '2027-Q1', activity: 'SETTING', personDays: 0.5 });
    const pause = () => new Promise((r) => setTimeout(r, 5));
    // Readers throughout: the model at the old head must keep answering as the reference, never failing.
    const fixed = new MemoryReadModel().apply((await logOf('org-a')).slice(0, headsBefore['org-a']));
    const expected = plain(await fixed.objectives({ quarterId: '2027-Q1' }));
    const readerProblems: string[] = [];
    let reading = true;
    const reader = (async () => {
      for (let reads = 0; reading || reads === 0; reads += 1) {
        const got = await new TemporalReadModel(db.orm.em.fork(), 'org-a', headsBefore['org-a'] ?? 0, new Date(now)).objectives({ quarterId: '2027-Q1' })
          .then(plain, (e: Error) => `error: ${e.message}`);
        if (got !== expected && readerProblems.length < 5) readerProblems.push(got.slice(0, 300));
        const live = await new TableReadModel(db.orm.em.fork(), 'org-a').units().then((u) => u.length, (e: Error) => e.message);
        if (typeof live !== 'number' && readerProblems.length < 5) readerProblems.push(`live: ${live}`);
      }
    })();
    const writers: Promise<unknown>[] = [runWriters(worlds, 4, 12, SEED + 3)];
    let swapWaited = false;
    while ((await totalEvents(db.sql)) < eventsBefore + 5) await pause();
    const waiting = "SELECT count(*) AS n FROM pg_locks WHERE relation = 'okr_log_heads'::regclass AND NOT granted";
    const summary = await rebuildProjections(db.orm, {
      // An append committed while the new tables are built (a catch-up round must fold it) ...
      async onProgress(done) {
        if (done === 0 && writers.length === 1) await writers[writers.push(late('during-build')) - 1];
      },
      // ... and one that waits for the swap under the lock, then folds its event onto the new tables.
      async beforeCommit() {
        writers.push(late('during-swap'));
        for (let i = 0; i < 400 && !swapWaited; i += 1) swapWaited = Number((await db.sql.query<{ n: string }>(waiting))[0]?.n) > 0 || (await pause(), false);
      },
    });
    await Promise.all(writers);
    reading = false;
    await reader;
    const eventsAfter = await totalEvents(db.sql);
    console.log(`rebuild during appends: ${eventsBefore} events before, ${summary.events} folded, ${eventsAfter} after; ${JSON.stringify(summary.lockedMs)} ms locked`);
    expect(readerProblems).toEqual([]);
    expect(swapWaited).toBe(true);
    const lates = await db.sql.query<{ a: string }>("SELECT metadata->>'actor' AS a FROM okr_events WHERE metadata->>'actor' LIKE 'during-%' ORDER BY 1");
    expect(lates.map((r) => r.a)).toEqual(['during-build', 'during-swap']);
    expect(summary.headPosition).toBeGreaterThan(eventsBefore + 5); // writers appended before and during the build
    expect(eventsAfter).toBeGreaterThan(summary.headPosition); // the swap's waiter, at least, came after

    // Every history row the live path had written is there as it was (only open versions may have been closed since).
    const after = await snapshotReadModels(db.orm, db.sql);
    const upTo = (r: Record<string, unknown>): number => headsBefore[String(r.organisation_id)] ?? 0;
    const histories = (snap: Snapshot, f: (rows: Snapshot[string]) => Snapshot[string]) => Object.fromEntries(Object.entries(snap).filter(([t]) => t.endsWith('_history')).map(([t, rows]) => [t, f(rows)]));
    expect(snapshotDifferences(histories(before, (rows) => rows),
      histories(after, (rows) => rows.filter((r) => Number(r.valid_from) <= upTo(r)).map((r) => (Number(r.valid_to) > upTo(r) ? { ...r, valid_to: null } : r))))).toEqual([]);

    // What the write path left after the concurrent rebuild equals a rebuild of the whole log, and the
    // positions appended since answer like the reference too.
    await rebuildProjections(db.orm, { batchSize: 7 }); // pages that split documents' versions
    expect(snapshotDifferences(after, await snapshotReadModels(db.orm, db.sql))).toEqual([]);
    const problems: string[] = [];
    const checked = await checkPositions(headsBefore, problems);
    console.log(`after the rebuild: ${checked} more positions checked`);
    expect(problems).toEqual([]);
  }, LONG);
});
