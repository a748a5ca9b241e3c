/**
 * `npm run bench`: every figure of docs/PERFORMANCE.md from one run against a fresh database, in this
 * order: the history of a log of over 1,000,000 events (bench/history.ts: sequential read, rebuild while
 * organisations append, audit verify, storage), the server process on it (bench/serverLoad.ts: asOf
 * against live, the team-quarter query against an Apollo Server hello-world, the server's memory), then
 * write throughput through the full command path against raw PostgreSQL inserts, the GraphQL scenario,
 * the noisy neighbour, writers in one and in several organisations, and proofs. It ends with the summary
 * of issue 10's figures (bench/headline.ts), which bench/results.json carries at its top level.
 *
 * Database: DATABASE_URL's server (a fresh okr_bench_<random> database, dropped at the end), else an
 * embedded PostgreSQL in a temporary directory (stopped and removed at the end).
 * BENCH_SECONDS (default 10) sets the measured duration of every scenario. BENCH_ONLY runs one section
 * alone: noisy (the noisy neighbour, bench/noisyNeighbour.ts), orgs (writers in one and in several
 * organisations, bench/organisations.ts), proofs (proof latency on an organisation of PROOF_EVENTS
 * events, default 1,000,000, in a database of its own, bench/proofs.ts) or history (the history and the
 * server process on it; HISTORY_ORGS, HISTORY_QUARTERS, HISTORY_TEAMS, HISTORY_REQUESTS,
 * REBUILD_APPENDERS, REBUILD_APPEND_INTERVAL_MS, bench/historyFill.ts, bench/history.ts, bench/serverLoad.ts).
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { statfs, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { TableReadModel } from '../projections/tables';
import { EventStore } from '../events/store';
import { Commands } from '../src/commands';
import { openDatabase, sqlOf } from '../src/database';
import { Ledger } from '../src/ledger';
import { createServer } from '../src/server';
import { cpuSample, cpuSince, type CpuReport } from './cpu';
import { provisionDatabase, type BenchDatabase } from './database';
import { actorOf, addTeam, checkInInput, objectiveWithIds, objectiveWithKeyResults, setUpOrganisation, type Fixture } from './fixtures';
import { runClientWorker } from './graphqlClient';
import { mean, round, summarise, table, type LatencySummary } from './stats';
import { headlineTable, inOrder, verdicts, type Headline } from './headline';
import { historyBench, type HistoryBench } from './history';
import { noisyNeighbour } from './noisyNeighbour';
import { organisationsBench } from './organisations';
import { proofsBench } from './proofs';
import { serverLoad, type ServerLoadResults } from './serverLoad';
import { statementsPerCheckIn } from './statements';
import { meanPhases, postgresPids, runWriters, TimedEventStore } from './writers';

const SECONDS = Number(process.env.BENCH_SECONDS ?? '10');
/** BENCH_ONLY=noisy|orgs|proofs|history runs only that section (on a fresh database, like the full run). */
const ONLY = process.env.BENCH_ONLY?.trim() || null;
const SECTIONS = ['noisy', 'orgs', 'proofs', 'history'] as const;
if (ONLY !== null && !(SECTIONS as readonly string[]).includes(ONLY)) throw new Error(`BENCH_ONLY takes one of: ${SECTIONS.join(', ')}.`);
if (!Number.isFinite(SECONDS) || SECONDS <= 0 || SECONDS > 60) throw new Error('BENCH_SECONDS must be a number in (0, 60].');
const DURATION_MS = SECONDS * 1000;
/** Safety cap on iterations per writer/connection/client: every loop is bounded by time AND count. */
const MAX_OPS = 1_000_000;
const ORG = 'bench-org';
const WRITERS = [1, 8] as const;
const GRAPHQL_CLIENTS = 10;
const GRAPHQL_WARMUP_MS = 1000;
const actor = (name: string) => actorOf(ORG, name);

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

// ---- scenarios ---------------------------------------------------------------------------------

interface WriteScenario {
  writers: number;
  events: number;
  seconds: number;
  eventsPerSecond: number;
  latency: LatencySummary;
  /** Null where /proc is not available. */
  cpu: CpuReport | null;
}

interface FullPathScenario extends WriteScenario {
  appendAttempts: number;
  conflictsRetried: number;
  /** Mean milliseconds per command by phase (see CommandTiming in bench/writers.ts). */
  meanPhaseMs: { total: number; streamReads: number; preHead: number; headStatement: number; afterHead: number; other: number };
  /** Mean latency by the key result stream's length when the check-in was appended. */
  byStreamLength: { versions: string; commands: number; meanMs: number }[];
  finalStreamLength: number;
}

const VERSION_BUCKETS: readonly [number, number][] = [
  [1, 100],
  [101, 250],
  [251, 500],
  [501, 1000],
  [1001, 2000],
  [2001, Number.POSITIVE_INFINITY],
];

async function fullPath(orm: MikroORM, fixture: Fixture, writers: number): Promise<FullPathScenario> {
  const keyResults: string[] = [];
  const objectivesNeeded = Math.ceil(writers / 3);
  for (let o = 0; o < objectivesNeeded && keyResults.length < writers; o += 1) {
    keyResults.push(...(await objectiveWithKeyResults(new Ledger(orm, () => new Date()), fixture, fixture.teamId, `Writers ${writers} objective ${o + 1}`, 3)));
  }
  const run = await runWriters(orm, keyResults.slice(0, writers).map((keyResultId) => ({ organisationId: ORG, keyResultId })), DURATION_MS, MAX_OPS);
  const all = run.timings;
  const byStreamLength = VERSION_BUCKETS.map(([lo, hi]) => {
    const inBucket = all.filter((t) => t.version >= lo && t.version <= hi).map((t) => t.totalMs);
    return { versions: hi === Number.POSITIVE_INFINITY ? `${lo}+` : `${lo}-${hi}`, commands: inBucket.length, meanMs: round(mean(inBucket), 3) };
  }).filter((b) => b.commands > 0);
  return {
    writers,
    events: run.events,
    seconds: run.seconds,
    eventsPerSecond: run.eventsPerSecond,
    latency: run.latency,
    cpu: run.cpu,
    appendAttempts: run.appendAttempts,
    conflictsRetried: run.conflictsRetried,
    meanPhaseMs: meanPhases(all),
    byStreamLength,
    finalStreamLength: Math.max(...all.map((t) => t.version)),
  };
}

interface StreamLengthPoint {
  /** Events in the key result stream before the measured check-ins (prefilled + KeyResultDefined). */
  streamLengthBefore: number;
  commands: number;
  meanMs: number;
  p50Ms: number;
  meanStreamReadsMs: number;
}

const PROBE_LENGTHS = [0, 1000, 5000] as const;
const PROBE_COMMANDS = 30;

/**
 * recordCheckIn latency (1 writer) on key results whose stream already holds N check-ins. The N
 * events are prefilled straight through EventStore.append (one append per key result, no inline
 * projections) to save time; the measured commands take the full path.
 */
async function streamLengthProbe(orm: MikroORM, fixture: Fixture): Promise<StreamLengthPoint[]> {
  const ledger = new Ledger(orm, () => new Date());
  const { objectiveId, keyResultIds } = await objectiveWithIds(ledger, fixture, fixture.teamId, 'Stream length probe', PROBE_LENGTHS.length);
  const points: StreamLengthPoint[] = [];
  for (const [k, length] of PROBE_LENGTHS.entries()) {
    const keyResultId = keyResultIds[k] as string;
    if (length > 0) {
      const at = new Date();
      const events = Array.from({ length }, (_, i) => {
        const input = checkInInput(keyResultId, i);
        return {
          type: 'CheckInRecorded' as const,
          data: {
            keyResultId,
            objectiveId,
            unitId: fixture.teamId,
            quarterId: fixture.quarterId,
            confidence: input.confidence,
            value: input.value,
            whatChanged: input.whatChanged,
            blockers: input.blockers,
            asOf: at.toISOString(),
          },
        };
      });
      await orm.em.fork().transactional((em) =>
        new EventStore().append(sqlOf(em), {
          organisationId: ORG,
          streamId: `keyResult-${keyResultId}`,
          streamType: 'keyResult',
          expectedVersion: 1,
          events,
          metadata: { actor: 'bench-prefill', correlationId: randomUUID(), causationId: randomUUID(), idempotencyKey: null },
          recordedAt: at,
        }),
      );
    }
    const store = new TimedEventStore();
    const commands = new Commands(new Ledger(orm, () => new Date(), store), actor('bench-probe'));
    for (let i = 0; i < 2; i += 1) await commands.recordCheckIn(checkInInput(keyResultId, i));
    const latencies: number[] = [];
    const reads: number[] = [];
    for (let i = 0; i < PROBE_COMMANDS; i += 1) {
      store.current = { reads: 0, readMs: 0, preHeadMs: 0, headStart: Number.NaN, headEnd: Number.NaN };
      const t0 = performance.now();
      await commands.recordCheckIn(checkInInput(keyResultId, i));
      latencies.push(performance.now() - t0);
      reads.push(store.current.readMs);
    }
    const summary = summarise(latencies);
    points.push({
      streamLengthBefore: length + 1 + 2,
      commands: PROBE_COMMANDS,
      meanMs: summary.meanMs,
      p50Ms: summary.p50Ms,
      meanStreamReadsMs: round(mean(reads), 3),
    });
  }
  return points;
}

interface LayerCost {
  layer: string;
  operations: number;
  wallMicros: number;
  cpuMicros: number;
}

/**
 * What one statement costs through each data-access layer the command path uses, sequentially on
 * an idle pool: the same SELECT (the inline projections' key-result lookup) via pg, via sqlOf (the
 * event store's path), via MikroORM's QueryBuilder (the projections' and read model's path); and
 * an empty transaction via pg and via em.fork().transactional (the ledger's path).
 */
async function layerCosts(orm: MikroORM, url: string, keyResultId: string): Promise<LayerCost[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  const n = 1000;
  const measure = async (layer: string, op: () => Promise<unknown>): Promise<LayerCost> => {
    for (let i = 0; i < 100; i += 1) await op();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < n; i += 1) await op();
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { layer, operations: n, wallMicros: Math.round((wall * 1000) / n), cpuMicros: Math.round((cpu.user + cpu.system) / n) };
  };
  const text = 'select "k0".* from "okr_key_results" as "k0" where "k0"."organisation_id" = $1 and "k0"."id" in ($2)';
  try {
    return [
      await measure('SELECT key result: pg Client.query', () => client.query(text, [ORG, keyResultId])),
      await measure('SELECT key result: sqlOf(em.fork()).query (event store path)', () =>
        sqlOf(orm.em.fork()).query(text.replace('$1', '?').replace('$2', '?'), [ORG, keyResultId])),
      await measure('SELECT key result: TableReadModel.keyResult (the read model path)', () =>
        new TableReadModel(orm.em.fork(), ORG).keyResult(keyResultId)),
      await measure('empty transaction: pg BEGIN + COMMIT', async () => {
        await client.query('BEGIN');
        await client.query('COMMIT');
      }),
      await measure('empty transaction: em.fork().transactional (ledger path)', () => orm.em.fork().transactional(async () => undefined)),
    ];
  } finally {
    await client.end();
  }
}

interface RawRow {
  organisation_id: string;
  type: string;
  schema_version: number;
  data: string;
  metadata: string;
  quarter_id: string | null;
  unit_id: string | null;
}

async function rawInserts(url: string, template: RawRow, connections: number, nextPosition: () => number): Promise<WriteScenario> {
  const clients = await Promise.all(
    Array.from({ length: connections }, async () => {
      const c = new Client({ connectionString: url });
      await c.connect();
      return c;
    }),
  );
  // The same columns as an append writes, leaf hash included (32 bytes, like a real one).
  const insert = `INSERT INTO bench_raw (position, organisation_id, stream_id, stream_version, type, schema_version,
                                         data, metadata, recorded_at, quarter_id, unit_id, leaf_hash)
                  VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10, $11, $12)`;
  const hash = Buffer.alloc(32, 0xff);
  const latencies: number[][] = Array.from({ length: connections }, () => []);
  try {
    // Warm-up: a few inserts per connection, not measured.
    await Promise.all(
      clients.map(async (c, k) => {
        for (let i = 1; i <= 20; i += 1) {
          await c.query(insert, [nextPosition(), template.organisation_id, `warmup-${connections}-${k}`, i, template.type,
            template.schema_version, template.data, template.metadata, new Date(), template.quarter_id, template.unit_id, hash]);
        }
      }),
    );
    const cpuStart = await cpuSample();
    const start = performance.now();
    const deadline = start + DURATION_MS;
    const ends: number[] = [];
    await Promise.all(
      clients.map(async (c, k) => {
        const streamId = `keyResult-raw-${connections}-${k}-${randomUUID()}`;
        for (let i = 1; i <= MAX_OPS && performance.now() < deadline; i += 1) {
          const t0 = performance.now();
          await c.query(insert, [nextPosition(), template.organisation_id, streamId, i, template.type, template.schema_version,
            template.data, template.metadata, new Date(), template.quarter_id, template.unit_id, hash]);
          latencies[k]?.push(performance.now() - t0);
        }
        ends.push(performance.now());
      }),
    );
    const elapsedMs = Math.max(...ends) - start;
    const cpu = await cpuSince(cpuStart, await postgresPids(clients[0] as Client));
    const all = latencies.flat();
    return {
      writers: connections,
      events: all.length,
      seconds: round(elapsedMs / 1000, 3),
      eventsPerSecond: round(all.length / (elapsedMs / 1000), 1),
      latency: summarise(all),
      cpu,
    };
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
}

interface GraphQLScenario {
  clients: number;
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  latency: LatencySummary;
  errors: number;
  cpu: CpuReport | null;
  data: { objectives: number; keyResultsPerObjective: number; checkInsPerKeyResult: number };
  responseBytes: number;
}

async function graphql(orm: MikroORM, fixture: Fixture): Promise<GraphQLScenario> {
  const ledger = new Ledger(orm, () => new Date());
  const teamId = await addTeam(ledger, fixture, 'Checkout');
  const objectives = 4;
  const perObjective = 3;
  const checkIns = 6;
  const c = new Commands(ledger, actor('bench-graphql-setup'));
  for (let o = 0; o < objectives; o += 1) {
    const krs = await objectiveWithKeyResults(ledger, fixture, teamId, `Checkout objective ${o + 1}`, perObjective);
    for (const kr of krs) for (let i = 0; i < checkIns; i += 1) await c.recordCheckIn(checkInInput(kr, i));
  }
  const server = await createServer({ orm, organisationId: ORG, actor: 'bench-reader' });
  const url = await server.listen(0, '127.0.0.1');
  log(`GraphQL server listening at ${url}`);
  try {
    const query = `query TeamQuarter($quarterId: ID!, $unitId: ID) {
      objectives(quarterId: $quarterId, unitId: $unitId) { title status keyResults { title current confidence score } }
    }`;
    const body = JSON.stringify({ query, variables: { quarterId: fixture.quarterId, unitId: teamId } });
    let cpuStart: Promise<Awaited<ReturnType<typeof cpuSample>>> = Promise.resolve(null);
    const result = await runClientWorker(
      {
        url,
        body,
        clients: GRAPHQL_CLIENTS,
        warmupMs: GRAPHQL_WARMUP_MS,
        durationMs: DURATION_MS,
        maxRequestsPerClient: MAX_OPS,
      },
      () => {
        cpuStart = cpuSample();
      },
    );
    const cpu = await cpuSince(await cpuStart, await postgresPids(orm));
    const sample = JSON.parse(result.sample) as { data?: { objectives?: { keyResults: { current: number | null }[] }[] } };
    const got = sample.data?.objectives ?? [];
    if (got.length !== objectives || got.some((o) => o.keyResults.length !== perObjective || o.keyResults.some((k) => k.current === null))) {
      throw new Error(`unexpected GraphQL answer: ${result.sample.slice(0, 500)}`);
    }
    return {
      clients: GRAPHQL_CLIENTS,
      requests: result.latenciesMs.length,
      seconds: round(result.elapsedMs / 1000, 3),
      requestsPerSecond: round(result.latenciesMs.length / (result.elapsedMs / 1000), 1),
      latency: summarise(result.latenciesMs),
      errors: result.errors,
      cpu,
      data: { objectives, keyResultsPerObjective: perObjective, checkInsPerKeyResult: checkIns },
      responseBytes: Buffer.byteLength(result.sample),
    };
  } finally {
    await server.close();
  }
}

// ---- machine facts -----------------------------------------------------------------------------

const FS_TYPES: Record<number, string> = {
  0xef53: 'ext4',
  0x01021994: 'tmpfs',
  0x794c7630: 'overlayfs',
  0x9123683e: 'btrfs',
  0x58465342: 'xfs',
  0x6969: 'nfs',
};

async function fsTypeOf(dir: string | null): Promise<string | null> {
  if (dir === null) return null;
  try {
    const s = await statfs(dir);
    return FS_TYPES[s.type] ?? `0x${s.type.toString(16)}`;
  } catch {
    return null;
  }
}

async function machineFacts(orm: MikroORM, db: BenchDatabase) {
  const sql = sqlOf(orm.em.fork());
  const [version] = await sql.query<{ version: string }>('SELECT version()');
  const settings = await sql.query<{ name: string; setting: string; unit: string | null }>(
    `SELECT name, setting, unit FROM pg_settings
      WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method', 'shared_buffers', 'max_connections', 'full_page_writes')
      ORDER BY name`,
  );
  let dataDir = db.dataDir;
  if (dataDir === null && /^(127\.0\.0\.1|localhost|\[::1\])$/.test(new URL(db.url).hostname)) {
    try {
      dataDir = (await sql.query<{ data_directory: string }>('SHOW data_directory'))[0]?.data_directory ?? null;
    } catch {
      dataDir = null;
    }
  }
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: round(os.totalmem() / 1024 ** 3, 1),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    postgres: version?.version ?? 'unknown',
    postgresSettings: Object.fromEntries(settings.map((s) => [s.name, s.unit ? `${s.setting} (${s.unit})` : s.setting])),
    postgresDataDir: dataDir,
    postgresDataDirFilesystem: await fsTypeOf(dataDir),
    database: db.kind === 'embedded' ? 'embedded PostgreSQL (temporary data directory)' : 'DATABASE_URL server, fresh database',
  };
}

// ---- issue 10's figures -------------------------------------------------------------------------

/** The figures of issue 10 that the history section and the server process give. */
function historyFigures(history: HistoryBench, server: ServerLoadResults): Omit<Headline, 'checkInPerRawInsert1' | 'orgs8PerWriter1'> {
  return {
    asOfP99OverLiveP99: server.teamQuarterQuery.coldP99OverLiveP99,
    rebuildPerSequentialRead: history.rebuild.ofSequentialRead,
    appendMaxWaitDuringRebuildMs: history.appendsDuringRebuild.during.maxMs,
    graphqlPerApolloHello: server.graphqlVsApolloHello.oursOverHello,
    graphqlP99Ms: server.graphqlVsApolloHello.ours.latency.p99Ms,
    serverRssMb: server.memory.rssAfterLoadMb ?? Number.NaN,
  };
}

const MIB = 1024 * 1024;

/** Storage per 1,000,000 events of the history log, for the summary. */
function storageLine(history: HistoryBench): string {
  const pm = history.storage.perMillionEvents;
  const m = (bytes: number) => `${(bytes / MIB).toFixed(0)} MiB`;
  return (
    `Storage per 1,000,000 events (no target): ${m(pm.total)} = okr_events ${m(pm.okrEvents)} + okr_tree_nodes ${m(pm.okrTreeNodes)} + ` +
    `read models ${m(pm.readModels)} + history tables ${m(pm.historyTables)} (log of ${history.events} events).`
  );
}

// ---- main --------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const startedAt = new Date();
  const t0 = performance.now();
  const loadStart = os.loadavg()[0]?.toFixed(2) ?? 'n/a';
  const db = await provisionDatabase(log);
  let orm: MikroORM | null = null;
  let released = false;
  /** Sections' own cleanups (the proofs section's database), run before the benchmark's database goes. */
  const cleanups: (() => Promise<void>)[] = [];
  const onCleanup = (cleanup: () => Promise<void>) => cleanups.push(cleanup);
  const release = async () => {
    if (released) return;
    released = true;
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => log(`cleanup failed: ${String(error)}`));
    await orm?.close(true).catch(() => undefined);
    await db.release();
  };
  process.once('SIGINT', () => {
    log('interrupted: cleaning up');
    void release().finally(() => process.exit(130));
  });
  try {
    orm = await openDatabase(db.url);
    const machine = await machineFacts(orm, db);
    log(`PostgreSQL: ${machine.postgres}`);
    if (ONLY === 'noisy') {
      const noisy = await noisyNeighbour(orm, db.url, SECONDS, log);
      const results = { command: 'BENCH_ONLY=noisy npm run bench', startedAt: startedAt.toISOString(), secondsPerScenario: SECONDS, machine, noisyNeighbour: noisy.results };
      process.stdout.write(`OKR ledger benchmark (noisy neighbour only) — ${startedAt.toISOString()} — ${SECONDS} s measured per phase\n\n${noisy.report}\n`);
      const file = path.join(__dirname, 'results.json');
      await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
      log(`wrote ${path.relative(process.cwd(), file)}`);
      return;
    }
    if (ONLY === 'orgs') {
      const orgs = await organisationsBench(orm, db.url, SECONDS, MAX_OPS, log);
      const results = {
        command: `${process.env.DATABASE_URL ? 'DATABASE_URL=… ' : ''}BENCH_ONLY=orgs npm run bench`,
        startedAt: startedAt.toISOString(),
        secondsPerScenario: SECONDS,
        machine,
        organisations: orgs.results,
        loadAverage1m: { start: Number(loadStart), end: round(os.loadavg()[0] ?? Number.NaN, 2) },
        benchWallSeconds: round((performance.now() - t0) / 1000, 1),
      };
      process.stdout.write(
        `OKR ledger benchmark (organisations only) — ${startedAt.toISOString()} — ${SECONDS} s measured per scenario\n\n${orgs.report}\n\n` +
          `Load average (1 min) at start ${loadStart}, at end ${os.loadavg()[0]?.toFixed(2)}. Bench wall time ${results.benchWallSeconds} s.\n`,
      );
      const file = path.join(__dirname, 'results.json');
      await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
      log(`wrote ${path.relative(process.cwd(), file)}`);
      return;
    }
    if (ONLY === 'proofs') {
      const proofs = await proofsBench(db.url, log, onCleanup);
      const results = {
        command: `${process.env.DATABASE_URL ? 'DATABASE_URL=… ' : ''}BENCH_ONLY=proofs npm run bench`,
        startedAt: startedAt.toISOString(),
        machine,
        proofs: proofs.results,
        loadAverage1m: { start: Number(loadStart), end: round(os.loadavg()[0] ?? Number.NaN, 2) },
        benchWallSeconds: round((performance.now() - t0) / 1000, 1),
      };
      process.stdout.write(
        `OKR ledger benchmark (proofs only) — ${startedAt.toISOString()}\n\n${proofs.report}\n\n` +
          `Load average (1 min) at start ${loadStart}, at end ${os.loadavg()[0]?.toFixed(2)}. Bench wall time ${results.benchWallSeconds} s.\n`,
      );
      const file = path.join(__dirname, 'results.json');
      await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
      log(`wrote ${path.relative(process.cwd(), file)}`);
      return;
    }
    if (ONLY === 'history') {
      const history = await historyBench(orm, db.url, log);
      const server = await serverLoad(db.url, history.queried, SECONDS, log);
      const figures = historyFigures(history.results, server.results);
      const knobs = ['HISTORY_ORGS', 'HISTORY_QUARTERS', 'HISTORY_TEAMS', 'HISTORY_REQUESTS', 'REBUILD_APPENDERS', 'REBUILD_APPEND_INTERVAL_MS']
        .filter((k) => process.env[k] !== undefined)
        .map((k) => `${k}=${process.env[k]} `)
        .join('');
      const results = {
        ...inOrder(figures),
        targets: verdicts(figures),
        storageBytesPerMillionEvents: history.results.storage.perMillionEvents,
        command: `${process.env.DATABASE_URL ? 'DATABASE_URL=… ' : ''}${knobs}BENCH_ONLY=history npm run bench`,
        startedAt: startedAt.toISOString(),
        secondsPerScenario: SECONDS,
        machine,
        history: history.results,
        server: server.results,
        loadAverage1m: { start: Number(loadStart), end: round(os.loadavg()[0] ?? Number.NaN, 2) },
        benchWallSeconds: round((performance.now() - t0) / 1000, 1),
      };
      process.stdout.write(
        `OKR ledger benchmark (history only) — ${startedAt.toISOString()}\n\n${history.report}\n\n${server.report}\n\n` +
          `${headlineTable(figures, storageLine(history.results))}\n\n` +
          `Load average (1 min) at start ${loadStart}, at end ${os.loadavg()[0]?.toFixed(2)}. Bench wall time ${results.benchWallSeconds} s.\n`,
      );
      const file = path.join(__dirname, 'results.json');
      await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
      log(`wrote ${path.relative(process.cwd(), file)}`);
      return;
    }
    // First, on an empty log: its history is recorded before the live scenarios' appends.
    const history = await historyBench(orm, db.url, log);
    const server = await serverLoad(db.url, history.queried, SECONDS, log);

    const setupLedger = new Ledger(orm, () => new Date());
    const fixture = await setUpOrganisation(setupLedger, ORG);

    // Warm-up: JIT, pool connections, catalog caches; on key results of their own.
    log('warming up the command path');
    const warmupKrs = [
      ...(await objectiveWithKeyResults(setupLedger, fixture, fixture.teamId, 'Warm-up A', 3)),
      ...(await objectiveWithKeyResults(setupLedger, fixture, fixture.teamId, 'Warm-up B', 3)),
      ...(await objectiveWithKeyResults(setupLedger, fixture, fixture.teamId, 'Warm-up C', 3)),
    ].slice(0, 8);
    await Promise.all(
      warmupKrs.map(async (kr) => {
        const c = new Commands(setupLedger, actor('bench-warmup'));
        for (let i = 0; i < 25; i += 1) await c.recordCheckIn(checkInInput(kr, i));
      }),
    );
    const statements = await statementsPerCheckIn(db.url, ORG, warmupKrs[0] as string);

    const full: FullPathScenario[] = [];
    for (const writers of WRITERS) {
      log(`full command path, ${writers} writer(s), ${SECONDS} s`);
      full.push(await fullPath(orm, fixture, writers));
    }

    log(`stream length probe: ${PROBE_COMMANDS} check-ins on key results holding ${PROBE_LENGTHS.join(', ')} earlier check-ins`);
    const probe = await streamLengthProbe(orm, fixture);

    log('per-statement cost of the data-access layers');
    const layers = await layerCosts(orm, db.url, warmupKrs[0] as string);

    // Raw inserts into a copy of okr_events (same columns, indexes and constraints, no triggers),
    // with the JSON of a real recorded check-in.
    const sql = sqlOf(orm.em.fork());
    await sql.query('CREATE TABLE bench_raw (LIKE okr_events INCLUDING ALL)');
    const [template] = await sql.query<RawRow>(
      `SELECT organisation_id, type, schema_version, data::text AS data, metadata::text AS metadata, quarter_id, unit_id
         FROM okr_events WHERE type = 'CheckInRecorded' ORDER BY position DESC LIMIT 1`,
    );
    if (template === undefined) throw new Error('no recorded check-in to copy');
    let position = 0;
    const raw: WriteScenario[] = [];
    for (const connections of WRITERS) {
      log(`raw single-row INSERT (autocommit), ${connections} connection(s), ${SECONDS} s`);
      raw.push(await rawInserts(db.url, template, connections, () => (position += 1)));
    }

    log(`GraphQL team-quarter query, ${GRAPHQL_CLIENTS} clients, ${SECONDS} s`);
    const gql = await graphql(orm, fixture);

    log(`noisy neighbour: one organisation attacking while another runs the team-quarter query, ${SECONDS} s per phase`);
    const noisy = await noisyNeighbour(orm, db.url, SECONDS, log);

    const orgs = await organisationsBench(orm, db.url, SECONDS, MAX_OPS, log);

    const proofs = await proofsBench(db.url, log, onCleanup);

    const [counts] = await sql.query<{ events: string; check_ins: string }>(
      'SELECT (SELECT count(*) FROM okr_events) AS events, (SELECT count(*) FROM okr_check_ins) AS check_ins',
    );

    const ratios = WRITERS.map((w, i) => ({
      writers: w,
      fullPathEventsPerSecond: full[i]?.eventsPerSecond ?? Number.NaN,
      rawInsertsPerSecond: raw[i]?.eventsPerSecond ?? Number.NaN,
      ratio: round((full[i]?.eventsPerSecond ?? Number.NaN) / (raw[i]?.eventsPerSecond ?? Number.NaN), 3),
    }));
    const figures: Headline = {
      ...historyFigures(history.results, server.results),
      checkInPerRawInsert1: ratios[0]?.ratio ?? Number.NaN,
      orgs8PerWriter1: orgs.results.ratioEightOrganisationsOverOneWriter,
    };
    const results = {
      ...inOrder(figures),
      targets: verdicts(figures),
      storageBytesPerMillionEvents: history.results.storage.perMillionEvents,
      command: `${process.env.DATABASE_URL ? 'DATABASE_URL=… ' : ''}npm run bench`,
      startedAt: startedAt.toISOString(),
      secondsPerScenario: SECONDS,
      machine,
      fullCommandPath: full,
      rawInsert: raw,
      fullPathOverRaw: ratios,
      statementsPerCheckIn: statements,
      streamLengthProbe: probe,
      dataAccessLayers: layers,
      graphql: gql,
      history: history.results,
      server: server.results,
      noisyNeighbour: noisy.results,
      organisations: orgs.results,
      proofs: proofs.results,
      finalCounts: { okrEvents: Number(counts?.events ?? 0), okrCheckIns: Number(counts?.check_ins ?? 0) },
      loadAverage1m: { start: Number(loadStart), end: round(os.loadavg()[0] ?? Number.NaN, 2) },
      benchWallSeconds: 0,
    };
    results.benchWallSeconds = round((performance.now() - t0) / 1000, 1);

    const out: string[] = [];
    out.push(`OKR ledger benchmark — ${startedAt.toISOString()} — ${SECONDS} s measured per scenario`);
    out.push('');
    out.push('Machine');
    out.push(
      table([
        ['fact', 'value'],
        ['cores', `${machine.cores} x ${machine.cpuModel}`],
        ['memory', `${machine.memoryGiB} GiB`],
        ['os', machine.os],
        ['node', machine.node],
        ['postgres', machine.postgres],
        ['database', machine.database],
        ['data dir', `${machine.postgresDataDir ?? 'unknown'} (${machine.postgresDataDirFilesystem ?? 'fs unknown'})`],
        ...Object.entries(machine.postgresSettings).map(([k, v]) => [`pg ${k}`, v] as [string, string]),
      ]),
    );
    out.push('');
    out.push('Writes: events appended per second (each writer/connection on its own stream, sequential commands)');
    out.push(
      table([
        ['scenario', 'writers', 'events', 'seconds', 'events/s', 'p50 ms', 'p99 ms', 'max ms'],
        ...full.map((s) => ['full command path (recordCheckIn)', s.writers, s.events, s.seconds, s.eventsPerSecond, s.latency.p50Ms, s.latency.p99Ms, s.latency.maxMs]),
        ...raw.map((s) => ['raw INSERT into bench_raw, autocommit', s.writers, s.events, s.seconds, s.eventsPerSecond, s.latency.p50Ms, s.latency.p99Ms, s.latency.maxMs]),
      ]),
    );
    out.push('');
    out.push(table([['writers', 'full path events/s', 'raw inserts/s', 'full / raw'], ...ratios.map((r) => [r.writers, r.fullPathEventsPerSecond, r.rawInsertsPerSecond, r.ratio])]));
    out.push('');
    out.push('Full command path: mean milliseconds per recordCheckIn, by phase');
    out.push(
      table([
        ['writers', 'total', 'stream reads', 'pre-head (version+guards)', 'head stmt (incl. lock wait)', 'after head (projections+COMMIT)', 'other (BEGIN, JS, pool)', 'attempts', 'conflicts'],
        ...full.map((s) => [s.writers, s.meanPhaseMs.total, s.meanPhaseMs.streamReads, s.meanPhaseMs.preHead, s.meanPhaseMs.headStatement, s.meanPhaseMs.afterHead, s.meanPhaseMs.other, s.appendAttempts, s.conflictsRetried]),
      ]),
    );
    out.push('');
    out.push('Full command path: mean latency by the key result stream length');
    out.push(
      table([
        ['writers', 'stream versions', 'commands', 'mean ms'],
        ...full.flatMap((s) => s.byStreamLength.map((b) => [s.writers, b.versions, b.commands, b.meanMs])),
      ]),
    );
    out.push('');
    out.push(`recordCheckIn on a key result that already holds N events (1 writer, ${PROBE_COMMANDS} commands each; prefilled via EventStore.append)`);
    out.push(
      table([
        ['stream length before', 'mean ms', 'p50 ms', 'of which stream reads ms'],
        ...probe.map((p) => [p.streamLengthBefore, p.meanMs, p.p50Ms, p.meanStreamReadsMs]),
      ]),
    );
    out.push('');
    out.push('Cost of one statement through each data-access layer (sequential, one connection, 1000 each; cpu = this process)');
    out.push(table([['layer', 'µs wall', 'µs cpu'], ...layers.map((l) => [l.layer, l.wallMicros, l.cpuMicros])]));
    out.push('');
    out.push('CPU during each measured scenario (cores busy on average; bench process = benchmark + server + GraphQL client worker;');
    out.push('postgres = this database\'s backends + the cluster\'s background processes; other = everything else: load that is not this benchmark)');
    const cpuRow = (name: string, c: CpuReport | null) =>
      c === null ? [name, 'n/a', 'n/a', 'n/a', 'n/a', 'n/a'] : [name, c.wallSeconds, c.machineBusyPercent, c.benchProcessCores, c.postgresCores, c.otherCores];
    out.push(
      table([
        ['scenario', 'window s', 'machine busy %', 'bench process cores', 'postgres cores', 'other cores'],
        ...full.map((s) => cpuRow(`full path, ${s.writers} writer(s)`, s.cpu)),
        ...raw.map((s) => cpuRow(`raw INSERT, ${s.writers} connection(s)`, s.cpu)),
        cpuRow(`GraphQL, ${gql.clients} clients`, gql.cpu),
      ]),
    );
    out.push('');
    out.push(`SQL statements per recordCheckIn (as the ledger sends them on the pool's connections, mean of ${statements.commands} commands): ${statements.perCommand}`);
    out.push(table([['statement', 'per command'], ...Object.entries(statements.breakdown).map(([k, v]) => [k, v] as [string, number])]));
    out.push('');
    out.push(
      `GraphQL: objectives(quarterId, unitId) { title status keyResults { title current confidence score } } — ` +
        `${gql.data.objectives} objectives x ${gql.data.keyResultsPerObjective} key results x ${gql.data.checkInsPerKeyResult} check-ins, ` +
        `${gql.responseBytes} B response, keep-alive, client in a worker thread`,
    );
    out.push(
      table([
        ['clients', 'requests', 'seconds', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'errors'],
        [gql.clients, gql.requests, gql.seconds, gql.requestsPerSecond, gql.latency.p50Ms, gql.latency.p99Ms, gql.latency.maxMs, gql.errors],
      ]),
    );
    out.push('');
    out.push(`Load average (1 min) at start ${loadStart}, at end ${os.loadavg()[0]?.toFixed(2)}.`);
    out.push(`Database at the end: ${results.finalCounts.okrEvents} events, ${results.finalCounts.okrCheckIns} check-ins. Bench wall time ${results.benchWallSeconds} s.`);
    out.push('');
    out.push(history.report);
    out.push('');
    out.push(server.report);
    out.push('');
    out.push(noisy.report);
    out.push('');
    out.push(orgs.report);
    out.push('');
    out.push(proofs.report);
    out.push('');
    out.push(headlineTable(figures, storageLine(history.results)));
    out.push(`Load average (1 min) at start ${loadStart}, at end ${os.loadavg()[0]?.toFixed(2)}; ${machine.cores} cores. Bench wall time ${results.benchWallSeconds} s.`);
    process.stdout.write(`${out.join('\n')}\n`);
    const file = path.join(__dirname, 'results.json');
    await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
    log(`wrote ${path.relative(process.cwd(), file)}`);
  } finally {
    await release();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exitCode = 1;
});
