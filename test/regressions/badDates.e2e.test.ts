import { CHECK_IN, EFFORT, Okr, PLAN, SCORE } from '../support/okr';
import { startTestServer, type TestServer } from '../support/server';

/**
 * Regressions found by a hostile client (issue 7, "Bad dates"):
 * - planQuarter for 0001-Q1 was a 500: its default setting window fell in year 0000, which PostgreSQL
 *   refused to store. Every instant the server accepts must be storable and read back; none is a 500.
 * - a check-in back-dated to year 1 was accepted, and teamConfidence then showed it in a week of 1901
 *   (Date.UTC reads years 0-99 as 1900-1999).
 * - check-ins, scores and effort dated before their quarter's setting window opened were accepted.
 */
let t: TestServer;
let okr: Okr;
let team: string;
beforeAll(async () => {
  t = await startTestServer('baddates', '2027-01-10T09:00:00Z');
  okr = new Okr(t);
  team = (await okr.org(['Payments'])).teams[0] as string;
});
afterAll(() => t.close());

/** The request fails with this code and reason, and the log did not grow. */
async function refused(query: string, variables: Record<string, unknown>, code: string, reason?: string) {
  const before = await t.eventCount();
  const res = await t.gql(query, variables);
  expect(res.errors?.[0]?.extensions).toMatchObject(reason ? { code, reason } : { code });
  expect(await t.eventCount()).toBe(before);
  return res.errors?.[0]?.message ?? '';
}

const QUARTER = `query($id: ID!) { quarter(id: $id) { id startsOn endsOn settingOpensOn } }`;

describe('planning at the edges of the accepted years', () => {
  it('refuses 0001-Q1 with a default setting window, saying what to do, instead of a 500', async () => {
    const message = await refused(
      PLAN,
      { i: { id: '0001-Q1', startsOn: '0001-01-01T00:00:00Z', endsOn: '0001-04-01T00:00:00Z' } },
      'BAD_USER_INPUT',
      'SETTING_OPENS_ON_OUT_OF_RANGE',
    );
    expect(message).toMatch(/settingOpensOn/);
  });

  it('plans 0001-Q1 with an explicit window, and 9999-Q4 up to the last instant, and reads both back as stored', async () => {
    await okr.quarter('0001-Q1', '0001-01-01T00:00:00Z', '0001-04-01T00:00:00Z', '0001-01-01T00:00:00Z');
    await okr.quarter('9999-Q4', '9999-10-01T00:00:00Z', '9999-12-31T23:59:59.999Z');
    expect((await okr.ok(QUARTER, { id: '0001-Q1' })).quarter).toEqual({
      id: '0001-Q1',
      startsOn: '0001-01-01T00:00:00.000Z',
      endsOn: '0001-04-01T00:00:00.000Z',
      settingOpensOn: '0001-01-01T00:00:00.000Z',
    });
    expect((await okr.ok(QUARTER, { id: '9999-Q4' })).quarter).toEqual({
      id: '9999-Q4',
      startsOn: '9999-10-01T00:00:00.000Z',
      endsOn: '9999-12-31T23:59:59.999Z',
      settingOpensOn: '9999-09-10T00:00:00.000Z',
    });
  });

  it.each([
    ['a start in year 0000', { startsOn: '0000-11-01T00:00:00Z', endsOn: '0001-02-01T00:00:00Z' }],
    ['an end after year 9999', { startsOn: '9999-12-01T00:00:00Z', endsOn: '+010000-01-01T00:00:00Z' }],
    ['a setting window in year 0000', { startsOn: '0001-04-01T00:00:00Z', endsOn: '0001-07-01T00:00:00Z', settingOpensOn: '0000-12-31T00:00:00Z' }],
  ])('refuses %s as bad input, not a 500', async (_, dates) => {
    await refused(PLAN, { i: { id: 'edge', ...dates } }, 'BAD_USER_INPUT');
  });
});

describe('a quarter of year 1', () => {
  let kr: string;
  beforeAll(async () => {
    await okr.quarter('0001-Q2', '0001-04-01T00:00:00Z', '0001-07-01T00:00:00Z');
    const objective = await okr.objective(team, '0001-Q2', 'An ancient objective');
    kr = await okr.keyResult(objective, { title: 'Grow from 1 to 2', baseline: 1, target: 2 });
  });

  it('refuses a check-in back-dated before its setting window opened (0001-03-11)', async () => {
    const message = await refused(CHECK_IN, { i: { keyResultId: kr, confidence: 50, asOf: '0001-03-10T23:59:59Z' } }, 'BAD_USER_INPUT', 'CHECK_IN_BEFORE_SETTING_WINDOW');
    expect(message).toContain('0001-03-11T00:00:00.000Z');
  });

  it('keeps a check-in of year 1 in year 1: its trend point and its week (Monday 0001-04-30), not 1901', async () => {
    await okr.checkIn(kr, 60, { asOf: '0001-05-01T10:00:00Z' });
    const read = await okr.ok(
      `query($u: ID!) { teamConfidence(quarterId: "0001-Q2", unitId: $u) { weekStarting checkIns } confidenceTrends(quarterId: "0001-Q2") { points { at } } }`,
      { u: team },
    );
    expect(read.teamConfidence).toEqual([{ weekStarting: '0001-04-30T00:00:00.000Z', checkIns: 1 }]);
    expect(read.confidenceTrends).toEqual([{ points: [{ at: '0001-05-01T10:00:00.000Z' }] }]);
  });
});

describe('a quarter whose setting window has not opened yet (2027-Q3 opens 2027-06-10; the clock says 2027-01-10)', () => {
  let kr: string;
  beforeAll(async () => {
    await okr.quarter('2027-Q3', '2027-07-01T00:00:00Z', '2027-10-01T00:00:00Z');
    const objective = await okr.objective(team, '2027-Q3', 'Drafted early');
    kr = await okr.keyResult(objective, { title: 'Cut latency from 300 to 200 ms', baseline: 300, target: 200 });
  });

  it('refuses a check-in, a score and effort dated now, each with its own reason', async () => {
    await refused(CHECK_IN, { i: { keyResultId: kr, confidence: 50 } }, 'BAD_USER_INPUT', 'CHECK_IN_BEFORE_SETTING_WINDOW');
    await refused(SCORE, { i: { keyResultId: kr, score: 0.5 } }, 'BAD_USER_INPUT', 'SCORE_BEFORE_SETTING_WINDOW');
    await refused(EFFORT, { i: { unitId: team, quarterId: '2027-Q3', activity: 'SETTING', personDays: 1 } }, 'BAD_USER_INPUT', 'OCCURRED_BEFORE_SETTING_WINDOW');
  });

  it('accepts them once the window has opened', async () => {
    okr.at('2027-06-10T00:00:00Z');
    await okr.checkIn(kr, 50);
    await okr.score(kr, 0.5);
    await okr.effort(team, '2027-Q3', 'SETTING', 1);
  });
});

describe('instants outside the years 0001-9999 in queries and back-dating', () => {
  it('refuses them as bad input, never a 500', async () => {
    for (const asOf of ['0000-12-31T23:59:59Z', '+010000-01-01T00:00:00Z']) {
      const res = await t.gql(`query($a: DateTime) { objectives(quarterId: "0001-Q2", asOf: $a) { id } }`, { a: asOf });
      expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });

  it('answers an asOf at the first accepted instant (nothing was recorded yet)', async () => {
    expect(await okr.ok(`{ objectives(quarterId: "0001-Q2", asOf: "0001-01-01T00:00:00Z") { id } }`)).toEqual({ objectives: [] });
  });
});
