/**
 * The history fixture (bench/history.ts, and the noisy neighbour's attacker): a realistic log written in
 * bulk, in each of HISTORY_ORGS organisations (default 10), HISTORY_QUARTERS quarters (13) of
 * HISTORY_TEAMS teams (56), each team with 3 objectives x 3 key results checked in weekly, scored and
 * closed: 106,260 events per organisation with the defaults, 1,062,600 in all. Every event gets its true
 * leaf hash and the tree its interior nodes, as appends would have made them; the read models are not
 * written (a rebuild makes them from the log).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { MikroORM } from '@mikro-orm/postgresql';
import { SCHEMA_VERSION, type DomainEvent, type EventType } from '../events/catalogue';
import { eventLeafHash } from '../events/leaf';
import { appendLeaves, type Hash } from '../events/merkle';
import { EventStore } from '../events/store';
import { sqlOf } from '../src/database';
import { databaseUrlOf } from '../src/databaseUrl';

/** The organisation whose history fills the log (the noisy neighbour's attacker reuses it). */
export const HISTORY_ORG = 'bench-history';
const ORG = HISTORY_ORG;

/** A whole-number setting from the environment, checked. */
export function knob(name: string, fallback: number, max: number): number {
  const value = Number(process.env[name] ?? String(fallback));
  if (!Number.isInteger(value) || value < 1 || value > max) throw new Error(`${name} must be a whole number in [1, ${max}].`);
  return value;
}
export const QUARTERS = knob('HISTORY_QUARTERS', 13, 40);
export const TEAMS = knob('HISTORY_TEAMS', 56, 1000);
export const ORGS = knob('HISTORY_ORGS', 10, 100);
const WEEKS = 20;
const DAY = 86_400_000;
/** The organisations filled: the first is HISTORY_ORG, the one queried. */
export const HISTORY_ORGANISATIONS = Array.from({ length: ORGS }, (_, i) => (i === 0 ? ORG : `${ORG}-${i + 1}`));

/** A quarter of the fixture and when it starts. */
export interface FixtureQuarter {
  id: string;
  startsOn: Date;
}

/** What one organisation's fill wrote, and where its queries look: its first team and its quarters. */
export interface Filled {
  events: number;
  team: string;
  quarters: FixtureQuarter[];
}

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
function history(organisationId: string): { rows: Row[]; streams: Map<string, number>; team: string; quarters: FixtureQuarter[] } {
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
  const quarters: FixtureQuarter[] = [];
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
export async function fill(orm: MikroORM, organisationId = ORG): Promise<Filled> {
  const { rows, streams, team, quarters } = history(organisationId);
  const head = await new EventStore().head(sqlOf(orm.em.fork()), organisationId);
  const client = new Client({ connectionString: databaseUrlOf(orm) });
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
