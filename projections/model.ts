import type { Doc } from './docs';
import { projection, type DeclaredProjection, type Handlers } from './projection';

/*
 * One declaration per read model: its columns, the fields it is looked up by, its order, and what it
 * does with every event type. Everything else is derived from it: the document type (DocOf), the row
 * conversions, the table and history-table names, the statements that persist and version documents
 * (projections/persist.ts), the rebuild (src/rebuild.ts), the three ways of reading (live tables, the
 * history tables at a log position, an in-memory fold: projections/readModel.ts), and the check that the
 * database has exactly these tables (test/schema.int.test.ts). A migration creates the tables; that
 * test fails until one does.
 */

/** The SQL types read-model columns use. */
export type ColumnType = 'text' | 'bigint' | 'int' | 'double precision' | 'boolean' | 'timestamptz' | 'jsonb';

/** A column: its SQL type and nullability; `T` is the type of the document field it holds. */
export interface Column<T> {
  readonly sql: ColumnType;
  readonly nullable: boolean;
  /** Never set: carries the field's type for DocOf. */
  readonly field?: T;
}

const of = <T>(sql: ColumnType): Column<T> => ({ sql, nullable: false });

/** Column constructors; `column.nullable(c)` allows null. */
export const column = {
  text: <T extends string = string>(): Column<T> => of<T>('text'),
  /** Log positions and other whole numbers that may pass 2^31 (read back as numbers: positions stay below 2^53). */
  bigint: (): Column<number> => of<number>('bigint'),
  int: (): Column<number> => of<number>('int'),
  double: (): Column<number> => of<number>('double precision'),
  boolean: (): Column<boolean> => of<boolean>('boolean'),
  time: (): Column<Date> => of<Date>('timestamptz'),
  json: <T>(): Column<T> => of<T>('jsonb'),
  nullable: <T>(c: Column<T>): Column<T | null> => ({ sql: c.sql, nullable: true }),
};

/** A read model's columns besides organisation_id and id (which every one has, and which key it). */
export type Columns = Record<string, Column<unknown>>;

/** The document a read model holds: its organisation, its id, and a field per column. */
export type DocOf<C extends Columns> = Doc & { [K in keyof C]: C[K] extends Column<infer T> ? T : never };

/** A column as the statements use it: the document property, the SQL column name and type. */
export interface ColumnInfo {
  property: string;
  name: string;
  sql: ColumnType;
  nullable: boolean;
}

const PG_INSTANT = /^(\d{4,})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(\.\d+)?(?:(Z)|([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?)?( BC)?$/;

/**
 * An instant as PostgreSQL writes timestamptz text ('0001-01-01 00:00:00+00') or row_to_json gives it
 * ('2027-01-01T09:00:00.123+00:00'). Parsed by hand: Date's own parser takes years 0-99 for 1900s or 2000s.
 */
export function parseInstant(text: string): Date {
  const m = PG_INSTANT.exec(text);
  if (m === null) return new Date(text);
  const [, y, mo, d, h, mi, sec, frac, , sign, oh, om, os, bc] = m;
  const at = new Date(Date.UTC(2000, Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec), Math.round(Number(frac ?? 0) * 1000)));
  at.setUTCFullYear(bc ? 1 - Number(y) : Number(y));
  const offset = sign === undefined ? 0 : (sign === '-' ? -1 : 1) * ((Number(oh) * 60 + Number(om ?? 0)) * 60 + Number(os ?? 0)) * 1000;
  return new Date(at.getTime() - offset);
}

/** MikroORM's naming, which the first migrations followed: camelCase properties, snake_case columns. */
export const columnName = (property: string): string => property.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The history table of a read-model table: its versions by log position (Migration20261205000001TemporalReadModels). */
export const historyTableOf = (table: string): string => `${table}_history`;

export interface ReadModelSpec<C extends Columns> {
  /** The projection's name: what `okr projections rebuild` takes. */
  name: string;
  /** Its table; `<table>_history` keeps every version of every document by log position. */
  table: string;
  columns: C;
  /**
   * The fields documents are looked up by besides their id (each list one lookup); reads filter on
   * nothing else, and each lookup needs an index on the table and on its history that begins with
   * organisation_id and the lookup's first field (test/schema.int.test.ts checks both).
   */
  lookups: readonly (readonly (keyof C & string)[])[];
  /** The order lists of these documents are answered in. */
  order: NoInfer<(a: DocOf<C>, b: DocOf<C>) => number>;
  /** What it does with every event type of the catalogue. */
  handlers: NoInfer<Handlers<DocOf<C>>>;
  /**
   * Its events make whole documents, never reading the one before (a retrospective recorded again
   * replaces the unit's): nothing needs loading before an append.
   */
  createsOnly?: boolean;
  /**
   * Each document is made once by one event and never changed or replaced (a check-in): no earlier
   * version to close, and a rebuild need not keep them in memory. Implies createsOnly.
   */
  immutable?: boolean;
}

/** A read model as declared, with what is derived from the declaration. */
export interface ReadModelDeclaration<D extends Doc = Doc> extends DeclaredProjection<D> {
  readonly table: string;
  readonly history: string;
  /** Every column, organisation_id and id first, in declaration order. */
  readonly columns: readonly ColumnInfo[];
  readonly lookups: readonly (readonly string[])[];
  readonly order: (a: D, b: D) => number;
  readonly createsOnly: boolean;
  readonly immutable: boolean;
  /** A row as PostgreSQL returns it (or as row_to_json gives it; instants may be milliseconds since 1970) as a document. */
  toDoc(row: Record<string, unknown>): D;
  /** A document as a JSON-ready row keyed by column name (instants as ISO strings). */
  toRow(doc: D): Record<string, unknown>;
}

const KEY_COLUMNS: readonly ColumnInfo[] = [
  { property: 'organisationId', name: 'organisation_id', sql: 'text', nullable: false },
  { property: 'id', name: 'id', sql: 'text', nullable: false },
];

/** Declares a read model: see the comment at the top of this file. */
export function readModel<C extends Columns>(spec: ReadModelSpec<C>): ReadModelDeclaration<DocOf<C>> {
  type D = DocOf<C>;
  const columns: ColumnInfo[] = [
    ...KEY_COLUMNS,
    ...Object.entries(spec.columns).map(([property, c]) => ({ property, name: columnName(property), sql: c.sql, nullable: c.nullable })),
  ];
  const toDoc = (row: Record<string, unknown>): D => {
    const doc: Record<string, unknown> = {};
    for (const { property, name, sql } of columns) {
      const value = row[name];
      if (value === null || value === undefined) doc[property] = null;
      else if (sql === 'timestamptz') doc[property] = value instanceof Date ? value : typeof value === 'number' ? new Date(value) : parseInstant(String(value));
      else if (sql === 'bigint') doc[property] = Number(value);
      else doc[property] = value;
    }
    return doc as D;
  };
  const toRow = (doc: D): Record<string, unknown> => {
    const row: Record<string, unknown> = {};
    for (const { property, name } of columns) {
      const value = (doc as Record<string, unknown>)[property];
      row[name] = value instanceof Date ? value.toISOString() : value;
    }
    return row;
  };
  const immutable = spec.immutable ?? false;
  const declared = projection<D>(spec.name, spec.handlers, { createsOnly: immutable || (spec.createsOnly ?? false) });
  return {
    ...declared,
    table: spec.table,
    history: historyTableOf(spec.table),
    columns,
    lookups: spec.lookups,
    order: spec.order,
    createsOnly: immutable || (spec.createsOnly ?? false),
    immutable,
    toDoc,
    toRow,
  };
}

/** Orders documents by a field (instants by time), then by id, so every list has a stable order. */
export const byThenId =
  <D extends Doc>(field: keyof D) =>
  (a: D, b: D): number => {
    const x = a[field] as unknown as Date | number | string;
    const y = b[field] as unknown as Date | number | string;
    const cx = x instanceof Date ? x.getTime() : x;
    const cy = y instanceof Date ? y.getTime() : y;
    if (cx < cy) return -1;
    if (cx > cy) return 1;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  };
