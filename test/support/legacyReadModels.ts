import type { EntityManager } from '@mikro-orm/postgresql';
import type { RecordedEvent } from '../../events/catalogue';
import type { Doc } from '../../projections/docs';
import { ALL_READ_MODELS } from '../../projections/models';
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
  for (const model of ALL_READ_MODELS) {
    const relevant = events.filter((e) => model.handles.has(e.type));
    if (relevant.length === 0) continue;
    const docs = new Map<string, Doc | null>();
    const ids = [...new Set(relevant.map((e) => model.key(e)))];
    const stored = await sql.query<Record<string, unknown>>(`SELECT * FROM "${model.table}" WHERE organisation_id = ? AND id = ANY(?::text[])`, [
      organisationId,
      `{${ids.map((id) => JSON.stringify(id)).join(',')}}`,
    ]);
    for (const row of stored) docs.set(String(row.id), model.toDoc(row));
    for (const event of relevant) docs.set(model.key(event), model.evolve(docs.get(model.key(event)) ?? null, event));
    const { table, columns } = model;
    const names = columns.map((c) => `"${c.name}"`).join(', ');
    const record = columns.map((c) => `"${c.name}" ${c.sql}`).join(', ');
    const updates = columns.filter((c) => c.name !== 'organisation_id' && c.name !== 'id').map((c) => `"${c.name}" = EXCLUDED."${c.name}"`).join(', ');
    const rows = [...docs.values()].filter((d): d is Doc => d !== null).map((d) => model.toRow(d));
    await sql.query(
      `INSERT INTO "${table}" (${names}) SELECT ${names} FROM jsonb_to_recordset(?::jsonb) AS r(${record})
       ON CONFLICT (organisation_id, id) DO UPDATE SET ${updates}`,
      [JSON.stringify(rows)],
    );
  }
}
