/**
 * The server process on the big log (issue 10): the OKR ledger as `npm start` runs it (src/main.ts in a
 * node process of its own, bench/serverProcess.ts) on the benchmark's database, after bench/history.ts.
 *
 * 1. The team-quarter query of the first history organisation, one client, one request after another:
 *    HISTORY_REQUESTS times live, as many with asOf at a new instant each time (spread over days 20-78 of
 *    the quarter), as many at one instant again; each p99 over the live p99.
 * 2. The same query (live) from GRAPHQL_CLIENTS keep-alive clients in a worker thread (bench/graphqlClient.ts,
 *    the client of run.ts's GraphQL scenario), against our server and against the Apollo Server
 *    hello-world (bench/apolloHello.ts, `{ hello }`, in a process of its own), BENCH_SECONDS each, in two
 *    slices taken in the order ours, hello, hello, ours so that a change of load on a shared machine
 *    falls on both alike; each slice after a 1 s warm-up.
 * 3. Our server's resident memory after that load (VmRSS), and its peak over its life (VmHWM).
 *
 * Our server runs in local development mode, as `npm start` does without OKR_JWT_SECRET: no
 * authentication, every request the local admin of OKR_ORGANISATION (the history organisation). Every
 * limit is at its default except the per-person and per-organisation rate and in-flight limits, which are
 * off (OKR_RATE_PERSON=0 ...): with them, the 10 clients, one person, would be refused past 20 requests a
 * second and 8 in flight, and the figure would be the limiter's. LOG_LEVEL is npm start's (info), a log
 * line per request included; the checkpoint key is made for the run (nothing is written to .okr-data).
 */
import { generateSignerKey } from '../events/note';
import { runClientWorker, type ClientResult } from './graphqlClient';
import type { QueriedQuarter } from './history';
import { knob } from './historyFill';
import { heapLimitMb, memoryOf, startApolloHello, startLedgerServer, stopServer, type ServerProcess } from './serverProcess';
import { round, summarise, table, type LatencySummary } from './stats';

const ASOF_REQUESTS = knob('HISTORY_REQUESTS', 100, 10_000);
const GRAPHQL_CLIENTS = 10;
/**
 * Before each slice, both servers alike. A fresh node process compiles its hot code for several seconds
 * under load (ours runs much more code per request than the hello-world: type-graphql, the plugins, pg);
 * measured by hand on one server, its first 6 s of 10 clients gave 1,337-1,562 req/s, the next 1,840-2,036.
 */
const WARMUP_MS = 5000;
const DAY = 86_400_000;
/** Our server's settings on top of npm start's defaults (see above). */
const SERVER_ENV = {
  OKR_RATE_PERSON: '0',
  OKR_RATE_ORGANISATION: '0',
  OKR_CONCURRENCY_PERSON: '0',
  OKR_CONCURRENCY_ORGANISATION: '0',
  LOG_LEVEL: 'info',
} as const;

const TEAM_QUARTER = `query TeamQuarter($quarterId: ID!, $unitId: ID, $asOf: DateTime) {
  objectives(quarterId: $quarterId, unitId: $unitId, asOf: $asOf) { title status keyResults { title current confidence score } }
}`;

export interface LoadSide {
  requests: number;
  seconds: number;
  requestsPerSecond: number;
  latency: LatencySummary;
  errors: number;
  responseBytes: number;
  /** Requests per second of each slice, in the order run. */
  perSlice: number[];
}

export interface ServerLoadResults {
  server: {
    command: string;
    mode: string;
    /** Settings given on top of npm start's defaults (secrets left out). */
    settings: Record<string, string>;
    heapCeilingMb: number;
  };
  teamQuarterQuery: {
    organisationId: string;
    quarterId: string;
    unitId: string;
    quarterEvents: number;
    live: LatencySummary;
    asOfCold: LatencySummary;
    asOfCached: LatencySummary;
    /** asOf at a new instant: p99 / live p99 (the issue's target: at most 2). */
    coldP99OverLiveP99: number;
    cachedP99OverLiveP99: number;
  };
  graphqlVsApolloHello: {
    clients: number;
    secondsEach: number;
    slices: string[];
    ours: LoadSide;
    apolloHello: LoadSide;
    /** Our requests/s over the hello-world's (the issue's target: at least 0.25). */
    oursOverHello: number;
  };
  memory: {
    /** Our server's VmRSS and VmHWM after the asOf and GraphQL load; null without /proc. */
    rssAfterLoadMb: number | null;
    peakRssMb: number | null;
    apolloHelloRssMb: number | null;
    apolloHelloPeakRssMb: number | null;
  };
}

async function teamQuarterLatencies(server: ServerProcess, queried: QueriedQuarter): Promise<{ live: number[]; cold: number[]; cached: number[] }> {
  const url = `${server.url}/graphql`;
  const ask = async (asOf: Date | null): Promise<number> => {
    const started = performance.now();
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: TEAM_QUARTER, variables: { quarterId: queried.quarter.id, unitId: queried.team, asOf: asOf?.toISOString() ?? null } }),
    });
    const body = (await res.json()) as { errors?: unknown; data?: { objectives: unknown[] } };
    if (body.errors || body.data?.objectives.length !== 3) throw new Error(`unexpected answer: ${JSON.stringify(body).slice(0, 300)}`);
    return performance.now() - started;
  };
  const live: number[] = [];
  const cold: number[] = [];
  const cached: number[] = [];
  for (let i = 0; i < 5; i += 1) await ask(null);
  for (let i = 0; i < ASOF_REQUESTS; i += 1) live.push(await ask(null));
  // A different instant every time, spread over days 20-78 of the quarter.
  const startsOn = queried.quarter.startsOn.getTime();
  const spread = (58 * DAY) / ASOF_REQUESTS;
  for (let i = 0; i < ASOF_REQUESTS; i += 1) cold.push(await ask(new Date(startsOn + 20 * DAY + Math.round(i * spread) + i * 1000)));
  const at = new Date(startsOn + 45 * DAY);
  await ask(at);
  for (let i = 0; i < ASOF_REQUESTS; i += 1) cached.push(await ask(at));
  return { live, cold, cached };
}

function side(slices: readonly ClientResult[]): LoadSide {
  const latencies = slices.flatMap((s) => Array.from(s.latenciesMs));
  const seconds = slices.reduce((n, s) => n + s.elapsedMs, 0) / 1000;
  return {
    requests: latencies.length,
    seconds: round(seconds, 3),
    requestsPerSecond: round(latencies.length / seconds, 1),
    latency: summarise(latencies),
    errors: slices.reduce((n, s) => n + s.errors, 0),
    responseBytes: Buffer.byteLength(slices[0]?.sample ?? ''),
    perSlice: slices.map((s) => round(s.latenciesMs.length / (s.elapsedMs / 1000), 1)),
  };
}

export async function serverLoad(
  dbUrl: string,
  queried: QueriedQuarter,
  seconds: number,
  log: (line: string) => void,
): Promise<{ results: ServerLoadResults; report: string }> {
  const settings: Record<string, string> = { OKR_ORGANISATION: queried.organisationId, ...SERVER_ENV };
  const server = await startLedgerServer(dbUrl, { ...settings, OKR_CHECKPOINT_KEY: generateSignerKey('okr-bench.localhost').signerKey }, (line) => log(`server: ${line}`));
  let hello: ServerProcess | null = null;
  try {
    log(`server: team-quarter query of ${queried.organisationId}, live and asOf (${ASOF_REQUESTS} requests each, one client)`);
    const q = await teamQuarterLatencies(server, queried);

    hello = await startApolloHello((line) => log(`server: ${line}`));
    const bodies = {
      ours: JSON.stringify({ query: TEAM_QUARTER, variables: { quarterId: queried.quarter.id, unitId: queried.team } }),
      hello: JSON.stringify({ query: '{ hello }' }),
    };
    const order = ['ours', 'hello', 'hello', 'ours'] as const;
    const sliceMs = (seconds * 1000) / 2;
    const results: Record<'ours' | 'hello', ClientResult[]> = { ours: [], hello: [] };
    for (const which of order) {
      const target = which === 'ours' ? server : hello;
      log(`server: ${GRAPHQL_CLIENTS} clients against ${which === 'ours' ? 'our server (team-quarter query)' : 'the Apollo hello-world ({ hello })'}, ${sliceMs / 1000} s`);
      results[which].push(
        await runClientWorker({ url: `${target.url}/graphql`, body: bodies[which], clients: GRAPHQL_CLIENTS, warmupMs: WARMUP_MS, durationMs: sliceMs, maxRequestsPerClient: 1_000_000 }),
      );
    }
    const memory = await memoryOf(server.pid);
    const helloMemory = await memoryOf(hello.pid);

    const sample = JSON.parse(results.ours[0]?.sample ?? '{}') as { data?: { objectives?: { keyResults: unknown[] }[] } };
    const got = sample.data?.objectives ?? [];
    if (got.length !== 3 || got.some((o) => o.keyResults.length !== 3)) throw new Error(`unexpected answer from our server: ${results.ours[0]?.sample.slice(0, 500)}`);
    if (!(results.hello[0]?.sample ?? '').includes('"world"')) throw new Error(`unexpected answer from the hello-world: ${results.hello[0]?.sample.slice(0, 500)}`);

    const live = summarise(q.live);
    const cold = summarise(q.cold);
    const cached = summarise(q.cached);
    const ours = side(results.ours);
    const apolloHello = side(results.hello);
    const out: ServerLoadResults = {
      server: {
        command: `node --max-old-space-size=${heapLimitMb()} -r ts-node/register/transpile-only src/main.ts (as npm start)`,
        mode: 'local development mode (no OKR_JWT_SECRET: no authentication); per-person and per-organisation rate and in-flight limits off, every other limit at its default',
        settings,
        heapCeilingMb: server.heapLimitMb,
      },
      teamQuarterQuery: {
        organisationId: queried.organisationId,
        quarterId: queried.quarter.id,
        unitId: queried.team,
        quarterEvents: queried.quarterEvents,
        live,
        asOfCold: cold,
        asOfCached: cached,
        coldP99OverLiveP99: round(cold.p99Ms / live.p99Ms, 2),
        cachedP99OverLiveP99: round(cached.p99Ms / live.p99Ms, 2),
      },
      graphqlVsApolloHello: {
        clients: GRAPHQL_CLIENTS,
        secondsEach: seconds,
        slices: [...order],
        ours,
        apolloHello,
        oursOverHello: round(ours.requestsPerSecond / apolloHello.requestsPerSecond, 3),
      },
      memory: {
        rssAfterLoadMb: memory?.rssMb ?? null,
        peakRssMb: memory?.peakMb ?? null,
        apolloHelloRssMb: helloMemory?.rssMb ?? null,
        apolloHelloPeakRssMb: helloMemory?.peakMb ?? null,
      },
    };
    const t = out.teamQuarterQuery;
    const g = out.graphqlVsApolloHello;
    const m = out.memory;
    const report = [
      `The server as npm start runs it (src/main.ts, its own process, --max-old-space-size=${server.heapLimitMb}), ${out.server.mode}; ` +
        `OKR_ORGANISATION=${queried.organisationId}, a log of ${queried.quarterEvents} events in the queried quarter ${t.quarterId}`,
      table([
        ['team-quarter query (1 client, sequential)', 'requests', 'p50 ms', 'p99 ms', 'max ms', 'p99 / live p99'],
        ['live (no asOf)', t.live.count, t.live.p50Ms, t.live.p99Ms, t.live.maxMs, 1],
        ['asOf, a new instant each time', t.asOfCold.count, t.asOfCold.p50Ms, t.asOfCold.p99Ms, t.asOfCold.maxMs, t.coldP99OverLiveP99],
        ['asOf, the same instant again', t.asOfCached.count, t.asOfCached.p50Ms, t.asOfCached.p99Ms, t.asOfCached.maxMs, t.cachedP99OverLiveP99],
      ]),
      `${g.clients} keep-alive clients (worker thread), ${g.secondsEach} s each in slices ${g.slices.join(', ')}, each after a ${WARMUP_MS / 1000} s warm-up`,
      table([
        ['server', 'requests', 'seconds', 'req/s', 'req/s per slice', 'p50 ms', 'p99 ms', 'max ms', 'errors', 'response B'],
        ['ours: team-quarter query (live)', ours.requests, ours.seconds, ours.requestsPerSecond, ours.perSlice.join(' / '), ours.latency.p50Ms, ours.latency.p99Ms, ours.latency.maxMs, ours.errors, ours.responseBytes],
        [
          'Apollo Server hello-world: { hello }',
          apolloHello.requests,
          apolloHello.seconds,
          apolloHello.requestsPerSecond,
          apolloHello.perSlice.join(' / '),
          apolloHello.latency.p50Ms,
          apolloHello.latency.p99Ms,
          apolloHello.latency.maxMs,
          apolloHello.errors,
          apolloHello.responseBytes,
        ],
      ]),
      `ours / hello-world: ${g.oursOverHello}. Resident memory after this load: our server ${m.rssAfterLoadMb ?? 'n/a'} MB (peak ${m.peakRssMb ?? 'n/a'} MB, VmHWM), ` +
        `the hello-world ${m.apolloHelloRssMb ?? 'n/a'} MB (peak ${m.apolloHelloPeakRssMb ?? 'n/a'} MB).`,
    ].join('\n');
    return { results: out, report };
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}\nserver stderr: ${server.stderr()}${hello ? `\nhello-world stderr: ${hello.stderr()}` : ''}`);
  } finally {
    if (hello) await stopServer(hello);
    await stopServer(server);
  }
}
