import type { Instant } from '../events/catalogue';
import { EARLIEST_INSTANT, LATEST_INSTANT, isAcceptedTime } from './calendar';
import { rejected } from './errors';

/** Text limits, in characters after trimming. */
export const LIMITS = {
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
  /** The name of the system a measurement comes from. */
  source: 100,
} as const;

/** Magnitude beyond which a metric value is certainly a mistake (and loses integer precision). */
export const MAX_ABS_METRIC = 1e15;

const fieldCode = (field: string): string => field.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();

/** NUL, or a UTF-16 surrogate without its pair: not text a person wrote, and not storable. */
const ILL_FORMED = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const isWellFormedText = (text: string): boolean => !ILL_FORMED.test(text);

function assertWellFormed(field: string, text: string): void {
  if (!isWellFormedText(text)) {
    throw rejected(`${fieldCode(field)}_INVALID_CHARACTERS`, `${field} contains a NUL character or a broken UTF-16 surrogate.`);
  }
}

/** Required text: trimmed, non-empty, at most `max` characters. */
export function requiredText(field: string, value: string, max: number): string {
  const text = value.trim();
  assertWellFormed(field, text);
  if (text.length === 0) {
    throw rejected(`${fieldCode(field)}_EMPTY`, `${field} must not be empty.`);
  }
  if (text.length > max) {
    throw rejected(`${fieldCode(field)}_TOO_LONG`, `${field} must be at most ${max} characters (got ${text.length}).`);
  }
  return text;
}

/** Optional text: null/undefined stay null; whitespace-only becomes null; still bounded. */
export function optionalText(field: string, value: string | null | undefined, max: number): string | null {
  if (value === null || value === undefined) return null;
  const text = value.trim();
  assertWellFormed(field, text);
  if (text.length === 0) return null;
  if (text.length > max) {
    throw rejected(`${fieldCode(field)}_TOO_LONG`, `${field} must be at most ${max} characters (got ${text.length}).`);
  }
  return text;
}

export function finiteNumber(field: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw rejected(`${fieldCode(field)}_NOT_FINITE`, `${field} must be a finite number.`);
  }
  if (Math.abs(value) > MAX_ABS_METRIC) {
    throw rejected(`${fieldCode(field)}_OUT_OF_RANGE`, `${field} must be between -${MAX_ABS_METRIC} and ${MAX_ABS_METRIC}.`);
  }
  return value;
}

export function confidence(value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 100) {
    throw rejected('CONFIDENCE_OUT_OF_RANGE', 'confidence must be a whole number from 0 to 100.');
  }
  return value;
}

export function score(value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw rejected('SCORE_OUT_OF_RANGE', 'score must be a number from 0 to 1 (0.7 is success for a stretch key result).');
  }
  return value;
}

/** Parses an instant inside the accepted range (years 0001-9999) and normalises it to UTC ISO form. */
export function instant(field: string, value: string): Instant {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) {
    throw rejected(`${fieldCode(field)}_INVALID`, `${field} must be an ISO-8601 instant, e.g. 2027-01-15T09:30:00Z.`);
  }
  if (!isAcceptedTime(ms)) {
    throw rejected(`${fieldCode(field)}_OUT_OF_RANGE`, `${field} must lie between ${EARLIEST_INSTANT} and ${LATEST_INSTANT}.`);
  }
  return new Date(ms).toISOString();
}

export const ms = (value: Instant): number => Date.parse(value);
