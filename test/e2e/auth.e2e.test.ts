import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair } from 'jose';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { jwtAuthenticator } from '../../src/auth';
import { startTestServer, type TestServer } from '../support/server';

/**
 * Who may do what, and organisations isolated everywhere: every query, filter, cursor, subscription
 * and id guess from one organisation is tried against another's data.
 */
const SECRET = 'test-secret-that-is-at-least-32-characters-long';
let t: TestServer;

const mint = (claims: Record<string, unknown>, sub = 'someone', exp = '1h') =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime(exp).sign(new TextEncoder().encode(SECRET));

const tokens: Record<string, string> = {};
// (filled in beforeAll)
const ids: Record<string, string> = {};

async function ok(token: string | undefined, query: string, variables?: Record<string, unknown>) {
  const res = await t.gql(query, variables, token);
  if (res.errors?.length) throw new Error(`unexpected errors: ${JSON.stringify(res.errors)}`);
  return res.data as any;
}

beforeAll(async () => {
  t = await startTestServer('auth', '2027-01-10T09:00:00Z', 'unused', { authenticator: jwtAuthenticator({ secret: SECRET }) });
  tokens.adminA = await mint({ org: 'org-a', role: 'admin' }, 'ada');
  tokens.adminB = await mint({ org: 'org-b', role: 'admin' }, 'bob');
  tokens.analystA = await mint({ org: 'org-a', role: 'analyst' }, 'ann');
  tokens.auditorA = await mint({ org: 'org-a', role: 'auditor' }, 'aud');

  const reg = `mutation($i: RegisterUnitInput!) { registerUnit(input: $i) { id } }`;
  ids.company = (await ok(tokens.adminA, reg, { i: { name: 'Acme', level: 'COMPANY' } })).registerUnit.id;
  ids.fn = (await ok(tokens.adminA, reg, { i: { name: 'Engineering', level: 'FUNCTION', parentId: ids.company } })).registerUnit.id;
  ids.payments = (await ok(tokens.adminA, reg, { i: { name: 'Payments', level: 'TEAM', parentId: ids.fn } })).registerUnit.id;
  ids.platform = (await ok(tokens.adminA, reg, { i: { name: 'Platform', level: 'TEAM', parentId: ids.fn } })).registerUnit.id;
  await ok(tokens.adminA, `mutation { planQuarter(input: { id: "2027-Q1", startsOn: "2027-01-01T00:00:00Z", endsOn: "2027-04-01T00:00:00Z" }) { id } }`);
  tokens.memberPayments = await mint({ org: 'org-a', role: 'member', units: [ids.payments] }, 'mia');
  const draft = `mutation($i: DraftObjectiveInput!) { draftObjective(input: $i) { id } }`;
  ids.objective = (await ok(tokens.memberPayments, draft, { i: { unitId: ids.payments, quarterId: '2027-Q1', title: 'Reliable payments' } })).draftObjective.id;
  ids.platformObjective = (await ok(tokens.adminA, draft, { i: { unitId: ids.platform, quarterId: '2027-Q1', title: 'Fast CI' } })).draftObjective.id;
  const define = `mutation($i: DefineKeyResultInput!) { defineKeyResult(input: $i) { id } }`;
  ids.kr = (await ok(tokens.memberPayments, define, { i: { objectiveId: ids.objective, title: 'Cut failures from 2% to 1%', metric: '%', baseline: 2, target: 1 } })).defineKeyResult.id;
  ids.platformKr = (await ok(tokens.adminA, define, { i: { objectiveId: ids.platformObjective, title: 'Cut CI from 40 to 15 min', metric: 'min', baseline: 40, target: 15 } })).defineKeyResult.id;
  await ok(tokens.memberPayments, `mutation($k: ID!) { recordCheckIn(input: { keyResultId: $k, confidence: 60, idempotencyKey: "same-key" }) { id } }`, { k: ids.kr });
});
afterAll(() => t.close());

describe('authentication', () => {
  it.each([
    ['no header', undefined],
    ['a malformed header', 'Token abc'],
    ['a token signed with another secret', 'other'],
    ['an expired token', 'expired'],
    ['a token with an unknown role', 'badrole'],
    ['a token without an organisation', 'noorg'],
  ])('refuses %s with 401 UNAUTHENTICATED', async (_label, kind) => {
    let header: string | undefined;
    if (kind === 'Token abc') header = kind;
    else if (kind === 'other') header = `Bearer ${await new SignJWT({ org: 'org-a', role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject('x').setExpirationTime('1h').sign(new TextEncoder().encode('another-secret-another-secret-another-secret'))}`;
    else if (kind === 'expired') header = `Bearer ${await mint({ org: 'org-a', role: 'admin' }, 'x', '-1h')}`;
    else if (kind === 'badrole') header = `Bearer ${await mint({ org: 'org-a', role: 'owner' })}`;
    else if (kind === 'noorg') header = `Bearer ${await mint({ role: 'admin' })}`;
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(header ? { authorization: header } : {}) },
      body: JSON.stringify({ query: '{ units { id } }' }),
    });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });

  it('accepts tokens signed by a key from a JWKS (RS256)', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' };
    const auth = jwtAuthenticator({ keys: createLocalJWKSet({ keys: [jwk] }) });
    const token = await new SignJWT({ org: 'org-a', role: 'analyst' }).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setSubject('rita').setExpirationTime('1h').sign(privateKey);
    await expect(auth.authenticate(`Bearer ${token}`)).resolves.toEqual({ subject: 'rita', organisationId: 'org-a', role: 'analyst', units: [], expiresAt: expect.any(Date) });
    await expect(auth.authenticate(`Bearer ${await mint({ org: 'org-a', role: 'admin' })}`)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('records who did it on every event', async () => {
    const rows = await t.db.sql.query<{ actor: string; type: string }>(
      "SELECT metadata->>'actor' AS actor, type FROM okr_events WHERE organisation_id = 'org-a' ORDER BY position",
    );
    expect(rows.find((r) => r.type === 'UnitRegistered')?.actor).toBe('ada');
    expect(rows.find((r) => r.type === 'CheckInRecorded')?.actor).toBe('mia');
  });
});

describe('who may do what', () => {
  const CHECK_IN = `mutation($k: ID!) { recordCheckIn(input: { keyResultId: $k, confidence: 55 }) { id } }`;

  it('lets a member change their own units\' OKRs and nothing else, appending nothing when refused', async () => {
    await ok(tokens.memberPayments, CHECK_IN, { k: ids.kr });
    const before = await t.eventCount();
    for (const [query, variables, reason] of [
      [CHECK_IN, { k: ids.platformKr }, 'NOT_YOUR_UNIT'],
      [`mutation($o: ID!) { commitObjective(input: { id: $o }) { id } }`, { o: ids.platformObjective }, 'NOT_YOUR_UNIT'],
      [`mutation($u: ID!) { draftObjective(input: { unitId: $u, quarterId: "2027-Q1", title: "x" }) { id } }`, { u: ids.platform }, 'NOT_YOUR_UNIT'],
      [`mutation($u: ID!) { logProcessEffort(input: { unitId: $u, quarterId: "2027-Q1", activity: SETTING, personDays: 1 }) { personDays } }`, { u: ids.platform }, 'NOT_YOUR_UNIT'],
      [`mutation { registerUnit(input: { name: "Rogue", level: COMPANY }) { id } }`, {}, 'ADMIN_ONLY'],
      [`mutation { planQuarter(input: { id: "2027-Q2", startsOn: "2027-04-01T00:00:00Z", endsOn: "2027-07-01T00:00:00Z" }) { id } }`, {}, 'ADMIN_ONLY'],
      [`mutation { closeQuarter(id: "2027-Q1") { id } }`, {}, 'ADMIN_ONLY'],
    ] as const) {
      const res = await t.gql(query, variables, tokens.memberPayments);
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason });
    }
    expect(await t.eventCount()).toBe(before);
  });

  it.each(['analystA', 'auditorA'])('lets an %s read everything of the organisation and change nothing', async (who) => {
    const token = tokens[who] as string;
    const read = await ok(token, `{ objectives(quarterId: "2027-Q1") { title keyResults { checkIns { confidence } } } events(first: 500) { edges { node { type } } } verifyAuditLog { ok } }`);
    expect(read.objectives.map((o: { title: string }) => o.title).sort()).toEqual(['Fast CI', 'Reliable payments']);
    expect(read.verifyAuditLog.ok).toBe(true);
    const before = await t.eventCount();
    const res = await t.gql(CHECK_IN, { k: ids.kr }, token);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'READ_ONLY_ROLE' });
    expect(await t.eventCount()).toBe(before);
  });
});

describe('organisations are isolated', () => {
  it('shows another organisation nothing through lists, filters and lookups by id', async () => {
    const b = tokens.adminB as string;
    const seen = await ok(b, `query($o: ID!, $k: ID!, $u: ID!) {
      units { id } quarters { id } objectives(quarterId: "2027-Q1") { id } objective(id: $o) { id } keyResult(id: $k) { id }
      unit(id: $u) { id } quarter(id: "2027-Q1") { id } retrospectives(quarterId: "2027-Q1") { learnings }
      confidenceTrends(quarterId: "2027-Q1") { points { confidence } } teamConfidence(quarterId: "2027-Q1", unitId: $u) { checkIns }
      effortAudit(quarterId: "2027-Q1") { personDays } health(quarterId: "2027-Q1") { rule } confidenceCalibration(quarterId: "2027-Q1") { meanGap }
      byQuarter: events(quarterId: "2027-Q1") { edges { node { type } } }
      byStream: events(streamId: "keyResult-${ids.kr}") { edges { node { type } } }
      all: events(first: 500) { edges { node { type } } }
    }`, { o: ids.objective, k: ids.kr, u: ids.payments });
    expect(seen).toEqual({
      units: [], quarters: [], objectives: [], objective: null, keyResult: null, unit: null, quarter: null, retrospectives: [],
      confidenceTrends: [], teamConfidence: [], effortAudit: [], health: [], confidenceCalibration: [],
      byQuarter: { edges: [] }, byStream: { edges: [] }, all: { edges: [] },
    });
  });

  it('gives nothing through a cursor or an asOf from another organisation', async () => {
    const page = await ok(tokens.adminA as string, `{ events(first: 2) { pageInfo { endCursor } } }`);
    const cursor = page.events.pageInfo.endCursor as string;
    const b = await ok(tokens.adminB as string, `query($c: String) { events(after: $c) { edges { node { type } } } objectives(quarterId: "2027-Q1", asOf: "2027-01-10T08:00:00Z") { id } }`, { c: cursor });
    expect(b).toEqual({ events: { edges: [] }, objectives: [] });
  });

  it('refuses changes to another organisation\'s ids as unknown, appending nothing', async () => {
    const before = await t.eventCount();
    const b = tokens.adminB as string;
    for (const [query, variables] of [
      [`mutation($k: ID!) { recordCheckIn(input: { keyResultId: $k, confidence: 1 }) { id } }`, { k: ids.kr }],
      [`mutation($o: ID!) { retireObjective(input: { id: $o, reason: "mine now" }) { id } }`, { o: ids.objective }],
      [`mutation($u: ID!) { registerUnit(input: { name: "Spy", level: FUNCTION, parentId: $u }) { id } }`, { u: ids.company }],
      [`mutation { closeQuarter(id: "2027-Q1") { id } }`, {}],
    ] as const) {
      const res = await t.gql(query, variables, b);
      expect(res.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    }
    expect(await t.eventCount()).toBe(before);
  });

  it('verifies the shared log but counts and reports only the caller\'s own events', async () => {
    const [a, b] = await Promise.all(
      (['org-a', 'org-b'] as const).map(async (org) =>
        Number((await t.db.sql.query<{ n: string }>('SELECT count(*) AS n FROM okr_events WHERE organisation_id = ?', [org]))[0]?.n),
      ),
    );
    expect((await ok(tokens.auditorA, `{ verifyAuditLog { ok eventsChecked } }`)).verifyAuditLog).toEqual({ ok: true, eventsChecked: a });
    expect((await ok(tokens.adminB, `{ verifyAuditLog { ok eventsChecked } }`)).verifyAuditLog).toEqual({ ok: true, eventsChecked: b });
  });

  it('keeps idempotency keys per person: another member cannot replay a command to learn its result', async () => {
    const other = await mint({ org: 'org-a', role: 'member', units: [ids.platform] }, 'pat');
    const before = await t.eventCount();
    const replay = await t.gql(`mutation($k: ID!) { recordCheckIn(input: { keyResultId: $k, confidence: 60, idempotencyKey: "same-key" }) { id } }`, { k: ids.kr }, other);
    expect(replay.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'NOT_YOUR_UNIT' });
    expect(await t.eventCount()).toBe(before);
  });

  it('keeps idempotency keys per organisation', async () => {
    await ok(tokens.adminB as string, `mutation { registerUnit(input: { name: "Globex", level: COMPANY, idempotencyKey: "same-key" }) { id } }`);
    const units = await ok(tokens.adminB as string, `{ units { name } }`);
    expect(units.units).toEqual([{ name: 'Globex' }]);
  });

  it('delivers no event of another organisation to a subscriber', async () => {
    const client = createClient({
      url: t.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${tokens.adminB}` },
    });
    const received: string[] = [];
    const stop = client.subscribe<{ eventAppended: { type: string; data: { name?: string } } }>(
      { query: 'subscription { eventAppended { type data } }' },
      { next: (m) => received.push(`${m.data?.eventAppended.type}:${m.data?.eventAppended.data.name ?? ''}`), error: () => undefined, complete: () => undefined },
    );
    await new Promise((r) => setTimeout(r, 300));
    await ok(tokens.adminA as string, `mutation($k: ID!) { recordCheckIn(input: { keyResultId: $k, confidence: 70 }) { id } }`, { k: ids.kr });
    await ok(tokens.adminB as string, `mutation { registerUnit(input: { name: "Initech", level: COMPANY }) { id } }`);
    for (let i = 0; i < 200 && received.length === 0; i += 1) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 200));
    stop();
    await client.dispose();
    expect(received).toEqual(['UnitRegistered:Initech']);
  });

  it('refuses a subscription without credentials', async () => {
    const client = createClient({ url: t.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
    const outcome = await new Promise<string>((resolve) => {
      client.subscribe({ query: 'subscription { eventAppended { type } }' }, {
        next: () => resolve('next'),
        error: (e) => resolve(`error:${(e as { code?: number }).code ?? ''}`),
        complete: () => resolve('complete'),
      });
    });
    await client.dispose();
    expect(outcome).toBe('error:4403');
  });
});
