import type { EntityManager } from '@mikro-orm/postgresql';
import type { EntityClass } from '@mikro-orm/core';
import type { RecordedEvent } from '../events/catalogue';
import * as current from './currentState';
import type { Doc } from './docs';
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
import type { Projection } from './projection';

/** A projection together with the table its documents live in. */
export interface Binding<D extends Doc = Doc> {
  projection: Projection<D>;
  entity: EntityClass<D>;
}

const bind = <D extends Doc>(projection: Projection<D>, entity: EntityClass<D>): Binding => ({
  projection,
  entity,
}) as unknown as Binding;

/** The current-state projections, written in the same transaction as the events they fold. */
export const INLINE_PROJECTIONS: readonly Binding[] = [
  bind(current.units, UnitView),
  bind(current.quarters, QuarterView),
  bind(current.objectives, ObjectiveView),
  bind(current.keyResults, KeyResultView),
  bind(current.checkIns, CheckInView),
  bind(current.retrospectives, RetrospectiveView),
  bind(current.effort, EffortView),
];

/**
 * Folds `events` (all of one organisation, in log order) into the bound tables: loads the documents
 * they touch in one query per projection, evolves them in memory, and writes each back once.
 */
export async function applyToTables(
  em: EntityManager,
  events: readonly RecordedEvent[],
  bindings: readonly Binding[] = INLINE_PROJECTIONS,
): Promise<void> {
  const first = events[0];
  if (first === undefined) return;
  const organisationId = first.metadata.organisationId;
  for (const { projection, entity } of bindings) {
    const relevant = events.filter((e) => projection.handles.has(e.type));
    if (relevant.length === 0) continue;
    const keys = [...new Set(relevant.map((e) => projection.key(e)))];
    const docs = new Map<string, Doc | null>();
    if (!projection.createsOnly) {
      const rows = (await em
        .createQueryBuilder(entity)
        .select('*')
        .where({ organisationId, id: { $in: keys } })
        .execute('all')) as unknown as Doc[];
      for (const row of rows) docs.set(row.id, rowToDoc(row));
    }
    for (const event of relevant) {
      const key = projection.key(event);
      docs.set(key, projection.evolve(docs.get(key) ?? null, event));
    }
    const upserts = [...docs.values()].filter((d): d is Doc => d !== null);
    const removals = [...docs.entries()].filter(([, d]) => d === null).map(([k]) => k);
    if (upserts.length > 0) {
      await em.createQueryBuilder(entity).insert(upserts).onConflict(['organisationId', 'id']).merge().execute();
    }
    if (removals.length > 0) {
      await em.createQueryBuilder(entity).delete({ organisationId, id: { $in: removals } }).execute();
    }
  }
}
