import type { CheckInRecorded, KeyResultDefined, KeyResultEvent, KeyResultRevised, KeyResultScored } from '../../events/catalogue';
import {
  LIMITS,
  MAX_ABS_METRIC,
  defineKeyResult,
  impliedDirection,
  recordCheckIn,
  reviseKeyResult,
  scoreKeyResult,
  type DefineKeyResult,
  type RecordCheckIn,
} from '../../domain';
import { decider, stateOf } from '../support/decider';
import {
  NOW,
  SETTING_OPENS,
  closedQuarter,
  keyResultDefined,
  keyResultStream,
  krScope,
  noObjective,
  noQuarter,
  objectiveStream,
  openQuarter,
  retired,
  teamObjective,
  teamObjectiveDrafted,
  teamObjectiveScope,
  text,
} from './fixtures';

const define = decider(keyResultStream, defineKeyResult);
const revise = decider(keyResultStream, reviseKeyResult);
const checkIn = decider(keyResultStream, recordCheckIn);
const scoreIt = decider(keyResultStream, scoreKeyResult);

const committedObjective = stateOf(objectiveStream, [teamObjectiveDrafted, { type: 'ObjectiveCommitted', data: teamObjectiveScope }]);
const retiredObjective = retired(teamObjectiveDrafted);

const defined = (data: Partial<KeyResultDefined['data']> = {}): KeyResultDefined => ({
  ...keyResultDefined,
  data: { ...keyResultDefined.data, ...data },
});
const revised = (reason: string, changes: KeyResultRevised['data']['changes']): KeyResultRevised => ({
  type: 'KeyResultRevised',
  data: { ...krScope, reason, changes },
});
const scored = (score: number, note: string | null, previousScore: number | null, target = 1): KeyResultScored => ({
  type: 'KeyResultScored',
  data: { ...krScope, score, note, previousScore, target },
});
const checkedIn = (data: Partial<CheckInRecorded['data']> = {}): CheckInRecorded => ({
  type: 'CheckInRecorded',
  data: { ...krScope, confidence: 70, value: null, whatChanged: null, blockers: null, asOf: NOW, ...data },
});

describe('defineKeyResult', () => {
  const command = (overrides: Partial<DefineKeyResult> = {}): DefineKeyResult => ({
    keyResultId: 'kr-1',
    objectiveId: 'o-pay',
    title: 'Cut checkout errors',
    metric: 'checkout error rate',
    unit: '%',
    baseline: 4,
    target: 1,
    ...overrides,
  });

  describe('no key result yet', () => {
    it("defines one in its objective's scope, inferring DECREASE and defaulting kind to OUTCOME", () => {
      define.given([]).when(command(), teamObjective, openQuarter).then([keyResultDefined]);
    });

    it('infers INCREASE when the target is above the baseline; unit defaults to null', () => {
      define
        .given([])
        .when(command({ unit: undefined, baseline: 60, target: 90 }), teamObjective, openQuarter)
        .then([defined({ unit: null, baseline: 60, target: 90, direction: 'INCREASE' })]);
    });

    it('treats null direction and kind as omitted', () => {
      define.given([]).when(command({ direction: null, kind: null }), teamObjective, openQuarter).then([keyResultDefined]);
    });

    it('keeps an explicit direction that agrees with baseline and target, and an explicit kind', () => {
      define
        .given([])
        .when(command({ direction: 'DECREASE', kind: 'OUTPUT' }), teamObjective, openQuarter)
        .then([defined({ kind: 'OUTPUT' })]);
      define
        .given([])
        .when(command({ baseline: -5, target: 0, direction: 'INCREASE' }), teamObjective, openQuarter)
        .then([defined({ baseline: -5, target: 0, direction: 'INCREASE' })]);
    });

    it('trims the texts and drops a blank unit', () => {
      define
        .given([])
        .when(command({ title: ' Cut checkout errors ', metric: '\tcheckout error rate ', unit: '   ' }), teamObjective, openQuarter)
        .then([defined({ unit: null })]);
    });

    it('accepts a committed objective', () => {
      define.given([]).when(command(), committedObjective, openQuarter).then([keyResultDefined]);
    });

    it.each(['', '   '])('rejects a key result without a metric (%j)', (metric) => {
      define.given([]).when(command({ metric }), teamObjective, openQuarter).thenRejects('BAD_USER_INPUT', 'METRIC_EMPTY');
    });

    it.each([undefined, 'INCREASE', 'DECREASE'] as const)('rejects a target equal to the baseline (direction %s)', (direction) => {
      define
        .given([])
        .when(command({ baseline: 3, target: 3, direction }), teamObjective, openQuarter)
        .thenRejects('BAD_USER_INPUT', 'TARGET_EQUALS_BASELINE');
    });

    it.each([
      ['INCREASE', 4, 1],
      ['DECREASE', 1, 4],
    ] as const)('rejects direction %s that contradicts baseline %d and target %d', (direction, baseline, target) => {
      define
        .given([])
        .when(command({ direction, baseline, target }), teamObjective, openQuarter)
        .thenRejects('BAD_USER_INPUT', 'DIRECTION_CONTRADICTS_TARGET');
    });

    it.each([
      ['baseline', NaN, 'BASELINE_NOT_FINITE'],
      ['baseline', -Infinity, 'BASELINE_NOT_FINITE'],
      ['target', Infinity, 'TARGET_NOT_FINITE'],
      ['target', NaN, 'TARGET_NOT_FINITE'],
      ['baseline', -MAX_ABS_METRIC * 10, 'BASELINE_OUT_OF_RANGE'],
      ['target', MAX_ABS_METRIC * 10, 'TARGET_OUT_OF_RANGE'],
    ] as const)('rejects a %s of %p', (field, value, reason) => {
      define.given([]).when(command({ [field]: value }), teamObjective, openQuarter).thenRejects('BAD_USER_INPUT', reason);
    });

    it(`accepts metric values up to ${MAX_ABS_METRIC} in magnitude`, () => {
      define
        .given([])
        .when(command({ baseline: -MAX_ABS_METRIC, target: MAX_ABS_METRIC }), teamObjective, openQuarter)
        .then([defined({ baseline: -MAX_ABS_METRIC, target: MAX_ABS_METRIC, direction: 'INCREASE' })]);
    });

    it.each(['', '  '])('rejects an empty title (%j)', (title) => {
      define.given([]).when(command({ title }), teamObjective, openQuarter).thenRejects('BAD_USER_INPUT', 'TITLE_EMPTY');
    });

    it.each([
      ['title', LIMITS.keyResultTitle, 'TITLE_TOO_LONG'],
      ['metric', LIMITS.metric, 'METRIC_TOO_LONG'],
      ['unit', LIMITS.measurementUnit, 'UNIT_TOO_LONG'],
    ] as const)('accepts a %s of %d characters and rejects one more', (field, limit, reason) => {
      define.given([]).when(command({ [field]: text(limit) }), teamObjective, openQuarter).then([defined({ [field]: text(limit) })]);
      define.given([]).when(command({ [field]: text(limit + 1) }), teamObjective, openQuarter).thenRejects('BAD_USER_INPUT', reason);
    });

    it('rejects an unknown objective (NOT_FOUND)', () => {
      define.given([]).when(command(), noObjective, openQuarter).thenRejects('NOT_FOUND', 'OBJECTIVE_NOT_FOUND');
    });

    it('rejects an unknown quarter (NOT_FOUND)', () => {
      define.given([]).when(command(), teamObjective, noQuarter).thenRejects('NOT_FOUND', 'QUARTER_NOT_FOUND');
    });

    it('rejects a retired objective', () => {
      define.given([]).when(command(), retiredObjective, openQuarter).thenRejects('BAD_USER_INPUT', 'OBJECTIVE_RETIRED');
    });
  });

  describe('a defined key result', () => {
    it('cannot be defined again', () => {
      define.given([keyResultDefined]).when(command(), teamObjective, openQuarter).thenRejects('BAD_USER_INPUT', 'KEY_RESULT_EXISTS');
    });
  });
});

describe('reviseKeyResult', () => {
  describe('a defined key result', () => {
    const given = [keyResultDefined];

    it('records each changed field with from and to, and the trimmed reason', () => {
      revise
        .given(given)
        .when({ keyResultId: 'kr-1', reason: '  Baseline was measured wrong ', baseline: 5, target: 0.5 }, teamObjective, openQuarter)
        .then([
          revised('Baseline was measured wrong', [
            { field: 'baseline', from: 4, to: 5 },
            { field: 'target', from: 1, to: 0.5 },
          ]),
        ]);
    });

    it('records text, unit and kind changes in field order', () => {
      revise
        .given(given)
        .when(
          { keyResultId: 'kr-1', reason: 'Clarified', title: 'Halve checkout errors', metric: 'error rate', unit: 'percent', kind: 'OUTPUT' },
          teamObjective,
          openQuarter,
        )
        .then([
          revised('Clarified', [
            { field: 'title', from: 'Cut checkout errors', to: 'Halve checkout errors' },
            { field: 'metric', from: 'checkout error rate', to: 'error rate' },
            { field: 'unit', from: '%', to: 'percent' },
            { field: 'kind', from: 'OUTCOME', to: 'OUTPUT' },
          ]),
        ]);
    });

    it.each([null, '  '])('removes the unit when given %j', (unit) => {
      revise
        .given(given)
        .when({ keyResultId: 'kr-1', reason: 'Unitless ratio', unit }, teamObjective, openQuarter)
        .then([revised('Unitless ratio', [{ field: 'unit', from: '%', to: null }])]);
    });

    it('records only the fields that change, and nothing when none do', () => {
      revise
        .given(given)
        .when({ keyResultId: 'kr-1', reason: 'Stretch', title: 'Cut checkout errors', baseline: 4, target: 0.5 }, teamObjective, openQuarter)
        .then([revised('Stretch', [{ field: 'target', from: 1, to: 0.5 }])]);
      revise
        .given(given)
        .when(
          { keyResultId: 'kr-1', reason: 'No-op', title: ' Cut checkout errors ', metric: 'checkout error rate', unit: '%', baseline: 4, target: 1, kind: 'OUTCOME' },
          teamObjective,
          openQuarter,
        )
        .thenNothing();
      revise.given(given).when({ keyResultId: 'kr-1', reason: 'Nothing given' }, teamObjective, openQuarter).thenNothing();
    });

    it('reads the revised state: later revisions compare with the revised values', () => {
      revise
        .given([...given, revised('Stretch', [{ field: 'target', from: 1, to: 0.5 }, { field: 'unit', from: '%', to: null }])])
        .when({ keyResultId: 'kr-1', reason: 'Back', target: 1, unit: null }, teamObjective, openQuarter)
        .then([revised('Back', [{ field: 'target', from: 0.5, to: 1 }])]);
    });

    it('rejects a revision that puts the target on the baseline', () => {
      revise
        .given(given)
        .when({ keyResultId: 'kr-1', reason: 'Oops', target: 4 }, teamObjective, openQuarter)
        .thenRejects('BAD_USER_INPUT', 'TARGET_EQUALS_BASELINE');
    });

    it('rejects a revision that contradicts the direction', () => {
      revise
        .given(given)
        .when({ keyResultId: 'kr-1', reason: 'Flip', target: 8 }, teamObjective, openQuarter)
        .thenRejects('BAD_USER_INPUT', 'DIRECTION_CONTRADICTS_TARGET');
    });

    it.each(['', '   '])('rejects an empty reason (%j)', (reason) => {
      revise.given(given).when({ keyResultId: 'kr-1', reason, target: 0.5 }, teamObjective, openQuarter).thenRejects('BAD_USER_INPUT', 'REASON_EMPTY');
    });

    it(`accepts a reason of ${LIMITS.reason} characters and rejects one more`, () => {
      revise
        .given(given)
        .when({ keyResultId: 'kr-1', reason: text(LIMITS.reason), target: 0.5 }, teamObjective, openQuarter)
        .then([revised(text(LIMITS.reason), [{ field: 'target', from: 1, to: 0.5 }])]);
      revise
        .given(given)
        .when({ keyResultId: 'kr-1', reason: text(LIMITS.reason + 1), target: 0.5 }, teamObjective, openQuarter)
        .thenRejects('BAD_USER_INPUT', 'REASON_TOO_LONG');
    });

    it.each([
      [{ title: ' ' }, 'TITLE_EMPTY'],
      [{ metric: '' }, 'METRIC_EMPTY'],
      [{ baseline: NaN }, 'BASELINE_NOT_FINITE'],
      [{ target: Infinity }, 'TARGET_NOT_FINITE'],
      [{ target: -MAX_ABS_METRIC * 2 }, 'TARGET_OUT_OF_RANGE'],
      [{ unit: text(LIMITS.measurementUnit + 1) }, 'UNIT_TOO_LONG'],
    ])('rejects %p', (change, reason) => {
      revise.given(given).when({ keyResultId: 'kr-1', reason: 'Because', ...change }, teamObjective, openQuarter).thenRejects('BAD_USER_INPUT', reason);
    });
  });
});

describe('recordCheckIn', () => {
  const command = (overrides: Partial<RecordCheckIn> = {}): RecordCheckIn => ({ keyResultId: 'kr-1', confidence: 70, at: NOW, ...overrides });

  describe('a defined key result', () => {
    const given = [keyResultDefined];

    it('records a check-in as of now by default', () => {
      checkIn.given(given).when(command(), teamObjective, openQuarter).then([checkedIn()]);
    });

    it('records a value and trimmed notes; blank notes become null', () => {
      checkIn
        .given(given)
        .when(command({ value: 2.5, whatChanged: ' Retries shipped ', blockers: '  ' }), teamObjective, openQuarter)
        .then([checkedIn({ value: 2.5, whatChanged: 'Retries shipped' })]);
    });

    it('records a back-dated check-in at its effective time, normalised to UTC', () => {
      checkIn
        .given(given)
        .when(command({ asOf: '2027-02-01T09:00:00-03:00' }), teamObjective, openQuarter)
        .then([checkedIn({ asOf: '2027-02-01T12:00:00.000Z' })]);
    });

    it('accepts asOf equal to now and rejects a back-dated check-in in the future', () => {
      checkIn.given(given).when(command({ asOf: NOW }), teamObjective, openQuarter).then([checkedIn()]);
      checkIn
        .given(given)
        .when(command({ asOf: '2027-02-15T12:00:00.001Z' }), teamObjective, openQuarter)
        .thenRejects('BAD_USER_INPUT', 'CHECK_IN_IN_FUTURE');
    });

    it('rejects an asOf that is not an instant', () => {
      checkIn.given(given).when(command({ asOf: 'yesterday' }), teamObjective, openQuarter).thenRejects('BAD_USER_INPUT', 'AS_OF_INVALID');
    });

    it('accepts an asOf at the moment the setting window opened, and rejects one earlier', () => {
      checkIn.given(given).when(command({ asOf: SETTING_OPENS }), teamObjective, openQuarter).then([checkedIn({ asOf: SETTING_OPENS })]);
      const error = checkIn
        .given(given)
        .when(command({ asOf: '2026-12-10T23:59:59.999Z' }), teamObjective, openQuarter)
        .thenRejects('BAD_USER_INPUT', 'CHECK_IN_BEFORE_SETTING_WINDOW');
      expect(error.message).toContain(SETTING_OPENS);
    });

    it('rejects a check-in back-dated to year 1, and one outside the accepted years', () => {
      checkIn.given(given).when(command({ asOf: '0001-05-01T00:00:00Z' }), teamObjective, openQuarter).thenRejects('BAD_USER_INPUT', 'CHECK_IN_BEFORE_SETTING_WINDOW');
      checkIn.given(given).when(command({ asOf: '0000-05-01T00:00:00Z' }), teamObjective, openQuarter).thenRejects('BAD_USER_INPUT', 'AS_OF_OUT_OF_RANGE');
    });

    it('rejects a check-in recorded now (no asOf) before the setting window opened', () => {
      checkIn.given(given).when(command({ at: '2026-12-01T00:00:00.000Z' }), teamObjective, openQuarter).thenRejects('BAD_USER_INPUT', 'CHECK_IN_BEFORE_SETTING_WINDOW');
    });

    it.each([0, 100])('accepts confidence %d', (confidence) => {
      checkIn.given(given).when(command({ confidence }), teamObjective, openQuarter).then([checkedIn({ confidence })]);
    });

    it.each([-1, 101, 50.5, NaN, Infinity, -Infinity])('rejects confidence %p', (confidence) => {
      checkIn.given(given).when(command({ confidence }), teamObjective, openQuarter).thenRejects('BAD_USER_INPUT', 'CONFIDENCE_OUT_OF_RANGE');
    });

    it.each([
      [NaN, 'VALUE_NOT_FINITE'],
      [Infinity, 'VALUE_NOT_FINITE'],
      [MAX_ABS_METRIC * 2, 'VALUE_OUT_OF_RANGE'],
    ])('rejects value %p', (value, reason) => {
      checkIn.given(given).when(command({ value }), teamObjective, openQuarter).thenRejects('BAD_USER_INPUT', reason);
    });

    it.each([
      ['whatChanged', 'WHAT_CHANGED_TOO_LONG'],
      ['blockers', 'BLOCKERS_TOO_LONG'],
    ] as const)(`accepts %s of ${LIMITS.checkInText} characters and rejects one more`, (field, reason) => {
      checkIn
        .given(given)
        .when(command({ [field]: text(LIMITS.checkInText) }), teamObjective, openQuarter)
        .then([checkedIn({ [field]: text(LIMITS.checkInText) })]);
      checkIn.given(given).when(command({ [field]: text(LIMITS.checkInText + 1) }), teamObjective, openQuarter).thenRejects('BAD_USER_INPUT', reason);
    });

    it('rejects an unknown objective (NOT_FOUND)', () => {
      checkIn.given(given).when(command(), noObjective, openQuarter).thenRejects('NOT_FOUND', 'OBJECTIVE_NOT_FOUND');
    });
  });

  describe('a key result with check-ins', () => {
    it('records another check-in', () => {
      checkIn
        .given([keyResultDefined, checkedIn({ confidence: 40 })])
        .when(command({ confidence: 55 }), teamObjective, openQuarter)
        .then([checkedIn({ confidence: 55 })]);
    });
  });
});

describe('scoreKeyResult', () => {
  describe('a defined key result', () => {
    const given: KeyResultEvent[] = [keyResultDefined];

    it('scores it, recording the target in force and no previous score', () => {
      scoreIt.given(given).when({ at: NOW, keyResultId: 'kr-1', score: 0.7 }, teamObjective, openQuarter).then([scored(0.7, null, null)]);
    });

    it('records the target as revised', () => {
      scoreIt
        .given([...given, revised('Stretch', [{ field: 'target', from: 1, to: 0.5 }])])
        .when({ at: NOW, keyResultId: 'kr-1', score: 0.4, note: ' Half way ' }, teamObjective, openQuarter)
        .then([scored(0.4, 'Half way', null, 0.5)]);
    });

    it.each([0, 1])('accepts a score of %d', (score) => {
      scoreIt.given(given).when({ at: NOW, keyResultId: 'kr-1', score }, teamObjective, openQuarter).then([scored(score, null, null)]);
    });

    it.each([-0.1, 1.1, -1, 2, NaN, Infinity, -Infinity])('rejects a score of %p', (score) => {
      scoreIt.given(given).when({ at: NOW, keyResultId: 'kr-1', score }, teamObjective, openQuarter).thenRejects('BAD_USER_INPUT', 'SCORE_OUT_OF_RANGE');
    });

    it(`accepts a note of ${LIMITS.note} characters and rejects one more`, () => {
      scoreIt
        .given(given)
        .when({ at: NOW, keyResultId: 'kr-1', score: 0.7, note: text(LIMITS.note) }, teamObjective, openQuarter)
        .then([scored(0.7, text(LIMITS.note), null)]);
      scoreIt
        .given(given)
        .when({ at: NOW, keyResultId: 'kr-1', score: 0.7, note: text(LIMITS.note + 1) }, teamObjective, openQuarter)
        .thenRejects('BAD_USER_INPUT', 'NOTE_TOO_LONG');
    });

    it('rejects an unknown objective (NOT_FOUND)', () => {
      scoreIt.given(given).when({ at: NOW, keyResultId: 'kr-1', score: 0.7 }, noObjective, openQuarter).thenRejects('NOT_FOUND', 'OBJECTIVE_NOT_FOUND');
    });

    it('scores from the moment the setting window opened, and rejects a score before it', () => {
      scoreIt.given(given).when({ at: SETTING_OPENS, keyResultId: 'kr-1', score: 0.7 }, teamObjective, openQuarter).then([scored(0.7, null, null)]);
      scoreIt
        .given(given)
        .when({ at: '2026-12-10T23:59:59.999Z', keyResultId: 'kr-1', score: 0.7 }, teamObjective, openQuarter)
        .thenRejects('BAD_USER_INPUT', 'SCORE_BEFORE_SETTING_WINDOW');
    });
  });

  describe('a scored key result', () => {
    const given: KeyResultEvent[] = [keyResultDefined, scored(0.5, null, null)];

    it.each([undefined, null, '', '   '])('rejects scoring again without a note (note %j)', (note) => {
      scoreIt
        .given(given)
        .when({ at: NOW, keyResultId: 'kr-1', score: 0.6, note }, teamObjective, openQuarter)
        .thenRejects('BAD_USER_INPUT', 'CORRECTION_NEEDS_NOTE');
    });

    it('accepts a correction with a note, recording the previous score', () => {
      scoreIt
        .given(given)
        .when({ at: NOW, keyResultId: 'kr-1', score: 0.6, note: 'Counted the February outage twice' }, teamObjective, openQuarter)
        .then([scored(0.6, 'Counted the February outage twice', 0.5)]);
    });

    it('takes the latest score as the previous one after several corrections', () => {
      scoreIt
        .given([...given, scored(0.6, 'Recounted', 0.5)])
        .when({ at: NOW, keyResultId: 'kr-1', score: 0.65, note: 'Final numbers' }, teamObjective, openQuarter)
        .then([scored(0.65, 'Final numbers', 0.6)]);
    });

    it('treats a score of 0 as a score: correcting it needs a note', () => {
      scoreIt
        .given([keyResultDefined, scored(0, null, null)])
        .when({ at: NOW, keyResultId: 'kr-1', score: 0.2 }, teamObjective, openQuarter)
        .thenRejects('BAD_USER_INPUT', 'CORRECTION_NEEDS_NOTE');
    });
  });
});

describe("a retired objective's key result", () => {
  const given = [keyResultDefined];

  it('rejects a check-in', () => {
    checkIn.given(given).when({ keyResultId: 'kr-1', confidence: 50, at: NOW }, retiredObjective, openQuarter).thenRejects('BAD_USER_INPUT', 'OBJECTIVE_RETIRED');
  });

  it('rejects a score', () => {
    scoreIt.given(given).when({ at: NOW, keyResultId: 'kr-1', score: 0.3 }, retiredObjective, openQuarter).thenRejects('BAD_USER_INPUT', 'OBJECTIVE_RETIRED');
  });

  it('rejects a revision', () => {
    revise
      .given(given)
      .when({ keyResultId: 'kr-1', reason: 'Late', target: 0.5 }, retiredObjective, openQuarter)
      .thenRejects('BAD_USER_INPUT', 'OBJECTIVE_RETIRED');
  });
});

describe('in a closed quarter', () => {
  const given = [keyResultDefined];

  it('rejects defining a key result', () => {
    define
      .given([])
      .when({ keyResultId: 'kr-2', objectiveId: 'o-pay', title: 'T', metric: 'm', baseline: 0, target: 1 }, teamObjective, closedQuarter)
      .thenRejects('BAD_USER_INPUT', 'QUARTER_CLOSED');
  });

  it('rejects a revision', () => {
    revise.given(given).when({ keyResultId: 'kr-1', reason: 'Late', target: 0.5 }, teamObjective, closedQuarter).thenRejects('BAD_USER_INPUT', 'QUARTER_CLOSED');
  });

  it('rejects a check-in, even back-dated into the quarter', () => {
    checkIn
      .given(given)
      .when({ keyResultId: 'kr-1', confidence: 50, asOf: '2027-03-30T00:00:00.000Z', at: '2027-04-06T00:00:00.000Z' }, teamObjective, closedQuarter)
      .thenRejects('BAD_USER_INPUT', 'QUARTER_CLOSED');
  });

  it('rejects a score, and a scored correction', () => {
    scoreIt.given(given).when({ at: NOW, keyResultId: 'kr-1', score: 0.7 }, teamObjective, closedQuarter).thenRejects('BAD_USER_INPUT', 'QUARTER_CLOSED');
    scoreIt
      .given([...given, scored(0.5, null, null)])
      .when({ at: NOW, keyResultId: 'kr-1', score: 0.7, note: 'Late data' }, teamObjective, closedQuarter)
      .thenRejects('BAD_USER_INPUT', 'QUARTER_CLOSED');
  });
});

describe('an unknown key result', () => {
  it('rejects revise, check-in and score (NOT_FOUND)', () => {
    revise.given([]).when({ keyResultId: 'kr-ghost', reason: 'R', target: 2 }, teamObjective, openQuarter).thenRejects('NOT_FOUND', 'KEY_RESULT_NOT_FOUND');
    checkIn.given([]).when({ keyResultId: 'kr-ghost', confidence: 50, at: NOW }, teamObjective, openQuarter).thenRejects('NOT_FOUND', 'KEY_RESULT_NOT_FOUND');
    scoreIt.given([]).when({ at: NOW, keyResultId: 'kr-ghost', score: 0.5 }, teamObjective, openQuarter).thenRejects('NOT_FOUND', 'KEY_RESULT_NOT_FOUND');
  });
});

describe('impliedDirection', () => {
  it('is INCREASE when the target is above the baseline and DECREASE when below', () => {
    expect(impliedDirection(1, 2)).toBe('INCREASE');
    expect(impliedDirection(2, 1)).toBe('DECREASE');
    expect(impliedDirection(-3, -1)).toBe('INCREASE');
  });
});
