import type {
  CheckInDoc,
  EffortDoc,
  KeyResultDoc,
  MeasurementDoc,
  ObjectiveDoc,
  QuarterDoc,
  RetrospectiveDoc,
  UnitDoc,
} from './docs';
import type { ReadModel } from './readModel';

/** Everything the history analyses read about one quarter, from one read model (live or as of T). */
export interface QuarterFacts {
  quarter: QuarterDoc;
  /** The instant the facts describe (the clock, or the asOf instant). */
  now: Date;
  units: UnitDoc[];
  objectives: ObjectiveDoc[];
  keyResults: KeyResultDoc[];
  checkIns: CheckInDoc[];
  measurements: MeasurementDoc[];
  efforts: EffortDoc[];
  retrospectives: RetrospectiveDoc[];
}

export async function loadQuarterFacts(read: ReadModel, quarterId: string, now: Date): Promise<QuarterFacts | null> {
  const quarter = await read.quarter(quarterId);
  if (quarter === null) return null;
  const [units, objectives, keyResults, checkIns, measurements, efforts, retrospectives] = await Promise.all([
    read.units(),
    read.objectives({ quarterId }),
    read.keyResults({ quarterId }),
    read.checkIns({ quarterId }),
    read.measurements({ quarterId }),
    read.efforts({ quarterId }),
    read.retrospectives({ quarterId }),
  ]);
  return { quarter, now, units, objectives, keyResults, checkIns, measurements, efforts, retrospectives };
}

/** The unit and all units below it. */
export function subtree(units: readonly UnitDoc[], unitId: string): Set<string> {
  const children = new Map<string, string[]>();
  for (const u of units) {
    if (u.parentId !== null) children.set(u.parentId, [...(children.get(u.parentId) ?? []), u.id]);
  }
  const found = new Set<string>();
  const stack = [unitId];
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (found.has(id)) continue;
    found.add(id);
    stack.push(...(children.get(id) ?? []));
  }
  return found;
}

/** Groups items by a key, keeping their order. */
export function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

export const DAY_MS = 86_400_000;
export const round = (value: number, digits = 4): number => Math.round(value * 10 ** digits) / 10 ** digits;
export const mean = (values: readonly number[]): number | null =>
  values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
