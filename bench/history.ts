import type { MikroORM } from '@mikro-orm/postgresql';
import { verifyLog } from '../events/audit';
import { textArray, type Sql } from '../events/sql';
import { EventStore } from '../events/store';
import { ephemeralCheckpointKeys } from '../src/checkpointKeys';
import { sqlOf } from '../src/database';
import { Ledger } from '../src/ledger';
import { rebuildProjections, type RebuildSummary } from '../src/rebuild';
import { epochNow, startAppenders, type TimedCommand } from './appenders';
import { cpuSample, cpuSince, type CpuReport } from './cpu';
import { objectiveWithKeyResults, setUpOrganisation } from './fixtures';
import { fill, HISTORY_ORG, HISTORY_ORGANISATIONS, knob, ORGS, QUARTERS, TEAMS, type FixtureQuarter } from './historyFill';
import { round, summarise, table, type LatencySummary } from './stats';
import { postgresPids, type WriterTarget } from './writers';

/*
 * History at the cost of the present (issue 10), on a log of over 1,000,000 events (bench/historyFill.ts:
 * HISTORY_ORGS organisations, default 10, of 106,260 events each):
 * - the plain sequential read of the whole log, the read a rebuild does (EventStore.stream, pages of
 *   READ_PAGE events, decoded, every organisation's log in one transaction): the limit a rebuild cannot beat;
 * - the rebuild of every inline projection and its history table (rebuildProjections) from that log, its
 *   rate beside the read's, while REBUILD_APPENDERS organisations append check-ins (Commands.recordCheckIn
 *   through the Ledger, in a worker thread with a pool of its own, bench/appenders.ts): every command's
 *   latency, before the rebuild and during it, the longest (when into the rebuild it started), and how long
 *   the rebuild says it held appends (RebuildSummary.lockedMs);
 * - `audit verify` of the first organisation's log (recomputing its Merkle tree);
 * - what the log, the tree and the read models' tables and history tables take, per 1,000,000 events.
 * The team-quarter query live and asOf on this log runs against the server process (bench/serverLoad.ts).
 */

/** The rebuild reads the log in pages of this many events (src/rebuild.ts DEFAULT_REBUILD_BATCH_SIZE today); the plain read does the same. */
const READ_PAGE = 2000;
/** Organisations appending during the rebuild, one writer each. */
const APPENDERS = knob('REBUILD_APPENDERS', 2, 16);
/**
 * Each appender starts a command every this many ms (or as soon as the last returns, when it took longer):
 * 20 a second each, a busy organisation's writes, that leave the rebuild most of the machine's 2 cores.
 * REBUILD_APPEND_INTERVAL_MS=0 sends them back to back.
 */
const APPEND_INTERVAL_MS = Number(process.env.REBUILD_APPEND_INTERVAL_MS ?? '50');
if (!Number.isInteger(APPEND_INTERVAL_MS) || APPEND_INTERVAL_MS < 0 || APPEND_INTERVAL_MS > 10_000) {
  throw new Error('REBUILD_APPEND_INTERVAL_MS must be a whole number of milliseconds in [0, 10000].');
}
/** The appenders' first second is warm-up (their ORM's pool, JIT); the next seconds, before the rebuild, are the baseline. */
const APPEND_WARMUP_MS = 1000;
const APPEND_BASELINE_MS = 3000;
const appenderOrg = (i: number) => `bench-rebuild-appender-${i + 1}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One read-model table or history table after the rebuild (and a VACUUM (ANALYZE)). */
export interface TableStorage {
  name: string;
  rows: number;
  totalBytes: number;
  tableBytes: number;
  indexBytes: number;
}

export interface AppendsDuringRebuild {
  writers: number;
  organisations: string[];
  /** 0: back to back. */
  intervalMs: number;
  /** Commands that ran before the rebuild started (after the warm-up). */
  before: LatencySummary;
  /** Commands running at any moment of the rebuild (started before its end, ended after its start). */
  during: LatencySummary;
  /** When the longest command during the rebuild started, in seconds from the rebuild's start (of rebuildSeconds). */
  longestStartedAtSeconds: number | null;
  rebuildSeconds: number;
}

export interface HistoryBench {
  events: number;
  organisations: number;
  quarters: number;
  teams: number;
  fill: { events: number; seconds: number; eventsPerSecond: number };
  /** How asOf is answered by the code measured: from the history tables, or by replaying the log (before them). */
  asOfReads: 'temporal' | 'replay';
  /** eventsPerSecond: both reads together (before and right after the rebuild), what the rebuild is compared with. */
  sequentialRead: { events: number; pageSize: number; seconds: number; eventsPerSecond: number; before: number; after: number };
  rebuild: {
    events: number;
    seconds: number;
    eventsPerSecond: number;
    /** Rebuild events/s / sequential read events/s (the issue's target: at least 0.5). */
    ofSequentialRead: number;
    /** How long the rebuild held appends, as it reports it (RebuildSummary.lockedMs); null when it does not. */
    appendsHeldMs: number | null;
    /** Null where /proc is not available. */
    cpu: CpuReport | null;
  };
  appendsDuringRebuild: AppendsDuringRebuild;
  vacuumAnalyzeSeconds: number;
  auditVerify: { organisationId: string; seconds: number; eventsPerSecond: number; ok: boolean };
  storage: {
    current: TableStorage[];
    history: TableStorage[];
    currentTotalBytes: number;
    historyTotalBytes: number;
    eventsTotalBytes: number;
    treeNodesTotalBytes: number;
    /** History tables' bytes / current tables' bytes. */
    historyOverCurrent: number;
    /** History tables' bytes / okr_events' bytes. */
    historyOverEvents: number;
    /** Bytes per 1,000,000 events of the log (every table's total, indexes and TOAST included). */
    perMillionEvents: { okrEvents: number; okrTreeNodes: number; readModels: number; historyTables: number; total: number };
  };
}

/** Where the team-quarter query looks (bench/serverLoad.ts): the first organisation's first team, in its middle quarter. */
export interface QueriedQuarter {
  organisationId: string;
  team: string;
  quarter: FixtureQuarter;
  /** Events of that quarter in that organisation's log. */
  quarterEvents: number;
}

const MIB = 1024 * 1024;
const mib = (bytes: number): string => `${(bytes / MIB).toFixed(1)} MiB`;

async function storageOf(sql: Sql, tables: readonly { name: string; rows: number }[]): Promise<TableStorage[]> {
  const sizes = await sql.query<{ name: string; total: string; heap: string; indexes: string }>(
    `SELECT t.name, pg_total_relation_size(t.name::regclass) AS total,
            pg_table_size(t.name::regclass) AS heap, pg_indexes_size(t.name::regclass) AS indexes
       FROM unnest(?::text[]) AS t(name)`,
    [textArray(tables.map((t) => t.name))],
  );
  const byName = new Map(sizes.map((r) => [r.name, r]));
  return tables.map((t) => {
    const size = byName.get(t.name);
    return { name: t.name, rows: t.rows, totalBytes: Number(size?.total ?? 0), tableBytes: Number(size?.heap ?? 0), indexBytes: Number(size?.indexes ?? 0) };
  });
}

/** The plain read of every organisation's whole log, as the rebuild reads it: pages of decoded events, one transaction. */
async function sequentialRead(orm: MikroORM): Promise<{ events: number; seconds: number }> {
  const store = new EventStore();
  const t = performance.now();
  let events = 0;
  await orm.em.fork().transactional(async (em) => {
    const sql = sqlOf(em);
    const heads = await sql.query<{ organisation_id: string }>('SELECT organisation_id FROM okr_log_heads ORDER BY organisation_id');
    for (const { organisation_id: organisationId } of heads) {
      for await (const page of store.stream(sql, { organisationId }, READ_PAGE)) events += page.length;
    }
  });
  return { events, seconds: (performance.now() - t) / 1000 };
}

/** Organisations of their own for the appenders, set up through the command path; one key result each. */
async function appenderTargets(orm: MikroORM): Promise<WriterTarget[]> {
  const ledger = new Ledger(orm, () => new Date());
  const targets: WriterTarget[] = [];
  for (let i = 0; i < APPENDERS; i += 1) {
    const fixture = await setUpOrganisation(ledger, appenderOrg(i));
    const [keyResultId] = await objectiveWithKeyResults(ledger, fixture, fixture.teamId, 'Appends during the rebuild', 1);
    if (keyResultId === undefined) throw new Error('no key result to append to');
    targets.push({ organisationId: fixture.organisationId, keyResultId });
  }
  return targets;
}

/** The rebuild of every projection while the appenders run; their commands before and during it. */
async function rebuildWhileAppending(
  orm: MikroORM,
  dbUrl: string,
  targets: WriterTarget[],
  log: (line: string) => void,
): Promise<{ summary: RebuildSummary; seconds: number; cpu: CpuReport | null; appends: AppendsDuringRebuild }> {
  const appenders = await startAppenders({ url: dbUrl, targets, intervalMs: APPEND_INTERVAL_MS });
  const goAt = epochNow();
  appenders.go();
  let commands: TimedCommand[] = [];
  let summary: RebuildSummary;
  let startedAt: number;
  let endedAt: number;
  let cpu: CpuReport | null;
  try {
    await sleep(APPEND_WARMUP_MS + APPEND_BASELINE_MS);
    log(`history: rebuilding every projection from the log while ${targets.length} organisations append`);
    const cpuStart = await cpuSample();
    let lastLogged = performance.now();
    startedAt = epochNow();
    summary = await rebuildProjections(orm, {
      onProgress(done, total) {
        if (performance.now() - lastLogged < 30_000) return;
        lastLogged = performance.now();
        log(`history: rebuilt ${done} of ${total} events (${round((epochNow() - startedAt) / 1000, 0)} s)`);
      },
    });
    endedAt = epochNow();
    cpu = await cpuSince(cpuStart, await postgresPids(orm));
  } finally {
    commands = await appenders.stop();
  }
  const before = commands.filter((c) => c.startedAt >= goAt + APPEND_WARMUP_MS && c.startedAt + c.ms <= startedAt);
  const during = commands.filter((c) => c.startedAt < endedAt && c.startedAt + c.ms > startedAt);
  const longest = during.reduce<TimedCommand | null>((a, c) => (a === null || c.ms > a.ms ? c : a), null);
  const seconds = (endedAt - startedAt) / 1000;
  return {
    summary,
    seconds,
    cpu,
    appends: {
      writers: targets.length,
      organisations: targets.map((t) => t.organisationId),
      intervalMs: APPEND_INTERVAL_MS,
      before: summarise(before.map((c) => c.ms)),
      during: summarise(during.map((c) => c.ms)),
      longestStartedAtSeconds: longest === null ? null : round((longest.startedAt - startedAt) / 1000, 2),
      rebuildSeconds: round(seconds, 2),
    },
  };
}

export async function historyBench(
  orm: MikroORM,
  dbUrl: string,
  log: (line: string) => void,
): Promise<{ results: HistoryBench; report: string; queried: QueriedQuarter }> {
  log(`history: filling the log with ${ORGS} organisation(s) x ${QUARTERS} quarters x ${TEAMS} teams of history`);
  let t = performance.now();
  let first: Awaited<ReturnType<typeof fill>> | null = null;
  let filledEvents = 0;
  for (const [i, organisationId] of HISTORY_ORGANISATIONS.entries()) {
    const one = await fill(orm, organisationId);
    first ??= one;
    filledEvents += one.events;
    if (ORGS > 1) log(`history: filled ${organisationId} (${i + 1}/${ORGS}, ${one.events} events, ${round((performance.now() - t) / 1000, 1)} s)`);
  }
  const fillSeconds = (performance.now() - t) / 1000;
  if (first === null) throw new Error('no organisation filled');
  const sql = sqlOf(orm.em.fork());
  log(`history: setting up ${APPENDERS} organisations to append during the rebuild`);
  const targets = await appenderTargets(orm);
  // As autovacuum would soon after a bulk load: the read and the rebuild both find settled pages.
  log('history: VACUUM (ANALYZE) of the log');
  for (const name of ['okr_events', 'okr_tree_nodes', 'okr_streams', 'okr_log_heads']) await sql.query(`VACUUM (ANALYZE) "${name}"`);

  log(`history: plain sequential read of the whole log (every organisation, pages of ${READ_PAGE})`);
  const read = await sequentialRead(orm);

  const rebuilt = await rebuildWhileAppending(orm, dbUrl, targets, log);
  const { summary } = rebuilt;
  // The same read again right after: load from elsewhere on a shared machine comes and goes within minutes,
  // so the rebuild is compared with both reads together (the events of both over the seconds of both).
  log('history: the plain sequential read again, right after the rebuild');
  const readAfter = await sequentialRead(orm);

  log(`history: verifying the Merkle tree of ${HISTORY_ORG}'s log`);
  t = performance.now();
  const verification = await verifyLog(sql, HISTORY_ORG, { full: true, signing: ephemeralCheckpointKeys().signing });
  const verifySeconds = (performance.now() - t) / 1000;
  if (!verification.ok) throw new Error(`the benchmark's log does not verify: ${verification.reason}`);

  // As autovacuum would soon after: visibility map and statistics for the tables the queries read.
  log('history: VACUUM (ANALYZE) of the log and the rebuilt tables');
  t = performance.now();
  for (const name of ['okr_events', ...summary.tables.map((x) => x.name)]) await sql.query(`VACUUM (ANALYZE) "${name}"`);
  const vacuumSeconds = (performance.now() - t) / 1000;
  const tables = await storageOf(sql, summary.tables);
  const [sizes] = await sql.query<{ events: string; nodes: string; n: string }>(
    `SELECT pg_total_relation_size('okr_events') AS events, pg_total_relation_size('okr_tree_nodes') AS nodes, (SELECT count(*) FROM okr_events) AS n`,
  );
  const events = Number(sizes?.n ?? 0);
  const history = tables.filter((x) => x.name.endsWith('_history'));
  const current = tables.filter((x) => !x.name.endsWith('_history'));
  const asOfReads = history.length > 0 ? 'temporal' : 'replay';
  const sum = (xs: readonly TableStorage[]) => xs.reduce((n, x) => n + x.totalBytes, 0);
  const perMillion = (bytes: number) => Math.round((bytes * 1_000_000) / events);
  const eventsBytes = Number(sizes?.events ?? 0);
  const nodesBytes = Number(sizes?.nodes ?? 0);

  const quarter = first.quarters[Math.floor(first.quarters.length / 2)] ?? first.quarters[0];
  if (!quarter) throw new Error('no quarter');
  const [quarterEvents] = await sql.query<{ n: string }>('SELECT count(*) AS n FROM okr_events WHERE organisation_id = ? AND quarter_id = ?', [HISTORY_ORG, quarter.id]);

  const readRate = (read.events + readAfter.events) / (read.seconds + readAfter.seconds);
  const rebuildRate = summary.events / rebuilt.seconds;
  const results: HistoryBench = {
    events,
    organisations: ORGS,
    quarters: QUARTERS,
    teams: TEAMS,
    fill: { events: filledEvents, seconds: round(fillSeconds, 2), eventsPerSecond: Math.round(filledEvents / fillSeconds) },
    asOfReads,
    sequentialRead: {
      events: read.events,
      pageSize: READ_PAGE,
      seconds: round(read.seconds, 2),
      eventsPerSecond: Math.round(readRate),
      before: Math.round(read.events / read.seconds),
      after: Math.round(readAfter.events / readAfter.seconds),
    },
    rebuild: {
      events: summary.events,
      seconds: round(rebuilt.seconds, 2),
      eventsPerSecond: Math.round(rebuildRate),
      ofSequentialRead: round(rebuildRate / readRate, 3),
      appendsHeldMs: summary.lockedMs === undefined ? null : round(summary.lockedMs, 1),
      cpu: rebuilt.cpu,
    },
    appendsDuringRebuild: rebuilt.appends,
    vacuumAnalyzeSeconds: round(vacuumSeconds, 2),
    auditVerify: {
      organisationId: HISTORY_ORG,
      seconds: round(verifySeconds, 2),
      eventsPerSecond: Math.round(verification.eventsChecked / verifySeconds),
      ok: verification.ok,
    },
    storage: {
      current,
      history,
      currentTotalBytes: sum(current),
      historyTotalBytes: sum(history),
      eventsTotalBytes: eventsBytes,
      treeNodesTotalBytes: nodesBytes,
      historyOverCurrent: round(sum(history) / sum(current), 2),
      historyOverEvents: round(sum(history) / eventsBytes, 3),
      perMillionEvents: {
        okrEvents: perMillion(eventsBytes),
        okrTreeNodes: perMillion(nodesBytes),
        readModels: perMillion(sum(current)),
        historyTables: perMillion(sum(history)),
        total: perMillion(eventsBytes + nodesBytes + sum(current) + sum(history)),
      },
    },
  };
  const a = results.appendsDuringRebuild;
  const st = results.storage;
  const pm = st.perMillionEvents;
  const rowsOf = new Map(current.map((x) => [x.name, x.rows]));
  const cpu = results.rebuild.cpu;
  const report = [
    `Quarter history on a log of ${results.events} events (${ORGS} organisation(s) x ${QUARTERS} quarters x ${TEAMS} teams, ` +
      `filled by COPY in ${results.fill.seconds} s, ${results.fill.eventsPerSecond} events/s; plus ${APPENDERS} appending organisations)`,
    table([
      ['measure', 'events', 'seconds', 'events/s', 'of sequential read'],
      [
        `plain sequential read of the log (EventStore.stream, pages of ${READ_PAGE}), before and after the rebuild (${results.sequentialRead.before} and ${results.sequentialRead.after} events/s)`,
        read.events,
        results.sequentialRead.seconds,
        results.sequentialRead.eventsPerSecond,
        1,
      ],
      [
        `rebuild of every projection${history.length > 0 ? ' and its history' : ''} (${APPENDERS} organisations appending)`,
        results.rebuild.events,
        results.rebuild.seconds,
        results.rebuild.eventsPerSecond,
        results.rebuild.ofSequentialRead,
      ],
      [
        `audit verify (recompute the Merkle tree of ${HISTORY_ORG})`,
        verification.eventsChecked,
        results.auditVerify.seconds,
        results.auditVerify.eventsPerSecond,
        round(results.auditVerify.eventsPerSecond / results.sequentialRead.eventsPerSecond, 3),
      ],
    ]),
    cpu === null
      ? ''
      : `CPU during the rebuild (${cpu.wallSeconds} s): machine ${cpu.machineBusyPercent}% busy; this process (rebuild + appenders) ${cpu.benchProcessCores} cores, ` +
        `PostgreSQL ${cpu.postgresCores}, other load ${cpu.otherCores}.`,
    `recordCheckIn during the rebuild: ${a.writers} organisations, one writer each, ` +
      `${a.intervalMs === 0 ? 'back to back' : `one command every ${a.intervalMs} ms or as soon as the last returns`} ` +
      `(a worker thread with a pool of its own); the rebuild says it held appends for ${results.rebuild.appendsHeldMs ?? 'n/a (it does not say)'} ms`,
    table([
      ['commands', 'count', 'p50 ms', 'p99 ms', 'max ms'],
      [`before the rebuild (${APPEND_BASELINE_MS / 1000} s)`, a.before.count, a.before.p50Ms, a.before.p99Ms, a.before.maxMs],
      [`during the rebuild (${a.rebuildSeconds} s)`, a.during.count, a.during.p50Ms, a.during.p99Ms, a.during.maxMs],
    ]),
    `(the longest started ${a.longestStartedAtSeconds ?? 'n/a'} s into the rebuild; then VACUUM (ANALYZE) of okr_events and the rebuilt tables: ${results.vacuumAnalyzeSeconds} s)`,
    table([
      ['table (after VACUUM (ANALYZE))', 'rows', 'total', 'heap', 'indexes', 'rows per current row'],
      ...tables.map((x) => {
        const base = x.name.endsWith('_history') ? rowsOf.get(x.name.slice(0, -'_history'.length)) : undefined;
        return [x.name, x.rows, mib(x.totalBytes), mib(x.tableBytes), mib(x.indexBytes), base === undefined ? '' : base === 0 ? 'n/a' : round(x.rows / base, 2)];
      }),
    ]),
    history.length > 0
      ? `History tables ${mib(st.historyTotalBytes)} against ${mib(st.currentTotalBytes)} for the current tables (${st.historyOverCurrent}x) ` +
        `and ${mib(st.eventsTotalBytes)} for okr_events (${st.historyOverEvents}x); ${Math.round(st.historyTotalBytes / results.events)} bytes of history per event.`
      : `No history tables (asOf replays the log). Current tables ${mib(st.currentTotalBytes)}, okr_events ${mib(st.eventsTotalBytes)}.`,
    `Storage per 1,000,000 events: okr_events ${mib(pm.okrEvents)}, okr_tree_nodes ${mib(pm.okrTreeNodes)}, read models ${mib(pm.readModels)}, ` +
      `history tables ${mib(pm.historyTables)}; ${mib(pm.total)} in all.`,
  ]
    .filter((line) => line !== '')
    .join('\n');
  return { results, report, queried: { organisationId: HISTORY_ORG, team: first.team, quarter, quarterEvents: Number(quarterEvents?.n ?? 0) } };
}
