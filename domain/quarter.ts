import type { Instant, QuarterClosed, QuarterEvent, QuarterPlanned } from '../events/catalogue';
import { EARLIEST_INSTANT, isAcceptedTime } from './calendar';
import { notFound, rejected } from './errors';
import { LIMITS, instant, ms } from './validate';

export type QuarterPhase = 'PLANNED' | 'SETTING' | 'ACTIVE' | 'SCORING' | 'CLOSED';

interface QuarterDates {
  id: string;
  startsOn: Instant;
  endsOn: Instant;
  settingOpensOn: Instant;
}

export type QuarterState =
  | { status: 'unplanned' }
  | ({ status: 'planned' } & QuarterDates)
  | ({ status: 'closed'; closedAt: Instant } & QuarterDates);

export const initialQuarterState: QuarterState = { status: 'unplanned' };

export function evolveQuarter(state: QuarterState, event: QuarterEvent): QuarterState {
  switch (event.type) {
    case 'QuarterPlanned':
      return {
        status: 'planned',
        id: event.data.quarterId,
        startsOn: event.data.startsOn,
        endsOn: event.data.endsOn,
        settingOpensOn: event.data.settingOpensOn,
      };
    case 'QuarterClosed':
      return state.status === 'unplanned' ? state : { ...state, status: 'closed', closedAt: event.data.closedAt };
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
}

/** The phase at an instant, as the contract defines it. */
export function quarterPhase(
  quarter: { startsOn: Instant | Date; endsOn: Instant | Date; settingOpensOn: Instant | Date; closed: boolean },
  at: Instant | Date,
): QuarterPhase {
  if (quarter.closed) return 'CLOSED';
  const t = new Date(at).getTime();
  if (t < new Date(quarter.settingOpensOn).getTime()) return 'PLANNED';
  if (t < new Date(quarter.startsOn).getTime()) return 'SETTING';
  if (t < new Date(quarter.endsOn).getTime()) return 'ACTIVE';
  return 'SCORING';
}

const QUARTER_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const DAY = 24 * 60 * 60 * 1000;
/** Drafting starts three weeks before the quarter unless planned otherwise (the practice: 2-3 weeks). */
export const DEFAULT_SETTING_WINDOW_DAYS = 21;
const MAX_QUARTER_DAYS = 366;

export interface PlanQuarter {
  quarterId: string;
  startsOn: string;
  endsOn: string;
  settingOpensOn?: string | null;
}

export function planQuarter(command: PlanQuarter, state: QuarterState): QuarterPlanned[] {
  const id = command.quarterId.trim();
  if (id.length === 0 || id.length > LIMITS.quarterKey || !QUARTER_KEY.test(id)) {
    throw rejected(
      'QUARTER_ID_INVALID',
      `A quarter id is a short key of letters, digits, '.', '_' or '-' (at most ${LIMITS.quarterKey}), e.g. 2027-Q1.`,
    );
  }
  if (state.status !== 'unplanned') {
    throw rejected('QUARTER_EXISTS', `Quarter ${id} is already planned.`);
  }
  const startsOn = instant('startsOn', command.startsOn);
  const endsOn = instant('endsOn', command.endsOn);
  if (ms(endsOn) <= ms(startsOn)) throw rejected('QUARTER_DATES_INVALID', 'endsOn must be after startsOn.');
  if (ms(endsOn) - ms(startsOn) > MAX_QUARTER_DAYS * DAY) {
    throw rejected('QUARTER_DATES_INVALID', `A quarter lasts at most ${MAX_QUARTER_DAYS} days.`);
  }
  let settingOpensOn: Instant;
  if (command.settingOpensOn) settingOpensOn = instant('settingOpensOn', command.settingOpensOn);
  else {
    const opens = ms(startsOn) - DEFAULT_SETTING_WINDOW_DAYS * DAY;
    if (!isAcceptedTime(opens)) {
      throw rejected(
        'SETTING_OPENS_ON_OUT_OF_RANGE',
        `The setting window would open ${DEFAULT_SETTING_WINDOW_DAYS} days before startsOn, before ${EARLIEST_INSTANT} (the earliest instant the ledger keeps): pass settingOpensOn on or after it.`,
      );
    }
    settingOpensOn = new Date(opens).toISOString();
  }
  if (ms(settingOpensOn) > ms(startsOn)) {
    throw rejected('QUARTER_DATES_INVALID', 'settingOpensOn must be on or before startsOn.');
  }
  return [{ type: 'QuarterPlanned', data: { quarterId: id, startsOn, endsOn, settingOpensOn } }];
}

export interface CloseQuarter {
  quarterId: string;
  at: Instant;
}

export function closeQuarter(command: CloseQuarter, state: QuarterState): QuarterClosed[] {
  if (state.status === 'unplanned') throw notFound('quarter', command.quarterId);
  if (state.status === 'closed') throw rejected('QUARTER_CLOSED', `Quarter ${state.id} is already closed.`);
  if (ms(command.at) < ms(state.endsOn)) {
    throw rejected('QUARTER_NOT_ENDED', `Quarter ${state.id} ends on ${state.endsOn}; close it after it has ended.`);
  }
  return [{ type: 'QuarterClosed', data: { quarterId: state.id, closedAt: command.at } }];
}

/** Every change to a quarter's objectives and key results passes through this. */
export function assertQuarterOpen(quarter: QuarterState, quarterId: string): void {
  if (quarter.status === 'unplanned') throw notFound('quarter', quarterId);
  if (quarter.status === 'closed') {
    throw rejected('QUARTER_CLOSED', `Quarter ${quarter.id} is closed: its objectives and key results can no longer change.`);
  }
}

/**
 * Nothing is recorded about a quarter before its setting window opened: a reading, score or effort
 * dated earlier would describe a time when the quarter's OKRs could not exist yet.
 */
export type SettingWindowReason =
  | 'CHECK_IN_BEFORE_SETTING_WINDOW'
  | 'SCORE_BEFORE_SETTING_WINDOW'
  | 'OCCURRED_BEFORE_SETTING_WINDOW'
  | 'MEASUREMENT_BEFORE_SETTING_WINDOW';

export function assertNotBeforeSettingWindow(quarter: QuarterState, at: Instant, reason: SettingWindowReason, what: string, advice: string): void {
  if (quarter.status === 'unplanned') return;
  if (ms(at) < ms(quarter.settingOpensOn)) {
    throw rejected(reason, `${what} (${at}) is before quarter ${quarter.id}'s setting window opened (${quarter.settingOpensOn}): ${advice}`);
  }
}
