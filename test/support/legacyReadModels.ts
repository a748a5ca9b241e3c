import type { EntityManager } from '@mikro-orm/postgresql';
import type { RecordedEvent } from '../../events/catalogue';
import type { Doc } from '../../projections/docs';
import { INLINE_PROJECTIONS, ProjectionTable, shapeOf } from '../../projections/persist';
import { sqlOf } from '../../projections/sql';

/**
 * The read models as the application wrote them before they kept history (Migration20261205000001):
 * the current documents only, upserted into their tables. For filling a database at an older schema,
 * where the history tables do not exist yet.
 */
export async function applyToCurrentTablesOnly(em: EntityManager, events: readonly RecordedEvent[]): Promise<void> {
  const sql = sqlOf(em);
  const organisationId = events[0]?.metadata.organisationId;
  if (organisationId === undefined) return;
  for (const { projection, entity } of INLINE_PROJECTIONS) {
    const relevant = events.filter((e) => projection.handles.has(e.type));
    if (relevant.length === 0) continue;
    const docs = new Map<string, Doc | null>();
    for (const doc of await ProjectionTable.of(em, sql, entity).load(organisationId, [...new Set(relevant.map((e) => projection.key(e)))])) docs.set(doc.id, doc);
    for (const event of relevant) docs.set(projection.key(event), projection.evolve(docs.get(projection.key(event)) ?? null, event));
    const { table, columns } = shapeOf(em, entity);
    const names = columns.map((c) => `"${c.column}"`).join(', ');
    const record = columns.map((c) => `"${c.column}" ${c.type}`).join(', ');
    const updates = columns.filter((c) => c.column !== 'organisation_id' && c.column !== 'id').map((c) => `"${c.column}" = EXCLUDED."${c.column}"`).join(', ');
    const rows = [...docs.values()]
      .filter((d): d is Doc => d !== null)
      .map((d) => Object.fromEntries(columns.map((c) => {
        const value = (d as unknown as Record<string, unknown>)[c.property];
        return [c.column, value instanceof Date ? value.toISOString() : value];
      })));
    await sql.query(
      `INSERT INTO "${table}" (${names}) SELECT ${names} FROM jsonb_to_recordset(?::jsonb) AS r(${record})
       ON CONFLICT (organisation_id, id) DO UPDATE SET ${updates}`,
      [JSON.stringify(rows)],
    );
  }
}
