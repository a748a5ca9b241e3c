import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { MikroORM } from '@mikro-orm/postgresql';
import { SCHEMA_VERSION, type DomainEvent, type EventType } from '../events/catalogue';
import { verifyLog } from '../events/audit';
import { eventLeafHash } from '../events/leaf';
import { appendLeaves, type Hash } from '../events/merkle';
import { ephemeralCheckpointKeys } from '../src/checkpointKeys';
import { EventStore } from '../events/store';
import { textArray, type Sql } from '../events/sql';
import { sqlOf } from '../src/database';
import { rebuildProjections } from '../src/rebuild';
import { createServer } from '../src/server';
import { round, summarise, table, type LatencySummary } from './stats';

/*
 * Quarter-history figures (issue: replay and rebuild; issue: temporal read models):
 * - rebuild speed: events per second folded into every inline projection (and, where they exist, its
 *   history table), beside the same run's plain sequential read of the log (the limit a rebuild cannot beat);
 * - latency of a team's quarter query live and with asOf on a log of over 100,000 events;
 * - what the read models' history tables (`<table>_history`, every version of every document) hold and take.
 *
 * The log is filled with realistic history by bulk SQL (the append path has its own benchmark): in each of
 * HISTORY_ORGS organisations (default 1), HISTORY_QUARTERS quarters (13) of HISTORY_TEAMS teams (56), each
 * with 3 objectives x 3 key results checked in weekly, scored and closed: 106,260 events per organisation
 * with the defaults (HISTORY_ORGS=10 makes a log of 1,062,600). Then every read model is rebuilt from it,
 * and the queries run against the first organisation. HISTORY_REQUESTS (100) requests per query kind.
 * `BENCH_ONLY=history npm run bench` runs this section alone.
 */

/** The organisation whose history fills the log (the noisy neighbour's attacker reuses it). */
export const HISTORY_ORG = 'bench-history';
const ORG = HISTORY_ORG;

function knob(name: string, fallback: number, max: number): number {
  const value = Number(process.env[name] ?? String(fallback));
  if (!Number.isInteger(value) || value < 1 || value > max) throw new Error(`${name} must be a whole number in [1, ${max}].`);
  return value;
}
const QUARTERS = knob('HISTORY_QUARTERS', 13, 40);
const TEAMS = knob('HISTORY_TEAMS', 56, 1000);
const ORGS = knob('HISTORY_ORGS', 1, 100);
const ASOF_REQUESTS = knob('HISTORY_REQUESTS', 100, 10_000);
const WEEKS = 20;
const DAY = 86_400_000;
/** The organisations filled: the first is HISTORY_ORG, the one queried. */
const ORGANISATIONS = Array.from({ length: ORGS }, (_, i) => (i === 0 ? ORG : `${ORG}-${i + 1}`));

interface Row {
  position: number;
  organisation_id: string;
  stream_id: string;
  stream_version: number;
  type: EventType;
  schema_version: number;
  data: DomainEvent['data'];
  metadata: Record<string, unknown>;
  recorded_at: string;
  quarter_id: string | null;
  unit_id: string | null;
}

/** Builds the history as rows, in recorded order, with stream versions and positions. */
function history(organisationId: string): { rows: Row[]; streams: Map<string, number>; team: string; quarters: { id: string; startsOn: Date }[] } {
  const rows: Row[] = [];
  const streams = new Map<string, number>();
  const add = (streamId: string, event: DomainEvent, at: number) => {
    const version = (streams.get(streamId) ?? 0) + 1;
    streams.set(streamId, version);
    const data = event.data as { quarterId?: string; unitId?: string };
    rows.push({
      position: rows.length + 1,
      organisation_id: organisationId,
      stream_id: streamId,
      stream_version: version,
      type: event.type,
      schema_version: SCHEMA_VERSION[event.type],
      data: event.data,
      metadata: { actor: 'bench', correlationId: 'bench', causationId: 'bench', idempotencyKey: null },
      recorded_at: new Date(at).toISOString(),
      quarter_id: data.quarterId ?? null,
      unit_id: data.unitId ?? null,
    });
  };
  // Quarters from 2023-Q3 on, so that with 13 of them the whole history lies in the past.
  const first = Date.UTC(2023, 6, 1);
  let clock = first - 30 * DAY;
  const tick = () => (clock += 1000);
  add('unit-company', { type: 'UnitRegistered', data: { unitId: 'company', name: 'Company', level: 'COMPANY', parentId: null } }, tick());
  add('unit-engineering', { type: 'UnitRegistered', data: { unitId: 'engineering', name: 'Engineering', level: 'FUNCTION', parentId: 'company' } }, tick());
  const teams = Array.from({ length: TEAMS }, (_, t) => `team-${t}`);
  for (const team of teams) {
    add(`unit-${team}`, { type: 'UnitRegistered', data: { unitId: team, name: team, level: 'TEAM', parentId: 'engineering' } }, tick());
  }
  const quarters: { id: string; startsOn: Date }[] = [];
  for (let q = 0; q < QUARTERS; q += 1) {
    const startsOn = Date.UTC(2023, 6 + q * 3, 1);
    const endsOn = Date.UTC(2023, 9 + q * 3, 1);
    const quarterId = `Q${q}`;
    quarters.push({ id: quarterId, startsOn: new Date(startsOn) });
    clock = Math.max(clock, startsOn - 20 * DAY);
    const iso = (t: number) => new Date(t).toISOString();
    add(`quarter-${quarterId}`, { type: 'QuarterPlanned', data: { quarterId, startsOn: iso(startsOn), endsOn: iso(endsOn), settingOpensOn: iso(startsOn - 21 * DAY) } }, tick());
    const krs: { id: string; objectiveId: string; unitId: string }[] = [];
    for (const team of teams) {
      for (let o = 0; o < 3; o += 1) {
        const objectiveId = `${quarterId}-${team}-o${o}`;
        const scope = { objectiveId, unitId: team, quarterId };
        add(`objective-${objectiveId}`, { type: 'ObjectiveDrafted', data: { ...scope, unitLevel: 'TEAM', title: `Objective ${o} of ${team}`, description: null, aspirational: true, parentId: null } }, tick());
        for (let k = 0; k < 3; k += 1) {
          const id = `${objectiveId}-k${k}`;
          krs.push({ id, objectiveId, unitId: team });
          add(`keyResult-${id}`, { type: 'KeyResultDefined', data: { keyResultId: id, objectiveId, unitId: team, quarterId, title: `Reduce metric ${k} from 100 to 50`, metric: `metric ${k}`, unit: 'ms', baseline: 100, target: 50, direction: 'DECREASE', kind: 'OUTCOME' } }, tick());
        }
        add(`objective-${objectiveId}`, { type: 'ObjectiveCommitted', data: scope }, tick());
      }
    }
    for (let w = 0; w < WEEKS && startsOn + w * 7 * DAY < endsOn; w += 1) {
      clock = Math.max(clock, startsOn + w * 7 * DAY);
      for (const kr of krs) {
        add(`keyResult-${kr.id}`, { type: 'CheckInRecorded', data: { keyResultId: kr.id, objectiveId: kr.objectiveId, unitId: kr.unitId, quarterId, confidence: 40 + (w % 5) * 10, value: 100 - w * 2, whatChanged: 'steady progress', blockers: null, asOf: iso(clock) } }, tick());
      }
    }
    clock = Math.max(clock, endsOn + DAY);
    for (const kr of krs) {
      add(`keyResult-${kr.id}`, { type: 'KeyResultScored', data: { keyResultId: kr.id, objectiveId: kr.objectiveId, unitId: kr.unitId, quarterId, score: 0.7, note: null, previousScore: null, target: 50 } }, tick());
    }
    add(`quarter-${quarterId}`, { type: 'QuarterClosed', data: { quarterId, closedAt: iso(clock) } }, tick());
  }
  return { rows, streams, team: teams[0] as string, quarters };
}

/** A value as COPY's text format writes it: backslash, newline, carriage return and tab escaped; null as \N. */
function copyText(value: string | number | null): string {
  if (value === null) return '\\N';
  return typeof value === 'number' ? String(value) : value.replace(/[\\\n\r\t]/g, (c) => COPY_ESCAPES[c] ?? c);
}
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
/** A bytea's text input (hex); copyText escapes its backslash. */
const copyBytes = (bytes: Buffer): string => `\\x${bytes.toString('hex')}`;
const copyLine = (values: readonly (string | number | null)[]): string => `${values.map(copyText).join('\t')}\n`;

/** Rows per chunk handed to COPY: one chunk is hashed while PostgreSQL takes the one before. */
const COPY_CHUNK = 5000;

/** `COPY ... FROM STDIN` (text format) of the lines `chunks` yields, on `client`. */
async function copyInto(client: Client, statement: string, chunks: Iterable<string>): Promise<void> {
  await pipeline(Readable.from(chunks, { objectMode: true, highWaterMark: 2 }), client.query(copyFrom(statement)));
}

/**
 * Writes one organisation's history to the log as appends would have written it: events with their
 * positions (after the organisation's head) and leaf hashes, the tree's interior nodes, the streams'
 * versions and the head row with the tree's frontier. By COPY on a connection of its own: the events
 * are hashed a chunk at a time while PostgreSQL writes the chunk before.
 */
export async function fill(orm: MikroORM, organisationId = ORG): Promise<{ events: number; team: string; quarters: { id: string; startsOn: Date }[] }> {
  const { rows, streams, team, quarters } = history(organisationId);
  const head = await new EventStore().head(sqlOf(orm.em.fork()), organisationId);
  const client = new Client({ connectionString: String(orm.config.get('clientUrl')) });
  await client.connect();
  try {
    let frontier = head.frontier;
    const nodes: string[] = [];
    function* eventLines(): Generator<string> {
      for (let from = 0; from < rows.length; from += COPY_CHUNK) {
        const lines: string[] = [];
        const leaves: Hash[] = [];
        for (const row of rows.slice(from, from + COPY_CHUNK)) {
          row.position += head.position;
          const leaf = eventLeafHash({
            organisationId: row.organisation_id,
            position: row.position,
            streamId: row.stream_id,
            version: row.stream_version,
            type: row.type,
            schemaVersion: row.schema_version,
            data: row.data,
            metadata: row.metadata,
            recordedAt: row.recorded_at,
          });
          leaves.push(leaf);
          lines.push(
            copyLine([row.position, row.organisation_id, row.stream_id, row.stream_version, row.type, row.schema_version,
              JSON.stringify(row.data), JSON.stringify(row.metadata), row.recorded_at, row.quarter_id, row.unit_id, copyBytes(leaf)]),
          );
        }
        // Positions continue the organisation's log and every event becomes a leaf of its tree, as an append would make them.
        const grown = appendLeaves(frontier, head.position + from, leaves);
        frontier = grown.frontier;
        for (const n of grown.nodes) if (n.level > 0) nodes.push(copyLine([organisationId, n.level, n.index, copyBytes(n.hash)]));
        yield lines.join('');
      }
    }
    await copyInto(
      client,
      'COPY okr_events (position, organisation_id, stream_id, stream_version, type, schema_version, data, metadata, recorded_at, quarter_id, unit_id, leaf_hash) FROM STDIN',
      eventLines(),
    );
    await copyInto(client, 'COPY okr_tree_nodes (organisation_id, level, idx, hash) FROM STDIN', [nodes.join('')]);
    await client.query(
      `INSERT INTO okr_streams (organisation_id, stream_id, stream_type, version)
       SELECT $1, key, split_part(key, '-', 1), value::int FROM jsonb_each_text($2::jsonb)`,
      [organisationId, JSON.stringify(Object.fromEntries(streams))],
    );
    const last = rows[rows.length - 1];
    await client.query(
      `INSERT INTO okr_log_heads AS h (organisation_id, position, recorded_at, frontier) VALUES ($1, $2, $3::timestamptz, $4::jsonb)
       ON CONFLICT (organisation_id) DO UPDATE SET position = EXCLUDED.position, recorded_at = greatest(h.recorded_at, EXCLUDED.recorded_at), frontier = EXCLUDED.frontier`,
      [organisationId, last?.position ?? head.position, last?.recorded_at ?? new Date(0).toISOString(), JSON.stringify(frontier.map((h) => h.toString('base64')))],
    );
  } finally {
    await client.end();
  }
  return { events: rows.length, team, quarters };
}

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
