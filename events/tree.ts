import { AuditRangeError } from './errors';
import { consistencyProof, inclusionProof, rootAt, type Hash, type NodeFetcher, type NodeRef } from './merkle';
import type { Sql } from './sql';

/*
 * An organisation's Merkle tree as stored: leaf hashes on the event rows (level 0, index position - 1),
 * complete subtrees above them in okr_tree_nodes. Every proof reads what it needs in one statement.
 */

/** An inclusion proof as printed and served: hashes in standard base64, in RFC 9162 order. */
export interface InclusionProofJson {
  position: number;
  treeSize: number;
  leafHash: string;
  hashes: string[];
}

/** A consistency proof as printed and served. */
export interface ConsistencyProofJson {
  from: number;
  to: number;
  hashes: string[];
}

export const b64 = (hash: Hash): string => hash.toString('base64');

/** Reads stored complete subtrees of one organisation's tree, in the order asked, in one statement. */
export function nodeFetcher(sql: Sql, organisationId: string): NodeFetcher {
  const read = storedNodes(sql, organisationId);
  return async (refs: readonly NodeRef[]) => {
    const hashes = await read(refs);
    return hashes.map((hash, i) => {
      if (hash === null) {
        const ref = refs[i];
        throw new Error(`The tree of ${organisationId} has no node at level ${ref?.level}, index ${ref?.index}: it is damaged.`);
      }
      return hash;
    });
  };
}

/** Like nodeFetcher, but a node that is not stored comes back as null (for verification to report). */
export function storedNodes(sql: Sql, organisationId: string): (refs: readonly NodeRef[]) => Promise<(Hash | null)[]> {
  return async (refs: readonly NodeRef[]) => {
    if (refs.length === 0) return [];
    const asked = refs.map((r, i) => ({ i, level: r.level, idx: r.index }));
    const rows = await sql.query<{ i: number; hash: Buffer | null }>(
      `SELECT a.i, CASE WHEN a.level = 0 THEN e.leaf_hash ELSE n.hash END AS hash
         FROM jsonb_to_recordset(?::jsonb) AS a(i int, level smallint, idx bigint)
         LEFT JOIN okr_events e ON a.level = 0 AND e.organisation_id = ? AND e.position = a.idx + 1
         LEFT JOIN okr_tree_nodes n ON a.level > 0 AND n.organisation_id = ? AND n.level = a.level AND n.idx = a.idx
        ORDER BY a.i`,
      [JSON.stringify(asked), organisationId, organisationId],
    );
    return rows.map((row) => (row.hash === null ? null : Buffer.from(row.hash)));
  };
}

const wholeNumber = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

/** Throws AuditRangeError unless 1 <= treeSize <= head. */
function checkTreeSize(treeSize: number, head: number, what = 'treeSize'): void {
  if (!wholeNumber(treeSize) || treeSize < 1 || treeSize > head) {
    throw new AuditRangeError(
      'TREE_SIZE_OUT_OF_RANGE',
      head === 0
        ? 'The organisation\'s log is empty: there is no tree to prove anything in yet.'
        : `${what} must be a whole number from 1 to ${head} (the organisation's log holds ${head} events; got ${treeSize}).`,
    );
  }
}

/** The root of the organisation's tree at `treeSize` (1 <= treeSize <= head). */
export async function storedRootAt(sql: Sql, organisationId: string, treeSize: number, head: number): Promise<Hash> {
  checkTreeSize(treeSize, head);
  return rootAt(treeSize, nodeFetcher(sql, organisationId));
}

/** The inclusion proof of `position` in the tree of `treeSize` (default: the head). */
export async function proveInclusion(sql: Sql, organisationId: string, position: number, treeSize: number, head: number): Promise<InclusionProofJson> {
  checkTreeSize(treeSize, head);
  if (!wholeNumber(position) || position < 1 || position > treeSize) {
    throw new AuditRangeError('POSITION_OUT_OF_RANGE', `position must be a whole number from 1 to ${treeSize} (the tree size; got ${position}).`);
  }
  const fetch = nodeFetcher(sql, organisationId);
  // The leaf comes with the path, in the same statement.
  const self = { level: 0, index: position - 1 };
  let leaf: Hash | undefined;
  const hashes = await inclusionProof(position - 1, treeSize, async (refs) => {
    const fetched = await fetch([...refs, self]);
    leaf = fetched.pop();
    return fetched;
  });
  // A tree of one leaf has an empty path, and the proof asked for nothing.
  leaf ??= (await fetch([self]))[0];
  return { position, treeSize, leafHash: b64(leaf as Hash), hashes: hashes.map(b64) };
}

/** The consistency proof between tree sizes `from` and `to` (1 <= from <= to <= head). */
export async function proveConsistency(sql: Sql, organisationId: string, from: number, to: number, head: number): Promise<ConsistencyProofJson> {
  checkTreeSize(to, head, 'to');
  if (!wholeNumber(from) || from < 1 || from > to) {
    throw new AuditRangeError('TREE_SIZES_OUT_OF_ORDER', `from must be a whole number from 1 to ${to} (to; got ${from}).`);
  }
  const hashes = await consistencyProof(from, to, nodeFetcher(sql, organisationId));
  return { from, to, hashes: hashes.map(b64) };
}
