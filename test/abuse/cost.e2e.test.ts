import { SignJWT } from 'jose';
import { jwtAuthenticator } from '../../src/auth';
import { createServer, type OkrServer } from '../../src/server';
import { MAX_ALIASES, MAX_COST, MAX_TOKENS } from '../../schema/limits';
import { postText, type RawResponse } from '../support/abuse';
import { startTestServer, type TestServer } from '../support/server';

/**
 * The attacks of issue 7 that cost alone must stop, from ordinary tokens over real HTTP: each is refused
 * with its own reason before any of its work is done (no data, nothing appended), the server stays up,
 * and another organisation is answered right after. Then responses over the size limit: refused with
 * RESPONSE_TOO_LARGE, whether the size is found while resolving or only when the body is sent.
 */
const SECRET = 'cost-test-secret-that-is-at-least-32-characters';
const mint = (claims: Record<string, unknown>, sub: string) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));

let t: TestServer;
const tokens = { admin: '', analyst: '', adminB: '' };
const ids: Record<string, string> = {};

async function post(token: string, query: string, variables?: Record<string, unknown>, url = t.url): Promise<RawResponse> {
  return postText(url, JSON.stringify({ query, variables }), {
    'content-type': 'application/json',
    accept: 'application/json',
    authorization: `Bearer ${token}`,
  });
}

async function ok(token: string, query: string, variables?: Record<string, unknown>): Promise<any> {
  const res = await post(token, query, variables);
  if (res.json?.errors) throw new Error(`unexpected errors: ${JSON.stringify(res.json.errors)}`);
  return res.json.data;
}

const aliased = (n: number, field: (i: number) => string) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${field(i)}`).join(' ')} }`;

/** Refused before anything ran: a 4xx with the reason, no data, nothing appended; the other tenant answered. */
async function expectRefusedUpFront(res: RawResponse, code: string, reason: string, eventsBefore: number): Promise<void> {
  expect(res.status).toBe(400);
  expect(res.json.errors[0].extensions).toEqual({ code, reason });
  expect(res.json.data).toBeUndefined();
  expect(await t.eventCount()).toBe(eventsBefore);
  const other = await post(tokens.adminB, '{ units { id name } }');
  expect(other.status).toBe(200);
  expect(other.json.data.units).toEqual([{ id: ids.unitB, name: 'Globex' }]);
}

beforeAll(async () => {
  t = await startTestServer('abusecost', '2027-01-10T09:00:00Z', 'unused', { authenticator: jwtAuthenticator({ secret: SECRET }) });
  tokens.admin = await mint({ org: 'org-a', role: 'admin' }, 'ada');
  tokens.analyst = await mint({ org: 'org-a', role: 'analyst' }, 'ann');
  tokens.adminB = await mint({ org: 'org-b', role: 'admin' }, 'bob');
  const reg = `mutation($i: RegisterUnitInput!) { registerUnit(input: $i) { id } }`;
  ids.company = (await ok(tokens.admin, reg, { i: { name: 'Acme', level: 'COMPANY' } })).registerUnit.id;
  ids.unitB = (await ok(tokens.adminB, reg, { i: { name: 'Globex', level: 'COMPANY' } })).registerUnit.id;
  await ok(tokens.admin, `mutation { planQuarter(input: { id: "2027-Q1", startsOn: "2027-01-01T00:00:00Z", endsOn: "2027-04-01T00:00:00Z" }) { id } }`);
  const objective = (await ok(tokens.admin, `mutation($i: DraftObjectiveInput!) { draftObjective(input: $i) { id } }`, {
    i: { unitId: ids.company, quarterId: '2027-Q1', title: 'Customers trust our payments' },
  })).draftObjective.id;
  ids.kr = (await ok(tokens.admin, `mutation($i: DefineKeyResultInput!) { defineKeyResult(input: $i) { id } }`, {
    i: { objectiveId: objective, title: 'Cut failed payments from 2% to 1%', metric: 'failed %', baseline: 2, target: 1 },
  })).defineKeyResult.id;
});
afterAll(() => t?.close());

describe('refused before the work is done', () => {
  it('1,000 aliases of events(first: 500) from an analyst: TOO_MANY_ALIASES', async () => {
    const before = await t.eventCount();
    const res = await post(tokens.analyst, aliased(1000, () => 'events(first: 500) { edges { node { type data } } }'));
    await expectRefusedUpFront(res, 'GRAPHQL_VALIDATION_FAILED', 'TOO_MANY_ALIASES', before);
  });

  it('events(first: 500) under the alias cap but over the cost: QUERY_TOO_COMPLEX, the page size counted', async () => {
    const before = await t.eventCount();
    const res = await post(tokens.analyst, aliased(20, () => 'events(first: 500) { edges { node { type data } } }'));
    await expectRefusedUpFront(res, 'GRAPHQL_VALIDATION_FAILED', 'QUERY_TOO_COMPLEX', before);
    expect(res.json.extensions.cost.requested).toBeGreaterThan(MAX_COST);
    // The same aliases with a page of one are cheap, and answered.
    const small = await post(tokens.analyst, aliased(20, () => 'events(first: 1) { edges { node { type data } } }'));
    expect(small.json.errors).toBeUndefined();
    expect(small.json.extensions.cost.requested).toBeLessThan(1000);
  });

  it('150 aliases of verifyAuditLog: TOO_MANY_ALIASES; five: QUERY_TOO_COMPLEX; four are run', async () => {
    const before = await t.eventCount();
    await expectRefusedUpFront(await post(tokens.analyst, aliased(150, () => 'verifyAuditLog { ok }')), 'GRAPHQL_VALIDATION_FAILED', 'TOO_MANY_ALIASES', before);
    await expectRefusedUpFront(await post(tokens.analyst, aliased(5, () => 'verifyAuditLog { ok }')), 'GRAPHQL_VALIDATION_FAILED', 'QUERY_TOO_COMPLEX', before);
    const four = await post(tokens.analyst, aliased(4, () => 'verifyAuditLog { ok eventsChecked }'));
    expect(four.json.errors).toBeUndefined();
    expect(four.json.data.a3).toMatchObject({ ok: true });
  });

  it('300 aliases of an asOf query: TOO_MANY_ALIASES; a few dozen distinct instants: QUERY_TOO_COMPLEX', async () => {
    const before = await t.eventCount();
    const instant = (i: number) => new Date(Date.UTC(2027, 0, 10, 8, 0, i % 60, Math.floor(i / 60))).toISOString();
    const asOf = (i: number) => `objectives(quarterId: "2027-Q1", asOf: "${instant(i)}") { title keyResults { title } }`;
    await expectRefusedUpFront(await post(tokens.analyst, aliased(300, asOf)), 'GRAPHQL_VALIDATION_FAILED', 'TOO_MANY_ALIASES', before);
    await expectRefusedUpFront(await post(tokens.analyst, aliased(MAX_ALIASES, asOf)), 'GRAPHQL_VALIDATION_FAILED', 'QUERY_TOO_COMPLEX', before);
    // health reads the facts of the quarter and the four before it (at the instant, with asOf): sixteen of
    // them in one request are too many. (asOf itself is an index read now, not a replay: AS_OF_COST.)
    const health = (i: number) => `health(quarterId: "2027-Q1", asOf: "${instant(i)}") { rule }`;
    await expectRefusedUpFront(await post(tokens.analyst, aliased(16, health)), 'GRAPHQL_VALIDATION_FAILED', 'QUERY_TOO_COMPLEX', before);
    // Admitted: two instants (the test clock stands still, so both are "now", after every event).
    const one = await post(tokens.analyst, aliased(2, () => asOf(0).replace(instant(0), '2027-01-10T09:00:00.000Z')));
    expect(one.json.errors).toBeUndefined();
    expect(one.json.data.a0).toEqual([{ title: 'Customers trust our payments', keyResults: [{ title: 'Cut failed payments from 2% to 1%' }] }]);
  });

  it('25,000 aliased recordCheckIn in one request: refused while parsing (TOO_MANY_TOKENS), no check-in recorded', async () => {
    const before = await t.eventCount();
    const query = `mutation($i: RecordCheckInInput!) { ${Array.from({ length: 25_000 }, (_, i) => `m${i}: recordCheckIn(input: $i) { id }`).join(' ')} }`;
    expect(Buffer.byteLength(query)).toBeLessThan(1024 * 1024); // inside the body limit: this is the token cap at work
    const res = await post(tokens.admin, query, { i: { keyResultId: ids.kr, confidence: 50 } });
    await expectRefusedUpFront(res, 'GRAPHQL_PARSE_FAILED', 'TOO_MANY_TOKENS', before);
    expect(res.json.errors[0].message).toMatch(new RegExp(`more than ${MAX_TOKENS} tokens`));
  });

  it('26 aliased recordCheckIn (few tokens, many commands): TOO_MANY_COMMANDS, no check-in recorded', async () => {
    const before = await t.eventCount();
    const query = `mutation($i: RecordCheckInInput!) { ${Array.from({ length: 26 }, (_, i) => `m${i}: recordCheckIn(input: $i) { id }`).join(' ')} }`;
    const res = await post(tokens.admin, query, { i: { keyResultId: ids.kr, confidence: 50 } });
    await expectRefusedUpFront(res, 'GRAPHQL_VALIDATION_FAILED', 'TOO_MANY_COMMANDS', before);
  });

  it('every answer reports its cost; the log still verifies after all of the above', async () => {
    const res = await post(tokens.analyst, '{ verifyAuditLog { ok } units { id } }');
    expect(res.json.data.verifyAuditLog.ok).toBe(true);
    expect(res.json.extensions.cost).toEqual({ requested: 10_000 + 1 + 100, limit: MAX_COST });
  });
});

describe('responses over the size limit', () => {
  const LIMIT = 64 * 1024;
  let small: OkrServer;
  let url: string;

  beforeAll(async () => {
    // A second server on the same database whose responses may hold 64 KiB.
    small = await createServer({ orm: t.db.orm, organisationId: 'unused', actor: 'x', authenticator: jwtAuthenticator({ secret: SECRET }), requestLimits: { maxResponseBytes: LIMIT } });
    url = await small.listen(0, '127.0.0.1');
    await ok(tokens.admin, `mutation { planQuarter(input: { id: "2027-Q2", startsOn: "2027-04-01T00:00:00Z", endsOn: "2027-07-01T00:00:00Z" }) { id } }`);
    await ok(tokens.admin, `mutation { planQuarter(input: { id: "2027-Q3", startsOn: "2027-07-01T00:00:00Z", endsOn: "2027-10-01T00:00:00Z" }) { id } }`);
    const draft = `mutation($i: DraftObjectiveInput!) { draftObjective(input: $i) { id } }`;
    // Q2: 20 x 4,000 ASCII characters. Q3: 10 x 4,000 euro signs, 3 bytes each in UTF-8 but one UTF-16 unit.
    for (let i = 0; i < 20; i += 1) await ok(tokens.admin, draft, { i: { unitId: ids.company, quarterId: '2027-Q2', title: `Long ${i}`, description: 'd'.repeat(4000) } });
    for (let i = 0; i < 10; i += 1) await ok(tokens.admin, draft, { i: { unitId: ids.company, quarterId: '2027-Q3', title: `Euro ${i}`, description: '€'.repeat(4000) } });
  });
  afterAll(() => small?.close());

  const page = (quarterId: string) => `{ events(first: 100, quarterId: "${quarterId}", types: ["ObjectiveDrafted"]) { edges { node { data } } } }`;

  it('stops resolving once the response passes the limit, and answers RESPONSE_TOO_LARGE alone', async () => {
    const res = await post(tokens.analyst, page('2027-Q2'), undefined, url);
    expect(res.status).toBe(200);
    expect(res.json.data).toBeNull();
    expect(res.json.errors).toHaveLength(1);
    expect(res.json.errors[0].extensions).toEqual({ code: 'RESPONSE_TOO_LARGE' });
    expect(res.json.errors[0].message).toMatch(new RegExp(`larger than ${LIMIT} bytes`));
    expect(res.json.extensions.cost.requested).toBeGreaterThan(0);
    expect(res.text.length).toBeLessThan(2048);
  });

  it('refuses a body that only turns out too large when sent (multi-byte text), with the same error', async () => {
    const res = await post(tokens.analyst, page('2027-Q3'), undefined, url);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ data: null, errors: [expect.objectContaining({ extensions: { code: 'RESPONSE_TOO_LARGE' } })] });
  });

  it('answers the same pages from a server with the default limit, and smaller pages from this one', async () => {
    const full = await post(tokens.analyst, page('2027-Q2'));
    expect(full.json.data.events.edges).toHaveLength(20);
    const few = await post(tokens.analyst, page('2027-Q2').replace('first: 100', 'first: 5'), undefined, url);
    expect(few.json.errors).toBeUndefined();
    expect(few.json.data.events.edges).toHaveLength(5);
    const other = await post(tokens.adminB, '{ units { name } }', undefined, url);
    expect(other.json.data.units).toEqual([{ name: 'Globex' }]);
  });
});
