import type { CheckInRecorded, KeyResultEvent, KeyResultMeasured } from '../../events/catalogue';
import {
  LIMITS,
  MAX_ABS_METRIC,
  evolveKeyResult,
  lastReading,
  recordMeasurement,
  type KeyResultState,
  type RecordMeasurement,
} from '../../domain';
import { decider, stateOf } from '../support/decider';
import {
  ENDS,
  NOW,
  SETTING_OPENS,
  closedQuarter,
  keyResultDefined,
  keyResultStream,
  krScope,
  noQuarter,
  openQuarter,
  retired,
  teamObjective,
  teamObjectiveDrafted,
  text,
} from './fixtures';

/** recordMeasurement: a system's reading of a key result's metric, given its key result, objective and quarter. */
const measure = decider(keyResultStream, recordMeasurement);

const command = (overrides: Partial<RecordMeasurement> = {}): RecordMeasurement => ({
  keyResultId: 'kr-1',
  value: 2.4,
  at: '2027-02-14T22:00:00.000Z',
  source: 'github-actions/ci.yml',
  now: NOW,
  ...overrides,
});
const measured = (data: Partial<KeyResultMeasured['data']> = {}): KeyResultMeasured => ({
  type: 'KeyResultMeasured',
  data: { ...krScope, value: 2.4, at: '2027-02-14T22:00:00.000Z', source: 'github-actions/ci.yml', ...data },
});
const checkedIn = (data: Partial<CheckInRecorded['data']> = {}): CheckInRecorded => ({
  type: 'CheckInRecorded',
  data: { ...krScope, confidence: 70, value: null, whatChanged: null, blockers: null, asOf: NOW, ...data },
});
const scored: KeyResultEvent = { type: 'KeyResultScored', data: { ...krScope, score: 0.6, note: null, previousScore: null, target: 1 } };

describe('recordMeasurement', () => {
  describe('a defined key result in an open quarter', () => {
    it('records the value, the moment it describes and the system, in the key result\'s scope', () => {
      measure.given([keyResultDefined]).when(command(), teamObjective, openQuarter).then([measured()]);
    });

    it('dates a reading without `at` now, and writes `at` as a UTC instant', () => {
      measure.given([keyResultDefined]).when(command({ at: null }), teamObjective, openQuarter).then([measured({ at: NOW })]);
      measure
        .given([keyResultDefined])
        .when(command({ at: '2027-02-15T13:00:00+01:00' }), teamObjective, openQuarter)
        .then([measured({ at: NOW })]);
    });

    it('trims the source, and keeps a negative or zero value', () => {
      measure
        .given([keyResultDefined])
        .when(command({ source: '  nightly p95  ', value: 0 }), teamObjective, openQuarter)
        .then([measured({ source: 'nightly p95', value: 0 })]);
      measure.given([keyResultDefined]).when(command({ value: -3.5 }), teamObjective, openQuarter).then([measured({ value: -3.5 })]);
    });

    it('accepts a reading after the key result was scored: still a fact of the quarter (the score stays a person\'s)', () => {
      measure.given([keyResultDefined, scored]).when(command(), teamObjective, openQuarter).then([measured()]);
    });

    it('accepts readings at the edges of the quarter\'s life: the setting window opening, and the quarter\'s end', () => {
      measure.given([keyResultDefined]).when(command({ at: SETTING_OPENS }), teamObjective, openQuarter).then([measured({ at: SETTING_OPENS })]);
      const later = '2027-04-02T00:00:00.000Z';
      measure.given([keyResultDefined]).when(command({ at: ENDS, now: later }), teamObjective, openQuarter).then([measured({ at: ENDS })]);
    });

    it('refuses a value that is not a finite number, or absurdly large', () => {
      measure.given([keyResultDefined]).when(command({ value: Number.NaN }), teamObjective, openQuarter).thenRejects('BAD_USER_INPUT', 'VALUE_NOT_FINITE');
      measure.given([keyResultDefined]).when(command({ value: Infinity }), teamObjective, openQuarter).thenRejects('BAD_USER_INPUT', 'VALUE_NOT_FINITE');
      measure
        .given([keyResultDefined])
        .when(command({ value: MAX_ABS_METRIC * 10 }), teamObjective, openQuarter)
        .thenRejects('BAD_USER_INPUT', 'VALUE_OUT_OF_RANGE');
    });

    it(`refuses a blank source, one over ${LIMITS.source} characters, and ill-formed text`, () => {
      measure.given([keyResultDefined]).when(command({ source: '   ' }), teamObjective, openQuarter).thenRejects('BAD_USER_INPUT', 'SOURCE_EMPTY');
      measure.given([keyResultDefined]).when(command({ source: text(LIMITS.source) }), teamObjective, openQuarter).then([measured({ source: text(LIMITS.source) })]);
      measure
        .given([keyResultDefined])
        .when(command({ source: text(LIMITS.source + 1) }), teamObjective, openQuarter)
        .thenRejects('BAD_USER_INPUT', 'SOURCE_TOO_LONG');
      measure.given([keyResultDefined]).when(command({ source: 'ci\u0000' }), teamObjective, openQuarter).thenRejects('BAD_USER_INPUT', 'SOURCE_INVALID_CHARACTERS');
    });

    it('refuses an `at` that is not an instant', () => {
      measure.given([keyResultDefined]).when(command({ at: 'yesterday' }), teamObjective, openQuarter).thenRejects('BAD_USER_INPUT', 'AT_INVALID');
    });

    it('refuses a reading dated in the future, by a millisecond too', () => {
      measure
        .given([keyResultDefined])
        .when(command({ at: '2027-02-15T12:00:00.001Z' }), teamObjective, openQuarter)
        .thenRejects('BAD_USER_INPUT', 'MEASUREMENT_IN_FUTURE');
    });

    it('refuses a reading dated before the setting window opened', () => {
      measure
        .given([keyResultDefined])
        .when(command({ at: '2026-12-10T23:59:59.999Z' }), teamObjective, openQuarter)
        .thenRejects('BAD_USER_INPUT', 'MEASUREMENT_BEFORE_SETTING_WINDOW');
    });

    it('refuses a reading dated after the quarter ended: it belongs to a later quarter\'s key result', () => {
      const error = measure
        .given([keyResultDefined])
        .when(command({ at: '2027-04-01T00:00:00.001Z', now: '2027-04-03T00:00:00.000Z' }), teamObjective, openQuarter)
        .thenRejects('BAD_USER_INPUT', 'MEASUREMENT_AFTER_QUARTER_ENDED');
      expect(error.message).toMatch(/carryOverObjective/);
    });
  });

  describe('nothing to measure', () => {
    it('refuses a key result that does not exist (NOT_FOUND)', () => {
      measure.given([]).when(command(), teamObjective, openQuarter).thenRejects('NOT_FOUND', 'KEY_RESULT_NOT_FOUND');
    });

    it('refuses a key result of a closed quarter', () => {
      measure.given([keyResultDefined]).when(command(), teamObjective, closedQuarter).thenRejects('BAD_USER_INPUT', 'QUARTER_CLOSED');
    });

    it('refuses a key result of a retired objective', () => {
      measure.given([keyResultDefined]).when(command(), retired(teamObjectiveDrafted), openQuarter).thenRejects('BAD_USER_INPUT', 'OBJECTIVE_RETIRED');
    });

    it('refuses a key result whose quarter is unknown (NOT_FOUND)', () => {
      measure.given([keyResultDefined]).when(command(), teamObjective, noQuarter).thenRejects('NOT_FOUND', 'QUARTER_NOT_FOUND');
    });
  });

  it('leaves the decision state as it was: a measurement changes no rule a later command checks', () => {
    const state: KeyResultState = stateOf(keyResultStream, [keyResultDefined]);
    expect(evolveKeyResult(state, measured())).toBe(state);
  });
});

describe('lastReading: where the metric last stood', () => {
  it('is none before any reading, and a check-in without a value is no reading', () => {
    expect(lastReading([keyResultDefined])).toBeNull();
    expect(lastReading([keyResultDefined, checkedIn({ value: null })])).toBeNull();
  });

  it('takes the latest by effective time across check-ins and measurements', () => {
    expect(lastReading([keyResultDefined, checkedIn({ value: 3, asOf: '2027-02-01T00:00:00.000Z' }), measured({ value: 2.4 })])).toEqual({
      value: 2.4,
      at: '2027-02-14T22:00:00.000Z',
    });
    // A back-dated check-in recorded later does not replace a reading of a later moment.
    expect(lastReading([keyResultDefined, measured({ value: 2.4 }), checkedIn({ value: 3, asOf: '2027-02-01T00:00:00.000Z' })])?.value).toBe(2.4);
    // Nor does a check-in without a value.
    expect(lastReading([keyResultDefined, measured({ value: 2.4 }), checkedIn({ value: null, asOf: NOW })])?.value).toBe(2.4);
  });

  it('of two readings for one moment, takes the later recorded', () => {
    const at = '2027-02-10T00:00:00.000Z';
    expect(lastReading([measured({ value: 2, at }), checkedIn({ value: 3, asOf: at })])?.value).toBe(3);
    expect(lastReading([checkedIn({ value: 3, asOf: at }), measured({ value: 2, at })])?.value).toBe(2);
  });
});
