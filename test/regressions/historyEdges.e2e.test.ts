import { Okr, byRule, health } from '../support/okr';
import { startTestServer, type TestServer } from '../support/server';

/**
 * Regressions found while testing the history features:
 * - a future asOf on objective/keyResult was answered null for unknown ids instead of refused;
 * - an empty cursor was taken as "no cursor" instead of refused;
 * - NO_REAL_BASELINE kept firing after the baseline was revised to a measured value;
 * - FORGOTTEN_CHECK_IN counted from the quarter's start even for key results defined mid-quarter.
 */
let t: TestServer;
let okr: Okr;
beforeAll(async () => {
  t = await startTestServer('historyedges', '2027-01-05T09:00:00Z');
  okr = new Okr(t);
});
afterAll(() => t.close());

it('refuses a future asOf before looking anything up', async () => {
  for (const field of ['objective', 'keyResult']) {
    const res = await t.gql(`{ ${field}(id: "no-such-id", asOf: "2031-01-01T00:00:00Z") { id } }`);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'AS_OF_IN_FUTURE' });
  }
});

it('refuses an empty cursor', async () => {
  const res = await t.gql(`{ events(after: "") { edges { cursor } } }`);
  expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'CURSOR_INVALID' });
});

it('judges the current baseline, and counts check-in gaps from when a key result was defined', async () => {
  const { teams } = await okr.org(['Payments']);
  const team = teams[0] as string;
  await okr.quarter('2027-Q1', '2027-01-01T00:00:00Z', '2027-04-01T00:00:00Z');
  const objective = await okr.objective(team, '2027-Q1', 'Make payments reliable');
  const early = await okr.keyResult(objective, { title: 'Reduce failed payments from 2% to 1%', baseline: 2, target: 1 });
  await okr.checkIn(early, 60, { value: 2 });
  const zero = await okr.keyResult(objective, { title: 'Increase signed images from 0% to 100%', baseline: 0, target: 100 });
  await okr.checkIn(zero, 50, { value: 35 });
  expect(byRule(await health(okr, '2027-Q1'), 'NO_REAL_BASELINE')).toEqual([['WARNING', zero]]);
  await okr.revise(zero, 'Measured: 35% were already signed', { baseline: 35 });
  expect(byRule(await health(okr, '2027-Q1'), 'NO_REAL_BASELINE')).toEqual([]);

  okr.at('2027-02-20T09:00:00Z');
  const late = await okr.keyResult(objective, { title: 'Reduce payout delays from 5% to 2%', baseline: 5, target: 2 });
  okr.at('2027-03-01T09:00:00Z'); // 9 days after it was defined; the others have gone 55 days without
  const forgotten = byRule(await health(okr, '2027-Q1'), 'FORGOTTEN_CHECK_IN').map(([, subject]) => subject);
  expect(forgotten).toContain(early);
  expect(forgotten).not.toContain(late);
});
