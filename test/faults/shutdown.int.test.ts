import { connect } from 'node:net';
import type { Client } from 'pg';
import { Commands } from '../../src/commands';
import { Ledger } from '../../src/ledger';
import { dataOf, freePort, gqlRequest, present, sleep, startServerProcess, waitFor, type Child, type HttpOutcome } from '../support/faults';
import { Okr } from '../support/okr';
import { startTestServer, type TestServer } from '../support/server';

/*
 * Graceful shutdown finishes what is in flight. Mutations are made slow deterministically: the test
 * holds the organisation's log head row (okr_log_heads FOR UPDATE) from its own connection, so every append waits at
 * its last step; big reads (a page of 500 events, a replayed quarter) run beside them. Then close()
 * is called (in-process), or SIGTERM is sent (the real process, src/main.ts): new connections must be
 * refused at once, and once the head is released every in-flight request must get its complete answer.
 */

const DAY = 86_400_000;
const CHECK_IN = `mutation($i: RecordCheckInInput!) { recordCheckIn(input: $i) { id version checkIns { confidence } } }`;
const EVENTS = `query { events(first: 500) { edges { cursor node { position streamId version type recordedAt actor data } } pageInfo { hasNextPage } } }`;
const REPLAY = `query($q: ID!, $u: ID, $asOf: DateTime) { objectives(quarterId: $q, unitId: $u, asOf: $asOf) { id title keyResults { id current confidence checkIns { asOf confidence } } } }`;

/** Resolves with the connection error code (ECONNREFUSED) or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.setTimeout(3000, () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

async function holdLogHead(client: Client, organisationId: string): Promise<() => Promise<void>> {
  await client.query('BEGIN');
  await client.query('SELECT position FROM okr_log_heads WHERE organisation_id = $1 FOR UPDATE', [organisationId]);
  return async () => {
    await client.query('COMMIT');
  };
}

/** Sessions waiting on a lock. Ask from a connection outside any transaction: inside one, pg_stat_activity is a snapshot. */
async function lockWaiters(client: Client): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
  );
  return rows[0]?.n ?? 0;
}

const complete = (o: HttpOutcome): boolean => o.status === 200 && !!o.body?.data && !o.body.errors?.length;
const show = (what: string, o: HttpOutcome): string => `${what}: status ${o.status} ${o.failure ?? ''} ${o.text.slice(0, 300)}`;

let t: TestServer;
let closed = false;
const ids = { team: '', keyResults: [] as string[] };

beforeAll(async () => {
  t = await startTestServer('faultshutdown', '2026-11-20T09:00:00Z', 'org-shutdown');
  const okr = new Okr(t);
  const { fn, teams } = await okr.org(['Payments']);
  ids.team = present(teams[0], 'team');
  await okr.quarter('2026-Q4', '2026-10-01T00:00:00Z', '2027-01-01T00:00:00Z');
  const parent = await okr.objective(fn, '2026-Q4', 'Reliable platform');
  await okr.commit(parent);
  const objective = await okr.objective(ids.team, '2026-Q4', 'Reliable payments', { parentId: parent });
  await okr.commit(objective);
  for (let k = 0; k < 4; k += 1) {
    ids.keyResults.push(await okr.keyResult(objective, { title: `Cut failures ${k} from 2% to 1%`, metric: 'failures', baseline: 2, target: 1 }));
  }
  // A history worth reading: 600 check-ins written through the real write path.
  const commands = new Commands(new Ledger(t.db.orm, t.clock.now), { organisationId: 'org-shutdown', actor: 'bob', correlationId: 'seed' });
  await Promise.all(
    ids.keyResults.map(async (keyResultId, k) => {
      for (let i = 0; i < 150; i += 1) {
        await commands.recordCheckIn({ keyResultId, confidence: (i * 7 + k) % 101, value: i / 10, whatChanged: `seed ${k}.${i} ${'x'.repeat(200)}` });
      }
    }),
  );
}, 60_000);

afterAll(async () => {
  if (!closed) await Promise.race([t.server.close().catch(() => undefined), sleep(10_000)]);
  await t.db.drop();
});

it('close() lets in-flight requests finish with complete answers and refuses new connections', async () => {
  const port = Number(new URL(t.url).port);
  const holder = await t.db.client();
  const monitor = await t.db.client();
  const release = await holdLogHead(holder, 'org-shutdown');
  let released = false;
  const releaseOnce = async () => {
    if (!released) await release();
    released = true;
  };
  try {
    let received = 0;
    t.server.http.on('request', () => {
      received += 1;
    });

    const MUTATIONS = 8;
    const inFlight: { what: string; promise: Promise<HttpOutcome> }[] = [];
    const settled: string[] = [];
    for (let m = 0; m < MUTATIONS; m += 1) {
      const keyResultId = present(ids.keyResults[m % ids.keyResults.length], 'key result');
      inFlight.push({
        what: `check-in ${m}`,
        promise: gqlRequest(t.url, CHECK_IN, { i: { keyResultId, confidence: 40 + m, whatChanged: `in flight ${m}`, idempotencyKey: `inflight-${m}` } }, { timeoutMs: 30_000 }).then((o) => {
          settled.push(show(`check-in ${m}`, o));
          return o;
        }),
      });
    }
    // Wait until every mutation waits on the head row, then add the slow reads.
    await waitFor(`${MUTATIONS} appends waiting on the log head`, async () => ((await lockWaiters(monitor)) >= MUTATIONS ? true : undefined), { timeoutMs: 15_000, intervalMs: 20 }).catch(async (error: Error) => {
      const activity = await monitor.query("SELECT state, wait_event_type, wait_event, left(query, 50) AS q FROM pg_stat_activity WHERE datname = current_database()");
      throw new Error(`${error.message}; answered already: ${JSON.stringify(settled)}; sessions: ${JSON.stringify(activity.rows)}`);
    });
    for (let r = 0; r < 3; r += 1) inFlight.push({ what: `events page ${r}`, promise: gqlRequest(t.url, EVENTS, undefined, { timeoutMs: 30_000 }) });
    for (let r = 0; r < 3; r += 1) {
      inFlight.push({ what: `replay ${r}`, promise: gqlRequest(t.url, REPLAY, { q: '2026-Q4', u: ids.team, asOf: '2026-11-20T09:00:00Z' }, { timeoutMs: 30_000 }) });
    }
    await waitFor('the server to have received every request', async () => (received >= inFlight.length ? true : undefined), { timeoutMs: 10_000, intervalMs: 5 });

    // ---- close while they are in flight ---------------------------------------------------------------
    const closeStarted = Date.now();
    let closeDoneAt: number | null = null;
    const closing = t.server.close().then(() => {
      closeDoneAt = Date.now();
    });
    closed = true;
    // New connections are refused at once, while the in-flight requests still wait.
    await waitFor('the listening socket to close', async () => ((await tryConnect(port)) === 'ECONNREFUSED' ? true : undefined), { timeoutMs: 5000, intervalMs: 20 });
    await sleep(300);
    expect(closeDoneAt).toBeNull(); // close() waits for the in-flight requests
    expect(await lockWaiters(monitor)).toBeGreaterThanOrEqual(1);

    // ---- let the appends through: each in-flight request gets its complete answer ----------------------
    await releaseOnce();
    const outcomes = await Promise.all(inFlight.map(async (f) => ({ what: f.what, outcome: await f.promise })));
    const lastAnswerAt = Date.now();
    expect(outcomes.filter((o) => !complete(o.outcome)).map((o) => show(o.what, o.outcome))).toEqual([]);
    for (const o of outcomes.filter((x) => x.what.startsWith('check-in'))) {
      expect(o.outcome.body?.data?.recordCheckIn.checkIns.length).toBeGreaterThan(150);
    }
    for (const o of outcomes.filter((x) => x.what.startsWith('events page'))) {
      expect(o.outcome.body?.data?.events.edges).toHaveLength(500);
    }
    for (const o of outcomes.filter((x) => x.what.startsWith('replay'))) {
      expect(o.outcome.body?.data?.objectives[0].keyResults).toHaveLength(4);
    }
    await Promise.race([closing, sleep(15_000)]);
    const doneAt = present<number>(closeDoneAt, 'the end of close()');
    console.log(`close() resolved ${doneAt - closeStarted} ms after it was called, ${doneAt - lastAnswerAt} ms after the last in-flight answer`);

    // The mutations were applied exactly once; afterwards nothing is listening.
    const [row] = await t.db.sql.query<{ n: string }>("SELECT count(*) AS n FROM okr_events WHERE data->>'whatChanged' LIKE 'in flight %'");
    expect(Number(row?.n)).toBe(MUTATIONS);
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
    const after = await gqlRequest(t.url, EVENTS, undefined, { timeoutMs: 5000 });
    expect(after.status).toBeNull();
  } finally {
    await releaseOnce();
  }
}, 60_000);

it('SIGTERM to the real process (src/main.ts) lets in-flight requests finish, then exits 0', async () => {
  const ORG = 'org-sigterm';
  const port = await freePort();
  const server = await startServerProcess(t.db.url, port, { OKR_ORGANISATION: ORG });
  let child: (Child & { url: string }) | null = server;
  let releaseLater = async (): Promise<void> => undefined;
  try {
    const must = async (query: string, variables: Record<string, unknown>) => dataOf(await gqlRequest(server.url, query, variables), query.slice(0, 50));
    const now = Date.now();
    const company = (await must(`mutation($i: RegisterUnitInput!) { registerUnit(input: $i) { id } }`, { i: { name: 'Acme', level: 'COMPANY' } })).registerUnit.id;
    const fn = (await must(`mutation($i: RegisterUnitInput!) { registerUnit(input: $i) { id } }`, { i: { name: 'Eng', level: 'FUNCTION', parentId: company } })).registerUnit.id;
    const team = (await must(`mutation($i: RegisterUnitInput!) { registerUnit(input: $i) { id } }`, { i: { name: 'Payments', level: 'TEAM', parentId: fn } })).registerUnit.id;
    await must(`mutation($i: PlanQuarterInput!) { planQuarter(input: $i) { id } }`, {
      i: { id: 'FQ-term', startsOn: new Date(now - 30 * DAY).toISOString(), endsOn: new Date(now + 60 * DAY).toISOString() },
    });
    const objective = (await must(`mutation($i: DraftObjectiveInput!) { draftObjective(input: $i) { id } }`, { i: { unitId: team, quarterId: 'FQ-term', title: 'Reliable payments' } })).draftObjective.id;
    const keyResultId = (await must(`mutation($i: DefineKeyResultInput!) { defineKeyResult(input: $i) { id } }`, { i: { objectiveId: objective, title: 'Cut failures from 2% to 1%', metric: 'failures', baseline: 2, target: 1 } })).defineKeyResult.id;

    const holder = await t.db.client();
    const monitor = await t.db.client();
    const release = await holdLogHead(holder, ORG);
    let released = false;
    releaseLater = async () => {
      if (!released) await release();
      released = true;
    };
    const MUTATIONS = 5;
    const inFlight = Array.from({ length: MUTATIONS }, (_, m) =>
      gqlRequest(server.url, CHECK_IN, { i: { keyResultId, confidence: 50 + m, whatChanged: `term ${m}`, idempotencyKey: `term-${m}` } }, { timeoutMs: 30_000 }),
    );
    await waitFor(`${MUTATIONS} appends waiting on the log head`, async () => ((await lockWaiters(monitor)) >= MUTATIONS ? true : undefined), { timeoutMs: 15_000, intervalMs: 20 });

    child.process.kill('SIGTERM');
    const exitedEarly = await Promise.race([child.exited.then((e) => e), sleep(700).then(() => null)]);
    await releaseLater();
    const outcomes = await Promise.all(inFlight);
    const exit = exitedEarly ?? (await Promise.race([child.exited, sleep(15_000).then(() => null)]));
    const evidence = {
      exitedBeforeTheRequestsFinished: exitedEarly,
      exit,
      unanswered: outcomes.filter((o) => !complete(o)).map((o, i) => show(`check-in ${i}`, o)),
    };
    // What graceful shutdown means here: every in-flight request answered, then a clean exit (main.ts: exit 0).
    // An exit code of 143 (128 + SIGTERM) does not come from main.ts, which only exits with 0 or 1.
    expect(evidence).toEqual({ exitedBeforeTheRequestsFinished: null, exit: { code: 0, signal: null }, unanswered: [] });
    child = null;
  } finally {
    await releaseLater();
    await child?.stop('SIGKILL', 5000);
  }
}, 60_000);
