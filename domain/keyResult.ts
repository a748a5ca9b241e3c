import type {
  CheckInRecorded,
  Direction,
  FieldRevision,
  Instant,
  KeyResultDefined,
  KeyResultEvent,
  KeyResultKind,
  KeyResultMeasured,
  KeyResultRevised,
  KeyResultScored,
} from '../events/catalogue';
import { MANY_PER_STREAM } from '../events/catalogue';
import { notFound, rejected } from './errors';
import type { ObjectiveState } from './objective';
import { assertNotBeforeSettingWindow, assertQuarterOpen, type QuarterState } from './quarter';
import { LIMITS, confidence, finiteNumber, instant, ms, optionalText, requiredText, score } from './validate';

export type KeyResultState =
  | { status: 'undefined' }
  | {
      status: 'defined';
      id: string;
      objectiveId: string;
      unitId: string;
      quarterId: string;
      title: string;
      metric: string;
      unit: string | null;
      baseline: number;
      target: number;
      direction: Direction;
      kind: KeyResultKind;
      score: number | null;
    };

type DefinedKeyResult = Extract<KeyResultState, { status: 'defined' }>;

export const initialKeyResultState: KeyResultState = { status: 'undefined' };

/**
 * Events evolveKeyResult leaves the state unchanged for: loading a key result may skip them. They are
 * the events a stream holds many of, which the store reads past through an index of the others.
 */
export const KEY_RESULT_STATE_IGNORES = MANY_PER_STREAM;

export function evolveKeyResult(state: KeyResultState, event: KeyResultEvent): KeyResultState {
  if (event.type === 'KeyResultDefined') {
    const { keyResultId, ...rest } = event.data;
    return { status: 'defined', id: keyResultId, ...rest, score: null };
  }
  if (state.status === 'undefined') return state;
  switch (event.type) {
    case 'KeyResultRevised': {
      const next: DefinedKeyResult = { ...state };
      for (const change of event.data.changes) applyRevision(next, change);
      return next;
    }
    case 'CheckInRecorded':
    case 'KeyResultMeasured':
      return state;
    case 'KeyResultScored':
      return { ...state, score: event.data.score };
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
}

function applyRevision(kr: DefinedKeyResult, change: FieldRevision): void {
  switch (change.field) {
    case 'title':
    case 'metric':
      kr[change.field] = String(change.to);
      return;
    case 'unit':
      kr.unit = change.to === null ? null : String(change.to);
      return;
    case 'baseline':
    case 'target':
      kr[change.field] = Number(change.to);
      return;
    case 'kind':
      kr.kind = change.to as KeyResultKind;
      return;
    default: {
      const unknown: never = change.field;
      return unknown;
    }
  }
}

/** A reading of the metric: a check-in that gave a value, or a measurement. */
export interface Reading {
  value: number;
  /** The moment it describes (effective time). */
  at: Instant;
}

/** The reading an event records, if it records one (a check-in without a value records none). */
export function readingOf(event: KeyResultEvent): Reading | null {
  if (event.type === 'KeyResultMeasured') return { value: event.data.value, at: event.data.at };
  if (event.type === 'CheckInRecorded' && event.data.value !== null) return { value: event.data.value, at: event.data.asOf };
  return null;
}

/**
 * Whether a reading for `at` takes the place of the latest one so far (effective at `latestAt`): the
 * latest by effective time is current, and of two for the same moment the later recorded.
 */
export const replacesReading = (at: Instant | Date, latestAt: Instant | Date | null): boolean =>
  latestAt === null || new Date(at).getTime() >= new Date(latestAt).getTime();

/** The latest reading of a key result's stream (its events in stream order), if it has any. */
export function lastReading(events: readonly KeyResultEvent[]): Reading | null {
  let latest: Reading | null = null;
  for (const event of events) {
    const reading = readingOf(event);
    if (reading !== null && replacesReading(reading.at, latest?.at ?? null)) latest = reading;
  }
  return latest;
}

/** Whether `value` has reached the target, in the key result's direction. */
export const targetReached = (kr: { target: number; direction: Direction }, value: number): boolean =>
  kr.direction === 'INCREASE' ? value >= kr.target : value <= kr.target;

/** The direction baseline and target imply. */
export const impliedDirection = (baseline: number, target: number): Direction =>
  target > baseline ? 'INCREASE' : 'DECREASE';

function assertMeasurable(baseline: number, target: number, direction: Direction): void {
  if (baseline === target) {
    throw rejected(
      'TARGET_EQUALS_BASELINE',
      'The target equals the baseline, so there is nothing to achieve: set a target that differs from where the metric is now.',
    );
  }
  if (impliedDirection(baseline, target) !== direction) {
    throw rejected(
      'DIRECTION_CONTRADICTS_TARGET',
      `direction ${direction} contradicts baseline ${baseline} and target ${target}; swap them or change the direction.`,
    );
  }
}

/** The owning objective must exist and be active, and its quarter open. */
function assertObjectiveActive(objective: ObjectiveState, objectiveId: string, quarter: QuarterState): void {
  if (objective.status === 'none') throw notFound('objective', objectiveId);
  assertQuarterOpen(quarter, objective.quarterId);
  if (objective.status === 'RETIRED') {
    throw rejected('OBJECTIVE_RETIRED', `Objective ${objectiveId} is retired: its key results accept no check-ins, scores or changes.`);
  }
}

export interface DefineKeyResult {
  keyResultId: string;
  objectiveId: string;
  title: string;
  metric: string;
  unit?: string | null;
  baseline: number;
  target: number;
  direction?: Direction | null;
  kind?: KeyResultKind | null;
}

export function defineKeyResult(
  command: DefineKeyResult,
  state: KeyResultState,
  objective: ObjectiveState,
  quarter: QuarterState,
): KeyResultDefined[] {
  if (state.status !== 'undefined') throw rejected('KEY_RESULT_EXISTS', `Key result ${command.keyResultId} already exists.`);
  assertObjectiveActive(objective, command.objectiveId, quarter);
  if (objective.status === 'none') throw notFound('objective', command.objectiveId);
  const title = requiredText('title', command.title, LIMITS.keyResultTitle);
  const metric = requiredText('metric', command.metric, LIMITS.metric);
  const baseline = finiteNumber('baseline', command.baseline);
  const target = finiteNumber('target', command.target);
  const direction = command.direction ?? impliedDirection(baseline, target);
  assertMeasurable(baseline, target, direction);
  return [
    {
      type: 'KeyResultDefined',
      data: {
        keyResultId: command.keyResultId,
        objectiveId: objective.id,
        unitId: objective.unitId,
        quarterId: objective.quarterId,
        title,
        metric,
        unit: optionalText('unit', command.unit, LIMITS.measurementUnit),
        baseline,
        target,
        direction,
        kind: command.kind ?? 'OUTCOME',
      },
    },
  ];
}

function existing(state: KeyResultState, id: string): DefinedKeyResult {
  if (state.status === 'undefined') throw notFound('key result', id);
  return state;
}

const scope = (kr: DefinedKeyResult) => ({
  keyResultId: kr.id,
  objectiveId: kr.objectiveId,
  unitId: kr.unitId,
  quarterId: kr.quarterId,
});

export interface ReviseKeyResult {
  keyResultId: string;
  reason: string;
  title?: string | null;
  metric?: string | null;
  /** undefined: keep; null or blank: remove. */
  unit?: string | null;
  baseline?: number | null;
  target?: number | null;
  kind?: KeyResultKind | null;
}

/**
 * Revisions are allowed (learning happens), but every one is kept with its reason: a target moved
 * after the quarter started is a health finding, not a rejection.
 */
export function reviseKeyResult(
  command: ReviseKeyResult,
  state: KeyResultState,
  objective: ObjectiveState,
  quarter: QuarterState,
): KeyResultRevised[] {
  const kr = existing(state, command.keyResultId);
  assertObjectiveActive(objective, kr.objectiveId, quarter);
  const reason = requiredText('reason', command.reason, LIMITS.reason);
  const changes: FieldRevision[] = [];
  const change = (field: FieldRevision['field'], from: string | number | null, to: string | number | null) => {
    if (from !== to) changes.push({ field, from, to });
  };
  if (command.title != null) change('title', kr.title, requiredText('title', command.title, LIMITS.keyResultTitle));
  if (command.metric != null) change('metric', kr.metric, requiredText('metric', command.metric, LIMITS.metric));
  if (command.unit !== undefined) change('unit', kr.unit, optionalText('unit', command.unit, LIMITS.measurementUnit));
  const baseline = command.baseline != null ? finiteNumber('baseline', command.baseline) : kr.baseline;
  const target = command.target != null ? finiteNumber('target', command.target) : kr.target;
  change('baseline', kr.baseline, baseline);
  change('target', kr.target, target);
  if (command.kind != null) change('kind', kr.kind, command.kind);
  assertMeasurable(baseline, target, kr.direction);
  if (changes.length === 0) return [];
  return [{ type: 'KeyResultRevised', data: { ...scope(kr), reason, changes } }];
}

export interface RecordCheckIn {
  keyResultId: string;
  confidence: number;
  value?: number | null;
  whatChanged?: string | null;
  blockers?: string | null;
  /** Back-dating: the moment the reading describes. Defaults to `at`. */
  asOf?: string | null;
  at: Instant;
}

export function recordCheckIn(
  command: RecordCheckIn,
  state: KeyResultState,
  objective: ObjectiveState,
  quarter: QuarterState,
): CheckInRecorded[] {
  const kr = existing(state, command.keyResultId);
  assertObjectiveActive(objective, kr.objectiveId, quarter);
  const asOf = command.asOf ? instant('asOf', command.asOf) : command.at;
  if (ms(asOf) > ms(command.at)) {
    throw rejected('CHECK_IN_IN_FUTURE', 'asOf cannot be in the future: a check-in describes a reading already taken.');
  }
  assertNotBeforeSettingWindow(quarter, asOf, 'CHECK_IN_BEFORE_SETTING_WINDOW', 'The check-in\'s asOf', 'give an asOf on or after it.');
  return [
    {
      type: 'CheckInRecorded',
      data: {
        ...scope(kr),
        confidence: confidence(command.confidence),
        value: command.value == null ? null : finiteNumber('value', command.value),
        whatChanged: optionalText('whatChanged', command.whatChanged, LIMITS.checkInText),
        blockers: optionalText('blockers', command.blockers, LIMITS.checkInText),
        asOf,
      },
    },
  ];
}

export interface ScoreKeyResult {
  keyResultId: string;
  score: number;
  note?: string | null;
  /** When the command is handled: the score's date. */
  at: Instant;
}

/** Scoring twice is a correction: allowed, but only with a note saying why; both stay in the log. */
export function scoreKeyResult(
  command: ScoreKeyResult,
  state: KeyResultState,
  objective: ObjectiveState,
  quarter: QuarterState,
): KeyResultScored[] {
  const kr = existing(state, command.keyResultId);
  assertObjectiveActive(objective, kr.objectiveId, quarter);
  assertNotBeforeSettingWindow(quarter, command.at, 'SCORE_BEFORE_SETTING_WINDOW', 'A score recorded now', 'score key results once the quarter is under way.');
  const value = score(command.score);
  const note = optionalText('note', command.note, LIMITS.note);
  if (kr.score !== null && note === null) {
    throw rejected(
      'CORRECTION_NEEDS_NOTE',
      `Key result ${kr.id} was already scored ${kr.score}; a correction needs a note saying why.`,
    );
  }
  return [{ type: 'KeyResultScored', data: { ...scope(kr), score: value, note, previousScore: kr.score, target: kr.target } }];
}


export interface RecordMeasurement {
  keyResultId: string;
  value: number;
  /** The moment the reading describes. Defaults to `now`. */
  at?: string | null;
  /** The system that measured. */
  source: string;
  /** When the command is handled. */
  now: Instant;
}

/**
 * A system's reading of the metric. Like a check-in it is dated in the quarter's life (never in the
 * future, nor before the setting window), and unlike one it carries no confidence. A reading dated after
 * the quarter ended describes the next quarter's key result, not this one; one arriving after the key
 * result was scored is still a fact of the quarter and moves the current value, never the score.
 */
export function recordMeasurement(
  command: RecordMeasurement,
  state: KeyResultState,
  objective: ObjectiveState,
  quarter: QuarterState,
): KeyResultMeasured[] {
  const kr = existing(state, command.keyResultId);
  assertObjectiveActive(objective, kr.objectiveId, quarter);
  const value = finiteNumber('value', command.value);
  const source = requiredText('source', command.source, LIMITS.source);
  const at = command.at ? instant('at', command.at) : command.now;
  if (ms(at) > ms(command.now)) {
    throw rejected(
      'MEASUREMENT_IN_FUTURE',
      `at (${at}) is in the future: a measurement describes a reading already taken. Omit at to date it now.`,
    );
  }
  assertNotBeforeSettingWindow(quarter, at, 'MEASUREMENT_BEFORE_SETTING_WINDOW', 'The measurement\'s at', 'measure from the setting window on.');
  if (quarter.status !== 'unplanned' && ms(at) > ms(quarter.endsOn)) {
    throw rejected(
      'MEASUREMENT_AFTER_QUARTER_ENDED',
      `at (${at}) is after quarter ${quarter.id} ended (${quarter.endsOn}): the reading belongs to a key result of a later quarter (carryOverObjective makes one).`,
    );
  }
  return [{ type: 'KeyResultMeasured', data: { ...scope(kr), value, at, source } }];
}
