/**
 * Proofs on a big organisation: inclusion and consistency proof latency and the root at the head, on
 * an organisation whose log holds PROOF_EVENTS events (default 1,000,000), and what its events and
 * tree take on disk.
 *
 * The log is bulk-loaded (like bench/history.ts fill, but simple events, generated fast) into a
 * database of its own on the same server (okr_bench_proofs_<random>, created here and dropped at the
 * end), so the other sections' tables stay as they were. Every event gets its true leaf hash
 * (events/leaf.ts eventLeafHash), every complete subtree its okr_tree_nodes row (events/merkle.ts
 * appendLeaves), the head row the frontier: what appends would have written. Check-ins, round-robin
 * over PROOF_STREAMS key results, recorded 1 ms apart.
 *
 * Measured through AuditService (src/audit.ts, what the API and `okr audit` call: one read-only
 * REPEATABLE READ snapshot per proof) and through events/tree.ts directly (no transaction): PROOF_SAMPLES
 * random inclusion proofs at the head, as many consistency proofs between random sizes, the root at
 * the head and at random sizes. Every proof is verified (events/merkle.ts verifyInclusion /
 * verifyConsistency): inclusion proofs against the root computed in JS while loading, with the leaf
 * hash compared to the one computed then; consistency proofs against the stored roots at both sizes,
 * and those at the loader's batch boundaries against the roots computed while loading.
 *
 * BENCH_ONLY=proofs npm run bench runs this section alone.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { SCHEMA_VERSION } from '../events/catalogue';
import { eventLeafHash } from '../events/leaf';
import { appendLeaves, rootFromFrontier, verifyConsistency, verifyInclusion, type Hash } from '../events/merkle';
import type { Sql } from '../events/sql';
import { EventStore } from '../events/store';
import { proveConsistency, proveInclusion, storedRootAt, type InclusionProofJson } from '../events/tree';
import { AuditService } from '../src/audit';
import { ephemeralCheckpointKeys } from '../src/checkpointKeys';
import { openDatabase, sqlOf } from '../src/database';
import { loggedStatements } from './statements';
import { round, summarise, table, type LatencySummary } from './stats';

const ORG = 'bench-proofs';
const EVENTS = Number(process.env.PROOF_EVENTS ?? '1000000');
const SAMPLES = Number(process.env.PROOF_SAMPLES ?? '200');
const STREAMS = Number(process.env.PROOF_STREAMS ?? '1000');
const BATCH = 10_000;
const WARMUP = 20;
if (!Number.isSafeInteger(EVENTS) || EVENTS < 2 || EVENTS > 20_000_000) throw new Error('PROOF_EVENTS must be a whole number in [2, 20000000].');
if (!Number.isSafeInteger(SAMPLES) || SAMPLES < 1 || SAMPLES > 100_000) throw new Error('PROOF_SAMPLES must be a whole number in [1, 100000].');
if (!Number.isSafeInteger(STREAMS) || STREAMS < 1) throw new Error('PROOF_STREAMS must be a whole number of at least 1.');

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** mulberry32: the same random positions and sizes every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Loaded {
  /** Every leaf hash, 32 bytes each, leaf i at i * 32. */
  leaves: Buffer;
  /** The roots computed in JS while loading, at each batch boundary and at the head. */
  roots: Map<number, Hash>;
  nodes: number;
  seconds: number;
  jsSeconds: number;
}

async function load(url: string, log: (line: string) => void): Promise<Loaded> {
  const events = new Client({ connectionString: url });
  const nodesClient = new Client({ connectionString: url });
  await events.connect();
  await nodesClient.connect();
  const t0 = performance.now();
  let js = 0;
  try {
    const leaves = Buffer.alloc(EVENTS * 32);
    const roots = new Map<number, Hash>();
    const metadata = { actor: 'bench-proofs', correlationId: 'bench-proofs', causationId: 'bench-proofs', idempotencyKey: null };
    const metadataJson = JSON.stringify(metadata);
    const start = Date.UTC(2024, 0, 1);
    const schemaVersion = SCHEMA_VERSION.CheckInRecorded;
    let frontier: Hash[] = [];
    let nodeCount = 0;
    let pending: Promise<unknown> = Promise.resolve();
    for (let from = 0; from < EVENTS; from += BATCH) {
      const tj = performance.now();
      const size = Math.min(BATCH, EVENTS - from);
      const rows: { position: number; stream_id: string; stream_version: number; data: unknown; recorded_at: string; leaf_hash: string }[] = [];
      const batchLeaves: Hash[] = [];
      for (let i = 0; i < size; i += 1) {
        const position = from + i + 1;
        const k = (position - 1) % STREAMS;
        const streamId = `keyResult-kr-${k}`;
        const version = Math.floor((position - 1) / STREAMS) + 1;
        const recordedAt = new Date(start + position).toISOString();
        const data = {
          keyResultId: `kr-${k}`,
          objectiveId: `objective-${Math.floor(k / 3)}`,
          unitId: 'team-1',
          quarterId: 'Q1',
          confidence: 40 + (position % 50),
          value: position % 600,
          whatChanged: 'steady progress',
          blockers: null,
          asOf: recordedAt,
        };
        const leaf = eventLeafHash({ organisationId: ORG, position, streamId, version, type: 'CheckInRecorded', schemaVersion, data, metadata, recordedAt });
        leaf.copy(leaves, (position - 1) * 32);
        batchLeaves.push(leaf);
        rows.push({ position, stream_id: streamId, stream_version: version, data, recorded_at: recordedAt, leaf_hash: leaf.toString('base64') });
      }
      const grown = appendLeaves(frontier, from, batchLeaves);
      frontier = grown.frontier;
      roots.set(from + size, rootFromFrontier(frontier));
      const nodes = grown.nodes.filter((n) => n.level > 0).map((n) => ({ level: n.level, idx: n.index, hash: n.hash.toString('base64') }));
      nodeCount += nodes.length;
      const eventsJson = JSON.stringify(rows);
      const nodesJson = JSON.stringify(nodes);
      js += performance.now() - tj;
      // One batch in flight while the next is built.
      await pending;
      pending = Promise.all([
        events.query(
          `INSERT INTO okr_events (position, organisation_id, stream_id, stream_version, type, schema_version, data, metadata, recorded_at, quarter_id, unit_id, leaf_hash)
           SELECT r.position, $1, r.stream_id, r.stream_version, 'CheckInRecorded', $2, r.data, $3::jsonb, r.recorded_at, 'Q1', 'team-1', decode(r.leaf_hash, 'base64')
             FROM jsonb_to_recordset($4::jsonb) AS r(position bigint, stream_id text, stream_version int, data jsonb, recorded_at timestamptz, leaf_hash text)`,
          [ORG, schemaVersion, metadataJson, eventsJson],
        ),
        nodesClient.query(
          `INSERT INTO okr_tree_nodes (organisation_id, level, idx, hash)
           SELECT $1, n.level, n.idx, decode(n.hash, 'base64') FROM jsonb_to_recordset($2::jsonb) AS n(level smallint, idx bigint, hash text)`,
          [ORG, nodesJson],
        ),
      ]);
      if ((from / BATCH) % 20 === 19) log(`proofs: loaded ${from + size} events (${round((performance.now() - t0) / 1000, 1)} s)`);
    }
    await pending;
    const versions: Record<string, number> = {};
    for (let k = 0; k < Math.min(STREAMS, EVENTS); k += 1) versions[`keyResult-kr-${k}`] = Math.floor((EVENTS - 1 - k) / STREAMS) + 1;
    await events.query(
      `INSERT INTO okr_streams (organisation_id, stream_id, stream_type, version)
       SELECT $1, key, 'keyResult', value::int FROM jsonb_each_text($2::jsonb)`,
      [ORG, JSON.stringify(versions)],
    );
    await events.query(
      `INSERT INTO okr_log_heads (organisation_id, position, recorded_at, frontier) VALUES ($1, $2, $3::timestamptz, $4::jsonb)`,
      [ORG, EVENTS, new Date(start + EVENTS).toISOString(), JSON.stringify(frontier.map((h) => h.toString('base64')))],
    );
    return { leaves, roots, nodes: nodeCount, seconds: (performance.now() - t0) / 1000, jsSeconds: js / 1000 };
  } finally {
    await events.end();
    await nodesClient.end();
  }
}

/** Runs `run` WARMUP + count times, one after another; the last `count` are timed and kept for checking. */
async function timed<A, T>(count: number, args: () => A, run: (a: A) => Promise<T>): Promise<{ latency: LatencySummary; calls: { args: A; result: T }[] }> {
  const latencies: number[] = [];
  const calls: { args: A; result: T }[] = [];
  for (let i = 0; i < WARMUP + count; i += 1) {
    const a = args();
    const t0 = performance.now();
    const result = await run(a);
    const ms = performance.now() - t0;
    if (i < WARMUP) continue;
    latencies.push(ms);
    calls.push({ args: a, result });
  }
  return { latency: summarise(latencies), calls };
}

const meanOf = (values: number[]) => round(values.reduce((s, x) => s + x, 0) / Math.max(1, values.length), 1);

export interface ProofMeasure {
  measure: string;
  latency: LatencySummary;
  verified: number;
  failed: number;
  /** Hashes per proof (mean), where it is a proof. */
  meanHashes: number | null;
}

export interface ProofsResults {
  events: number;
  streams: number;
  load: { seconds: number; jsSeconds: number; vacuumAnalyzeSeconds: number; nodes: number };
  measures: ProofMeasure[];
  rootChecks: { sizes: number; matched: number };
  statements: Record<string, string[]>;
  storage: {
    eventsTotalBytes: number;
    eventsTableBytes: number;
    eventsIndexBytes: number;
    treeNodesTotalBytes: number;
    treeNodesTableBytes: number;
    treeNodesIndexBytes: number;
    leafHashColumnBytes: number;
    perMillionEvents: { eventsMiB: number; treeNodesMiB: number; leafHashColumnMiB: number; treeShareOfTotal: number };
  };
}

export async function proofsBench(
  adminUrl: string,
  log: (line: string) => void,
  onCleanup: (cleanup: () => Promise<void>) => void,
): Promise<{ results: ProofsResults; report: string }> {
  const name = `okr_bench_proofs_${randomBytes(4).toString('hex')}`;
  const admin = async (text: string) => {
    const c = new Client({ connectionString: adminUrl });
    await c.connect();
    try {
      await c.query(text);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE ${quoteIdent(name)}`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  log(`proofs: created database ${name}`);
  let orm: MikroORM | null = null;
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await orm?.close(true).catch(() => undefined);
    await admin(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    log(`proofs: dropped database ${name}`);
  };
  onCleanup(drop);
  try {
    orm = await openDatabase(url);
    log(`proofs: bulk-loading ${EVENTS} events with their leaves and tree nodes`);
    const loaded = await load(url, log);
    log(`proofs: loaded in ${round(loaded.seconds, 1)} s; VACUUM ANALYZE`);
    const tv = performance.now();
    {
      const c = new Client({ connectionString: url });
      await c.connect();
      try {
        await c.query('VACUUM (ANALYZE) okr_events, okr_tree_nodes, okr_streams, okr_log_heads');
      } finally {
        await c.end();
      }
    }
    const vacuumAnalyzeSeconds = (performance.now() - tv) / 1000;

    const audit = new AuditService(orm, ephemeralCheckpointKeys());
    const store = new EventStore();
    const sql: Sql = sqlOf(orm.em.fork());
    const head = await store.head(sql, ORG);
    const jsHeadRoot = loaded.roots.get(EVENTS) as Hash;
    if (head.position !== EVENTS || !head.root.equals(jsHeadRoot)) throw new Error('the loaded head does not match what was loaded');

    // The stored roots against the roots computed while loading, at every batch boundary.
    let matched = 0;
    for (const [size, root] of loaded.roots) if ((await storedRootAt(sql, ORG, size, EVENTS)).equals(root)) matched += 1;
    if (matched !== loaded.roots.size) throw new Error(`stored roots match the loader's at ${matched} of ${loaded.roots.size} sizes`);

    const rnd = random(20261204);
    const position = () => 1 + Math.floor(rnd() * EVENTS);
    const leafOf = (p: number) => loaded.leaves.subarray((p - 1) * 32, p * 32);
    const hashesOf = (h: string[]) => h.map((x) => Buffer.from(x, 'base64'));
    const inclusionOk = (p: number, proof: InclusionProofJson) => {
      const leaf = Buffer.from(proof.leafHash, 'base64');
      return proof.position === p && proof.treeSize === EVENTS && leaf.equals(leafOf(p)) && verifyInclusion(p - 1, EVENTS, leaf, hashesOf(proof.hashes), jsHeadRoot);
    };
    /** A stored root at `size` is the head's prefix: a consistency proof to the head verifies against the loader's head root. */
    const rootOk = async (size: number, root: Hash) => {
      if (size === EVENTS) return root.equals(jsHeadRoot);
      const proof = await proveConsistency(sql, ORG, size, EVENTS, EVENTS);
      const known = loaded.roots.get(size);
      return (known === undefined || root.equals(known)) && verifyConsistency(size, EVENTS, hashesOf(proof.hashes), root, jsHeadRoot);
    };
    const measures: ProofMeasure[] = [];
    const add = (measure: string, latency: LatencySummary, oks: boolean[], meanHashes: number | null) =>
      measures.push({ measure, latency, verified: oks.filter(Boolean).length, failed: oks.filter((ok) => !ok).length, meanHashes });

    log(`proofs: ${SAMPLES} inclusion proofs at the head through AuditService`);
    const viaAudit = await timed(SAMPLES, position, (p) => audit.inclusion(ORG, p));
    add('inclusion proof at the head, AuditService.inclusion (snapshot transaction)', viaAudit.latency,
      viaAudit.calls.map((c) => inclusionOk(c.args, c.result)), meanOf(viaAudit.calls.map((c) => c.result.hashes.length)));

    log(`proofs: ${SAMPLES} inclusion proofs at the head through proveInclusion (no transaction)`);
    const bare = await timed(SAMPLES, position, (p) => proveInclusion(sql, ORG, p, EVENTS, EVENTS));
    add('inclusion proof at the head, proveInclusion (events/tree.ts, no transaction)', bare.latency, bare.calls.map((c) => inclusionOk(c.args, c.result)), null);

    log(`proofs: ${SAMPLES} consistency proofs between random sizes through AuditService`);
    const pair = (): [number, number] => {
      const to = 2 + Math.floor(rnd() * (EVENTS - 1));
      return [1 + Math.floor(rnd() * (to - 1)), to];
    };
    const cons = await timed(SAMPLES, pair, ([from, to]) => audit.consistency(ORG, from, to));
    // Against the stored roots at both sizes, each of them checked to be a prefix of the loader's head.
    const consOk: boolean[] = [];
    for (const { args: [from, to], result } of cons.calls) {
      const oldRoot = await storedRootAt(sql, ORG, from, EVENTS);
      const newRoot = await storedRootAt(sql, ORG, to, EVENTS);
      consOk.push(result.from === from && result.to === to && verifyConsistency(from, to, hashesOf(result.hashes), oldRoot, newRoot) && (await rootOk(to, newRoot)));
    }
    add('consistency proof between random sizes, AuditService.consistency', cons.latency, consOk, meanOf(cons.calls.map((c) => c.result.hashes.length)));

    // A few consistency proofs between the loader's batch boundaries, against the roots it computed.
    const boundaries = [...loaded.roots.keys()].filter((b) => b < EVENTS);
    const boundaryPairs = Math.min(20, boundaries.length);
    let boundaryVerified = 0;
    for (let i = 0; i < boundaryPairs; i += 1) {
      const a = boundaries[Math.floor(rnd() * boundaries.length)] as number;
      const later = [...loaded.roots.keys()].filter((b) => b > a);
      const b = later[Math.floor(rnd() * later.length)] as number;
      const proof = await audit.consistency(ORG, a, b);
      if (verifyConsistency(a, b, hashesOf(proof.hashes), loaded.roots.get(a) as Hash, loaded.roots.get(b) as Hash)) boundaryVerified += 1;
    }
    if (boundaryVerified !== boundaryPairs) throw new Error(`${boundaryPairs - boundaryVerified} of ${boundaryPairs} consistency proofs between batch boundaries do not verify`);

    log(`proofs: the root at the head and at random sizes, ${SAMPLES} each`);
    const rootHead = await timed(SAMPLES, () => EVENTS, (size) => storedRootAt(sql, ORG, size, EVENTS));
    add('root at the head, storedRootAt (no transaction)', rootHead.latency, rootHead.calls.map((c) => c.result.equals(jsHeadRoot)), null);
    const fromHeadRow = await timed(SAMPLES, () => ORG, (org) => store.head(sql, org));
    add('root at the head, from the head row\'s frontier (EventStore.head)', fromHeadRow.latency, fromHeadRow.calls.map((c) => c.result.root.equals(jsHeadRoot)), null);
    const rootRandom = await timed(SAMPLES, position, (size) => storedRootAt(sql, ORG, size, EVENTS));
    const randomOk: boolean[] = [];
    for (const c of rootRandom.calls) randomOk.push(await rootOk(c.args, c.result));
    add('root at a random size, storedRootAt (no transaction)', rootRandom.latency, randomOk, null);

    log('proofs: statements per proof (logged on an ORM instance of its own)');
    const p = Math.max(1, Math.floor(EVENTS * 0.123457));
    const size = Math.max(p, EVENTS - 3);
    const statements: Record<string, string[]> = {
      'AuditService.inclusion': await loggedStatements(url, (o) => new AuditService(o, ephemeralCheckpointKeys()).inclusion(ORG, p)),
      'AuditService.consistency': await loggedStatements(url, (o) => new AuditService(o, ephemeralCheckpointKeys()).consistency(ORG, p, size)),
      proveInclusion: await loggedStatements(url, (o) => proveInclusion(sqlOf(o.em.fork()), ORG, p, EVENTS, EVENTS)),
      proveConsistency: await loggedStatements(url, (o) => proveConsistency(sqlOf(o.em.fork()), ORG, p, size, EVENTS)),
      storedRootAt: await loggedStatements(url, (o) => storedRootAt(sqlOf(o.em.fork()), ORG, size, EVENTS)),
    };
    const label = (statement: string) => {
      const t = statement.toLowerCase();
      if (t.startsWith('start transaction') || t.startsWith('begin')) return 'BEGIN (repeatable read, read only)';
      if (t.startsWith('commit')) return 'COMMIT';
      if (t.includes('from okr_log_heads')) return 'head position';
      if (t.startsWith('select a.i')) return 'stored nodes (nodeFetcher)';
      return statement;
    };
    for (const key of Object.keys(statements)) statements[key] = (statements[key] ?? []).map(label);

    const [sizes] = await sql.query<Record<string, string>>(
      `SELECT pg_total_relation_size('okr_events') AS events_total, pg_relation_size('okr_events') AS events_table,
              pg_indexes_size('okr_events') AS events_indexes, pg_total_relation_size('okr_tree_nodes') AS nodes_total,
              pg_relation_size('okr_tree_nodes') AS nodes_table, pg_indexes_size('okr_tree_nodes') AS nodes_indexes,
              (SELECT sum(pg_column_size(leaf_hash)) FROM okr_events) AS leaf_column`,
    );
    const n = (k: string) => Number(sizes?.[k] ?? 0);
    const perMillion = (bytes: number) => round((bytes * (1_000_000 / EVENTS)) / 1024 ** 2, 1);
    const results: ProofsResults = {
      events: EVENTS,
      streams: STREAMS,
      load: { seconds: round(loaded.seconds, 1), jsSeconds: round(loaded.jsSeconds, 1), vacuumAnalyzeSeconds: round(vacuumAnalyzeSeconds, 1), nodes: loaded.nodes },
      measures,
      rootChecks: { sizes: loaded.roots.size, matched },
      statements,
      storage: {
        eventsTotalBytes: n('events_total'),
        eventsTableBytes: n('events_table'),
        eventsIndexBytes: n('events_indexes'),
        treeNodesTotalBytes: n('nodes_total'),
        treeNodesTableBytes: n('nodes_table'),
        treeNodesIndexBytes: n('nodes_indexes'),
        leafHashColumnBytes: n('leaf_column'),
        perMillionEvents: {
          eventsMiB: perMillion(n('events_total')),
          treeNodesMiB: perMillion(n('nodes_total')),
          leafHashColumnMiB: perMillion(n('leaf_column')),
          treeShareOfTotal: round((n('nodes_total') + n('leaf_column')) / (n('events_total') + n('nodes_total')), 3),
        },
      },
    };
    const mib = (b: number) => `${round(b / 1024 ** 2, 1)} MiB`;
    const s = results.storage;
    const report = [
      `Proofs on an organisation of ${EVENTS} events (${STREAMS} key result streams; bulk-loaded in ${results.load.seconds} s, ` +
        `of which ${results.load.jsSeconds} s leaf hashes, tree and JSON in JS; VACUUM ANALYZE ${results.load.vacuumAnalyzeSeconds} s; ${loaded.nodes} tree nodes)`,
      `Stored roots checked against the loader's at ${matched} sizes (every ${BATCH} events): all match; ${boundaryPairs} consistency proofs between them verified against the loader's roots.`,
      table([
        ['measure (sequential, one at a time, after ' + WARMUP + ' warm-up)', 'count', 'p50 ms', 'p99 ms', 'max ms', 'verified', 'failed', 'hashes'],
        ...measures.map((m) => [m.measure, m.latency.count, m.latency.p50Ms, m.latency.p99Ms, m.latency.maxMs, m.verified, m.failed, m.meanHashes ?? '']),
      ]),
      '',
      'Statements per call (MikroORM query log)',
      table([['call', 'statements', 'which'], ...Object.entries(statements).map(([k, v]) => [k, v.length, v.join(' | ')] as [string, number, string])]),
      '',
      `Storage (this database holds this organisation alone)`,
      table([
        ['relation', 'total', 'table', 'indexes', 'per 1M events', 'bytes per event'],
        ['okr_events', mib(s.eventsTotalBytes), mib(s.eventsTableBytes), mib(s.eventsIndexBytes), `${s.perMillionEvents.eventsMiB} MiB`, round(s.eventsTotalBytes / EVENTS, 1)],
        ['  of which leaf_hash column', mib(s.leafHashColumnBytes), '', '', `${s.perMillionEvents.leafHashColumnMiB} MiB`, round(s.leafHashColumnBytes / EVENTS, 1)],
        ['okr_tree_nodes', mib(s.treeNodesTotalBytes), mib(s.treeNodesTableBytes), mib(s.treeNodesIndexBytes), `${s.perMillionEvents.treeNodesMiB} MiB`, round(s.treeNodesTotalBytes / EVENTS, 1)],
      ]),
      `The tree (leaf hashes + okr_tree_nodes) is ${round(s.perMillionEvents.treeShareOfTotal * 100, 1)}% of the events' and the tree's storage.`,
    ].join('\n');
    return { results, report };
  } finally {
    await drop();
  }
}
