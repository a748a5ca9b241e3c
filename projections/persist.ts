import type { RecordedEvent } from '../events/catalogue';
import { ANY_ORGANISATION, textArray, type Sql } from '../events/sql';
import type { Doc } from './docs';
import type { ReadModelDeclaration } from './model';
import { ALL_READ_MODELS } from './models';

/*
 * Persisting read models, from their declarations alone. An append folds its events into every read
 * model in two steps, each one part of a statement the append sends anyway (src/ledger.ts):
 *   1. load the documents the events touch (loadQuery: one SELECT over every table, rows as jsonb);
 *   2. evolve them in memory (evolveDocuments) and write, per read model, the current documents
 *      (INSERT .. ON CONFLICT), the end of their open versions in the history table, and their new
 *      versions (writeCtes: common table expressions of the append's last statement).
 * applyToTables does both on its own (two statements), for a rebuild's catch-up.
 */

const quoted = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Where a read model's tables are written: the live ones, or a rebuild's new ones beside them. */
export type TableOf = (table: string) => string;
const live: TableOf = (table) => table;

/** A document as it became at a log position (null: it was removed there). */
export interface Version {
  doc: Doc | null;
  id: string;
  position: number;
}

/** What one read model writes for a batch of events. */
export interface ModelWrite {
  model: ReadModelDeclaration;
  /** The documents as they now are (the removed ones excepted). */
  docs: Doc[];
  /** Ids of documents removed. */
  removed: string[];
  /** In log order, every state a document took (each valid from its position to the next one's). */
  versions: Version[];
}

/** The documents already stored, by read model name and id. */
export type Loaded = ReadonlyMap<string, ReadonlyMap<string, Doc>>;

/**
 * The documents each read model needs before it can fold `events`: their ids, for every model whose
 * events read the document before (`createsOnly` models never do). Keys depend only on what the events
 * say and on their stream and version, so they can be computed before the events have positions.
 */
export function documentsTouched(
  events: readonly RecordedEvent[],
  models: readonly ReadModelDeclaration[] = ALL_READ_MODELS,
): Map<ReadModelDeclaration, string[]> {
  const touched = new Map<ReadModelDeclaration, string[]>();
  for (const model of models) {
    if (model.createsOnly) continue;
    const keys = new Set<string>();
    for (const event of events) if (model.handles.has(event.type)) keys.add(model.key(event));
    if (keys.size > 0) touched.set(model, [...keys]);
  }
  return touched;
}

/**
 * One SELECT over every table touched: rows `(m, d)` with the read model's name and the row as json (row_to_json: cheaper to make than jsonb).
 * Null when nothing needs loading.
 */
export function loadQuery(
  organisationId: string,
  touched: ReadonlyMap<ReadModelDeclaration, readonly string[]>,
  tableOf: TableOf = live,
): { text: string; params: unknown[] } | null {
  const parts: string[] = [];
  const params: unknown[] = [];
  for (const [model, ids] of touched) {
    parts.push(`SELECT ?::text AS m, row_to_json(t) AS d FROM ${quoted(tableOf(model.table))} t WHERE t.organisation_id = ${ANY_ORGANISATION} AND t.id = ANY(?::text[])`);
    params.push(model.name, organisationId, textArray(ids));
  }
  return parts.length === 0 ? null : { text: parts.join(' UNION ALL '), params };
}

/** The loaded rows (`(m, d)`, as loadQuery returns them) as documents by read model and id. */
export function loadedDocuments(rows: readonly { m: string; d: Record<string, unknown> }[], models: readonly ReadModelDeclaration[] = ALL_READ_MODELS): Loaded {
  const byName = new Map(models.map((m) => [m.name, m]));
  const loaded = new Map<string, Map<string, Doc>>();
  for (const { m, d } of rows) {
    const model = byName.get(m);
    if (model === undefined) continue;
    const doc = model.toDoc(d);
    let docs = loaded.get(m);
    if (docs === undefined) loaded.set(m, (docs = new Map()));
    docs.set(doc.id, doc);
  }
  return loaded;
}

/** Folds `events` (of one organisation, in log order, with their positions) into the loaded documents. */
export function evolveDocuments(
  events: readonly RecordedEvent[],
  loaded: Loaded,
  models: readonly ReadModelDeclaration[] = ALL_READ_MODELS,
): ModelWrite[] {
  const writes: ModelWrite[] = [];
  for (const model of models) {
    const relevant = events.filter((e) => model.handles.has(e.type));
    if (relevant.length === 0) continue;
    const docs = new Map<string, Doc | null>(loaded.get(model.name) ?? []);
    const versions: Version[] = [];
    for (const event of relevant) {
      const key = model.key(event);
      const before = docs.get(key) ?? null;
      const after = model.evolve(before, event);
      docs.set(key, after);
      // A version wherever the document changed (an event it ignores leaves the same object).
      if (after !== before) versions.push({ doc: after, id: key, position: event.position });
    }
    const changed = new Set(versions.map((v) => v.id));
    writes.push({
      model,
      docs: [...docs.entries()].filter((e): e is [string, Doc] => e[1] !== null && changed.has(e[0])).map(([, d]) => d),
      removed: [...docs.entries()].filter(([id, d]) => d === null && changed.has(id)).map(([id]) => id),
      versions,
    });
  }
  return writes;
}

/**
 * The history rows of a batch of versions: each valid from its position until the next version of the
 * same document in the batch (open when none), and, per document, the position where its version
 * stored before ends.
 */
export function historyRows(model: ReadModelDeclaration, versions: readonly Version[]): { rows: Record<string, unknown>[]; closes: { id: string; at: number }[] } {
  const firstAt = new Map<string, number>();
  for (const v of versions) if (!firstAt.has(v.id)) firstAt.set(v.id, v.position);
  // Each version ends where the next version of the same document begins: one pass from the end.
  const nextAt = new Map<string, number>();
  const rows: Record<string, unknown>[] = [];
  for (let i = versions.length - 1; i >= 0; i -= 1) {
    const v = versions[i] as Version;
    if (v.doc !== null) rows.push({ ...model.toRow(v.doc), valid_from: v.position, valid_to: nextAt.get(v.id) ?? null });
    nextAt.set(v.id, v.position);
  }
  rows.reverse();
  return { rows, closes: [...firstAt].map(([id, at]) => ({ id, at })) };
}

/**
 * The writes as common table expressions for one statement (names start with `prefix`), with their
 * parameters in order. An immutable model's documents have no earlier version to close.
 */
export function writeCtes(
  organisationId: string,
  writes: readonly ModelWrite[],
  tableOf: TableOf = live,
  prefix = 'rm',
): { ctes: string[]; params: unknown[] } {
  const ctes: string[] = [];
  const params: unknown[] = [];
  writes.forEach(({ model, docs, removed, versions }, i) => {
    const table = quoted(tableOf(model.table));
    const history = quoted(tableOf(model.history));
    const names = model.columns.map((c) => quoted(c.name)).join(', ');
    const record = model.columns.map((c) => `${quoted(c.name)} ${c.sql}`).join(', ');
    const updates = model.columns
      .filter((c) => c.name !== 'organisation_id' && c.name !== 'id')
      .map((c) => `${quoted(c.name)} = EXCLUDED.${quoted(c.name)}`)
      .join(', ');
    const name = `${prefix}${i}`;
    if (docs.length > 0) {
      ctes.push(`${name}_cur AS (INSERT INTO ${table} (${names}) SELECT ${names} FROM jsonb_to_recordset(?::jsonb) AS r(${record})
                 ON CONFLICT (organisation_id, id) DO UPDATE SET ${updates})`);
      params.push(JSON.stringify(docs.map((d) => model.toRow(d))));
    }
    if (removed.length > 0) {
      ctes.push(`${name}_del AS (DELETE FROM ${table} WHERE organisation_id = ${ANY_ORGANISATION} AND id = ANY(?::text[]))`);
      params.push(organisationId, textArray(removed));
    }
    if (versions.length === 0) return;
    const { rows, closes } = historyRows(model, versions);
    // Even a model whose events make whole documents may replace one (a unit's retrospective of a
    // quarter, recorded again), so the open version of every id written is closed (an index lookup).
    if (!model.immutable) {
      ctes.push(`${name}_closed AS (UPDATE ${history} h SET valid_to = c.at FROM jsonb_to_recordset(?::jsonb) AS c(id text, at bigint)
                 WHERE h.organisation_id = ${ANY_ORGANISATION} AND h.id = c.id AND h.valid_to IS NULL)`);
      params.push(JSON.stringify(closes), organisationId);
    }
    if (rows.length > 0) {
      ctes.push(`${name}_hist AS (INSERT INTO ${history} (${names}, valid_from, valid_to)
                 SELECT ${names}, valid_from, valid_to FROM jsonb_to_recordset(?::jsonb) AS r(${record}, valid_from bigint, valid_to bigint))`);
      params.push(JSON.stringify(rows));
    }
  });
  return { ctes, params };
}

/**
 * Folds `events` (all of one organisation, in log order) into the read models' tables on its own: one
 * statement loads the documents they touch, one writes them and their versions. A rebuild's catch-up
 * uses it; appends fold the same steps into their own statements (src/ledger.ts).
 */
export async function applyToTables(
  sql: Sql,
  events: readonly RecordedEvent[],
  models: readonly ReadModelDeclaration[] = ALL_READ_MODELS,
  /** Where each table is written instead (a rebuild builds beside the live tables). */
  tableOf: TableOf = live,
): Promise<void> {
  const first = events[0];
  if (first === undefined) return;
  const organisationId = first.metadata.organisationId;
  const load = loadQuery(organisationId, documentsTouched(events, models), tableOf);
  const loaded = load === null ? new Map() : loadedDocuments(await sql.query<{ m: string; d: Record<string, unknown> }>(load.text, load.params), models);
  const { ctes, params } = writeCtes(organisationId, evolveDocuments(events, loaded, models), tableOf);
  if (ctes.length > 0) await sql.query(`WITH ${ctes.join(',\n')} SELECT 1`, params);
}
