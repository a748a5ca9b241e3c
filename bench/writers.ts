/**
 * Writers recording check-ins through the full command path (Commands.recordCheckIn through the
 * Ledger), each on its own key result, one command after another, for a fixed time: the loop of the
 * write scenarios in bench/run.ts and bench/organisations.ts.
 */
import { Client } from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { ConcurrencyError } from '../events/errors';
import type { Sql } from '../events/sql';
import { EventStore, type AppendRequest, type StreamRead } from '../events/store';
import { Commands } from '../src/commands';
import { sqlOf } from '../src/database';
import { Ledger } from '../src/ledger';
import { cpuSample, cpuSince, type CpuReport } from './cpu';
import { actorOf, checkInInput } from './fixtures';
import { mean, round, summarise, type LatencySummary } from './stats';

/** What one recordCheckIn spent where (milliseconds), measured around the store's own calls. */
export interface CommandTiming {
  totalMs: number;
  /** The stream reads of decide (key result, objective, quarter), sequential, outside the transaction. */
  readMs: number;
  reads: number;
  /** Inside the transaction, before the head row: stream-version UPDATE and the guards' FOR SHARE. */
  preHeadMs: number;
  /**
   * From taking the organisation's head row (lock wait included) to the end of the statement that
   * writes the head's frontier, the tree's new nodes and the events: two statements.
   */
  headMs: number;
  /** From the head statement's end to the command's return: inline projections and COMMIT. */
  afterHeadMs: number;
  /** The stream version the check-in was appended at (the key result's stream length after it). */
  version: number;
}

/**
 * The real EventStore with stopwatches around readStream and around each statement of append.
 * Same SQL, same order: only performance.now() calls are added.
 */
export class TimedEventStore extends EventStore {
  current: { reads: number; readMs: number; preHeadMs: number; headStart: number; headEnd: number } | null = null;
  appendAttempts = 0;
  conflicts = 0;

  override async readStream(
    sql: Sql,
    organisationId: string,
    streamId: string,
    options: { skipTypes?: readonly string[] } = {},
  ): Promise<StreamRead> {
    const t0 = performance.now();
    const result = await super.readStream(sql, organisationId, streamId, options);
    if (this.current) {
      this.current.readMs += performance.now() - t0;
      this.current.reads += 1;
    }
    return result;
  }

  override async append(sql: Sql, request: AppendRequest) {
    this.appendAttempts += 1;
    const current = this.current;
    const timed: Sql = {
      query: async <T>(text: string, params?: readonly unknown[]) => {
        const t0 = performance.now();
        const rows = await sql.query<T>(text, params);
        const t1 = performance.now();
        if (current) {
          // The head phase runs from taking the organisation's head row (lock wait included) to the
          // statement that writes the frontier, the tree nodes and the events.
          if (text.includes('INSERT INTO okr_log_heads')) {
            current.headStart = t0;
            current.headEnd = t1;
          } else if (text.includes('WITH head AS')) {
            current.headEnd = t1;
          } else {
            current.preHeadMs += t1 - t0;
          }
        }
        return rows;
      },
    };
    try {
      return await super.append(timed, request);
    } catch (error) {
      if (error instanceof ConcurrencyError) this.conflicts += 1;
      throw error;
    }
  }
}

/** This database's backends and the cluster's background processes (not other databases' sessions). */
export async function postgresPids(db: MikroORM | Client): Promise<Set<number>> {
  const text = `SELECT pid FROM pg_stat_activity WHERE datname = current_database() OR backend_type <> 'client backend'`;
  const rows = db instanceof Client ? (await db.query<{ pid: number }>(text)).rows : await sqlOf(db.em.fork()).query<{ pid: number }>(text);
  return new Set(rows.map((r) => Number(r.pid)));
}

/** One writer: the organisation it acts in and the key result it checks in on. */
export interface WriterTarget {
  organisationId: string;
  keyResultId: string;
}

export interface WriterRun {
  writers: number;
  organisations: number;
  events: number;
  seconds: number;
  eventsPerSecond: number;
  latency: LatencySummary;
  /** Null where /proc is not available. */
  cpu: CpuReport | null;
  appendAttempts: number;
  conflictsRetried: number;
  timings: CommandTiming[];
}

/** Runs one writer per target for `durationMs` (and at most `maxOps` commands each), all at once. */
export async function runWriters(orm: MikroORM, targets: readonly WriterTarget[], durationMs: number, maxOps: number): Promise<WriterRun> {
  const writers = targets.length;
  const timings: CommandTiming[][] = Array.from({ length: writers }, () => []);
  const stores: TimedEventStore[] = [];
  const cpuStart = await cpuSample();
  const deadlineFrom = performance.now();
  const deadline = deadlineFrom + durationMs;
  const ends: number[] = [];
  await Promise.all(
    targets.map(async ({ organisationId, keyResultId }, w) => {
      const store = new TimedEventStore();
      stores.push(store);
      const ledger = new Ledger(orm, () => new Date(), store);
      const commands = new Commands(ledger, actorOf(organisationId, `bench-writer-${w}`));
      for (let i = 0; i < maxOps && performance.now() < deadline; i += 1) {
        store.current = { reads: 0, readMs: 0, preHeadMs: 0, headStart: Number.NaN, headEnd: Number.NaN };
        const t0 = performance.now();
        const outcome = await commands.recordCheckIn(checkInInput(keyResultId, i));
        const t1 = performance.now();
        const c = store.current;
        const recorded = outcome.events[0];
        if (recorded === undefined) throw new Error('recordCheckIn appended nothing');
        timings[w]?.push({
          totalMs: t1 - t0,
          readMs: c.readMs,
          reads: c.reads,
          preHeadMs: c.preHeadMs,
          headMs: c.headEnd - c.headStart,
          afterHeadMs: t1 - c.headEnd,
          version: recorded.version,
        });
      }
      ends.push(performance.now());
    }),
  );
  const elapsedMs = Math.max(...ends) - deadlineFrom;
  const cpu = await cpuSince(cpuStart, await postgresPids(orm));
  const all = timings.flat();
  return {
    writers,
    organisations: new Set(targets.map((t) => t.organisationId)).size,
    events: all.length,
    seconds: round(elapsedMs / 1000, 3),
    eventsPerSecond: round(all.length / (elapsedMs / 1000), 1),
    latency: summarise(all.map((t) => t.totalMs)),
    cpu,
    appendAttempts: stores.reduce((s, x) => s + x.appendAttempts, 0),
    conflictsRetried: stores.reduce((s, x) => s + x.conflicts, 0),
    timings: all,
  };
}

export interface PhaseMeans {
  total: number;
  streamReads: number;
  preHead: number;
  headStatement: number;
  afterHead: number;
  other: number;
}

/** Mean milliseconds per command by phase (see CommandTiming). */
export function meanPhases(timings: readonly CommandTiming[]): PhaseMeans {
  const phase = (f: (t: CommandTiming) => number) => round(mean(timings.map(f)), 3);
  const total = phase((t) => t.totalMs);
  const streamReads = phase((t) => t.readMs);
  const preHead = phase((t) => t.preHeadMs);
  const headStatement = phase((t) => t.headMs);
  const afterHead = phase((t) => t.afterHeadMs);
  return { total, streamReads, preHead, headStatement, afterHead, other: round(total - streamReads - preHead - headStatement - afterHead, 3) };
}
