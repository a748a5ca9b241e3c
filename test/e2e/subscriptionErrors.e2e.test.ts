import { jwtAuthenticator } from '../../src/auth';
import { createLogger } from '../../src/logger';
import { startTestServer, type TestServer } from '../support/server';
import { connect, mint, RawSocket, SECRET, subscribe, until, within, type Connection } from './subscriptionClient';

/**
 * Issue 7, WebSocket: a connection lives no longer than its token; a bad subscription is answered with
 * its own code (not INTERNAL_SERVER_ERROR) and no error-level log line; a subscriber too slow for its
 * events gets SUBSCRIBER_TOO_SLOW; and one socket cannot flood the log.
 */
interface Line {
  level: string;
  msg: string;
  [field: string]: unknown;
}
const sink = (lines: Line[]) => ({ write: (line: string) => void lines.push(JSON.parse(line) as Line) });
const ALL = 'subscription { eventAppended { type data } }';
const ORG = 'org-e';

const lines: Line[] = [];
let t: TestServer;
let admin: string;
let unitId: string;
let open: Connection[] = [];
const sockets: RawSocket[] = [];

beforeAll(async () => {
  t = await startTestServer('ws-errors', '2027-01-10T09:00:00Z', 'unused', {
    authenticator: jwtAuthenticator({ secret: SECRET }),
    logger: createLogger('info', sink(lines)),
    webSocket: { maxQueuedEvents: 3, maxSubscriptionsPerConnection: 100, maxSubscriptionsPerOrganisation: 200 },
  });
  admin = await mint(ORG, 'ada');
  unitId = (await t.gql('mutation { registerUnit(input: { name: "Acme", level: COMPANY }) { id } }', undefined, admin)).data?.registerUnit.id;
  await t.gql('mutation { planQuarter(input: { id: "2027-Q1", startsOn: "2027-01-01T00:00:00Z", endsOn: "2027-04-01T00:00:00Z" }) { id } }', undefined, admin);
});
afterEach(async () => {
  await Promise.all(open.map((c) => c.client.dispose()));
  for (const s of sockets.splice(0)) s.socket.terminate();
  open = [];
  await until(() => t.server.webSocket.stats().sockets === 0, 'every socket closed');
});
afterAll(() => t.close());

function opened(token: string): Connection {
  const connection = connect(t.url, token);
  open.push(connection);
  return connection;
}
const subscriptionsReach = (n: number) => until(() => t.server.webSocket.stats().subscriptions === n, `${n} subscriptions`);
const register = async (name: string) => {
  const res = await t.gql('mutation($n: String!) { registerUnit(input: { name: $n, level: COMPANY }) { id } }', { n: name }, admin);
  expect(res.errors).toBeUndefined();
};

describe('token expiry', () => {
  it('closes the connection at the token\'s exp with 4403 TOKEN_EXPIRED, and delivers nothing after it', async () => {
    const exp = Math.floor(Date.now() / 1000) + 3;
    const expiring = opened(await mint(ORG, 'eve', exp));
    const control = opened(admin);
    const mine = subscribe(expiring.client, ALL);
    const theirs = subscribe(control.client, ALL);
    await subscriptionsReach(2);
    await register('Before expiry');
    await until(() => mine.events.length === 1 && theirs.events.length === 1, 'the event before expiry');

    expect(await within(expiring.closed, 20_000, 'close at exp')).toEqual({ code: 4403, reason: expect.stringMatching(/^TOKEN_EXPIRED: /) });
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000); // not before exp
    await register('After expiry');
    await until(() => theirs.events.length === 2, 'the control subscriber\'s second event');
    expect(mine.events).toHaveLength(1);
    expect(t.server.webSocket.stats().subscriptions).toBe(1);
  });

  it('refuses a connection, and so every subscribe, once exp has passed (even within the clock tolerance of HTTP)', async () => {
    const expired = opened(await mint(ORG, 'eve', Math.floor(Date.now() / 1000) - 2));
    const attempt = subscribe(expired.client, ALL);
    expect(await within(expired.outcome, 10_000, 'an answer')).toEqual({ code: 4403, reason: expect.stringMatching(/^TOKEN_EXPIRED: /) });
    expect(await within(attempt.ended, 10_000, 'an answer')).toMatchObject({ code: 4403 });
    expect(attempt.events).toEqual([]);
  });
});

describe('bad subscriptions', () => {
  it('answers validation errors with GRAPHQL_VALIDATION_FAILED and variable errors with BAD_USER_INPUT, logging no error', async () => {
    const c = opened(admin);
    const before = lines.length;
    expect(await within(subscribe(c.client, 'subscription { eventAppended { nope } }').ended, 10_000, 'an answer')).toEqual([
      expect.objectContaining({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }),
    ]);
    expect(await within(subscribe(c.client, 'subscription { eventAppended(colour: "red") { type } }').ended, 10_000, 'an answer')).toEqual([
      expect.objectContaining({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }),
    ]);
    expect(await within(subscribe(c.client, 'subscription($q: ID) { eventAppended(quarterId: $q) { type } }', { q: { not: 'an id' } }).ended, 10_000, 'an answer')).toEqual([
      expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT' } }),
    ]);
    const mine = lines.slice(before);
    expect(mine.filter((l) => l.level === 'error')).toEqual([]);
    expect(mine.filter((l) => l.msg === 'subscription refused').map((l) => l.code)).toEqual(['GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT']);
    // The connection stays usable.
    const good = subscribe(c.client, ALL);
    await subscriptionsReach(1);
    await register('Still served');
    await until(() => good.events.length === 1, 'the event');
  });

  it('ends a subscriber that cannot keep up with SUBSCRIBER_TOO_SLOW, logged as a warning, and keeps the connection', async () => {
    // A client that stops reading: its socket buffers fill, then each subscription's queue (3 here)
    // overflows. Forty subscriptions of ten copies of a 4,000-character description make each event
    // about 1.6 MB on the wire, so a few dozen events are far more than any socket buffer holds.
    const raw = new RawSocket(t.url);
    sockets.push(raw);
    await raw.init(admin);
    const copies = Array.from({ length: 10 }, (_, i) => `d${i}: data`).join(' ');
    const count = 40;
    for (let i = 0; i < count; i += 1) raw.send({ id: `slow${i}`, type: 'subscribe', payload: { query: `subscription { eventAppended { ${copies} } }` } });
    await subscriptionsReach(count);
    const before = lines.length;
    const draft = (n: number) =>
      t.gql(
        'mutation($i: DraftObjectiveInput!) { draftObjective(input: $i) { id } }',
        { i: { unitId, quarterId: '2027-Q1', title: `Objective ${n}`, description: 'x'.repeat(4000) } },
        admin,
      );
    await draft(0);
    await until(() => raw.of('next').length === count, 'the first event on every subscription');
    const bytesPerEvent = raw.of('next').reduce((sum, m) => sum + JSON.stringify(m).length, 0);
    expect(bytesPerEvent).toBeGreaterThan(1_000_000);

    raw.socket.pause();
    const events = Math.ceil(80_000_000 / bytesPerEvent) + 5;
    for (let n = 1; n <= events; n += 1) expect((await draft(n)).errors).toBeUndefined();
    raw.socket.resume();

    await until(() => raw.of('error').length === count, 'every subscription ended', 3000);
    for (const message of raw.of('error')) {
      expect(message.payload).toEqual([expect.objectContaining({ extensions: { code: 'SUBSCRIBER_TOO_SLOW' } })]);
    }
    expect(raw.of('next').length).toBeLessThan(count * (events + 1)); // events were dropped, not all delivered
    await subscriptionsReach(0);
    const logged = lines.slice(before);
    expect(logged.filter((l) => l.level === 'error')).toEqual([]);
    expect(logged.some((l) => l.level === 'warn' && l.code === 'SUBSCRIBER_TOO_SLOW')).toBe(true);

    // The socket is still open and serves a new subscription.
    raw.send({ id: 'again', type: 'subscribe', payload: { query: ALL } });
    await subscriptionsReach(1);
    await register('After the slow spell');
    await until(() => raw.messages.some((m) => m.id === 'again' && m.type === 'next'), 'the new subscription\'s event');
  });
});

describe('the log', () => {
  it('cannot be flooded: 2,000 bad subscribes from one socket make at most the per-person lines, then one summary', async () => {
    const floodLines: Line[] = [];
    const flood = await startTestServer('ws-flood', '2027-01-10T09:00:00Z', 'unused', {
      authenticator: jwtAuthenticator({ secret: SECRET }),
      logger: createLogger('info', sink(floodLines)),
    });
    const raw = new RawSocket(flood.url);
    try {
      await raw.init(await mint('org-f', 'flo'));
      for (let i = 0; i < 2000; i += 1) raw.send({ id: `bad${i}`, type: 'subscribe', payload: { query: 'subscription { eventAppended { nope } }' } });
      await until(() => raw.of('error').length === 2000, 'an answer to every subscribe', 3000);
      const codes = new Set(raw.of('error').map((m) => (m.payload as { extensions: { code: string } }[])[0]?.extensions.code));
      expect(codes).toEqual(new Set(['GRAPHQL_VALIDATION_FAILED', 'RATE_LIMITED']));
    } finally {
      raw.socket.terminate();
      await flood.close(); // ends the log window: the summary is written
    }
    expect(floodLines.filter((l) => l.level === 'error')).toEqual([]);
    const refusals = floodLines.filter((l) => l.msg === 'subscription refused');
    expect(refusals).toHaveLength(10);
    expect(refusals[0]).toMatchObject({ organisationId: 'org-f', subject: 'flo' });
    const summaries = floodLines.filter((l) => l.msg.startsWith('log lines suppressed'));
    expect(summaries).toEqual([expect.objectContaining({ level: 'warn', suppressed: 1990, top: [{ organisationId: 'org-f', subject: 'flo', suppressed: 1990 }] })]);
  });
});

describe('the size of one message', () => {
  let small4k: TestServer;
  beforeAll(async () => {
    small4k = await startTestServer('ws-event-size', '2027-01-10T09:00:00Z', 'unused', {
      authenticator: jwtAuthenticator({ secret: SECRET }),
      webSocket: { maxEventBytes: 4096 },
    });
  });
  afterAll(() => small4k.close());

  it('answers RESPONSE_TOO_LARGE (EVENT_TOO_LARGE) for an event whose answer passes the limit, and delivers the others', async () => {
    // Why: a subscriber that stops reading holds one unsent message per subscription; with `data` selected
    // under many aliases one event made megabytes, 200 subscriptions of one person gigabytes.
    const connection = connect(small4k.url, admin);
    open.push(connection);
    const big = subscribe<{ eventAppended: { type: string } }>(connection.client, `subscription { eventAppended { type ${Array.from({ length: 40 }, (_, i) => `d${i}: data`).join(' ')} } }`);
    const small = subscribe<{ eventAppended: { type: string } }>(connection.client, 'subscription { eventAppended { type } }');
    await until(() => small4k.server.webSocket.stats().subscriptions === 2, 'two subscriptions');
    // A unit with a 100-character name: forty copies of its data pass 4 KiB, one copy does not.
    const res = await small4k.gql('mutation($n: String!) { registerUnit(input: { name: $n, level: COMPANY }) { id } }', { n: 'n'.repeat(100) }, admin);
    expect(res.errors).toBeUndefined();
    const errors = (await within(big.ended, 10_000, 'the oversized event answered')) as { extensions?: Record<string, unknown> }[];
    expect(errors).toEqual([expect.objectContaining({ extensions: { code: 'RESPONSE_TOO_LARGE', reason: 'EVENT_TOO_LARGE' } })]);
    await until(() => small.events.length === 1, 'the small subscription delivered');
    expect(small.events[0]?.eventAppended.type).toBe('UnitRegistered');
  });
});
