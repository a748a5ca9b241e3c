import { jwtAuthenticator } from '../../src/auth';
import { startTestServer, type TestServer } from '../support/server';
import { connect, mint, RawSocket, SECRET, subscribe, until, within, type Connection } from './subscriptionClient';

/**
 * Issue 7, WebSocket: caps on connections (per person, per organisation, in all), on subscriptions (per
 * connection, per organisation, in all) and on subscribe messages per minute, each refused with its
 * documented close code or error code and reason; another organisation is served while one is at its
 * caps. The caps are set small here so a handful of sockets reaches them.
 */
const LIMITS = {
  maxConnections: 8,
  maxConnectionsPerOrganisation: 3,
  maxConnectionsPerPerson: 2,
  maxSubscriptions: 7,
  maxSubscriptionsPerOrganisation: 5,
  maxSubscriptionsPerConnection: 3,
  subscribesPerMinute: 30,
  initTimeoutMs: 3000,
};
const ALL = 'subscription { eventAppended { type data } }';

let t: TestServer;
let open: Connection[] = [];
const sockets: RawSocket[] = [];

beforeAll(async () => {
  t = await startTestServer('ws-limits', '2027-01-10T09:00:00Z', 'unused', { authenticator: jwtAuthenticator({ secret: SECRET }), webSocket: LIMITS });
});
afterEach(async () => {
  await Promise.all(open.map((c) => c.client.dispose()));
  for (const s of sockets.splice(0)) s.socket.terminate();
  open = [];
  await until(() => t.server.webSocket.stats().sockets === 0, 'every socket closed');
  expect(t.server.webSocket.stats()).toEqual({ sockets: 0, subscriptions: 0 });
});
afterAll(() => t.close());

async function opened(org: string, sub: string): Promise<Connection> {
  const connection = connect(t.url, await mint(org, sub));
  open.push(connection);
  return connection;
}

/** Subscriptions the server holds, once it has admitted `n`. */
const subscriptionsReach = (n: number) => until(() => t.server.webSocket.stats().subscriptions === n, `${n} subscriptions`);

describe('connections', () => {
  it('refuses a third connection of one person with 4429 TOO_MANY_CONNECTIONS, and admits one again after a close', async () => {
    const [a, b] = [await opened('org-p', 'pat'), await opened('org-p', 'pat')];
    expect(await within(a.outcome, 10_000, 'an answer')).toBe('acked');
    expect(await within(b.outcome, 10_000, 'an answer')).toBe('acked');
    const third = await opened('org-p', 'pat');
    expect(await within(third.outcome, 10_000, 'an answer')).toEqual({ code: 4429, reason: expect.stringMatching(/^TOO_MANY_CONNECTIONS: /) });
    await a.client.dispose();
    await until(() => t.server.webSocket.stats().sockets === 1, 'the first connection gone');
    expect(await within((await opened('org-p', 'pat')).outcome, 10_000, 'an answer')).toBe('acked');
  });

  it('does not count a connection that went away while it was being authenticated', async () => {
    const token = await mint('org-gone', 'gus');
    for (let i = 0; i < 20; i += 1) {
      const raw = new RawSocket(t.url);
      await raw.opened;
      raw.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
      raw.socket.terminate();
      await raw.closed;
    }
    await until(() => t.server.webSocket.stats().sockets === 0, 'the sockets gone');
    const [a, b] = [await opened('org-gone', 'gus'), await opened('org-gone', 'gus')];
    expect(await within(a.outcome, 10_000, 'an answer')).toBe('acked');
    expect(await within(b.outcome, 10_000, 'an answer')).toBe('acked');
  });

  it('refuses a fourth connection of one organisation with 4429 ORGANISATION_CONNECTION_LIMIT', async () => {
    for (const sub of ['ann', 'ann', 'bea']) expect(await within((await opened('org-o', sub)).outcome, 10_000, 'an answer')).toBe('acked');
    expect(await within((await opened('org-o', 'cid')).outcome, 10_000, 'an answer')).toEqual({ code: 4429, reason: expect.stringMatching(/^ORGANISATION_CONNECTION_LIMIT: /) });
    // Another organisation is not affected.
    expect(await within((await opened('org-other', 'dan')).outcome, 10_000, 'an answer')).toBe('acked');
  });

  it('counts sockets that have not authenticated yet against the total, and closes one over it with 1013 SERVER_CONNECTION_LIMIT', async () => {
    for (let i = 0; i < LIMITS.maxConnections; i += 1) sockets.push(new RawSocket(t.url));
    await Promise.all(sockets.map((s) => s.opened));
    expect(t.server.webSocket.stats().sockets).toBe(LIMITS.maxConnections);
    const over = await opened('org-late', 'lee');
    expect(await within(over.outcome, 10_000, 'an answer')).toEqual({ code: 1013, reason: expect.stringMatching(/^SERVER_CONNECTION_LIMIT: /) });
  });

  it('closes a socket that sends no connection_init in time with 4408', async () => {
    const silent = new RawSocket(t.url);
    sockets.push(silent);
    await silent.opened;
    expect((await silent.closed).code).toBe(4408);
  });
});

describe('subscriptions', () => {
  it('refuses a fourth subscription on one connection with RATE_LIMITED TOO_MANY_SUBSCRIPTIONS, and admits one after another completes', async () => {
    const c = await opened('org-s', 'sam');
    const subs = [subscribe(c.client, ALL), subscribe(c.client, ALL), subscribe(c.client, ALL)];
    await subscriptionsReach(3);
    expect(t.server.webSocket.stats()).toEqual({ sockets: 1, subscriptions: 3 });
    const fourth = subscribe(c.client, ALL);
    expect(await within(fourth.ended, 10_000, 'the refusal')).toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'RATE_LIMITED', reason: 'TOO_MANY_SUBSCRIPTIONS' }) }),
    ]);
    subs[0]?.stop();
    await subscriptionsReach(2);
    subscribe(c.client, ALL);
    await subscriptionsReach(3);
  });

  it('refuses the sixth subscription of one organisation with ORGANISATION_SUBSCRIPTION_LIMIT, and the eighth in all with SERVER_SUBSCRIPTION_LIMIT', async () => {
    const [c1, c2] = [await opened('org-m', 'mo'), await opened('org-m', 'max')];
    for (let i = 0; i < 3; i += 1) subscribe(c1.client, ALL);
    for (let i = 0; i < 2; i += 1) subscribe(c2.client, ALL);
    await subscriptionsReach(5);
    expect(await within(subscribe(c2.client, ALL).ended, 10_000, 'the refusal')).toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'RATE_LIMITED', reason: 'ORGANISATION_SUBSCRIPTION_LIMIT' }) }),
    ]);
    const other = await opened('org-n', 'nia');
    subscribe(other.client, ALL);
    subscribe(other.client, ALL);
    await subscriptionsReach(7);
    expect(await within(subscribe(other.client, ALL).ended, 10_000, 'the refusal')).toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'RATE_LIMITED', reason: 'SERVER_SUBSCRIPTION_LIMIT' }) }),
    ]);
  });

  it('refuses subscribe messages beyond the per-minute rate of a connection with SUBSCRIBE_RATE_LIMIT', async () => {
    const raw = new RawSocket(t.url);
    sockets.push(raw);
    await raw.init(await mint('org-r', 'rae'));
    const attempts = LIMITS.subscribesPerMinute + 5;
    for (let i = 0; i < attempts; i += 1) raw.send({ id: `s${i}`, type: 'subscribe', payload: { query: 'subscription { eventAppended { nope } }' } });
    await until(() => raw.of('error').length === attempts, 'an answer to every subscribe');
    const answer = (i: number) => (raw.of('error').find((m) => m.id === `s${i}`)?.payload as { extensions: { reason?: string; code: string } }[])[0]?.extensions;
    const answers = Array.from({ length: attempts }, (_, i) => answer(i));
    expect(answers.slice(0, LIMITS.subscribesPerMinute).every((e) => e?.code === 'GRAPHQL_VALIDATION_FAILED')).toBe(true);
    expect(answers.slice(LIMITS.subscribesPerMinute)).toEqual(Array(5).fill({ code: 'RATE_LIMITED', reason: 'SUBSCRIBE_RATE_LIMIT' }));
  });
});

describe('a noisy neighbour', () => {
  it('still delivers another organisation\'s events, and answers its requests, while one organisation is at every cap', async () => {
    // org-noisy: its three connections and five subscriptions, and more tried.
    const noisy = [await opened('org-noisy', 'n1'), await opened('org-noisy', 'n1'), await opened('org-noisy', 'n2')];
    for (const c of noisy) expect(await within(c.outcome, 10_000, 'an answer')).toBe('acked');
    const noisySubs = [0, 1, 2, 3, 4].map((i) => subscribe((noisy[i % 3] as Connection).client, ALL));
    await subscriptionsReach(5);
    expect(await within((await opened('org-noisy', 'n3')).outcome, 10_000, 'an answer')).toMatchObject({ code: 4429 });
    expect(await within(subscribe((noisy[0] as Connection).client, ALL).ended, 10_000, 'the refusal')).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'RATE_LIMITED' }) })]);

    const quiet = await opened('org-quiet', 'q1');
    const quietToken = await mint('org-quiet', 'q1');
    const mine = subscribe<{ eventAppended: { type: string; data: { name: string } } }>(quiet.client, ALL);
    await subscriptionsReach(6);
    const res = await t.gql('mutation { registerUnit(input: { name: "Quiet Co", level: COMPANY }) { id } }', undefined, quietToken);
    expect(res.errors).toBeUndefined();
    await until(() => mine.events.length === 1, 'the quiet organisation\'s event');
    expect(mine.events[0]?.eventAppended).toMatchObject({ type: 'UnitRegistered', data: { name: 'Quiet Co' } });
    // Its event reached none of the noisy organisation's subscribers.
    expect(noisySubs.every((s) => s.events.length === 0)).toBe(true);
  });
});
