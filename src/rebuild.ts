import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { RecordedEvent } from '../events/catalogue';
import { EventStore } from '../events/store';
import { INLINE_PROJECTIONS, applyToTables, type Binding } from '../projections/persist';
import { sqlOf } from './database';

/*
 * `npm run okr -- projections rebuild [name...]`: recomputes inline read-model tables from the log.
 *
 * The log is the truth and the tables are folds of it, so a rebuild empties the selected tables and
 * folds the whole log into them again, through the same `applyToTables` the write path uses (events of
 * one organisation at a time, in log order). Use it after a projection's code changes, after a
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
   * `total` is the number of events in the log. If it returns a promise, the rebuild waits for it.
   */
  onProgress?: (done: number, total: number) => void | Promise<void>;
  /** Events read and folded per step (default 2000). */
  batchSize?: number;
}

export interface RebuildSummary {
  /** The projections rebuilt, in INLINE_PROJECTIONS order. */
  projections: string[];
  /** Their tables, with the number of rows each holds after the rebuild. */
  tables: { name: string; rows: number }[];
  /** Events replayed (the whole log). */
  events: number;
  /** The log's head position the rebuild is consistent with. */
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

/** Splits a page of the log into runs per organisation, each still in log order. */
function byOrganisation(events: readonly RecordedEvent[]): RecordedEvent[][] {
  const groups = new Map<string, RecordedEvent[]>();
  for (const event of events) {
    const organisationId = event.metadata.organisationId;
    const group = groups.get(organisationId);
    if (group) group.push(event);
    else groups.set(organisationId, [event]);
  }
  return [...groups.values()];
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
  const tableNames = bindings.map((b) => orm.getMetadata().get(b.entity).tableName);

  const summary = await orm.em.fork().transactional(async (em: EntityManager): Promise<RebuildSummary> => {
    const sql = sqlOf(em);
    // Concurrent writers: every append updates the single okr_log_head row as the step that hands out
    // positions, and only then folds its events into the read models (events/store.ts, src/ledger.ts).
    // Taking that row FOR UPDATE first makes appends queue behind the rebuild until it commits. Once we
    // hold it, every event up to the head is committed (positions are gap-free and commit-ordered) and
    // visible to the statements below, and nothing new can be appended: the replay sees exactly the log
    // up to `head`, and an append that was waiting folds its events into the rebuilt tables afterwards.
    // So no event is missed or applied twice. Readers are never blocked; appends wait for the whole rebuild
    // (about 15,000 events/s: a minute for a million-event log), which is the price of this simplicity.
    const [head] = await sql.query<{ position: string }>('SELECT position FROM okr_log_head WHERE id = 1 FOR UPDATE');
    if (head === undefined) throw new Error('okr_log_head has no row: the database is not migrated.');
    const total = Number(head.position);

    for (const table of tableNames) await sql.query(`DELETE FROM ${quoteIdentifier(table)}`);
    await options.onProgress?.(0, total);

    let done = 0;
    for await (const page of store.stream(sql, {}, batchSize)) {
      for (const group of byOrganisation(page)) await applyToTables(em, group, bindings);
      done += page.length;
      await options.onProgress?.(done, total);
    }
    if (done !== total) {
      // Gap-free positions and the held head row make this impossible; refuse to commit if it happens.
      throw new Error(`Replayed ${done} events but the log head is at ${total}; nothing was changed.`);
    }

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
