import { createHash } from 'node:crypto';

/**
 * RFC 6962 / RFC 9162 Merkle tree over the log, for signed checkpoints and their proofs.
 *
 * The store keeps only complete aligned subtrees (level, index), which never change once written;
 * anything on a right edge is recomputed from them. Every proof is planned as a list of such nodes
 * first so the store answers it in one query, whatever the tree size.
 *
 * Sizes and indices are plain numbers up to 2^53, so no 32-bit bit operators appear below: powers
 * of two are computed by arithmetic, which is exact in that range.
 */

export type Hash = Buffer;
export interface NodeRef {
  level: number;
  index: number;
}

const HASH_BYTES = 32;
const MAX_SIZE = 2 ** 53;

/** MTH of the empty tree: SHA-256 of nothing. */
export const EMPTY_ROOT: Hash = createHash('sha256').digest();

/** RFC 6962 leaf hash; the 0x00 prefix keeps a leaf from passing for an interior node. */
export function leafHash(leaf: Uint8Array | string): Hash {
  const bytes = typeof leaf === 'string' ? Buffer.from(leaf, 'utf8') : leaf;
  return createHash('sha256').update(Buffer.of(0)).update(bytes).digest();
}

/** RFC 6962 interior node hash. */
export function nodeHash(left: Hash, right: Hash): Hash {
  return createHash('sha256').update(Buffer.of(1)).update(left).update(right).digest();
}

function checkCount(name: string, value: number, min = 0): void {
  if (!Number.isInteger(value) || value < min || value > MAX_SIZE) {
    throw new RangeError(`${name} must be an integer in [${min}, 2^53], got ${String(value)}`);
  }
}

/** The largest power of two strictly smaller than n (n >= 2): where the RFC splits a tree of n leaves. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The reference MTH, straight from the RFC's recursive definition; proofs are checked against it. */
export function rootOf(leaves: readonly Hash[]): Hash {
  const mth = (lo: number, hi: number): Hash => {
    if (hi - lo === 1) return leaves[lo] as Hash;
    const k = splitPoint(hi - lo);
    return nodeHash(mth(lo, lo + k), mth(lo + k, hi));
  };
  return leaves.length === 0 ? EMPTY_ROOT : mth(0, leaves.length);
}

/** Decomposition of the leaf range [start, end) into maximal complete aligned subtrees, left to right. */
export function rangeRefs(start: number, end: number): NodeRef[] {
  checkCount('start', start);
  checkCount('end', end);
  if (start > end) throw new RangeError(`start ${start} is after end ${end}`);
  const refs: NodeRef[] = [];
  while (start < end) {
    let span = 1;
    let level = 0;
    // Grow while start stays aligned and the subtree still fits; compare lengths, not sums, to stay exact.
    while (start % (span * 2) === 0 && end - start >= span * 2) {
      span *= 2;
      level += 1;
    }
    refs.push({ level, index: start / span });
    start += span;
  }
  return refs;
}

/** The complete subtrees making up a tree of `size` leaves, largest (leftmost) first: one per set bit of size. */
export function frontierRefs(size: number): NodeRef[] {
  return rangeRefs(0, size);
}

/** Root from the frontier hashes (as ordered by frontierRefs): fold from the right. EMPTY_ROOT when empty. */
export function rootFromFrontier(frontier: readonly Hash[]): Hash {
  if (frontier.length === 0) return EMPTY_ROOT;
  let acc = frontier[frontier.length - 1] as Hash;
  for (let i = frontier.length - 2; i >= 0; i--) acc = nodeHash(frontier[i] as Hash, acc);
  return acc;
}

/**
 * Appends leaf hashes to a tree of `size` whose frontier is given; returns the new frontier and every
 * complete subtree node newly completed (level 0 for each leaf included), so a store can insert them.
 */
export function appendLeaves(
  frontier: readonly Hash[],
  size: number,
  leaves: readonly Hash[],
): { frontier: Hash[]; nodes: { level: number; index: number; hash: Hash }[] } {
  checkCount('size', size);
  if (size + leaves.length > MAX_SIZE) throw new RangeError('the tree would exceed 2^53 leaves');
  const refs = frontierRefs(size);
  if (frontier.length !== refs.length) {
    throw new RangeError(`a tree of ${size} leaves has a frontier of ${refs.length} hashes, got ${frontier.length}`);
  }
  const stack = refs.map((ref, i) => ({ ...ref, hash: checkHash(frontier[i], `frontier[${i}]`) }));
  const nodes: { level: number; index: number; hash: Hash }[] = [];
  leaves.forEach((leaf, i) => {
    let node = { level: 0, index: size + i, hash: checkHash(leaf, `leaves[${i}]`) };
    nodes.push(node);
    // Two equal levels on top of the stack are siblings: the right edge is a binary counter carrying.
    while (stack.at(-1)?.level === node.level) {
      const left = stack.pop() as (typeof stack)[number];
      node = { level: node.level + 1, index: left.index / 2, hash: nodeHash(left.hash, node.hash) };
      nodes.push(node);
    }
    stack.push(node);
  });
  return { frontier: stack.map((n) => n.hash), nodes };
}

function checkHash(hash: Hash | undefined, what: string): Hash {
  if (!Buffer.isBuffer(hash) || hash.length !== HASH_BYTES) throw new RangeError(`${what} is not a ${HASH_BYTES}-byte hash`);
  return hash;
}

/** Fetches stored complete-subtree hashes in the order asked; the store does it in one query. */
export type NodeFetcher = (refs: readonly NodeRef[]) => Promise<Hash[]>;

/** A leaf range [start, end) whose hash a proof needs: one node if complete, else folded from its parts. */
type Span = readonly [start: number, end: number];

/**
 * Hashes each span from one fetch of all the complete subtrees under them. Spans are always the
 * left-aligned subtrees of the RFC recursion, so the fold-from-the-right of their parts is their MTH.
 */
async function hashSpans(spans: readonly Span[], fetch: NodeFetcher): Promise<Hash[]> {
  if (spans.length === 0) return [];
  const parts = spans.map(([start, end]) => rangeRefs(start, end));
  const slot = new Map<string, number>();
  const unique: NodeRef[] = [];
  for (const ref of parts.flat()) {
    const key = `${ref.level}:${ref.index}`;
    if (!slot.has(key)) {
      slot.set(key, unique.length);
      unique.push(ref);
    }
  }
  const fetched = await fetch(unique);
  if (!Array.isArray(fetched) || fetched.length !== unique.length) {
    throw new Error(`node fetch returned ${Array.isArray(fetched) ? fetched.length : 'no'} hashes for ${unique.length} nodes`);
  }
  fetched.forEach((hash, i) => {
    const ref = unique[i] as NodeRef;
    checkHash(hash, `fetched node (${ref.level}, ${ref.index})`);
  });
  return parts.map((refs) => rootFromFrontier(refs.map((ref) => fetched[slot.get(`${ref.level}:${ref.index}`) as number] as Hash)));
}

/** Root hash of the tree of `size` leaves (size <= stored size), with ONE call to fetch. */
export async function rootAt(size: number, fetch: NodeFetcher): Promise<Hash> {
  checkCount('size', size);
  if (size === 0) return EMPTY_ROOT;
  const [root] = await hashSpans([[0, size]], fetch);
  return root as Hash;
}

/** The subtrees of RFC 9162 PATH(index, D[0:size]), outermost first (the proof lists them innermost first). */
function inclusionSpans(index: number, size: number): Span[] {
  const spans: Span[] = [];
  let lo = 0;
  let hi = size;
  while (hi - lo > 1) {
    const mid = lo + splitPoint(hi - lo);
    if (index < mid) {
      spans.push([mid, hi]);
      hi = mid;
    } else {
      spans.push([lo, mid]);
      lo = mid;
    }
  }
  return spans;
}

/** The subtrees of RFC 9162 SUBPROOF(m, D[0:n], true), outermost first. */
function consistencySpans(m: number, n: number): Span[] {
  const spans: Span[] = [];
  let lo = 0;
  let hi = n;
  let isWholeOldTree = true;
  while (m !== hi) {
    const mid = lo + splitPoint(hi - lo);
    if (m <= mid) {
      spans.push([mid, hi]);
      hi = mid;
    } else {
      spans.push([lo, mid]);
      lo = mid;
      isWholeOldTree = false;
    }
  }
  // The verifier already holds the old root when the old tree is one subtree of the new one.
  if (!isWholeOldTree) spans.push([lo, hi]);
  return spans;
}

/** RFC 9162 2.1.3.1 inclusion proof (audit path) of leaf `index` (0-based) in the tree of `size`, with ONE call to fetch. */
export async function inclusionProof(index: number, size: number, fetch: NodeFetcher): Promise<Hash[]> {
  checkCount('size', size, 1);
  checkCount('index', index);
  if (index >= size) throw new RangeError(`leaf index ${index} is not in a tree of ${size} leaves`);
  return (await hashSpans(inclusionSpans(index, size), fetch)).reverse();
}

/** RFC 9162 2.1.4.1 consistency proof between sizes m and n (0 < m <= n), ONE call to fetch. Empty when m === n. */
export async function consistencyProof(m: number, n: number, fetch: NodeFetcher): Promise<Hash[]> {
  checkCount('m', m, 1);
  checkCount('n', n, 1);
  if (m > n) throw new RangeError(`old size ${m} is larger than new size ${n}`);
  return (await hashSpans(consistencySpans(m, n), fetch)).reverse();
}

const isHash = (h: unknown): h is Hash => Buffer.isBuffer(h) && h.length === HASH_BYTES;
const validCount = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= MAX_SIZE;
const isOdd = (n: number): boolean => n % 2 === 1;
const half = (n: number): number => Math.floor(n / 2);

/** RFC 9162 2.1.3.2 verification: true when the proof leads from leafHash at index to root. */
export function verifyInclusion(index: number, size: number, leaf: Hash, proof: readonly Hash[], root: Hash): boolean {
  if (!validCount(index) || !validCount(size) || index >= size) return false;
  if (!isHash(leaf) || !isHash(root) || !Array.isArray(proof) || !proof.every(isHash)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      // Skip the levels where this node has no right sibling (it is the right edge's lone child).
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && r.equals(root);
}

/**
 * RFC 9162 2.1.4.2 verification. Beyond the RFC's 0 < m < n: equal sizes need an empty proof and
 * equal roots, and the empty tree (m = 0, root EMPTY_ROOT) is a prefix of every tree.
 */
export function verifyConsistency(m: number, n: number, proof: readonly Hash[], oldRoot: Hash, newRoot: Hash): boolean {
  if (!validCount(m) || !validCount(n) || m > n) return false;
  if (!isHash(oldRoot) || !isHash(newRoot) || !Array.isArray(proof) || !proof.every(isHash)) return false;
  if (m === 0) return proof.length === 0 && oldRoot.equals(EMPTY_ROOT);
  if (m === n) return proof.length === 0 && oldRoot.equals(newRoot);
  if (proof.length === 0) return false;
  // When the old tree is a complete subtree, the proof omits its root: the verifier supplies it.
  const path = splitPoint(m + 1) === m ? [oldRoot, ...proof] : proof;
  let fn = m - 1;
  let sn = n - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0] as Hash;
  let sr = fr;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && fr.equals(oldRoot) && sr.equals(newRoot);
}
