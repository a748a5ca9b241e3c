import { createHash } from 'node:crypto';
import { checkpointProblem, checkpointsBetween, type CheckpointSigning } from './checkpoints';
import { eventLeafHash } from './leaf';
import { appendLeaves, frontierRefs, rootFromFrontier, type Hash, type NodeRef } from './merkle';
import { NoteFormatError, NoteVerificationError, openNote, signNote } from './note';
import type { Sql } from './sql';
import { toLeafEvent, type EventRow } from './store';
import { b64, storedNodes } from './tree';

/** A stored row with what verification compares besides the leaf. */
interface RawRow extends EventRow {
  quarter_id: string | null;
  unit_id: string | null;
  leaf_hash: Buffer;
  /** Microseconds past the millisecond: the log records milliseconds, so anything else was edited in. */
  sub_ms: string;
}

/** The log's quarter and unit indexes are derived from each event's data; they must agree with it. */
const tag = (data: unknown, key: 'quarterId' | 'unitId'): string | null => {
  const value = data !== null && typeof data === 'object' ? (data as Record<string, unknown>)[key] : undefined;
  return typeof value === 'string' ? value : null;
};

const leafOf = (r: RawRow): Hash => eventLeafHash(toLeafEvent(r));

/** One organisation's stored rows in position order, page by page, exactly as stored (no upcasting). */
async function* rows(sql: Sql, organisationId: string, after: number, where = 'TRUE', params: unknown[] = [], pageSize = 1000): AsyncGenerator<RawRow[]> {
  for (;;) {
    const page = await sql.query<RawRow>(
      `SELECT position, organisation_id, stream_id, stream_version, type, schema_version, data, metadata, recorded_at,
              quarter_id, unit_id, leaf_hash, (extract(microseconds FROM recorded_at)::bigint % 1000) AS sub_ms
         FROM okr_events WHERE organisation_id = ? AND position > ? AND ${where} ORDER BY position LIMIT ?`,
      [organisationId, after, ...params, pageSize],
    );
    if (page.length === 0) return;
    yield page;
    after = Number(page[page.length - 1]?.position);
  }
}

export interface LogVerification {
  ok: boolean;
  organisationId: string;
  /** True when the whole log was recomputed; false when the check began at an earlier verified checkpoint. */
  full: boolean;
  /** The tree size the check began at: everything up to it was covered by an earlier verified, signed checkpoint. */
  checkedFrom: number;
  /** The organisation's log size (head) checked up to. */
  treeSize: number;
  /** The recomputed root at treeSize (standard base64), when the log matches. */
  rootHash: string | null;
  eventsChecked: number;
  /** Signed checkpoints whose signature and root were checked against the recomputed tree. */
  checkpointsChecked: number;
  /** The first position where the log no longer matches (null when it all matches). */
  firstBrokenPosition: number | null;
  /** What was found there, for a person to act on. */
  reason: string | null;
}

/** The longest stretch verification computes without letting other work run (milliseconds). */
const TIME_SLICE_MS = 2;

export interface VerifyOptions {
  /** Recompute from the first event even when an earlier verified checkpoint covers a prefix. */
  full?: boolean;
  /** The service's keys: checkpoints and verification records must carry a valid signature by one of them. */
  signing: CheckpointSigning;
}

/** The first line of a verification record's signed text, so it can never pass for a checkpoint. */
const VERIFIED = 'okr-ledger verified';

/** The signed text of "the log of `origin` was recomputed up to `size` events and gave `root`". */
const verifiedText = (origin: string, size: number, root: string): string => `${VERIFIED}\n${origin}\n${size}\n${root}\n`;

/**
 * Where an incremental check may begin: the size of the last verification, if its record carries a
 * valid signature over exactly that origin, size and root (the row alone is only what the database says).
 */
function verifiedStart(note: string, origin: string, size: number, root: Buffer, signing: CheckpointSigning): boolean {
  try {
    return openNote(note, signing.verifiers).text === verifiedText(origin, size, root.toString('base64'));
  } catch (error) {
    if (error instanceof NoteFormatError || error instanceof NoteVerificationError) return false;
    throw error;
  }
}

/**
 * Recomputes the organisation's Merkle tree from its stored events and compares it with what is stored
 * and signed: each event's leaf hash (an edited event shows at its own position), the complete subtrees
 * above them, the positions (a gap means a removed event), the quarter and unit indexes (derived from
 * the data), every signed checkpoint on the way (signature and root) and the head (a shorter log means a
 * removed tail). Other organisations' logs are not read.
 *
 * Without `full`, the check begins at the tree size of the last verification, provided its signed record
 * still verifies and the stored subtrees still give its root: repeated calls only recompute what was
 * appended since (an edit before that point needs `full`). Run inside one REPEATABLE READ transaction (inSnapshot) so that appends
 * committing meanwhile are not mistaken for tampering.
 */
export async function verifyLog(sql: Sql, organisationId: string, options: VerifyOptions): Promise<LogVerification> {
  const [head] = await sql.query<{ position: string; frontier: string[]; recorded_at: Date | string }>(
    'SELECT position, frontier, recorded_at FROM okr_log_heads WHERE organisation_id = ?',
    [organisationId],
  );
  const headSize = Number(head?.position ?? 0);
  const fetch = storedNodes(sql, organisationId);
  let from = 0;
  let frontier: Hash[] = [];
  let checked = 0;
  let checkpoints = 0;
  const result = (partial: Partial<LogVerification>): LogVerification => ({
    ok: false,
    organisationId,
    full: from === 0,
    checkedFrom: from,
    treeSize: headSize,
    rootHash: null,
    eventsChecked: checked,
    checkpointsChecked: checkpoints,
    firstBrokenPosition: null,
    reason: null,
    ...partial,
  });

  // Where to begin: the last verified size, if its signed record still holds and the stored tree gives it.
  if (!options.full) {
    const [last] = await sql.query<{ tree_size: string; root_hash: Buffer; note: string }>(
      'SELECT tree_size, root_hash, note FROM okr_audit_verifications WHERE organisation_id = ?',
      [organisationId],
    );
    const size = Number(last?.tree_size ?? 0);
    const origin = options.signing.originOf(organisationId);
    if (last && size > 0 && size <= headSize && verifiedStart(last.note, origin, size, Buffer.from(last.root_hash), options.signing)) {
      const stored = await fetch(frontierRefs(size));
      const complete = stored.filter((h): h is Hash => h !== null);
      // A missing node, or one that no longer gives the signed root: start from the first event.
      if (complete.length === stored.length && rootFromFrontier(complete).equals(Buffer.from(last.root_hash))) {
        from = size;
        frontier = complete;
      }
    }
  }

  const later = await sql.query<{ tree_size: string }>('SELECT max(tree_size) AS tree_size FROM okr_checkpoints WHERE organisation_id = ?', [organisationId]);
  const signedUpTo = Number(later[0]?.tree_size ?? 0);
  if (signedUpTo > headSize) {
    return result({
      firstBrokenPosition: headSize + 1,
      reason: `a checkpoint was signed at size ${signedUpTo} but the log now ends at ${headSize}: events at the end were removed or the head was changed`,
    });
  }
  const due = await checkpointsBetween(sql, organisationId, from, headSize);
  let nextCheckpoint = 0;

  let size = from;
  let lastRecordedAt = 0;
  let slice = performance.now();
  for await (const page of rows(sql, organisationId, from, 'position <= ?', [headSize])) {
    const completed: { ref: NodeRef; hash: Hash; firstPosition: number; lastPosition: number }[] = [];
    for (const row of page) {
      // Hashing is CPU work on the server's only thread: hand it back every few milliseconds.
      if (performance.now() - slice >= TIME_SLICE_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        slice = performance.now();
      }
      const position = Number(row.position);
      const expected = size + 1;
      if (position !== expected) {
        return result({ firstBrokenPosition: expected, reason: `event ${expected}${position > expected + 1 ? ` to ${position - 1}` : ''} is missing from the log` });
      }
      const leaf = leafOf(row);
      checked += 1;
      if (Number(row.sub_ms) !== 0) {
        return result({ firstBrokenPosition: position, reason: `event ${position} (${row.type} on ${row.stream_id}) has a recorded time finer than the millisecond the log records: it was changed` });
      }
      if (!leaf.equals(Buffer.from(row.leaf_hash))) {
        return result({ firstBrokenPosition: position, reason: `event ${position} (${row.type} on ${row.stream_id}) does not match its leaf hash: its content was changed` });
      }
      if (row.quarter_id !== tag(row.data, 'quarterId') || row.unit_id !== tag(row.data, 'unitId')) {
        return result({ firstBrokenPosition: position, reason: `event ${position} (${row.type} on ${row.stream_id}) is filed under another quarter or unit than its data names` });
      }
      const grown = appendLeaves(frontier, size, [leaf]);
      for (const node of grown.nodes) {
        if (node.level === 0) continue;
        const width = 2 ** node.level;
        completed.push({ ref: { level: node.level, index: node.index }, hash: node.hash, firstPosition: node.index * width + 1, lastPosition: (node.index + 1) * width });
      }
      frontier = grown.frontier;
      size = position;
      lastRecordedAt = new Date(row.recorded_at).getTime();
      for (let cp = due[nextCheckpoint]; cp !== undefined && cp.treeSize === size; cp = due[++nextCheckpoint]) {
        const problem = checkpointProblem(cp, options.signing.verifiers);
        if (problem !== null) return result({ firstBrokenPosition: size, reason: `the checkpoint signed at size ${size}: ${problem}` });
        if (!rootFromFrontier(frontier).equals(cp.rootHash)) {
          return result({ firstBrokenPosition: size, reason: `the log up to ${size} no longer gives the root signed in its checkpoint: an event up to ${size} was changed together with its stored hashes` });
        }
        checkpoints += 1;
      }
    }
    // The stored subtrees must be the ones recomputed: proofs are built from them.
    const stored = await fetch(completed.map((c) => c.ref));
    const bad = completed.findIndex((c, i) => !c.hash.equals(stored[i] ?? Buffer.alloc(0)));
    if (bad >= 0) {
      const node = completed[bad] as (typeof completed)[number];
      const what = stored[bad] === null ? 'is missing' : 'does not match those events';
      return result({ firstBrokenPosition: node.firstPosition, reason: `the stored tree node over positions ${node.firstPosition} to ${node.lastPosition} ${what}` });
    }
  }
  if (size !== headSize) {
    return result({ firstBrokenPosition: size + 1, reason: `the log ends at ${size} but its head says ${headSize}: events at the end were removed or the head was changed` });
  }
  const [beyond] = await sql.query<{ position: string }>(
    'SELECT position FROM okr_events WHERE organisation_id = ? AND position > ? ORDER BY position LIMIT 1',
    [organisationId, headSize],
  );
  if (beyond !== undefined) {
    return result({ firstBrokenPosition: headSize + 1, reason: `event ${beyond.position} lies past the head (${headSize}): it was inserted behind the log's back` });
  }
  // The head must hold exactly the recomputed frontier (appends extend it) and the last recorded time
  // (appends are never stamped before it).
  const headFrontier = (head?.frontier ?? []).map((h) => Buffer.from(h, 'base64'));
  if (headFrontier.length !== frontier.length || headFrontier.some((h, i) => !h.equals(frontier[i] as Hash))) {
    return result({ firstBrokenPosition: size, reason: `the head's record of the tree does not match the log's ${size} events: the head was changed` });
  }
  if (checked === 0 && size > 0) {
    const [last] = await sql.query<{ recorded_at: Date | string }>('SELECT recorded_at FROM okr_events WHERE organisation_id = ? AND position = ?', [organisationId, size]);
    lastRecordedAt = new Date(last?.recorded_at ?? 0).getTime();
  }
  if (size > 0 && new Date(head?.recorded_at ?? 0).getTime() !== lastRecordedAt) {
    return result({ firstBrokenPosition: size, reason: `the head's recorded time is not that of event ${size}: the head was changed` });
  }
  return result({ ok: true, rootHash: b64(rootFromFrontier(frontier)) });
}

/**
 * Remembers a successful verification, signed, so that the next one begins there: a later check trusts
 * this point only while its signature verifies (a row anyone with the database could write is not enough).
 */
export async function recordVerification(sql: Sql, result: LogVerification, signing: CheckpointSigning, at: Date): Promise<void> {
  if (!result.ok || result.rootHash === null || result.treeSize === 0) return;
  const note = signNote(verifiedText(signing.originOf(result.organisationId), result.treeSize, result.rootHash), [signing.signer]);
  await sql.query(
    `INSERT INTO okr_audit_verifications (organisation_id, tree_size, root_hash, note, verified_at)
     VALUES (?, ?, decode(?, 'base64'), ?, ?::timestamptz)
     ON CONFLICT (organisation_id) DO UPDATE
       SET tree_size = EXCLUDED.tree_size, root_hash = EXCLUDED.root_hash, note = EXCLUDED.note, verified_at = EXCLUDED.verified_at
     WHERE okr_audit_verifications.tree_size <= EXCLUDED.tree_size`,
    [result.organisationId, result.treeSize, result.rootHash, note, at.toISOString()],
  );
}

export interface QuarterDigest {
  organisationId: string;
  quarterId: string;
  events: number;
  firstPosition: number | null;
  lastPosition: number | null;
  lastRecordedAt: string | null;
  /** SHA-256 (hex) over the quarter's events' leaf hashes (32 bytes each), in position order. */
  digest: string;
}

/**
 * A digest of one quarter's events that an auditor can keep and compare later without database access:
 * the hash of the quarter's leaves of the organisation's tree, recomputed from the events themselves.
 * It changes if any of the quarter's events is changed, removed or added, and only then; each of those
 * leaves can also be proven against a signed checkpoint (README, Audit).
 */
export async function quarterDigest(sql: Sql, organisationId: string, quarterId: string): Promise<QuarterDigest> {
  const digest = createHash('sha256');
  let events = 0;
  let first: number | null = null;
  let last: RawRow | null = null;
  for await (const page of rows(sql, organisationId, 0, 'quarter_id = ?', [quarterId], 5000)) {
    for (const row of page) {
      digest.update(leafOf(row));
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
