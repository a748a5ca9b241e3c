import { verifyEveryLog } from '../support/database';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import {
  dataOf,
  freePort,
  gqlRequest,
  httpGet,
  leaksInternals,
  present,
  startEmbeddedPostgresProcess,
  startServerProcess,
  TEST_CHECKPOINT_KEYS,
  waitFor,
  type Child,
  type HttpOutcome,
} from '../support/faults';
import { pgSql } from '../support/pgSql';

/*
 * A PostgreSQL of this test's own (src/embeddedPostgres.ts, run in a helper process: see
 * test/support/embeddedPostgresProcess.ts), the real server on it (src/main.ts: openDatabase +
 * createServer, in a process of its own, not inside jest: in jest's sandbox the errors node's `net`
 * raises are not `instanceof Error` of the test realm, so graphql-js wraps ECONNREFUSED as
 * NonErrorThrown and the server would answer INTERNAL_SERVER_ERROR only because of jest). PostgreSQL is stopped
 * under a light load: requests must then fail with SERVICE_UNAVAILABLE (no 5xx status, no
 * INTERNAL_SERVER_ERROR, no stack traces), /readyz answer 503 and /healthz 200. Once PostgreSQL is
 * back on the same data directory and port, the same server (never restarted) must answer again within
 * a few seconds, /readyz 200, and the log must verify.
 */

const DAY = 86_400_000;
const DATABASE = 'okr_fault_restart';
const QUARTER = 'FQ-restart';

const CHECK_IN = `mutation($i: RecordCheckInInput!) { recordCheckIn(input: $i) { id version confidence } }`;
const KEY_RESULT = `query($id: ID!) { keyResult(id: $id) { id version checkIns { confidence } } }`;
const OBJECTIVES = `query($q: ID!) { objectives(quarterId: $q) { id title keyResults { id current } } }`;
const EVENTS = `query { events(first: 50) { edges { node { position type } } } }`;
const VERIFY = `query { verifyAuditLog { ok eventsChecked } }`;
const DEFINE = `mutation($i: DefineKeyResultInput!) { defineKeyResult(input: $i) { id } }`;

let dataDir: string;
let pgPort: number;
let pg: (Child & { url: string }) | null = null;
let server: (Child & { url: string; base: string }) | null = null;
let url: string;
let base: string;
const ids = { team: '', objective: '', keyResult: '' };

/** What the server logged at level error (its unexpected errors, which clients see as INTERNAL_SERVER_ERROR). */
const serverErrors = (): string[] =>
  (server?.output() ?? '').split('\n').filter((line) => line.includes('"level":"error"')).map((line) => line.slice(0, 700));

async function must(query: string, variables?: Record<string, unknown>): Promise<Record<string, any>> {
  return dataOf(await gqlRequest(url, query, variables), query.slice(0, 60));
}

/** What must hold for every GraphQL answer while the database is down. */
function unavailableProblems(what: string, o: HttpOutcome): string[] {
  const problems: string[] = [];
  if (o.status === null) return [`${what}: no HTTP answer (${o.failure})`];
  if (o.status >= 500) problems.push(`${what}: HTTP ${o.status}`);
  const errors = o.body?.errors ?? [];
  if (errors.length === 0) problems.push(`${what}: no error at all: ${o.text.slice(0, 300)}`);
  for (const e of errors) {
    if (e.extensions?.code !== 'SERVICE_UNAVAILABLE') problems.push(`${what}: code ${String(e.extensions?.code)} (${e.message})`);
  }
  const leak = leaksInternals(o.text);
  if (leak) problems.push(`${what}: the response leaks a ${leak}: ${o.text.slice(0, 300)}`);
  if (o.ms > 15_000) problems.push(`${what}: took ${o.ms} ms`);
  return problems;
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'okr-fault-pg-'));
  // As root, PostgreSQL runs as the `postgres` user, which must be able to enter the directory.
  await chmod(dataDir, 0o755);
  pgPort = await freePort();
  pg = await startEmbeddedPostgresProcess(dataDir, pgPort, DATABASE);
  server = await startServerProcess(pg.url, await freePort(), { OKR_ORGANISATION: 'org-restart' });
  url = server.url;
  base = server.base;
  const now = Date.now();
  const company = (await must(`mutation($i: RegisterUnitInput!) { registerUnit(input: $i) { id } }`, { i: { name: 'Acme', level: 'COMPANY' } })).registerUnit.id;
  const fn = (await must(`mutation($i: RegisterUnitInput!) { registerUnit(input: $i) { id } }`, { i: { name: 'Eng', level: 'FUNCTION', parentId: company } })).registerUnit.id;
  ids.team = (await must(`mutation($i: RegisterUnitInput!) { registerUnit(input: $i) { id } }`, { i: { name: 'Payments', level: 'TEAM', parentId: fn } })).registerUnit.id;
  await must(`mutation($i: PlanQuarterInput!) { planQuarter(input: $i) { id } }`, {
    i: { id: QUARTER, startsOn: new Date(now - 30 * DAY).toISOString(), endsOn: new Date(now + 60 * DAY).toISOString() },
  });
  ids.objective = (await must(`mutation($i: DraftObjectiveInput!) { draftObjective(input: $i) { id } }`, { i: { unitId: ids.team, quarterId: QUARTER, title: 'Reliable payments' } })).draftObjective.id;
  await must(`mutation($i: CommitObjectiveInput!) { commitObjective(input: $i) { id } }`, { i: { id: ids.objective } });
  ids.keyResult = (await must(DEFINE, { i: { objectiveId: ids.objective, title: 'Cut failures from 2% to 1%', metric: 'failures', baseline: 2, target: 1 } })).defineKeyResult.id;
}, 60_000);

afterAll(async () => {
  if (server) await server.stop('SIGKILL', 10_000);
  if (pg) await pg.stop('SIGTERM', 20_000);
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 60_000);

it('answers SERVICE_UNAVAILABLE while PostgreSQL is down and recovers without a restart once it is back', async () => {
  // ---- a light load while all is well --------------------------------------------------------------
  for (let i = 0; i < 10; i += 1) {
    await must(CHECK_IN, { i: { keyResultId: ids.keyResult, confidence: 50 + i, whatChanged: `before ${i}`, idempotencyKey: `before-${i}` } });
  }
  expect((await must(KEY_RESULT, { id: ids.keyResult })).keyResult.checkIns).toHaveLength(10);
  expect((await httpGet(`${base}/readyz`)).status).toBe(200);

  // ---- stop PostgreSQL (a fast shutdown: open connections are terminated) under a light load ---------
  const during: { key: string; variables: Record<string, unknown>; outcome: HttpOutcome }[] = [];
  let stopLoad = false;
  const loader = (async () => {
    for (let n = 0; n < 300 && !stopLoad; n += 1) {
      const key = `during-${n}`;
      const variables = { i: { keyResultId: ids.keyResult, confidence: n % 101, whatChanged: `during ${n}`, idempotencyKey: key } };
      during.push({ key, variables, outcome: await gqlRequest(url, CHECK_IN, variables, { timeoutMs: 20_000 }) });
      await new Promise((r) => setTimeout(r, 15));
    }
  })();
  await waitFor('a few check-ins before the stop', async () => (during.length >= 5 ? true : undefined), { timeoutMs: 10_000, intervalMs: 10 });
  const stopped = await present(pg, 'PostgreSQL').stop('SIGTERM', 30_000);
  expect(stopped).toMatchObject({ code: 0 });
  pg = null;
  await new Promise((r) => setTimeout(r, 300));
  stopLoad = true;
  await loader;
  const duringOk = during.filter((d) => d.outcome.status === 200 && !d.outcome.body?.errors?.length);
  const duringProblems = during.filter((d) => !duringOk.includes(d)).flatMap((d) => unavailableProblems(`check-in ${d.key} around the stop`, d.outcome));
  console.log(`around the stop: ${during.length} check-ins, ${duringOk.length} succeeded, the rest SERVICE_UNAVAILABLE unless listed: ${duringProblems.length}`);
  expect({ duringProblems, serverLog: duringProblems.length ? serverErrors().slice(0, 4) : [] }).toEqual({ duringProblems: [], serverLog: [] });
  expect(during.length - duringOk.length).toBeGreaterThan(0);

  const down: { what: string; outcome: HttpOutcome }[] = [];
  for (let round = 0; round < 3; round += 1) {
    const batch = await Promise.all([
      ['keyResult query', KEY_RESULT, { id: ids.keyResult }],
      ['objectives query', OBJECTIVES, { q: QUARTER }],
      ['events query', EVENTS, undefined],
      ['verifyAuditLog', VERIFY, undefined],
      ['recordCheckIn', CHECK_IN, { i: { keyResultId: ids.keyResult, confidence: 10, whatChanged: `down ${round}`, idempotencyKey: `down-${round}` } }],
      ['defineKeyResult', DEFINE, { i: { objectiveId: ids.objective, title: `Raise NPS ${round} from 20 to 40`, metric: 'NPS', baseline: 20, target: 40, idempotencyKey: `down-define-${round}` } }],
    ].map(async ([what, query, variables]) => ({
      what: `${String(what)} (round ${round})`,
      outcome: await gqlRequest(url, query as string, variables as Record<string, unknown> | undefined, { timeoutMs: 30_000 }),
    })));
    down.push(...batch);
  }
  const problems = down.flatMap((d) => unavailableProblems(d.what, d.outcome));
  // On failure, also show what the server logged (the original errors behind any INTERNAL_SERVER_ERROR).
  expect({ problems, serverLog: problems.length ? serverErrors().slice(0, 4) : [] }).toEqual({ problems: [], serverLog: [] });

  const ready = await httpGet(`${base}/readyz`, { timeoutMs: 10_000 });
  expect(ready.status).toBe(503);
  expect(leaksInternals(ready.text)).toBeNull();
  expect((await httpGet(`${base}/healthz`)).status).toBe(200);

  // ---- PostgreSQL back on the same data directory and port; the server is NOT restarted ------------
  pg = await startEmbeddedPostgresProcess(dataDir, pgPort, DATABASE);
  const recoveredAfter = Date.now();
  const answer = await waitFor(
    'the server to answer a mutation again',
    async () => {
      const o = await gqlRequest(url, CHECK_IN, { i: { keyResultId: ids.keyResult, confidence: 77, whatChanged: 'after restart', idempotencyKey: 'after-1' } }, { timeoutMs: 5000 });
      return o.status === 200 && !o.body?.errors?.length && o.body?.data ? o : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 250, maxAttempts: 40 },
  ).catch(async (error: Error) => {
    const last = await gqlRequest(url, CHECK_IN, { i: { keyResultId: ids.keyResult, confidence: 77, whatChanged: 'after restart', idempotencyKey: 'after-1' } }, { timeoutMs: 5000 });
    throw new Error(`${error.message}; the last answer: status ${last.status} ${last.failure ?? ''} ${last.text.slice(0, 500)}`);
  });
  console.log(`the server answered again ${Date.now() - recoveredAfter} ms after PostgreSQL was back`);
  expect(answer.body?.data?.recordCheckIn.id).toBe(ids.keyResult);

  // Every kind of request works again, several times over (no dead pooled connection left behind).
  for (let i = 0; i < 3; i += 1) {
    const again = await Promise.all([
      gqlRequest(url, KEY_RESULT, { id: ids.keyResult }),
      gqlRequest(url, OBJECTIVES, { q: QUARTER }),
      gqlRequest(url, EVENTS),
      gqlRequest(url, CHECK_IN, { i: { keyResultId: ids.keyResult, confidence: 60 + i, whatChanged: `after ${i}`, idempotencyKey: `after-again-${i}` } }),
    ]);
    expect(again.filter((o) => o.status !== 200 || o.body?.errors?.length).map((o) => `${o.status} ${o.text.slice(0, 300)}`)).toEqual([]);
  }
  // The mutations tried while it was down, retried with their keys, now apply (they had not before).
  for (let round = 0; round < 3; round += 1) {
    await must(CHECK_IN, { i: { keyResultId: ids.keyResult, confidence: 10, whatChanged: `down ${round}`, idempotencyKey: `down-${round}` } });
  }
  // So do the check-ins that failed around the stop; each of them, and each that succeeded, exactly once.
  for (const d of during) expect(dataOf(await gqlRequest(url, CHECK_IN, d.variables), d.key).recordCheckIn.id).toBe(ids.keyResult);
  const checkIns = (await must(KEY_RESULT, { id: ids.keyResult })).keyResult.checkIns as unknown[];
  expect(checkIns).toHaveLength(10 + during.length + 1 + 3 + 3);

  expect(await waitFor('/readyz 200', async () => ((await httpGet(`${base}/readyz`)).status === 200 ? true : undefined), { timeoutMs: 5000 })).toBe(true);
  expect((await must(VERIFY)).verifyAuditLog.ok).toBe(true);
  const client = new Client({ connectionString: present(pg, 'PostgreSQL').url });
  await client.connect();
  try {
    const chain = await verifyEveryLog(pgSql(client), TEST_CHECKPOINT_KEYS);
    expect(chain).toMatchObject({ ok: true, firstBrokenPosition: null });
    const perKey = await client.query<{ key: string; n: number }>(
      `SELECT metadata->>'idempotencyKey' AS key, count(*)::int AS n FROM okr_events
        WHERE metadata->>'idempotencyKey' IS NOT NULL GROUP BY 1 HAVING count(*) <> 1`,
    );
    expect(perKey.rows).toEqual([]);
    const [{ n }] = (await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM okr_events WHERE data->>'whatChanged' LIKE 'during %'`)).rows as [{ n: number }];
    expect(n).toBe(during.length);
  } finally {
    await client.end();
  }
  // Nothing the server logged as an unexpected error (those become INTERNAL_SERVER_ERROR).
  expect(serverErrors()).toEqual([]);
}, 60_000);
