import { createHash } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Calibration, ProcessActivity } from '../events/catalogue';
import type { CheckpointSigning } from '../events/checkpoints';
import { EARLIEST_INSTANT, EARLIEST_MS, isoYear, utcDate } from '../domain/calendar';
import { Commands } from './commands';
import { sqlOf } from './database';
import { Ledger } from './ledger';
import {
  CURRENT,
  EFFORT,
  LEADERS,
  PREVIOUS,
  TEAMS,
  UNITS,
  type KeyResultSpec,
  type QuarterContent,
  type TeamKey,
  type UnitKey,
} from './seedContent';

/*
 * A realistic demo organisation, written only through `Commands` (exactly what real use appends) on
 * a simulated clock that walks forward from the previous quarter's setting window to "now": a closed,
 * scored previous quarter with retrospectives, and the current quarter part-way through its check-ins.
 * Everything is derived from `now` and fixed tables below, so the same `now` gives the same history
 * (ids included). A few flaws are deliberate, for the health checks to find: an OUTPUT key result,
 * a team whose check-ins stop, a target lowered mid-quarter, a team over its process-effort budget.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The seed refuses to run: the organisation (or the database's log) already holds history. */
export class SeedRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SeedRefusedError';
  }
}

export interface SeedOptions {
  organisationId: string;
  /** The real present: the current quarter contains it and nothing is recorded after it. Default: the wall clock. */
  now?: Date;
  /** Signs a checkpoint with the previous quarter's close, as the server does; none without it. */
  checkpoints?: CheckpointSigning;
}

export interface QuarterWindow {
  id: string;
  startsOn: Date;
  endsOn: Date;
  settingOpensOn: Date;
}

/**
 * What README's examples need from the demo, by the placeholder they use: quarters, an instant in the
 * past, and the ids of a few units, objectives and a key result.
 */
export interface ExampleIds {
  nextQuarter: QuarterWindow;
  /** A past instant inside the current quarter's history, for `asOf` and back-dated check-ins. */
  earlierInstant: Date;
  company: { id: string; name: string };
  function: { id: string; name: string };
  team: { id: string; name: string };
  functionObjective: { id: string; title: string };
  objective: { id: string; title: string };
  keyResult: { id: string; title: string };
  /** An unfinished objective of the team in the previous, closed quarter (to carry over). */
  previousObjective: { id: string; title: string };
  /** The Platform team's CI pipeline duration key result (for a CI job to measure). */
  ciKeyResult: { id: string; title: string };
}

export interface SeedSummary {
  organisationId: string;
  currentQuarter: QuarterWindow;
  previousQuarter: QuarterWindow;
  examples: ExampleIds;
  units: number;
  objectives: number;
  keyResults: number;
  checkIns: number;
  revisions: number;
  scores: number;
  retrospectives: number;
  effortEntries: number;
  events: number;
  firstRecordedAt: Date;
  lastRecordedAt: Date;
}

// ---- quarters ------------------------------------------------------------------------------------

/** Setting opens three weeks before a quarter starts (the article: two to three weeks). */
export const SETTING_WINDOW_DAYS = 21;

function calendarQuarter(year: number, index: number): QuarterWindow {
  // Month overflow is normalised, so index -1 is the previous year's Q4; years below 100 stay as given.
  const startsOn = utcDate(year, index * 3, 1);
  const endsOn = utcDate(year, index * 3 + 3, 1);
  return {
    id: `${isoYear(startsOn.getUTCFullYear())}-Q${Math.floor(startsOn.getUTCMonth() / 3) + 1}`,
    startsOn,
    endsOn,
    settingOpensOn: new Date(startsOn.getTime() - SETTING_WINDOW_DAYS * DAY),
  };
}

/** The calendar quarter (UTC) containing `at`, with its id such as 2026-Q4. */
export function quarterContaining(at: Date): QuarterWindow {
  return calendarQuarter(at.getUTCFullYear(), Math.floor(at.getUTCMonth() / 3));
}

export function quarterBefore(quarter: QuarterWindow): QuarterWindow {
  return calendarQuarter(quarter.startsOn.getUTCFullYear(), Math.floor(quarter.startsOn.getUTCMonth() / 3) - 1);
}

export function quarterAfter(quarter: QuarterWindow): QuarterWindow {
  return calendarQuarter(quarter.startsOn.getUTCFullYear(), Math.floor(quarter.startsOn.getUTCMonth() / 3) + 1);
}

/** What README's examples use: the Payments team's reliability objective and its first key result, and so on. */
const EXAMPLE_UNITS = { company: 'company', function: 'engineering', team: 'payments' } as const;
const EXAMPLE_OBJECTIVES = { functionObjective: 'eng-reliability', objective: 'pay-reliability', previousObjective: 'pay-payouts', ciObjective: 'plat-speed' } as const;


// ---- simulation helpers --------------------------------------------------------------------------

/** A clock that only moves forward and never passes `limit` (the real now). */
class SimulatedClock {
  private current: number;

  constructor(
    start: number,
    private readonly limit: number,
  ) {
    this.current = Math.min(start, limit);
  }

  readonly now = (): Date => new Date(this.current);

  moveTo(at: number): void {
    this.current = Math.min(this.limit, Math.max(this.current, at));
  }

  advance(ms: number): void {
    this.moveTo(this.current + ms);
  }
}

/** Name-based (version 5) UUIDs: the same organisation and sequence number give the same id. */
function deterministicIds(organisationId: string, purpose: string): () => string {
  let n = 0;
  return () => {
    n += 1;
    const bytes = createHash('sha1').update(`okr-ledger-demo/${organisationId}/${purpose}/${n}`).digest().subarray(0, 16);
    bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
    bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
    const hex = bytes.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };
}

const WOBBLE = [0, 0.6, -0.4, 0.3, -0.7, 0.5, -0.2, 0.8, -0.5] as const;
const CONFIDENCE_WOBBLE = [0, 3, -2, 4, -3, 2, -1, 3, -4] as const;
const pick = (table: readonly number[], i: number): number => table[i % table.length] ?? 0;

const roundTo = (value: number, decimals: number): number => {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
};

/** 1450 -> "1,450", 0.80 -> "0.8": the way people write metrics in check-ins. */
function formatNumber(value: number, decimals: number): string {
  const [whole = '0', fraction] = String(roundTo(value, decimals)).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return fraction ? `${grouped}.${fraction}` : grouped;
}

const withUnit = (value: number, kr: KeyResultSpec): string =>
  `${formatNumber(value, kr.decimals)}${kr.unit === '%' ? '%' : kr.unit ? ` ${kr.unit}` : ''}`;

/** Where the metric ends the quarter. */
const finalValue = (kr: KeyResultSpec): number => roundTo(kr.baseline + (kr.target - kr.baseline) * kr.reaches, kr.decimals);

/** The reading `progress` (0..1) of the way through the quarter: a slow start, then steady, with noise. */
function valueAt(kr: KeyResultSpec, progress: number, salt: number): number {
  const final = finalValue(kr);
  const eased = Math.min(1, progress) ** 1.2;
  const noise = progress > 0.1 ? pick(WOBBLE, salt) * 0.05 * Math.abs(final - kr.baseline) : 0;
  return roundTo(kr.baseline + (final - kr.baseline) * eased + noise, kr.decimals);
}

/** Confidence drifts from a hopeful start towards what the key result will actually reach. */
function confidenceAt(kr: KeyResultSpec, committed: boolean, progress: number, salt: number): number {
  const start = committed ? 70 : 60;
  const end = Math.min(95, Math.max(5, 15 + 80 * Math.min(kr.reaches, 1)));
  const value = Math.round(start + (end - start) * Math.min(1, progress)) + pick(CONFIDENCE_WOBBLE, salt);
  return Math.min(100, Math.max(0, value));
}

const clamp01 = (x: number): number => Math.min(1, Math.max(0, x));

/** The calibration a retrospective would give, unless the content says otherwise. */
function calibrationOf(kr: KeyResultSpec, score: number, committed: boolean): Calibration {
  if (kr.calibration) return kr.calibration;
  if (!committed && score >= 0.95) return 'TOO_EASY';
  if (score < 0.4) return 'TOO_HARD';
  return 'RIGHT';
}

// ---- the schedule --------------------------------------------------------------------------------

interface Step {
  at: number;
  seq: number;
  /** Skipped when it falls after now (current-quarter activity); required steps are squeezed before now. */
  optional: boolean;
  actor: string;
  run(commands: Commands): Promise<void>;
}

interface PlacedKeyResult {
  id: string;
  spec: KeyResultSpec;
  unit: UnitKey;
  committed: boolean;
  baseline: number;
  target: number;
}

const leadOf = (key: UnitKey): string => UNITS.find((u) => u.key === key)?.lead ?? 'Amara Okafor';
const at = (base: Date, days: number, hours = 9, minutes = 0): number => base.getTime() + days * DAY + hours * HOUR + minutes * MINUTE;

async function count(orm: MikroORM, text: string, params: unknown[]): Promise<number> {
  const rows = await sqlOf(orm.em.fork()).query<{ n: number | string | null }>(text, params);
  return Number(rows[0]?.n ?? 0);
}

/**
 * Fills an empty organisation with the demo, through `Commands` only, on a simulated clock that ends
 * at or before `now`. Refuses (SeedRefusedError, nothing appended) when the organisation has events,
 * or when the database's log already has events later than the demo's back-dated start.
 */
export async function seedDemo(orm: MikroORM, options: SeedOptions): Promise<SeedSummary> {
  const organisationId = options.organisationId;
  const now = (options.now ?? new Date()).getTime();
  if (!Number.isFinite(now)) throw new RangeError('seedDemo: options.now is not a valid date.');
  const current = quarterContaining(new Date(now));
  const previous = quarterBefore(current);
  const start = at(previous.settingOpensOn, -3);
  if (start < EARLIEST_MS) {
    throw new SeedRefusedError(
      `The demo's history would start on ${new Date(start).toISOString()}, before ${EARLIEST_INSTANT}, the earliest instant the ledger keeps: seed with a later --now.`,
    );
  }

  const existing = await count(orm, 'SELECT count(*)::int AS n FROM okr_events WHERE organisation_id = ?', [organisationId]);
  if (existing > 0) {
    throw new SeedRefusedError(
      `Organisation "${organisationId}" already has ${existing} events; the demo only fills an empty organisation ` +
        'and never adds to existing data. Seed a fresh database instead (DATABASE_URL, or a new OKR_DATA_DIR for the embedded PostgreSQL).',
    );
  }
  // Each organisation has its own log and clock order, so other organisations' later events do not matter.
  const clock = new SimulatedClock(start, now);
  const ledger = new Ledger(orm, clock.now, undefined, undefined, options.checkpoints ?? null);
  const newId = deterministicIds(organisationId, 'aggregate');
  const newCorrelationId = deterministicIds(organisationId, 'correlation');
  const unitIds = new Map<UnitKey, string>();
  const unitId = (key: UnitKey): string => {
    const id = unitIds.get(key);
    if (id === undefined) throw new Error(`seed: unit ${key} is used before it is registered`);
    return id;
  };

  const steps: Step[] = [];
  const schedule = (when: number, actor: string, run: Step['run'], optional = false): void => {
    steps.push({ at: when, seq: steps.length, optional, actor, run });
  };
  // A person takes a few minutes per entry.
  let entries = 0;
  const pace = (): void => {
    entries += 1;
    clock.advance((2 + (entries % 4)) * MINUTE);
  };

  // The organisation and the first quarter, just before the previous quarter's setting window.
  schedule(start, leadOf('company'), async (c) => {
    for (const unit of UNITS) {
      const { result } = await c.registerUnit({ name: unit.name, level: unit.level, parentId: unit.parent ? unitId(unit.parent) : null });
      unitIds.set(unit.key, result.unitId);
      // The company and functions review their OKRs monthly; teams keep the default two weeks.
      if (LEADERS.includes(unit.key)) await c.setCheckInCadence({ unitId: result.unitId, cadence: 'MONTHLY' });
      pace();
    }
    await c.planQuarter(planOf(previous));
  });
  schedule(at(current.settingOpensOn, -7, 10), leadOf('company'), async (c) => {
    await c.planQuarter(planOf(current));
  });

  const placed = new Map<QuarterWindow, PlacedKeyResult[]>();
  const objectiveIdsOf = new Map<QuarterWindow, Map<string, string>>();
  for (const [quarter, content] of [[previous, PREVIOUS], [current, CURRENT]] as const) {
    placed.set(quarter, scheduleQuarter(quarter, content));
  }

  // Wrapping up the previous quarter happens after it ends; squeezed when "now" is only days later.
  const elapsed = now - current.startsOn.getTime();
  const squeeze = Math.min(1, elapsed / (12 * DAY));
  const wrapUp = (days: number, hours: number): number => current.startsOn.getTime() + squeeze * (days * DAY + hours * HOUR);
  const previousKeyResults = placed.get(previous) ?? [];
  for (const unit of [...TEAMS, ...LEADERS]) {
    schedule(wrapUp(3, 10 + UNITS.findIndex((u) => u.key === unit)), leadOf(unit), async (c) => {
      for (const kr of previousKeyResults.filter((k) => k.unit === unit)) {
        const final = finalValue(kr.spec);
        await c.scoreKeyResult({
          keyResultId: kr.id,
          score: roundTo(clamp01((final - kr.baseline) / (kr.target - kr.baseline)), 2),
          note: `Ended the quarter at ${withUnit(final, kr.spec)} against a target of ${withUnit(kr.target, kr.spec)}.`,
        });
        pace();
      }
      if (isTeam(unit)) await logEffort(c, unit, previous, 'SCORING', EFFORT[unit].scoring, 'Scoring session.');
    });
  }
  for (const team of TEAMS) {
    schedule(wrapUp(6, 10 + TEAMS.indexOf(team) * 1.5), leadOf(team), async (c) => {
      const calibrations = previousKeyResults
        .filter((k) => k.unit === team)
        .map((k) => {
          const score = clamp01((finalValue(k.spec) - k.baseline) / (k.target - k.baseline));
          return { keyResultId: k.id, calibration: calibrationOf(k.spec, score, k.committed), note: k.spec.calibrationNote ?? null };
        });
      await c.recordRetrospective({
        unitId: unitId(team),
        quarterId: previous.id,
        learnings: PREVIOUS.retrospectives?.[team] ?? 'No learnings recorded.',
        calibrations,
      });
      pace();
      await logEffort(c, team, previous, 'RETROSPECTIVE', EFFORT[team].retrospective, 'Team retrospective.');
    });
  }
  schedule(wrapUp(8, 11), leadOf('company'), async (c) => {
    await c.closeQuarter(previous.id);
  });

  function planOf(quarter: QuarterWindow) {
    return {
      quarterId: quarter.id,
      startsOn: quarter.startsOn.toISOString(),
      endsOn: quarter.endsOn.toISOString(),
      settingOpensOn: quarter.settingOpensOn.toISOString(),
    };
  }

  function isTeam(key: UnitKey): key is TeamKey {
    return (TEAMS as readonly string[]).includes(key);
  }

  async function logEffort(c: Commands, team: TeamKey, quarter: QuarterWindow, activity: ProcessActivity, personDays: number, note: string) {
    await c.logProcessEffort({ unitId: unitId(team), quarterId: quarter.id, activity, personDays, note });
    pace();
  }

  /** Setting, commitments, revisions and bi-weekly check-ins of one quarter; returns its key results as they fill in. */
  function scheduleQuarter(quarter: QuarterWindow, content: QuarterContent): PlacedKeyResult[] {
    const isCurrent = quarter === current;
    const objectiveIds = new Map<string, string>();
    objectiveIdsOf.set(quarter, objectiveIds);
    const keyResults: PlacedKeyResult[] = [];
    const opens = quarter.settingOpensOn;
    // Top-down drafting: company, then functions, then teams, each aligned to the level above.
    const draftingDay: Record<UnitKey, [number, number]> = {
      company: [1, 10], engineering: [4, 10], product: [4, 14], payments: [8, 10], platform: [9, 10], mobile: [10, 11], growth: [11, 10],
    };
    for (const unit of UNITS) {
      const [day, hour] = draftingDay[unit.key];
      schedule(at(opens, day, hour), unit.lead, async (c) => {
        for (const objective of content.objectives[unit.key]) {
          const parentId = objective.parent ? objectiveIds.get(objective.parent) : undefined;
          if (objective.parent && parentId === undefined) throw new Error(`seed: ${objective.ref} aligns to ${objective.parent}, not drafted yet`);
          const { result } = await c.draftObjective({
            unitId: unitId(unit.key),
            quarterId: quarter.id,
            title: objective.title,
            description: objective.description ?? null,
            aspirational: !objective.committed,
            parentId: parentId ?? null,
          });
          objectiveIds.set(objective.ref, result.objectiveId);
          pace();
          for (const spec of objective.keyResults) {
            const { result: kr } = await c.defineKeyResult({
              objectiveId: result.objectiveId,
              title: spec.title,
              metric: spec.metric,
              unit: spec.unit,
              baseline: spec.baseline,
              target: spec.target,
              kind: spec.kind ?? 'OUTCOME',
            });
            keyResults.push({ id: kr.keyResultId, spec, unit: unit.key, committed: objective.committed === true, baseline: spec.baseline, target: spec.target });
            pace();
          }
        }
      });
    }
    // Growth re-cuts a draft late in the window (part of why its process costs too much).
    schedule(at(opens, 14, 15), leadOf('growth'), async (c) => {
      const id = objectiveIds.get('gro-conversion');
      if (id === undefined) return;
      await c.refineObjective({ objectiveId: id, description: 'Conversion is where the first-week work should pay off; pricing is out of scope this quarter.' });
      pace();
    });
    for (const team of TEAMS) {
      schedule(at(opens, 17, 16, TEAMS.indexOf(team) * 20), leadOf(team), (c) =>
        logEffort(c, team, quarter, 'SETTING', EFFORT[team].setting, EFFORT[team].settingNote));
    }
    for (const unit of UNITS) {
      schedule(at(quarter.startsOn, -3, 10 + UNITS.indexOf(unit) / 2), unit.lead, async (c) => {
        for (const objective of content.objectives[unit.key]) {
          const id = objectiveIds.get(objective.ref);
          if (id !== undefined) await c.commitObjective({ objectiveId: id });
          pace();
        }
      });
    }

    // Revisions, on the day the content says.
    for (const unit of UNITS) {
      for (const objective of content.objectives[unit.key]) {
        for (const spec of objective.keyResults) {
          const revise = spec.revise;
          if (!revise) continue;
          schedule(at(quarter.startsOn, revise.afterDays, 11), unit.lead, async (c) => {
            const kr = keyResults.find((k) => k.spec === spec);
            if (!kr) return;
            await c.reviseKeyResult({ keyResultId: kr.id, reason: revise.reason, baseline: revise.baseline ?? null, target: revise.target ?? null });
            kr.baseline = revise.baseline ?? kr.baseline;
            kr.target = revise.target ?? kr.target;
            pace();
          }, isCurrent);
        }
      }
    }

    // Check-ins every two weeks: teams every round, the company and functions monthly (odd rounds).
    const length = quarter.endsOn.getTime() - quarter.startsOn.getTime();
    const lastReading = new Map<string, number>();
    const rounds: number[] = [];
    for (let day = 3; at(quarter.startsOn, day) < quarter.endsOn.getTime() - 2 * DAY; day += 14) rounds.push(day);
    rounds.forEach((day, round) => {
      for (const unit of UNITS) {
        const team = isTeam(unit.key) ? unit.key : null;
        if (team === null && round % 2 === 0) continue;
        const silentFrom = team === null ? undefined : content.silentFrom?.[team];
        if (isCurrent && silentFrom !== undefined && round >= silentFrom) continue;
        const hour = team === null ? 16 + LEADERS.indexOf(unit.key) / 2 : 9.5 + TEAMS.indexOf(team) * 1.5;
        schedule(at(quarter.startsOn, day, hour), unit.lead, async (c) => {
          const progress = (at(quarter.startsOn, day, hour) - quarter.startsOn.getTime()) / length;
          for (const kr of keyResults.filter((k) => k.unit === unit.key)) {
            const salt = keyResults.indexOf(kr) + round;
            const value = valueAt(kr.spec, progress, salt);
            const before = lastReading.get(kr.id);
            const noteIndex = Math.min(kr.spec.notes.length - 1, Math.floor((round / rounds.length) * kr.spec.notes.length));
            const reading = before === undefined
              ? `${withUnit(value, kr.spec)} (baseline ${withUnit(kr.spec.baseline, kr.spec)}).`
              : `${withUnit(value, kr.spec)}, from ${withUnit(before, kr.spec)} at the last check-in.`;
            await c.recordCheckIn({
              keyResultId: kr.id,
              confidence: confidenceAt(kr.spec, kr.committed, progress, salt),
              value,
              whatChanged: `${reading} ${kr.spec.notes[noteIndex] ?? ''}`,
              blockers: kr.spec.blockers?.[noteIndex] ?? null,
            });
            lastReading.set(kr.id, value);
            pace();
          }
          if (team) await logEffort(c, team, quarter, 'CHECK_IN', EFFORT[team].perCheckIn, `Check-in round ${round + 1}.`);
        }, isCurrent);
      }
    });
    return keyResults;
  }

  // Run everything in time order, each step as one working session of one person.
  steps.sort((a, b) => a.at - b.at || a.seq - b.seq);
  for (const step of steps) {
    if (step.optional && step.at > now) continue;
    clock.moveTo(step.at);
    const commands = new Commands(ledger, { organisationId, actor: step.actor, correlationId: newCorrelationId() }, newId);
    await step.run(commands);
  }

  return summarise(orm, organisationId, current, previous, exampleIds());

  function exampleIds(): ExampleIds {
    const unit = (key: UnitKey) => ({ id: unitId(key), name: UNITS.find((u) => u.key === key)?.name ?? key });
    const objective = (ref: string, quarter = current, content = CURRENT) => {
      const id = objectiveIdsOf.get(quarter)?.get(ref);
      const spec = Object.values(content.objectives).flat().find((o) => o.ref === ref);
      if (id === undefined || spec === undefined) throw new Error(`seed: README's example objective ${ref} was not drafted`);
      return { id, title: spec.title };
    };
    const firstKeyResult = (ref: string) => {
      const objectiveSpec = Object.values(CURRENT.objectives).flat().find((o) => o.ref === ref);
      const placedKeyResult = (placed.get(current) ?? []).find((k) => k.spec === objectiveSpec?.keyResults[0]);
      if (placedKeyResult === undefined) throw new Error(`seed: README's example key result of ${ref} was not defined`);
      return { id: placedKeyResult.id, title: placedKeyResult.spec.title };
    };
    const twoWeeksAgo = Math.max(current.startsOn.getTime(), now - 14 * DAY);
    return {
      nextQuarter: quarterAfter(current),
      earlierInstant: new Date(twoWeeksAgo - (twoWeeksAgo % DAY)),
      company: unit(EXAMPLE_UNITS.company),
      function: unit(EXAMPLE_UNITS.function),
      team: unit(EXAMPLE_UNITS.team),
      functionObjective: objective(EXAMPLE_OBJECTIVES.functionObjective),
      objective: objective(EXAMPLE_OBJECTIVES.objective),
      keyResult: firstKeyResult(EXAMPLE_OBJECTIVES.objective),
      previousObjective: objective(EXAMPLE_OBJECTIVES.previousObjective, previous, PREVIOUS),
      ciKeyResult: firstKeyResult(EXAMPLE_OBJECTIVES.ciObjective),
    };
  }
}

async function summarise(
  orm: MikroORM,
  organisationId: string,
  current: QuarterWindow,
  previous: QuarterWindow,
  examples: ExampleIds,
): Promise<SeedSummary> {
  const rows = await sqlOf(orm.em.fork()).query<{ type: string; n: number }>(
    'SELECT type, count(*)::int AS n FROM okr_events WHERE organisation_id = ? GROUP BY type',
    [organisationId],
  );
  const of = (type: string): number => Number(rows.find((r) => r.type === type)?.n ?? 0);
  const span = await sqlOf(orm.em.fork()).query<{ first: string | Date | null; last: string | Date | null }>(
    'SELECT min(recorded_at) AS first, max(recorded_at) AS last FROM okr_events WHERE organisation_id = ?',
    [organisationId],
  );
  return {
    organisationId,
    currentQuarter: current,
    previousQuarter: previous,
    examples,
    units: of('UnitRegistered'),
    objectives: of('ObjectiveDrafted'),
    keyResults: of('KeyResultDefined'),
    checkIns: of('CheckInRecorded'),
    revisions: of('KeyResultRevised'),
    scores: of('KeyResultScored'),
    retrospectives: of('RetrospectiveRecorded'),
    effortEntries: of('ProcessEffortLogged'),
    events: rows.reduce((sum, r) => sum + Number(r.n), 0),
    firstRecordedAt: new Date(span[0]?.first ?? 0),
    lastRecordedAt: new Date(span[0]?.last ?? 0),
  };
}
