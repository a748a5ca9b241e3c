import type { ProcessEffortLogged, RetrospectiveRecorded } from '../../events/catalogue';
import {
  LIMITS,
  MAX_PERSON_DAYS_PER_ENTRY,
  logProcessEffort,
  recordRetrospective,
  registerUnit,
  type KeyResultState,
  type RecordRetrospective,
} from '../../domain';
import { decider, stateOf } from '../support/decider';
import {
  NOW,
  SETTING_OPENS,
  Q1,
  Q2,
  acme,
  acmeRegistered,
  engineering,
  keyResultDefined,
  keyResultStream,
  noQuarter,
  noUnit,
  openQuarter,
  payments,
  paymentsRegistered,
  text,
  unitStream,
} from './fixtures';

const register = decider(unitStream, registerUnit);
const retrospective = decider(unitStream, recordRetrospective);
const effort = decider(unitStream, logProcessEffort);

describe('registerUnit', () => {
  describe('an unregistered unit', () => {
    it('registers a company, which has no parent', () => {
      register
        .given([])
        .when({ unitId: 'acme', name: 'Acme', level: 'COMPANY', parentId: null }, null)
        .then([{ type: 'UnitRegistered', data: { unitId: 'acme', name: 'Acme', level: 'COMPANY', parentId: null } }]);
    });

    it('registers a function under a company, trimming the name', () => {
      register
        .given([])
        .when({ unitId: 'eng', name: '  Engineering ', level: 'FUNCTION', parentId: 'acme' }, acme)
        .then([{ type: 'UnitRegistered', data: { unitId: 'eng', name: 'Engineering', level: 'FUNCTION', parentId: 'acme' } }]);
    });

    it('registers a team under a function', () => {
      register
        .given([])
        .when({ unitId: 'payments', name: 'Payments', level: 'TEAM', parentId: 'eng' }, engineering)
        .then([{ type: 'UnitRegistered', data: { unitId: 'payments', name: 'Payments', level: 'TEAM', parentId: 'eng' } }]);
    });

    it('rejects a company with a parent', () => {
      register
        .given([])
        .when({ unitId: 'holding', name: 'Holding', level: 'COMPANY', parentId: 'acme' }, acme)
        .thenRejects('BAD_USER_INPUT', 'PARENT_LEVEL_INVALID');
    });

    it('rejects a function without a parent', () => {
      register
        .given([])
        .when({ unitId: 'eng', name: 'Engineering', level: 'FUNCTION', parentId: null }, null)
        .thenRejects('BAD_USER_INPUT', 'PARENT_REQUIRED');
    });

    it('rejects a team without a parent', () => {
      register
        .given([])
        .when({ unitId: 'payments', name: 'Payments', level: 'TEAM', parentId: null }, null)
        .thenRejects('BAD_USER_INPUT', 'PARENT_REQUIRED');
    });

    it.each([
      ['a team under a company', 'TEAM', acme],
      ['a team under a team', 'TEAM', payments],
      ['a function under a function', 'FUNCTION', engineering],
      ['a function under a team', 'FUNCTION', payments],
    ] as const)('rejects %s', (_, level, parent) => {
      register
        .given([])
        .when({ unitId: 'new', name: 'New unit', level, parentId: parent.status === 'registered' ? parent.id : 'x' }, parent)
        .thenRejects('BAD_USER_INPUT', 'PARENT_LEVEL_INVALID');
    });

    it('rejects an unknown parent (NOT_FOUND)', () => {
      register
        .given([])
        .when({ unitId: 'eng', name: 'Engineering', level: 'FUNCTION', parentId: 'nowhere' }, null)
        .thenRejects('NOT_FOUND', 'UNIT_NOT_FOUND');
      register
        .given([])
        .when({ unitId: 'eng', name: 'Engineering', level: 'FUNCTION', parentId: 'nowhere' }, noUnit)
        .thenRejects('NOT_FOUND', 'UNIT_NOT_FOUND');
    });

    it.each(['', '   '])('rejects an empty name (%j)', (name) => {
      register
        .given([])
        .when({ unitId: 'acme', name, level: 'COMPANY', parentId: null }, null)
        .thenRejects('BAD_USER_INPUT', 'NAME_EMPTY');
    });

    it(`accepts a name of ${LIMITS.name} characters and rejects one more`, () => {
      const command = { unitId: 'acme', level: 'COMPANY', parentId: null } as const;
      register
        .given([])
        .when({ ...command, name: text(LIMITS.name) }, null)
        .then([{ type: 'UnitRegistered', data: { ...command, name: text(LIMITS.name) } }]);
      register
        .given([])
        .when({ ...command, name: text(LIMITS.name + 1) }, null)
        .thenRejects('BAD_USER_INPUT', 'NAME_TOO_LONG');
    });
  });

  describe('a registered unit', () => {
    it('cannot be registered again', () => {
      register
        .given([acmeRegistered])
        .when({ unitId: 'acme', name: 'Acme', level: 'COMPANY', parentId: null }, null)
        .thenRejects('BAD_USER_INPUT', 'UNIT_EXISTS');
    });

    it('stays registered through retrospectives and effort entries', () => {
      register
        .given([
          paymentsRegistered,
          { type: 'RetrospectiveRecorded', data: { unitId: 'payments', quarterId: Q1, learnings: 'L', calibrations: [] } },
          {
            type: 'ProcessEffortLogged',
            data: { unitId: 'payments', quarterId: Q1, activity: 'SETTING', personDays: 1, note: null, occurredOn: NOW },
          },
        ])
        .when({ unitId: 'payments', name: 'Payments', level: 'TEAM', parentId: 'eng' }, engineering)
        .thenRejects('BAD_USER_INPUT', 'UNIT_EXISTS');
    });
  });
});

describe('recordRetrospective', () => {
  const kr1 = stateOf(keyResultStream, [keyResultDefined]);
  const kr2 = stateOf(keyResultStream, [{ ...keyResultDefined, data: { ...keyResultDefined.data, keyResultId: 'kr-2' } }]);
  const otherUnitKr = stateOf(keyResultStream, [
    { ...keyResultDefined, data: { ...keyResultDefined.data, keyResultId: 'kr-eng', unitId: 'eng' } },
  ]);
  const otherQuarterKr = stateOf(keyResultStream, [
    { ...keyResultDefined, data: { ...keyResultDefined.data, keyResultId: 'kr-q2', quarterId: Q2 } },
  ]);
  const keyResults = new Map<string, KeyResultState>([
    ['kr-1', kr1],
    ['kr-2', kr2],
    ['kr-eng', otherUnitKr],
    ['kr-q2', otherQuarterKr],
    ['kr-none', stateOf(keyResultStream, [])],
  ]);
  const command = (overrides: Partial<RecordRetrospective> = {}): RecordRetrospective => ({
    unitId: 'payments',
    quarterId: Q1,
    learnings: 'We set too many key results.',
    calibrations: [],
    ...overrides,
  });

  describe('a registered unit', () => {
    it('records the learnings and calibrations, trimmed, notes defaulting to null', () => {
      const expected: RetrospectiveRecorded = {
        type: 'RetrospectiveRecorded',
        data: {
          unitId: 'payments',
          quarterId: Q1,
          learnings: 'We set too many key results.',
          calibrations: [
            { keyResultId: 'kr-1', calibration: 'TOO_EASY', note: 'Hit it in week 3' },
            { keyResultId: 'kr-2', calibration: 'RIGHT', note: null },
          ],
        },
      };
      retrospective
        .given([paymentsRegistered])
        .when(
          command({
            learnings: '  We set too many key results.\n',
            calibrations: [
              { keyResultId: 'kr-1', calibration: 'TOO_EASY', note: ' Hit it in week 3 ' },
              { keyResultId: 'kr-2', calibration: 'RIGHT' },
            ],
          }),
          openQuarter,
          keyResults,
        )
        .then([expected]);
    });

    it('rejects an unknown quarter (NOT_FOUND)', () => {
      retrospective.given([paymentsRegistered]).when(command(), noQuarter, keyResults).thenRejects('NOT_FOUND', 'QUARTER_NOT_FOUND');
    });

    it.each(['kr-missing', 'kr-none'])('rejects an unknown key result %s (NOT_FOUND)', (keyResultId) => {
      retrospective
        .given([paymentsRegistered])
        .when(command({ calibrations: [{ keyResultId, calibration: 'RIGHT' }] }), openQuarter, keyResults)
        .thenRejects('NOT_FOUND', 'KEY_RESULT_NOT_FOUND');
    });

    it.each([
      ['another unit', 'kr-eng'],
      ['another quarter', 'kr-q2'],
    ])("rejects calibrating %s's key result", (_, keyResultId) => {
      retrospective
        .given([paymentsRegistered])
        .when(command({ calibrations: [{ keyResultId, calibration: 'RIGHT' }] }), openQuarter, keyResults)
        .thenRejects('BAD_USER_INPUT', 'CALIBRATION_OUTSIDE_RETROSPECTIVE');
    });

    it('rejects a key result calibrated twice', () => {
      retrospective
        .given([paymentsRegistered])
        .when(
          command({
            calibrations: [
              { keyResultId: 'kr-1', calibration: 'RIGHT' },
              { keyResultId: 'kr-1', calibration: 'TOO_HARD' },
            ],
          }),
          openQuarter,
          keyResults,
        )
        .thenRejects('BAD_USER_INPUT', 'CALIBRATION_DUPLICATE');
    });

    it(`accepts ${LIMITS.calibrations} calibrations and rejects one more`, () => {
      const many = new Map<string, KeyResultState>();
      for (let i = 0; i <= LIMITS.calibrations; i++) {
        const keyResultId = `kr-${i}`;
        many.set(keyResultId, stateOf(keyResultStream, [{ ...keyResultDefined, data: { ...keyResultDefined.data, keyResultId } }]));
      }
      const calibrations = [...many.keys()].map((keyResultId) => ({ keyResultId, calibration: 'RIGHT' as const }));
      const atLimit = calibrations.slice(0, LIMITS.calibrations);
      retrospective
        .given([paymentsRegistered])
        .when(command({ calibrations: atLimit }), openQuarter, many)
        .then([
          {
            type: 'RetrospectiveRecorded',
            data: { ...command(), calibrations: atLimit.map((c) => ({ ...c, note: null })) },
          },
        ]);
      retrospective
        .given([paymentsRegistered])
        .when(command({ calibrations }), openQuarter, many)
        .thenRejects('BAD_USER_INPUT', 'TOO_MANY_CALIBRATIONS');
    });

    it.each(['', ' \n '])('rejects empty learnings (%j)', (learnings) => {
      retrospective
        .given([paymentsRegistered])
        .when(command({ learnings }), openQuarter, keyResults)
        .thenRejects('BAD_USER_INPUT', 'LEARNINGS_EMPTY');
    });

    it(`accepts learnings of ${LIMITS.learnings} characters and rejects one more`, () => {
      retrospective
        .given([paymentsRegistered])
        .when(command({ learnings: text(LIMITS.learnings) }), openQuarter, keyResults)
        .then([{ type: 'RetrospectiveRecorded', data: { unitId: 'payments', quarterId: Q1, learnings: text(LIMITS.learnings), calibrations: [] } }]);
      retrospective
        .given([paymentsRegistered])
        .when(command({ learnings: text(LIMITS.learnings + 1) }), openQuarter, keyResults)
        .thenRejects('BAD_USER_INPUT', 'LEARNINGS_TOO_LONG');
    });

    it(`rejects a calibration note over ${LIMITS.note} characters`, () => {
      retrospective
        .given([paymentsRegistered])
        .when(
          command({ calibrations: [{ keyResultId: 'kr-1', calibration: 'RIGHT', note: text(LIMITS.note + 1) }] }),
          openQuarter,
          keyResults,
        )
        .thenRejects('BAD_USER_INPUT', 'NOTE_TOO_LONG');
    });
  });

  describe('an unregistered unit', () => {
    it('rejects the retrospective (NOT_FOUND)', () => {
      retrospective.given([]).when(command(), openQuarter, keyResults).thenRejects('NOT_FOUND', 'UNIT_NOT_FOUND');
    });
  });
});

describe('logProcessEffort', () => {
  const base = { unitId: 'payments', quarterId: Q1, activity: 'CHECK_IN', personDays: 1.5, at: NOW } as const;
  const logged = (data: Partial<ProcessEffortLogged['data']> = {}): ProcessEffortLogged => ({
    type: 'ProcessEffortLogged',
    data: { unitId: 'payments', quarterId: Q1, activity: 'CHECK_IN', personDays: 1.5, note: null, occurredOn: NOW, ...data },
  });

  describe('a registered unit', () => {
    it('logs effort as of now when occurredOn is omitted', () => {
      effort
        .given([paymentsRegistered])
        .when(base, openQuarter)
        .then([
          {
            type: 'ProcessEffortLogged',
            data: { unitId: 'payments', quarterId: Q1, activity: 'CHECK_IN', personDays: 1.5, note: null, occurredOn: NOW },
          },
        ]);
    });

    it('normalises a back-dated occurredOn to UTC and trims the note', () => {
      effort
        .given([paymentsRegistered])
        .when({ ...base, occurredOn: '2027-02-10T10:00:00+02:00', note: ' weekly check-in ' }, openQuarter)
        .then([logged({ note: 'weekly check-in', occurredOn: '2027-02-10T08:00:00.000Z' })]);
    });

    it('accepts occurredOn equal to now and rejects one in the future', () => {
      effort.given([paymentsRegistered]).when({ ...base, occurredOn: NOW }, openQuarter).then([logged()]);
      effort
        .given([paymentsRegistered])
        .when({ ...base, occurredOn: '2027-02-15T12:00:00.001Z' }, openQuarter)
        .thenRejects('BAD_USER_INPUT', 'OCCURRED_IN_FUTURE');
    });

    it('accepts effort from the moment the setting window opened, and rejects effort before it', () => {
      effort.given([paymentsRegistered]).when({ ...base, occurredOn: SETTING_OPENS }, openQuarter).then([logged({ occurredOn: SETTING_OPENS })]);
      effort
        .given([paymentsRegistered])
        .when({ ...base, occurredOn: '2026-12-10T23:59:59.999Z' }, openQuarter)
        .thenRejects('BAD_USER_INPUT', 'OCCURRED_BEFORE_SETTING_WINDOW');
      effort
        .given([paymentsRegistered])
        .when({ ...base, at: '2026-12-01T00:00:00.000Z' }, openQuarter)
        .thenRejects('BAD_USER_INPUT', 'OCCURRED_BEFORE_SETTING_WINDOW');
    });

    it('rejects an occurredOn that is not an instant', () => {
      effort
        .given([paymentsRegistered])
        .when({ ...base, occurredOn: 'last tuesday' }, openQuarter)
        .thenRejects('BAD_USER_INPUT', 'OCCURRED_ON_INVALID');
    });

    it(`accepts ${MAX_PERSON_DAYS_PER_ENTRY} person-days in one entry, and a fraction of a day`, () => {
      effort
        .given([paymentsRegistered])
        .when({ ...base, personDays: MAX_PERSON_DAYS_PER_ENTRY }, openQuarter)
        .then([logged({ personDays: 100 })]);
      effort.given([paymentsRegistered]).when({ ...base, personDays: 0.25 }, openQuarter).then([logged({ personDays: 0.25 })]);
    });

    it.each([0, -1, 100.5])('rejects %p person-days', (personDays) => {
      effort
        .given([paymentsRegistered])
        .when({ ...base, personDays }, openQuarter)
        .thenRejects('BAD_USER_INPUT', 'PERSON_DAYS_OUT_OF_RANGE');
    });

    it.each([NaN, Infinity, -Infinity])('rejects non-finite person-days (%p)', (personDays) => {
      effort
        .given([paymentsRegistered])
        .when({ ...base, personDays }, openQuarter)
        .thenRejects('BAD_USER_INPUT', 'PERSON_DAYS_NOT_FINITE');
    });

    it(`accepts a note of ${LIMITS.note} characters and rejects one more`, () => {
      effort
        .given([paymentsRegistered])
        .when({ ...base, note: text(LIMITS.note) }, openQuarter)
        .then([logged({ note: text(LIMITS.note) })]);
      effort
        .given([paymentsRegistered])
        .when({ ...base, note: text(LIMITS.note + 1) }, openQuarter)
        .thenRejects('BAD_USER_INPUT', 'NOTE_TOO_LONG');
    });

    it('rejects an unknown quarter (NOT_FOUND)', () => {
      effort.given([paymentsRegistered]).when(base, noQuarter).thenRejects('NOT_FOUND', 'QUARTER_NOT_FOUND');
    });
  });

  describe('an unregistered unit', () => {
    it('rejects the entry (NOT_FOUND)', () => {
      effort.given([]).when(base, openQuarter).thenRejects('NOT_FOUND', 'UNIT_NOT_FOUND');
    });
  });
});
