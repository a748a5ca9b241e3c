import type { CheckInDoc, Doc, EffortDoc, KeyResultDoc, MeasurementDoc, ObjectiveDoc, QuarterDoc, RetrospectiveDoc, UnitDoc } from './docs';
import type { ReadModelDeclaration } from './model';
import { checkIns, effort, keyResults, measurements, objectives, quarters, retrospectives, units } from './models';
import { unitQuarterKey } from './models/retrospectives';

/**
 * What the API reads. One implementation (DocumentReadModel) over three sources of documents: the live
 * tables, the history tables at a position of the organisation's log (asOf), and an in-memory fold of
 * the log (the reference tests compare with): resolvers cannot tell which.
 */
export interface ReadModel {
  /** The instant this model describes; null for the live tables ("now"). */
  readonly asOf: Date | null;
  units(): Promise<UnitDoc[]>;
  unit(id: string): Promise<UnitDoc | null>;
  childUnits(id: string): Promise<UnitDoc[]>;
  quarters(): Promise<QuarterDoc[]>;
  quarter(id: string): Promise<QuarterDoc | null>;
  /** With `keyResults`, their key results are read in the same round trip (keyResultsOf then answers at once). */
  objectives(filter: { quarterId: string; unitId?: string | null }, include?: { keyResults?: boolean }): Promise<ObjectiveDoc[]>;
  objective(id: string): Promise<ObjectiveDoc | null>;
  contributors(objectiveId: string): Promise<ObjectiveDoc[]>;
  keyResultsOf(objectiveId: string): Promise<KeyResultDoc[]>;
  keyResult(id: string): Promise<KeyResultDoc | null>;
  checkInsOf(keyResultId: string): Promise<CheckInDoc[]>;
  /** A key result's measurements, oldest first by effective time. */
  measurementsOf(keyResultId: string): Promise<MeasurementDoc[]>;
  retrospectives(filter: { quarterId: string; unitId?: string | null }): Promise<RetrospectiveDoc[]>;
  effort(unitId: string, quarterId: string): Promise<EffortDoc | null>;
  /** Every key result of the quarter (of one unit when given). */
  keyResults(filter: { quarterId: string; unitId?: string | null }): Promise<KeyResultDoc[]>;
  /** Every check-in on the quarter's key results. */
  checkIns(filter: { quarterId: string }): Promise<CheckInDoc[]>;
  /** Every measurement of the quarter's key results. */
  measurements(filter: { quarterId: string }): Promise<MeasurementDoc[]>;
  /** Every unit's logged effort for the quarter. */
  efforts(filter: { quarterId: string }): Promise<EffortDoc[]>;
}

/** Field = value conditions on a read model's documents: `id`, or the fields of one of its lookups. */
export type Where = Readonly<Record<string, string>>;

/** Where documents come from. */
export interface DocumentSource {
  /** The documents of `model` whose fields equal `where` (every one of the organisation's when empty), in no order. */
  find<D extends Doc>(model: ReadModelDeclaration<D>, where: Where): Promise<D[]>;
  /**
   * Like find, and also the documents of `child` whose `field` names one of them, in the same round trip,
   * so that a later find(child, { [field]: id }) answers without another (sources that can).
   */
  findWith?<D extends Doc, C extends Doc>(model: ReadModelDeclaration<D>, where: Where, child: ReadModelDeclaration<C>, field: keyof C & string): Promise<D[]>;
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

/** A quarter, and a unit when given. */
const scope = (filter: { quarterId: string; unitId?: string | null }): Where =>
  filter.unitId ? { quarterId: filter.quarterId, unitId: filter.unitId } : { quarterId: filter.quarterId };

/**
 * The ReadModel over a source of documents: every method is one lookup of a read model's declaration,
 * answered in the declaration's order. Documents of a model that describes a past instant are marked
 * with it (fromModel).
 */
export class DocumentReadModel implements ReadModel {
  constructor(
    private readonly source: DocumentSource,
    readonly asOf: Date | null,
    /** Whether documents are marked as read from this model (everything but the live tables). */
    private readonly marks: boolean = asOf !== null,
  ) {}

  private async list<D extends Doc>(model: ReadModelDeclaration<D>, where: Where, found?: Promise<D[]>): Promise<D[]> {
    const docs = [...(await (found ?? this.source.find(model, where)))].sort(model.order);
    if (this.marks) for (const doc of docs) fromModel(this, doc);
    return docs;
  }

  private async one<D extends Doc>(model: ReadModelDeclaration<D>, id: string): Promise<D | null> {
    return (await this.list(model, { id }))[0] ?? null;
  }

  units(): Promise<UnitDoc[]> {
    return this.list(units, {});
  }
  unit(id: string): Promise<UnitDoc | null> {
    return this.one(units, id);
  }
  childUnits(id: string): Promise<UnitDoc[]> {
    return this.list(units, { parentId: id });
  }
  quarters(): Promise<QuarterDoc[]> {
    return this.list(quarters, {});
  }
  quarter(id: string): Promise<QuarterDoc | null> {
    return this.one(quarters, id);
  }
  objectives(filter: { quarterId: string; unitId?: string | null }, include: { keyResults?: boolean } = {}): Promise<ObjectiveDoc[]> {
    const where = scope(filter);
    const found = include.keyResults && this.source.findWith ? this.source.findWith(objectives, where, keyResults, 'objectiveId') : undefined;
    return this.list(objectives, where, found);
  }
  objective(id: string): Promise<ObjectiveDoc | null> {
    return this.one(objectives, id);
  }
  contributors(objectiveId: string): Promise<ObjectiveDoc[]> {
    return this.list(objectives, { parentId: objectiveId });
  }
  keyResultsOf(objectiveId: string): Promise<KeyResultDoc[]> {
    return this.list(keyResults, { objectiveId });
  }
  keyResult(id: string): Promise<KeyResultDoc | null> {
    return this.one(keyResults, id);
  }
  checkInsOf(keyResultId: string): Promise<CheckInDoc[]> {
    return this.list(checkIns, { keyResultId });
  }
  measurementsOf(keyResultId: string): Promise<MeasurementDoc[]> {
    return this.list(measurements, { keyResultId });
  }
  retrospectives(filter: { quarterId: string; unitId?: string | null }): Promise<RetrospectiveDoc[]> {
    return this.list(retrospectives, scope(filter));
  }
  effort(unitId: string, quarterId: string): Promise<EffortDoc | null> {
    return this.one(effort, unitQuarterKey(unitId, quarterId));
  }
  keyResults(filter: { quarterId: string; unitId?: string | null }): Promise<KeyResultDoc[]> {
    return this.list(keyResults, scope(filter));
  }
  checkIns(filter: { quarterId: string }): Promise<CheckInDoc[]> {
    return this.list(checkIns, { quarterId: filter.quarterId });
  }
  measurements(filter: { quarterId: string }): Promise<MeasurementDoc[]> {
    return this.list(measurements, { quarterId: filter.quarterId });
  }
  efforts(filter: { quarterId: string }): Promise<EffortDoc[]> {
    return this.list(effort, { quarterId: filter.quarterId });
  }
}
