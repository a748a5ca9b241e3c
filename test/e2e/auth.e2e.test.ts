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

const sign = (jwt: SignJWT) => jwt.setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
const mint = (claims: Record<string, unknown>, sub = 'someone', exp = '1h') =>
  sign(new SignJWT(claims).setSubject(sub).setIssuedAt().setExpirationTime(exp));

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
    ['a token without an expiry (exp)', 'noexp'],
    ['a token that expires more than 24 hours from now', 'longlived'],
    ['a token issued an hour in the future (iat)', 'futureiat'],
    ['a token whose subject holds a right-to-left override', 'bidisub'],
  ])('refuses %s with 401 UNAUTHENTICATED', async (_label, kind) => {
    let header: string | undefined;
    if (kind === 'Token abc') header = kind;
    else if (kind === 'other') header = `Bearer ${await new SignJWT({ org: 'org-a', role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject('x').setExpirationTime('1h').sign(new TextEncoder().encode('another-secret-another-secret-another-secret'))}`;
    else if (kind === 'expired') header = `Bearer ${await mint({ org: 'org-a', role: 'admin' }, 'x', '-1h')}`;
    else if (kind === 'badrole') header = `Bearer ${await mint({ org: 'org-a', role: 'owner' })}`;
    else if (kind === 'noorg') header = `Bearer ${await mint({ role: 'admin' })}`;
    else if (kind === 'noexp') header = `Bearer ${await sign(new SignJWT({ org: 'org-a', role: 'admin' }).setSubject('x').setIssuedAt())}`;
    else if (kind === 'longlived') header = `Bearer ${await mint({ org: 'org-a', role: 'admin' }, 'x', '25h')}`;
    else if (kind === 'futureiat') header = `Bearer ${await sign(new SignJWT({ org: 'org-a', role: 'admin' }).setSubject('x').setIssuedAt('1h').setExpirationTime('2h'))}`;
    else if (kind === 'bidisub') header = `Bearer ${await mint({ org: 'org-a', role: 'admin' }, 'ada\u202Egpj.exe')}`;
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

  it('says why a token is refused', async () => {
    const auth = jwtAuthenticator({ secret: SECRET });
    const refusal = async (token: string) => {
      const error = await auth.authenticate(`Bearer ${token}`).then(() => null, (e: unknown) => e);
      expect(error).toMatchObject({ code: 'UNAUTHENTICATED' });
      return (error as Error).message;
    };
    expect(await refusal(await sign(new SignJWT({ org: 'org-a', role: 'admin' }).setSubject('x')))).toMatch(/no expiry \(exp\)/);
    expect(await refusal(await mint({ org: 'org-a', role: 'admin' }, 'x', '30d'))).toMatch(/lives too long.*86400 seconds/);
    expect(await refusal(await sign(new SignJWT({ org: 'org-a', role: 'admin' }).setSubject('x').setIssuedAt('5m').setExpirationTime('1h')))).toMatch(
      /issued in the future \(iat/,
    );
    expect(await refusal(await mint({ org: 'org-a', role: 'admin' }, 'ada\u2067'))).toMatch(/subject \(sub\).*bidirectional/);
  });
});

describe('token lifetimes and clocks', () => {
  // A fixed clock, so the limits can be tested to the second.
  const NOW = Math.floor(Date.parse('2027-03-01T12:00:00Z') / 1000);
  const auth = jwtAuthenticator({ secret: SECRET, maxLifetimeSeconds: 3600, clock: () => new Date(NOW * 1000) });
  const token = (times: { iat?: number; exp?: number }, claims: Record<string, unknown> = {}, sub = 'ada') => {
    let jwt = new SignJWT({ org: 'org-a', role: 'admin', ...claims }).setSubject(sub);
    if (times.iat !== undefined) jwt = jwt.setIssuedAt(times.iat);
    if (times.exp !== undefined) jwt = jwt.setExpirationTime(times.exp);
    return sign(jwt);
  };
  const accepts = async (jwt: Promise<string>) => expect(await auth.authenticate(`Bearer ${await jwt}`)).toMatchObject({ organisationId: 'org-a' });
  const refuses = async (jwt: Promise<string>) => expect(auth.authenticate(`Bearer ${await jwt}`)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });

  it('requires exp, with or without iat', async () => {
    await refuses(token({}));
    await refuses(token({ iat: NOW }));
  });

  it('accepts a token living exactly the configured longest lifetime, and refuses one a second longer', async () => {
    await accepts(token({ iat: NOW, exp: NOW + 3600 }));
    await refuses(token({ iat: NOW, exp: NOW + 3601 }));
    // Issued earlier: exp - iat counts, even when exp is near.
    await refuses(token({ iat: NOW - 600, exp: NOW + 3001 }));
    await accepts(token({ iat: NOW - 600, exp: NOW + 3000 }));
  });

  it('without iat, judges the remaining lifetime (with the 30 s clock tolerance)', async () => {
    await accepts(token({ exp: NOW + 3630 }));
    await refuses(token({ exp: NOW + 3631 }));
  });

  it('tolerates an iat up to 30 s ahead of its clock, not more', async () => {
    await accepts(token({ iat: NOW + 30, exp: NOW + 600 }));
    await refuses(token({ iat: NOW + 31, exp: NOW + 600 }));
  });

  it('still refuses an expired token (beyond the tolerance)', async () => {
    await accepts(token({ iat: NOW - 3000, exp: NOW - 29 }));
    await refuses(token({ iat: NOW - 3000, exp: NOW - 30 }));
  });

  it('defaults the longest lifetime to 24 hours', async () => {
    const standard = jwtAuthenticator({ secret: SECRET, clock: () => new Date(NOW * 1000) });
    await expect(standard.authenticate(`Bearer ${await token({ iat: NOW, exp: NOW + 86_400 })}`)).resolves.toMatchObject({ subject: 'ada' });
    await expect(standard.authenticate(`Bearer ${await token({ iat: NOW, exp: NOW + 86_401 })}`)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  const valid = { iat: NOW, exp: NOW + 600 };

  it.each([
    ['a right-to-left override (U+202E)', 'mia\u202E'],
    ['a left-to-right embedding (U+202A)', '\u202Amia'],
    ['a pop directional formatting (U+202C)', 'mi\u202Ca'],
    ['a first-strong isolate (U+2068)', 'mi\u2068a'],
    ['a pop directional isolate (U+2069)', 'mia\u2069'],
    ['a right-to-left mark (U+200F)', 'mia\u200F'],
    ['a left-to-right mark (U+200E)', '\u200Emia'],
    ['an Arabic letter mark (U+061C)', 'mia\u061C'],
    ['a zero-width space (U+200B)', 'm\u200Bia'],
    ['a zero-width joiner (U+200D)', 'm\u200Dia'],
    ['a byte order mark (U+FEFF)', '\uFEFFmia'],
    ['a soft hyphen (U+00AD)', 'm\u00ADia'],
    ['a newline', 'mia\nadmin'],
    ['an escape character', 'mia\u001b[31m'],
    ['a DEL character', 'mia\u007f'],
    ['a C1 control (U+0085)', 'mia\u0085'],
    ['a line separator (U+2028)', 'mia\u2028'],
    ['a NUL', 'mia\u0000'],
    ['a lone surrogate', 'mia\ud800'],
    ['surrounding spaces', ' mia '],
    ['nothing', ''],
    ['201 characters', 'm'.repeat(201)],
  ])('refuses a subject (sub) with %s', async (_label, sub) => {
    await refuses(token(valid, {}, sub));
  });

  it.each([
    ['a right-to-left override', ['unit-1', 'unit\u202E2']],
    ['a pop directional isolate', ['unit\u2069']],
    ['a control character', ['unit\t1']],
    ['something that is not text', [42]],
  ])('refuses unit ids with %s', async (_label, units) => {
    await refuses(token(valid, { role: 'member', units }));
  });

  it.each([['a newline', 'org-a\n'], ['a right-to-left override', 'org\u202Ea'], ['a space', 'org a']])('refuses an organisation (org) with %s', async (_label, org) => {
    await refuses(token(valid, { org }));
  });

  it('accepts printable names in any script, with spaces and emoji', async () => {
    for (const sub of ['José Ñúñez', 'مريم', 'אדה', '王小明', 'ada@example.com', 'Zoë 🚀']) {
      await expect(auth.authenticate(`Bearer ${await token(valid, {}, sub)}`)).resolves.toMatchObject({ subject: sub });
    }
    await expect(auth.authenticate(`Bearer ${await token(valid, { role: 'member', units: ['c0ffee-1', 'Équipe Paiements'] })}`)).resolves.toMatchObject({
      units: ['c0ffee-1', 'Équipe Paiements'],
    });
  });
});

describe('recording', () => {
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

  it('verifies each organisation\'s own log, whose size and positions show nothing of the other\'s activity', async () => {
    const [a, b] = await Promise.all(
      (['org-a', 'org-b'] as const).map(async (org) =>
        Number((await t.db.sql.query<{ n: string }>('SELECT count(*) AS n FROM okr_events WHERE organisation_id = ?', [org]))[0]?.n),
      ),
    );
    const verify = `{ verifyAuditLog(full: true) { ok eventsChecked treeSize checkedFrom } }`;
    expect((await ok(tokens.auditorA, verify)).verifyAuditLog).toEqual({ ok: true, eventsChecked: a, treeSize: a, checkedFrom: 0 });
    expect((await ok(tokens.adminB, verify)).verifyAuditLog).toEqual({ ok: true, eventsChecked: b, treeSize: b, checkedFrom: 0 });
    // Both organisations wrote in turns, yet each one's positions are exactly 1..n: no gap tells of the other.
    const pairs: [string, number][] = [[tokens.auditorA as string, a ?? 0], [tokens.adminB as string, b ?? 0]];
    for (const [token, n] of pairs) {
      const page = (await ok(token, `{ events(first: 500) { edges { node { position } } } }`)) as { events: { edges: { node: { position: string } }[] } };
      expect(page.events.edges.map((e) => Number(e.node.position))).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    }
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
