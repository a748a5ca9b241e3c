import {
  SCHEMA_VERSION,
  type DomainEvent,
  type EventMetadata,
  type RecordedEvent,
  type StreamType,
} from './catalogue';
import { ConcurrencyError, IdempotencyRace } from './errors';
import { chainHash } from './hash';
import { textArray, type Sql } from './sql';
import { upcast } from './upcasters';

/**
 * The append-only event log.
 *
 * Ordering: every append updates the single row of
 * okr_log_head inside its transaction, which both serialises appends and hands out positions.
 * A transaction holding the head row has all lower positions committed (or rolled back, in which
 * case the counter rolled back too), so positions are gap-free and visible in commit order: a
 * reader that remembers "the last position I saw" can never skip an event. The cost is that the
 * final part of every append (event insert, inline projections, commit) runs one at a time; see
 * docs/PERFORMANCE.md for what that costs.
 *
 * recorded_at is never earlier than its predecessor's, so "the log as of instant T" is a prefix.
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
}

/** Which events to read; every field narrows. */
export interface LogFilter {
  organisationId?: string;
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

export interface IdempotencyRecord {
  command: string;
  requestHash: string;
  result: unknown;
}

interface EventRow {
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

const EVENT_COLUMNS =
  'position, organisation_id, stream_id, stream_version, type, schema_version, data, metadata, recorded_at';

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
   * recorded. Throws ConcurrencyError (appending nothing) when the stream or a guard moved.
   */
  async append(sql: Sql, request: AppendRequest): Promise<RecordedEvent[]> {
    const { organisationId: org, streamId, expectedVersion, events } = request;
    if (events.length === 0) return [];
    const idempotencyKey = request.metadata.idempotencyKey;
    if (idempotencyKey !== null && request.idempotency) {
      const claimed = await sql.query(
        `INSERT INTO okr_idempotency (organisation_id, actor, key, command, request_hash, result, stream_id)
         VALUES (?, ?, ?, ?, ?, ?::jsonb, ?) ON CONFLICT DO NOTHING RETURNING key`,
        [org, request.metadata.actor, idempotencyKey, request.idempotency.command, request.idempotency.requestHash,
          JSON.stringify(request.idempotency.result ?? null), streamId],
      );
      if (claimed.length === 0) throw new IdempotencyRace(idempotencyKey);
    }

    // The stream-version write is the optimistic concurrency check, and it holds the stream's row
    // lock until commit, so a concurrent writer of this stream waits, then fails its check.
    const newVersion = expectedVersion + events.length;
    const claimed =
      expectedVersion === 0
        ? await sql.query(
            `INSERT INTO okr_streams (organisation_id, stream_id, stream_type, version)
             VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING version`,
            [org, streamId, request.streamType, newVersion],
          )
        : await sql.query(
            `UPDATE okr_streams SET version = ?
             WHERE organisation_id = ? AND stream_id = ? AND version = ? RETURNING version`,
            [newVersion, org, streamId, expectedVersion],
          );
    if (claimed.length === 0) {
      throw new ConcurrencyError(streamId, expectedVersion, await this.streamVersion(sql, org, streamId));
    }

    const guards = request.guards ?? [];
    if (guards.length > 0) {
      const rows = await sql.query<{ stream_id: string; version: number }>(
        `SELECT stream_id, version FROM okr_streams
         WHERE organisation_id = ? AND stream_id = ANY(?::text[])
         ORDER BY stream_id FOR SHARE`,
        [org, textArray(guards.map((g) => g.streamId))],
      );
      const actual = new Map(rows.map((r) => [r.stream_id, r.version]));
      for (const guard of guards) {
        const version = actual.get(guard.streamId) ?? 0;
        if (version !== guard.version) throw new ConcurrencyError(guard.streamId, guard.version, version);
      }
    }

    // Taking the head row serialises this last step across all writers (see the class comment); it
    // hands out the positions, the recorded time and the hash the new events chain from.
    const [head] = await sql.query<{ base: string; recorded_at: string | Date; last_hash: string }>(
      `UPDATE okr_log_head SET position = position + ? WHERE id = 1
        RETURNING position - ? AS base, recorded_at, last_hash`,
      [events.length, events.length],
    );
    if (head === undefined) throw new Error('okr_log_head is missing; the log cannot be appended to.');
    const base = Number(head.base);
    const wanted = typeof request.recordedAt === 'function' ? request.recordedAt() : request.recordedAt;
    // The head starts at -infinity (no event yet), which parses to NaN.
    const last = new Date(head.recorded_at).getTime();
    const recordedAt = new Date(Number.isFinite(last) ? Math.max(last, wanted.getTime()) : wanted.getTime()).toISOString();
    const metadata = request.metadata;
    let previous = head.last_hash;
    const payload = events.map((event, i) => {
      const row = {
        position: base + i + 1,
        stream_version: expectedVersion + i + 1,
        type: event.type,
        schema_version: SCHEMA_VERSION[event.type],
        data: event.data,
        quarter_id: tagOf(event, 'quarterId'),
        unit_id: tagOf(event, 'unitId'),
        hash: '',
      };
      previous = chainHash(previous, {
        position: row.position,
        organisationId: org,
        streamId,
        version: row.stream_version,
        type: row.type,
        schemaVersion: row.schema_version,
        data: row.data,
        metadata,
        recordedAt,
      });
      row.hash = previous;
      return row;
    });
    const rows = await sql.query<EventRow>(
      `WITH chained AS (UPDATE okr_log_head SET last_hash = ?, recorded_at = ?::timestamptz WHERE id = 1)
       INSERT INTO okr_events (position, organisation_id, stream_id, stream_version, type, schema_version,
                               data, metadata, recorded_at, quarter_id, unit_id, hash)
       SELECT e.position, ?, ?, e.stream_version, e.type, e.schema_version, e.data, ?::jsonb,
              ?::timestamptz, e.quarter_id, e.unit_id, e.hash
         FROM jsonb_to_recordset(?::jsonb)
           AS e(position bigint, stream_version int, type text, schema_version int, data jsonb,
                quarter_id text, unit_id text, hash text)
        ORDER BY e.position
       RETURNING ${EVENT_COLUMNS}`,
      [previous, recordedAt, org, streamId, JSON.stringify(metadata), recordedAt, JSON.stringify(payload)],
    );
    if (rows.length !== events.length) {
      // Never commit half an append.
      throw new Error(`Appended ${rows.length} of ${events.length} events to ${streamId}; okr_log_head is damaged.`);
    }
    return rows.map(toRecordedEvent).sort((a, b) => a.position - b.position);
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
          WHERE organisation_id = ? AND stream_id = ? ORDER BY stream_version`,
        [organisationId, streamId],
      );
      const events = rows.map(toRecordedEvent);
      return { version: events.at(-1)?.version ?? 0, events };
    }
    const rows = await sql.query<EventRow & { stream_head: number }>(
      `SELECT s.version AS stream_head, ${EVENT_COLUMNS.split(', ').map((c) => `e.${c}`).join(', ')}
         FROM okr_streams s
         LEFT JOIN okr_events e
           ON e.organisation_id = s.organisation_id AND e.stream_id = s.stream_id
          AND e.type <> ALL(?::text[])
        WHERE s.organisation_id = ? AND s.stream_id = ?
        ORDER BY e.stream_version`,
      [textArray(options.skipTypes), organisationId, streamId],
    );
    return {
      version: rows[0]?.stream_head ?? 0,
      events: rows.filter((r) => r.position !== null).map(toRecordedEvent),
    };
  }

  /**
   * Events in delivery (position) order (or newest first), filtered. Positions are gap-free and
   * commit-ordered, so paging with the last position seen never skips an event.
   */
  async readAll(sql: Sql, filter: LogFilter = {}): Promise<RecordedEvent[]> {
    const where: string[] = ['position > ?'];
    const params: unknown[] = [filter.after ?? 0];
    if (filter.organisationId !== undefined) {
      where.push('organisation_id = ?');
      params.push(filter.organisationId);
    }
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
    const rows = await sql.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM okr_events WHERE ${where.join(' AND ')}
        ORDER BY position${filter.newestFirst ? ' DESC' : ''} LIMIT ?`,
      params,
    );
    return rows.map(toRecordedEvent);
  }

  /** Every event matching `filter`, in order, fetched in pages of `pageSize`. */
  async *stream(sql: Sql, filter: Omit<LogFilter, 'limit' | 'newestFirst'> = {}, pageSize = 5000): AsyncGenerator<RecordedEvent[]> {
    let after = filter.after ?? 0;
    for (;;) {
      const page = await this.readAll(sql, { ...filter, after, limit: pageSize });
      if (page.length === 0) return;
      yield page;
      after = page[page.length - 1]?.position ?? after;
      if (page.length < pageSize) return;
    }
  }

  /** The highest position appended so far (0 for an empty log). */
  async headPosition(sql: Sql): Promise<number> {
    const rows = await sql.query<{ position: string }>('SELECT position FROM okr_log_head WHERE id = 1');
    return Number(rows[0]?.position ?? 0);
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
