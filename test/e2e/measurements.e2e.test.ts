import { SignJWT } from 'jose';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { jwtAuthenticator } from '../../src/auth';
import { startTestServer, type TestServer } from '../support/server';

/**
 * Measurements from a team's own systems, over HTTP against the real server: a service token records a
 * reading of the key results it names, which moves current and shows in the trend without touching
 * confidence; and it may do nothing else, nor read anything else. People's tokens keep their rules.
 */

const SECRET = 'test-secret-that-is-at-least-32-characters-long';
const ORG = 'org-m';
const Q1 = '2027-Q1';
let t: TestServer;

const mint = (claims: Record<string, unknown>, sub: string) =>
  new SignJWT({ org: ORG, ...claims }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));

const tokens = { admin: '', ci: '', member: '', analyst: '' };
const ids: Record<string, string> = {};

async function ok(token: string, query: string, variables?: Record<string, unknown>) {
  const res = await t.gql(query, variables, token);
  if (res.errors?.length) throw new Error(`unexpected errors: ${JSON.stringify(res.errors)}`);
  return res.data as any;
}
/** The refusal's code and reason, and that nothing was appended. */
async function refused(token: string, query: string, variables?: Record<string, unknown>) {
  const before = await t.eventCount();
  const res = await t.gql(query, variables, token);
  expect(await t.eventCount()).toBe(before);
  return { ...(res.errors?.[0]?.extensions ?? {}), data: res.data };
}

const MEASURE = `mutation($i: RecordMeasurementInput!) { recordMeasurement(input: $i) { id current currentAt currentSource confidence version } }`;
const measure = (token: string, input: Record<string, unknown>) => t.gql(MEASURE, { i: { source: 'github-actions/ci.yml', ...input } }, token);

beforeAll(async () => {
  t = await startTestServer('measurements', '2027-01-20T09:00:00Z', 'unused', { authenticator: jwtAuthenticator({ secret: SECRET }) });
  tokens.admin = await mint({ role: 'admin' }, 'ada');
  const reg = `mutation($i: RegisterUnitInput!) { registerUnit(input: $i) { id } }`;
  ids.company = (await ok(tokens.admin, reg, { i: { name: 'Acme', level: 'COMPANY' } })).registerUnit.id;
  ids.fn = (await ok(tokens.admin, reg, { i: { name: 'Engineering', level: 'FUNCTION', parentId: ids.company } })).registerUnit.id;
  ids.platform = (await ok(tokens.admin, reg, { i: { name: 'Platform', level: 'TEAM', parentId: ids.fn } })).registerUnit.id;
  ids.payments = (await ok(tokens.admin, reg, { i: { name: 'Payments', level: 'TEAM', parentId: ids.fn } })).registerUnit.id;
  await ok(tokens.admin, `mutation { planQuarter(input: { id: "${Q1}", startsOn: "2027-01-01T00:00:00Z", endsOn: "2027-04-01T00:00:00Z" }) { id } }`);
  const draft = `mutation($i: DraftObjectiveInput!) { draftObjective(input: $i) { id } }`;
  ids.objective = (await ok(tokens.admin, draft, { i: { unitId: ids.platform, quarterId: Q1, title: 'Engineers ship without waiting' } })).draftObjective.id;
  ids.paymentsObjective = (await ok(tokens.admin, draft, { i: { unitId: ids.payments, quarterId: Q1, title: 'Payments that never fail' } })).draftObjective.id;
  const define = `mutation($i: DefineKeyResultInput!) { defineKeyResult(input: $i) { id } }`;
  ids.kr = (await ok(tokens.admin, define, { i: { objectiveId: ids.objective, title: 'Reduce p95 CI pipeline duration from 42 to under 15 minutes', metric: 'p95 CI pipeline duration', unit: 'min', baseline: 42, target: 15 } })).defineKeyResult.id;
  ids.otherKr = (await ok(tokens.admin, define, { i: { objectiveId: ids.objective, title: 'Reduce flaky test reruns from 30% to 5%', metric: 'reruns', unit: '%', baseline: 30, target: 5 } })).defineKeyResult.id;
  ids.paymentsKr = (await ok(tokens.admin, define, { i: { objectiveId: ids.paymentsObjective, title: 'Cut failed payments from 2% to 1%', metric: 'failed', unit: '%', baseline: 2, target: 1 } })).defineKeyResult.id;
  tokens.ci = await mint({ role: 'service', keyResults: [ids.kr] }, 'ci-pipeline');
  tokens.member = await mint({ role: 'member', units: [ids.platform] }, 'mia');
  tokens.analyst = await mint({ role: 'analyst' }, 'ann');
  await ok(tokens.member, `mutation($k: ID!) { recordCheckIn(input: { keyResultId: $k, confidence: 60, value: 40, asOf: "2027-01-15T12:00:00Z" }) { id } }`, { k: ids.kr });
});
afterAll(() => t.close());

describe('a service token', () => {
  it('is refused without the key results it measures, and accepted with them', async () => {
    const auth = jwtAuthenticator({ secret: SECRET });
    for (const claims of [{ role: 'service' }, { role: 'service', keyResults: [] }, { role: 'service', keyResults: 'k1' }, { role: 'service', keyResults: ['k\u202E1'] }]) {
      await expect(auth.authenticate(`Bearer ${await mint(claims, 'ci')}`)).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringMatching(/keyResults/) });
    }
    await expect(auth.authenticate(`Bearer ${tokens.ci}`)).resolves.toMatchObject({ subject: 'ci-pipeline', role: 'service', keyResults: [ids.kr], units: [] });
    // Other roles' tokens name no key results, whatever they carry.
    await expect(auth.authenticate(`Bearer ${await mint({ role: 'admin', keyResults: ['x'] }, 'ada')}`)).resolves.not.toHaveProperty('keyResults');
  });

  it('records a measurement of its key result: current moves, confidence stays, the answer says where current came from', async () => {
    t.clock.set('2027-01-20T09:05:00Z');
    const res = await measure(tokens.ci, { keyResultId: ids.kr, value: 31.5, at: '2027-01-20T09:00:00Z' });
    expect(res.errors).toBeUndefined();
    expect(res.data?.recordMeasurement).toEqual({ id: ids.kr, current: 31.5, currentAt: '2027-01-20T09:00:00.000Z', currentSource: 'github-actions/ci.yml', confidence: 60, version: 3 });
    const [event] = await t.db.sql.query<{ type: string; actor: string; data: Record<string, unknown> }>(
      "SELECT type, metadata->>'actor' AS actor, data FROM okr_events WHERE organisation_id = ? ORDER BY position DESC LIMIT 1", [ORG]);
    expect(event).toEqual({
      type: 'KeyResultMeasured',
      actor: 'ci-pipeline',
      data: { keyResultId: ids.kr, objectiveId: ids.objective, unitId: ids.platform, quarterId: Q1, value: 31.5, at: '2027-01-20T09:00:00.000Z', source: 'github-actions/ci.yml' },
    });
  });

  it('dates a measurement without `at` now, and replays one sent again with its idempotency key', async () => {
    t.clock.set('2027-01-21T06:00:00Z');
    const first = await measure(tokens.ci, { keyResultId: ids.kr, value: 30, idempotencyKey: 'run-1041' });
    expect(first.data?.recordMeasurement).toMatchObject({ current: 30, currentAt: '2027-01-21T06:00:00.000Z' });
    const before = await t.eventCount();
    const again = await measure(tokens.ci, { keyResultId: ids.kr, value: 30, idempotencyKey: 'run-1041' });
    expect(again.data?.recordMeasurement).toEqual(first.data?.recordMeasurement);
    expect(await t.eventCount()).toBe(before);
    const reused = await refused(tokens.ci, MEASURE, { i: { keyResultId: ids.kr, value: 29, source: 'github-actions/ci.yml', idempotencyKey: 'run-1041' } });
    expect(reused).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'IDEMPOTENCY_KEY_REUSED' });
  });

  it('may not measure a key result its token does not name, nor learn whether it exists', async () => {
    for (const keyResultId of [ids.otherKr, ids.paymentsKr, 'no-such-key-result']) {
      expect(await refused(tokens.ci, MEASURE, { i: { keyResultId, value: 1, source: 'ci' } })).toMatchObject({ code: 'FORBIDDEN', reason: 'NOT_YOUR_KEY_RESULT' });
    }
  });

  it('changes nothing else: every other command is refused', async () => {
    for (const [query, variables] of [
      [`mutation($k: ID!) { recordCheckIn(input: { keyResultId: $k, confidence: 99 }) { id } }`, { k: ids.kr }],
      [`mutation($k: ID!) { scoreKeyResult(input: { keyResultId: $k, score: 1 }) { id } }`, { k: ids.kr }],
      [`mutation($k: ID!) { reviseKeyResult(input: { id: $k, reason: "easier", target: 35 }) { id } }`, { k: ids.kr }],
      [`mutation($o: ID!) { commitObjective(input: { id: $o }) { id } }`, { o: ids.objective }],
      [`mutation($o: ID!) { carryOverObjective(input: { objectiveId: $o, toQuarterId: "2027-Q2" }) { id } }`, { o: ids.objective }],
      [`mutation($u: ID!) { logProcessEffort(input: { unitId: $u, quarterId: "${Q1}", activity: CHECK_IN, personDays: 1 }) { personDays } }`, { u: ids.platform }],
      [`mutation { registerUnit(input: { name: "Rogue", level: COMPANY }) { id } }`, {}],
      [`mutation { recordCheckpoint { treeSize } }`, {}],
    ] as const) {
      expect(await refused(tokens.ci, query, variables)).toMatchObject({ code: 'FORBIDDEN', reason: 'SERVICE_MEASURES_ONLY' });
    }
  });

  it('reads its key results\' own fields, and nothing else', async () => {
    const own = await ok(tokens.ci, `query($k: ID!) { keyResult(id: $k) { id title metric unit baseline target direction current currentAt currentSource confidence version __typename } }`, { k: ids.kr });
    expect(own.keyResult).toMatchObject({ id: ids.kr, baseline: 42, target: 15, current: 30, currentSource: 'github-actions/ci.yml', __typename: 'KeyResult' });
    const viaFragment = await ok(tokens.ci, `query($k: ID!) { keyResult(id: $k) { ...Own } } fragment Own on KeyResult { current target }`, { k: ids.kr });
    expect(viaFragment.keyResult).toEqual({ current: 30, target: 15 });
    expect(await refused(tokens.ci, `query($k: ID!) { keyResult(id: $k) { id } }`, { k: ids.otherKr })).toMatchObject({ code: 'FORBIDDEN', reason: 'NOT_YOUR_KEY_RESULT' });
    for (const [query, variables] of [
      [`query($k: ID!) { keyResult(id: $k) { objective { title } } }`, { k: ids.kr }],
      [`query($k: ID!) { keyResult(id: $k) { checkIns { confidence } } }`, { k: ids.kr }],
      [`query($k: ID!) { keyResult(id: $k) { ... on KeyResult { revisions { reason } } } }`, { k: ids.kr }],
      [`{ units { name } }`, {}],
      [`{ objectives(quarterId: "${Q1}") { title } }`, {}],
      [`query($k: ID!) { node(id: $k) { id } }`, { k: ids.kr }],
      [`{ confidenceTrends(quarterId: "${Q1}") { points { confidence } } }`, {}],
      [`{ events(first: 10) { edges { node { type } } } }`, {}],
      [`{ verifyAuditLog { ok } }`, {}],
    ] as const) {
      expect(await refused(tokens.ci, query, variables)).toMatchObject({ code: 'FORBIDDEN', reason: 'SERVICE_MEASURES_ONLY' });
    }
  });

  it('refuses a measurement whose answer would reach past the key result before recording anything', async () => {
    const res = await refused(tokens.ci, `mutation($k: ID!) { recordMeasurement(input: { keyResultId: $k, value: 12, source: "ci" }) { current objective { title } } }`, { k: ids.kr });
    expect(res).toMatchObject({ code: 'FORBIDDEN', reason: 'SERVICE_MEASURES_ONLY', data: null });
  });

  it('may not subscribe to the log', async () => {
    const client = createClient({ url: t.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${tokens.ci}` } });
    const outcome = await new Promise<unknown>((resolve) => {
      client.subscribe({ query: 'subscription { eventAppended { type } }' }, { next: resolve, error: resolve, complete: () => resolve('complete') });
    });
    await client.dispose();
    // Refused before it started: a single answer with the error, and no stream.
    expect(outcome).toMatchObject({ errors: [{ extensions: { code: 'FORBIDDEN', reason: 'SERVICE_MEASURES_ONLY' } }] });
  });
});

describe('people and measurements', () => {
  it('lets a member measure their units\' key results, and not other units\'', async () => {
    t.clock.set('2027-01-22T10:00:00Z');
    expect((await measure(tokens.member, { keyResultId: ids.otherKr, value: 25, source: 'flaky-report.sh' })).data?.recordMeasurement).toMatchObject({ current: 25 });
    expect(await refused(tokens.member, MEASURE, { i: { keyResultId: ids.paymentsKr, value: 1.5, source: 'x' } })).toMatchObject({ code: 'FORBIDDEN', reason: 'NOT_YOUR_UNIT' });
    expect(await refused(tokens.analyst, MEASURE, { i: { keyResultId: ids.kr, value: 1.5, source: 'x' } })).toMatchObject({ code: 'FORBIDDEN', reason: 'READ_ONLY_ROLE' });
  });

  it('keeps a measured current through a check-in that gives a confidence only', async () => {
    t.clock.set('2027-01-22T11:00:00Z');
    const after = await ok(tokens.member, `mutation($k: ID!) { recordCheckIn(input: { keyResultId: $k, confidence: 45, whatChanged: "numbers come from CI now" }) { current currentSource confidence } }`, { k: ids.kr });
    expect(after.recordCheckIn).toEqual({ current: 30, currentSource: 'github-actions/ci.yml', confidence: 45 });
  });

  it.each([
    ['a blank source', { source: '   ' }, 'SOURCE_EMPTY'],
    ['a source of 101 characters', { source: 's'.repeat(101) }, 'SOURCE_TOO_LONG'],
    ['a reading dated in the future', { at: '2027-01-22T11:00:01Z' }, 'MEASUREMENT_IN_FUTURE'],
    ['a reading before the setting window', { at: '2026-12-01T00:00:00Z' }, 'MEASUREMENT_BEFORE_SETTING_WINDOW'],
    ['a reading after the quarter', { at: '2027-04-02T00:00:00Z' }, 'MEASUREMENT_AFTER_QUARTER_ENDED'],
  ])('refuses %s with its reason, appending nothing', async (_label, input, reason) => {
    if (reason === 'MEASUREMENT_AFTER_QUARTER_ENDED') t.clock.set('2027-04-03T00:00:00Z');
    expect(await refused(tokens.ci, MEASURE, { i: { keyResultId: ids.kr, value: 28, source: 'ci', ...input } })).toMatchObject({ code: 'BAD_USER_INPUT', reason });
    t.clock.set('2027-01-22T11:00:00Z');
  });

  it('refuses a versioned key result id: only the present changes', async () => {
    expect(await refused(tokens.admin, MEASURE, { i: { keyResultId: `${ids.kr}@2027-01-21T00:00:00.000Z`, value: 1, source: 'ci' } })).toMatchObject({
      code: 'BAD_USER_INPUT',
      reason: 'HISTORICAL_ID',
    });
  });
});

describe('the trend and the past', () => {
  const TREND = `query($k: ID, $asOf: DateTime) { confidenceTrends(quarterId: "${Q1}", keyResultId: $k, asOf: $asOf) {
    keyResult { id } points { at confidence value } readings { at kind value confidence source author correction superseded } } }`;

  it('shows measurements among the readings, with their source and no confidence; points stay check-ins', async () => {
    const res = await ok(tokens.admin, TREND, { k: ids.kr });
    expect(res.confidenceTrends).toHaveLength(1);
    const [series] = res.confidenceTrends;
    expect(series.points.map((p: { confidence: number }) => p.confidence)).toEqual([60, 45]);
    expect(series.readings).toEqual([
      { at: '2027-01-15T12:00:00.000Z', kind: 'CHECK_IN', value: 40, confidence: 60, source: null, author: 'mia', correction: false, superseded: false },
      { at: '2027-01-20T09:00:00.000Z', kind: 'MEASUREMENT', value: 31.5, confidence: null, source: 'github-actions/ci.yml', author: 'ci-pipeline', correction: false, superseded: false },
      { at: '2027-01-21T06:00:00.000Z', kind: 'MEASUREMENT', value: 30, confidence: null, source: 'github-actions/ci.yml', author: 'ci-pipeline', correction: false, superseded: false },
      { at: '2027-01-22T11:00:00.000Z', kind: 'CHECK_IN', value: null, confidence: 45, source: null, author: 'mia', correction: false, superseded: false },
    ]);
    const all = await ok(tokens.admin, `{ confidenceTrends(quarterId: "${Q1}") { keyResult { id } points { confidence } } }`);
    expect(all.confidenceTrends.map((s: { keyResult: { id: string } }) => s.keyResult.id).sort()).toEqual([ids.kr, ids.otherKr, ids.paymentsKr].sort());
  });

  it('answers as of an instant with the readings recorded by then', async () => {
    const asOf = '2027-01-20T12:00:00Z';
    const then = await ok(tokens.admin, `query($k: ID!, $asOf: DateTime) { keyResult(id: $k, asOf: $asOf) { id current currentSource confidence } }`, { k: ids.kr, asOf });
    expect(then.keyResult).toEqual({ id: `${ids.kr}@2027-01-20T12:00:00.000Z`, current: 31.5, currentSource: 'github-actions/ci.yml', confidence: 60 });
    const before = await ok(tokens.admin, `query($k: ID!) { keyResult(id: $k) { current currentSource } }`, { k: `${ids.kr}@2027-01-20T09:00:00.000Z` });
    expect(before.keyResult).toEqual({ current: 40, currentSource: null });
    const trend = await ok(tokens.admin, TREND, { k: ids.kr, asOf });
    expect(trend.confidenceTrends[0].readings.map((r: { kind: string }) => r.kind)).toEqual(['CHECK_IN', 'MEASUREMENT']);
  });

  it('charges one key result\'s readings as one key result\'s; every key result\'s readings at once is over the limit', async () => {
    const cost = async (query: string) => {
      const res = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.admin}` }, body: JSON.stringify({ query }) });
      return (await res.json()) as { errors?: { extensions: { reason?: string } }[]; extensions?: { cost?: { requested: number } } };
    };
    // 500 for the quarter's facts, and one key result of 13 check-ins and 92 daily measurements.
    expect((await cost(`{ confidenceTrends(quarterId: "${Q1}", keyResultId: "${ids.kr}") { readings { value } } }`)).extensions?.cost?.requested).toBe(500 + 1 + 105);
    expect((await cost(`{ confidenceTrends(quarterId: "${Q1}") { readings { value } } }`)).errors?.[0]?.extensions.reason).toBe('QUERY_TOO_COMPLEX');
  });
});
