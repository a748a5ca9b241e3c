import {
  MANY_PER_STREAM,
  SCHEMA_VERSION,
  type DomainEvent,
  type EventMetadata,
  type RecordedEvent,
  type StreamType,
} from './catalogue';
import { ConcurrencyError, IdempotencyRace } from './errors';
import { eventLeafHash, type LeafEvent } from './leaf';
import { appendLeaves, rootFromFrontier, type Hash } from './merkle';
import { ANY_ORGANISATION, textArray, type Sql } from './sql';
import { upcast } from './upcasters';

/**
 * The append-only event log: one log per organisation.
 *
 * Ordering: every append updates its organisation's row of okr_log_heads inside its transaction, which
 * both serialises that organisation's appends and hands out its positions (from 1). A transaction
 * holding the head row has all lower positions of the organisation committed (or rolled back, in which
 * case the counter rolled back too), so positions are gap-free and visible in commit order: a reader
 * that remembers "the last position I saw" can never skip an event. Appends of different organisations
 * take different rows and run in parallel; within one organisation the final part of every append
 * (event insert, inline projections, commit) runs one at a time (docs/PERFORMANCE.md).
 *
 * Each organisation's log is also an RFC 6962 Merkle tree: each event's leaf hash is stored on its row,
 * the complete subtrees above the leaves in okr_tree_nodes, and the head row keeps the frontier (the
 * complete subtrees of the whole tree, one per set bit of its size), so an append computes its new
 * nodes without reading any, and writes them in the statement that inserts the events.
 *
 * recorded_at is never earlier than its predecessor's in the same organisation, so "the organisation's
 * log as of instant T" is a prefix.
 */
export interface AppendRequest {
  organisationId: string;
  streamId: string;
  streamType: StreamType;
  /** The version the stream must be at; 0 means it must not exist yet. */
  expectedVersion: number;
  events: readonly DomainEvent[];
  /**
   * Other streams whose state the decision relied on, at the versions read. They are share-locked
   * and compared, so no command is decided on facts that changed under it.
   */
  guards?: readonly { streamId: string; version: number }[];
  metadata: Omit<EventMetadata, 'organisationId'>;
  /**
   * When the events are recorded: a clock, read once the head row is held (so an append that waited
   * for it is not stamped with an instant an asOf answer has already covered), or a fixed instant.
   * Never earlier than the log's last recorded time.
   */
  recordedAt: Date | (() => Date);
  /** Recorded with the idempotency key so that a retry can answer the same. */
  idempotency?: { command: string; requestHash: string; result: unknown };
  /** Read models to fold the events into, within the append's two statements. */
  fold?: AppendFold;
}

/**
 * What an append folds its events into (the read models: src/ledger.ts), in the append's own statements:
 * it loads rows in the statement that takes the head, and writes in the statement that writes the events.
 */
export interface AppendFold {
  /** A SELECT whose rows the fold needs, given the events as they will be recorded (positions and time not yet known). */
  load(pending: readonly RecordedEvent[]): { text: string; params: unknown[] } | null;
  /** Common table expressions (and their parameters) for the statement that writes the recorded events. */
  write(recorded: readonly RecordedEvent[], loaded: readonly unknown[]): { ctes: string[]; params: unknown[] };
}

/** Which events to read; every field narrows. */
export interface LogFilter {
  /** Every read is of one organisation's log: positions mean nothing across organisations. */
  organisationId: string;
  /** Only events after this position. */
  after?: number;
  /** Only events before this position. */
  before?: number;
  /** Newest first (the `limit` nearest to `before`); position order otherwise. */
  newestFirst?: boolean;
  /** Only events recorded at or before this instant. */
  until?: Date;
  streamId?: string;
  /** With streamId: only the event at this version of the stream. */
  version?: number;
  /** Only events concerning this quarter (its objectives, key results, retrospectives, effort). */
  quarterId?: string;
  /** With quarterId: also the events that concern no quarter (unit registrations). */
  withUntagged?: boolean;
  /** Only events concerning this unit. */
  unitId?: string;
  types?: readonly string[];
  limit?: number;
}

export interface StreamRead {
  version: number;
  events: RecordedEvent[];
}

/** A stream to read: by id, or the one another stream's first event names (see EventStore.readStreams). */
export type StreamRef =
  | { streamId: string; skipTypes?: readonly string[] }
  | { via: string; field: string; prefix: string; skipTypes?: readonly string[] };

export interface StreamsRead {
  /** The streams read, in the order of their references (one `via` a stream that does not exist is absent). */
  streams: { ref: number; streamId: string; skipTypes: readonly string[]; version: number; events: RecordedEvent[] }[];
  /** The command recorded earlier with the idempotency key asked about, if any. */
  idempotency: IdempotencyRecord | null;
}

export interface IdempotencyRecord {
  command: string;
  requestHash: string;
  result: unknown;
}

/** An okr_events row as the store reads it. */
export interface EventRow {
  position: string;
  organisation_id: string;
  stream_id: string;
  stream_version: number;
  type: string;
  schema_version: number;
  data: Record<string, unknown>;
  metadata: Omit<EventMetadata, 'organisationId'>;
  recorded_at: Date;
}

/** An organisation's head: its last position, last recorded time and the frontier of its tree. */
export interface LogHead {
  position: number;
  /** null before the first event. */
  recordedAt: Date | null;
  frontier: Hash[];
  /** The root hash of the organisation's tree at `position`. */
  root: Hash;
}

const toHead = (row: { position: string; recorded_at: string | Date; frontier: string[] } | undefined): LogHead => {
  const frontier = (row?.frontier ?? []).map((h) => Buffer.from(h, 'base64'));
  const at = row ? new Date(row.recorded_at) : null;
  return {
    position: Number(row?.position ?? 0),
    recordedAt: at !== null && Number.isFinite(at.getTime()) ? at : null,
    frontier,
    root: rootFromFrontier(frontier),
  };
};

// A read that leaves out exactly MANY_PER_STREAM goes through an index of every stream's other events
// (okr_events_stream_facts, Migration20261217000001StreamFacts): it costs what the stream's facts cost,
// not its check-ins. The index's predicate is this list (test/store.int.test.ts checks the two agree).
const MANY_PER_STREAM_SQL = MANY_PER_STREAM.map((t) => `'${t}'`).join(', ');
/** Whether `skipTypes` is exactly MANY_PER_STREAM (the indexed read). */
const skipsManyPerStream = (skipTypes: readonly string[]): boolean =>
  skipTypes.length === MANY_PER_STREAM.length && MANY_PER_STREAM.every((t) => skipTypes.includes(t));


const EVENT_COLUMNS =
  'position, organisation_id, stream_id, stream_version, type, schema_version, data, metadata, recorded_at';

/** A stored row as its tree leaf: exactly as recorded, no upcasting. */
export const toLeafEvent = (row: EventRow): LeafEvent => ({
  organisationId: row.organisation_id,
  position: Number(row.position),
  streamId: row.stream_id,
  version: row.stream_version,
  type: row.type,
  schemaVersion: row.schema_version,
  data: row.data,
  metadata: row.metadata,
  recordedAt: new Date(row.recorded_at).toISOString(),
});

export function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    type: row.type,
    data: upcast(row.type, row.schema_version, row.data),
    position: Number(row.position),
    streamId: row.stream_id,
    version: row.stream_version,
    // data is upcast to the current shape, so the version reported is the one data now has.
    schemaVersion: SCHEMA_VERSION[row.type as keyof typeof SCHEMA_VERSION] ?? row.schema_version,
    recordedAt: new Date(row.recorded_at),
    metadata: { ...row.metadata, organisationId: row.organisation_id },
  } as RecordedEvent;
}

/** Events that concern a quarter or a unit name it in their data; the log indexes both. */
const tagOf = (event: DomainEvent, key: 'quarterId' | 'unitId'): string | null => {
  const value = (event.data as Record<string, unknown>)[key];
  return typeof value === 'string' ? value : null;
};

export class EventStore {
  /**
   * Appends `events` to one stream atomically, inside the caller's transaction, and returns them as
   * recorded. Throws ConcurrencyError when the stream or a guard moved (IdempotencyRace when another
   * request took the key): nothing is appended, but the caller must roll its transaction back, as the ledger
   * does, since the claim may already have moved the stream's version or recorded the key.
   *
   * Two statements, whatever the events and read models: the first claims the idempotency key, checks
   * the stream's version and the guards, takes the organisation's head row and loads what the fold
   * needs; the second writes the head's frontier, the tree's new nodes, the events and the fold's rows.
   */
  async append(sql: Sql, request: AppendRequest): Promise<RecordedEvent[]> {
    const { organisationId: org, streamId, expectedVersion, events } = request;
    if (events.length === 0) return [];
    const idempotencyKey = request.metadata.idempotencyKey;
    const idempotency = idempotencyKey !== null && request.idempotency ? request.idempotency : null;
    const guards = request.guards ?? [];
    const fold = request.fold ?? null;
    // The events as they will be recorded, but for their positions and time (known once the head is held).
    const pending: RecordedEvent[] = events.map((event, i) => ({
      ...event,
      position: 0,
      streamId,
      version: expectedVersion + i + 1,
      schemaVersion: SCHEMA_VERSION[event.type],
      recordedAt: new Date(0),
      metadata: { ...request.metadata, organisationId: org },
    }) as RecordedEvent);
    const load = fold?.load(pending) ?? null;

    const ctes: string[] = [];
    const params: unknown[] = [];
    if (idempotency !== null) {
      ctes.push(`idem AS (INSERT INTO okr_idempotency (organisation_id, actor, key, command, request_hash, result, stream_id)
                 VALUES (?, ?, ?, ?, ?, ?::jsonb, ?) ON CONFLICT DO NOTHING RETURNING key)`);
      params.push(org, request.metadata.actor, idempotencyKey, idempotency.command, idempotency.requestHash,
        JSON.stringify(idempotency.result ?? null), streamId);
    }
    // The stream-version write is the optimistic concurrency check, and it holds the stream's row
    // lock until commit, so a concurrent writer of this stream waits, then fails its check.
    const newVersion = expectedVersion + events.length;
    if (expectedVersion === 0) {
      ctes.push(`claim AS (INSERT INTO okr_streams (organisation_id, stream_id, stream_type, version)
                 VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING version)`);
      params.push(org, streamId, request.streamType, newVersion);
    } else {
      ctes.push(`claim AS (UPDATE okr_streams SET version = ? WHERE organisation_id = ? AND stream_id = ? AND version = ? RETURNING version)`);
      params.push(newVersion, org, streamId, expectedVersion);
    }
    // Streams the decision relied on are share-locked (a locking read sees their latest version) and compared.
    ctes.push(`guard AS (SELECT stream_id, version FROM okr_streams WHERE organisation_id = ? AND stream_id = ANY(?::text[])
               ORDER BY stream_id FOR SHARE)`);
    params.push(org, textArray(guards.map((g) => g.streamId)));
    // The idempotency key is claimed first (the checks run left to right): two commands sharing a key then
    // meet on the key before either holds a stream the other needs, so they cannot deadlock.
    ctes.push(`ok AS (SELECT ${idempotency !== null ? '(SELECT count(*) FROM idem) = 1 AND ' : ''}(SELECT count(*) FROM claim) = 1
               AND NOT EXISTS (SELECT 1 FROM jsonb_to_recordset(?::jsonb) AS g(stream_id text, version int)
                                LEFT JOIN guard s USING (stream_id) WHERE coalesce(s.version, 0) <> g.version) AS ok)`);
    params.push(JSON.stringify(guards.map((g) => ({ stream_id: g.streamId, version: g.version }))));
    // Taking the organisation's head row, only once every check passed, serialises the rest of the
    // append across its writers (see the class comment); it hands out the positions, the recorded time
    // and the tree's frontier. An organisation's first append creates the row (a concurrent first append
    // waits on it, then takes the update path).
    ctes.push(`head AS (INSERT INTO okr_log_heads AS h (organisation_id, position, recorded_at, frontier)
                SELECT ?, ?, '-infinity', '[]' FROM ok WHERE ok.ok
                ON CONFLICT (organisation_id) DO UPDATE SET position = h.position + EXCLUDED.position
                RETURNING h.position - ? AS base, h.recorded_at, h.frontier)`);
    params.push(org, events.length, events.length);
    // The head as this statement's snapshot saw it: when it is the head just taken, no append of the
    // organisation committed between the snapshot and the lock, so what the snapshot read is current.
    ctes.push('seen AS (SELECT position FROM okr_log_heads WHERE organisation_id = ?)');
    params.push(org);
    if (load !== null) {
      ctes.push(`loaded AS (${load.text})`);
      params.push(...load.params);
    }
    const [claimed] = await sql.query<{
      ok: boolean;
      claimed: string;
      idem: string | null;
      guards: { stream_id: string; version: number }[] | null;
      base: string | null;
      recorded_at: string | Date | null;
      frontier: string[] | null;
      seen: string | null;
      loaded: unknown[] | null;
    }>(
      `WITH ${ctes.join(',\n')}
       SELECT ok.ok, head.base, head.recorded_at, head.frontier, (SELECT position FROM seen) AS seen,
              (SELECT count(*) FROM claim) AS claimed, ${idempotency !== null ? '(SELECT count(*) FROM idem)' : 'NULL::bigint'} AS idem,
              (SELECT json_agg(json_build_object('stream_id', stream_id, 'version', version)) FROM guard) AS guards,
              ${load !== null ? '(SELECT json_agg(l) FROM loaded l)' : 'NULL::json'} AS loaded
         FROM ok LEFT JOIN head ON true`,
      params,
    );
    if (claimed === undefined || claimed.base === null || claimed.frontier === null || claimed.recorded_at === null) {
      if (claimed !== undefined && !claimed.ok) await this.refused(sql, request, claimed);
      throw new Error(`The log head of ${org} could not be taken; the log cannot be appended to.`);
    }
    const base = Number(claimed.base);
    let loaded = claimed.loaded ?? [];
    if (load !== null && Number(claimed.seen ?? 0) !== base) {
      // Another append of the organisation committed after this statement's snapshot: read again, now
      // that the head is held and nothing can change under it.
      loaded = await sql.query(load.text, load.params);
    }

    const wanted = typeof request.recordedAt === 'function' ? request.recordedAt() : request.recordedAt;
    // The head starts at -infinity (no event yet), which parses to NaN.
    const last = new Date(claimed.recorded_at).getTime();
    const recordedAt = new Date(Number.isFinite(last) ? Math.max(last, wanted.getTime()) : wanted.getTime());
    const recordedText = recordedAt.toISOString();
    const metadata = request.metadata;
    const payload = events.map((event, i) => ({
      position: base + i + 1,
      stream_version: expectedVersion + i + 1,
      type: event.type,
      schema_version: SCHEMA_VERSION[event.type],
      data: event.data,
      quarter_id: tagOf(event, 'quarterId'),
      unit_id: tagOf(event, 'unitId'),
      leaf_hash: '',
    }));
    const leaves = payload.map((row) => {
      const leaf = eventLeafHash({
        organisationId: org,
        position: row.position,
        streamId,
        version: row.stream_version,
        type: row.type,
        schemaVersion: row.schema_version,
        data: row.data,
        metadata,
        recordedAt: recordedText,
      });
      row.leaf_hash = leaf.toString('base64');
      return leaf;
    });
    let grown: ReturnType<typeof appendLeaves>;
    try {
      grown = appendLeaves(claimed.frontier.map((h) => Buffer.from(h, 'base64')), base, leaves);
    } catch (error) {
      throw new Error(`The log head of ${org} does not hold a tree of ${base} events, so nothing can be appended: it was changed. Run \`okr audit verify --full\`.`, { cause: error });
    }
    const nodes = grown.nodes
      .filter((n) => n.level > 0)
      .map((n) => ({ level: n.level, idx: n.index, hash: n.hash.toString('base64') }));
    // As stored: the data goes through JSON, as a read of the log would give it back.
    const recorded = pending.map((event, i) => ({
      ...event,
      data: JSON.parse(JSON.stringify(event.data)) as unknown,
      position: base + i + 1,
      recordedAt: new Date(recordedText),
    }) as RecordedEvent);
    const folded = fold?.write(recorded, loaded) ?? { ctes: [], params: [] };
    // One statement: the head's new frontier and time, the tree's new interior nodes, the events, the fold.
    const [written] = await sql.query<{ events: string }>(
      `WITH head AS (UPDATE okr_log_heads SET frontier = ?::jsonb, recorded_at = ?::timestamptz WHERE organisation_id = ?),
            tree AS (INSERT INTO okr_tree_nodes (organisation_id, level, idx, hash)
                     SELECT ?, n.level, n.idx, decode(n.hash, 'base64')
                       FROM jsonb_to_recordset(?::jsonb) AS n(level smallint, idx bigint, hash text)),
            events AS (INSERT INTO okr_events (position, organisation_id, stream_id, stream_version, type, schema_version,
                                               data, metadata, recorded_at, quarter_id, unit_id, leaf_hash)
                       SELECT e.position, ?, ?, e.stream_version, e.type, e.schema_version, e.data, ?::jsonb,
                              ?::timestamptz, e.quarter_id, e.unit_id, decode(e.leaf_hash, 'base64')
                         FROM jsonb_to_recordset(?::jsonb)
                           AS e(position bigint, stream_version int, type text, schema_version int, data jsonb,
                                quarter_id text, unit_id text, leaf_hash text)
                        ORDER BY e.position
                       RETURNING position)${folded.ctes.map((c) => `,\n${c}`).join('')}
       SELECT count(*) AS events FROM events`,
      [
        JSON.stringify(grown.frontier.map((h) => h.toString('base64'))), recordedText, org,
        org, JSON.stringify(nodes),
        org, streamId, JSON.stringify(metadata), recordedText, JSON.stringify(payload),
        ...folded.params,
      ],
    );
    if (Number(written?.events ?? 0) !== events.length) {
      // Never commit half an append.
      throw new Error(`Appended ${written?.events ?? 0} of ${events.length} events to ${streamId}; the log head of ${org} is damaged.`);
    }
    return recorded;
  }

  /** Throws what refused an append whose checks failed: a reused idempotency key, the stream or a guard moved. */
  private async refused(
    sql: Sql,
    request: AppendRequest,
    claimed: { claimed: string; idem: string | null; guards: { stream_id: string; version: number }[] | null },
  ): Promise<never> {
    const key = request.metadata.idempotencyKey;
    if (claimed.idem !== null && Number(claimed.idem) === 0 && key !== null) throw new IdempotencyRace(key);
    if (Number(claimed.claimed) === 0) {
      throw new ConcurrencyError(request.streamId, request.expectedVersion, await this.streamVersion(sql, request.organisationId, request.streamId));
    }
    const actual = new Map((claimed.guards ?? []).map((g) => [g.stream_id, g.version]));
    for (const guard of request.guards ?? []) {
      const version = actual.get(guard.streamId) ?? 0;
      if (version !== guard.version) throw new ConcurrencyError(guard.streamId, guard.version, version);
    }
    throw new Error(`An append to ${request.streamId} was refused for no reason its statement reported.`);
  }

  /**
   * Share-locks streams a decision relied on, in the caller's transaction, and checks they are still at
   * the versions it read (ConcurrencyError otherwise), before anything is claimed. A command that writes
   * several streams takes these locks first: single-stream commands lock the stream they write before the
   * streams above it they rely on (a key result, then its objective and quarter), and a command that relies
   * on key results while writing their objective must lock in the same order, or the two wait on each other.
   */
  async lockStreams(sql: Sql, organisationId: string, streams: readonly { streamId: string; version: number }[]): Promise<void> {
    if (streams.length === 0) return;
    const rows = await sql.query<{ stream_id: string; version: number }>(
      'SELECT stream_id, version FROM okr_streams WHERE organisation_id = ? AND stream_id = ANY(?::text[]) ORDER BY stream_id FOR SHARE',
      [organisationId, textArray(streams.map((s) => s.streamId))],
    );
    const actual = new Map(rows.map((r) => [r.stream_id, r.version]));
    for (const stream of streams) {
      const version = actual.get(stream.streamId) ?? 0;
      if (version !== stream.version) throw new ConcurrencyError(stream.streamId, stream.version, version);
    }
  }

  async streamVersion(sql: Sql, organisationId: string, streamId: string): Promise<number> {
    const rows = await sql.query<{ version: number }>(
      'SELECT version FROM okr_streams WHERE organisation_id = ? AND stream_id = ?',
      [organisationId, streamId],
    );
    return rows[0]?.version ?? 0;
  }

  /**
   * One stream's events in version order; version 0 and no events when it does not exist.
   * `skipTypes` leaves out events the caller's fold ignores (a key result's check-ins, say); the
   * version is still the stream's own, read in the same statement.
   */
  async readStream(
    sql: Sql,
    organisationId: string,
    streamId: string,
    options: { skipTypes?: readonly string[] } = {},
  ): Promise<StreamRead> {
    if (!options.skipTypes?.length) {
      const rows = await sql.query<EventRow>(
        `SELECT ${EVENT_COLUMNS} FROM okr_events
          WHERE organisation_id = ${ANY_ORGANISATION} AND stream_id = ? ORDER BY stream_version`,
        [organisationId, streamId],
      );
      const events = rows.map(toRecordedEvent);
      return { version: events.at(-1)?.version ?? 0, events };
    }
    const facts = skipsManyPerStream(options.skipTypes);
    const rows = await sql.query<EventRow & { stream_head: number }>(
      `SELECT s.version AS stream_head, ${EVENT_COLUMNS.split(', ').map((c) => `e.${c}`).join(', ')}
         FROM okr_streams s
         LEFT JOIN okr_events e
           ON e.organisation_id = s.organisation_id AND e.stream_id = s.stream_id
          AND ${facts ? `e.type NOT IN (${MANY_PER_STREAM_SQL})` : 'e.type <> ALL(?::text[])'}
        WHERE s.organisation_id = ${ANY_ORGANISATION} AND s.stream_id = ?
        ORDER BY e.stream_version`,
      [...(facts ? [] : [textArray(options.skipTypes)]), organisationId, streamId],
    );
    return {
      version: rows[0]?.stream_head ?? 0,
      events: rows.filter((r) => r.position !== null).map(toRecordedEvent),
    };
  }

  /**
   * Several streams in one statement, each with its true version, and (when asked) the record of a
   * command sent earlier with an idempotency key. A reference `via` another stream names the stream
   * `prefix` + the `field` of that stream's first event (a key result's objective, say), so a command
   * reads what its decision needs in one round trip. A reference that names no stream yet reads as
   * version 0 and no events; one `via` a stream that does not exist is left out.
   */
  async readStreams(
    sql: Sql,
    organisationId: string,
    refs: readonly StreamRef[],
    idempotency: { actor: string; key: string } | null = null,
  ): Promise<StreamsRead> {
    const rows = await sql.query<EventRow & { ref: number; ref_stream: string | null; stream_head: number | null; idem_command: string | null; idem_hash: string | null; idem_result: unknown }>(
      // Each reference is looked up through the stream's own index (LATERAL ... OFFSET 0: one probe per
      // reference, whatever the statistics say), the `via` ones through the first event of the stream naming them.
      // A reference leaving out exactly MANY_PER_STREAM (`facts`) reads the index of the streams' other
      // events; the other branch of the UNION is cut off for it by a one-time filter, and the reverse.
      `WITH refs AS (SELECT * FROM jsonb_to_recordset(?::jsonb) AS r(i int, stream_id text, via text, field text, prefix text, skip text[], facts boolean)),
            ids AS (SELECT r.i, coalesce(r.stream_id, r.prefix || v.named) AS stream_id, coalesce(r.skip, '{}') AS skip, coalesce(r.facts, false) AS facts
                      FROM refs r
                      LEFT JOIN LATERAL (SELECT f.data ->> r.field AS named FROM okr_events f
                                          WHERE f.organisation_id = ${ANY_ORGANISATION} AND f.stream_id = r.via AND f.stream_version = 1 OFFSET 0) v ON r.via IS NOT NULL),
            idem AS (SELECT command, request_hash, result FROM okr_idempotency WHERE organisation_id = ? AND actor = ? AND key = ?)
       SELECT ids.i AS ref, ids.stream_id AS ref_stream, s.version AS stream_head,
              ${EVENT_COLUMNS.split(', ').map((c) => `e.${c}`).join(', ')},
              idem.command AS idem_command, idem.request_hash AS idem_hash, idem.result AS idem_result
         FROM ids
         LEFT JOIN LATERAL (SELECT version FROM okr_streams WHERE organisation_id = ? AND stream_id = ids.stream_id OFFSET 0) s ON true
         LEFT JOIN LATERAL (SELECT ${EVENT_COLUMNS} FROM okr_events
                             WHERE organisation_id = ${ANY_ORGANISATION} AND stream_id = ids.stream_id AND ids.facts AND type NOT IN (${MANY_PER_STREAM_SQL})
                            UNION ALL
                            SELECT ${EVENT_COLUMNS} FROM okr_events
                             WHERE organisation_id = ${ANY_ORGANISATION} AND stream_id = ids.stream_id AND NOT ids.facts AND type <> ALL(ids.skip)) e ON true
         LEFT JOIN idem ON ids.i = 0
        ORDER BY ids.i, e.stream_version`,
      [
        JSON.stringify(refs.map((r, i) => ('via' in r
          ? { i, via: r.via, field: r.field, prefix: r.prefix, skip: r.skipTypes ?? [], facts: skipsManyPerStream(r.skipTypes ?? []) }
          : { i, stream_id: r.streamId, skip: r.skipTypes ?? [], facts: skipsManyPerStream(r.skipTypes ?? []) }))),
        organisationId, organisationId, idempotency?.actor ?? '', idempotency?.key ?? '', organisationId, organisationId, organisationId,
      ],
    );
    const streams: StreamsRead['streams'] = [];
    let record: IdempotencyRecord | null = null;
    for (const row of rows) {
      if (row.ref === 0 && row.idem_command !== null && idempotency !== null) {
        record = { command: row.idem_command, requestHash: row.idem_hash ?? '', result: row.idem_result };
      }
      if (row.ref_stream === null) continue;
      let stream = streams.at(-1);
      if (stream === undefined || stream.ref !== row.ref) {
        const ref = refs[row.ref];
        stream = { ref: row.ref, streamId: row.ref_stream, skipTypes: ref?.skipTypes ?? [], version: row.stream_head ?? 0, events: [] };
        streams.push(stream);
      }
      if (row.position !== null) stream.events.push(toRecordedEvent(row));
    }
    return { streams, idempotency: record };
  }

  /**
   * Events in delivery (position) order (or newest first), filtered. Positions are gap-free and
   * commit-ordered, so paging with the last position seen never skips an event.
   */
  async readAll(sql: Sql, filter: LogFilter): Promise<RecordedEvent[]> {
    return (await this.select(sql, filter)).map(toRecordedEvent);
  }

  /**
   * Events exactly as stored (payloads not upcast), as the leaves of the organisation's tree: what an
   * export writes and what verification recomputes. Same filter and order as readAll.
   */
  async readLeaves(sql: Sql, filter: LogFilter): Promise<LeafEvent[]> {
    return (await this.select(sql, filter)).map(toLeafEvent);
  }

  private async select(sql: Sql, filter: LogFilter): Promise<EventRow[]> {
    const where: string[] = ['organisation_id = ?', 'position > ?'];
    const params: unknown[] = [filter.organisationId, filter.after ?? 0];
    if (filter.before !== undefined) {
      where.push('position < ?');
      params.push(filter.before);
    }
    if (filter.until !== undefined) {
      where.push('recorded_at <= ?::timestamptz');
      params.push(filter.until.toISOString());
    }
    if (filter.streamId !== undefined) {
      where.push('stream_id = ?');
      params.push(filter.streamId);
    }
    if (filter.version !== undefined) {
      where.push('stream_version = ?');
      params.push(filter.version);
    }
    if (filter.quarterId !== undefined) {
      where.push(filter.withUntagged ? '(quarter_id = ? OR quarter_id IS NULL)' : 'quarter_id = ?');
      params.push(filter.quarterId);
    }
    if (filter.unitId !== undefined) {
      where.push('unit_id = ?');
      params.push(filter.unitId);
    }
    if (filter.types !== undefined) {
      where.push('type = ANY(?::text[])');
      params.push(textArray(filter.types));
    }
    params.push(filter.limit ?? 1000);
    return sql.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM okr_events WHERE ${where.join(' AND ')}
        ORDER BY position${filter.newestFirst ? ' DESC' : ''} LIMIT ?`,
      params,
    );
  }

  /** Every event matching `filter`, in order, fetched in pages of `pageSize`. */
  stream(sql: Sql, filter: Omit<LogFilter, 'limit' | 'newestFirst'>, pageSize = 5000): AsyncGenerator<RecordedEvent[]> {
    return this.pages(filter, pageSize, (f) => this.readAll(sql, f));
  }

  /** Like stream, but the events exactly as stored (see readLeaves). */
  streamLeaves(sql: Sql, filter: Omit<LogFilter, 'limit' | 'newestFirst'>, pageSize = 5000): AsyncGenerator<LeafEvent[]> {
    return this.pages(filter, pageSize, (f) => this.readLeaves(sql, f));
  }

  private async *pages<E extends { position: number }>(
    filter: Omit<LogFilter, 'limit' | 'newestFirst'>,
    pageSize: number,
    read: (filter: LogFilter) => Promise<E[]>,
  ): AsyncGenerator<E[]> {
    let after = filter.after ?? 0;
    for (;;) {
      const page = await read({ ...filter, after, limit: pageSize });
      if (page.length === 0) return;
      yield page;
      after = page[page.length - 1]?.position ?? after;
      if (page.length < pageSize) return;
    }
  }

  /** The organisation's highest position appended so far (0 before its first event). */
  async headPosition(sql: Sql, organisationId: string): Promise<number> {
    const rows = await sql.query<{ position: string }>('SELECT position FROM okr_log_heads WHERE organisation_id = ?', [organisationId]);
    return Number(rows[0]?.position ?? 0);
  }

  /** The organisation's head: position, last recorded time, and its tree's frontier and root. */
  async head(sql: Sql, organisationId: string, options: { forUpdate?: boolean } = {}): Promise<LogHead> {
    const rows = await sql.query<{ position: string; recorded_at: string | Date; frontier: string[] }>(
      `SELECT position, recorded_at, frontier FROM okr_log_heads WHERE organisation_id = ?${options.forUpdate ? ' FOR UPDATE' : ''}`,
      [organisationId],
    );
    return toHead(rows[0]);
  }

  /**
   * The organisation's last position recorded at or before `at` (0 before its first event), once it can
   * no longer change: outside a transaction (its share lock on the head row must end with the statement).
   */
  async positionAt(sql: Sql, organisationId: string, at: Date): Promise<number> {
    const read = async () =>
      (
        await sql.query<{ position: string | null; head_at: string | Date | null }>(
          `SELECT (SELECT position FROM okr_events WHERE organisation_id = ? AND recorded_at <= ?::timestamptz
                    ORDER BY recorded_at DESC, position DESC LIMIT 1) AS position,
                  (SELECT recorded_at FROM okr_log_heads WHERE organisation_id = ?) AS head_at`,
          [organisationId, at.toISOString(), organisationId],
        )
      )[0];
    const first = await read();
    // Before the last recorded instant, every event recorded at or before `at` has committed: an append in
    // flight, or any later one, is recorded at or after it. At or after it, an append in flight may be
    // recorded at or before `at` and commit after this read, which would change the answer once given: wait
    // for it (a share lock on the head row waits for the append holding it), then read again.
    const headAt = first?.head_at == null ? Number.NaN : new Date(first.head_at).getTime();
    if (Number.isFinite(headAt) && at.getTime() < headAt) return Number(first?.position ?? 0);
    await sql.query('SELECT 1 FROM okr_log_heads WHERE organisation_id = ? FOR SHARE', [organisationId]);
    return Number((await read())?.position ?? 0);
  }

  /** The record of a command sent earlier by the same actor with the same key, if any. */
  async findIdempotency(sql: Sql, organisationId: string, actor: string, key: string): Promise<IdempotencyRecord | null> {
    const rows = await sql.query<{ command: string; request_hash: string; result: unknown }>(
      'SELECT command, request_hash, result FROM okr_idempotency WHERE organisation_id = ? AND actor = ? AND key = ?',
      [organisationId, actor, key],
    );
    const row = rows[0];
    return row ? { command: row.command, requestHash: row.request_hash, result: row.result } : null;
  }
}
