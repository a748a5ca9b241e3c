import { startOfUtcWeek } from '../domain/calendar';
import type { CheckInDoc, KeyResultDoc, MeasurementDoc } from './docs';
import { groupBy, mean, round } from './quarterFacts';

/** A reading more than this much older than its recording counts as back-dated. */
const BACKDATED_AFTER_MS = 60_000;

export interface ConfidencePointDoc {
  /** The moment the reading describes (effective time). */
  at: Date;
  recordedAt: Date;
  confidence: number;
  value: number | null;
  /** Recorded noticeably later than the moment it describes. */
  backdated: boolean;
  /** Replaces an earlier-recorded reading for the same moment. */
  correction: boolean;
  /** Replaced by a later-recorded reading for the same moment. */
  superseded: boolean;
}

/**
 * A key result's check-ins as a series by effective time (back-dated readings land where they
 * belong). Two readings for the same moment: the later-recorded one is a correction and the earlier
 * is superseded; both stay visible.
 */
export function confidenceSeries(checkIns: readonly CheckInDoc[]): ConfidencePointDoc[] {
  const byMoment = groupBy(checkIns, (c) => String(c.asOf.getTime()));
  return [...checkIns]
    .sort((a, b) => a.asOf.getTime() - b.asOf.getTime() || a.version - b.version)
    .map((c) => {
      const same = byMoment.get(String(c.asOf.getTime())) ?? [c];
      return {
        at: c.asOf,
        recordedAt: c.recordedAt,
        confidence: c.confidence,
        value: c.value,
        backdated: c.recordedAt.getTime() - c.asOf.getTime() > BACKDATED_AFTER_MS,
        correction: same.some((o) => o.version < c.version),
        superseded: same.some((o) => o.version > c.version),
      };
    });
}

export type ReadingKind = 'CHECK_IN' | 'MEASUREMENT';

export interface ReadingPointDoc {
  /** The moment the reading describes (effective time). */
  at: Date;
  recordedAt: Date;
  value: number | null;
  /** A check-in's confidence; null for a measurement, which judges nothing. */
  confidence: number | null;
  kind: ReadingKind;
  /** The system a measurement came from; null for a check-in. */
  source: string | null;
  /** Who recorded it. */
  author: string | null;
  backdated: boolean;
  /** Replaces an earlier-recorded reading for the same moment from the same origin (check-ins, or one system). */
  correction: boolean;
  superseded: boolean;
}

/**
 * A key result's readings as one series by effective time: its check-ins and the measurements systems
 * posted. Two readings for the same moment from the same origin (two check-ins, or two measurements of
 * one system): the later recorded is a correction, the earlier superseded; both stay visible.
 */
export function readingSeries(checkIns: readonly CheckInDoc[], measurements: readonly MeasurementDoc[]): ReadingPointDoc[] {
  type Reading = Pick<ReadingPointDoc, 'at' | 'recordedAt' | 'value' | 'confidence' | 'kind' | 'source' | 'author'> & { version: number };
  const readings: Reading[] = [
    ...checkIns.map((c): Reading => ({ at: c.asOf, recordedAt: c.recordedAt, value: c.value, confidence: c.confidence, kind: 'CHECK_IN', source: null, author: c.author, version: c.version })),
    ...measurements.map((m): Reading => ({ at: m.at, recordedAt: m.recordedAt, value: m.value, confidence: null, kind: 'MEASUREMENT', source: m.source, author: m.author, version: m.version })),
  ];
  // Both are versions of the key result's stream, so they order its readings as they were recorded.
  const origin = (r: Reading) => `${r.at.getTime()}/${r.kind}/${r.source ?? ''}`;
  const byOrigin = groupBy(readings, origin);
  return readings
    .sort((a, b) => a.at.getTime() - b.at.getTime() || a.version - b.version)
    .map((r) => {
      const same = byOrigin.get(origin(r)) ?? [];
      return {
        at: r.at,
        recordedAt: r.recordedAt,
        value: r.value,
        confidence: r.confidence,
        kind: r.kind,
        source: r.source,
        author: r.author,
        backdated: r.recordedAt.getTime() - r.at.getTime() > BACKDATED_AFTER_MS,
        correction: same.some((o) => o.version < r.version),
        superseded: same.some((o) => o.version > r.version),
      };
    });
}

export interface WeekDoc {
  weekStarting: Date;
  meanConfidence: number;
  checkIns: number;
}

/** Monday 00:00 UTC of the week containing `at` (right for every year, 0001 included). */
export const weekStarting = startOfUtcWeek;

/** Weekly rollup by effective time; superseded readings are left out (their correction counts). */
export function weeklyConfidence(checkIns: readonly CheckInDoc[]): WeekDoc[] {
  const moment = (c: CheckInDoc) => `${c.keyResultId}@${c.asOf.getTime()}`;
  const latest = new Map<string, number>();
  for (const c of checkIns) latest.set(moment(c), Math.max(latest.get(moment(c)) ?? 0, c.version));
  const current = checkIns.filter((c) => latest.get(moment(c)) === c.version);
  const weeks = groupBy(current, (c) => String(weekStarting(c.asOf).getTime()));
  return [...weeks.entries()]
    .map(([week, items]) => ({
      weekStarting: new Date(Number(week)),
      meanConfidence: round(mean(items.map((c) => c.confidence)) ?? 0, 2),
      checkIns: items.length,
    }))
    .sort((a, b) => a.weekStarting.getTime() - b.weekStarting.getTime());
}

export interface CalibrationGapDoc {
  keyResultId: string;
  /** The confidence of the latest reading recorded before the score (by effective time). */
  lastConfidence: number;
  score: number;
  /** score - lastConfidence/100: positive means the team was under-confident, negative over-confident. */
  gap: number;
}

/** How well the last confidence before scoring predicted the score; null until scored with a prior check-in. */
export function calibrationGap(kr: KeyResultDoc, checkIns: readonly CheckInDoc[]): CalibrationGapDoc | null {
  if (kr.score === null || kr.scoredAt === null) return null;
  const scoredAt = kr.scoredAt.getTime();
  const before = checkIns
    .filter((c) => c.keyResultId === kr.id && c.recordedAt.getTime() <= scoredAt)
    .sort((a, b) => a.asOf.getTime() - b.asOf.getTime() || a.version - b.version);
  const last = before[before.length - 1];
  if (last === undefined) return null;
  return { keyResultId: kr.id, lastConfidence: last.confidence, score: kr.score, gap: round(kr.score - last.confidence / 100) };
}

export interface TeamCalibrationDoc {
  unitId: string;
  keyResults: CalibrationGapDoc[];
  /** Mean signed gap (positive: under-confident). */
  meanGap: number;
  /** Mean absolute gap: 0 means confidence predicted scores exactly. */
  meanAbsoluteGap: number;
}

export function teamCalibration(unitId: string, gaps: readonly CalibrationGapDoc[]): TeamCalibrationDoc | null {
  if (gaps.length === 0) return null;
  return {
    unitId,
    keyResults: [...gaps],
    meanGap: round(mean(gaps.map((g) => g.gap)) ?? 0),
    meanAbsoluteGap: round(mean(gaps.map((g) => Math.abs(g.gap))) ?? 0),
  };
}
