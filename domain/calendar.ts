/*
 * The instants the ledger accepts, and calendar arithmetic that is right for all of them.
 *
 * The range is that of ISO-8601 four-digit years, which PostgreSQL's timestamptz also keeps without
 * era suffixes: 0001-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z. `Date.UTC(y, ...)` and
 * `new Date(y, ...)` map years 0-99 to 1900-1999, so dates are built with setUTCFullYear instead.
 */

export const EARLIEST_INSTANT = '0001-01-01T00:00:00.000Z';
export const LATEST_INSTANT = '9999-12-31T23:59:59.999Z';
export const EARLIEST_MS = Date.parse(EARLIEST_INSTANT);
export const LATEST_MS = Date.parse(LATEST_INSTANT);

export const DAY_MS = 86_400_000;

/** True for a finite time (ms since the epoch) inside the accepted range. */
export const isAcceptedTime = (ms: number): boolean => Number.isFinite(ms) && ms >= EARLIEST_MS && ms <= LATEST_MS;

/** Midnight UTC of a calendar day; months and days overflow as with Date.UTC, but years are taken as given. */
export function utcDate(year: number, monthIndex: number, day: number): Date {
  const date = new Date(0);
  date.setUTCFullYear(year, monthIndex, day);
  return date;
}

/** Midnight UTC of the day containing `at`. */
export const startOfUtcDay = (at: Date): Date => new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS);

/** Monday 00:00 UTC of the week containing `at`. */
export function startOfUtcWeek(at: Date): Date {
  const day = startOfUtcDay(at);
  const sinceMonday = (day.getUTCDay() + 6) % 7;
  return new Date(day.getTime() - sinceMonday * DAY_MS);
}

/** A year as ISO-8601 writes it: four digits, zero-padded (0050, not 50). */
export const isoYear = (year: number): string => String(year).padStart(4, '0');
