import type { RecordedEvent } from '../events/catalogue';
import * as current from './currentState';
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
import type { Projection } from './projection';
import { ORDER, fromModel, type ReadModel } from './readModel';

/** Documents of one projection, by id. */
export class DocumentSet<D extends Doc> {
  readonly docs = new Map<string, D>();
  constructor(readonly projection: Projection<D>) {}

  apply(event: RecordedEvent): void {
    if (!this.projection.handles.has(event.type)) return;
    const key = this.projection.key(event);
    const next = this.projection.evolve(this.docs.get(key) ?? null, event);
    if (next === null) this.docs.delete(key);
    else this.docs.set(key, next);
  }

  all(): D[] {
    return [...this.docs.values()];
  }
}

/**
 * The read model as it stood after a prefix of the log: the same pure projections as the live
 * tables, folded in memory. This is how asOf queries answer "what would this have said at T".
 */
export class MemoryReadModel implements ReadModel {
  constructor(readonly asOf: Date | null = null) {}

  readonly unitDocs = new DocumentSet(current.units);
  readonly quarterDocs = new DocumentSet(current.quarters);
  readonly objectiveDocs = new DocumentSet(current.objectives);
  readonly keyResultDocs = new DocumentSet(current.keyResults);
  readonly checkInDocs = new DocumentSet(current.checkIns);
  readonly retrospectiveDocs = new DocumentSet(current.retrospectives);
  readonly effortDocs = new DocumentSet(current.effort);
  private readonly sets = [
    this.unitDocs,
    this.quarterDocs,
    this.objectiveDocs,
    this.keyResultDocs,
    this.checkInDocs,
    this.retrospectiveDocs,
    this.effortDocs,
  ] as DocumentSet<Doc>[];

  /** Folds events (in log order) into the documents. */
  apply(events: Iterable<RecordedEvent>): this {
    for (const event of events) for (const set of this.sets) set.apply(event);
    return this;
  }

  private mine<T extends object>(value: T): T {
    return fromModel(this, value);
  }
  private tagAll<T extends object>(values: T[]): T[] {
    for (const v of values) fromModel(this, v);
    return values;
  }
  private one<T extends object>(value: T | undefined): T | null {
    return value === undefined ? null : this.mine(value);
  }

  async units(): Promise<UnitDoc[]> {
    return this.tagAll(this.unitDocs.all().sort(ORDER.units));
  }
  async unit(id: string): Promise<UnitDoc | null> {
    return this.one(this.unitDocs.docs.get(id));
  }
  async childUnits(id: string): Promise<UnitDoc[]> {
    return this.tagAll(this.unitDocs.all().filter((u) => u.parentId === id).sort(ORDER.units));
  }
  async quarters(): Promise<QuarterDoc[]> {
    return this.tagAll(this.quarterDocs.all().sort(ORDER.quarters));
  }
  async quarter(id: string): Promise<QuarterDoc | null> {
    return this.one(this.quarterDocs.docs.get(id));
  }
  async objectives(filter: { quarterId: string; unitId?: string | null }): Promise<ObjectiveDoc[]> {
    return this.tagAll(this.objectiveDocs
      .all()
      .filter((o) => o.quarterId === filter.quarterId && (!filter.unitId || o.unitId === filter.unitId))
      .sort(ORDER.objectives));
  }
  async objective(id: string): Promise<ObjectiveDoc | null> {
    return this.one(this.objectiveDocs.docs.get(id));
  }
  async contributors(objectiveId: string): Promise<ObjectiveDoc[]> {
    return this.tagAll(this.objectiveDocs.all().filter((o) => o.parentId === objectiveId).sort(ORDER.objectives));
  }
  async keyResultsOf(objectiveId: string): Promise<KeyResultDoc[]> {
    return this.tagAll(this.keyResultDocs.all().filter((k) => k.objectiveId === objectiveId).sort(ORDER.keyResults));
  }
  async keyResult(id: string): Promise<KeyResultDoc | null> {
    return this.one(this.keyResultDocs.docs.get(id));
  }
  async checkInsOf(keyResultId: string): Promise<CheckInDoc[]> {
    return this.tagAll(this.checkInDocs.all().filter((c) => c.keyResultId === keyResultId).sort(ORDER.checkIns));
  }
  async retrospectives(filter: { quarterId: string; unitId?: string | null }): Promise<RetrospectiveDoc[]> {
    return this.tagAll(this.retrospectiveDocs
      .all()
      .filter((r) => r.quarterId === filter.quarterId && (!filter.unitId || r.unitId === filter.unitId))
      .sort(ORDER.retrospectives));
  }
  async keyResults(filter: { quarterId: string; unitId?: string | null }): Promise<KeyResultDoc[]> {
    return this.tagAll(
      this.keyResultDocs
        .all()
        .filter((k) => k.quarterId === filter.quarterId && (!filter.unitId || k.unitId === filter.unitId))
        .sort(ORDER.keyResults),
    );
  }
  async checkIns(filter: { quarterId: string }): Promise<CheckInDoc[]> {
    return this.tagAll(this.checkInDocs.all().filter((c) => c.quarterId === filter.quarterId).sort(ORDER.checkIns));
  }
  async efforts(filter: { quarterId: string }): Promise<EffortDoc[]> {
    return this.tagAll(
      this.effortDocs.all().filter((e) => e.quarterId === filter.quarterId).sort((a, b) => (a.id < b.id ? -1 : 1)),
    );
  }
  async effort(unitId: string, quarterId: string): Promise<EffortDoc | null> {
    return this.one(this.effortDocs.docs.get(`${unitId}/${quarterId}`));
  }
}
