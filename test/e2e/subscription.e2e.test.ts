import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../support/server';

/** The eventAppended subscription over graphql-ws against the real server. */
let t: TestServer;
let client: Client;
beforeAll(async () => {
  t = await startTestServer('subscription');
  client = createClient({ url: t.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
});
afterAll(async () => {
  await client.dispose();
  await t.close();
});

interface Received {
  type: string;
  streamId: string;
  position: string;
  data: { quarterId?: string };
}

function subscribe(query: string): { events: Received[]; stop: () => void } {
  const events: Received[] = [];
  const stop = client.subscribe<{ eventAppended: Received }>(
    { query },
    {
      next: (message) => {
        if (message.data) events.push(message.data.eventAppended);
      },
      error: (error) => {
        throw error;
      },
      complete: () => undefined,
    },
  );
  return { events, stop };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500; i += 1) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('timed out');
}

it('delivers new events to live subscribers, filtered by quarter, in log order', async () => {
  const all = subscribe('subscription { eventAppended { type streamId position data } }');
  const q1 = subscribe('subscription { eventAppended(quarterId: "2027-Q1") { type streamId position data } }');
  await new Promise((r) => setTimeout(r, 200)); // let both subscriptions register
  const company = (await t.gql(`mutation { registerUnit(input: { name: "Acme", level: COMPANY }) { id } }`)).data?.registerUnit.id;
  await t.gql(`mutation { planQuarter(input: { id: "2027-Q1", startsOn: "2027-01-01T00:00:00Z", endsOn: "2027-04-01T00:00:00Z" }) { id } }`);
  await t.gql(`mutation { planQuarter(input: { id: "2027-Q2", startsOn: "2027-04-01T00:00:00Z", endsOn: "2027-07-01T00:00:00Z" }) { id } }`);
  await t.gql(`mutation($u: ID!) { draftObjective(input: { unitId: $u, quarterId: "2027-Q1", title: "Delight merchants" }) { id } }`, { u: company });
  await until(() => all.events.length === 4 && q1.events.length === 2);
  expect(all.events.map((e) => e.type)).toEqual(['UnitRegistered', 'QuarterPlanned', 'QuarterPlanned', 'ObjectiveDrafted']);
  expect(all.events.map((e) => Number(e.position))).toEqual([...all.events.map((e) => Number(e.position))].sort((a, b) => a - b));
  expect(q1.events.map((e) => e.type)).toEqual(['QuarterPlanned', 'ObjectiveDrafted']);
  expect(q1.events.every((e) => e.data.quarterId === '2027-Q1')).toBe(true);
  all.stop();
  q1.stop();
});

it('serves only subscriptions over WebSocket: queries, mutations and introspection are refused with a stable code', async () => {
  for (const query of ['{ units { id } }', 'mutation { registerUnit(input: { name: "X", level: COMPANY }) { id } }', '{ __schema { queryType { name } } }']) {
    const outcome = await new Promise<unknown>((resolve) => {
      client.subscribe({ query }, { next: (m) => resolve(m), error: (e) => resolve(e), complete: () => resolve('complete') });
    });
    expect(outcome).toEqual([expect.objectContaining({ extensions: { code: 'BAD_REQUEST' } })]);
  }
  expect((await t.gql('{ units { name } }')).data?.units).toEqual([{ name: 'Acme' }]);
});
