import fc from 'fast-check';
import {
  EMPTY_ROOT, appendLeaves, consistencyProof, frontierRefs, inclusionProof, leafHash, nodeHash, rangeRefs, rootAt, rootFromFrontier,
  rootOf, verifyConsistency, verifyInclusion, type Hash, type NodeFetcher, type NodeRef,
} from '../../events/merkle';

/**
 * events/merkle.ts against the published RFC 6962 test data, then against the RFC's recursive
 * definitions on random logs stored the way the database stores them (complete subtrees only).
 *
 * Vectors: transparency-dev/merkle testonly/constants.go (leaf inputs, node hashes, roots, compact
 * frontiers) and proof/verify_test.go (inclusion and consistency proofs, and the corruptions tried
 * against them); node plans from proof/proof_test.go. The same data is in google/trillian and
 * certificate-transparency.
 */

const h = (hex: string): Hash => Buffer.from(hex, 'hex');
const hex = (hashes: readonly Hash[]): string[] => hashes.map((x) => x.toString('hex'));

const LEAF_INPUTS = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(h);
const LEAVES = LEAF_INPUTS.map((b) => leafHash(b));
/** RootHashes()[1..8]: roots of the trees over the first 1..8 leaf inputs. */
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
/** NodeHashes(): [level][index] over the 8 leaves. */
const NODE_HASHES = [
  ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
    '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7', '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
    'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', '4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658',
    'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f', '46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1'],
  ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
    '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0'],
  ['d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'],
  ['5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'],
];
/** verify_test.go inclusionProofs, leaf made 0-based (the Go table is 1-based). */
const INCLUSION = [
  { index: 0, size: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { index: 5, size: 8, proof: ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { index: 2, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  { index: 1, size: 5, proof: ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
  { index: 0, size: 1, proof: [] },
];
/** verify_test.go consistencyProofs. */
const CONSISTENCY = [
  { m: 1, n: 1, proof: [] },
  { m: 1, n: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { m: 6, n: 8, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { m: 2, n: 5, proof: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
  { m: 6, n: 7, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
];
const SOME_HASH = h('abacaba000000000000000000000000000000000000000000060061e00123456');

/** An in-memory node store fed by appendLeaves in batches, as the database would be. */
function storeOf(leaves: readonly Hash[], batches: readonly number[] = [leaves.length]) {
  const nodes = new Map<string, Hash>();
  let frontier: Hash[] = [];
  let size = 0;
  for (const want of [...batches, leaves.length]) {
    const batch = leaves.slice(size, Math.min(leaves.length, size + want));
    const result = appendLeaves(frontier, size, batch);
    for (const n of result.nodes) {
      const key = `${n.level}:${n.index}`;
      if (nodes.has(key)) throw new Error(`node ${key} completed twice`);
      nodes.set(key, n.hash);
    }
    frontier = result.frontier;
    size += batch.length;
  }
  const calls: NodeRef[][] = [];
  /** Answers like the database; refuses any node past `limit`, which a proof of an older tree must not read. */
  const fetcher = (limit: number): NodeFetcher => async (refs) => {
    calls.push([...refs]);
    return refs.map(({ level, index }) => {
      const hash = nodes.get(`${level}:${index}`);
      if (!hash || (index + 1) * 2 ** level > limit) throw new Error(`node (${level}, ${index}) not readable at size ${limit}`);
      return hash;
    });
  };
  return { nodes, frontier, calls, fetcher };
}

const split = (n: number): number => 2 ** Math.ceil(Math.log2(n) - 1);
/** RFC 9162 2.1.3.1 PATH, as written. */
function naivePath(m: number, d: readonly Hash[]): Hash[] {
  if (d.length <= 1) return [];
  const k = split(d.length);
  return m < k ? [...naivePath(m, d.slice(0, k)), rootOf(d.slice(k))] : [...naivePath(m - k, d.slice(k)), rootOf(d.slice(0, k))];
}
/** RFC 9162 2.1.4.1 SUBPROOF, as written. */
function naiveSubproof(m: number, d: readonly Hash[], b: boolean): Hash[] {
  if (m === d.length) return b ? [] : [rootOf(d)];
  const k = split(d.length);
  return m <= k
    ? [...naiveSubproof(m, d.slice(0, k), b), rootOf(d.slice(k))]
    : [...naiveSubproof(m - k, d.slice(k), false), rootOf(d.slice(0, k))];
}

const flip = (proof: readonly Hash[], at: number, bit: number): Hash[] =>
  proof.map((p, i) => (i === at ? Buffer.from(p.map((byte, j) => (j === bit >> 3 ? byte ^ (1 << (bit & 7)) : byte))) : p));

describe('hashing', () => {
  it('follows RFC 6962: empty root, leaf and node prefixes', () => {
    expect(EMPTY_ROOT.toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(leafHash('').toString('hex')).toBe(ROOTS[0]);
    expect(leafHash('\u0010')).toEqual(leafHash(Buffer.of(0x10)));
    expect(nodeHash(LEAVES[0] as Hash, LEAVES[1] as Hash).toString('hex')).toBe(ROOTS[1]);
    expect(rootOf([])).toEqual(EMPTY_ROOT);
  });
});

describe('published vectors (transparency-dev/merkle)', () => {
  const store = storeOf(LEAVES, [1, 2, 1, 3]);

  it('roots and frontiers for sizes 1..8, by rootOf, by rootAt and by appendLeaves', async () => {
    for (let size = 1; size <= 8; size++) {
      expect(rootOf(LEAVES.slice(0, size)).toString('hex')).toBe(ROOTS[size - 1]);
      expect((await rootAt(size, store.fetcher(size))).toString('hex')).toBe(ROOTS[size - 1]);
      const { frontier } = appendLeaves([], 0, LEAVES.slice(0, size));
      expect(rootFromFrontier(frontier).toString('hex')).toBe(ROOTS[size - 1]);
      // CompactTrees(): the frontier is the published node hashes at frontierRefs(size).
      expect(hex(frontier)).toEqual(frontierRefs(size).map((r) => NODE_HASHES[r.level]?.[r.index]));
    }
    expect(await rootAt(0, store.fetcher(0))).toEqual(EMPTY_ROOT);
  });

  it('stores exactly the published complete-subtree hashes', () => {
    const want = NODE_HASHES.flatMap((row, level) => row.map((x, index) => [`${level}:${index}`, x]));
    expect([...store.nodes].map(([k, v]) => [k, v.toString('hex')]).sort()).toEqual(want.sort());
  });

  it.each(INCLUSION)('inclusion proof of leaf $index in tree $size, and its corruptions', async ({ index, size, proof }) => {
    const root = h(ROOTS[size - 1] as string);
    const leaf = LEAVES[index] as Hash;
    expect(hex(await inclusionProof(index, size, store.fetcher(size)))).toEqual(proof);
    const p = proof.map(h);
    expect(verifyInclusion(index, size, leaf, p, root)).toBe(true);
    const bad: [number, number, Hash, Hash[], Hash][] = [
      [index - 1, size, leaf, p, root], [index + 1, size, leaf, p, root], [index ^ 2, size, leaf, p, root],
      [index, size * 2, leaf, p, root], [index, Math.floor(size / 2), leaf, p, root],
      [index, size, leafHash('WrongLeaf'), p, root], [index, size, leaf, p, EMPTY_ROOT], [index, size, leaf, p, SOME_HASH],
      [index, size, leaf, [...p, root], root], [index, size, leaf, [root, ...p], root], [index, size, leaf, [...p, Buffer.alloc(0)], root],
      ...p.map((_, i): [number, number, Hash, Hash[], Hash] => [index, size, leaf, flip(p, i, 3), root]),
    ];
    if (p.length > 0) bad.push([index, size, leaf, p.slice(0, -1), root]);
    if (p.length > 1) bad.push([index, size, leaf, [p[0] as Hash, SOME_HASH, ...p.slice(1)], root]);
    for (const args of bad) expect(verifyInclusion(...args)).toBe(false);
  });

  it.each(CONSISTENCY)('consistency proof from $m to $n, and its corruptions', async ({ m, n, proof }) => {
    const [r1, r2] = [h(ROOTS[m - 1] as string), h(ROOTS[n - 1] as string)];
    expect(hex(await consistencyProof(m, n, store.fetcher(n)))).toEqual(proof);
    const p = proof.map(h);
    expect(verifyConsistency(m, n, p, r1, r2)).toBe(true);
    if (p.length === 0) return;
    const bad: [number, number, Hash[], Hash, Hash][] = [
      [m - 1, n, p, r1, r2], [m + 1, n, p, r1, r2], [m ^ 2, n, p, r1, r2], [m, n * 2, p, r1, r2], [m, Math.floor(n / 2), p, r1, r2],
      [m, n, p, SOME_HASH, r2], [m, n, p, r1, SOME_HASH], [m, n, p, r2, r1], [m, n, [], r1, r2],
      [m, n, [...p, r1], r1, r2], [m, n, [...p, r2], r1, r2], [m, n, [r1, ...p], r1, r2], [m, n, [r2, ...p], r1, r2],
      [m, n, [p[0] as Hash, ...p], r1, r2], [m, n, p.slice(0, -1), r1, r2], [m, n, [Buffer.alloc(0), ...p], r1, r2],
      ...p.map((_, i): [number, number, Hash[], Hash, Hash] => [m, n, flip(p, i, 4), r1, r2]),
    ];
    for (const args of bad) expect(verifyConsistency(...args)).toBe(false);
  });

  // proof/proof_test.go: which stored nodes each proof needs (l = hash(i, j) rebuilt from its parts).
  const key = (refs: readonly NodeRef[]) => refs.map((r) => `${r.level}.${r.index}`).sort();
  it.each([
    [7, 0, '0.1 1.1 0.6 1.2'], [7, 4, '0.5 0.6 2.0'], [7, 6, '1.2 2.0'], [5, 3, '0.2 1.0 0.4'], [6, 4, '0.5 2.0'],
    [15, 10, '0.11 1.4 0.14 1.6 3.0'], [31, 24, '0.25 1.13 0.30 1.14 3.2 4.0'], [95, 81, '0.80 1.41 2.21 0.94 1.46 2.22 4.4 6.0'],
  ])('inclusion in %i of leaf %i reads exactly the published nodes', async (size, index, nodes) => {
    const calls: NodeRef[][] = [];
    await inclusionProof(index, size, async (refs) => (calls.push([...refs]), refs.map(() => SOME_HASH)));
    expect(calls.map(key)).toEqual([nodes.split(' ').sort()]);
  });
  it.each([
    [1, 6, '0.1 1.1 1.2'], [3, 7, '0.2 0.3 1.0 0.6 1.2'], [4, 7, '0.6 1.2'], [5, 7, '0.4 0.5 0.6 2.0'], [7, 8, '0.6 0.7 1.2 2.0'],
    [10, 15, '1.4 1.5 0.14 1.6 3.0'], [24, 31, '3.2 0.30 1.14 2.6 4.0'], [81, 95, '0.80 0.81 1.41 2.21 0.94 1.46 2.22 4.4 6.0'],
  ])('consistency from %i to %i reads exactly the published nodes', async (m, n, nodes) => {
    const calls: NodeRef[][] = [];
    await consistencyProof(m, n, async (refs) => (calls.push([...refs]), refs.map(() => SOME_HASH)));
    expect(calls.map(key)).toEqual([nodes.split(' ').sort()]);
  });
});

describe('subtree decomposition', () => {
  it('splits ranges into maximal aligned subtrees, left to right', () => {
    expect(frontierRefs(0)).toEqual([]);
    expect(frontierRefs(7)).toEqual([{ level: 2, index: 0 }, { level: 1, index: 2 }, { level: 0, index: 6 }]);
    expect(rangeRefs(1, 15)).toEqual([
      { level: 0, index: 1 }, { level: 1, index: 1 }, { level: 2, index: 1 }, { level: 2, index: 2 }, { level: 1, index: 6 }, { level: 0, index: 14 },
    ]);
    expect(frontierRefs(2 ** 53)).toEqual([{ level: 53, index: 0 }]);
    const top = frontierRefs(2 ** 53 - 1);
    expect(top).toHaveLength(53);
    expect(top[52]).toEqual({ level: 0, index: 2 ** 53 - 2 });
  });

  it('covers every range exactly, each part aligned and as large as fits', () => {
    const bound = fc.oneof(fc.nat(5000), fc.constantFrom(2 ** 31, 2 ** 32, 2 ** 52, 2 ** 53 - 1, 2 ** 53));
    fc.assert(fc.property(bound, bound, (a, b) => {
      const [start, end] = a <= b ? [a, b] : [b, a];
      let at = start;
      for (const { level, index } of rangeRefs(start, end)) {
        const span = 2 ** level;
        expect(index * span).toBe(at);
        expect(at % (2 * span) !== 0 || end - at < 2 * span).toBe(true);
        at += span;
      }
      expect(at).toBe(end);
    }));
  });
});

describe('random logs through the node store', () => {
  const logSize = fc.oneof(fc.integer({ min: 1, max: 300 }), fc.constantFrom(1, 2, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257));
  const log = logSize.chain((size) => fc.record({
    leaves: fc.constant(Array.from({ length: size }, (_, i) => leafHash(`leaf ${i} of ${size}`))),
    batches: fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 12 }),
    a: fc.integer({ min: 1, max: size }),
    b: fc.integer({ min: 1, max: size }),
    c: fc.nat(size - 1),
    bit: fc.nat(255),
  }));

  it('rootAt and inclusion proofs match the RFC definitions and resist tampering', async () => {
    await fc.assert(fc.asyncProperty(log, async ({ leaves, batches, a, c, bit }) => {
      const store = storeOf(leaves, batches);
      const size = Math.max(a, c + 1);
      const index = c;
      const tree = leaves.slice(0, size);
      const root = rootOf(tree);
      expect(rootFromFrontier(store.frontier)).toEqual(rootOf(leaves));
      expect(await rootAt(size, store.fetcher(size))).toEqual(root);
      expect(store.calls).toHaveLength(1);
      const proof = await inclusionProof(index, size, store.fetcher(size));
      expect(store.calls).toHaveLength(size === 1 ? 1 : 2);
      expect(hex(proof)).toEqual(hex(naivePath(index, tree)));
      const leaf = leaves[index] as Hash;
      expect(verifyInclusion(index, size, leaf, proof, root)).toBe(true);
      if (proof.length > 0) {
        expect(verifyInclusion(index, size, leaf, flip(proof, bit % proof.length, bit), root)).toBe(false);
        expect(verifyInclusion(index, size, leaf, proof.slice(0, -1), root)).toBe(false);
      }
      expect(verifyInclusion(index, size, leaf, [...proof, SOME_HASH], root)).toBe(false);
      if (index > 0) expect(verifyInclusion(index - 1, size, leaf, proof, root)).toBe(false);
      if (index + 1 < size) expect(verifyInclusion(index + 1, size, leaf, proof, root)).toBe(false);
      for (const other of [size - 1, size + 1]) {
        if (other > index && other <= leaves.length) expect(verifyInclusion(index, other, leaf, proof, rootOf(leaves.slice(0, other)))).toBe(false);
      }
    }), { numRuns: 150 });
  });

  it('consistency proofs match the RFC definition and resist tampering', async () => {
    await fc.assert(fc.asyncProperty(log, async ({ leaves, batches, a, b, bit }) => {
      const store = storeOf(leaves, batches);
      const [m, n] = a <= b ? [a, b] : [b, a];
      const r1 = rootOf(leaves.slice(0, m));
      const r2 = rootOf(leaves.slice(0, n));
      const proof = await consistencyProof(m, n, store.fetcher(n));
      expect(store.calls.length).toBe(m === n ? 0 : 1);
      expect(hex(proof)).toEqual(hex(naiveSubproof(m, leaves.slice(0, n), true)));
      expect(verifyConsistency(m, n, proof, r1, r2)).toBe(true);
      if (m === n) return;
      expect(verifyConsistency(m, n, flip(proof, bit % proof.length, bit), r1, r2)).toBe(false);
      expect(verifyConsistency(m, n, proof.slice(0, -1), r1, r2)).toBe(false);
      expect(verifyConsistency(m, n, [...proof, SOME_HASH], r1, r2)).toBe(false);
      expect(verifyConsistency(m, n, proof, r2, r1)).toBe(false);
      for (const [m2, n2] of [[m - 1, n], [m + 1, n], [m, n - 1], [m, n + 1]] as const) {
        if (m2 < 1 || m2 >= n2 || n2 > leaves.length) continue;
        expect(verifyConsistency(m2, n2, proof, rootOf(leaves.slice(0, m2)), rootOf(leaves.slice(0, n2)))).toBe(false);
      }
    }), { numRuns: 150 });
  });
});

describe('sizes near 2^53', () => {
  // A log of identical leaves: every subtree hash depends on its level only, so a store of any size is 54 hashes.
  const byLevel = [leafHash('same')];
  for (let l = 1; l <= 53; l++) byLevel.push(nodeHash(byLevel[l - 1] as Hash, byLevel[l - 1] as Hash));
  const fetchFor = (size: number): NodeFetcher => async (refs) =>
    refs.map(({ level, index }) => {
      if (!Number.isInteger(index) || index < 0 || (index + 1) * 2 ** level > size) throw new Error(`bad ref (${level}, ${index})`);
      return byLevel[level] as Hash;
    });

  it.each([
    [2 ** 53, 2 ** 53 - 1, 2 ** 52 + 1], [2 ** 53 - 1, 2 ** 53 - 2, 2 ** 53 - 3], [2 ** 53 - 1, 0, 1], [2 ** 52 + 3, 2 ** 51 + 7, 2 ** 52],
  ])('size %d: proofs of leaf %d and from size %d verify', async (size, index, m) => {
    const root = await rootAt(size, fetchFor(size));
    const proof = await inclusionProof(index, size, fetchFor(size));
    expect(verifyInclusion(index, size, byLevel[0] as Hash, proof, root)).toBe(true);
    const consistency = await consistencyProof(m, size, fetchFor(size));
    expect(verifyConsistency(m, size, consistency, await rootAt(m, fetchFor(m)), root)).toBe(true);
  });
});

describe('argument checking', () => {
  const fetch: NodeFetcher = async (refs) => refs.map(() => SOME_HASH);

  it('refuses impossible requests with a RangeError', async () => {
    for (const [index, size] of [[5, 5], [-1, 5], [1.5, 5], [0, 0], [Number.NaN, 3], [0, 2 ** 53 + 2]]) {
      await expect(inclusionProof(index as number, size as number, fetch)).rejects.toThrow(RangeError);
    }
    for (const [m, n] of [[0, 5], [6, 5], [1.5, 3], [-1, 3], [1, Infinity]]) {
      await expect(consistencyProof(m as number, n as number, fetch)).rejects.toThrow(RangeError);
    }
    await expect(rootAt(-1, fetch)).rejects.toThrow(RangeError);
    expect(() => rangeRefs(5, 3)).toThrow(RangeError);
    expect(() => appendLeaves([], 3, [SOME_HASH])).toThrow(/frontier of 2 hashes/);
    expect(() => appendLeaves([], 0, [Buffer.alloc(31)])).toThrow(RangeError);
  });

  it('calls fetch once per proof, and not at all when nothing is needed', async () => {
    const calls: number[] = [];
    const counting: NodeFetcher = async (refs) => (calls.push(refs.length), refs.map(() => SOME_HASH));
    await inclusionProof(0, 1, counting);
    await consistencyProof(9, 9, counting);
    await rootAt(0, counting);
    expect(calls).toEqual([]);
    await rootAt(7, counting);
    await inclusionProof(3, 100, counting);
    await consistencyProof(37, 100, counting);
    expect(calls).toHaveLength(3);
  });

  it('refuses a store that answers with the wrong number or size of hashes', async () => {
    await expect(rootAt(3, async () => [SOME_HASH])).rejects.toThrow(/1 hashes for 2 nodes/);
    await expect(rootAt(3, async (refs) => refs.map(() => Buffer.alloc(20)))).rejects.toThrow(/32-byte/);
  });

  it('verification returns false, never throws, on malformed input', () => {
    const leaf = LEAVES[0] as Hash;
    const junk: any[] = [undefined, null, 'x', [Buffer.alloc(31)], [leaf, 'x']];
    expect(verifyInclusion(0, 1, leaf, [], leaf)).toBe(true);
    expect(verifyInclusion(0, 1, Buffer.alloc(0), [], leaf)).toBe(false);
    expect(verifyInclusion(0, 1, leaf, [], Buffer.alloc(0))).toBe(false);
    for (const [i, s] of [[0, 0], [1, 0], [2, 1], [-1, 1], [0.5, 2], [Number.NaN, 1], [0, 2 ** 54]]) {
      expect(verifyInclusion(i as number, s as number, leaf, [], leaf)).toBe(false);
    }
    for (const p of junk) {
      expect(verifyInclusion(0, 2, leaf, p, leaf)).toBe(false);
      expect(verifyConsistency(1, 2, p, leaf, leaf)).toBe(false);
    }
    expect(verifyConsistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)).toBe(true);
    expect(verifyConsistency(0, 5, [], EMPTY_ROOT, SOME_HASH)).toBe(true);
    expect(verifyConsistency(0, 5, [], SOME_HASH, SOME_HASH)).toBe(false);
    expect(verifyConsistency(0, 5, [SOME_HASH], EMPTY_ROOT, SOME_HASH)).toBe(false);
    expect(verifyConsistency(1, 1, [], leaf, leaf)).toBe(true);
    expect(verifyConsistency(1, 1, [EMPTY_ROOT], leaf, leaf)).toBe(false);
    expect(verifyConsistency(1, 1, [], leaf, SOME_HASH)).toBe(false);
    expect(verifyConsistency(2, 1, [], leaf, leaf)).toBe(false);
    expect(verifyConsistency(1, 2, [], leaf, SOME_HASH)).toBe(false);
    expect(verifyConsistency(1.5, 2, [leaf], leaf, SOME_HASH)).toBe(false);
    expect(verifyConsistency(1, 2, [leaf], Buffer.alloc(3), SOME_HASH)).toBe(false);
  });
});
