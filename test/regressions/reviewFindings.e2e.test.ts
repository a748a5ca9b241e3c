import { SignJWT } from 'jose';
import { jwtAuthenticator } from '../../src/auth';
import { effortBudgetFor, loadConfig } from '../../src/config';
import { startTestServer, type TestServer } from '../support/server';

/**
 * Regressions from the review of the history and trust work:
 * - instants PostgreSQL cannot store (year 0000) reached the database and answered INTERNAL_SERVER_ERROR;
 * - a token subject with a lone surrogate made every mutation fail with INTERNAL_SERVER_ERROR;
 * - an organisation named like an Object.prototype member got a function as its effort budget.
 */
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer('reviewfindings');
});
afterAll(() => t.close());

it('refuses instants outside the years 0001-9999 as bad input, in variables and in literals', async () => {
  const before = await t.eventCount();
  const plan = await t.gql(`mutation($s: DateTime!) { planQuarter(input: { id: "2027-Q1", startsOn: $s, endsOn: "2027-04-01T00:00:00Z" }) { id } }`, {
    s: '0000-06-01T00:00:00Z',
  });
  expect(plan.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  const asOf = await t.gql(`query($at: DateTime) { objectives(quarterId: "2027-Q1", asOf: $at) { id } }`, { at: '0000-06-01T00:00:00Z' });
  expect(asOf.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  const until = await t.gql(`{ events(until: "0000-06-01T00:00:00Z") { edges { cursor } } }`);
  expect(until.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  expect(await t.eventCount()).toBe(before);
});

it('refuses a token whose subject is not well-formed text', async () => {
  const secret = 'a-secret-of-at-least-thirty-two-characters!';
  const token = await new SignJWT({ org: 'o', role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject('mia\ud800').setExpirationTime('1h').sign(new TextEncoder().encode(secret));
  await expect(jwtAuthenticator({ secret }).authenticate(`Bearer ${token}`)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
});

it('gives every organisation a number as its budget, whatever it is called', () => {
  const config = loadConfig({ OKR_EFFORT_BUDGETS: 'acme=3' });
  for (const org of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) expect(effortBudgetFor(config, org)).toBe(4);
  expect(effortBudgetFor(config, 'acme')).toBe(3);
});
