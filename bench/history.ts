import type { MikroORM } from '@mikro-orm/postgresql';
import { verifyLog } from '../events/audit';
import { ephemeralCheckpointKeys } from '../src/checkpointKeys';
import { EventStore } from '../events/store';
import { textArray, type Sql } from '../events/sql';
import { sqlOf } from '../src/database';
import { rebuildProjections } from '../src/rebuild';
import { createServer } from '../src/server';
import { fill, HISTORY_ORG, HISTORY_ORGANISATIONS as ORGANISATIONS, knob, ORGS, QUARTERS, TEAMS } from './historyFill';
import { round, summarise, table, type LatencySummary } from './stats';

/*
 * Quarter-history figures (issue: replay and rebuild; issue: temporal read models):
 * - rebuild speed: events per second folded into every inline projection (and, where they exist, its
 *   history table), beside the same run's plain sequential read of the log (the limit a rebuild cannot beat);
 * - latency of a team's quarter query live and with asOf on a log of over 100,000 events;
 * - what the read models' history tables (`<table>_history`, every version of every document) hold and take.
 *
 * The log is filled with realistic history by bulk SQL (bench/historyFill.ts; the append path has its own
 * benchmark): 106,260 events per organisation with the defaults. Then every read model is rebuilt from it,
 * and the queries run against the first organisation. HISTORY_REQUESTS (100) requests per query kind.
 * `BENCH_ONLY=history npm run bench` runs this section alone.
 */

const ORG = HISTORY_ORG;
const ASOF_REQUESTS = knob('HISTORY_REQUESTS', 100, 10_000);
const DAY = 86_400_000;

/** One read-model table or history table after the rebuild (and a VACUUM (ANALYZE)). */
export interface TableStorage {
  name: string;
  rows: number;
  totalBytes: number;
  tableBytes: number;
  indexBytes: number;
}

export interface HistoryBench {
  events: number;
  organisations: number;
  quarters: number;
  teams: number;
  fillSeconds: number;
  /** How asOf is answered by the code measured: from the history tables, or by replaying the log (before them). */
  asOfReads: 'temporal' | 'replay';
  sequentialRead: { seconds: number; eventsPerSecond: number };
  rebuild: { seconds: number; eventsPerSecond: number; ofSequentialRead: number; appendsHeldMs: number | null };
  vacuumAnalyzeSeconds: number;
  auditVerify: { seconds: number; eventsPerSecond: number; ok: boolean };
  teamQuarterQuery: {
    live: LatencySummary;
    asOfCold: LatencySummary;
    asOfCached: LatencySummary;
    quarterEvents: number;
    /** asOf p99 / live p99 (the issue's target: at most 2). */
    coldP99OverLiveP99: number;
    cachedP99OverLiveP99: number;
  };
  storage: {
    current: TableStorage[];
    history: TableStorage[];
    currentTotalBytes: number;
    historyTotalBytes: number;
    eventsTotalBytes: number;
    /** History tables' bytes / current tables' bytes. */
    historyOverCurrent: number;
    /** History tables' bytes / okr_events' bytes. */
    historyOverEvents: number;
  };
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

export async function historyBench(orm: MikroORM, log: (line: string) => void): Promise<{ results: HistoryBench; report: string }> {
  log(`history: filling the log with ${ORGS} organisation(s) x ${QUARTERS} quarters x ${TEAMS} teams of history`);
  let t = performance.now();
  let filled: Awaited<ReturnType<typeof fill>> | null = null;
  for (const [i, organisationId] of ORGANISATIONS.entries()) {
    const one = await fill(orm, organisationId);
    filled ??= one;
    if (ORGS > 1) log(`history: filled ${organisationId} (${i + 1}/${ORGS}, ${one.events} events)`);
  }
  const fillSeconds = (performance.now() - t) / 1000;
  if (filled === null) throw new Error('no organisation filled');
  const { team, quarters } = filled;
  const sql = sqlOf(orm.em.fork());
  const total = await sql.query<{ n: string }>('SELECT count(*) AS n FROM okr_events');

  log('history: plain sequential read of the whole log (every organisation)');
  t = performance.now();
  let read = 0;
  for (const organisationId of ORGANISATIONS) {
    for await (const page of new EventStore().stream(sql, { organisationId }, 2000)) read += page.length;
  }
  const readSeconds = (performance.now() - t) / 1000;

  log('history: rebuilding every projection from the log');
  t = performance.now();
  const summary = await rebuildProjections(orm, {});
  const rebuildSeconds = (performance.now() - t) / 1000;

  log(`history: verifying the Merkle tree of ${ORG}'s log`);
  t = performance.now();
  const verification = await verifyLog(sql, ORG, { full: true, signing: ephemeralCheckpointKeys().signing });
  const verifySeconds = (performance.now() - t) / 1000;
  if (!verification.ok) throw new Error(`the benchmark's log does not verify: ${verification.reason}`);

  // As autovacuum would soon after: visibility map and statistics for the tables the queries read.
  log('history: VACUUM (ANALYZE) of the log and the rebuilt tables');
  t = performance.now();
  for (const name of ['okr_events', ...summary.tables.map((x) => x.name)]) await sql.query(`VACUUM (ANALYZE) "${name}"`);
  const vacuumSeconds = (performance.now() - t) / 1000;
  const tables = await storageOf(sql, summary.tables);
  const [eventsSize] = await sql.query<{ total: string }>("SELECT pg_total_relation_size('okr_events') AS total");
  const history = tables.filter((x) => x.name.endsWith('_history'));
  const current = tables.filter((x) => !x.name.endsWith('_history'));
  const asOfReads = history.length > 0 ? 'temporal' : 'replay';
  const sum = (xs: readonly TableStorage[]) => xs.reduce((n, x) => n + x.totalBytes, 0);

  const target = quarters[Math.floor(quarters.length / 2)] ?? quarters[0];
  if (!target) throw new Error('no quarter');
  const [quarterEvents] = await sql.query<{ n: string }>('SELECT count(*) AS n FROM okr_events WHERE organisation_id = ? AND quarter_id = ?', [ORG, target.id]);
  const server = await createServer({ orm, organisationId: ORG, actor: 'bench', clock: () => new Date(Date.UTC(2030, 0, 1)) });
  const url = await server.listen(0, '127.0.0.1');
  const query = `query($q: ID!, $u: ID, $at: DateTime) { objectives(quarterId: $q, unitId: $u, asOf: $at) {
    title status keyResults { title current confidence score } } }`;
  const ask = async (asOf: Date | null): Promise<number> => {
    const started = performance.now();
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables: { q: target.id, u: team, at: asOf?.toISOString() ?? null } }),
    });
    const body = (await res.json()) as { errors?: unknown; data?: { objectives: unknown[] } };
    if (body.errors || body.data?.objectives.length !== 3) throw new Error(`unexpected answer: ${JSON.stringify(body).slice(0, 300)}`);
    return performance.now() - started;
  };
  log(`history: team-quarter query, live and asOf (${ASOF_REQUESTS} requests each; asOf read by ${asOfReads === 'temporal' ? 'the history tables' : 'replay'})`);
  const live: number[] = [];
  const cold: number[] = [];
  const cached: number[] = [];
  try {
    for (let i = 0; i < 5; i += 1) await ask(null);
    for (let i = 0; i < ASOF_REQUESTS; i += 1) live.push(await ask(null));
    // A different instant every time, spread over days 20-78 of the quarter (each a fresh replay before the
    // history tables; now the same indexed read at another position).
    const spread = (58 * DAY) / ASOF_REQUESTS;
    for (let i = 0; i < ASOF_REQUESTS; i += 1) cold.push(await ask(new Date(target.startsOn.getTime() + 20 * DAY + Math.round(i * spread) + i * 1000)));
    const at = new Date(target.startsOn.getTime() + 45 * DAY);
    await ask(at);
    for (let i = 0; i < ASOF_REQUESTS; i += 1) cached.push(await ask(at));
  } finally {
    await server.close();
  }

  const liveSummary = summarise(live);
  const coldSummary = summarise(cold);
  const cachedSummary = summarise(cached);
  const results: HistoryBench = {
    events: Number(total[0]?.n ?? 0),
    organisations: ORGS,
    quarters: QUARTERS,
    teams: TEAMS,
    fillSeconds: round(fillSeconds, 2),
    asOfReads,
    sequentialRead: { seconds: round(readSeconds, 2), eventsPerSecond: Math.round(read / readSeconds) },
    rebuild: {
      seconds: round(rebuildSeconds, 2),
      eventsPerSecond: Math.round(summary.events / rebuildSeconds),
      ofSequentialRead: round(summary.events / rebuildSeconds / (read / readSeconds), 3),
      // How long the rebuild held appends (an online rebuild reports it; one that holds them throughout does not).
      appendsHeldMs: summary.lockedMs === undefined ? null : round(summary.lockedMs, 1),
    },
    vacuumAnalyzeSeconds: round(vacuumSeconds, 2),
    auditVerify: {
      seconds: round(verifySeconds, 2),
      eventsPerSecond: Math.round(verification.eventsChecked / verifySeconds),
      ok: verification.ok,
    },
    teamQuarterQuery: {
      live: liveSummary,
      asOfCold: coldSummary,
      asOfCached: cachedSummary,
      quarterEvents: Number(quarterEvents?.n ?? 0),
      coldP99OverLiveP99: round(coldSummary.p99Ms / liveSummary.p99Ms, 2),
      cachedP99OverLiveP99: round(cachedSummary.p99Ms / liveSummary.p99Ms, 2),
    },
    storage: {
      current,
      history,
      currentTotalBytes: sum(current),
      historyTotalBytes: sum(history),
      eventsTotalBytes: Number(eventsSize?.total ?? 0),
      historyOverCurrent: round(sum(history) / sum(current), 2),
      historyOverEvents: round(sum(history) / Number(eventsSize?.total ?? Number.NaN), 3),
    },
  };
  const q = results.teamQuarterQuery;
  const st = results.storage;
  const how = asOfReads === 'temporal' ? { cold: 'temporal read', cached: 'temporal read, no cache' } : { cold: 'replay', cached: 'replay cache' };
  const rowsOf = new Map(current.map((x) => [x.name, x.rows]));
  const report = [
    `Quarter history on a log of ${results.events} events (${ORGS} organisation(s) x ${QUARTERS} quarters x ${TEAMS} teams, ` +
      `filled in ${results.fillSeconds} s; the queried quarter of ${ORG} holds ${q.quarterEvents})`,
    table([
      ['measure', 'seconds', 'events/s', 'of sequential read'],
      ['plain sequential read of the log', results.sequentialRead.seconds, results.sequentialRead.eventsPerSecond, '1'],
      [`rebuild of every projection${history.length > 0 ? ' and its history' : ''}`, results.rebuild.seconds, results.rebuild.eventsPerSecond, results.rebuild.ofSequentialRead],
      [
        `audit verify (recompute the Merkle tree${ORGS > 1 ? ` of ${ORG}` : ''})`,
        results.auditVerify.seconds,
        results.auditVerify.eventsPerSecond,
        round(results.auditVerify.eventsPerSecond / results.sequentialRead.eventsPerSecond, 3),
      ],
    ]),
    `(${results.rebuild.appendsHeldMs === null ? 'the rebuild held appends throughout' : `the rebuild held appends for ${results.rebuild.appendsHeldMs} ms`}; ` +
      `then VACUUM (ANALYZE) of okr_events and the rebuilt tables: ${results.vacuumAnalyzeSeconds} s)`,
    table([
      ['team-quarter query (1 client, sequential)', 'requests', 'p50 ms', 'p99 ms', 'max ms', 'p99 / live p99'],
      ['live (no asOf)', q.live.count, q.live.p50Ms, q.live.p99Ms, q.live.maxMs, 1],
      [`asOf, a new instant each time (${how.cold})`, q.asOfCold.count, q.asOfCold.p50Ms, q.asOfCold.p99Ms, q.asOfCold.maxMs, q.coldP99OverLiveP99],
      [`asOf, the same instant again (${how.cached})`, q.asOfCached.count, q.asOfCached.p50Ms, q.asOfCached.p99Ms, q.asOfCached.maxMs, q.cachedP99OverLiveP99],
    ]),
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
  ].join('\n');
  return { results, report };
}
