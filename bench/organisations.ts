/**
 * One log per organisation (events/store.ts): what writers gain when they work in different
 * organisations, and what the Merkle tree costs an append.
 *
 * In one run, on organisations of their own (each set up through the command path like bench-org:
 * a quarter, a company, a function, a team, committed objectives), the same command as the full
 * command path scenario (Commands.recordCheckIn through the Ledger, each writer on its own key
 * result, one command after another, bench/writers.ts):
 *   - 1 writer in one organisation;
 *   - 8 writers in 8 organisations, one each;
 *   - 8 writers in one organisation (they share its head row).
 * Each is measured for BENCH_SECONDS in all, in ORGS_ROUNDS (default 3) slices taken in turn
 * (1, 8 in 8, 8 in 1, 1, 8 in 8, ...), so that load from elsewhere on a shared machine falls on all
 * three alike and the ratios compare like with like; the rate of every slice is reported too.
 * For each: check-ins/s, latency, and the CPU per command of this process (process.cpuUsage) and of
 * the PostgreSQL processes serving the database (/proc/<pid>/stat utime+stime of its backends and the
 * cluster's background processes), so the CPU ceiling (cores x 1000 ms of CPU a second) can be set
 * beside the rate. Also: the SQL statements of one recordCheckIn (MikroORM's query log, bench/statements.ts),
 * the tree's JS work per append (leaf hash + frontier update) and the tree rows written per event.
 *
 * BENCH_ONLY=orgs npm run bench runs this section alone.
 */
import os from 'node:os';
import type { MikroORM } from '@mikro-orm/postgresql';
import { SCHEMA_VERSION } from '../events/catalogue';
import { eventLeafHash, type LeafEvent } from '../events/leaf';
import { appendLeaves, type Hash } from '../events/merkle';
import { textArray } from '../events/sql';
import { sqlOf } from '../src/database';
import { Commands } from '../src/commands';
import { Ledger } from '../src/ledger';
import { actorOf, checkInInput, objectiveWithKeyResults, setUpOrganisation } from './fixtures';
import { statementsPerCheckIn, type StatementCount } from './statements';
import { round, summarise, table, type LatencySummary } from './stats';
import type { CpuReport } from './cpu';
import { meanPhases, runWriters, type PhaseMeans, type WriterRun, type WriterTarget } from './writers';

const SOLO_ORG = 'orgs-solo';
const SHARED_ORG = 'orgs-shared';
const MANY = 8;
const manyOrg = (i: number) => `orgs-${i + 1}-of-${MANY}`;
const WARMUP_COMMANDS = 25;
const ROUNDS = Number(process.env.ORGS_ROUNDS ?? '3');
if (!Number.isSafeInteger(ROUNDS) || ROUNDS < 1 || ROUNDS > 20) throw new Error('ORGS_ROUNDS must be a whole number in [1, 20].');
const TREE_MICRO_APPENDS = 5000;

export interface OrganisationScenario {
  scenario: string;
  writers: number;
  organisations: number;
  checkIns: number;
  seconds: number;
  checkInsPerSecond: number;
  latency: LatencySummary;
  appendAttempts: number;
  conflictsRetried: number;
  meanPhaseMs: PhaseMeans;
  cpu: CpuReport | null;
  /** CPU milliseconds per command; null where /proc is not available. */
  cpuPerCommandMs: { node: number; postgres: number; total: number } | null;
  /** cores x 1000 / total CPU ms per command: the rate at which this run's CPU per command fills every core. */
  cpuCeilingPerSecond: number | null;
  /** The same with the machine's other load (not this benchmark) subtracted from the cores. */
  cpuCeilingLeftByOtherLoad: number | null;
  /** check-ins/s of each slice, in the order run. */
  perRound: number[];
  /** What held this scenario back, judged from the figures (see bound()). */
  bound: string;
}

export interface OrganisationsResults {
  cores: number;
  scenarios: OrganisationScenario[];
  rounds: number;
  /** 8 writers in 8 organisations over 1 writer; the same per round (slices run back to back). */
  ratioEightOrganisationsOverOneWriter: number;
  ratioEightOrganisationsOverOneWriterPerRound: number[];
  ratioEightInOneOrganisationOverOneWriter: number;
  statementsPerCheckIn: StatementCount;
  tree: {
    /** JS per appended event, one event per append on a growing tree: leaf hash (JCS + SHA-256) and frontier update. */
    leafHashMicros: number;
    appendLeavesMicros: number;
    /** Interior nodes written per event (okr_tree_nodes rows / events), over this section's organisations. */
    nodesPerEvent: number;
    events: number;
    nodes: number;
    /** Mean stored bytes: the leaf hash on an event row; one okr_tree_nodes row (tuple incl. header). */
    leafHashBytes: number;
    nodeRowBytes: number;
  };
}

/** What held a scenario back: the CPU when the machine was (nearly) full, else the head row or the round trips. */
function bound(run: { cpu: CpuReport | null; meanPhaseMs: PhaseMeans; writers: number }): string {
  const busy = run.cpu?.machineBusyPercent ?? null;
  const headShare = run.meanPhaseMs.headStatement / run.meanPhaseMs.total;
  if (run.writers > 1 && headShare > 0.4) return `head row: ${Math.round(headShare * 100)}% of a command waits for it`;
  if (busy !== null && busy >= 85) return `CPU: machine ${busy}% busy (${run.cpu?.otherCores ?? '?'} cores of it other load)`;
  return `latency of one command's round trips and commit (machine ${busy ?? '?'}% busy)`;
}

/** The slices of one scenario as one run: counts and CPU summed, latencies and phases over every command. */
function merge(runs: readonly WriterRun[]): WriterRun {
  const first = runs[0] as WriterRun;
  const events = runs.reduce((s, r) => s + r.events, 0);
  const seconds = runs.reduce((s, r) => s + r.seconds, 0);
  const timings = runs.flatMap((r) => r.timings);
  const cpus = runs.map((r) => r.cpu);
  let cpu: CpuReport | null = null;
  if (cpus.every((c): c is CpuReport => c !== null)) {
    const wall = cpus.reduce((s, c) => s + c.wallSeconds, 0);
    const sum = (f: (c: CpuReport) => number) => cpus.reduce((s, c) => s + f(c), 0);
    const r2 = (x: number) => Math.round(x * 100) / 100;
    cpu = {
      wallSeconds: r2(wall),
      machineBusyPercent: Math.round(sum((c) => c.machineBusyPercent * c.wallSeconds) / wall),
      benchProcessCores: r2(sum((c) => c.benchProcessCpuMs) / 1000 / wall),
      postgresCores: r2(sum((c) => c.postgresCpuMs) / 1000 / wall),
      otherCores: r2(sum((c) => c.otherCpuMs) / 1000 / wall),
      benchProcessCpuMs: sum((c) => c.benchProcessCpuMs),
      postgresCpuMs: sum((c) => c.postgresCpuMs),
      otherCpuMs: sum((c) => c.otherCpuMs),
    };
  }
  return {
    writers: first.writers,
    organisations: first.organisations,
    events,
    seconds: round(seconds, 3),
    eventsPerSecond: round(events / seconds, 1),
    latency: summarise(timings.map((t) => t.totalMs)),
    cpu,
    appendAttempts: runs.reduce((s, r) => s + r.appendAttempts, 0),
    conflictsRetried: runs.reduce((s, r) => s + r.conflictsRetried, 0),
    timings,
  };
}

function scenarioOf(name: string, slices: readonly WriterRun[], cores: number): OrganisationScenario {
  const run = merge(slices);
  const meanPhaseMs = meanPhases(run.timings);
  const cpu = run.cpu;
  const perCommand =
    cpu === null || run.events === 0
      ? null
      : {
          node: round(cpu.benchProcessCpuMs / run.events, 3),
          postgres: round(cpu.postgresCpuMs / run.events, 3),
          total: round((cpu.benchProcessCpuMs + cpu.postgresCpuMs) / run.events, 3),
        };
  return {
    scenario: name,
    writers: run.writers,
    organisations: run.organisations,
    checkIns: run.events,
    seconds: run.seconds,
    checkInsPerSecond: run.eventsPerSecond,
    latency: run.latency,
    appendAttempts: run.appendAttempts,
    conflictsRetried: run.conflictsRetried,
    meanPhaseMs,
    cpu,
    cpuPerCommandMs: perCommand,
    cpuCeilingPerSecond: perCommand === null ? null : Math.round((cores * 1000) / perCommand.total),
    cpuCeilingLeftByOtherLoad: perCommand === null || cpu === null ? null : Math.round(Math.max(0, cores - cpu.otherCores) * 1000 / perCommand.total),
    perRound: slices.map((r) => r.eventsPerSecond),
    bound: bound({ cpu, meanPhaseMs, writers: run.writers }),
  };
}

/** The tree's JS work per append, one event per append on a growing tree, like the store does it. */
function treeMicrobenchmark(): { leafHashMicros: number; appendLeavesMicros: number } {
  const event = (position: number): LeafEvent => ({
    organisationId: SOLO_ORG,
    position,
    streamId: 'keyResult-00000000-0000-4000-8000-000000000000',
    version: position + 1,
    type: 'CheckInRecorded',
    schemaVersion: SCHEMA_VERSION.CheckInRecorded,
    data: { ...checkInInput('00000000-0000-4000-8000-000000000000', position), objectiveId: 'o', unitId: 'u', quarterId: 'bench-Q', asOf: new Date().toISOString() },
    metadata: { actor: 'bench-writer-0', correlationId: 'c', causationId: 'c', idempotencyKey: null },
    recordedAt: new Date().toISOString(),
  });
  const leaves: Hash[] = [];
  for (let i = 0; i < 500; i += 1) leaves.push(eventLeafHash(event(i + 1))); // warm-up
  let t = performance.now();
  for (let i = 0; i < TREE_MICRO_APPENDS; i += 1) leaves[i % 500] = eventLeafHash(event(i + 1));
  const leafHashMicros = ((performance.now() - t) * 1000) / TREE_MICRO_APPENDS;
  let frontier: Hash[] = [];
  for (let i = 0; i < 500; i += 1) frontier = appendLeaves(frontier, i, [leaves[i] as Hash]).frontier; // warm-up
  frontier = [];
  t = performance.now();
  for (let i = 0; i < TREE_MICRO_APPENDS; i += 1) frontier = appendLeaves(frontier, i, [leaves[i % 500] as Hash]).frontier;
  const appendLeavesMicros = ((performance.now() - t) * 1000) / TREE_MICRO_APPENDS;
  return { leafHashMicros: round(leafHashMicros, 2), appendLeavesMicros: round(appendLeavesMicros, 2) };
}

export async function organisationsBench(
  orm: MikroORM,
  dbUrl: string,
  seconds: number,
  maxOps: number,
  log: (line: string) => void,
): Promise<{ results: OrganisationsResults; report: string }> {
  const cores = os.cpus().length;
  const durationMs = seconds * 1000;
  const ledger = new Ledger(orm, () => new Date());

  log(`organisations: setting up ${MANY + 2} organisations`);
  const solo = await setUpOrganisation(ledger, SOLO_ORG);
  const [soloMeasured, soloWarmup] = await objectiveWithKeyResults(ledger, solo, solo.teamId, 'Solo', 2);
  const many: { measured: string; warmup: string }[] = [];
  for (let i = 0; i < MANY; i += 1) {
    const fixture = await setUpOrganisation(ledger, manyOrg(i));
    const [measured, warmup] = await objectiveWithKeyResults(ledger, fixture, fixture.teamId, `Organisation ${i + 1}`, 2);
    many.push({ measured: measured as string, warmup: warmup as string });
  }
  const shared = await setUpOrganisation(ledger, SHARED_ORG);
  const sharedKrs: string[] = [];
  for (let o = 0; sharedKrs.length < MANY; o += 1) sharedKrs.push(...(await objectiveWithKeyResults(ledger, shared, shared.teamId, `Shared ${o + 1}`, 3)));

  // Warm-up: JIT, pool connections (8 at once), catalog caches; on key results of their own.
  log('organisations: warming up');
  const warm = async (organisationId: string, keyResultId: string) => {
    const c = new Commands(ledger, actorOf(organisationId, 'bench-warmup'));
    for (let i = 0; i < WARMUP_COMMANDS; i += 1) await c.recordCheckIn(checkInInput(keyResultId, i));
  };
  await Promise.all([...many.map((m, i) => warm(manyOrg(i), m.warmup)), warm(SOLO_ORG, soloWarmup as string)]);

  log('organisations: counting the statements of one recordCheckIn');
  const statements = await statementsPerCheckIn(dbUrl, SOLO_ORG, soloWarmup as string, 20);

  const plan: { name: string; targets: WriterTarget[] }[] = [
    { name: '1 writer, 1 organisation', targets: [{ organisationId: SOLO_ORG, keyResultId: soloMeasured as string }] },
    { name: `${MANY} writers, ${MANY} organisations (1 each)`, targets: many.map((m, i) => ({ organisationId: manyOrg(i), keyResultId: m.measured })) },
    { name: `${MANY} writers, 1 organisation`, targets: sharedKrs.slice(0, MANY).map((keyResultId) => ({ organisationId: SHARED_ORG, keyResultId })) },
  ];
  const sliceMs = durationMs / ROUNDS;
  const slices: WriterRun[][] = plan.map(() => []);
  for (let r = 0; r < ROUNDS; r += 1) {
    for (const [k, p] of plan.entries()) {
      log(`organisations: round ${r + 1} of ${ROUNDS}: ${p.name}, ${round(sliceMs / 1000, 2)} s`);
      slices[k]?.push(await runWriters(orm, p.targets, sliceMs, maxOps));
    }
  }
  const scenarios = plan.map((p, k) => scenarioOf(p.name, slices[k] ?? [], cores));

  log('organisations: the tree per append');
  const micro = treeMicrobenchmark();
  const orgs = [SOLO_ORG, SHARED_ORG, ...Array.from({ length: MANY }, (_, i) => manyOrg(i))];
  const sql = sqlOf(orm.em.fork());
  const [stored] = await sql.query<{ events: string; nodes: string; leaf_bytes: string; node_bytes: string }>(
    `SELECT (SELECT count(*) FROM okr_events WHERE organisation_id = ANY(?::text[])) AS events,
            (SELECT count(*) FROM okr_tree_nodes WHERE organisation_id = ANY(?::text[])) AS nodes,
            (SELECT avg(pg_column_size(leaf_hash)) FROM okr_events WHERE organisation_id = ANY(?::text[])) AS leaf_bytes,
            (SELECT avg(pg_column_size(n.*)) FROM okr_tree_nodes n WHERE organisation_id = ANY(?::text[])) AS node_bytes`,
    [textArray(orgs), textArray(orgs), textArray(orgs), textArray(orgs)],
  );
  const events = Number(stored?.events ?? 0);
  const nodes = Number(stored?.nodes ?? 0);

  const [one, eightOrgs, eightShared] = scenarios as [OrganisationScenario, OrganisationScenario, OrganisationScenario];
  const results: OrganisationsResults = {
    cores,
    rounds: ROUNDS,
    scenarios,
    ratioEightOrganisationsOverOneWriter: round(eightOrgs.checkInsPerSecond / one.checkInsPerSecond, 2),
    ratioEightOrganisationsOverOneWriterPerRound: eightOrgs.perRound.map((x, r) => round(x / (one.perRound[r] ?? Number.NaN), 2)),
    ratioEightInOneOrganisationOverOneWriter: round(eightShared.checkInsPerSecond / one.checkInsPerSecond, 2),
    statementsPerCheckIn: statements,
    tree: {
      ...micro,
      nodesPerEvent: round(nodes / Math.max(1, events), 3),
      events,
      nodes,
      leafHashBytes: round(Number(stored?.leaf_bytes ?? 0), 1),
      nodeRowBytes: round(Number(stored?.node_bytes ?? 0), 1),
    },
  };

  const na = 'n/a';
  const report = [
    `One log per organisation: recordCheckIn, each writer on its own key result, ${seconds} s per scenario in ${ROUNDS} slices taken in turn, ${cores} cores`,
    table([
      ['scenario', 'writers', 'orgs', 'check-ins', 'seconds', 'check-ins/s', 'p50 ms', 'p99 ms', 'max ms', 'attempts', 'conflicts', 'check-ins/s per slice'],
      ...scenarios.map((s) => [s.scenario, s.writers, s.organisations, s.checkIns, s.seconds, s.checkInsPerSecond, s.latency.p50Ms, s.latency.p99Ms, s.latency.maxMs, s.appendAttempts, s.conflictsRetried, s.perRound.join(' / ')]),
    ]),
    '',
    `8 writers in 8 organisations / 1 writer: ${results.ratioEightOrganisationsOverOneWriter} (per round: ${results.ratioEightOrganisationsOverOneWriterPerRound.join(', ')}); ` +
      `8 writers in 1 organisation / 1 writer: ${results.ratioEightInOneOrganisationOverOneWriter}`,
    '',
    `CPU per command (ms; node = this process, process.cpuUsage; postgres = this database's backends + the cluster's background processes, /proc/<pid>/stat),`,
    `the CPU ceiling = ${cores} cores x 1000 ms / total ms per command, and what held each scenario back`,
    table([
      ['scenario', 'node ms/cmd', 'postgres ms/cmd', 'total ms/cmd', 'machine busy %', 'other load cores', 'CPU ceiling/s', 'ceiling left by other load/s', 'bound by'],
      ...scenarios.map((s) => [
        s.scenario,
        s.cpuPerCommandMs?.node ?? na,
        s.cpuPerCommandMs?.postgres ?? na,
        s.cpuPerCommandMs?.total ?? na,
        s.cpu?.machineBusyPercent ?? na,
        s.cpu?.otherCores ?? na,
        s.cpuCeilingPerSecond ?? na,
        s.cpuCeilingLeftByOtherLoad ?? na,
        s.bound,
      ]),
    ]),
    '',
    'Mean milliseconds per recordCheckIn, by phase (head stmts = taking the head row, lock wait included, + the frontier/tree/events statement)',
    table([
      ['scenario', 'total', 'stream reads', 'pre-head (version+guards)', 'head stmts (incl. lock wait)', 'after head (projections+COMMIT)', 'other (BEGIN, JS, pool)'],
      ...scenarios.map((s) => [s.scenario, s.meanPhaseMs.total, s.meanPhaseMs.streamReads, s.meanPhaseMs.preHead, s.meanPhaseMs.headStatement, s.meanPhaseMs.afterHead, s.meanPhaseMs.other]),
    ]),
    '',
    `SQL statements per recordCheckIn (as the ledger sends them on the pool's connections, mean of ${statements.commands} commands): ${statements.perCommand}`,
    table([['statement', 'per command'], ...Object.entries(statements.breakdown).map(([k, v]) => [k, v] as [string, number])]),
    '',
    'The Merkle tree per append',
    table([
      ['measure', 'value'],
      ['leaf hash (JCS + SHA-256) per event, JS', `${results.tree.leafHashMicros} µs`],
      ['frontier update (appendLeaves) per event, JS', `${results.tree.appendLeavesMicros} µs`],
      ['interior nodes written per event (okr_tree_nodes rows / events)', `${results.tree.nodesPerEvent} (${nodes} / ${events})`],
      ['stored leaf hash per event row / one okr_tree_nodes row (mean pg_column_size)', `${results.tree.leafHashBytes} B / ${results.tree.nodeRowBytes} B`],
      ['extra statements per append', 'none: the nodes go in the statement that inserts the events (see the statement list above)'],
    ]),
  ].join('\n');
  return { results, report };
}
