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

interface TableShape {
  table: string;
  columns: Column[];
}

const quoteId = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const shapes = new WeakMap<object, TableShape>();

/** Table and column names and types of an entity, from MikroORM's metadata (computed once). */
function shapeOf(em: EntityManager, entity: EntityClass<Doc>): TableShape {
  const known = shapes.get(entity);
  if (known) return known;
  const meta = em.getMetadata().get(entity.name);
  const shape = {
    table: meta.tableName,
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
function toDoc(shape: TableShape, row: Record<string, unknown>): Doc {
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

/**
 * Reads and writes one projection's table with plain statements shaped by the entity's metadata:
 * one SELECT for the documents a batch touches, one INSERT .. ON CONFLICT for all of them. These run
 * inside the append's transaction, where every microsecond is spent while appends are serialised.
 */
export class ProjectionTable {
  constructor(
    private readonly sql: Sql,
    private readonly shape: TableShape,
  ) {}

  static of(em: EntityManager, sql: Sql, entity: EntityClass<Doc>): ProjectionTable {
    return new ProjectionTable(sql, shapeOf(em, entity));
  }

  async load(organisationId: string, ids: readonly string[]): Promise<Doc[]> {
    const rows = await this.sql.query<Record<string, unknown>>(
      `SELECT * FROM ${quoteId(this.shape.table)}
        WHERE organisation_id = ? AND id = ANY(?::text[])`,
      [organisationId, textArray(ids)],
    );
    return rows.map((row) => toDoc(this.shape, row));
  }

  async upsert(docs: readonly Doc[]): Promise<void> {
    if (docs.length === 0) return;
    const { table, columns } = this.shape;
    const names = columns.map((c) => quoteId(c.column)).join(', ');
    const record = columns.map((c) => `${quoteId(c.column)} ${c.type}`).join(', ');
    const updates = columns
      .filter((c) => c.column !== 'organisation_id' && c.column !== 'id')
      .map((c) => `${quoteId(c.column)} = EXCLUDED.${quoteId(c.column)}`)
      .join(', ');
    const rows = docs.map((doc) => {
      const row: Record<string, unknown> = {};
      for (const c of columns) {
        const value = (doc as unknown as Record<string, unknown>)[c.property];
        row[c.column] = value instanceof Date ? value.toISOString() : value;
      }
      return row;
    });
    await this.sql.query(
      `INSERT INTO ${quoteId(table)} (${names})
       SELECT ${names} FROM jsonb_to_recordset(?::jsonb) AS r(${record})
       ON CONFLICT (organisation_id, id) DO UPDATE SET ${updates}`,
      [JSON.stringify(rows)],
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
): Promise<void> {
  const sql = sqlOf(em);
  const first = events[0];
  if (first === undefined) return;
  const organisationId = first.metadata.organisationId;
  for (const { projection, entity } of bindings) {
    const relevant = events.filter((e) => projection.handles.has(e.type));
    if (relevant.length === 0) continue;
    const table = ProjectionTable.of(em, sql, entity);
    const keys = [...new Set(relevant.map((e) => projection.key(e)))];
    const docs = new Map<string, Doc | null>();
    if (!projection.createsOnly) {
      for (const doc of await table.load(organisationId, keys)) docs.set(doc.id, doc);
    }
    for (const event of relevant) {
      const key = projection.key(event);
      docs.set(key, projection.evolve(docs.get(key) ?? null, event));
    }
    await table.upsert([...docs.values()].filter((d): d is Doc => d !== null));
    await table.remove(organisationId, [...docs.entries()].filter(([, d]) => d === null).map(([k]) => k));
  }
}
