import {
  DomainError,
  LIMITS,
  MAX_ABS_METRIC,
  confidence,
  finiteNumber,
  instant,
  ms,
  notFound,
  optionalText,
  rejected,
  requiredText,
  score,
} from '../../domain';
import { expectRejection } from '../support/decider';
import { text } from './fixtures';

describe('LIMITS', () => {
  it('are the documented text limits (changing one is a product decision)', () => {
    expect(LIMITS).toEqual({
      name: 120,
      title: 200,
      keyResultTitle: 300,
      metric: 200,
      measurementUnit: 40,
      description: 4000,
      reason: 1000,
      note: 2000,
      checkInText: 4000,
      learnings: 20000,
      quarterKey: 32,
      calibrations: 100,
      source: 100,
    });
    expect(MAX_ABS_METRIC).toBe(1e15);
  });
});

describe('requiredText', () => {
  it('trims the text', () => {
    expect(requiredText('title', '  Ship it \n', 10)).toBe('Ship it');
  });

  it.each(['', ' ', '\t\n '])('rejects empty text (%j), naming the field in the reason', (value) => {
    expectRejection(() => requiredText('title', value, 10), 'BAD_USER_INPUT', 'TITLE_EMPTY');
    expectRejection(() => requiredText('keyResultTitle', value, 10), 'BAD_USER_INPUT', 'KEY_RESULT_TITLE_EMPTY');
  });

  it('accepts text at the limit and rejects one character more, counted after trimming', () => {
    expect(requiredText('title', text(10), 10)).toBe(text(10));
    expect(requiredText('title', `  ${text(10)}  `, 10)).toBe(text(10));
    expectRejection(() => requiredText('title', text(11), 10), 'BAD_USER_INPUT', 'TITLE_TOO_LONG');
  });
});

describe('optionalText', () => {
  it.each([null, undefined, '', '   '])('turns %j into null', (value) => {
    expect(optionalText('note', value, 10)).toBeNull();
  });

  it('trims the text', () => {
    expect(optionalText('note', ' why ', 10)).toBe('why');
  });

  it('accepts text at the limit and rejects one character more', () => {
    expect(optionalText('whatChanged', text(10), 10)).toBe(text(10));
    expectRejection(() => optionalText('whatChanged', text(11), 10), 'BAD_USER_INPUT', 'WHAT_CHANGED_TOO_LONG');
  });
});

describe('finiteNumber', () => {
  it.each([0, -0.5, 42, MAX_ABS_METRIC, -MAX_ABS_METRIC])('accepts %p', (value) => {
    expect(finiteNumber('value', value)).toBe(value);
  });

  it.each([NaN, Infinity, -Infinity])('rejects %p as not finite', (value) => {
    expectRejection(() => finiteNumber('personDays', value), 'BAD_USER_INPUT', 'PERSON_DAYS_NOT_FINITE');
  });

  it('rejects magnitudes beyond MAX_ABS_METRIC', () => {
    expectRejection(() => finiteNumber('value', MAX_ABS_METRIC + 1), 'BAD_USER_INPUT', 'VALUE_OUT_OF_RANGE');
    expectRejection(() => finiteNumber('value', -MAX_ABS_METRIC - 1), 'BAD_USER_INPUT', 'VALUE_OUT_OF_RANGE');
  });
});

describe('confidence', () => {
  it.each([0, 1, 50, 99, 100])('accepts %d', (value) => {
    expect(confidence(value)).toBe(value);
  });

  it.each([-1, 101, 50.5, 0.1, NaN, Infinity, -Infinity])('rejects %p (not an integer from 0 to 100)', (value) => {
    expectRejection(() => confidence(value), 'BAD_USER_INPUT', 'CONFIDENCE_OUT_OF_RANGE');
  });
});

describe('score', () => {
  it.each([0, 0.3, 0.7, 1])('accepts %p', (value) => {
    expect(score(value)).toBe(value);
  });

  it.each([-0.01, 1.01, -1, 7, NaN, Infinity, -Infinity])('rejects %p (outside 0-1)', (value) => {
    expectRejection(() => score(value), 'BAD_USER_INPUT', 'SCORE_OUT_OF_RANGE');
  });
});

describe('instant', () => {
  it('normalises to UTC ISO with milliseconds', () => {
    expect(instant('asOf', '2027-01-15T09:30:00Z')).toBe('2027-01-15T09:30:00.000Z');
    expect(instant('asOf', '2027-01-15T09:30:00+02:00')).toBe('2027-01-15T07:30:00.000Z');
    expect(ms('2027-01-15T07:30:00.000Z')).toBe(Date.UTC(2027, 0, 15, 7, 30));
  });

  it.each(['', 'soon', '2027-02-30T25:00:00Z'])('rejects %j', (value) => {
    expectRejection(() => instant('settingOpensOn', value), 'BAD_USER_INPUT', 'SETTING_OPENS_ON_INVALID');
  });

  it('accepts the first and last instants of the years 0001-9999, as given', () => {
    expect(instant('asOf', '0001-01-01T00:00:00Z')).toBe('0001-01-01T00:00:00.000Z');
    expect(instant('asOf', '0050-06-15T12:00:00Z')).toBe('0050-06-15T12:00:00.000Z');
    expect(instant('asOf', '9999-12-31T23:59:59.999Z')).toBe('9999-12-31T23:59:59.999Z');
  });

  it.each(['0000-12-31T23:59:59.999Z', '0001-01-01T00:30:00+01:00', '+010000-01-01T00:00:00Z', '-000001-06-01T00:00:00Z'])(
    'rejects %j, outside the years 0001-9999',
    (value) => {
      expectRejection(() => instant('asOf', value), 'BAD_USER_INPUT', 'AS_OF_OUT_OF_RANGE');
    },
  );
});

describe('errors', () => {
  it('rejected() is a BAD_USER_INPUT DomainError with its reason and message', () => {
    const error = rejected('SOME_REASON', 'Do this instead.');
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toBeInstanceOf(Error);
    expect({ name: error.name, code: error.code, reason: error.reason, message: error.message }).toEqual({
      name: 'DomainError',
      code: 'BAD_USER_INPUT',
      reason: 'SOME_REASON',
      message: 'Do this instead.',
    });
  });

  it('notFound() derives the reason from what was not found', () => {
    const error = notFound('key result', 'kr-9');
    expect({ code: error.code, reason: error.reason }).toEqual({ code: 'NOT_FOUND', reason: 'KEY_RESULT_NOT_FOUND' });
    expect(error.message).toContain('"kr-9"');
  });
});
