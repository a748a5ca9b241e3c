import DataLoader from 'dataloader';
import type { EntityClass } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { textArray } from '../events/sql';
import type { CheckInDoc, Doc, EffortDoc, KeyResultDoc, ObjectiveDoc, QuarterDoc, RetrospectiveDoc, UnitDoc } from './docs';
import { CheckInView, EffortView, KeyResultView, ObjectiveView, QuarterView, RetrospectiveView, UnitView } from './entities';
import { shapeOf, toDoc } from './persist';
import { ORDER, fromModel, type ReadModel } from './readModel';
import { sqlOf } from './sql';

/**
 * The read model as it stood at one position of the organisation's log, read from the history tables:
 * every version of every document carries the positions [valid_from, valid_to) it was current for, so
 * "as of T" is the same query as live with one more condition, answered through indexes. No replay,
 * and memory independent of how long the history is.
 */
export class TemporalReadModel implements ReadModel {
  private readonly loaders = new Map<string, DataLoader<string, Doc[]>>();

  constructor(
    private readonly em: EntityManager,
    private readonly organisationId: string,
    /** The organisation's last position recorded at or before `asOf`. */
    readonly position: number,
    readonly asOf: Date,
  ) {}

  /** Lookups by one column, batched per request like the live model's (one statement per batch). */
  private by<D extends Doc>(entity: EntityClass<D>, column: string, property: keyof D & string, key: string): Promise<D[]> {
    const name = `${entity.name}.${column}`;
    let loader = this.loaders.get(name);
    if (!loader) {
      loader = new DataLoader<string, Doc[]>(async (keys) => {
        const rows = await this.rows(entity, { [column]: [...keys] });
        const groups = new Map<string, Doc[]>(keys.map((k) => [k, []]));
        for (const row of rows) groups.get(row[property] as unknown as string)?.push(row);
        return keys.map((k) => groups.get(k) ?? []);
      });
      this.loaders.set(name, loader);
    }
    return loader.load(key) as Promise<D[]>;
  }

  /** Versions current at the position, matching `where` (column = value, or column = ANY(values)). */
  private async rows<D extends Doc>(entity: EntityClass<D>, where: Record<string, string | readonly string[]> = {}): Promise<D[]> {
    const shape = shapeOf(this.em, entity as EntityClass<Doc>);
    const conditions = ['organisation_id = ?', 'valid_from <= ?', '(valid_to IS NULL OR valid_to > ?)'];
    const params: unknown[] = [this.organisationId, this.position, this.position];
    for (const [column, value] of Object.entries(where)) {
      if (typeof value === 'string') {
        conditions.push(`"${column}" = ?`);
        params.push(value);
      } else {
        conditions.push(`"${column}" = ANY(?::text[])`);
        params.push(textArray(value));
      }
    }
    const rows = await sqlOf(this.em).query<Record<string, unknown>>(
      `SELECT * FROM "${shape.history}" WHERE ${conditions.join(' AND ')}`,
      params,
    );
    return rows.map((row) => fromModel(this, toDoc(shape, row) as D));
  }

  private async one<D extends Doc>(entity: EntityClass<D>, id: string): Promise<D | null> {
    return (await this.by(entity, 'id', 'id', id))[0] ?? null;
  }

  async units(): Promise<UnitDoc[]> {
    return (await this.rows(UnitView)).sort(ORDER.units);
  }
  unit(id: string): Promise<UnitDoc | null> {
    return this.one(UnitView, id);
  }
  async childUnits(id: string): Promise<UnitDoc[]> {
    return [...(await this.by(UnitView, 'parent_id', 'parentId', id))].sort(ORDER.units);
  }
  async quarters(): Promise<QuarterDoc[]> {
    return (await this.rows(QuarterView)).sort(ORDER.quarters);
  }
  quarter(id: string): Promise<QuarterDoc | null> {
    return this.one(QuarterView, id);
  }
  async objectives(filter: { quarterId: string; unitId?: string | null }): Promise<ObjectiveDoc[]> {
    return (await this.rows(ObjectiveView, filter.unitId ? { quarter_id: filter.quarterId, unit_id: filter.unitId } : { quarter_id: filter.quarterId })).sort(ORDER.objectives);
  }
  objective(id: string): Promise<ObjectiveDoc | null> {
    return this.one(ObjectiveView, id);
  }
  async contributors(objectiveId: string): Promise<ObjectiveDoc[]> {
    return [...(await this.by(ObjectiveView, 'parent_id', 'parentId', objectiveId))].sort(ORDER.objectives);
  }
  async keyResultsOf(objectiveId: string): Promise<KeyResultDoc[]> {
    return [...(await this.by(KeyResultView, 'objective_id', 'objectiveId', objectiveId))].sort(ORDER.keyResults);
  }
  keyResult(id: string): Promise<KeyResultDoc | null> {
    return this.one(KeyResultView, id);
  }
  async checkInsOf(keyResultId: string): Promise<CheckInDoc[]> {
    return [...(await this.by(CheckInView, 'key_result_id', 'keyResultId', keyResultId))].sort(ORDER.checkIns);
  }
  async retrospectives(filter: { quarterId: string; unitId?: string | null }): Promise<RetrospectiveDoc[]> {
    return (await this.rows(RetrospectiveView, filter.unitId ? { quarter_id: filter.quarterId, unit_id: filter.unitId } : { quarter_id: filter.quarterId })).sort(
      ORDER.retrospectives,
    );
  }
  effort(unitId: string, quarterId: string): Promise<EffortDoc | null> {
    return this.one(EffortView, `${unitId}/${quarterId}`);
  }
  async keyResults(filter: { quarterId: string; unitId?: string | null }): Promise<KeyResultDoc[]> {
    return (await this.rows(KeyResultView, filter.unitId ? { quarter_id: filter.quarterId, unit_id: filter.unitId } : { quarter_id: filter.quarterId })).sort(ORDER.keyResults);
  }
  async checkIns(filter: { quarterId: string }): Promise<CheckInDoc[]> {
    return (await this.rows(CheckInView, { quarter_id: filter.quarterId })).sort(ORDER.checkIns);
  }
  async efforts(filter: { quarterId: string }): Promise<EffortDoc[]> {
    return (await this.rows(EffortView, { quarter_id: filter.quarterId })).sort((a, b) => (a.id < b.id ? -1 : 1));
  }
}
