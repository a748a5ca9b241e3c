import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { SignJWT } from 'jose';
import { jwtAuthenticator } from '../../src/auth';
import type { ServerLimits } from '../../src/config';
import { EventStore } from '../../events/store';
import { sqlOf } from '../../src/database';
import { createLogger } from '../../src/logger';
import type { RequestLimits } from '../../schema/limits';
import { createServer, type OkrServer } from '../../src/server';
import { COMMIT, DEFINE, DRAFT, PLAN, REGISTER } from '../support/okr';
import { startTestServer, type TestServer } from '../support/server';

/**
 * Bounded cost, over real HTTP on loopback (issue 7): admission per person and per organisation
 * (rate and concurrency, HTTP 429 + Retry-After + RATE_LIMITED), expensive work admitted a few at a
 * time per organisation while another organisation is served, slow or gone clients dropped and
 * logged, and /metrics. Every loop is bounded; nothing asserts a duration.
 */

const SECRET = 'admission-test-secret-at-least-32-characters';
const METRICS_TOKEN = 'metrics-token-for-the-operator-0123456789abcdef';
const authenticator = jwtAuthenticator({ secret: SECRET });
const mint = (org: string, sub: string, role = 'admin') =>
  new SignJWT({ org, role }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));

/** Events bulk-appended to the attacker's key result, so that scans take real work. */
const BULK_EVENTS = 10_000;
/** Each imported reading says what changed at length (about 1 KB), so that pages of the log are big. */
const LONG_NOTE = 'Rolled the retry policy out to one more payment provider and watched the failure rate for a day. '.repeat(10);

let t: TestServer;
const tokens: Record<string, string> = {};
const ids: Record<string, string> = {};
const servers: OkrServer[] = [];

interface Answer {
  status: number;
  retryAfter: string | null;
  body: any;
}

async function post(url: string, token: string, query: string, variables?: Record<string, unknown>, signal?: AbortSignal): Promise<Answer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
    signal,
  });
  const text = await res.text();
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: JSON.parse(text) };
}

async function ok(url: string, token: string, query: string, variables?: Record<string, unknown>): Promise<any> {
  const res = await post(url, token, query, variables);
  if (res.status !== 200 || res.body.errors) throw new Error(`unexpected answer ${res.status}: ${JSON.stringify(res.body).slice(0, 400)}`);
  return res.body.data;
}

/** Another server on the test database, with its own limits (and optionally a logger). */
async function serverWith(
  limits: Partial<ServerLimits>,
  extra: { logger?: ReturnType<typeof createLogger>; metricsToken?: string | null; local?: boolean; requestLimits?: Partial<RequestLimits> } = {},
) {
  const server = await createServer({
    orm: t.db.orm,
    organisationId: 'org-local',
    actor: 'local',
    clock: t.clock.now,
    authenticator: extra.local ? undefined : authenticator,
    limits,
    requestLimits: extra.requestLimits,
    logger: extra.logger,
    metricsToken: extra.metricsToken,
  });
  servers.push(server);
  const url = await server.listen(0, '127.0.0.1');
  return { server, url };
}

const connections = (server: OkrServer) => new Promise<number>((resolve, reject) => server.http.getConnections((e, n) => (e ? reject(e) : resolve(n))));

/** Polls `check` (bounded) until it holds. */
async function eventually(check: () => Promise<boolean> | boolean, what: string, tries = 400, pauseMs = 25): Promise<void> {
  for (let i = 0; i < tries; i += 1) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  throw new Error(`never happened: ${what}`);
}

/** A log that keeps its JSON lines for the test to read. */
function capturingLogger() {
  const lines: Record<string, any>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger('info', sink), lines };
}

/** A request on a raw socket whose body is sent in two parts, so that it stays in flight in between. */
class HeldRequest {
  private readonly socket: Socket;
  private received = '';
  private readonly body: string;
  constructor(url: string, token: string, query: string) {
    const { hostname, port } = new URL(url);
    this.body = JSON.stringify({ query });
    this.socket = connect(Number(port), hostname);
    this.socket.on('data', (d) => (this.received += d.toString('utf8')));
    this.socket.write(
      `POST /graphql HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(this.body)}\r\nConnection: close\r\n\r\n${this.body.slice(0, 5)}`,
    );
  }

  /** Sends the rest of the body and resolves with the status line once the answer is in. */
  async finish(): Promise<string> {
    this.socket.write(this.body.slice(5));
    await new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
    return this.received.split('\r\n')[0] ?? '';
  }
}

beforeAll(async () => {
  t = await startTestServer('admission', '2027-01-10T09:00:00Z', 'unused', { authenticator });
  tokens.victim = await mint('org-victim', 'vera');
  tokens.attacker = await mint('org-attacker', 'mallory');
  for (const [key, org] of [['victim', 'org-victim'], ['attacker', 'org-attacker']] as const) {
    const token = tokens[key] as string;
    const company = (await ok(t.url, token, REGISTER, { i: { name: 'Acme', level: 'COMPANY' } })).registerUnit.id;
    const fn = (await ok(t.url, token, REGISTER, { i: { name: 'Engineering', level: 'FUNCTION', parentId: company } })).registerUnit.id;
    const team = (await ok(t.url, token, REGISTER, { i: { name: 'Payments', level: 'TEAM', parentId: fn } })).registerUnit.id;
    await ok(t.url, token, PLAN, { i: { id: '2027-Q1', startsOn: '2027-01-01T00:00:00Z', endsOn: '2027-04-01T00:00:00Z' } });
    const objective = (await ok(t.url, token, DRAFT, { i: { unitId: team, quarterId: '2027-Q1', title: 'Make payment failures rare' } })).draftObjective.id;
    const kr = (await ok(t.url, token, DEFINE, { i: { objectiveId: objective, title: 'Cut failures from 2% to 1%', metric: 'failure rate', baseline: 2, target: 1 } }))
      .defineKeyResult.id;
    await ok(t.url, token, COMMIT, { i: { id: objective } });
    ids[`${key}Team`] = team;
    ids[`${key}Objective`] = objective;
    ids[`${key}Kr`] = kr;
    ids[`${key}Org`] = org;
  }
  // The attacker's key result gets a long history, written straight to the store (like an import):
  // verifying the log then takes real time.
  const store = new EventStore();
  const perAppend = 5000;
  for (let done = 0; done < BULK_EVENTS; done += perAppend) {
    const at = t.clock.now();
    await t.db.orm.em.fork().transactional((em) =>
      store.append(sqlOf(em), {
        organisationId: 'org-attacker',
        streamId: `keyResult-${ids.attackerKr}`,
        streamType: 'keyResult',
        expectedVersion: 1 + done,
        events: Array.from({ length: perAppend }, (_, i) => ({
          type: 'CheckInRecorded' as const,
          data: {
            keyResultId: ids.attackerKr as string,
            objectiveId: ids.attackerObjective as string,
            unitId: ids.attackerTeam as string,
            quarterId: '2027-Q1',
            confidence: 40 + ((done + i) % 50),
            value: 2 - ((done + i) % 100) / 100,
            whatChanged: `Imported reading ${done + i}. ${LONG_NOTE}`,
            blockers: null,
            asOf: at.toISOString(),
          },
        })),
        metadata: { actor: 'importer', correlationId: `bulk-${done}`, causationId: `bulk-${done}`, idempotencyKey: null },
        recordedAt: at,
      }),
    );
  }
  t.clock.set('2027-01-12T09:00:00Z');
}, 120_000);

afterAll(async () => {
  for (const server of servers) await server.close();
  await t?.close();
});

describe('rate limits per person and per organisation', () => {
  it('answers 429 RATE_LIMITED with Retry-After, PERSON_RATE_LIMIT for one person and ORGANISATION_RATE_LIMIT for the organisation, and changes nothing', async () => {
    const { url } = await serverWith({ ratePerPerson: 3, ratePerOrganisation: 5, rateWindowSeconds: 600 });
    const ada = await mint('org-rate', 'ada');
    const before = await t.eventCount();
    for (let i = 0; i < 3; i += 1) expect((await post(url, ada, '{ units { id } }')).status).toBe(200);
    const refused = await post(url, ada, `mutation { registerUnit(input: { name: "Over the limit", level: COMPANY }) { id } }`);
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(refused.body.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', reason: 'PERSON_RATE_LIMIT' });
    expect(refused.body.errors[0].extensions.retryAfterSeconds).toBe(Number(refused.retryAfter));
    expect(await t.eventCount()).toBe(before);

    // Two more people of the organisation fill its 5 requests; the next person is refused for the organisation.
    expect((await post(url, await mint('org-rate', 'bob'), '{ units { id } }')).status).toBe(200);
    expect((await post(url, await mint('org-rate', 'cid'), '{ units { id } }')).status).toBe(200);
    const orgRefused = await post(url, await mint('org-rate', 'dan'), '{ units { id } }');
    expect(orgRefused.status).toBe(429);
    expect(orgRefused.retryAfter).not.toBeNull();
    expect(orgRefused.body.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', reason: 'ORGANISATION_RATE_LIMIT' });

    // Another organisation is not affected.
    expect((await post(url, await mint('org-other', 'eve'), '{ units { id } }')).status).toBe(200);
  });
});

describe('rate limits across instances (OKR_RATE_STORE=postgres)', () => {
  it('counts an organisation\'s requests in PostgreSQL, so two servers on one database share its limit', async () => {
    const limits: Partial<ServerLimits> = { ratePerPerson: 100, ratePerOrganisation: 3, rateWindowSeconds: 600, rateStore: 'postgres' };
    const a = await serverWith(limits);
    const b = await serverWith(limits);
    const ann = await mint('org-shared', 'ann');
    const ben = await mint('org-shared', 'ben');
    expect((await post(a.url, ann, '{ units { id } }')).status).toBe(200);
    expect((await post(a.url, ben, '{ units { id } }')).status).toBe(200);
    expect((await post(b.url, ben, '{ units { id } }')).status).toBe(200);
    const refused = await post(b.url, ann, '{ units { id } }');
    expect(refused.status).toBe(429);
    expect(refused.body.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', reason: 'ORGANISATION_RATE_LIMIT' });
    const rows = await t.db.sql.query<{ points: number }>(`SELECT points FROM okr_rate_limits WHERE key = 'organisation:org-shared'`);
    expect(rows.map((r) => Number(r.points))).toEqual([4]);
  });
});

describe('concurrency limits per person and per organisation', () => {
  it('refuses a request beyond the in-flight limit with PERSON_CONCURRENCY_LIMIT or ORGANISATION_CONCURRENCY_LIMIT, and frees the slots when requests end', async () => {
    const { url } = await serverWith({ concurrencyPerPerson: 2, concurrencyPerOrganisation: 3 });
    const ada = await mint('org-busy', 'ada');
    const bob = await mint('org-busy', 'bob');
    const cid = await mint('org-busy', 'cid');
    const held = [new HeldRequest(url, ada, '{ units { id } }'), new HeldRequest(url, ada, '{ units { id } }')];
    // Until the server has admitted both held requests, a third may still get in; then it may not.
    let third: Answer | null = null;
    await eventually(async () => {
      third = await post(url, ada, '{ units { id } }');
      return third.status === 429;
    }, 'the third request of a person refused');
    expect(third).toMatchObject({ status: 429, retryAfter: '1' });
    expect((third as unknown as Answer).body.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', reason: 'PERSON_CONCURRENCY_LIMIT' });

    // Bob, same organisation, takes its third slot; then Cid finds the organisation full.
    held.push(new HeldRequest(url, bob, '{ units { id } }'));
    let fourth: Answer | null = null;
    await eventually(async () => {
      fourth = await post(url, cid, '{ units { id } }');
      return fourth.status === 429;
    }, 'a request beyond the organisation\'s limit refused');
    expect((fourth as unknown as Answer).body.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', reason: 'ORGANISATION_CONCURRENCY_LIMIT' });
    expect((await post(url, await mint('org-other', 'eve'), '{ units { id } }')).status).toBe(200);

    for (const request of held) expect(await request.finish()).toBe('HTTP/1.1 200 OK');
    expect((await post(url, ada, '{ units { id } }')).status).toBe(200);
    expect((await post(url, cid, '{ units { id } }')).status).toBe(200);
  });
});

describe('expensive work', () => {
  it('answers reads as of an instant without a scan slot: they are index reads now, not replays', async () => {
    // Why: asOf used to replay the quarter and waited for a slot with verifyAuditLog; it now reads the
    // history tables through indexes (docs/PERFORMANCE.md), so it must not queue behind scans.
    const { url, server } = await serverWith({ expensivePerOrganisation: 1, expensiveTotal: 1, expensiveQueuePerOrganisation: 1, expensiveWaitMs: 120_000 });
    const scans = [0, 1].map(() => post(url, tokens.attacker as string, '{ verifyAuditLog(full: true) { ok eventsChecked } }'));
    // Wait (bounded) until the organisation's one slot is taken and its one place in line too.
    let full = false;
    for (let i = 0; i < 2000 && !full; i += 1) {
      const text = (await server.metrics.exposition()).text;
      full = /^okr_expensive_work_running 1$/m.test(text) && /^okr_expensive_work_waiting 1$/m.test(text);
      if (!full) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect(full).toBe(true);
    const fields = Array.from({ length: 6 }, (_, i) => `a${i}: objectives(quarterId: "2027-Q1", asOf: "${new Date(Date.UTC(2027, 0, 10, 9, 0, i)).toISOString()}") { id }`);
    fields.push(`again: objectives(quarterId: "2027-Q1", asOf: "${new Date(Date.UTC(2027, 0, 10, 9, 0, 0)).toISOString()}") { id }`);
    const many = await post(url, tokens.attacker as string, `{ ${fields.join(' ')} }`);
    expect(many.status).toBe(200);
    expect(many.body.errors).toBeUndefined();
    expect(Object.keys(many.body.data)).toHaveLength(7);
    expect(many.body.data.again).toEqual(many.body.data.a0);
    for (const answer of await Promise.all(scans)) {
      expect(answer.status).toBe(200);
      expect(answer.body.errors).toBeUndefined();
    }
  });

  it('runs an organisation\'s scans a few at a time while another organisation is answered, and the log verifies afterwards', async () => {
    const { url, server } = await serverWith({ expensivePerOrganisation: 2, expensiveTotal: 3, expensiveQueuePerOrganisation: 2, expensiveWaitMs: 120_000 });
    // The attack: 24 scans of the log at once, from one organisation.
    const attack = Promise.all(Array.from({ length: 24 }, () => post(url, tokens.attacker as string, '{ verifyAuditLog { ok eventsChecked } }')));
    let attackOver = false;
    void attack.finally(() => (attackOver = true));
    // Meanwhile the victim reads and checks in; bounded, and at least a few rounds during the attack.
    const victimAnswers: Answer[] = [];
    for (let round = 0; round < 30 && (round < 3 || !attackOver); round += 1) {
      victimAnswers.push(await post(url, tokens.victim as string, '{ units { id } }'));
      victimAnswers.push(
        await post(url, tokens.victim as string, 'mutation($i: RecordCheckInInput!) { recordCheckIn(input: $i) { id } }', {
          i: { keyResultId: ids.victimKr, confidence: 50 + round },
        }),
      );
    }
    const attacked = await attack;
    for (const answer of victimAnswers) {
      expect(answer.status).toBe(200);
      expect(answer.body.errors).toBeUndefined();
    }
    const refused = attacked.filter((a) => a.status === 429);
    const answered = attacked.filter((a) => a.status === 200);
    expect(refused.length + answered.length).toBe(attacked.length);
    expect(refused.length).toBeGreaterThan(0);
    expect(answered.length).toBeGreaterThan(0);
    for (const answer of refused) {
      expect(answer.body.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', reason: 'EXPENSIVE_QUEUE_FULL' });
      expect(Number(answer.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(answer.body.data).toBeNull();
    }
    for (const answer of answered) expect(answer.body.errors).toBeUndefined();
    expect(answered.some((a) => a.body.data.verifyAuditLog?.eventsChecked > BULK_EVENTS)).toBe(true);

    // Never more than two at once for the organisation.
    const text = (await server.metrics.exposition()).text;
    expect(text).toMatch(/^okr_expensive_work_peak_per_organisation 2$/m);
    expect(text).toMatch(/^okr_refusals_total\{code="RATE_LIMITED",reason="EXPENSIVE_QUEUE_FULL"\} \d+$/m);

    const verified = await ok(url, tokens.victim as string, '{ verifyAuditLog { ok firstBrokenPosition } }');
    expect(verified.verifyAuditLog).toEqual({ ok: true, firstBrokenPosition: null });
  });
});

describe('slow and gone clients', () => {
  it('logs a client that goes away halfway through its body as gone (499), with no error line', async () => {
    // Why: the body reader's "aborted" error was taken for a server fault: an error-level line with a stack.
    const { logger, lines } = capturingLogger();
    const { url } = await serverWith({}, { logger });
    const { port } = new URL(url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      `POST /graphql HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${tokens.victim}\r\n` +
        'content-type: application/json\r\ncontent-length: 5000\r\n\r\n{"query":"{ units',
    );
    // Give the server time to read the headers and start reading the body.
    await new Promise((resolve) => setTimeout(resolve, 500));
    socket.destroy();
    await eventually(() => lines.some((l) => l.msg === 'request'), 'the request logged');
    const line = lines.find((l) => l.msg === 'request') as Record<string, any>;
    expect(line.status).toBe(499);
    expect(lines.filter((l) => l.level === 'error' || l.level >= 50)).toEqual([]);
  });

  it('stops an aborted multi-mutation request between commands, half-applies none, and logs it with status 499', async () => {
    const { logger, lines } = capturingLogger();
    // More commands than one request may hold by default (OKR_MAX_COMMANDS): the point is to abort midway.
    const { url } = await serverWith({}, { logger, requestLimits: { maxCommands: 100, maxCost: 1_000_000 } });
    const commands = 40;
    const mutation = `mutation { ${Array.from(
      { length: commands },
      (_, i) => `c${i}: recordCheckIn(input: { keyResultId: "${ids.victimKr}", confidence: ${i + 10}, whatChanged: "Reading ${i}" }) { id }`,
    ).join(' ')} }`;
    const before = await t.eventCount();
    const abort = new AbortController();
    const sent = post(url, tokens.victim as string, mutation, undefined, abort.signal).catch((e: unknown) => e);
    await eventually(async () => (await t.eventCount()) > before, 'the first check-in appended', 2000, 2);
    abort.abort();
    await expect(sent).resolves.toMatchObject({ name: 'AbortError' });
    await eventually(() => lines.some((l) => l.msg === 'request' && l.status === 499), 'the aborted request logged');
    const appended = (await t.eventCount()) - before;
    expect(appended).toBeGreaterThan(0);
    expect(appended).toBeLessThan(commands);
    const line = lines.find((l) => l.msg === 'request' && l.status === 499) as Record<string, any>;
    expect(line).toMatchObject({ method: 'POST', path: '/graphql', organisationId: 'org-victim', aborted: expect.stringMatching(/closed the connection/) });
    expect(typeof line.ms).toBe('number');
    // Its admitted cost (the query cost analysis): commands are charged 10 each.
    expect(line.cost).toBeGreaterThanOrEqual(10 * commands);
    // The line is written once the work is over: nothing is appended after it.
    expect((await t.eventCount()) - before).toBe(appended);
    // Every check-in that was appended is whole: one event per command, each with its own projection row.
    const rows = await t.db.sql.query<{ n: string }>('SELECT count(*) AS n FROM okr_check_ins WHERE key_result_id = ?', [ids.victimKr]);
    const events = await t.db.sql.query<{ n: string }>(
      `SELECT count(*) AS n FROM okr_events WHERE stream_id = ? AND type = 'CheckInRecorded'`,
      [`keyResult-${ids.victimKr}`],
    );
    expect(Number(rows[0]?.n)).toBe(Number(events[0]?.n));
  });

  it('drops a client that asks for a big answer and never reads it, frees its connection, and logs it', async () => {
    const { logger, lines } = capturingLogger();
    // An answer bigger than the cost limit admits by default: the point is a client that never reads it.
    const { url, server } = await serverWith({ sendTimeoutMs: 1000, keepAliveTimeoutMs: 60_000 }, { logger, requestLimits: { maxCost: 1_000_000 } });
    const page = 'edges { node { position type streamId version recordedAt actor data } }';
    const query = `{ ${Array.from({ length: 12 }, (_, i) => `p${i}: events(first: 500) { ${page} }`).join(' ')} }`;
    const body = JSON.stringify({ query });
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname);
    // Paused before it connects, the socket never reads a byte: the answer (about 8 MB, more than the
    // kernel's buffers take) stays in the server until the send timeout drops the connection.
    socket.pause();
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.on('error', () => undefined);
    socket.write(
      `POST /graphql HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${tokens.attacker}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    // The client keeps its socket open and unread; the server must let go of it all the same.
    await eventually(async () => (await connections(server)) === 0 && lines.some((l) => l.msg === 'request'), 'the server dropped the connection', 1200, 50);
    const line = lines.find((l) => l.msg === 'request') as Record<string, any>;
    expect(line).toMatchObject({ status: 499, organisationId: 'org-attacker', aborted: expect.stringMatching(/did not read the answer/) });
    expect(socket.bytesRead).toBeLessThan(1024 * 1024);
    socket.destroy();
    // The server still answers.
    expect((await post(url, tokens.victim as string, '{ units { id } }')).status).toBe(200);
  });

  it('closes a connection whose headers do not arrive in time (408)', async () => {
    const { url, server } = await serverWith({ headersTimeoutMs: 1000, requestTimeoutMs: 2000 });
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname);
    let received = '';
    let closed = false;
    socket.on('data', (d) => (received += d.toString('utf8')));
    socket.on('close', () => (closed = true));
    socket.write(`POST /graphql HTTP/1.1\r\nHost: ${hostname}\r\n`); // and nothing more
    await eventually(() => closed, 'the server closed the connection', 800, 50);
    expect(received.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
    await eventually(async () => (await connections(server)) === 0, 'the server holds no connection');
  });
});

describe('GET /metrics', () => {
  it('serves the Prometheus text format with requests, latency, cost, refusals, pool, sockets and event-loop lag', async () => {
    const { url } = await serverWith({ ratePerPerson: 1, rateWindowSeconds: 600 }, { local: true });
    const named = JSON.stringify({ query: 'query TeamUnits { units { id } }', operationName: 'TeamUnits' });
    const send = () => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: named });
    expect((await send()).status).toBe(200);
    expect((await send()).status).toBe(429);
    const res = await fetch(url.replace('/graphql', '/metrics'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toMatch(/^okr_graphql_requests_total\{operation="TeamUnits",outcome="ok"\} 1$/m);
    expect(text).toMatch(/^okr_graphql_requests_total\{operation="anonymous",outcome="rate_limited"\} 1$/m);
    expect(text).toMatch(/^okr_graphql_request_duration_seconds_bucket\{le="\+Inf",operation="TeamUnits",outcome="ok"\} 1$/m);
    expect(text).toMatch(/^# TYPE okr_graphql_request_cost histogram$/m);
    expect(text).toMatch(/^okr_refusals_total\{code="RATE_LIMITED",reason="PERSON_RATE_LIMIT"\} 1$/m);
    expect(text).toMatch(/^okr_db_pool_connections\{state="used"\} \d+$/m);
    expect(text).toMatch(/^okr_http_open_connections \d+$/m);
    expect(text).toMatch(/^okr_expensive_work_running 0$/m);
    expect(text).toMatch(/^okr_websocket_connections 0$/m);
    expect(text).toMatch(/^okr_websocket_subscriptions 0$/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds [\d.e-]+$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);
  });

  it('outside local development mode, opens only to the operator\'s OKR_METRICS_TOKEN, not to organisations\' tokens', async () => {
    const { url } = await serverWith({}, { metricsToken: METRICS_TOKEN });
    const metricsUrl = url.replace('/graphql', '/metrics');
    const none = await fetch(metricsUrl);
    expect(none.status).toBe(401);
    expect(((await none.json()) as any).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect((await fetch(metricsUrl, { headers: { authorization: `Bearer ${tokens.victim}` } })).status).toBe(401);
    expect((await fetch(metricsUrl, { headers: { authorization: `Bearer ${METRICS_TOKEN}x` } })).status).toBe(401);
    const allowed = await fetch(metricsUrl, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(allowed.status).toBe(200);
    expect(await allowed.text()).toContain('okr_graphql_requests_total');

    const { url: noToken } = await serverWith({});
    const off = await fetch(noToken.replace('/graphql', '/metrics'), { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(off.status).toBe(403);
    expect(((await off.json()) as any).errors[0].message).toMatch(/OKR_METRICS_TOKEN/);
  });
});
