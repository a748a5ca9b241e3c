import { startTestServer, type TestServer } from '../support/server';

/**
 * A whole quarter for one team over real HTTP, from planning to scoring, retirement and closing,
 * with every rejection the product promises (and proof that a rejected call appended nothing).
 */

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer('e2equarter');
});
afterAll(() => t.close());

const ids: Record<string, string> = {};

async function ok<T = any>(query: string, variables?: Record<string, unknown>): Promise<T> {
  const res = await t.gql(query, variables);
  if (res.errors?.length) throw new Error(`unexpected errors: ${JSON.stringify(res.errors)}`);
  return res.data as T;
}

/** Asserts the call is rejected with `code` (and `reason`), and that the log did not grow. */
async function rejected(query: string, variables: Record<string, unknown>, code: string, reason?: string) {
  const before = await t.eventCount();
  const res = await t.gql(query, variables);
  expect(res.errors?.[0]?.extensions?.code).toBe(code);
  if (reason) expect(res.errors?.[0]?.extensions?.reason).toBe(reason);
  expect(JSON.stringify(res.errors)).not.toMatch(/\bat .*\.ts:\d+|SELECT|INSERT|stacktrace/i);
  expect(await t.eventCount()).toBe(before);
  return res;
}

const REGISTER = `mutation($input: RegisterUnitInput!) { registerUnit(input: $input) { id name level parent { id } } }`;
const DRAFT = `mutation($input: DraftObjectiveInput!) { draftObjective(input: $input) { id status version aspirational parent { id } } }`;
const DEFINE = `mutation($input: DefineKeyResultInput!) { defineKeyResult(input: $input) { id direction kind baseline target version } }`;
const CHECK_IN = `mutation($input: RecordCheckInInput!) { recordCheckIn(input: $input) { id current confidence version checkIns { asOf recordedAt confidence value author } } }`;
const SCORE = `mutation($input: ScoreKeyResultInput!) { scoreKeyResult(input: $input) { score version objective { status score } } }`;
const ALIGN = `mutation($input: AlignObjectiveInput!) { alignObjective(input: $input) { id parent { id } version } }`;
const REFINE = `mutation($input: RefineObjectiveInput!) { refineObjective(input: $input) { title description version } }`;
const COMMIT = `mutation($input: CommitObjectiveInput!) { commitObjective(input: $input) { status version } }`;
const RETIRE = `mutation($input: RetireObjectiveInput!) { retireObjective(input: $input) { status } }`;
const REVISE = `mutation($input: ReviseKeyResultInput!) { reviseKeyResult(input: $input) { target baseline version } }`;
const PHASE = `query($id: ID!) { quarter(id: $id) { phase } }`;

describe('planning: units and the quarter', () => {
  it('registers a company, functions and a team', async () => {
    ids.company = (await ok(REGISTER, { input: { name: 'Acme', level: 'COMPANY' } })).registerUnit.id;
    ids.engineering = (await ok(REGISTER, { input: { name: 'Engineering', level: 'FUNCTION', parentId: ids.company } })).registerUnit.id;
    const team = (await ok(REGISTER, { input: { name: 'Payments', level: 'TEAM', parentId: ids.engineering } })).registerUnit;
    ids.team = team.id;
    expect(team).toMatchObject({ name: 'Payments', level: 'TEAM', parent: { id: ids.engineering } });
    const tree = await ok(`{ units { name children { name } } }`);
    expect(tree.units.map((u: { name: string }) => u.name)).toEqual(['Acme', 'Engineering', 'Payments']);
    expect(tree.units[0].children).toEqual([{ name: 'Engineering' }]);
  });

  it('rejects a parent unit of the wrong level, and unknown parents', async () => {
    await rejected(REGISTER, { input: { name: 'Squad', level: 'TEAM', parentId: ids.company } }, 'BAD_USER_INPUT', 'PARENT_LEVEL_INVALID');
    await rejected(REGISTER, { input: { name: 'Ops', level: 'FUNCTION', parentId: ids.team } }, 'BAD_USER_INPUT', 'PARENT_LEVEL_INVALID');
    await rejected(REGISTER, { input: { name: 'Other', level: 'COMPANY', parentId: ids.company } }, 'BAD_USER_INPUT', 'PARENT_LEVEL_INVALID');
    await rejected(REGISTER, { input: { name: 'Orphan', level: 'TEAM' } }, 'BAD_USER_INPUT', 'PARENT_REQUIRED');
    await rejected(REGISTER, { input: { name: 'Ghost', level: 'TEAM', parentId: 'no-such-unit' } }, 'NOT_FOUND', 'UNIT_NOT_FOUND');
    await rejected(REGISTER, { input: { name: '   ', level: 'COMPANY' } }, 'BAD_USER_INPUT', 'NAME_EMPTY');
    await rejected(REGISTER, { input: { name: 'x'.repeat(121), level: 'COMPANY' } }, 'BAD_USER_INPUT', 'NAME_TOO_LONG');
    await rejected(REGISTER, { input: { name: 'Bad level', level: 'SQUAD' } }, 'BAD_USER_INPUT');
  });

  it('plans 2027-Q1 with a three-week setting window, and derives the phase from the clock', async () => {
    const q = await ok(
      `mutation { planQuarter(input: { id: "2027-Q1", startsOn: "2027-01-01T00:00:00Z", endsOn: "2027-04-01T00:00:00Z" }) { id settingOpensOn phase } }`,
    );
    expect(q.planQuarter).toEqual({ id: '2027-Q1', settingOpensOn: '2026-12-11T00:00:00.000Z', phase: 'PLANNED' });
    await rejected(
      `mutation($i: PlanQuarterInput!) { planQuarter(input: $i) { id } }`,
      { i: { id: '2027-Q1', startsOn: '2027-01-01T00:00:00Z', endsOn: '2027-04-01T00:00:00Z' } },
      'BAD_USER_INPUT',
      'QUARTER_EXISTS',
    );
    await rejected(
      `mutation($i: PlanQuarterInput!) { planQuarter(input: $i) { id } }`,
      { i: { id: '2027-Q2', startsOn: '2027-07-01T00:00:00Z', endsOn: '2027-04-01T00:00:00Z' } },
      'BAD_USER_INPUT',
      'QUARTER_DATES_INVALID',
    );
    await rejected(
      `mutation($i: PlanQuarterInput!) { planQuarter(input: $i) { id } }`,
      { i: { id: '2027-Q2', startsOn: 'next tuesday', endsOn: '2027-04-01T00:00:00Z' } },
      'BAD_USER_INPUT',
    );
  });
});

describe('setting: drafting, aligning, key results, committing', () => {
  beforeAll(() => t.clock.set('2026-12-15T10:00:00Z'));

  it('is in the SETTING phase', async () => {
    expect((await ok(PHASE, { id: '2027-Q1' })).quarter.phase).toBe('SETTING');
  });

  it('drafts company, function and team objectives aligned upward', async () => {
    ids.companyObjective = (await ok(DRAFT, { input: { unitId: ids.company, quarterId: '2027-Q1', title: 'Customers trust our payments' } })).draftObjective.id;
    ids.functionObjective = (
      await ok(DRAFT, { input: { unitId: ids.engineering, quarterId: '2027-Q1', title: 'Improve the reliability of our core payment service', parentId: ids.companyObjective } })
    ).draftObjective.id;
    const team = (await ok(DRAFT, { input: { unitId: ids.team, quarterId: '2027-Q1', title: 'Make payment failures rare', description: 'draft' } })).draftObjective;
    ids.objective = team.id;
    expect(team).toMatchObject({ status: 'DRAFT', version: 1, aspirational: true, parent: null });
    const aligned = (await ok(ALIGN, { input: { id: ids.objective, parentId: ids.functionObjective, expectedVersion: 1 } })).alignObjective;
    expect(aligned).toEqual({ id: ids.objective, parent: { id: ids.functionObjective }, version: 2 });
    const contributors = await ok(`query($id: ID!) { objective(id: $id) { contributors { id } } }`, { id: ids.functionObjective });
    expect(contributors.objective.contributors).toEqual([{ id: ids.objective }]);
  });

  it('rejects alignment to itself, to the same or a lower level, in a cycle, and to unknown objectives', async () => {
    await rejected(ALIGN, { input: { id: ids.objective, parentId: ids.objective } }, 'BAD_USER_INPUT', 'ALIGN_TO_SELF');
    const sibling = (await ok(DRAFT, { input: { unitId: ids.team, quarterId: '2027-Q1', title: 'Speed up payment reviews' } })).draftObjective.id;
    ids.sibling = sibling;
    await rejected(ALIGN, { input: { id: ids.objective, parentId: sibling } }, 'BAD_USER_INPUT', 'ALIGN_LEVEL_INVALID');
    // company -> function would close the loop company <- function: refused (a lower level, and a cycle)
    await rejected(ALIGN, { input: { id: ids.companyObjective, parentId: ids.functionObjective } }, 'BAD_USER_INPUT', 'ALIGN_LEVEL_INVALID');
    await rejected(ALIGN, { input: { id: ids.objective, parentId: 'no-such-objective' } }, 'NOT_FOUND', 'OBJECTIVE_NOT_FOUND');
    await rejected(ALIGN, { input: { id: 'no-such-objective', parentId: ids.functionObjective } }, 'NOT_FOUND', 'OBJECTIVE_NOT_FOUND');
  });

  it('rejects objectives for unknown units or quarters, and empty or oversized titles', async () => {
    await rejected(DRAFT, { input: { unitId: 'nope', quarterId: '2027-Q1', title: 'x' } }, 'NOT_FOUND', 'UNIT_NOT_FOUND');
    await rejected(DRAFT, { input: { unitId: ids.team, quarterId: '2031-Q4', title: 'x' } }, 'NOT_FOUND', 'QUARTER_NOT_FOUND');
    await rejected(DRAFT, { input: { unitId: ids.team, quarterId: '2027-Q1', title: '' } }, 'BAD_USER_INPUT', 'TITLE_EMPTY');
    await rejected(DRAFT, { input: { unitId: ids.team, quarterId: '2027-Q1', title: 'x'.repeat(201) } }, 'BAD_USER_INPUT', 'TITLE_TOO_LONG');
  });

  it('defines outcome key results with a metric, a baseline and a target', async () => {
    const kr = (
      await ok(DEFINE, {
        input: { objectiveId: ids.objective, title: 'Reduce 5xx error rate on the payment service from 0.8% to below 0.2%', metric: '5xx error rate', unit: '%', baseline: 0.8, target: 0.2 },
      })
    ).defineKeyResult;
    ids.kr = kr.id;
    expect(kr).toMatchObject({ direction: 'DECREASE', kind: 'OUTCOME', baseline: 0.8, target: 0.2, version: 1 });
    ids.kr2 = (
      await ok(DEFINE, {
        input: { objectiveId: ids.objective, title: 'Achieve 99.9% payment service availability, up from 99.5%', metric: 'availability', unit: '%', baseline: 99.5, target: 99.9, direction: 'INCREASE' },
      })
    ).defineKeyResult.id;
    ids.siblingKr = (
      await ok(DEFINE, { input: { objectiveId: ids.sibling, title: 'Cut review time from 3 days to 1', metric: 'review days', baseline: 3, target: 1 } })
    ).defineKeyResult.id;
  });

  it('rejects key results without a metric, a baseline or a target, or that cannot be measured', async () => {
    const base = { objectiveId: ids.objective, title: 'Reduce p95 latency', metric: 'p95 ms', baseline: 300, target: 200 };
    await rejected(DEFINE, { input: { ...base, metric: '  ' } }, 'BAD_USER_INPUT', 'METRIC_EMPTY');
    const { baseline: _b, ...noBaseline } = base;
    await rejected(DEFINE, { input: noBaseline }, 'BAD_USER_INPUT');
    const { target: _t, ...noTarget } = base;
    await rejected(DEFINE, { input: noTarget }, 'BAD_USER_INPUT');
    await rejected(DEFINE, { input: { ...base, target: 300 } }, 'BAD_USER_INPUT', 'TARGET_EQUALS_BASELINE');
    await rejected(DEFINE, { input: { ...base, direction: 'INCREASE' } }, 'BAD_USER_INPUT', 'DIRECTION_CONTRADICTS_TARGET');
    await rejected(DEFINE, { input: { ...base, objectiveId: 'missing' } }, 'NOT_FOUND', 'OBJECTIVE_NOT_FOUND');
    await rejected(DEFINE, { input: { ...base, baseline: 1e300 } }, 'BAD_USER_INPUT', 'BASELINE_OUT_OF_RANGE');
    await rejected(DEFINE, { input: { ...base, title: 'x'.repeat(301) } }, 'BAD_USER_INPUT', 'TITLE_TOO_LONG');
  });

  it('refines and commits, with optimistic concurrency on the version', async () => {
    const refined = (await ok(REFINE, { input: { id: ids.objective, description: 'Fewer failed payments, fewer angry customers', expectedVersion: 2 } })).refineObjective;
    expect(refined).toMatchObject({ title: 'Make payment failures rare', version: 3 });
    await rejected(COMMIT, { input: { id: ids.objective, expectedVersion: 2 } }, 'CONFLICT');
    const committed = (await ok(COMMIT, { input: { id: ids.objective, expectedVersion: 3 } })).commitObjective;
    expect(committed).toEqual({ status: 'COMMITTED', version: 4 });
  });
});

describe('the quarter runs: check-ins, revisions, retirement', () => {
  beforeAll(() => t.clock.set('2027-01-14T09:00:00Z'));

  it('records check-ins; the latest by effective date is current, back-dated ones land in place', async () => {
    expect((await ok(PHASE, { id: '2027-Q1' })).quarter.phase).toBe('ACTIVE');
    await ok(CHECK_IN, { input: { keyResultId: ids.kr, confidence: 60, value: 0.7, whatChanged: 'Retries added', blockers: 'Vendor SDK' } });
    t.clock.advanceDays(14);
    const second = (await ok(CHECK_IN, { input: { keyResultId: ids.kr, confidence: 70, value: 0.5 } })).recordCheckIn;
    expect(second).toMatchObject({ current: 0.5, confidence: 70, version: 3 });
    const backdated = (await ok(CHECK_IN, { input: { keyResultId: ids.kr, confidence: 40, value: 0.75, asOf: '2027-01-07T09:00:00Z' } })).recordCheckIn;
    expect(backdated).toMatchObject({ current: 0.5, confidence: 70, version: 4 });
    expect(backdated.checkIns.map((c: { confidence: number }) => c.confidence)).toEqual([40, 60, 70]);
    expect(backdated.checkIns[0]).toMatchObject({ asOf: '2027-01-07T09:00:00.000Z', recordedAt: '2027-01-28T09:00:00.000Z', author: 'alice' });
  });

  it('rejects bad check-ins: confidence outside 0-100 or not whole, non-finite values, future readings', async () => {
    await rejected(CHECK_IN, { input: { keyResultId: ids.kr, confidence: 101 } }, 'BAD_USER_INPUT', 'CONFIDENCE_OUT_OF_RANGE');
    await rejected(CHECK_IN, { input: { keyResultId: ids.kr, confidence: -1 } }, 'BAD_USER_INPUT', 'CONFIDENCE_OUT_OF_RANGE');
    await rejected(CHECK_IN, { input: { keyResultId: ids.kr, confidence: 50.5 } }, 'BAD_USER_INPUT');
    await rejected(CHECK_IN, { input: { keyResultId: ids.kr, confidence: 50, value: 1e16 } }, 'BAD_USER_INPUT', 'VALUE_OUT_OF_RANGE');
    const before = await t.eventCount();
    const raw = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `{"query":"mutation($i: RecordCheckInInput!) { recordCheckIn(input: $i) { id } }","variables":{"i":{"keyResultId":"${ids.kr}","confidence":50,"value":1e400}}}`,
    });
    const body = (await raw.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0]?.extensions.code).toBe('BAD_USER_INPUT');
    expect(await t.eventCount()).toBe(before);
    await rejected(CHECK_IN, { input: { keyResultId: ids.kr, confidence: 50, asOf: '2027-06-01T00:00:00Z' } }, 'BAD_USER_INPUT', 'CHECK_IN_IN_FUTURE');
    await rejected(CHECK_IN, { input: { keyResultId: 'missing', confidence: 50 } }, 'NOT_FOUND', 'KEY_RESULT_NOT_FOUND');
    await rejected(CHECK_IN, { input: { keyResultId: ids.kr, confidence: 50, blockers: 'b'.repeat(4001) } }, 'BAD_USER_INPUT', 'BLOCKERS_TOO_LONG');
  });

  it('revises a target with a reason, keeping the change in the key result', async () => {
    const revised = (await ok(REVISE, { input: { id: ids.kr, reason: 'Vendor outage budget agreed', target: 0.3 } })).reviseKeyResult;
    expect(revised).toMatchObject({ target: 0.3, baseline: 0.8 });
    await rejected(REVISE, { input: { id: ids.kr, reason: 'oops', target: 0.8 } }, 'BAD_USER_INPUT', 'TARGET_EQUALS_BASELINE');
    await rejected(REVISE, { input: { id: ids.kr, reason: 'flip', target: 0.9 } }, 'BAD_USER_INPUT', 'DIRECTION_CONTRADICTS_TARGET');
    await rejected(REVISE, { input: { id: ids.kr, reason: ' ', target: 0.25 } }, 'BAD_USER_INPUT', 'REASON_EMPTY');
  });

  it('makes a retried command with the same idempotency key append nothing and answer the same', async () => {
    const input = { keyResultId: ids.kr2, confidence: 55, value: 99.6, idempotencyKey: 'checkin-kr2-w4' };
    const first = (await ok(CHECK_IN, { input })).recordCheckIn;
    const count = await t.eventCount();
    const again = (await ok(CHECK_IN, { input })).recordCheckIn;
    expect(again).toEqual(first);
    expect(await t.eventCount()).toBe(count);
    await rejected(CHECK_IN, { input: { ...input, confidence: 56 } }, 'BAD_USER_INPUT', 'IDEMPOTENCY_KEY_REUSED');
  });

  it('retires an objective; its key results then refuse check-ins and scores', async () => {
    await rejected(RETIRE, { input: { id: ids.sibling, reason: '' } }, 'BAD_USER_INPUT', 'REASON_EMPTY');
    expect((await ok(RETIRE, { input: { id: ids.sibling, reason: 'Superseded by the reliability work' } })).retireObjective.status).toBe('RETIRED');
    await rejected(CHECK_IN, { input: { keyResultId: ids.siblingKr, confidence: 50 } }, 'BAD_USER_INPUT', 'OBJECTIVE_RETIRED');
    await rejected(SCORE, { input: { keyResultId: ids.siblingKr, score: 0.5 } }, 'BAD_USER_INPUT', 'OBJECTIVE_RETIRED');
    await rejected(RETIRE, { input: { id: ids.sibling, reason: 'again' } }, 'BAD_USER_INPUT', 'OBJECTIVE_RETIRED');
  });
});

describe('scoring, retrospective, effort, closing', () => {
  beforeAll(() => t.clock.set('2027-04-03T09:00:00Z'));

  it('scores key results 0-1; the objective is SCORED with their mean once all are scored', async () => {
    expect((await ok(PHASE, { id: '2027-Q1' })).quarter.phase).toBe('SCORING');
    await rejected(SCORE, { input: { keyResultId: ids.kr, score: 1.2 } }, 'BAD_USER_INPUT', 'SCORE_OUT_OF_RANGE');
    await rejected(SCORE, { input: { keyResultId: ids.kr, score: -0.1 } }, 'BAD_USER_INPUT', 'SCORE_OUT_OF_RANGE');
    const first = (await ok(SCORE, { input: { keyResultId: ids.kr, score: 0.6 } })).scoreKeyResult;
    expect(first.objective).toEqual({ status: 'COMMITTED', score: null });
    const second = (await ok(SCORE, { input: { keyResultId: ids.kr2, score: 0.8 } })).scoreKeyResult;
    expect(second.objective.status).toBe('SCORED');
    expect(second.objective.score).toBeCloseTo(0.7);
  });

  it('treats scoring twice as a correction: needs a note, and both scores stay in the log', async () => {
    await rejected(SCORE, { input: { keyResultId: ids.kr, score: 0.7 } }, 'BAD_USER_INPUT', 'CORRECTION_NEEDS_NOTE');
    const corrected = (await ok(SCORE, { input: { keyResultId: ids.kr, score: 0.7, note: 'Used the final March numbers' } })).scoreKeyResult;
    expect(corrected.score).toBe(0.7);
    expect(corrected.objective.score).toBeCloseTo(0.75);
    const rows = await t.db.sql.query<{ data: { score: number; previousScore: number | null } }>(
      "SELECT data FROM okr_events WHERE type = 'KeyResultScored' AND stream_id = ? ORDER BY position",
      [`keyResult-${ids.kr}`],
    );
    expect(rows.map((r) => [r.data.score, r.data.previousScore])).toEqual([[0.6, null], [0.7, 0.6]]);
  });

  it('records the retrospective with calibrations and logs process effort against the budget', async () => {
    const retro = await ok(
      `mutation($i: RecordRetrospectiveInput!) { recordRetrospective(input: $i) { learnings unit { name } quarter { id } calibrations { calibration note keyResult { id } } } }`,
      { i: { unitId: ids.team, quarterId: '2027-Q1', learnings: 'Retries were the cheap win', calibrations: [{ keyResultId: ids.kr, calibration: 'RIGHT', note: 'ok' }] } },
    );
    expect(retro.recordRetrospective).toEqual({
      learnings: 'Retries were the cheap win',
      unit: { name: 'Payments' },
      quarter: { id: '2027-Q1' },
      calibrations: [{ calibration: 'RIGHT', note: 'ok', keyResult: { id: ids.kr } }],
    });
    const listed = await ok(`query { retrospectives(quarterId: "2027-Q1") { unit { id } learnings } }`);
    expect(listed.retrospectives).toEqual([{ unit: { id: ids.team }, learnings: 'Retries were the cheap win' }]);
    await rejected(
      `mutation($i: RecordRetrospectiveInput!) { recordRetrospective(input: $i) { learnings } }`,
      { i: { unitId: ids.engineering, quarterId: '2027-Q1', learnings: 'x', calibrations: [{ keyResultId: ids.kr, calibration: 'RIGHT' }] } },
      'BAD_USER_INPUT',
      'CALIBRATION_OUTSIDE_RETROSPECTIVE',
    );

    const LOG = `mutation($i: LogProcessEffortInput!) { logProcessEffort(input: $i) { personDays budgetPersonDays overBudget checkIns unit { name } byActivity { activity personDays } } }`;
    await ok(LOG, { i: { unitId: ids.team, quarterId: '2027-Q1', activity: 'SETTING', personDays: 1.5 } });
    await ok(LOG, { i: { unitId: ids.team, quarterId: '2027-Q1', activity: 'CHECK_IN', personDays: 1.2 } });
    const audit = (await ok(LOG, { i: { unitId: ids.team, quarterId: '2027-Q1', activity: 'RETROSPECTIVE', personDays: 0.5 } })).logProcessEffort;
    expect(audit).toMatchObject({ personDays: 3.2, budgetPersonDays: 4, overBudget: false, checkIns: 4, unit: { name: 'Payments' } });
    expect(audit.byActivity).toEqual([
      { activity: 'SETTING', personDays: 1.5 },
      { activity: 'CHECK_IN', personDays: 1.2 },
      { activity: 'SCORING', personDays: 0 },
      { activity: 'RETROSPECTIVE', personDays: 0.5 },
    ]);
    const over = (await ok(LOG, { i: { unitId: ids.team, quarterId: '2027-Q1', activity: 'SCORING', personDays: 1 } })).logProcessEffort;
    expect(over).toMatchObject({ personDays: 4.2, overBudget: true });
    await rejected(LOG, { i: { unitId: ids.team, quarterId: '2027-Q1', activity: 'SCORING', personDays: 0 } }, 'BAD_USER_INPUT', 'PERSON_DAYS_OUT_OF_RANGE');
    await rejected(LOG, { i: { unitId: ids.team, quarterId: '2027-Q1', activity: 'SCORING', personDays: -1 } }, 'BAD_USER_INPUT', 'PERSON_DAYS_OUT_OF_RANGE');
  });

  it('closes the quarter; afterwards no objective or key result of it can change', async () => {
    const closed = await ok(`mutation { closeQuarter(id: "2027-Q1") { id phase } }`);
    expect(closed.closeQuarter).toEqual({ id: '2027-Q1', phase: 'CLOSED' });
    await rejected(`mutation { closeQuarter(id: "2027-Q1") { id } }`, {}, 'BAD_USER_INPUT', 'QUARTER_CLOSED');
    await rejected(CHECK_IN, { input: { keyResultId: ids.kr, confidence: 50 } }, 'BAD_USER_INPUT', 'QUARTER_CLOSED');
    await rejected(SCORE, { input: { keyResultId: ids.kr, score: 0.9, note: 'late' } }, 'BAD_USER_INPUT', 'QUARTER_CLOSED');
    await rejected(REVISE, { input: { id: ids.kr, reason: 'late', target: 0.1 } }, 'BAD_USER_INPUT', 'QUARTER_CLOSED');
    await rejected(DEFINE, { input: { objectiveId: ids.objective, title: 'late', metric: 'm', baseline: 1, target: 2 } }, 'BAD_USER_INPUT', 'QUARTER_CLOSED');
    await rejected(DRAFT, { input: { unitId: ids.team, quarterId: '2027-Q1', title: 'late' } }, 'BAD_USER_INPUT', 'QUARTER_CLOSED');
    await rejected(REFINE, { input: { id: ids.objective, title: 'late' } }, 'BAD_USER_INPUT', 'QUARTER_CLOSED');
    await rejected(ALIGN, { input: { id: ids.objective, parentId: null } }, 'BAD_USER_INPUT', 'QUARTER_CLOSED');
    await rejected(COMMIT, { input: { id: ids.objective } }, 'BAD_USER_INPUT', 'QUARTER_CLOSED');
    await rejected(RETIRE, { input: { id: ids.objective, reason: 'late' } }, 'BAD_USER_INPUT', 'QUARTER_CLOSED');
  });

  it("answers the team's quarter query with objectives, key results and latest confidence", async () => {
    const view = await ok(
      `query($q: ID!, $u: ID) { objectives(quarterId: $q, unitId: $u) { title status score parent { title } unit { name } quarter { phase }
         keyResults { title current confidence score checkIns { confidence } } } }`,
      { q: '2027-Q1', u: ids.team },
    );
    expect(view.objectives).toHaveLength(2);
    const [main, retired] = view.objectives;
    expect(main).toMatchObject({ status: 'SCORED', parent: { title: 'Improve the reliability of our core payment service' }, unit: { name: 'Payments' }, quarter: { phase: 'CLOSED' } });
    expect(main.keyResults.map((k: { confidence: number }) => k.confidence)).toEqual([70, 55]);
    expect(main.keyResults[0].checkIns).toHaveLength(3);
    expect(retired.status).toBe('RETIRED');
  });

  it('verifies the whole quarter\'s log against its hash chain', async () => {
    const res = await t.gql(`{ verifyAuditLog { ok eventsChecked firstBrokenPosition reason } }`);
    expect(res.data?.verifyAuditLog).toEqual({ ok: true, eventsChecked: await t.eventCount(), firstBrokenPosition: null, reason: null });
  });
});
