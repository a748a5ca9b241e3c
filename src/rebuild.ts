import { once } from 'node:events';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { RecordedEvent } from '../events/catalogue';
import { EventStore } from '../events/store';
import { textArray, type Sql } from '../events/sql';
import type { Doc } from '../projections/docs';
import { BulkFold, type CopyRows } from '../projections/bulk';
import type { ReadModelDeclaration } from '../projections/model';
import { ALL_READ_MODELS } from '../projections/models';
import { applyToTables } from '../projections/persist';
import { sqlOfClient } from './clientSql';
import { databaseUrlOf } from './databaseUrl';

/*
 * `npm run okr -- projections rebuild [name...]`: recomputes read-model tables (and their history
 * tables) from the log.
 *
 * The log is the truth and the tables are folds of it, so a rebuild folds every organisation's whole log
 * through the read models' declarations into new tables beside the live ones, and puts them in place of
 * the old ones. Use it after a read model's code changes, after a migration that adds columns it can only
 * guess, or to repair.
 */

/** The projection names a rebuild accepts, in the registry's order. */
export const PROJECTION_NAMES: readonly string[] = ALL_READ_MODELS.map((m) => m.name);

export const DEFAULT_REBUILD_BATCH_SIZE = 5000;

export class UnknownProjectionError extends Error {
  constructor(
    readonly unknown: readonly string[],
    readonly valid: readonly string[] = PROJECTION_NAMES,
  ) {
    super(
      `Unknown projection${unknown.length === 1 ? '' : 's'} ${unknown.map((n) => `"${n}"`).join(', ')}; ` +
        `the projections are: ${valid.join(', ')}.`,
    );
    this.name = 'UnknownProjectionError';
  }
}

export interface RebuildOptions {
  /** Projection names (see PROJECTION_NAMES); every read model when absent or empty. */
  names?: readonly string[];
  /**
   * Called once the new tables exist (done = 0), then after every batch. `total` is the number of
   * events in every organisation's log. If it returns a promise, the rebuild waits for it.
   */
  onProgress?: (done: number, total: number) => void | Promise<void>;
  /** Events read and folded per step (default 5000). */
  batchSize?: number;
  /** Runs in the rebuild's transaction just before it commits (e.g. to clear a pending-rebuild record). */
  beforeCommit?: (sql: Sql) => Promise<void>;
  /** Checked once this rebuild holds the rebuild lock: false skips it (another did the work meanwhile). */
  onlyIf?: (sql: Sql) => Promise<boolean>;
}

export interface RebuildSummary {
  /** The projections rebuilt, in the registry's order. */
  projections: string[];
  /** Their tables, with the number of rows each holds after the rebuild. */
  tables: { name: string; rows: number }[];
  /** Events folded (every organisation's whole log). */
  events: number;
  /** The sum of the organisations' head positions the rebuild is consistent with (= events). */
  headPosition: number;
  elapsedMs: number;
  /** How long appends were held for the last catch-up and the swap (ms). */
  lockedMs?: number;
}

/** The selected read models, in the registry's order; throws UnknownProjectionError on a bad name. */
export function selectModels(names: readonly string[] = []): ReadModelDeclaration<Doc>[] {
  const unknown = [...new Set(names.filter((n) => !PROJECTION_NAMES.includes(n)))];
  if (unknown.length > 0) throw new UnknownProjectionError(unknown);
  if (names.length === 0) return [...ALL_READ_MODELS];
  return ALL_READ_MODELS.filter((m) => names.includes(m.name));
}

const quoteIdentifier = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Where a table is rebuilt before it replaces the live one. */
const shadowOf = (table: string): string => `${table}__rebuild`;

/** Catch-up rounds while appends go on, and what may be left for the short lock. */
const MAX_CATCH_UP_ROUNDS = 20;
const CATCH_UP_TAIL = 500;

/** Rows, and characters, gathered before they are copied into the new tables. */
const COPY_BATCH_ROWS = 50_000;
const COPY_BATCH_CHARS = 32 * 1024 * 1024;

/** An index definition without its own and its table's names, to pair an index with its copy. */
const indexShape = (definition: string): string => definition.replace(/^CREATE (UNIQUE )?INDEX \S+ ON \S+/, 'CREATE $1INDEX ON');

/** Longest wait for the live tables' exclusive locks once appends are held (a long reader must not hold them up). */
const SWAP_LOCK_TIMEOUT_MS = 500;

export class RebuildRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RebuildRefusedError';
  }
}

/** A table's indexes, with their definitions. */
const indexesOf = (sql: Sql, table: string) =>
  sql.query<{ name: string; definition: string; primary: boolean }>(
    `SELECT i.relname AS name, pg_get_indexdef(i.oid) AS definition, x.indisprimary AS primary
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = ?::regclass`,
    [table],
  );

/**
 * Gives a new table the live one's primary key and indexes, built once its rows are in (one sort each,
 * instead of an index update per row).
 */
async function indexLike(sql: Sql, live: string, shadow: string): Promise<void> {
  for (const index of await indexesOf(sql, live)) {
    if (index.primary) {
      const [key] = await sql.query<{ definition: string }>(
        `SELECT pg_get_constraintdef(c.oid) AS definition FROM pg_constraint c WHERE c.conrelid = ?::regclass AND c.contype = 'p'`,
        [live],
      );
      if (key !== undefined) await sql.query(`ALTER TABLE ${quoteIdentifier(shadow)} ADD ${key.definition}`);
    } else {
      await sql.query(indexShape(index.definition).replace(/^CREATE (UNIQUE )?INDEX ON/, `CREATE $1INDEX ON ${quoteIdentifier(shadow)}`));
    }
  }
}

/**
 * Puts the rebuilt table in place of the live one, keeping the live one's index (and so constraint)
 * names, which later migrations refer to, and the privileges granted on it. Takes the table's lock for
 * the rest of the transaction.
 */
async function swap(sql: Sql, table: string): Promise<void> {
  const grants = await sql.query<{ grantee: string; privilege: string; grantable: string }>(
    `SELECT grantee, privilege_type AS privilege, is_grantable AS grantable FROM information_schema.role_table_grants
      WHERE table_schema = current_schema() AND table_name = ? AND grantee <> current_user`,
    [table],
  );
  const names = new Map((await indexesOf(sql, table)).map((i) => [indexShape(i.definition), i.name]));
  await sql.query(`DROP TABLE ${quoteIdentifier(table)}`);
  await sql.query(`ALTER TABLE ${quoteIdentifier(shadowOf(table))} RENAME TO ${quoteIdentifier(table)}`);
  for (const index of await indexesOf(sql, table)) {
    const original = names.get(indexShape(index.definition));
    if (original !== undefined && original !== index.name) await sql.query(`ALTER INDEX ${quoteIdentifier(index.name)} RENAME TO ${quoteIdentifier(original)}`);
  }
  for (const g of grants) {
    const grantee = g.grantee === 'PUBLIC' ? 'PUBLIC' : quoteIdentifier(g.grantee);
    await sql.query(`GRANT ${g.privilege} ON ${quoteIdentifier(table)} TO ${grantee}${g.grantable === 'YES' ? ' WITH GRANT OPTION' : ''}`);
  }
}

/** The rebuild replaces tables, which only their owner may do: refuse at once, not after the build. */
async function assertOwner(sql: Sql, tables: readonly string[]): Promise<void> {
  const others = await sql.query<{ table: string; owner: string }>(
    `SELECT tablename AS "table", tableowner AS owner FROM pg_tables
      WHERE schemaname = current_schema() AND tablename = ANY(?::text[]) AND tableowner <> current_user`,
    [textArray(tables)],
  );
  const first = others[0];
  if (first !== undefined) {
    throw new RebuildRefusedError(
      `The read-model table ${first.table} belongs to ${first.owner}: run the rebuild as that role (the one that runs the migrations); nothing was changed.`,
    );
  }
}

/** Copies rows into their tables, one COPY per table, on the writer's connection. */
async function copyRows(client: Client, batches: readonly CopyRows[]): Promise<void> {
  for (const { table, columns, lines } of batches) {
    const stream = client.query(copyFrom(`COPY ${quoteIdentifier(table)} (${columns.map(quoteIdentifier).join(', ')}) FROM STDIN`));
    const done = once(stream, 'finish');
    // Chunks of at most a few thousand lines and about a megabyte keep each write a modest string.
    let chunk: string[] = [];
    let chars = 0;
    for (const line of lines) {
      chunk.push(line);
      chars += line.length;
      if (chunk.length >= 5000 || chars >= 1024 * 1024) {
        if (!stream.write(chunk.join(''))) await Promise.race([once(stream, 'drain'), done]);
        chunk = [];
        chars = 0;
      }
    }
    stream.end(chunk.join(''));
    await done;
  }
}

/**
 * Rebuilds the selected read models' tables (and their history tables) from every organisation's log,
 * online: the new tables are built beside the live ones (`<table>__rebuild`) while readers and appends
 * go on using the live ones. The bulk of the log is folded in memory (projections/bulk.ts) one
 * organisation at a time and its versions COPYed into the new history tables; the current tables are
 * their open versions (one INSERT ... SELECT each); all get their indexes after. The log is read on a
 * second connection meanwhile. The build then catches up with what was appended since, round after
 * round, until little is left; only then are appends held (a SHARE lock on the head rows, which also
 * waits for appends in flight), the last events folded and the tables swapped (renames, in the same
 * transaction). Appends wait for that last step only (RebuildSummary.lockedMs). A failure rolls
 * everything back, leaving the live tables as they were.
 */
export async function rebuildProjections(orm: MikroORM, options: RebuildOptions = {}): Promise<RebuildSummary> {
  const models = selectModels(options.names);
  const batchSize = options.batchSize ?? DEFAULT_REBUILD_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive whole number (got ${batchSize}).`);
  const store = new EventStore();
  const started = performance.now();
  const tableNames = models.flatMap((m) => [m.table, m.history]);
  const url = databaseUrlOf(orm);
  const writer = new Client({ connectionString: url });
  const reader = new Client({ connectionString: url });
  await writer.connect();
  try {
    await reader.connect();
    const sql = sqlOfClient(writer);
    const readSql = sqlOfClient(reader);
    let lockedMs = 0;
    await sql.query('BEGIN');
    try {
      // One rebuild at a time (two would fold the same events into the same tables).
      await sql.query("SELECT pg_advisory_xact_lock(hashtext('okr-ledger projections rebuild'))");
      if (options.onlyIf && !(await options.onlyIf(sql))) {
        await sql.query('ROLLBACK');
        return { projections: [], tables: [], events: 0, headPosition: 0, elapsedMs: 0, lockedMs: 0 };
      }
      await assertOwner(sql, tableNames);
      await sql.query("SET LOCAL maintenance_work_mem = '256MB'");
      // The new tables, without indexes until their rows are in.
      for (const table of tableNames) {
        await sql.query(`DROP TABLE IF EXISTS ${quoteIdentifier(shadowOf(table))}`);
        await sql.query(`CREATE TABLE ${quoteIdentifier(shadowOf(table))} (LIKE ${quoteIdentifier(table)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
      }
      const done = new Map<string, number>();
      let total = 0;
      let folded = 0;
      const heads = async () => {
        const rows = await sql.query<{ organisation_id: string; position: string }>('SELECT organisation_id, position FROM okr_log_heads ORDER BY organisation_id');
        total = rows.reduce((sum, h) => sum + Number(h.position), 0);
        return rows.map((h) => ({ organisation: h.organisation_id, upTo: Number(h.position) }));
      };
      /** Reads an organisation's events after `after` up to `upTo`, a page ahead of the fold. */
      async function* pages(read: Sql, organisationId: string, after: number, upTo: number): AsyncGenerator<RecordedEvent[]> {
        const iterator = store.stream(read, { organisationId, after, before: upTo + 1 }, batchSize)[Symbol.asyncIterator]();
        let next = iterator.next();
        for (;;) {
          const page = await next;
          if (page.done) return;
          next = iterator.next();
          yield page.value;
        }
      }

      // The bulk: every organisation's log up to its head now, folded in memory and copied.
      const start = await heads();
      await options.onProgress?.(0, total);
      const fold = new BulkFold(models);
      // One COPY runs while the fold goes on; its failure is kept and thrown at the next flush (never left unhandled).
      let copying: Promise<void> = Promise.resolve();
      let copyFailed: { error: unknown } | null = null;
      const flush = async () => {
        await copying;
        if (copyFailed !== null) throw copyFailed.error;
        copying = copyRows(writer, fold.drain(shadowOf)).catch((error: unknown) => {
          copyFailed = { error };
        });
      };
      for (const { organisation, upTo } of start) {
        if (upTo === 0) continue;
        for await (const page of pages(readSql, organisation, 0, upTo)) {
          fold.apply(page);
          done.set(organisation, page[page.length - 1]?.position ?? 0);
          folded += page.length;
          if (fold.size >= COPY_BATCH_ROWS || fold.chars >= COPY_BATCH_CHARS) await flush();
          await options.onProgress?.(folded, total);
        }
        fold.endOrganisation();
        if ((done.get(organisation) ?? 0) !== upTo) {
          throw new Error(`Rebuilt ${organisation} up to ${done.get(organisation) ?? 0} but its log head is at ${upTo}; nothing was changed.`);
        }
      }
      await flush();
      await copying;
      if (copyFailed !== null) throw (copyFailed as { error: unknown }).error;
      // A document's current row is its open version: the current tables are filled from the history ones.
      for (const model of models) {
        const columns = model.columns.map((c) => quoteIdentifier(c.name)).join(', ');
        await sql.query(
          `INSERT INTO ${quoteIdentifier(shadowOf(model.table))} (${columns})
           SELECT ${columns} FROM ${quoteIdentifier(shadowOf(model.history))} WHERE valid_to IS NULL`,
        );
      }
      for (const table of tableNames) {
        await indexLike(sql, table, shadowOf(table));
        await sql.query(`ANALYZE ${quoteIdentifier(shadowOf(table))}`);
      }

      /** Folds every organisation's events after what is done, up to its head now, as appends do; returns how many. */
      const catchUp = async (): Promise<number> => {
        let count = 0;
        for (const { organisation, upTo } of await heads()) {
          const after = done.get(organisation) ?? 0;
          if (upTo <= after) continue;
          // Statements of this transaction see what committed before each began (READ COMMITTED), and an
          // organisation's positions are gap-free and commit-ordered: everything up to its head is there.
          for await (const page of pages(sql, organisation, after, upTo)) {
            await applyToTables(sql, page, models, shadowOf);
            done.set(organisation, page[page.length - 1]?.position ?? after);
            count += page.length;
            folded += page.length;
            await options.onProgress?.(folded, total);
          }
          if ((done.get(organisation) ?? 0) !== upTo) {
            throw new Error(`Rebuilt ${organisation} up to ${done.get(organisation) ?? 0} but its log head is at ${upTo}; nothing was changed.`);
          }
        }
        return count;
      };
      // Catch up with what was appended meanwhile until little is left.
      for (let round = 0; round < MAX_CATCH_UP_ROUNDS; round += 1) {
        if ((await catchUp()) <= CATCH_UP_TAIL) break;
      }
      // The short part: appends of every organisation wait (SHARE conflicts with the head rows' updates, and
      // waits for appends in flight to commit) while the last events are folded and the tables are swapped.
      // An append that was waiting folds its events into the new tables after the commit: none is missed or
      // folded twice.
      // Appends wait from the moment this lock is asked for (it queues ahead of them), not only once granted.
      const lockedAt = performance.now();
      await sql.query('LOCK TABLE okr_log_heads IN SHARE MODE');
      await catchUp();
      // The swap needs the live tables to itself; a reader that holds one open must not make every
      // organisation's appends wait: past a short wait the rebuild gives up, changing nothing.
      await sql.query(`SET LOCAL lock_timeout = '${SWAP_LOCK_TIMEOUT_MS}ms'`);
      try {
        await sql.query(`LOCK TABLE ${tableNames.map(quoteIdentifier).join(', ')} IN ACCESS EXCLUSIVE MODE`);
      } catch (error) {
        if ((error as { code?: unknown }).code !== '55P03') throw error;
        throw new RebuildRefusedError(
          `A long-running reader held a read-model table for more than ${SWAP_LOCK_TIMEOUT_MS} ms at the swap, so the rebuild gave up and changed nothing; run it again.`,
        );
      }
      await sql.query('SET LOCAL lock_timeout = 0');
      for (const table of tableNames) await swap(sql, table);
      await options.beforeCommit?.(sql);
      await sql.query('COMMIT');
      lockedMs = performance.now() - lockedAt;
      const elapsedMs = performance.now() - started;
      // Counted once appends go on again (a count of a big history table is a scan).
      const tables: RebuildSummary['tables'] = [];
      for (const table of tableNames) {
        const [count] = await sql.query<{ n: string }>(`SELECT count(*) AS n FROM ${quoteIdentifier(table)}`);
        tables.push({ name: table, rows: Number(count?.n ?? 0) });
      }
      return {
        projections: models.map((m) => m.name),
        tables,
        events: folded,
        headPosition: total,
        // Measured after the commit, which is part of the work.
        elapsedMs,
        lockedMs,
      };
    } catch (error) {
      await sql.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  } finally {
    await reader.end().catch(() => undefined);
    await writer.end().catch(() => undefined);
  }
}

// ---- the command line's part (src/cli.ts) ------------------------------------------------------------

export interface RebuildIo {
  out(text: string): void;
  err(text: string): void;
}

/** At most this often a progress line (a few per second). */
export const PROGRESS_INTERVAL_MS = 250;

const percent = (done: number, total: number): string => (total === 0 ? '100.0' : ((done / total) * 100).toFixed(1));

/** Parses --batch-size; null when it is not a whole number from 1 to 100000. */
export function parseBatchSize(raw: string | null): number | null {
  if (raw === null) return DEFAULT_REBUILD_BATCH_SIZE;
  const value = Number(raw);
  return Number.isInteger(value) && value >= 1 && value <= 100_000 ? value : null;
}

/**
 * Rebuilds for the command line: progress lines on stderr (at most every PROGRESS_INTERVAL_MS, plus
 * the start and the end), then a summary on stdout (events, seconds, events/s, rows per table).
 */
export async function runRebuild(
  orm: MikroORM,
  options: { names?: readonly string[]; batchSize?: number },
  io: RebuildIo,
): Promise<RebuildSummary> {
  const label = selectModels(options.names).map((m) => m.name).join(', ');
  io.err(`Rebuilding ${label} beside the live tables; appends go on, and wait only for the final swap...\n`);
  let lastPrinted = -Infinity;
  let lastDone = -1;
  const summary = await rebuildProjections(orm, {
    ...options,
    onProgress(done, total) {
      const now = performance.now();
      if (done === lastDone || (done !== total && done !== 0 && now - lastPrinted < PROGRESS_INTERVAL_MS)) return;
      lastPrinted = now;
      lastDone = done;
      io.err(`rebuilding ${label}: ${done}/${total} events (${percent(done, total)}%)\n`);
    },
  });
  const seconds = summary.elapsedMs / 1000;
  const rate = seconds > 0 ? Math.round(summary.events / seconds) : summary.events;
  const width = Math.max(...summary.tables.map((t) => t.name.length));
  io.out(
    [
      `Rebuilt ${summary.projections.join(', ')} from ${summary.events} events in ${seconds.toFixed(2)} s (${rate} events/s).`,
      ...summary.tables.map((t) => `  ${t.name.padEnd(width)}  ${t.rows} rows`),
      '',
    ].join('\n'),
  );
  return summary;
}
