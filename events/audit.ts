import { createHash } from 'node:crypto';
import { GENESIS_HASH, chainHash, contentHash, type HashedEvent } from './hash';
import type { Sql } from './sql';

interface RawRow {
  position: string;
  organisation_id: string;
  stream_id: string;
  stream_version: number;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: unknown;
  recorded_at: string | Date;
  quarter_id: string | null;
  unit_id: string | null;
  hash: string;
}

/** The log's quarter and unit indexes are derived from each event's data; they must agree with it. */
const tag = (data: unknown, key: 'quarterId' | 'unitId'): string | null => {
  const value = data !== null && typeof data === 'object' ? (data as Record<string, unknown>)[key] : undefined;
  return typeof value === 'string' ? value : null;
};

const toHashed = (r: RawRow): HashedEvent => ({
  position: Number(r.position),
  organisationId: r.organisation_id,
  streamId: r.stream_id,
  version: r.stream_version,
  type: r.type,
  schemaVersion: r.schema_version,
  data: r.data,
  metadata: r.metadata,
  recordedAt: new Date(r.recorded_at).toISOString(),
});

/** Stored rows in position order, page by page, exactly as stored (no upcasting). */
async function* rows(sql: Sql, where = 'TRUE', params: unknown[] = [], pageSize = 5000): AsyncGenerator<RawRow[]> {
  let after = 0;
  for (;;) {
    const page = await sql.query<RawRow>(
      `SELECT position, organisation_id, stream_id, stream_version, type, schema_version, data, metadata, recorded_at,
              quarter_id, unit_id, hash
         FROM okr_events WHERE position > ? AND ${where} ORDER BY position LIMIT ?`,
      [after, ...params, pageSize],
    );
    if (page.length === 0) return;
    yield page;
    after = Number(page[page.length - 1]?.position);
  }
}

export interface ChainVerification {
  ok: boolean;
  eventsChecked: number;
  /** The first position where the log no longer matches its chain (null when it all matches). */
  firstBrokenPosition: number | null;
  /** What was found there, for a person to act on. */
  reason: string | null;
}

/** The longest stretch verification computes without letting other work run (milliseconds). */
const TIME_SLICE_MS = 2;

/**
 * Recomputes the whole chain from the stored events and compares it with the stored hashes, the
 * positions (a gap means a removed event), the quarter and unit indexes (derived from the data), and
 * the head row (a shorter log means a removed tail). Run it inside one REPEATABLE READ transaction so
 * that appends committing meanwhile are not mistaken for tampering (see verifyInSnapshot).
 * With `organisationId`, eventsChecked counts only that organisation's events (the chain is whole-log).
 */
export async function verifyChain(sql: Sql, options: { organisationId?: string } = {}): Promise<ChainVerification> {
  let previous = GENESIS_HASH;
  let expected = 1;
  let checked = 0;
  const broken = (position: number, reason: string): ChainVerification => ({
    ok: false,
    eventsChecked: checked,
    firstBrokenPosition: position,
    reason,
  });
  let slice = performance.now();
  // Pages of 1000: each page's rows are parsed in one go, which is also time other requests wait.
  for await (const page of rows(sql, 'TRUE', [], 1000)) {
    for (const row of page) {
      // Hashing is CPU work on the server's only thread: hand it back every few milliseconds so that
      // a long verification does not hold up every other request meanwhile.
      if (performance.now() - slice >= TIME_SLICE_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        slice = performance.now();
      }
      const position = Number(row.position);
      if (position !== expected) {
        return broken(expected, `event ${expected}${position > expected + 1 ? ` to ${position - 1}` : ''} is missing from the log`);
      }
      const hash = chainHash(previous, toHashed(row));
      if (options.organisationId === undefined || row.organisation_id === options.organisationId) checked += 1;
      if (hash !== row.hash) {
        return broken(position, `event ${position} (${row.type} on ${row.stream_id}) does not match its hash: its content or a predecessor was changed`);
      }
      if (row.quarter_id !== tag(row.data, 'quarterId') || row.unit_id !== tag(row.data, 'unitId')) {
        return broken(position, `event ${position} (${row.type} on ${row.stream_id}) is filed under another quarter or unit than its data names`);
      }
      previous = hash;
      expected += 1;
    }
  }
  const [head] = await sql.query<{ position: string; last_hash: string }>('SELECT position, last_hash FROM okr_log_head WHERE id = 1');
  if (head === undefined) return broken(expected, 'the log head is missing');
  if (Number(head.position) !== expected - 1 || head.last_hash !== previous) {
    return broken(expected, `the log ends at ${expected - 1} but its head says ${head.position}: events at the end were removed or the head was changed`);
  }
  return { ok: true, eventsChecked: checked, firstBrokenPosition: null, reason: null };
}

export interface QuarterDigest {
  organisationId: string;
  quarterId: string;
  events: number;
  firstPosition: number | null;
  lastPosition: number | null;
  lastRecordedAt: string | null;
  /** sha256 over the content hashes of the quarter's events, in position order. */
  digest: string;
}

/**
 * A digest of one quarter's events that an auditor can keep and compare later without database
 * access: it changes if any of the quarter's events is changed, removed or added, and only then.
 */
export async function quarterDigest(sql: Sql, organisationId: string, quarterId: string): Promise<QuarterDigest> {
  const digest = createHash('sha256');
  let events = 0;
  let first: number | null = null;
  let last: RawRow | null = null;
  for await (const page of rows(sql, 'organisation_id = ? AND quarter_id = ?', [organisationId, quarterId])) {
    for (const row of page) {
      digest.update(contentHash(toHashed(row)));
      events += 1;
      first ??= Number(row.position);
      last = row;
    }
  }
  return {
    organisationId,
    quarterId,
    events,
    firstPosition: first,
    lastPosition: last ? Number(last.position) : null,
    lastRecordedAt: last ? new Date(last.recorded_at).toISOString() : null,
    digest: digest.digest('hex'),
  };
}
