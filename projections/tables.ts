import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ANY_ORGANISATION, textArray, type Sql } from '../events/sql';
import type { Doc } from './docs';
import type { ReadModelDeclaration } from './model';
import { DocumentReadModel, type DocumentSource, type Where } from './readModel';
import { sqlOf } from './sql';

const quoted = (name: string): string => `"${name.replace(/"/g, '""')}"`;

const selections = new Map<string, string>();

/** A read model's columns as selected: instants as milliseconds since 1970 (a number is cheaper to read than text). */
function selectList<D extends Doc>(model: ReadModelDeclaration<D>, alias: string): string {
  const key = `${model.name}\u0000${alias}`;
  let list = selections.get(key);
  if (list === undefined) {
    list = model.columns
      .map((c) => (c.sql === 'timestamptz' ? `(extract(epoch FROM ${alias}.${quoted(c.name)}) * 1000)::float8 AS ${quoted(c.name)}` : `${alias}.${quoted(c.name)}`))
      .join(', ');
    selections.set(key, list);
  }
  return list;
}

/**
 * Documents of one organisation from PostgreSQL: the live tables, or, at a log position, the versions
 * of the history tables valid there ([valid_from, valid_to) holds the position). Both are the same
 * query through the same indexes (organisation_id and the lookup's fields), so an answer about the past
 * costs what one about the present costs. Lookups by one field are batched per request (one statement
 * for all the ids a GraphQL level asks for, as DataLoader gathers them).
 */
export class TableSource implements DocumentSource {
  private readonly loaders = new Map<string, DataLoader<string, Doc[]>>();

  constructor(
    private readonly sql: Sql,
    private readonly organisationId: string,
    /** The log position to read at; null reads the live tables. */
    private readonly position: number | null,
  ) {}

  async find<D extends Doc>(model: ReadModelDeclaration<D>, where: Where): Promise<D[]> {
    const fields = Object.keys(where);
    const only = fields.length === 1 ? fields[0] : undefined;
    if (only !== undefined) return (await this.loader(model, only).load(where[only] as string)) as D[];
    const docs = await this.query(model, Object.entries(where).map(([field, value]) => [field, [value]]));
    // The documents of a listing are often asked for again by id (a field's parent, a node): no second read.
    const byId = this.loader(model, 'id');
    for (const doc of docs) byId.prime(doc.id, [doc]);
    return docs;
  }

  async findWith<D extends Doc, C extends Doc>(model: ReadModelDeclaration<D>, where: Where, child: ReadModelDeclaration<C>, field: keyof C & string): Promise<D[]> {
    const parent = this.conditions(model, Object.entries(where).map(([f, value]) => [f, [value]]), 'p');
    const childColumn = child.columns.find((c) => c.property === field);
    if (childColumn === undefined) throw new Error(`The ${child.name} read model has no field ${field}.`);
    const children = this.conditions(child, [], 'c');
    // One statement: the documents, then their children, each row as JSON with instants in milliseconds.
    const rows = await this.sql.query<{ k: string; d: Record<string, unknown> }>(
      `WITH p AS (SELECT ${selectList(model, 'p')} FROM ${quoted(this.position === null ? model.table : model.history)} p WHERE ${parent.text})
       SELECT 'p' AS k, row_to_json(p) AS d FROM p
       UNION ALL
       SELECT 'c', row_to_json(c) FROM (SELECT ${selectList(child, 'c')} FROM ${quoted(this.position === null ? child.table : child.history)} c
                                      WHERE ${children.text} AND c.${quoted(childColumn.name)} IN (SELECT id FROM p)) c`,
      [...parent.params, ...children.params],
    );
    const docs = rows.filter((r) => r.k === 'p').map((r) => model.toDoc(r.d));
    const groups = new Map<string, C[]>(docs.map((d) => [d.id, []]));
    for (const row of rows) if (row.k === 'c') {
      const doc = child.toDoc(row.d);
      groups.get((doc as unknown as Record<string, string>)[field] as string)?.push(doc);
    }
    const byField = this.loader(child, field);
    for (const [id, group] of groups) byField.prime(id, group);
    const byId = this.loader(model, 'id');
    for (const doc of docs) byId.prime(doc.id, [doc]);
    return docs;
  }

  private loader<D extends Doc>(model: ReadModelDeclaration<D>, field: string): DataLoader<string, Doc[]> {
    const name = `${model.name}.${field}`;
    let loader = this.loaders.get(name);
    if (loader === undefined) {
      loader = new DataLoader<string, Doc[]>(async (keys) => {
        const docs = await this.query(model, [[field, keys]]);
        const groups = new Map<string, Doc[]>(keys.map((k) => [k, []]));
        for (const doc of docs) groups.get((doc as unknown as Record<string, string>)[field] as string)?.push(doc);
        return keys.map((k) => groups.get(k) ?? []);
      });
      this.loaders.set(name, loader);
    }
    return loader;
  }

  /** The organisation, fields equal to one of their values, and (at a position) the versions valid there. */
  private conditions<D extends Doc>(model: ReadModelDeclaration<D>, where: readonly (readonly [string, readonly string[]])[], alias: string): { text: string; params: unknown[] } {
    const conditions = [`${alias}.organisation_id = ${ANY_ORGANISATION}`];
    const params: unknown[] = [this.organisationId];
    for (const [field, values] of where) {
      const column = model.columns.find((c) => c.property === field);
      if (column === undefined) throw new Error(`The ${model.name} read model has no field ${field}.`);
      if (values.length === 1) {
        conditions.push(`${alias}.${quoted(column.name)} = ?`);
        params.push(values[0]);
      } else {
        conditions.push(`${alias}.${quoted(column.name)} = ANY(?::text[])`);
        params.push(textArray(values));
      }
    }
    if (this.position !== null) {
      conditions.push(`${alias}.valid_from <= ?`, `(${alias}.valid_to IS NULL OR ${alias}.valid_to > ?)`);
      params.push(this.position, this.position);
    }
    return { text: conditions.join(' AND '), params };
  }

  private async query<D extends Doc>(model: ReadModelDeclaration<D>, where: readonly (readonly [string, readonly string[]])[]): Promise<D[]> {
    const { text, params } = this.conditions(model, where, 't');
    const table = this.position === null ? model.table : model.history;
    const rows = await this.sql.query<Record<string, unknown>>(`SELECT ${selectList(model, 't')} FROM ${quoted(table)} t WHERE ${text}`, params);
    return rows.map((row) => model.toDoc(row));
  }
}

/** The live read-model tables of one organisation (through an entity manager, or any connection). */
export class TableReadModel extends DocumentReadModel {
  constructor(db: EntityManager | Sql, organisationId: string) {
    super(new TableSource('getConnection' in db ? sqlOf(db) : db, organisationId, null), null);
  }
}

/**
 * The read model as it stood at one position of the organisation's log, from the history tables: no
 * replay, and memory independent of how long the history is.
 */
export class TemporalReadModel extends DocumentReadModel {
  constructor(
    db: EntityManager | Sql,
    organisationId: string,
    /** The organisation's last position recorded at or before `asOf`. */
    readonly position: number,
    asOf: Date,
  ) {
    super(new TableSource('getConnection' in db ? sqlOf(db) : db, organisationId, position), asOf);
  }
}
