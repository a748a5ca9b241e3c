import DataLoader from 'dataloader';
import type { EntityManager } from '@mikro-orm/postgresql';
import { textArray, type Sql } from '../events/sql';
import type { Doc } from './docs';
import type { ReadModelDeclaration } from './model';
import { DocumentReadModel, type DocumentSource, type Where } from './readModel';
import { sqlOf } from './sql';

const quoted = (name: string): string => `"${name.replace(/"/g, '""')}"`;

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

  private async query<D extends Doc>(model: ReadModelDeclaration<D>, where: readonly (readonly [string, readonly string[]])[]): Promise<D[]> {
    const conditions = ['organisation_id = ?'];
    const params: unknown[] = [this.organisationId];
    for (const [field, values] of where) {
      const column = model.columns.find((c) => c.property === field);
      if (column === undefined) throw new Error(`The ${model.name} read model has no field ${field}.`);
      if (values.length === 1) {
        conditions.push(`${quoted(column.name)} = ?`);
        params.push(values[0]);
      } else {
        conditions.push(`${quoted(column.name)} = ANY(?::text[])`);
        params.push(textArray(values));
      }
    }
    if (this.position !== null) {
      conditions.push('valid_from <= ?', '(valid_to IS NULL OR valid_to > ?)');
      params.push(this.position, this.position);
    }
    const table = this.position === null ? model.table : model.history;
    const rows = await this.sql.query<Record<string, unknown>>(`SELECT * FROM ${quoted(table)} WHERE ${conditions.join(' AND ')}`, params);
    return rows.map((row) => model.toDoc(row));
  }
}

/** The live read-model tables of one organisation. */
export class TableReadModel extends DocumentReadModel {
  constructor(em: EntityManager, organisationId: string) {
    super(new TableSource(sqlOf(em), organisationId, null), null);
  }
}

/**
 * The read model as it stood at one position of the organisation's log, from the history tables: no
 * replay, and memory independent of how long the history is.
 */
export class TemporalReadModel extends DocumentReadModel {
  constructor(
    em: EntityManager,
    organisationId: string,
    /** The organisation's last position recorded at or before `asOf`. */
    readonly position: number,
    asOf: Date,
  ) {
    super(new TableSource(sqlOf(em), organisationId, position), asOf);
  }
}
