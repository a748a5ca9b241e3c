import DataLoader from 'dataloader';
import type { EntityClass } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type {
  CheckInDoc,
  Doc,
  EffortDoc,
  KeyResultDoc,
  ObjectiveDoc,
  QuarterDoc,
  RetrospectiveDoc,
  UnitDoc,
} from './docs';
import {
  CheckInView,
  EffortView,
  KeyResultView,
  ObjectiveView,
  QuarterView,
  RetrospectiveView,
  UnitView,
  rowToDoc,
} from './entities';

/**
 * What the API reads. Implemented over the inline tables (live state) and, for asOf queries, over
 * documents replayed in memory: resolvers cannot tell which.
 */
export interface ReadModel {
  /** The instant this model describes; null for the live tables ("now"). */
  readonly asOf: Date | null;
  units(): Promise<UnitDoc[]>;
  unit(id: string): Promise<UnitDoc | null>;
  childUnits(id: string): Promise<UnitDoc[]>;
  quarters(): Promise<QuarterDoc[]>;
  quarter(id: string): Promise<QuarterDoc | null>;
  objectives(filter: { quarterId: string; unitId?: string | null }): Promise<ObjectiveDoc[]>;
  objective(id: string): Promise<ObjectiveDoc | null>;
  contributors(objectiveId: string): Promise<ObjectiveDoc[]>;
  keyResultsOf(objectiveId: string): Promise<KeyResultDoc[]>;
  keyResult(id: string): Promise<KeyResultDoc | null>;
  checkInsOf(keyResultId: string): Promise<CheckInDoc[]>;
  retrospectives(filter: { quarterId: string; unitId?: string | null }): Promise<RetrospectiveDoc[]>;
  effort(unitId: string, quarterId: string): Promise<EffortDoc | null>;
  /** Every key result of the quarter (of one unit when given). */
  keyResults(filter: { quarterId: string; unitId?: string | null }): Promise<KeyResultDoc[]>;
  /** Every check-in on the quarter's key results. */
  checkIns(filter: { quarterId: string }): Promise<CheckInDoc[]>;
  /** Every unit's logged effort for the quarter. */
  efforts(filter: { quarterId: string }): Promise<EffortDoc[]>;
}

const SOURCE = Symbol('okr.readModel');

/**
 * Marks a document as read from `model`, so that fields resolved under it read from the same model
 * (an asOf answer stays at its instant all the way down). Live documents stay unmarked.
 */
export function fromModel<T extends object>(model: ReadModel, value: T): T {
  Object.defineProperty(value, SOURCE, { value: model, enumerable: false, configurable: true });
  return value;
}

/** The model a document was read from, if it was marked. */
export function modelOf(value: object): ReadModel | undefined {
  return (value as { [SOURCE]?: ReadModel })[SOURCE];
}

/** Orders documents by a creation field, then id, so every list has a stable order. */
const byThenId = <D extends Doc>(field: keyof D) => (a: D, b: D): number => {
  const x = a[field] as unknown as Date | number | string;
  const y = b[field] as unknown as Date | number | string;
  const cx = x instanceof Date ? x.getTime() : x;
  const cy = y instanceof Date ? y.getTime() : y;
  if (cx < cy) return -1;
  if (cx > cy) return 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
};

export const ORDER = {
  units: byThenId<UnitDoc>('seq'),
  quarters: byThenId<QuarterDoc>('startsOn'),
  objectives: byThenId<ObjectiveDoc>('seq'),
  keyResults: byThenId<KeyResultDoc>('seq'),
  /** Oldest first by effective time; the stream version breaks ties in recording order. */
  checkIns: (a: CheckInDoc, b: CheckInDoc): number =>
    a.asOf.getTime() - b.asOf.getTime() || a.version - b.version,
  retrospectives: byThenId<RetrospectiveDoc>('recordedAt'),
} as const;

/** Reads the live tables of one organisation, batching per request (one DataLoader per lookup). */
export class TableReadModel implements ReadModel {
  readonly asOf = null;
  private readonly byId = new Map<EntityClass<Doc>, DataLoader<string, Doc | null>>();
  private readonly byObjective: DataLoader<string, KeyResultDoc[]>;
  private readonly byKeyResult: DataLoader<string, CheckInDoc[]>;
  private readonly byParentObjective: DataLoader<string, ObjectiveDoc[]>;
  private readonly byParentUnit: DataLoader<string, UnitDoc[]>;

  constructor(
    private readonly em: EntityManager,
    private readonly organisationId: string,
  ) {
    this.byObjective = this.grouped(KeyResultView, 'objectiveId', ORDER.keyResults);
    this.byKeyResult = this.grouped(CheckInView, 'keyResultId', ORDER.checkIns);
    this.byParentObjective = this.grouped(ObjectiveView, 'parentId', ORDER.objectives);
    this.byParentUnit = this.grouped(UnitView, 'parentId', ORDER.units);
  }

  private async rows<D extends Doc>(entity: EntityClass<D>, where: Record<string, unknown>): Promise<D[]> {
    return ((await this.em
      .createQueryBuilder(entity as EntityClass<Doc>)
      .select('*')
      .where({ organisationId: this.organisationId, ...where })
      .execute('all')) as unknown as D[]).map(rowToDoc);
  }

  private grouped<D extends Doc>(entity: EntityClass<D>, field: keyof D & string, order: (a: D, b: D) => number) {
    return new DataLoader<string, D[]>(async (keys) => {
      const rows = await this.rows(entity, { [field]: { $in: [...keys] } });
      const groups = new Map<string, D[]>(keys.map((k) => [k, []]));
      for (const row of rows) groups.get(row[field] as unknown as string)?.push(row);
      return keys.map((k) => (groups.get(k) ?? []).sort(order));
    });
  }

  private loader<D extends Doc>(entity: EntityClass<D>): DataLoader<string, D | null> {
    let loader = this.byId.get(entity as EntityClass<Doc>);
    if (!loader) {
      loader = new DataLoader<string, Doc | null>(async (ids) => {
        const rows = await this.rows(entity as EntityClass<Doc>, { id: { $in: [...ids] } });
        const found = new Map(rows.map((r) => [r.id, r]));
        return ids.map((id) => found.get(id) ?? null);
      });
      this.byId.set(entity as EntityClass<Doc>, loader);
    }
    return loader as unknown as DataLoader<string, D | null>;
  }

  async units() {
    return (await this.rows(UnitView, {})).sort(ORDER.units);
  }
  unit(id: string) {
    return this.loader(UnitView).load(id);
  }
  childUnits(id: string) {
    return this.byParentUnit.load(id);
  }
  async quarters() {
    return (await this.rows(QuarterView, {})).sort(ORDER.quarters);
  }
  quarter(id: string) {
    return this.loader(QuarterView).load(id);
  }
  async objectives(filter: { quarterId: string; unitId?: string | null }) {
    const where: Record<string, unknown> = { quarterId: filter.quarterId };
    if (filter.unitId) where.unitId = filter.unitId;
    const rows = await this.rows(ObjectiveView, where);
    for (const row of rows) this.loader(ObjectiveView).prime(row.id, row);
    return rows.sort(ORDER.objectives);
  }
  objective(id: string) {
    return this.loader(ObjectiveView).load(id);
  }
  contributors(objectiveId: string) {
    return this.byParentObjective.load(objectiveId);
  }
  keyResultsOf(objectiveId: string) {
    return this.byObjective.load(objectiveId);
  }
  keyResult(id: string) {
    return this.loader(KeyResultView).load(id);
  }
  checkInsOf(keyResultId: string) {
    return this.byKeyResult.load(keyResultId);
  }
  async retrospectives(filter: { quarterId: string; unitId?: string | null }) {
    const where: Record<string, unknown> = { quarterId: filter.quarterId };
    if (filter.unitId) where.unitId = filter.unitId;
    return (await this.rows(RetrospectiveView, where)).sort(ORDER.retrospectives);
  }
  async effort(unitId: string, quarterId: string) {
    return (await this.loader(EffortView).load(`${unitId}/${quarterId}`)) ?? null;
  }
  async keyResults(filter: { quarterId: string; unitId?: string | null }) {
    const where: Record<string, unknown> = { quarterId: filter.quarterId };
    if (filter.unitId) where.unitId = filter.unitId;
    return (await this.rows(KeyResultView, where)).sort(ORDER.keyResults);
  }
  async checkIns(filter: { quarterId: string }) {
    return (await this.rows(CheckInView, { quarterId: filter.quarterId })).sort(ORDER.checkIns);
  }
  async efforts(filter: { quarterId: string }) {
    return (await this.rows(EffortView, { quarterId: filter.quarterId })).sort((a, b) => (a.id < b.id ? -1 : 1));
  }
}
