import type { EntityClass } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { RecordedEvent } from '../events/catalogue';
import { textArray, type Sql } from '../events/sql';
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
} from './entities';
import type { Projection } from './projection';
import { sqlOf } from './sql';

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

interface Column {
  property: string;
  column: string;
  /** The SQL type, as the entity declares it. */
  type: string;
}

export interface TableShape {
  table: string;
  /** Every version of every document, each valid for the log positions [valid_from, valid_to). */
  history: string;
  columns: Column[];
}

const quoteId = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const shapes = new WeakMap<object, TableShape>();

/** The history table of a read-model table: its versions by log position (Migration20261205000001TemporalReadModels). */
export const historyTableOf = (table: string): string => `${table}_history`;

/** Table and column names and types of an entity, from MikroORM's metadata (computed once). */
export function shapeOf(em: EntityManager, entity: EntityClass<Doc>): TableShape {
  const known = shapes.get(entity);
  if (known) return known;
  const meta = em.getMetadata().get(entity.name);
  const shape = {
    table: meta.tableName,
    history: historyTableOf(meta.tableName),
    columns: Object.values(meta.properties).map((p) => ({
      property: p.name,
      column: p.fieldNames[0] ?? p.name,
      type: p.columnTypes[0] ?? 'text',
    })),
  };
  shapes.set(entity, shape);
  return shape;
}

/** A row as a document: property names, Dates for timestamps, numbers for bigints. */
export function toDoc(shape: TableShape, row: Record<string, unknown>): Doc {
  const doc: Record<string, unknown> = {};
  for (const { property, column, type } of shape.columns) {
    const value = row[column];
    if (value === null || value === undefined) doc[property] = null;
    else if (type.startsWith('timestamp')) doc[property] = value instanceof Date ? value : new Date(String(value));
    else if (type === 'bigint') doc[property] = Number(value);
    else doc[property] = value;
  }
  return doc as unknown as Doc;
}

/** A document as it became at a log position (null: it was removed there). */
export interface Version {
  doc: Doc | null;
  id: string;
  position: number;
}

/**
 * Reads and writes one projection's table with plain statements shaped by the entity's metadata:
 * one SELECT for the documents a batch touches, and one statement that writes the current documents
 * (INSERT .. ON CONFLICT), closes their open versions in the history table and inserts the new ones.
 * These run inside the append's transaction, where every microsecond is spent while appends of the
 * organisation are serialised.
 */
export class ProjectionTable {
  constructor(
    private readonly sql: Sql,
    private readonly shape: TableShape,
  ) {}

  static of(em: EntityManager, sql: Sql, entity: EntityClass<Doc>, tableOf: (table: string) => string = (t) => t): ProjectionTable {
    const shape = shapeOf(em, entity);
    return new ProjectionTable(sql, { ...shape, table: tableOf(shape.table), history: tableOf(shape.history) });
  }

  async load(organisationId: string, ids: readonly string[]): Promise<Doc[]> {
    const rows = await this.sql.query<Record<string, unknown>>(
      `SELECT * FROM ${quoteId(this.shape.table)}
        WHERE organisation_id = ? AND id = ANY(?::text[])`,
      [organisationId, textArray(ids)],
    );
    return rows.map((row) => toDoc(this.shape, row));
  }

  private rowOf(doc: Doc): Record<string, unknown> {
    const row: Record<string, unknown> = {};
    for (const c of this.shape.columns) {
      const value = (doc as unknown as Record<string, unknown>)[c.property];
      row[c.column] = value instanceof Date ? value.toISOString() : value;
    }
    return row;
  }

  /**
   * Writes the documents' current state and their versions, in one statement. `versions` lists, in
   * log order, every state a document took (each valid from its position to the next one's); the
   * document's open version in the history table is closed at its first new position.
   */
  async write(organisationId: string, docs: readonly Doc[], versions: readonly Version[]): Promise<void> {
    if (docs.length === 0 && versions.length === 0) return;
    const { table, history, columns } = this.shape;
    const names = columns.map((c) => quoteId(c.column)).join(', ');
    const record = columns.map((c) => `${quoteId(c.column)} ${c.type}`).join(', ');
    const updates = columns
      .filter((c) => c.column !== 'organisation_id' && c.column !== 'id')
      .map((c) => `${quoteId(c.column)} = EXCLUDED.${quoteId(c.column)}`)
      .join(', ');
    // Even a projection whose events create whole documents may replace one (a unit's retrospective of a
    // quarter, recorded again), so the open version of every id written is closed (an index lookup).
    const firstAt = new Map<string, number>();
    for (const v of versions) if (!firstAt.has(v.id)) firstAt.set(v.id, v.position);
    // Each version ends where the next version of the same document begins: one pass from the end.
    const nextAt = new Map<string, number>();
    const rows: Record<string, unknown>[] = [];
    for (let i = versions.length - 1; i >= 0; i -= 1) {
      const v = versions[i] as Version;
      if (v.doc !== null) rows.push({ ...this.rowOf(v.doc), valid_from: v.position, valid_to: nextAt.get(v.id) ?? null });
      nextAt.set(v.id, v.position);
    }
    rows.reverse();
    await this.sql.query(
      `WITH cur AS (INSERT INTO ${quoteId(table)} (${names})
                    SELECT ${names} FROM jsonb_to_recordset(?::jsonb) AS r(${record})
                    ON CONFLICT (organisation_id, id) DO UPDATE SET ${updates}),
            closed AS (UPDATE ${quoteId(history)} h SET valid_to = c.at
                         FROM jsonb_to_recordset(?::jsonb) AS c(id text, at bigint)
                        WHERE h.organisation_id = ? AND h.id = c.id AND h.valid_to IS NULL)
       INSERT INTO ${quoteId(history)} (${names}, valid_from, valid_to)
       SELECT ${names}, valid_from, valid_to FROM jsonb_to_recordset(?::jsonb) AS r(${record}, valid_from bigint, valid_to bigint)`,
      [
        JSON.stringify(docs.map((d) => this.rowOf(d))),
        JSON.stringify([...firstAt].map(([id, at]) => ({ id, at }))),
        organisationId,
        JSON.stringify(rows),
      ],
    );
  }

  async remove(organisationId: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.sql.query(
      `DELETE FROM ${quoteId(this.shape.table)}
        WHERE organisation_id = ? AND id = ANY(?::text[])`,
      [organisationId, textArray(ids)],
    );
  }
}

/**
 * Folds `events` (all of one organisation, in log order) into the bound tables: loads the documents
 * they touch in one query per projection, evolves them in memory, and writes each back once.
 */
export async function applyToTables(
  em: EntityManager,
  events: readonly RecordedEvent[],
  bindings: readonly Binding[] = INLINE_PROJECTIONS,
  /** Where each table is written instead (a rebuild builds beside the live tables). */
  tableOf: (table: string) => string = (table) => table,
): Promise<void> {
  const sql = sqlOf(em);
  const first = events[0];
  if (first === undefined) return;
  const organisationId = first.metadata.organisationId;
  for (const { projection, entity } of bindings) {
    const relevant = events.filter((e) => projection.handles.has(e.type));
    if (relevant.length === 0) continue;
    const table = ProjectionTable.of(em, sql, entity, tableOf);
    const keys = [...new Set(relevant.map((e) => projection.key(e)))];
    const docs = new Map<string, Doc | null>();
    if (!projection.createsOnly) {
      for (const doc of await table.load(organisationId, keys)) docs.set(doc.id, doc);
    }
    const versions: Version[] = [];
    for (const event of relevant) {
      const key = projection.key(event);
      const before = docs.get(key) ?? null;
      const after = projection.evolve(before, event);
      docs.set(key, after);
      // A version wherever the document changed (an event it ignores leaves the same object).
      if (after !== before) versions.push({ doc: after, id: key, position: event.position });
    }
    await table.write(organisationId, [...docs.values()].filter((d): d is Doc => d !== null), versions);
    await table.remove(organisationId, [...docs.entries()].filter(([, d]) => d === null).map(([k]) => k));
  }
}
