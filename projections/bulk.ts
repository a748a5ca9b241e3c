import type { RecordedEvent } from '../events/catalogue';
import type { Doc } from './docs';
import type { ColumnInfo, ReadModelDeclaration } from './model';

/*
 * A rebuild's fold: one organisation's whole log, in position order, into the rows of every read model's
 * history table, as COPY text. Nothing is read back and nothing is updated: a version is written once it
 * has ended (its valid_to is the position of the document's next version), and the open versions when the
 * organisation's log is done. The current tables are then the open versions (src/rebuild.ts copies them
 * in SQL). Memory holds one open version per document of the organisation (none for immutable read models,
 * whose rows are final at once).
 */

const ESCAPE = /[\\\t\n\r]/;
const escaped = (text: string): string =>
  ESCAPE.test(text) ? text.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : text;

/** A document's instants are the same Date objects version after version: each is written once. */
const isoTexts = new WeakMap<Date, string>();
function iso(date: Date): string {
  let text = isoTexts.get(date);
  if (text === undefined) {
    text = date.toISOString();
    isoTexts.set(date, text);
  }
  return text;
}

/** How each column's values are written in COPY's text format: \N for null, backslash escapes where text may need them. */
function encoderOf(column: ColumnInfo): (value: unknown) => string {
  switch (column.sql) {
    case 'timestamptz':
      return (v) => (v === null || v === undefined ? '\\N' : v instanceof Date ? iso(v) : escaped(String(v)));
    case 'jsonb':
      return (v) => (v === null || v === undefined ? '\\N' : escaped(JSON.stringify(v)));
    case 'boolean':
      return (v) => (v === null || v === undefined ? '\\N' : v ? 't' : 'f');
    case 'text':
      return (v) => (v === null || v === undefined ? '\\N' : escaped(String(v)));
    default:
      // Numbers: no character of theirs needs escaping.
      return (v) => (v === null || v === undefined ? '\\N' : String(v));
  }
}

const encoders = new WeakMap<ReadModelDeclaration, { property: string; encode: (value: unknown) => string }[]>();

function copyLine(model: ReadModelDeclaration, doc: Doc): string {
  let columns = encoders.get(model);
  if (columns === undefined) {
    columns = model.columns.map((c) => ({ property: c.property, encode: encoderOf(c) }));
    encoders.set(model, columns);
  }
  const values = doc as unknown as Record<string, unknown>;
  const fields = new Array<string>(columns.length);
  for (let i = 0; i < columns.length; i += 1) {
    const column = columns[i] as { property: string; encode: (value: unknown) => string };
    fields[i] = column.encode(values[column.property]);
  }
  return fields.join('\t');
}

const span = (from: number, to: number | null): string => `\t${from}\t${to === null ? '\\N' : to}`;

/** Rows for one table, in COPY text format (a line each, ending in a newline). */
export interface CopyRows {
  table: string;
  /** The columns, in the order the lines hold them. */
  columns: string[];
  lines: string[];
}

interface Open {
  doc: Doc;
  from: number;
}

export class BulkFold {
  private readonly open = new Map<string, Map<string, Open>>();
  private readonly pending = new Map<string, string[]>();
  private pendingCount = 0;
  private pendingChars = 0;

  constructor(private readonly models: readonly ReadModelDeclaration[]) {
    for (const model of models) {
      this.open.set(model.name, new Map());
      this.pending.set(model.history, []);
    }
  }

  /** Lines waiting to be copied, in all tables. */
  get size(): number {
    return this.pendingCount;
  }

  /** Characters waiting to be copied (retrospectives can be large: a bound on lines alone is not one on memory). */
  get chars(): number {
    return this.pendingChars;
  }

  private push(table: string, line: string): void {
    this.pending.get(table)?.push(`${line}\n`);
    this.pendingCount += 1;
    this.pendingChars += line.length + 1;
  }

  /** Folds one organisation's events, in position order. */
  apply(events: readonly RecordedEvent[]): void {
    for (const model of this.models) {
      const open = this.open.get(model.name) as Map<string, Open>;
      for (const event of events) {
        if (!model.handles.has(event.type)) continue;
        const key = model.key(event);
        if (model.immutable) {
          const doc = model.evolve(null, event);
          if (doc === null) continue;
          const line = copyLine(model, doc);
          this.push(model.history, line + span(event.position, null));
          continue;
        }
        const before = open.get(key);
        const after = model.evolve(before?.doc ?? null, event);
        if (after === (before?.doc ?? null)) continue;
        if (before !== undefined) this.push(model.history, copyLine(model, before.doc) + span(before.from, event.position));
        if (after === null) open.delete(key);
        else open.set(key, { doc: after, from: event.position });
      }
    }
  }

  /** Ends the organisation: its open versions join the rows to copy. */
  endOrganisation(): void {
    for (const model of this.models) {
      const open = this.open.get(model.name) as Map<string, Open>;
      for (const { doc, from } of open.values()) {
        const line = copyLine(model, doc);
        this.push(model.history, line + span(from, null));
      }
      open.clear();
    }
  }

  /** Takes the rows waiting to be copied, history table by history table. */
  drain(tableOf: (table: string) => string): CopyRows[] {
    const out: CopyRows[] = [];
    for (const model of this.models) {
      const columns = model.columns.map((c) => c.name);
      const lines = this.pending.get(model.history) as string[];
      if (lines.length > 0) out.push({ table: tableOf(model.history), columns: [...columns, 'valid_from', 'valid_to'], lines: lines.splice(0) });
    }
    this.pendingCount = 0;
    this.pendingChars = 0;
    return out;
  }
}
