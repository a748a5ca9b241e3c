import type { EntityManager } from '@mikro-orm/postgresql';
import type { RecordedEvent } from '../../events/catalogue';
import type { Doc, KeyResultDoc } from '../../projections/docs';
import type { ReadModelDeclaration } from '../../projections/model';
import { ALL_READ_MODELS } from '../../projections/models';
import { sqlOf } from '../../projections/sql';

/**
 * The read models as the application wrote them before they kept history (Migration20261205000001):
 * the current documents only, upserted into their tables. For filling a database at an older schema,
 * where the history tables do not exist yet. Only the tables and columns that schema has are written,
 * and key results fold check-ins as the application did then (before measurements,
 * Migration20261216000001): `current` is the latest check-in's value, even when it gave none.
 */
export async function applyToCurrentTablesOnly(em: EntityManager, events: readonly RecordedEvent[]): Promise<void> {
  const sql = sqlOf(em);
  const organisationId = events[0]?.metadata.organisationId;
  if (organisationId === undefined) return;
  for (const model of ALL_READ_MODELS) {
    const relevant = events.filter((e) => model.handles.has(e.type));
    if (relevant.length === 0) continue;
    const existing = new Set(
      (await sql.query<{ name: string }>('SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?', [model.table]))
        .map((c) => c.name),
    );
    if (existing.size === 0) throw new Error(`${model.table} does not exist at this schema, yet ${relevant[0]?.type} is folded into it`);
    const evolve = model.name === 'keyResults' ? legacyKeyResultEvolve(model) : model.evolve;
    const docs = new Map<string, Doc | null>();
    const ids = [...new Set(relevant.map((e) => model.key(e)))];
    const stored = await sql.query<Record<string, unknown>>(`SELECT * FROM "${model.table}" WHERE organisation_id = ? AND id = ANY(?::text[])`, [
      organisationId,
      `{${ids.map((id) => JSON.stringify(id)).join(',')}}`,
    ]);
    for (const row of stored) docs.set(String(row.id), model.toDoc(row));
    for (const event of relevant) docs.set(model.key(event), evolve(docs.get(model.key(event)) ?? null, event));
    const columns = model.columns.filter((c) => existing.has(c.name));
    const names = columns.map((c) => `"${c.name}"`).join(', ');
    const record = columns.map((c) => `"${c.name}" ${c.sql}`).join(', ');
    const updates = columns.filter((c) => c.name !== 'organisation_id' && c.name !== 'id').map((c) => `"${c.name}" = EXCLUDED."${c.name}"`).join(', ');
    const rows = [...docs.values()].filter((d): d is Doc => d !== null).map((d) => model.toRow(d));
    await sql.query(
      `INSERT INTO "${model.table}" (${names}) SELECT ${names} FROM jsonb_to_recordset(?::jsonb) AS r(${record})
       ON CONFLICT (organisation_id, id) DO UPDATE SET ${updates}`,
      [JSON.stringify(rows)],
    );
  }
}

/** The key results' fold of a check-in before measurements: the latest check-in by effective date gave `current`, value or not. */
export function legacyKeyResultEvolve(model: ReadModelDeclaration): ReadModelDeclaration['evolve'] {
  return (doc, event) => {
    if (event.type !== 'CheckInRecorded' || doc === null) return model.evolve(doc, event);
    const kr = doc as KeyResultDoc;
    const asOf = new Date(event.data.asOf);
    const isLatest = kr.latestCheckInAsOf === null || asOf.getTime() >= kr.latestCheckInAsOf.getTime();
    return isLatest
      ? { ...kr, current: event.data.value, confidence: event.data.confidence, latestCheckInAsOf: asOf, version: event.version }
      : { ...kr, version: event.version };
  };
}
