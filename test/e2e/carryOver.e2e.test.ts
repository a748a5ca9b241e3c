import { idBag, Okr } from '../support/okr';
import { startTestServer, type TestServer } from '../support/server';

/**
 * Carrying an unfinished objective over, over HTTP against the real server: the draft in the next quarter
 * with its unfinished key results (baseline: where each metric last stood), the lineage both ways, the
 * retrospective's calibration travelling with each key result, the past as it was, and every refusal
 * with its reason and nothing appended.
 */

const Q1 = '2027-Q1';
const Q2 = '2027-Q2';
let t: TestServer;
let okr: Okr;
const id = idBag();

const CARRY = `mutation($i: CarryOverObjectiveInput!) { carryOverObjective(input: $i) {
  id status version aspirational title description quarter { id } unit { id } parent { id } carriedFrom { id title }
  keyResults { id title metric unit baseline target direction kind current confidence score carriedFrom { id score current }
    carriedCalibration { calibration note keyResult { id } } } } }`;
const LINEAGE = `query($o: ID!, $asOf: DateTime) { objective(id: $o, asOf: $asOf) { id version carriedFrom { id } carriedTo { id quarter { id } } } }`;

/** The refusal's code and reason, and that nothing was appended. */
async function refused(input: Record<string, unknown>): Promise<{ code?: string; reason?: string }> {
  const before = await t.eventCount();
  const { code, reason } = await okr.fails(CARRY, { i: input });
  expect(await t.eventCount()).toBe(before);
  return { code, reason };
}

beforeAll(async () => {
  t = await startTestServer('carryover', '2026-12-15T09:00:00Z');
  okr = new Okr(t);
  const org = await okr.org(['Platform', 'Payments']);
  Object.assign(id, { company: org.company, fn: org.fn, platform: org.teams[0], payments: org.teams[1] });
  await okr.quarter(Q1, '2027-01-01T00:00:00Z', '2027-04-01T00:00:00Z');
  await okr.quarter(Q2, '2027-04-01T00:00:00Z', '2027-07-01T00:00:00Z');
  id.fnObjective = await okr.objective(id.fn, Q1, 'Engineering ships without waiting');
  id.objective = await okr.objective(id.platform, Q1, 'Engineers ship without waiting', { parentId: id.fnObjective, description: 'CI is the bottleneck' });
  id.p95 = await okr.keyResult(id.objective, { title: 'Reduce p95 CI pipeline duration from 42 to under 15 minutes', metric: 'p95 CI duration', unit: 'min', baseline: 42, target: 15 });
  id.flaky = await okr.keyResult(id.objective, { title: 'Reduce flaky reruns from 30% to 5%', metric: 'reruns', unit: '%', baseline: 30, target: 5 });
  id.deploys = await okr.keyResult(id.objective, { title: 'Increase deploys per day from 3 to 10', metric: 'deploys', baseline: 3, target: 10 });
  await okr.commit(id.objective);
  okr.at('2027-02-10T09:00:00Z');
  await okr.checkIn(id.p95, 50, { value: 31 });
  await okr.checkIn(id.flaky, 70, { value: 4 }); // reached its target
  okr.at('2027-03-31T09:00:00Z');
  await okr.ok(`mutation($k: ID!) { recordMeasurement(input: { keyResultId: $k, value: 26.5, source: "ci/p95", at: "2027-03-30T23:00:00Z" }) { id } }`, { k: id.p95 });
  okr.at('2027-04-02T09:00:00Z');
  await okr.score(id.p95, 0.6);
  await okr.score(id.flaky, 1);
  await okr.score(id.deploys, 0.1);
  await okr.retro(id.platform, Q1, 'CI caching was the cheap win', [{ keyResultId: id.p95, calibration: 'RIGHT', note: 'ambitious, nearly there' }]);
  okr.at('2027-04-03T09:00:00Z');
  id.before = okr.now();
  okr.at('2027-04-03T10:00:00Z');
});
afterAll(() => t.close());

describe('carryOverObjective', () => {
  it('drafts the objective in the next quarter with its unfinished key results, from where each metric stands', async () => {
    const { carryOverObjective: carried } = await okr.ok(CARRY, { i: { objectiveId: id.objective, toQuarterId: Q2, idempotencyKey: 'carry-1' } });
    id.carried = carried.id;
    expect(carried).toMatchObject({
      status: 'DRAFT',
      version: 1,
      aspirational: true,
      title: 'Engineers ship without waiting',
      description: 'CI is the bottleneck',
      quarter: { id: Q2 },
      unit: { id: id.platform },
      parent: null, // aligned again in its own quarter
      carriedFrom: { id: id.objective, title: 'Engineers ship without waiting' },
    });
    expect(carried.keyResults).toEqual([
      {
        id: expect.any(String),
        title: 'Reduce p95 CI pipeline duration from 42 to under 15 minutes',
        metric: 'p95 CI duration',
        unit: 'min',
        baseline: 26.5, // the last measured value
        target: 15,
        direction: 'DECREASE',
        kind: 'OUTCOME',
        current: null,
        confidence: null,
        score: null,
        carriedFrom: { id: id.p95, score: 0.6, current: 26.5 },
        carriedCalibration: { calibration: 'RIGHT', note: 'ambitious, nearly there', keyResult: { id: id.p95 } },
      },
      expect.objectContaining({
        title: 'Increase deploys per day from 3 to 10',
        baseline: 3, // never read: the old baseline
        target: 10,
        direction: 'INCREASE',
        carriedFrom: { id: id.deploys, score: 0.1, current: null },
        carriedCalibration: null, // the retrospective did not calibrate it
      }),
    ]);
    // The flaky-reruns key result reached its target: it is not carried.
    id.carriedP95 = carried.keyResults[0].id;
    id.carriedDeploys = carried.keyResults[1].id;
  });

  it('shows the lineage on the old objective too, whose version moved with the link', async () => {
    const { objective } = await okr.ok(LINEAGE, { o: id.objective });
    expect(objective).toEqual({ id: id.objective, version: 3, carriedFrom: null, carriedTo: [{ id: id.carried, quarter: { id: Q2 } }] });
    const { objective: draft } = await okr.ok(LINEAGE, { o: id.carried });
    expect(draft).toEqual({ id: id.carried, version: 1, carriedFrom: { id: id.objective }, carriedTo: [] });
  });

  it('answers the same to the same idempotency key, appending nothing', async () => {
    const before = await t.eventCount();
    const again = await okr.ok(CARRY, { i: { objectiveId: id.objective, toQuarterId: Q2, idempotencyKey: 'carry-1' } });
    expect(again.carryOverObjective.id).toBe(id.carried);
    expect(await t.eventCount()).toBe(before);
  });

  it('carries the calibration as the retrospective stands: a later retrospective travels too', async () => {
    await okr.retro(id.platform, Q1, 'On reflection: deploys were never in our hands', [
      { keyResultId: id.p95, calibration: 'RIGHT' },
      { keyResultId: id.deploys, calibration: 'TOO_HARD', note: 'depends on the release train' },
    ]);
    const { keyResult } = await okr.ok(`query($k: ID!) { keyResult(id: $k) { carriedCalibration { calibration note } } }`, { k: id.carriedDeploys });
    expect(keyResult.carriedCalibration).toEqual({ calibration: 'TOO_HARD', note: 'depends on the release train' });
  });

  it('answers the past as it was: before the carry-over there was no draft and no link', async () => {
    const { objective } = await okr.ok(LINEAGE, { o: id.objective, asOf: id.before });
    expect(objective).toMatchObject({ version: 2, carriedTo: [] });
    expect((await okr.ok(LINEAGE, { o: id.carried, asOf: id.before })).objective).toBeNull();
    const { objectives } = await okr.ok(`query($asOf: DateTime) { objectives(quarterId: "${Q2}", asOf: $asOf) { id } }`, { asOf: id.before });
    expect(objectives).toEqual([]);
  });

  it('lets the team work on the draft like any other', async () => {
    await okr.checkIn(id.carriedP95, 40, { value: 24 });
    await okr.commit(id.carried);
    const { objective } = await okr.ok(`query($o: ID!) { objective(id: $o) { status keyResults { current confidence } } }`, { o: id.carried });
    expect(objective).toEqual({ status: 'COMMITTED', keyResults: [{ current: 24, confidence: 40 }, { current: null, confidence: null }] });
  });

  describe('refusals, each with its reason, appending nothing', () => {
    it('into the same quarter twice', async () => {
      expect(await refused({ objectiveId: id.objective, toQuarterId: Q2 })).toEqual({ code: 'BAD_USER_INPUT', reason: 'ALREADY_CARRIED_OVER' });
    });

    it('into a quarter that does not come later', async () => {
      expect(await refused({ objectiveId: id.carried, toQuarterId: Q1 })).toEqual({ code: 'BAD_USER_INPUT', reason: 'CARRY_OVER_NOT_LATER' });
    });

    it('before the target quarter\'s setting window opened', async () => {
      await okr.quarter('2027-Q3', '2027-07-01T00:00:00Z', '2027-10-01T00:00:00Z');
      expect(await refused({ objectiveId: id.carried, toQuarterId: '2027-Q3' })).toEqual({ code: 'BAD_USER_INPUT', reason: 'CARRY_OVER_BEFORE_SETTING_WINDOW' });
    });

    it('a key result that reached its target, or that is not the objective\'s', async () => {
      const other = await okr.objective(id.platform, Q1, 'Calm on-call');
      const pages = await okr.keyResult(other, { title: 'Cut pages per week from 10 to 5', metric: 'pages', baseline: 10, target: 5 });
      await okr.ok(`mutation($k: ID!) { recordMeasurement(input: { keyResultId: $k, value: 4, source: "pagerduty", at: "2027-03-31T12:00:00Z" }) { id } }`, { k: pages });
      expect(await refused({ objectiveId: other, toQuarterId: Q2, keyResultIds: [pages] })).toEqual({ code: 'BAD_USER_INPUT', reason: 'KEY_RESULT_TARGET_REACHED' });
      expect(await refused({ objectiveId: other, toQuarterId: Q2, keyResultIds: [id.flaky] })).toEqual({ code: 'BAD_USER_INPUT', reason: 'KEY_RESULT_NOT_IN_OBJECTIVE' });
      id.other = other;
    });

    it('an unknown objective or quarter, a retired objective, a versioned id', async () => {
      expect(await refused({ objectiveId: 'no-such-objective', toQuarterId: Q2 })).toEqual({ code: 'NOT_FOUND', reason: 'OBJECTIVE_NOT_FOUND' });
      expect(await refused({ objectiveId: id.other, toQuarterId: '2030-Q1' })).toEqual({ code: 'NOT_FOUND', reason: 'QUARTER_NOT_FOUND' });
      await okr.retire(id.other, 'Merged into the CI objective');
      expect(await refused({ objectiveId: id.other, toQuarterId: Q2 })).toEqual({ code: 'BAD_USER_INPUT', reason: 'OBJECTIVE_RETIRED' });
      expect(await refused({ objectiveId: `${id.objective}@${id.before}`, toQuarterId: Q2 })).toEqual({ code: 'BAD_USER_INPUT', reason: 'HISTORICAL_ID' });
    });

    it('a stale expectedVersion', async () => {
      const fresh = await okr.objective(id.payments, Q1, 'Payments that never fail');
      const before = await t.eventCount();
      const res = await t.gql(CARRY, { i: { objectiveId: fresh, toQuarterId: Q2, expectedVersion: 7 } });
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', streamId: `objective-${fresh}`, actualVersion: 1 });
      expect(await t.eventCount()).toBe(before);
      // With the version it is at, it goes through.
      expect((await t.gql(CARRY, { i: { objectiveId: fresh, toQuarterId: Q2, expectedVersion: 1 } })).errors).toBeUndefined();
    });
  });

  it('refuses a reused idempotency key for another carry-over', async () => {
    const fresh = await okr.objective(id.payments, Q1, 'Refunds arrive when promised');
    expect(await refused({ objectiveId: fresh, toQuarterId: Q2, idempotencyKey: 'carry-1' })).toEqual({ code: 'BAD_USER_INPUT', reason: 'IDEMPOTENCY_KEY_REUSED' });
  });
});
