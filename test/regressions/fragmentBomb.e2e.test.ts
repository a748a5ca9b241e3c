import { startTestServer, type TestServer } from '../support/server';

/**
 * Regression: the cost limit re-expanded every fragment spread, so a query of a few hundred bytes
 * (each fragment spreading the next twice, 24 deep) took tens of seconds to validate, blocking every
 * other request. Each fragment must be measured once. The cost analysis (graphql-query-complexity) does
 * re-expand spreads, so the expanded size is refused first, by our memoised rule (TOO_MANY_FIELDS).
 */
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer('fragbomb');
});
afterAll(() => t.close());

it('refuses a doubling fragment chain at once, with TOO_MANY_FIELDS', async () => {
  // 60 levels: re-expanding spreads would mean 2^60 visits, which never completes (the test times out).
  const levels = 60;
  const fragments = Array.from({ length: levels }, (_, i) =>
    i === levels - 1 ? `fragment F${i} on Query { units { id } }` : `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`,
  ).join('\n');
  const res = await t.gql(`query { ...F0 }\n${fragments}`);
  expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED', reason: 'TOO_MANY_FIELDS' });
});
