import type { MikroORM } from '@mikro-orm/postgresql';
import { SCHEMA_VERSION, type DomainEvent, type EventType } from '../events/catalogue';
import { verifyLog } from '../events/audit';
import { eventLeafHash } from '../events/leaf';
import { appendLeaves, type Hash } from '../events/merkle';
import { ephemeralCheckpointKeys } from '../src/checkpointKeys';
import { EventStore } from '../events/store';
import { sqlOf } from '../src/database';
import { rebuildProjections } from '../src/rebuild';
import { createServer } from '../src/server';
import { round, summarise, table, type LatencySummary } from './stats';

/*
 * Quarter-history figures (issue: replay and rebuild):
 * - rebuild speed: events per second replayed into every inline projection, beside the same run's
 *   plain sequential read of the log (the limit a rebuild cannot beat);
 * - latency of a team's quarter query with asOf on a log of over 100,000 events.
 *
 * The log is filled with realistic history by bulk SQL (the append path has its own benchmark):
 * HISTORY_QUARTERS quarters of HISTORY_TEAMS teams, each with 3 objectives x 3 key results checked in
 * weekly, scored and closed; then every read model is rebuilt from it.
 */

/** The organisation whose history fills the log (the noisy neighbour's attacker reuses it). */
export const HISTORY_ORG = 'bench-history';
const ORG = HISTORY_ORG;
const QUARTERS = Number(process.env.HISTORY_QUARTERS ?? '13');
const TEAMS = Number(process.env.HISTORY_TEAMS ?? '56');
const WEEKS = 20;
const ASOF_REQUESTS = 30;
const DAY = 86_400_000;

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
  leaf_hash: string;
}

/** Builds the history as rows, in recorded order, with stream versions and positions. */
function history(): { rows: Row[]; streams: Map<string, number>; team: string; quarters: { id: string; startsOn: Date }[] } {
  const rows: Row[] = [];
  const streams = new Map<string, number>();
  const add = (streamId: string, event: DomainEvent, at: number) => {
    const version = (streams.get(streamId) ?? 0) + 1;
    streams.set(streamId, version);
    const data = event.data as { quarterId?: string; unitId?: string };
    rows.push({
      position: rows.length + 1,
      organisation_id: ORG,
      stream_id: streamId,
      stream_version: version,
      type: event.type,
      schema_version: SCHEMA_VERSION[event.type],
      data: event.data,
      metadata: { actor: 'bench', correlationId: 'bench', causationId: 'bench', idempotencyKey: null },
      recorded_at: new Date(at).toISOString(),
      quarter_id: data.quarterId ?? null,
      unit_id: data.unitId ?? null,
      leaf_hash: '',
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

export async function fill(orm: MikroORM): Promise<{ events: number; team: string; quarters: { id: string; startsOn: Date }[] }> {
  const { rows, streams, team, quarters } = history();
  const sql = sqlOf(orm.em.fork());
  const store = new EventStore();
  const head = await store.head(sql, ORG);
  // Positions continue the organisation's log and every event becomes a leaf of its tree, as an append would make them.
  const leaves: Hash[] = [];
  for (const row of rows) {
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
    row.leaf_hash = leaf.toString('base64');
    leaves.push(leaf);
  }
  const grown = appendLeaves(head.frontier, head.position, leaves);
  const nodes = grown.nodes.filter((n) => n.level > 0).map((n) => ({ level: n.level, idx: n.index, hash: n.hash.toString('base64') }));
  for (let i = 0; i < nodes.length; i += 20000) {
    await sql.query(
      `INSERT INTO okr_tree_nodes (organisation_id, level, idx, hash)
       SELECT ?, level, idx, decode(hash, 'base64') FROM jsonb_to_recordset(?::jsonb) AS n(level smallint, idx bigint, hash text)`,
      [ORG, JSON.stringify(nodes.slice(i, i + 20000))],
    );
  }
  for (let i = 0; i < rows.length; i += 5000) {
    await sql.query(
      `INSERT INTO okr_events (position, organisation_id, stream_id, stream_version, type, schema_version, data, metadata, recorded_at, quarter_id, unit_id, leaf_hash)
       SELECT position, organisation_id, stream_id, stream_version, type, schema_version, data, metadata, recorded_at, quarter_id, unit_id, decode(leaf_hash, 'base64')
         FROM jsonb_to_recordset(?::jsonb) AS r(position bigint, organisation_id text, stream_id text, stream_version int, type text,
              schema_version int, data jsonb, metadata jsonb, recorded_at timestamptz, quarter_id text, unit_id text, leaf_hash text)`,
      [JSON.stringify(rows.slice(i, i + 5000))],
    );
  }
  await sql.query(
    `INSERT INTO okr_streams (organisation_id, stream_id, stream_type, version)
     SELECT ?, key, split_part(key, '-', 1), value::int FROM jsonb_each_text(?::jsonb)`,
    [ORG, JSON.stringify(Object.fromEntries(streams))],
  );
  const last = rows[rows.length - 1];
  await sql.query(
    `INSERT INTO okr_log_heads AS h (organisation_id, position, recorded_at, frontier) VALUES (?, ?, ?::timestamptz, ?::jsonb)
     ON CONFLICT (organisation_id) DO UPDATE SET position = EXCLUDED.position, recorded_at = greatest(h.recorded_at, EXCLUDED.recorded_at), frontier = EXCLUDED.frontier`,
    [ORG, last?.position ?? head.position, last?.recorded_at ?? new Date(0).toISOString(), JSON.stringify(grown.frontier.map((h) => h.toString('base64')))],
  );
  return { events: rows.length, team, quarters };
}

export interface HistoryBench {
  events: number;
  sequentialRead: { seconds: number; eventsPerSecond: number };
  rebuild: { seconds: number; eventsPerSecond: number; ofSequentialRead: number };
  auditVerify: { seconds: number; eventsPerSecond: number; ok: boolean };
  teamQuarterQuery: { live: LatencySummary; asOfCold: LatencySummary; asOfCached: LatencySummary; quarterEvents: number };
}

export async function historyBench(orm: MikroORM, log: (line: string) => void): Promise<{ results: HistoryBench; report: string }> {
  log(`history: filling the log with ${QUARTERS} quarters x ${TEAMS} teams of history`);
  const { events, team, quarters } = await fill(orm);
  const sql = sqlOf(orm.em.fork());
  const total = await sql.query<{ n: string }>('SELECT count(*) AS n FROM okr_events');

  log('history: plain sequential read of the whole log');
  let t = performance.now();
  let read = 0;
  for await (const page of new EventStore().stream(sql, { organisationId: ORG }, 2000)) read += page.length;
  const readSeconds = (performance.now() - t) / 1000;

  log('history: rebuilding every projection from the log');
  t = performance.now();
  const summary = await rebuildProjections(orm, {});
  const rebuildSeconds = (performance.now() - t) / 1000;

  log('history: verifying the Merkle tree of the whole log');
  t = performance.now();
  const verification = await verifyLog(sql, ORG, { full: true, signing: ephemeralCheckpointKeys().signing });
  const verifySeconds = (performance.now() - t) / 1000;
  if (!verification.ok) throw new Error(`the benchmark's log does not verify: ${verification.reason}`);

  const target = quarters[Math.floor(quarters.length / 2)] ?? quarters[0];
  if (!target) throw new Error('no quarter');
  const [quarterEvents] = await sql.query<{ n: string }>('SELECT count(*) AS n FROM okr_events WHERE quarter_id = ?', [target.id]);
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
  log(`history: team-quarter query, live and asOf (${ASOF_REQUESTS} requests each)`);
  const live: number[] = [];
  const cold: number[] = [];
  const cached: number[] = [];
  try {
    for (let i = 0; i < 5; i += 1) await ask(null);
    for (let i = 0; i < ASOF_REQUESTS; i += 1) live.push(await ask(null));
    // A different instant every time: each answer is a fresh replay of the quarter up to that instant.
    for (let i = 0; i < ASOF_REQUESTS; i += 1) cold.push(await ask(new Date(target.startsOn.getTime() + (10 + i) * 2 * DAY + i * 1000)));
    const at = new Date(target.startsOn.getTime() + 45 * DAY);
    await ask(at);
    for (let i = 0; i < ASOF_REQUESTS; i += 1) cached.push(await ask(at));
  } finally {
    await server.close();
  }

  const results: HistoryBench = {
    events: Number(total[0]?.n ?? events),
    sequentialRead: { seconds: round(readSeconds, 2), eventsPerSecond: Math.round(read / readSeconds) },
    rebuild: {
      seconds: round(rebuildSeconds, 2),
      eventsPerSecond: Math.round(summary.events / rebuildSeconds),
      ofSequentialRead: round(readSeconds / rebuildSeconds, 3),
    },
    auditVerify: {
      seconds: round(verifySeconds, 2),
      eventsPerSecond: Math.round(verification.eventsChecked / verifySeconds),
      ok: verification.ok,
    },
    teamQuarterQuery: {
      live: summarise(live),
      asOfCold: summarise(cold),
      asOfCached: summarise(cached),
      quarterEvents: Number(quarterEvents?.n ?? 0),
    },
  };
  const q = results.teamQuarterQuery;
  const report = [
    `Quarter history on a log of ${results.events} events (${QUARTERS} quarters x ${TEAMS} teams; the queried quarter holds ${q.quarterEvents})`,
    table([
      ['measure', 'seconds', 'events/s', 'of sequential read'],
      ['plain sequential read of the log', results.sequentialRead.seconds, results.sequentialRead.eventsPerSecond, '1'],
      ['rebuild of every projection', results.rebuild.seconds, results.rebuild.eventsPerSecond, results.rebuild.ofSequentialRead],
      ['audit verify (recompute the Merkle tree)', results.auditVerify.seconds, results.auditVerify.eventsPerSecond, round(readSeconds / verifySeconds, 3)],
    ]),
    table([
      ['team-quarter query (1 client, sequential)', 'requests', 'p50 ms', 'p99 ms', 'max ms'],
      ['live (no asOf)', q.live.count, q.live.p50Ms, q.live.p99Ms, q.live.maxMs],
      ['asOf, a new instant each time (replay)', q.asOfCold.count, q.asOfCold.p50Ms, q.asOfCold.p99Ms, q.asOfCold.maxMs],
      ['asOf, the same instant again (cached)', q.asOfCached.count, q.asOfCached.p50Ms, q.asOfCached.p99Ms, q.asOfCached.maxMs],
    ]),
  ].join('\n');
  return { results, report };
}
