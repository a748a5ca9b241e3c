import type {
  Calibration,
  CheckInCadence,
  CheckInCadenceSet,
  Instant,
  KeyResultCalibrationData,
  ProcessActivity,
  ProcessEffortLogged,
  RetrospectiveRecorded,
  UnitEvent,
  UnitLevel,
  UnitRegistered,
} from '../events/catalogue';
import { notFound, rejected } from './errors';
import type { KeyResultState } from './keyResult';
import { assertNotBeforeSettingWindow, type QuarterState } from './quarter';
import { LIMITS, finiteNumber, instant, ms, optionalText, requiredText } from './validate';

export type UnitState =
  | { status: 'unregistered' }
  | {
      status: 'registered';
      id: string;
      name: string;
      level: UnitLevel;
      parentId: string | null;
      cadence: CheckInCadence;
    };

export const initialUnitState: UnitState = { status: 'unregistered' };

/** Events evolveUnit leaves the state unchanged for: loading a unit may skip them. */
export const UNIT_STATE_IGNORES = ['RetrospectiveRecorded', 'ProcessEffortLogged'] as const;

export function evolveUnit(state: UnitState, event: UnitEvent): UnitState {
  switch (event.type) {
    case 'UnitRegistered':
      return {
        status: 'registered',
        id: event.data.unitId,
        name: event.data.name,
        level: event.data.level,
        parentId: event.data.parentId,
        cadence: 'BIWEEKLY',
      };
    case 'CheckInCadenceSet':
      return state.status === 'registered' ? { ...state, cadence: event.data.cadence } : state;
    case 'RetrospectiveRecorded':
    case 'ProcessEffortLogged':
      return state;
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
}

/** The level a unit's parent must have; null means it has no parent. */
const PARENT_LEVEL: Record<UnitLevel, UnitLevel | null> = {
  COMPANY: null,
  FUNCTION: 'COMPANY',
  TEAM: 'FUNCTION',
};

export interface RegisterUnit {
  unitId: string;
  name: string;
  level: UnitLevel;
  parentId: string | null;
}

export function registerUnit(
  command: RegisterUnit,
  state: UnitState,
  parent: UnitState | null,
): UnitRegistered[] {
  if (state.status !== 'unregistered') {
    throw rejected('UNIT_EXISTS', `Unit ${command.unitId} is already registered.`);
  }
  const name = requiredText('name', command.name, LIMITS.name);
  const expected = PARENT_LEVEL[command.level];
  if (expected === null && command.parentId !== null) {
    throw rejected('PARENT_LEVEL_INVALID', 'A company has no parent unit; omit parentId.');
  }
  if (expected !== null) {
    if (command.parentId === null) {
      throw rejected('PARENT_REQUIRED', `A ${command.level.toLowerCase()} needs a parent ${expected.toLowerCase()}: pass parentId.`);
    }
    if (parent === null || parent.status !== 'registered') throw notFound('unit', command.parentId);
    if (parent.level !== expected) {
      throw rejected(
        'PARENT_LEVEL_INVALID',
        `A ${command.level.toLowerCase()} belongs to a ${expected.toLowerCase()}, but ${parent.name} is a ${parent.level.toLowerCase()}.`,
      );
    }
  }
  return [{ type: 'UnitRegistered', data: { unitId: command.unitId, name, level: command.level, parentId: command.parentId } }];
}

export interface RecordRetrospective {
  unitId: string;
  quarterId: string;
  learnings: string;
  calibrations: { keyResultId: string; calibration: Calibration; note?: string | null }[];
}

/**
 * `keyResults` holds the state of every key result named in the calibrations (unregistered when
 * it does not exist).
 */
export function recordRetrospective(
  command: RecordRetrospective,
  unit: UnitState,
  quarter: QuarterState,
  keyResults: ReadonlyMap<string, KeyResultState>,
): RetrospectiveRecorded[] {
  if (unit.status !== 'registered') throw notFound('unit', command.unitId);
  if (quarter.status === 'unplanned') throw notFound('quarter', command.quarterId);
  const learnings = requiredText('learnings', command.learnings, LIMITS.learnings);
  if (command.calibrations.length > LIMITS.calibrations) {
    throw rejected('TOO_MANY_CALIBRATIONS', `At most ${LIMITS.calibrations} calibrations per retrospective.`);
  }
  const seen = new Set<string>();
  const calibrations: KeyResultCalibrationData[] = command.calibrations.map((c) => {
    const kr = keyResults.get(c.keyResultId);
    if (kr === undefined || kr.status === 'undefined') throw notFound('key result', c.keyResultId);
    if (kr.unitId !== command.unitId || kr.quarterId !== command.quarterId) {
      throw rejected(
        'CALIBRATION_OUTSIDE_RETROSPECTIVE',
        `Key result ${c.keyResultId} is not one of this unit's key results for ${command.quarterId}.`,
      );
    }
    if (seen.has(c.keyResultId)) {
      throw rejected('CALIBRATION_DUPLICATE', `Key result ${c.keyResultId} is calibrated twice; give it once.`);
    }
    seen.add(c.keyResultId);
    return { keyResultId: c.keyResultId, calibration: c.calibration, note: optionalText('note', c.note, LIMITS.note) };
  });
  return [{ type: 'RetrospectiveRecorded', data: { unitId: command.unitId, quarterId: command.quarterId, learnings, calibrations } }];
}

/** More than this in one entry is almost certainly a typo (a quarter has ~65 working days). */
export const MAX_PERSON_DAYS_PER_ENTRY = 100;

export interface LogProcessEffort {
  unitId: string;
  quarterId: string;
  activity: ProcessActivity;
  personDays: number;
  note?: string | null;
  occurredOn?: string | null;
  /** When the command is handled. */
  at: Instant;
}

export function logProcessEffort(
  command: LogProcessEffort,
  unit: UnitState,
  quarter: QuarterState,
): ProcessEffortLogged[] {
  if (unit.status !== 'registered') throw notFound('unit', command.unitId);
  if (quarter.status === 'unplanned') throw notFound('quarter', command.quarterId);
  const personDays = finiteNumber('personDays', command.personDays);
  if (personDays <= 0 || personDays > MAX_PERSON_DAYS_PER_ENTRY) {
    throw rejected(
      'PERSON_DAYS_OUT_OF_RANGE',
      `personDays must be more than 0 and at most ${MAX_PERSON_DAYS_PER_ENTRY} in one entry.`,
    );
  }
  const occurredOn = command.occurredOn ? instant('occurredOn', command.occurredOn) : command.at;
  if (ms(occurredOn) > ms(command.at)) {
    throw rejected('OCCURRED_IN_FUTURE', 'occurredOn cannot be in the future; log effort once it is spent.');
  }
  assertNotBeforeSettingWindow(quarter, occurredOn, 'OCCURRED_BEFORE_SETTING_WINDOW', 'occurredOn', 'effort for a quarter is spent from its setting window on.');
  return [
    {
      type: 'ProcessEffortLogged',
      data: {
        unitId: command.unitId,
        quarterId: command.quarterId,
        activity: command.activity,
        personDays,
        note: optionalText('note', command.note, LIMITS.note),
        occurredOn,
      },
    },
  ];
}

export interface SetCheckInCadence {
  unitId: string;
  cadence: CheckInCadence;
}

/** Forgotten check-ins are judged against this cadence; setting the one already in force changes nothing. */
export function setCheckInCadence(command: SetCheckInCadence, unit: UnitState): CheckInCadenceSet[] {
  if (unit.status !== 'registered') throw notFound('unit', command.unitId);
  if (unit.cadence === command.cadence) return [];
  return [{ type: 'CheckInCadenceSet', data: { unitId: command.unitId, cadence: command.cadence } }];
}
