import { randomBytes, randomUUID } from 'node:crypto';
import { Agent } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { SignJWT } from 'jose';
import type { MikroORM } from '@mikro-orm/postgresql';
import { generateSignerKey } from '../events/note';
import { Commands } from '../src/commands';
import { DEFAULT_LIMITS } from '../src/config';
import { sqlOf } from '../src/database';
import { Ledger } from '../src/ledger';
import { rebuildProjections } from '../src/rebuild';
import { fill, HISTORY_ORG } from './historyFill';
import type { PacedConfig, PacedResult } from './pacedClient';
import { round, summarise, table, type LatencySummary } from './stats';
import { postGraphQL } from './post';
import { memoryOf, startLedgerServer, stopServer } from './serverProcess';

/*
 * Noisy neighbour (issue 7): one organisation attacks at and beyond its limits (scans and replays
 * without pause, requests over its rate, Retry-After ignored) while another organisation runs its
 * team-quarter query at an ordinary pace. Reported: the victim's latency quiet and under attack, what
 * the attacker got (answers and refusals by reason), and the server's peak memory.
 *
 * The server runs as `npm start` does: its own node process (src/main.ts) with the declared heap
 * ceiling, the default limits, authentication on and production settings, on the benchmark's database.
 * The victim's clients run in a worker thread; the attacker in this thread.
 */

const VICTIM_ORG = 'bench-victim';
const ATTACKER_ORG = HISTORY_ORG;
const VICTIM_CLIENTS = 5;
/** Each victim client sends one request every this many ms: 10 a second, half a person's default limit. */
const VICTIM_INTERVAL_MS = 100;
const EXPENSIVE_PERSONS = 2;
const EXPENSIVE_LOOPS_PER_PERSON = 8;
const FLOOD_PERSONS = 6;
/** Each flooding person sends one cheap request every this many ms (50 a second, over a person's 20). */
const FLOOD_INTERVAL_MS = 20;
/** After a refusal the attacker tries again this soon, whatever Retry-After says. */
const ATTACKER_RETRY_MS = 10;
const WARMUP_MS = 2000;
const DAY = 86_400_000;
const SECRET = randomBytes(32).toString('hex');
/** Production refuses to start without a checkpoint signing key: one made for this run. */
const CHECKPOINT_KEY = generateSignerKey('okr-bench.localhost').signerKey;
const METRICS_TOKEN = randomBytes(32).toString('hex');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

const mint = (org: string, sub: string, role: string) =>
  new SignJWT({ org, role }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime('2h').sign(new TextEncoder().encode(SECRET));

/** The victim's organisation: a team with 4 objectives x 3 key results x 6 check-ins (as the GraphQL scenario). */
async function victimFixture(orm: MikroORM): Promise<{ quarterId: string; teamId: string }> {
  const actor = { organisationId: VICTIM_ORG, actor: 'bench-victim-setup', correlationId: randomUUID() };
  const c = new Commands(new Ledger(orm, () => new Date()), actor);
  const now = Date.now();
  const quarterId = 'victim-Q';
  await c.planQuarter({ quarterId, startsOn: new Date(now - 30 * DAY).toISOString(), endsOn: new Date(now + 60 * DAY).toISOString() });
  const company = (await c.registerUnit({ name: 'Victim Co', level: 'COMPANY', parentId: null })).result.unitId;
  const fn = (await c.registerUnit({ name: 'Engineering', level: 'FUNCTION', parentId: company })).result.unitId;
  const teamId = (await c.registerUnit({ name: 'Checkout', level: 'TEAM', parentId: fn })).result.unitId;
  const keyResults: string[] = [];
  for (let o = 0; o < 4; o += 1) {
    const { objectiveId } = (await c.draftObjective({ unitId: teamId, quarterId, title: `Checkout objective ${o + 1}`, description: null })).result;
    for (let k = 0; k < 3; k += 1) {
      const title = `Reduce p99 checkout latency ${k + 1} from 900 ms to 300 ms`;
      keyResults.push((await c.defineKeyResult({ objectiveId, title, metric: 'p99 latency', unit: 'ms', baseline: 900, target: 300 })).result.keyResultId);
    }
    await c.commitObjective({ objectiveId });
  }
  for (const keyResultId of keyResults) {
    for (let i = 0; i < 6; i += 1) await c.recordCheckIn({ keyResultId, confidence: 40 + i * 5, value: 900 - i * 50, whatChanged: `Week ${i + 1}`, blockers: null });
  }
  return { quarterId, teamId };
}

/** The attacker's log: the history fixture (filled here unless the full benchmark already did). */
async function attackerHistory(orm: MikroORM, log: (line: string) => void): Promise<{ events: number; quarters: { id: string; startsOn: Date }[] }> {
  const sql = sqlOf(orm.em.fork());
  const count = async () => Number((await sql.query<{ n: string }>('SELECT count(*) AS n FROM okr_events WHERE organisation_id = ?', [ATTACKER_ORG]))[0]?.n ?? 0);
  if ((await count()) === 0) {
    log('noisy neighbour: filling the attacker\'s log with the history fixture');
    await fill(orm);
    // The fixture writes the log alone; its read models, history included (what asOf reads), come from a rebuild.
    log('noisy neighbour: rebuilding the read models of that log');
    await rebuildProjections(orm);
  }
  const quarters = await sql.query<{ id: string; starts_on: string }>(
    `SELECT data->>'quarterId' AS id, data->>'startsOn' AS starts_on FROM okr_events WHERE organisation_id = ? AND type = 'QuarterPlanned' ORDER BY position`,
    [ATTACKER_ORG],
  );
  return { events: await count(), quarters: quarters.map((q) => ({ id: q.id, startsOn: new Date(q.starts_on) })) };
}

function runVictim(config: PacedConfig): Promise<PacedResult> {
  const file = path.join(__dirname, 'pacedClient.ts');
  const worker = new Worker(`require('ts-node/register/transpile-only'); require(${JSON.stringify(file)});`, { eval: true, workerData: { pacedConfig: config } });
  return new Promise((resolve, reject) => {
    worker.once('message', (message: { ok: true; result: PacedResult } | { ok: false; error: string }) => {
      void worker.terminate();
      if (message.ok) resolve(message.result);
      else reject(new Error(`victim client worker failed: ${message.error}`));
    });
    worker.once('error', reject);
  });
}

interface AttackTally {
  sent: number;
  answered: number;
  /** Refusals and other failures, by "status code/reason". */
  refused: Record<string, number>;
}

/** The attack: runs until `stop()` resolves true; tallies what each kind of request got. */
async function attack(
  url: string,
  quarter: { id: string; startsOn: Date },
  stop: () => boolean,
): Promise<{ expensive: AttackTally; flood: AttackTally; seconds: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const expensive: AttackTally = { sent: 0, answered: 0, refused: {} };
  const flood: AttackTally = { sent: 0, answered: 0, refused: {} };
  const tally = (into: AttackTally, status: number, text: string) => {
    into.sent += 1;
    if (status === 200 && !text.includes('"errors"')) {
      into.answered += 1;
      return true;
    }
    const reason = /"reason":"([A-Z_]+)"/.exec(text)?.[1] ?? /"code":"([A-Z_]+)"/.exec(text)?.[1] ?? 'none';
    const key = `${status} ${reason}`;
    into.refused[key] = (into.refused[key] ?? 0) + 1;
    return false;
  };
  let instant = 0;
  const verify = JSON.stringify({ query: '{ verifyAuditLog { ok eventsChecked } }' });
  const asOf = () =>
    JSON.stringify({
      query: 'query($q: ID!, $at: DateTime) { objectives(quarterId: $q, asOf: $at) { title keyResults { current confidence } } }',
      // A new instant every time: each is a fresh replay of the quarter.
      variables: { q: quarter.id, at: new Date(quarter.startsOn.getTime() + 20 * DAY + (instant += 1) * 1000).toISOString() },
    });
  const started = performance.now();
  const loops: Promise<void>[] = [];
  for (let p = 0; p < EXPENSIVE_PERSONS; p += 1) {
    const token = await mint(ATTACKER_ORG, `mallory-${p}`, 'auditor');
    for (let l = 0; l < EXPENSIVE_LOOPS_PER_PERSON; l += 1) {
      loops.push(
        (async () => {
          for (let i = 0; i < 1_000_000 && !stop(); i += 1) {
            const { status, text } = await postGraphQL(agent, new URL(`${url}/graphql`), (l + i) % 2 === 0 ? verify : asOf(), token);
            if (!tally(expensive, status, text)) await sleep(ATTACKER_RETRY_MS);
          }
        })(),
      );
    }
  }
  const cheap = JSON.stringify({ query: '{ units { id name } quarters { id } }' });
  for (let p = 0; p < FLOOD_PERSONS; p += 1) {
    const token = await mint(ATTACKER_ORG, `flooder-${p}`, 'analyst');
    loops.push(
      (async () => {
        let next = performance.now();
        for (let i = 0; i < 1_000_000 && !stop(); i += 1) {
          await sleep(next - performance.now());
          const { status, text } = await postGraphQL(agent, new URL(`${url}/graphql`), cheap, token);
          tally(flood, status, text);
          next = Math.max(next + FLOOD_INTERVAL_MS, performance.now());
        }
      })(),
    );
  }
  await Promise.all(loops);
  agent.destroy();
  return { expensive, flood, seconds: round((performance.now() - started) / 1000, 1) };
}

export interface NoisyNeighbourResults {
  server: { heapCeilingMb: number; peakRssMb: number | null; rssQuietPeakMb: number | null; rssAttackPeakMb: number | null; limits: typeof DEFAULT_LIMITS };
  attackerLogEvents: number;
  /** The machine's 1-minute load average before the quiet phase and after the attack (other work on the machine shows here). */
  loadAverage1m: { before: number; after: number };
  victim: { clients: number; requestsPerSecondOffered: number; quiet: LatencySummary & { failures: Record<string, number> }; underAttack: LatencySummary & { failures: Record<string, number> } };
  attacker: { seconds: number; expensive: AttackTally; flood: AttackTally };
  serverMetrics: Record<string, string>;
}

export async function noisyNeighbour(
  orm: MikroORM,
  dbUrl: string,
  seconds: number,
  log: (line: string) => void,
): Promise<{ results: NoisyNeighbourResults; report: string }> {
  const history = await attackerHistory(orm, log);
  const quarter = history.quarters[Math.floor(history.quarters.length / 2)];
  if (!quarter) throw new Error('the attacker has no quarter');
  log('noisy neighbour: setting up the victim organisation');
  const victim = await victimFixture(orm);
  // The server as `npm start` runs it, with authentication on and production settings.
  const server = await startLedgerServer(
    dbUrl,
    { OKR_ENV: 'production', OKR_JWT_SECRET: SECRET, OKR_METRICS_TOKEN: METRICS_TOKEN, OKR_CHECKPOINT_KEY: CHECKPOINT_KEY, LOG_LEVEL: 'info' },
    (line) => log(`noisy neighbour: ${line}`),
  );
  let rssPeak = 0;
  const sampler = setInterval(() => {
    void memoryOf(server.pid).then((m) => {
      if (m) rssPeak = Math.max(rssPeak, m.rssMb);
    });
  }, 100);
  try {
    const tokens = await Promise.all(Array.from({ length: VICTIM_CLIENTS }, (_, i) => mint(VICTIM_ORG, `victim-${i}`, 'analyst')));
    const query = `query TeamQuarter($quarterId: ID!, $unitId: ID) {
      objectives(quarterId: $quarterId, unitId: $unitId) { title status keyResults { title current confidence score } }
    }`;
    const victimConfig: PacedConfig = {
      url: `${server.url}/graphql`,
      body: JSON.stringify({ query, variables: { quarterId: victim.quarterId, unitId: victim.teamId } }),
      tokens,
      intervalMs: VICTIM_INTERVAL_MS,
      warmupMs: WARMUP_MS,
      durationMs: seconds * 1000,
      maxRequestsPerClient: 1_000_000,
    };
    log(`noisy neighbour: victim alone, ${VICTIM_CLIENTS} clients x ${1000 / VICTIM_INTERVAL_MS}/s, ${seconds} s`);
    rssPeak = 0;
    const loadBefore = os.loadavg()[0] ?? Number.NaN;
    const quiet = await runVictim(victimConfig);
    const rssQuietPeak = rssPeak;
    const sample = JSON.parse(quiet.sample) as { data?: { objectives?: unknown[] } };
    if (sample.data?.objectives?.length !== 4) throw new Error(`unexpected victim answer: ${quiet.sample.slice(0, 300)}`);

    log(`noisy neighbour: victim under attack, ${seconds} s (the attack starts ${WARMUP_MS} ms before the measurement)`);
    rssPeak = 0;
    let stopAttack = false;
    const attacking = attack(server.url, quarter, () => stopAttack);
    const underAttack = await runVictim(victimConfig);
    stopAttack = true;
    log('noisy neighbour: waiting for the attacker\'s requests in flight');
    const attacked = await attacking;
    const rssAttackPeak = rssPeak;
    const loadAfter = os.loadavg()[0] ?? Number.NaN;

    const metricsText = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    const serverMetrics = Object.fromEntries(
      metricsText
        .split('\n')
        .filter((l) => /^(okr_refusals_total|okr_expensive_work_peak_per_organisation|okr_db_pool_connections|nodejs_heap_size_total_bytes|nodejs_eventloop_lag_p99_seconds)/.test(l))
        .map((l) => {
          const at = l.lastIndexOf(' ');
          return [l.slice(0, at), l.slice(at + 1)];
        }),
    );
    const memory = await memoryOf(server.pid);
    const summary = (r: PacedResult) => ({ ...summarise(r.latenciesMs), failures: r.failures });
    const results: NoisyNeighbourResults = {
      server: {
        heapCeilingMb: server.heapLimitMb,
        peakRssMb: memory?.peakMb ?? null,
        rssQuietPeakMb: rssQuietPeak || null,
        rssAttackPeakMb: rssAttackPeak || null,
        limits: DEFAULT_LIMITS,
      },
      attackerLogEvents: history.events,
      loadAverage1m: { before: round(loadBefore, 2), after: round(loadAfter, 2) },
      victim: {
        clients: VICTIM_CLIENTS,
        requestsPerSecondOffered: (VICTIM_CLIENTS * 1000) / VICTIM_INTERVAL_MS,
        quiet: summary(quiet),
        underAttack: summary(underAttack),
      },
      attacker: { seconds: attacked.seconds, expensive: attacked.expensive, flood: attacked.flood },
      serverMetrics,
    };
    const fmt = (t: Record<string, number>) => Object.entries(t).map(([k, v]) => `${k} x${v}`).join(', ') || 'none';
    const v = results.victim;
    const report = [
      `Noisy neighbour: organisation ${VICTIM_ORG} runs the team-quarter query (${VICTIM_CLIENTS} people, ${v.requestsPerSecondOffered}/s in all) ` +
        `while ${ATTACKER_ORG} (a log of ${history.events} events) attacks: ${EXPENSIVE_PERSONS * EXPENSIVE_LOOPS_PER_PERSON} loops of verifyAuditLog / asOf ` +
        `replays and ${FLOOD_PERSONS} people at ${1000 / FLOOD_INTERVAL_MS}/s each, retrying ${ATTACKER_RETRY_MS} ms after any refusal. ` +
        `Server: src/main.ts in its own process, --max-old-space-size=${server.heapLimitMb}, default limits, production settings.`,
      table([
        ['victim', 'requests', 'p50 ms', 'p99 ms', 'max ms', 'failures'],
        ['quiet', v.quiet.count, v.quiet.p50Ms, v.quiet.p99Ms, v.quiet.maxMs, fmt(v.quiet.failures)],
        ['under attack', v.underAttack.count, v.underAttack.p50Ms, v.underAttack.p99Ms, v.underAttack.maxMs, fmt(v.underAttack.failures)],
      ]),
      table([
        [`attacker (${attacked.seconds} s)`, 'sent', 'answered', 'refused or failed (status reason x count)'],
        ['verifyAuditLog / asOf loops', attacked.expensive.sent, attacked.expensive.answered, fmt(attacked.expensive.refused)],
        ['cheap requests over the rate', attacked.flood.sent, attacked.flood.answered, fmt(attacked.flood.refused)],
      ]),
      `Server memory: peak RSS ${results.server.peakRssMb ?? 'n/a'} MB over its life (VmHWM); sampled peak ${results.server.rssQuietPeakMb ?? 'n/a'} MB quiet, ` +
        `${results.server.rssAttackPeakMb ?? 'n/a'} MB under attack; heap ceiling ${server.heapLimitMb} MB.`,
      `Load average (1 min, ${os.cpus().length} cores): ${results.loadAverage1m.before} before the quiet phase, ${results.loadAverage1m.after} after the attack.`,
      `Server metrics at the end: ${Object.entries(serverMetrics).map(([k, val]) => `${k} ${val}`).join('; ')}`,
    ].join('\n');
    return { results, report };
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}\nserver stderr: ${server.stderr()}`);
  } finally {
    clearInterval(sampler);
    await stopServer(server);
  }
}
