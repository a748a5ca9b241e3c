import { TreeInconsistentError } from './errors';
import { frontierRefs, rootFromFrontier, type Hash } from './merkle';
import { formatCheckpoint, openNote, parseCheckpoint, signNote, type NoteSigner, type NoteVerifier } from './note';
import type { Sql } from './sql';
import { nodeFetcher } from './tree';

/*
 * Signed checkpoints (C2SP tlog-checkpoint in a C2SP signed note, Ed25519): the service's signed word
 * for "organisation X's log had N events and this root hash". An auditor who keeps one can later check
 * any event (an inclusion proof) or any later checkpoint (a consistency proof) against it without the
 * database. Recorded at every quarter close and on request; before signing, the stored tree is checked
 * against the last checkpoint, so two checkpoints the service signs are always consistent.
 */

/** Who signs, whose signatures count, and the origin line of each organisation's checkpoints. */
export interface CheckpointSigning {
  signer: NoteSigner;
  /** The keys whose checkpoints this deployment accepts: its own first, then earlier ones (after a key rotation). */
  verifiers: readonly NoteVerifier[];
  /** The checkpoint origin of an organisation: names the deployment and the organisation. */
  originOf(organisationId: string): string;
}

/**
 * What is wrong with a stored checkpoint, or null when it holds: a valid signature by one of the
 * accepted keys (the one its row names), and a signed text that says what its row records. Rows are
 * only what the database says; the signature is what an auditor can rely on.
 */
export function checkpointProblem(cp: StoredCheckpoint, verifiers: readonly NoteVerifier[]): string | null {
  const keys = verifiers.filter((v) => v.name === cp.keyName);
  if (keys.length === 0) return `it names key "${cp.keyName}", which this deployment does not accept (OKR_CHECKPOINT_PREVIOUS_KEYS lists earlier keys)`;
  let text: string;
  try {
    text = openNote(cp.note, keys).text;
  } catch (error) {
    return `its signature does not verify with the accepted keys (${(error as Error).message})`;
  }
  try {
    const body = parseCheckpoint(text);
    if (body.size !== cp.treeSize || !body.root.equals(cp.rootHash) || body.origin !== cp.origin) return 'its signed text does not say what its row records';
  } catch (error) {
    return `its signed text is not a checkpoint (${(error as Error).message})`;
  }
  return null;
}

export interface StoredCheckpoint {
  organisationId: string;
  treeSize: number;
  rootHash: Hash;
  origin: string;
  keyName: string;
  /** The signed note, exactly as signed. */
  note: string;
  signedAt: Date;
}

interface CheckpointRow {
  organisation_id: string;
  tree_size: string;
  root_hash: Buffer;
  origin: string;
  key_name: string;
  note: string;
  signed_at: Date | string;
}

const COLUMNS = 'organisation_id, tree_size, root_hash, origin, key_name, note, signed_at';

const toCheckpoint = (r: CheckpointRow): StoredCheckpoint => ({
  organisationId: r.organisation_id,
  treeSize: Number(r.tree_size),
  rootHash: Buffer.from(r.root_hash),
  origin: r.origin,
  keyName: r.key_name,
  note: r.note,
  signedAt: new Date(r.signed_at),
});

/** The organisation's latest checkpoint (largest tree), or null when none was signed yet. */
export async function latestCheckpoint(sql: Sql, organisationId: string): Promise<StoredCheckpoint | null> {
  const rows = await sql.query<CheckpointRow>(
    `SELECT ${COLUMNS} FROM okr_checkpoints WHERE organisation_id = ? ORDER BY tree_size DESC LIMIT 1`,
    [organisationId],
  );
  return rows[0] ? toCheckpoint(rows[0]) : null;
}

/** The organisation's checkpoints with tree sizes in (after, upTo], smallest first. */
export async function checkpointsBetween(sql: Sql, organisationId: string, after: number, upTo: number): Promise<StoredCheckpoint[]> {
  const rows = await sql.query<CheckpointRow>(
    `SELECT ${COLUMNS} FROM okr_checkpoints WHERE organisation_id = ? AND tree_size > ? AND tree_size <= ? ORDER BY tree_size`,
    [organisationId, after, upTo],
  );
  return rows.map(toCheckpoint);
}

/** The checkpoint of exactly `treeSize`, if one was signed. */
export async function checkpointAt(sql: Sql, organisationId: string, treeSize: number): Promise<StoredCheckpoint | null> {
  const rows = await sql.query<CheckpointRow>(`SELECT ${COLUMNS} FROM okr_checkpoints WHERE organisation_id = ? AND tree_size = ?`, [
    organisationId,
    treeSize,
  ]);
  return rows[0] ? toCheckpoint(rows[0]) : null;
}

/**
 * Signs and records a checkpoint of the organisation's log at its head, inside the caller's
 * transaction; returns the latest one unchanged when the head has not moved since. Takes the head row
 * (appends of the organisation wait for the commit; an append's own transaction already holds it).
 *
 * Refuses (TreeInconsistentError) when the stored tree does not give the head's root, or no longer
 * gives the root of the last checkpoint at its size: what is signed stays consistent with what was.
 */
export async function recordCheckpoint(sql: Sql, organisationId: string, signing: CheckpointSigning, at: Date): Promise<StoredCheckpoint | null> {
  const [head] = await sql.query<{ position: string; frontier: string[] }>(
    'SELECT position, frontier FROM okr_log_heads WHERE organisation_id = ? FOR UPDATE',
    [organisationId],
  );
  const size = Number(head?.position ?? 0);
  if (size === 0) return null;
  const latest = await latestCheckpoint(sql, organisationId);
  if (latest !== null && latest.treeSize === size) return latest;
  const fetch = nodeFetcher(sql, organisationId);
  // The head's frontier must be exactly the stored complete subtrees of its size: appends extend it.
  const stored = await fetch(frontierRefs(size));
  const frontier = (head?.frontier ?? []).map((h) => Buffer.from(h, 'base64'));
  if (frontier.length !== stored.length || frontier.some((h, i) => !h.equals(stored[i] as Hash))) {
    throw new TreeInconsistentError(`The head of ${organisationId} does not record the stored tree of ${size} events; no checkpoint was signed. Run \`okr audit verify --full\`.`);
  }
  const root = rootFromFrontier(stored);
  if (latest !== null) {
    // The earlier root as signed, not as its row says: the row could have been rewritten with the tree.
    const problem = checkpointProblem(latest, signing.verifiers);
    if (problem !== null) {
      throw new TreeInconsistentError(`The latest checkpoint of ${organisationId} (size ${latest.treeSize}) does not hold: ${problem}; no checkpoint was signed.`);
    }
    if (latest.treeSize > size || !rootFromFrontier(await fetch(frontierRefs(latest.treeSize))).equals(latest.rootHash)) {
      throw new TreeInconsistentError(
        `The stored tree of ${organisationId} no longer gives the root signed at size ${latest.treeSize}; no checkpoint was signed. Run \`okr audit verify --full\`.`,
      );
    }
  }
  return signCheckpoint(sql, organisationId, size, root, signing, at);
}

/**
 * Signs and records the checkpoint of `size` with `root`, which the caller has established (from the
 * head, or by recomputing the tree); returns the one already recorded at that size if there is one.
 */
export async function signCheckpoint(
  sql: Sql,
  organisationId: string,
  size: number,
  root: Hash,
  signing: CheckpointSigning,
  at: Date,
): Promise<StoredCheckpoint> {
  const origin = signing.originOf(organisationId);
  const note = signNote(formatCheckpoint({ origin, size, root }), [signing.signer]);
  const rows = await sql.query<CheckpointRow>(
    `INSERT INTO okr_checkpoints (organisation_id, tree_size, root_hash, origin, key_name, note, signed_at)
     VALUES (?, ?, decode(?, 'base64'), ?, ?, ?, ?::timestamptz) ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
    [organisationId, size, root.toString('base64'), origin, signing.signer.name, note, at.toISOString()],
  );
  if (rows[0]) return toCheckpoint(rows[0]);
  const existing = await checkpointAt(sql, organisationId, size);
  if (existing === null) throw new Error(`The checkpoint of ${organisationId} at ${size} was neither recorded nor found.`);
  if (!existing.rootHash.equals(root)) {
    throw new TreeInconsistentError(`The checkpoint signed for ${organisationId} at size ${size} has another root than the tree gives now; no checkpoint was signed.`);
  }
  return existing;
}
