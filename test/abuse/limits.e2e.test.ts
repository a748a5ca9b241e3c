import { request } from 'node:http';
import { createServer, type OkrServer } from '../../src/server';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { startTestServer, type TestServer } from '../support/server';
import { Okr } from '../support/okr';
import { MAX_ALIASES, MAX_COMMANDS, MAX_COST, MAX_DEPTH, MAX_TOKENS } from '../../schema/limits';
import { STABLE_CODES, leakIn, postText, readResponse, type RawResponse } from '../support/abuse';

/**
 * Every limit the server sets on a request, over real HTTP: each refuses with its own clear error,
 * before anything executes, and an honest query stays well inside them.
 */

let t: TestServer;
const ids: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestServer('abuselimits', '2026-12-15T09:00:00Z');
  const okr = new Okr(t);
  const org = await okr.org(['Payments']);
  ids.company = org.company;
  ids.fn = org.fn;
  const [team] = org.teams;
  if (!team) throw new Error('the organisation has no team');
  ids.team = team;
  await okr.quarter('2027-Q1', '2027-01-01T00:00:00Z', '2027-04-01T00:00:00Z');
  ids.companyObjective = await okr.objective(org.company, '2027-Q1', 'Customers trust our payments');
  ids.fnObjective = await okr.objective(org.fn, '2027-Q1', 'Improve the reliability of payments', { parentId: ids.companyObjective });
  ids.objective = await okr.objective(ids.team, '2027-Q1', 'Make payment failures rare', { parentId: ids.fnObjective });
  ids.kr = await okr.keyResult(ids.objective, { title: 'Reduce 5xx rate from 0.8% to 0.2%', metric: '5xx rate', unit: '%', baseline: 0.8, target: 0.2 });
  await okr.commit(ids.objective);
  okr.at('2027-01-14T09:00:00Z');
  await okr.checkIn(ids.kr, 60, { value: 0.6, whatChanged: 'Retries added' });
});
afterAll(() => t?.close());

const post = (body: unknown) => postText(t.url, JSON.stringify(body));

function firstError(res: RawResponse): { code?: string; reason?: string; message?: string } {
  const e = res.json?.errors?.[0];
  return { code: e?.extensions?.code, reason: e?.extensions?.reason, message: e?.message };
}

/** `open` and `close` wrapped around `leaf` `levels` times. */
const nest = (open: string, levels: number, leaf: string) => `${open} { `.repeat(levels) + leaf + ' }'.repeat(levels);

describe('depth', () => {
  it(`refuses units { children { children ... } } nested deeper than ${MAX_DEPTH} with QUERY_TOO_DEEP`, async () => {
    const query = `{ units { ${nest('children', MAX_DEPTH + 2, 'id')} } }`;
    const res = await post({ query });
    expect(res.status).toBe(400);
    expect(firstError(res)).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', reason: 'QUERY_TOO_DEEP' });
    expect(firstError(res).message).toMatch(new RegExp(`at most ${MAX_DEPTH}`));
    expect(res.json.data).toBeUndefined();
  });

  it('refuses objectives { contributors { contributors ... } } nested too deep', async () => {
    const query = `{ objectives(quarterId: "2027-Q1") { ${nest('contributors', MAX_DEPTH + 1, 'title')} } }`;
    const res = await post({ query });
    expect(res.status).toBe(400);
    expect(firstError(res)).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', reason: 'QUERY_TOO_DEEP' });
  });

  it('counts depth through named and inline fragments too', async () => {
    // Five fragments, each three levels deep, spread one into the next: 15 levels in all.
    const fragments = Array.from({ length: 5 }, (_, i) =>
      i < 4 ? `fragment F${i} on Unit { children { children { children { ...F${i + 1} } } } }` : `fragment F4 on Unit { children { children { children { id } } } }`,
    ).join('\n');
    const named = await post({ query: `{ units { ...F0 } }\n${fragments}` });
    expect(firstError(named)).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', reason: 'QUERY_TOO_DEEP' });
    const inline = await post({ query: `{ units { ${nest('... on Unit { children', MAX_DEPTH + 1, 'id')}${' }'.repeat(MAX_DEPTH + 1)} } }` });
    expect(firstError(inline)).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', reason: 'QUERY_TOO_DEEP' });
  });

  it('answers a query at exactly the depth limit', async () => {
    // unit (1) + parent x (MAX_DEPTH - 2) + id (1) = MAX_DEPTH levels, no lists (so far under the cost limit).
    const res = await post({ query: `{ unit(id: "${ids.team}") { ${nest('parent', MAX_DEPTH - 2, 'id')} } }` });
    expect(res.json.errors).toBeUndefined();
    expect(res.status).toBe(200);
  });

  it('refuses cyclic fragments as a validation error, not a crash', async () => {
    const res = await post({ query: `{ units { ...A } } fragment A on Unit { children { ...B } } fragment B on Unit { parent { ...A } }` });
    expect(res.status).toBe(400);
    expect(firstError(res).code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});

describe('cost, aliases and commands', () => {
  // units (100 at most) x (1 + children (20 at most) x 1): schema/cost.ts.
  const UNITS_WITH_CHILDREN = 'units { id name level children { id } }';
  const PER_ALIAS = 100 * (1 + 20);

  it(`refuses more than ${MAX_ALIASES} aliases with TOO_MANY_ALIASES`, async () => {
    const aliases = Array.from({ length: 2000 }, (_, i) => `a${i}: units { id name level }`).join(' ');
    const res = await post({ query: `{ ${aliases} }` });
    expect(res.status).toBe(400);
    expect(firstError(res)).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', reason: 'TOO_MANY_ALIASES' });
    expect(firstError(res).message).toMatch(new RegExp(`at most ${MAX_ALIASES} are allowed`));
  });

  it(`refuses a query over ${MAX_COST} with QUERY_TOO_COMPLEX, and says what it would cost`, async () => {
    const n = Math.floor(MAX_COST / PER_ALIAS) + 1;
    const res = await post({ query: `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${UNITS_WITH_CHILDREN}`).join(' ')} }` });
    expect(res.status).toBe(400);
    expect(firstError(res)).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', reason: 'QUERY_TOO_COMPLEX' });
    expect(firstError(res).message).toMatch(new RegExp(`would cost ${n * PER_ALIAS}; at most ${MAX_COST}`));
    expect(res.json.extensions.cost).toEqual({ requested: n * PER_ALIAS, limit: MAX_COST });
    expect(res.json.data).toBeUndefined();
  });

  it('answers a query just under the cost limit, and reports its cost', async () => {
    const n = Math.floor(MAX_COST / PER_ALIAS);
    const res = await post({ query: `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${UNITS_WITH_CHILDREN}`).join(' ')} }` });
    expect(res.json.errors).toBeUndefined();
    expect(res.status).toBe(200);
    expect(res.json.extensions.cost).toEqual({ requested: n * PER_ALIAS, limit: MAX_COST });
  });

  it('refuses lists nested in lists that multiply past the limit, though shallow', async () => {
    // 100 units x 20 children x 20 x 20 x 20: depth 6.
    const res = await post({ query: `{ units { ${nest('children', 4, 'id')} } }` });
    expect(firstError(res)).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', reason: 'QUERY_TOO_COMPLEX' });
  });

  it(`refuses more than ${MAX_COMMANDS} mutation fields with TOO_MANY_COMMANDS, and nothing is appended`, async () => {
    const before = await t.eventCount();
    const commands = Array.from({ length: MAX_COMMANDS + 1 }, (_, i) => `m${i}: registerUnit(input: { name: "U${i}", level: COMPANY }) { id }`).join(' ');
    const res = await post({ query: `mutation { ${commands} }` });
    expect(res.status).toBe(400);
    expect(firstError(res)).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', reason: 'TOO_MANY_COMMANDS' });
    expect(firstError(res).message).toMatch(new RegExp(`at most ${MAX_COMMANDS} are allowed per request`));
    expect(await t.eventCount()).toBe(before);
  });

  it('counts commands spread from fragments too', async () => {
    const before = await t.eventCount();
    const fragment = `fragment C on Mutation { ${Array.from({ length: 13 }, (_, i) => `c${i}: closeQuarter(id: "2027-Q1") { id }`).join(' ')} }`;
    const res = await post({ query: `mutation { ...C ... on Mutation { ...C } } ${fragment}` });
    expect(firstError(res)).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', reason: 'TOO_MANY_COMMANDS' });
    expect(await t.eventCount()).toBe(before);
  });

  it(`runs ${MAX_COMMANDS} commands in one request`, async () => {
    const commands = Array.from({ length: MAX_COMMANDS }, (_, i) => `m${i}: registerUnit(input: { name: "Many ${i}", level: COMPANY }) { id }`).join(' ');
    const res = await post({ query: `mutation { ${commands} }` });
    expect(res.json.errors).toBeUndefined();
    expect(Object.keys(res.json.data)).toHaveLength(MAX_COMMANDS);
  });

  it(`refuses a document of more than ${MAX_TOKENS} tokens while parsing, with TOO_MANY_TOKENS`, async () => {
    const before = await t.eventCount();
    const aliases = Array.from({ length: 2000 }, (_, i) => `m${i}: registerUnit(input: { name: "U${i}", level: COMPANY }) { id name level children { id name level } }`).join(' ');
    const res = await post({ query: `mutation { ${aliases} }` });
    expect(res.status).toBe(400);
    expect(firstError(res)).toMatchObject({ code: 'GRAPHQL_PARSE_FAILED', reason: 'TOO_MANY_TOKENS' });
    expect(firstError(res).message).toMatch(new RegExp(`more than ${MAX_TOKENS} tokens`));
    expect(await t.eventCount()).toBe(before);
  });
});

describe('an honest deep query', () => {
  it("answers the team's quarter view with key results and their check-ins", async () => {
    const query = `query($q: ID!, $u: ID) {
      objectives(quarterId: $q, unitId: $u) {
        id title status score aspirational version
        unit { name parent { name parent { name } } }
        quarter { id phase }
        parent { title parent { title } contributors { title } }
        contributors { title }
        keyResults {
          title metric baseline target current confidence score direction kind
          revisions { at reason changes { field from to } }
          checkIns { asOf recordedAt confidence value whatChanged blockers author }
        }
      }
    }`;
    const res = await post({ query, variables: { q: '2027-Q1', u: ids.team } });
    expect(res.json.errors).toBeUndefined();
    expect(res.status).toBe(200);
    const [objective] = res.json.data.objectives;
    expect(objective).toMatchObject({ title: 'Make payment failures rare', parent: { title: 'Improve the reliability of payments', parent: { title: 'Customers trust our payments' } } });
    expect(objective.keyResults[0].checkIns).toEqual([expect.objectContaining({ confidence: 60, value: 0.6, whatChanged: 'Retries added' })]);
  });
});

describe('page size', () => {
  it.each([501, 0, -1, 100_000])('refuses events(first: %d) with BAD_USER_INPUT PAGE_SIZE_INVALID', async (first) => {
    const res = await post({ query: `query($n: Int) { events(first: $n) { edges { cursor } } }`, variables: { n: first } });
    expect(firstError(res)).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'PAGE_SIZE_INVALID' });
    expect(res.status).toBeLessThan(500);
  });

  it('answers events(first: 500)', async () => {
    const res = await post({ query: `{ events(first: 500) { edges { node { type } } pageInfo { hasNextPage } } }` });
    expect(res.json.errors).toBeUndefined();
    expect(res.json.data.events.edges.length).toBeGreaterThan(0);
  });

  it('refuses a first that is not an Int (2^31) before any resolver runs', async () => {
    const res = await postText(t.url, `{"query":"query($n: Int) { events(first: $n) { edges { cursor } } }","variables":{"n":2147483648}}`);
    expect(res.status).toBe(400);
    expect(firstError(res).code).toBe('BAD_USER_INPUT');
  });
});

describe('request body size', () => {
  const MB = 1024 * 1024;

  it('refuses a body over 1 MB with HTTP 413 and a JSON error PAYLOAD_TOO_LARGE', async () => {
    const body = JSON.stringify({ query: '{ units { id } }', variables: { pad: 'x'.repeat(MB + 10) } });
    const res = await postText(t.url, body);
    expect(res.status).toBe(413);
    expect(res.contentType).toMatch(/application\/json/);
    expect(res.json.errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
    expect(res.json.errors[0].message).toMatch(/larger than 1048576 bytes/);
  });

  it('refuses an over-size mutation with 413 and appends nothing', async () => {
    const before = await t.eventCount();
    const body = JSON.stringify({
      query: `mutation($i: RegisterUnitInput!) { registerUnit(input: $i) { id } }`,
      variables: { i: { name: 'Big', level: 'COMPANY', idempotencyKey: 'big-1' }, pad: 'y'.repeat(MB) },
    });
    const res = await postText(t.url, body);
    expect(res.status).toBe(413);
    expect(res.json.errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await t.eventCount()).toBe(before);
  });

  it('refuses an over-size body sent chunked (no content-length) with 413 too', async () => {
    // The server cannot refuse by the declared length here: it has to count while reading.
    const url = new URL(t.url);
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        { hostname: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (c: string) => (text += c));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      const chunk = 'z'.repeat(64 * 1024);
      req.write(`{"query":"{ units { id } }","variables":{"pad":"`);
      let sent = 0;
      const pump = () => {
        while (sent < 2 * MB) {
          sent += chunk.length;
          if (!req.write(chunk)) return req.once('drain', pump);
        }
        req.end('"}}');
        return undefined;
      };
      pump();
    }).catch((error: Error) => ({ status: -1, text: `${error.message} ${(error as { code?: string }).code ?? ''}` }));
    expect(res).toMatchObject({ status: 413 });
    expect(JSON.parse(res.text).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('accepts a body of exactly 1 MB', async () => {
    const base = JSON.stringify({ query: '{ units { id } }' });
    const padded = base.slice(0, -1) + ' '.repeat(MB - Buffer.byteLength(base)) + '}';
    expect(Buffer.byteLength(padded)).toBe(MB);
    const res = await postText(t.url, padded);
    expect(res.status).toBe(200);
    expect(res.json.errors).toBeUndefined();
  });
});

describe('batching and malformed requests', () => {
  it('refuses a batched request (a JSON array of operations) with HTTP 400 and a clear message, executing none', async () => {
    const before = await t.eventCount();
    const res = await post([
      { query: '{ units { id } }' },
      { query: `mutation { registerUnit(input: { name: "Batch", level: COMPANY }) { id } }` },
    ]);
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/batch/i);
    expect(await t.eventCount()).toBe(before);
  });

  it('refuses a body that is not valid JSON with 400 BAD_REQUEST', async () => {
    const res = await postText(t.url, '{"query": "{ units { id } }"');
    expect(res.status).toBe(400);
    expect(res.json.errors[0]).toMatchObject({ extensions: { code: 'BAD_REQUEST' } });
    expect(res.json.errors[0].message).toMatch(/not valid JSON/);
  });

  it.each([
    ['an empty body', ''],
    ['a JSON string', '"{ units { id } }"'],
    ['JSON null', 'null'],
    ['a number', '42'],
    ['an object without a query', '{"variables":{}}'],
    ['a query that is not a string', '{"query":{"a":1}}'],
    ['variables that are not an object', '{"query":"{ units { id } }","variables":"x"}'],
  ])('refuses %s with a 4xx and a stable code', async (_label, body) => {
    const res = await postText(t.url, body);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(['BAD_REQUEST', 'GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT']).toContain(res.json?.errors?.[0]?.extensions?.code);
    expect(leakIn(res.text)).toBeUndefined();
  });

  it('refuses an unknown operationName with a 4xx and a code from the stable set', async () => {
    const res = await post({ query: 'query A { units { id } } query B { quarters { id } }', operationName: 'Nope' });
    expect(res.status).toBe(400);
    expect(STABLE_CODES).toContain(firstError(res).code);
  });

  it('answers a persisted-query hash that comes with a query with PERSISTED_QUERY_NOT_SUPPORTED, never INTERNAL_SERVER_ERROR', async () => {
    const res = await post({ query: '{ units { id } }', extensions: { persistedQuery: { version: 1, sha256Hash: '00' } } });
    expect(res.status).toBeLessThan(500);
    expect(firstError(res).code).toBe('PERSISTED_QUERY_NOT_SUPPORTED');
  });

  it('answers a persisted-query hash alone with PERSISTED_QUERY_NOT_SUPPORTED (persisted queries are off)', async () => {
    const res = await post({ extensions: { persistedQuery: { version: 1, sha256Hash: '0'.repeat(64) } } });
    expect(res.status).toBeLessThan(500);
    expect(firstError(res).code).toBe('PERSISTED_QUERY_NOT_SUPPORTED');
  });

  it('refuses a query that does not parse with GRAPHQL_PARSE_FAILED', async () => {
    const res = await post({ query: '{ units { id ' });
    expect(res.status).toBe(400);
    expect(firstError(res).code).toBe('GRAPHQL_PARSE_FAILED');
  });
});

describe('introspection', () => {
  const INTROSPECT = `{ __schema { queryType { name } types { name } } }`;

  it('works by default', async () => {
    const res = await post({ query: INTROSPECT });
    expect(res.status).toBe(200);
    expect(res.json.data.__schema.queryType.name).toBe('Query');
  });

  describe('with createServer({ introspection: false })', () => {
    let db: TestDatabase;
    let server: OkrServer;
    let url: string;
    beforeAll(async () => {
      db = await createTestDatabase('abusenointro');
      server = await createServer({ orm: db.orm, organisationId: 'org-nointro', actor: 'alice', introspection: false });
      url = await server.listen(0, '127.0.0.1');
    });
    afterAll(async () => {
      await server?.close();
      await db?.drop();
    });

    it.each([
      ['__schema', INTROSPECT],
      ['__type', `{ __type(name: "Query") { fields { name } } }`],
    ])('refuses %s with GRAPHQL_VALIDATION_FAILED', async (_label, query) => {
      const res = await postText(url, JSON.stringify({ query }));
      expect(res.status).toBe(400);
      expect(res.json.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(res.json.errors[0].extensions.reason).toBe('INTROSPECTION_DISABLED');
      // It names the setting that turns it on, not Apollo's constructor option.
      expect(res.json.errors[0].message).toMatch(/OKR_INTROSPECTION=true/);
      expect(res.json.errors[0].message).not.toMatch(/ApolloServer/);
      expect(res.json.data).toBeUndefined();
    });

    it('still answers ordinary queries (and __typename)', async () => {
      const res = await postText(url, JSON.stringify({ query: '{ __typename units { id } }' }));
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ data: { __typename: 'Query', units: [] }, extensions: { cost: { requested: 100, limit: MAX_COST } } });
    });
  });
});

describe('health endpoints', () => {
  it('/healthz answers 200', async () => {
    const res = await readResponse(await fetch(new URL('/healthz', t.url)));
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: 'ok' });
  });

  it('/readyz answers 200 when the database is reachable', async () => {
    const res = await readResponse(await fetch(new URL('/readyz', t.url)));
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: 'ready' });
  });

  it('anything else outside /graphql is a JSON 404', async () => {
    const res = await readResponse(await fetch(new URL('/admin', t.url)));
    expect(res.status).toBe(404);
    expect(res.contentType).toMatch(/json/);
  });
});
