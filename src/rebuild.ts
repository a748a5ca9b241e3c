import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { EventStore } from '../events/store';
import { INLINE_PROJECTIONS, applyToTables, historyTableOf, type Binding } from '../projections/persist';
import type { Sql } from '../events/sql';
import { sqlOf } from '../projections/sql';

/*
 * `npm run okr -- projections rebuild [name...]`: recomputes inline read-model tables from the log.
 *
 * The log is the truth and the tables are folds of it, so a rebuild empties the selected tables and
 * folds the whole log into them again, through the same `applyToTables` the write path uses (one
 * organisation's log at a time, in position order). Use it after a projection's code changes, after a
 * migration that adds columns it can only guess (see Migration20261121000003History), or to repair.
 */

/** The projection names a rebuild accepts, in INLINE_PROJECTIONS order. */
export const PROJECTION_NAMES: readonly string[] = INLINE_PROJECTIONS.map((b) => b.projection.name);

export const DEFAULT_REBUILD_BATCH_SIZE = 2000;

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
  /** Projection names (see PROJECTION_NAMES); every inline projection when absent or empty. */
  names?: readonly string[];
  /**
   * Called once the lock is held and the tables are emptied (done = 0), then after every batch.
   * `total` is the number of events in every organisation's log. If it returns a promise, the rebuild waits for it.
   */
  onProgress?: (done: number, total: number) => void | Promise<void>;
  /** Events read and folded per step (default 2000). */
  batchSize?: number;
  /** Runs in the rebuild's transaction just before it commits (e.g. to clear a pending-rebuild record). */
  beforeCommit?: (sql: Sql) => Promise<void>;
  /** Checked once this rebuild holds the rebuild lock: false skips it (another did the work meanwhile). */
  onlyIf?: (sql: Sql) => Promise<boolean>;
}

export interface RebuildSummary {
  /** The projections rebuilt, in INLINE_PROJECTIONS order. */
  projections: string[];
  /** Their tables, with the number of rows each holds after the rebuild. */
  tables: { name: string; rows: number }[];
  /** Events replayed (every organisation's whole log). */
  events: number;
  /** The sum of the organisations' head positions the rebuild is consistent with (= events). */
  headPosition: number;
  elapsedMs: number;
}

/** The selected bindings, in INLINE_PROJECTIONS order; throws UnknownProjectionError on a bad name. */
export function selectBindings(names: readonly string[] = []): Binding[] {
  const unknown = [...new Set(names.filter((n) => !PROJECTION_NAMES.includes(n)))];
  if (unknown.length > 0) throw new UnknownProjectionError(unknown);
  if (names.length === 0) return [...INLINE_PROJECTIONS];
  return INLINE_PROJECTIONS.filter((b) => names.includes(b.projection.name));
}

const quoteIdentifier = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * Rebuilds the selected projections' tables from the whole log and returns what it did.
 *
 * All selected tables are rebuilt in ONE transaction and in ONE pass over the log. That is the simplest
 * correct choice: readers keep seeing the old, complete tables until the commit (DELETE, unlike
 * TRUNCATE, is MVCC-safe and takes no lock that blocks readers), and then see the new ones at once,
 * never a half-built table. A failure rolls everything back and leaves the old tables as they were.
 * The price is one long transaction, holding the log head (below) for the whole rebuild.
 */
export async function rebuildProjections(orm: MikroORM, options: RebuildOptions = {}): Promise<RebuildSummary> {
  const bindings = selectBindings(options.names);
  const batchSize = options.batchSize ?? DEFAULT_REBUILD_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive whole number (got ${batchSize}).`);
  const store = new EventStore();
  const started = performance.now();
  // Each read model's table and its history (every version of every document, by log position).
  const tableNames = bindings.flatMap((b) => {
    const table = orm.getMetadata().get(b.entity).tableName;
    return [table, historyTableOf(table)];
  });

  const summary = await orm.em.fork().transactional(async (em: EntityManager): Promise<RebuildSummary> => {
    const sql = sqlOf(em);
    // Concurrent writers: every append takes its organisation's okr_log_heads row (inserting it for an
    // organisation's first event) as the step that hands out positions, and only then folds its events into
    // the read models (events/store.ts, src/ledger.ts). Locking the heads table in SHARE mode waits for the
    // appends in flight to commit and makes every new append queue behind the rebuild until it commits.
    // Once we hold it, every event up to each head is committed (positions are gap-free and commit-ordered)
    // and visible to the statements below, and nothing new can be appended: the replay sees exactly the
    // logs up to their heads, and an append that was waiting folds its events into the rebuilt tables
    // afterwards. So no event is missed or applied twice. Readers are never blocked; appends wait for the
    // whole rebuild, which is the price of this simplicity.
    // One rebuild at a time (two would fold the same events into the same tables).
    await sql.query("SELECT pg_advisory_xact_lock(hashtext('okr-ledger projections rebuild'))");
    if (options.onlyIf && !(await options.onlyIf(sql))) {
      return { projections: [], tables: [], events: 0, headPosition: 0, elapsedMs: 0 };
    }
    await sql.query('LOCK TABLE okr_log_heads IN SHARE MODE');
    const heads = await sql.query<{ organisation_id: string; position: string }>(
      'SELECT organisation_id, position FROM okr_log_heads ORDER BY organisation_id',
    );
    const total = heads.reduce((sum, h) => sum + Number(h.position), 0);

    for (const table of tableNames) await sql.query(`DELETE FROM ${quoteIdentifier(table)}`);
    await options.onProgress?.(0, total);

    let done = 0;
    for (const head of heads) {
      let replayed = 0;
      for await (const page of store.stream(sql, { organisationId: head.organisation_id }, batchSize)) {
        await applyToTables(em, page, bindings);
        replayed += page.length;
        done += page.length;
        await options.onProgress?.(done, total);
      }
      if (replayed !== Number(head.position)) {
        // Gap-free positions and the held heads make this impossible; refuse to commit if it happens.
        throw new Error(`Replayed ${replayed} events of ${head.organisation_id} but its log head is at ${head.position}; nothing was changed.`);
      }
    }

    await options.beforeCommit?.(sql);
    const tables: RebuildSummary['tables'] = [];
    for (const table of tableNames) {
      const [count] = await sql.query<{ n: string }>(`SELECT count(*) AS n FROM ${quoteIdentifier(table)}`);
      tables.push({ name: table, rows: Number(count?.n ?? 0) });
    }
    return {
      projections: bindings.map((b) => b.projection.name),
      tables,
      events: done,
      headPosition: total,
      elapsedMs: 0,
    };
  });
  // Measured after the commit, which is part of the work.
  return { ...summary, elapsedMs: performance.now() - started };
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
  const label = selectBindings(options.names).map((b) => b.projection.name).join(', ');
  io.err(`Rebuilding ${label}; appends wait until the rebuild commits...\n`);
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
