/**
 * Why: `Date.UTC(y, ...)` and `new Date(y, ...)` read the years 0-99 as 1900-1999, so a check-in of
 * year 1 showed up in `teamConfidence` in a week of 1901, and `export --as-of 0050-01-01` was refused.
 * Calendar arithmetic must be right for every year the ledger accepts (0001-9999). The expected
 * weekdays come from the proleptic Gregorian calendar (as Python's datetime computes it), not from Date.
 */
import { EARLIEST_INSTANT, LATEST_INSTANT, isAcceptedTime, isoYear, startOfUtcDay, startOfUtcWeek, utcDate } from '../../domain';
import { weekStarting } from '../../projections/trends';
import { quarterBefore, quarterContaining } from '../../src/seed';

const at = (iso: string) => new Date(iso);

describe('the accepted instants', () => {
  it('are the years 0001-9999, both ends included', () => {
    expect(isAcceptedTime(Date.parse(EARLIEST_INSTANT))).toBe(true);
    expect(isAcceptedTime(Date.parse(LATEST_INSTANT))).toBe(true);
    expect(isAcceptedTime(Date.parse(EARLIEST_INSTANT) - 1)).toBe(false);
    expect(isAcceptedTime(Date.parse(LATEST_INSTANT) + 1)).toBe(false);
    expect(isAcceptedTime(NaN)).toBe(false);
  });
});

describe('utcDate', () => {
  it.each([
    [1, 0, 1, '0001-01-01T00:00:00.000Z'],
    [50, 0, 1, '0050-01-01T00:00:00.000Z'],
    [99, 11, 31, '0099-12-31T00:00:00.000Z'],
    [100, 1, 29, '0100-03-01T00:00:00.000Z'], // 100 is not a leap year
    [2027, 0, 15, '2027-01-15T00:00:00.000Z'],
    [9999, 11, 31, '9999-12-31T00:00:00.000Z'],
  ])('builds %d-%d-%d as given, not as 19xx', (year, month, day, expected) => {
    expect(utcDate(year, month, day).toISOString()).toBe(expected);
  });

  it('normalises month overflow like Date.UTC', () => {
    expect(utcDate(50, -1, 1).toISOString()).toBe('0049-12-01T00:00:00.000Z');
    expect(utcDate(99, 12, 1).toISOString()).toBe('0100-01-01T00:00:00.000Z');
  });
});

describe('weeks', () => {
  it.each([
    ['0001-01-01T00:00:00.000Z', '0001-01-01T00:00:00.000Z'],
    ['0001-01-03T17:45:00.000Z', '0001-01-01T00:00:00.000Z'],
    ['0001-05-01T00:00:00.000Z', '0001-04-30T00:00:00.000Z'],
    ['0050-01-01T08:00:00.000Z', '0049-12-27T00:00:00.000Z'],
    ['0099-12-31T23:59:59.999Z', '0099-12-28T00:00:00.000Z'],
    ['1900-01-01T12:00:00.000Z', '1900-01-01T00:00:00.000Z'],
    ['2027-01-14T09:00:00.000Z', '2027-01-11T00:00:00.000Z'],
    ['9999-12-31T23:59:59.999Z', '9999-12-27T00:00:00.000Z'],
  ])('%s is in the week starting (Monday) %s', (instant, monday) => {
    expect(startOfUtcWeek(at(instant)).toISOString()).toBe(monday);
    expect(weekStarting(at(instant)).toISOString()).toBe(monday);
  });

  it('starts a day at midnight UTC in any year', () => {
    expect(startOfUtcDay(at('0001-01-01T23:59:59.999Z')).toISOString()).toBe('0001-01-01T00:00:00.000Z');
    expect(startOfUtcDay(at('0077-07-07T07:07:07.000Z')).toISOString()).toBe('0077-07-07T00:00:00.000Z');
  });
});

describe('calendar quarters (the demo seed)', () => {
  it('names quarters of years below 1000 with four digits and computes them in that year', () => {
    expect(isoYear(50)).toBe('0050');
    const q = quarterContaining(at('0050-05-20T00:00:00Z'));
    expect({ id: q.id, startsOn: q.startsOn.toISOString(), endsOn: q.endsOn.toISOString(), settingOpensOn: q.settingOpensOn.toISOString() }).toEqual({
      id: '0050-Q2',
      startsOn: '0050-04-01T00:00:00.000Z',
      endsOn: '0050-07-01T00:00:00.000Z',
      settingOpensOn: '0050-03-11T00:00:00.000Z',
    });
    const before = quarterBefore(quarterContaining(at('0050-02-01T00:00:00Z')));
    expect([before.id, before.startsOn.toISOString()]).toEqual(['0049-Q4', '0049-10-01T00:00:00.000Z']);
  });
});
