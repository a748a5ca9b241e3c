import { Okr } from '../support/okr';
import { startTestServer, type TestServer } from '../support/server';
import { versionedAt, versionedId } from '../support/versioned';

/**
 * The key property of the quarter-history release, over HTTP against the real server:
 *
 *   Every query with asOf answers exactly what the same query would have answered at that instant.
 *
 * A whole quarter runs on the controlled clock. At several moments (before the quarter, setting,
 * active, scoring, closed) the live answers of every history-capable query are stored; the clock
 * always moves on before the next command. At the end every query is asked again with asOf: T and
 * must equal, field for field, what was stored at T, except that every id in it names the object as it
 * was at T (`<id>@<T>`, see ../support/versioned.ts), so a client cache never mistakes it for today's.
 * Back-dating is bitemporal: a reading recorded after T about a moment before T changes today's
 * picture of the past, never the answer as of T.
 */

let t: TestServer;
let okr: Okr;
beforeAll(async () => {
  t = await startTestServer('e2ereplay', '2026-12-01T09:00:00Z');
  okr = new Okr(t);
});
afterAll(() => t.close());

const Q = '2027-Q1';
/** Filled as the quarter runs; variablesOf checks which exist yet, so this is a plain object. */
const ids: Record<string, any> = {};

// ---- the queries, each with an asOf variable (null: live) --------------------------------------

const KEY_RESULT_FIELDS = `
  id title metric unit baseline target direction kind current confidence score scoredAt scoredTarget
  originalBaseline originalTarget version
  revisions { at actor reason changes { field from to } }
  checkIns { asOf recordedAt confidence value whatChanged blockers author }`;

const OBJECTIVE_FIELDS = `
  id title description aspirational status score version
  parent { id title status }
  contributors { id title status }
  unit { id name level checkInCadence parent { id name children { id name } } }
  quarter { id phase startsOn endsOn settingOpensOn }
  keyResults { ${KEY_RESULT_FIELDS} objective { id } }`;

const QUERIES = {
  teamObjectives: `query($q: ID!, $u: ID, $asOf: DateTime) { objectives(quarterId: $q, unitId: $u, asOf: $asOf) { ${OBJECTIVE_FIELDS} } }`,
  allObjectives: `query($q: ID!, $asOf: DateTime) { objectives(quarterId: $q, asOf: $asOf) {
    id title status score version parent { id } contributors { id } unit { id name } quarter { phase } keyResults { id confidence current score } } }`,
  objective: `query($id: ID!, $asOf: DateTime) { objective(id: $id, asOf: $asOf) { ${OBJECTIVE_FIELDS} } }`,
  keyResult: `query($id: ID!, $asOf: DateTime) { keyResult(id: $id, asOf: $asOf) {
    ${KEY_RESULT_FIELDS} objective { id title status score quarter { phase } unit { name } } } }`,
  confidenceTrends: `query($q: ID!, $asOf: DateTime) { confidenceTrends(quarterId: $q, asOf: $asOf) {
    keyResult { id title confidence current score objective { id status } }
    points { at recordedAt confidence value backdated correction superseded }
    calibration { keyResult { id } lastConfidence score gap } } }`,
  teamConfidence: `query($q: ID!, $u: ID!, $asOf: DateTime) { teamConfidence(quarterId: $q, unitId: $u, asOf: $asOf) { weekStarting meanConfidence checkIns } }`,
  confidenceCalibration: `query($q: ID!, $asOf: DateTime) { confidenceCalibration(quarterId: $q, asOf: $asOf) {
    unit { id name checkInCadence } meanGap meanAbsoluteGap keyResults { keyResult { id score } lastConfidence score gap } } }`,
  effortAudit: `query($q: ID!, $asOf: DateTime) { effortAudit(quarterId: $q, asOf: $asOf) {
    unit { id name checkInCadence children { id name } } quarter { id phase } personDays budgetPersonDays overBudget byActivity { activity personDays }
    checkIns daysToLastCommit lastCommittedAt retrospectiveRecorded } }`,
  health: `query($q: ID!, $asOf: DateTime) { health(quarterId: $q, asOf: $asOf) { rule severity message subjectId } }`,
} as const;

type QueryName = keyof typeof QUERIES;

/** The variables of each query (without asOf); ids are known once their objects exist. */
function variablesOf(name: QueryName): Record<string, unknown> | null {
  switch (name) {
    case 'teamObjectives':
      return { q: Q, u: ids.payments };
    case 'objective':
      return ids.objectiveA ? { id: ids.objectiveA } : null;
    case 'keyResult':
      return ids.kr1 ? { id: ids.kr1 } : null;
    case 'teamConfidence':
      return { q: Q, u: ids.engineering };
    default:
      return { q: Q };
  }
}

const QUERY_NAMES = Object.keys(QUERIES) as QueryName[];

async function ask(name: QueryName, asOf: string | null): Promise<unknown> {
  const variables = variablesOf(name);
  if (variables === null) throw new Error(`${name} has no subject yet`);
  const data = await okr.ok(QUERIES[name], { ...variables, asOf });
  return data;
}

interface Moment {
  at: string;
  phase: string | null;
  answers: Partial<Record<QueryName, unknown>>;
}

const MOMENTS = ['T0 units only', 'T1 setting', 'T2 active', 'T3 active', 'T4 active', 'T5 scoring', 'T6 closed'] as const;
type MomentName = (typeof MOMENTS)[number];
const captured = new Map<MomentName, Moment>();

/** Stores the live answer of every query that has a subject yet, at the clock's instant. */
async function capture(name: MomentName, phase: string | null): Promise<Moment> {
  const at = okr.now();
  const answers: Moment['answers'] = {};
  for (const q of QUERY_NAMES) {
    if (variablesOf(q) === null) continue;
    answers[q] = await ask(q, null);
  }
  const moment = { at, phase, answers };
  captured.set(name, moment);
  return moment;
}

function answer<T = any>(moment: MomentName, query: QueryName): T {
  const m = captured.get(moment);
  if (!m) throw new Error(`moment ${moment} was not captured`);
  return m.answers[query] as T;
}

// ---- the quarter ------------------------------------------------------------------------------

describe('a quarter on the controlled clock, with live answers captured at each moment', () => {
  it('T0: units exist, the quarter does not', async () => {
    ids.company = await okr.unit('Acme', 'COMPANY');
    ids.engineering = await okr.unit('Engineering', 'FUNCTION', ids.company);
    ids.payments = await okr.unit('Payments', 'TEAM', ids.engineering);
    ids.checkout = await okr.unit('Checkout', 'TEAM', ids.engineering);
    ids.sales = await okr.unit('Sales', 'FUNCTION', ids.company);
    ids.growth = await okr.unit('Growth', 'TEAM', ids.sales);
    expect(await okr.cadence(ids.checkout, 'MONTHLY')).toBe('MONTHLY');

    okr.at('2026-12-01T09:30:00Z');
    const m = await capture('T0 units only', null);
    expect(m.answers.teamObjectives).toEqual({ objectives: [] });
    expect(m.answers.health).toEqual({ health: [] });
    expect(m.answers.effortAudit).toEqual({ effortAudit: [] });

    okr.at('2026-12-01T10:00:00Z');
    await okr.quarter(Q, '2027-01-01T00:00:00Z', '2027-04-01T00:00:00Z');
  });

  it('T1 (setting): objectives drafted, aligned, key results defined, some committed', async () => {
    okr.at('2026-12-12T10:00:00Z');
    ids.companyObjective = await okr.objective(ids.company, Q, 'Customers trust our payments');
    ids.functionObjective = await okr.objective(ids.engineering, Q, 'Improve the reliability of our core payment service', {
      parentId: ids.companyObjective,
    });
    await okr.commit(ids.companyObjective);
    await okr.commit(ids.functionObjective);
    ids.objectiveA = await okr.objective(ids.payments, Q, 'Make payment failures rare', { description: 'draft' });
    ids.kr1 = await okr.keyResult(ids.objectiveA, {
      title: 'Reduce 5xx error rate on the payment service from 0.8% to below 0.2%',
      metric: '5xx error rate',
      unit: '%',
      baseline: 0.8,
      target: 0.2,
    });
    ids.kr2 = await okr.keyResult(ids.objectiveA, {
      title: 'Raise payment availability from 99.5% to 99.9%',
      metric: 'availability',
      unit: '%',
      baseline: 99.5,
      target: 99.9,
    });
    ids.objectiveB = await okr.objective(ids.payments, Q, 'Speed up payment reviews', { parentId: ids.functionObjective });
    ids.krB = await okr.keyResult(ids.objectiveB, { title: 'Cut review time from 3 days to 1', metric: 'review days', baseline: 3, target: 1 });
    ids.objectiveC = await okr.objective(ids.checkout, Q, 'Make checkout effortless', { parentId: ids.functionObjective });
    ids.krC = await okr.keyResult(ids.objectiveC, { title: 'Increase checkout conversion from 2% to 3%', metric: 'conversion', baseline: 2, target: 3 });
    await okr.commit(ids.objectiveC);
    ids.objectiveG = await okr.objective(ids.growth, Q, 'Grow self-serve revenue', { aspirational: false });
    ids.krG = await okr.keyResult(ids.objectiveG, { title: 'Increase self-serve revenue from 100k to 150k', metric: 'revenue k', baseline: 100, target: 150 });

    const m = await capture('T1 setting', 'SETTING');
    const objectives = (m.answers.teamObjectives as any).objectives;
    expect(objectives.map((o: any) => [o.title, o.status, o.parent])).toEqual([
      ['Make payment failures rare', 'DRAFT', null],
      ['Speed up payment reviews', 'DRAFT', { id: ids.functionObjective, title: 'Improve the reliability of our core payment service', status: 'COMMITTED' }],
    ]);
    expect(objectives[0].quarter.phase).toBe('SETTING');

    // between T1 and T2: align, refine and commit the team's objective
    okr.at('2026-12-18T15:00:00Z');
    await okr.align(ids.objectiveA, ids.functionObjective);
    await okr.refine(ids.objectiveA, { description: 'Fewer failed payments, fewer angry customers' });
    await okr.commit(ids.objectiveA);
    await okr.commit(ids.objectiveG);
  });

  it('T2 (active): the first check-ins and logged setting effort', async () => {
    okr.at('2027-01-14T09:00:00Z');
    await okr.checkIn(ids.kr1, 60, { value: 0.7, whatChanged: 'Retries added', blockers: 'Vendor SDK' });
    await okr.checkIn(ids.kr2, 55, { value: 99.6 });
    await okr.checkIn(ids.krB, 50, { value: 2.5 });
    await okr.checkIn(ids.krC, 70, { value: 2.2 });
    await okr.effort(ids.payments, Q, 'SETTING', 1.5, '2026-12-18T15:00:00Z');

    const m = await capture('T2 active', 'ACTIVE');
    const kr = (m.answers.keyResult as any).keyResult;
    expect(kr).toMatchObject({ current: 0.7, confidence: 60, objective: { status: 'COMMITTED', quarter: { phase: 'ACTIVE' } } });
    expect((m.answers.teamConfidence as any).teamConfidence).toEqual([
      { weekStarting: '2027-01-11T00:00:00.000Z', meanConfidence: 58.75, checkIns: 4 },
    ]);
  });

  it('T3 (active): a back-dated reading, a same-moment correction, a target revision, a retirement', async () => {
    okr.at('2027-01-28T09:00:00Z');
    await okr.checkIn(ids.kr1, 70, { value: 0.5 });
    await okr.checkIn(ids.kr1, 40, { value: 0.75, asOf: '2027-01-07T09:00:00Z' });
    await okr.checkIn(ids.kr2, 65, { value: 99.7 });
    await okr.checkIn(ids.krG, 30, { value: 110 });
    okr.at('2027-01-28T15:00:00Z');
    await okr.checkIn(ids.kr2, 45, { value: 99.65, asOf: '2027-01-28T09:00:00Z', whatChanged: 'The dashboard double-counted' });
    await okr.revise(ids.kr1, 'Vendor outage budget agreed', { target: 0.3 });
    await okr.retire(ids.objectiveB, 'Superseded by the reliability work');

    const m = await capture('T3 active', 'ACTIVE');
    const kr = (m.answers.keyResult as any).keyResult;
    expect(kr).toMatchObject({ current: 0.5, confidence: 70, target: 0.3, originalTarget: 0.2 });
    expect(kr.checkIns.map((c: any) => c.confidence)).toEqual([40, 60, 70]);
    expect((m.answers.teamConfidence as any).teamConfidence).toContainEqual({
      weekStarting: '2027-01-25T00:00:00.000Z',
      meanConfidence: 57.5,
      checkIns: 2,
    });
  });

  it('T4 (active): a reading recorded now about a moment before T3', async () => {
    okr.at('2027-02-10T09:00:00Z');
    // Effective 2027-01-28T12:00, between the 09:00 reading and T3 (15:00), but recorded only now.
    await okr.checkIn(ids.kr1, 35, { value: 0.6, asOf: '2027-01-28T12:00:00Z', whatChanged: 'Late report from the on-call' });
    await okr.checkIn(ids.krC, 75, { value: 2.4 });
    await okr.effort(ids.checkout, Q, 'CHECK_IN', 0.5);

    // A new team appears after T3: answers as of earlier moments must not list it anywhere.
    ids.fraud = await okr.unit('Fraud', 'TEAM', ids.engineering);
    const m = await capture('T4 active', 'ACTIVE');
    expect((m.answers.keyResult as any).keyResult).toMatchObject({ current: 0.6, confidence: 35 });

    okr.at('2027-03-10T09:00:00Z');
    await okr.checkIn(ids.kr1, 65, { value: 0.3 });
    await okr.checkIn(ids.kr2, 60, { value: 99.8 });
    await okr.checkIn(ids.krC, 80, { value: 2.6 });
    await okr.checkIn(ids.krG, 20, { value: 120 });
  });

  it('T5 (scoring): scores, a score correction, the retrospective and the rest of the effort', async () => {
    okr.at('2027-04-03T09:00:00Z');
    await okr.score(ids.kr1, 0.6);
    await okr.score(ids.kr2, 0.8);
    await okr.score(ids.krC, 0.9);
    await okr.score(ids.krG, 0.1);
    okr.at('2027-04-06T12:00:00Z');
    await okr.score(ids.kr1, 0.7, 'Used the final March numbers');
    await okr.retro(ids.payments, Q, 'Retries were the cheap win', [{ keyResultId: ids.kr1, calibration: 'RIGHT', note: 'about right' }]);
    await okr.effort(ids.payments, Q, 'CHECK_IN', 1.2);
    await okr.effort(ids.payments, Q, 'RETROSPECTIVE', 0.5);
    await okr.effort(ids.payments, Q, 'SCORING', 1);

    const m = await capture('T5 scoring', 'SCORING');
    const objectives = (m.answers.teamObjectives as any).objectives;
    expect(objectives.map((o: any) => [o.status, o.score])).toEqual([
      ['SCORED', 0.75],
      ['RETIRED', null],
    ]);
    const effort = (m.answers.effortAudit as any).effortAudit.find((a: any) => a.unit.id === ids.payments);
    expect(effort).toMatchObject({ personDays: 4.2, overBudget: true, retrospectiveRecorded: true });
    expect((m.answers.health as any).health).toContainEqual(
      expect.objectContaining({ rule: 'EFFORT_OVER_BUDGET', severity: 'WARNING', subjectId: ids.payments }),
    );
  });

  it('T6 (closed): the quarter closes two weeks after it ended', async () => {
    okr.at('2027-04-12T09:00:00Z');
    // A unit setting changed after T5: answers as of T5 must still show the cadence of then.
    expect(await okr.cadence(ids.payments, 'MONTHLY')).toBe('MONTHLY');
    okr.at('2027-04-20T09:00:00Z');
    await okr.close(Q);
    const m = await capture('T6 closed', 'CLOSED');
    const health = (m.answers.health as any).health;
    const missing = health.filter((f: any) => f.rule === 'NO_RETROSPECTIVE').map((f: any) => f.subjectId);
    expect(missing.sort()).toEqual([ids.checkout, ids.growth].sort());
    okr.at('2027-04-25T09:00:00Z');
  });
});

// ---- replay -----------------------------------------------------------------------------------

describe('asOf: T answers exactly what the same query answered live at T', () => {
  const cases = MOMENTS.flatMap((m) => QUERY_NAMES.map((q): [MomentName, QueryName] => [m, q]));
  it.each(cases)('%s: %s', async (name, q) => {
    const moment = captured.get(name);
    if (!moment) throw new Error(`moment ${name} was not captured`);
    if (!(q in moment.answers)) {
      // No subject yet at this moment (the objective or key result did not exist).
      expect(variablesOf(q)).not.toBeNull();
      expect(['objective', 'keyResult']).toContain(q);
      return;
    }
    expect(await ask(q, moment.at)).toEqual(versionedAt(moment.answers[q], moment.at));
  });

  it('captured the phases the moments were meant to cover', () => {
    const phases = MOMENTS.map((name) => {
      const objectives = (captured.get(name)?.answers.teamObjectives as any)?.objectives ?? [];
      return objectives[0]?.quarter.phase ?? null;
    });
    expect(phases).toEqual([null, 'SETTING', 'ACTIVE', 'ACTIVE', 'ACTIVE', 'SCORING', 'CLOSED']);
  });

  it('is not vacuous: every moment before the last answered differently from today', async () => {
    for (const name of MOMENTS.slice(0, -1)) {
      const moment = captured.get(name);
      if (!moment) throw new Error(`moment ${name} was not captured`);
      const today: Partial<Record<QueryName, unknown>> = {};
      for (const q of Object.keys(moment.answers) as QueryName[]) today[q] = await ask(q, null);
      expect({ name, answers: today }).not.toEqual({ name, answers: moment.answers });
    }
  });

  it('asOf exactly now answers what the live query answers (as of now)', async () => {
    for (const q of QUERY_NAMES) {
      expect({ q, answer: await ask(q, okr.now()) }).toEqual({ q, answer: versionedAt(await ask(q, null), okr.now()) });
    }
  });

  it('takes the instant, not its spelling: asOf with a UTC offset is the same instant', async () => {
    const moment = captured.get('T3 active');
    if (!moment) throw new Error('T3 not captured');
    const offset = new Date(Date.parse(moment.at) + 3_600_000).toISOString().replace('.000Z', '+01:00');
    for (const q of ['teamObjectives', 'keyResult', 'confidenceTrends', 'health'] as const) {
      expect({ q, answer: await ask(q, offset) }).toEqual({ q, answer: versionedAt(moment.answers[q], moment.at) });
    }
  });

  it('answers the same when asked again (a cached replay does not drift)', async () => {
    const moment = captured.get('T3 active');
    if (!moment) throw new Error('T3 not captured');
    for (const q of QUERY_NAMES) {
      const first = await ask(q, moment.at);
      const again = await ask(q, moment.at);
      expect({ q, answer: again }).toEqual({ q, answer: first });
    }
  });
});

describe('bitemporality: a reading recorded after T about a moment before T', () => {
  const T3 = () => {
    const m = captured.get('T3 active');
    if (!m) throw new Error('T3 not captured');
    return m.at;
  };
  const LATE = '2027-01-28T12:00:00.000Z';

  it("changes today's trend about the past", async () => {
    const { confidenceTrends } = await okr.ok(QUERIES.confidenceTrends, { q: Q, asOf: null });
    const kr1 = confidenceTrends.find((s: any) => s.keyResult.id === ids.kr1);
    expect(kr1.points.map((p: any) => [p.at, p.confidence])).toEqual([
      ['2027-01-07T09:00:00.000Z', 40],
      ['2027-01-14T09:00:00.000Z', 60],
      ['2027-01-28T09:00:00.000Z', 70],
      [LATE, 35],
      ['2027-03-10T09:00:00.000Z', 65],
    ]);
    expect(kr1.points[3]).toEqual({
      at: LATE,
      recordedAt: '2027-02-10T09:00:00.000Z',
      confidence: 35,
      value: 0.6,
      backdated: true,
      correction: false,
      superseded: false,
    });
    const { teamConfidence } = await okr.ok(QUERIES.teamConfidence, { q: Q, u: ids.engineering, asOf: null });
    expect(teamConfidence).toContainEqual({ weekStarting: '2027-01-25T00:00:00.000Z', meanConfidence: 50, checkIns: 3 });
  });

  it('does not change the answer as of T3', async () => {
    const { confidenceTrends } = await okr.ok(QUERIES.confidenceTrends, { q: Q, asOf: T3() });
    const kr1 = confidenceTrends.find((s: any) => s.keyResult.id === versionedId(ids.kr1, T3()));
    expect(kr1.points.map((p: any) => p.at)).not.toContain(LATE);
    expect(kr1.points.map((p: any) => p.confidence)).toEqual([40, 60, 70]);
    expect(kr1.keyResult).toMatchObject({ confidence: 70, current: 0.5 });
    expect(confidenceTrends).toEqual(versionedAt(answer('T3 active', 'confidenceTrends').confidenceTrends, T3()));

    const { teamConfidence } = await okr.ok(QUERIES.teamConfidence, { q: Q, u: ids.engineering, asOf: T3() });
    expect(teamConfidence).toContainEqual({ weekStarting: '2027-01-25T00:00:00.000Z', meanConfidence: 57.5, checkIns: 2 });

    const { keyResult } = await okr.ok(QUERIES.keyResult, { id: ids.kr1, asOf: T3() });
    expect(keyResult).toMatchObject({ confidence: 70, current: 0.5 });
    expect(keyResult.checkIns.map((c: any) => c.asOf)).not.toContain(LATE);
  });

  it('is visible as of the moment it was recorded, and in the live key result', async () => {
    const { keyResult: asOfT4 } = await okr.ok(QUERIES.keyResult, { id: ids.kr1, asOf: '2027-02-10T09:00:00Z' });
    expect(asOfT4).toMatchObject({ confidence: 35, current: 0.6 });
    const { keyResult: justBefore } = await okr.ok(QUERIES.keyResult, { id: ids.kr1, asOf: '2027-02-10T08:59:59Z' });
    expect(justBefore).toMatchObject({ confidence: 70, current: 0.5 });
    const { keyResult: live } = await okr.ok(QUERIES.keyResult, { id: ids.kr1, asOf: null });
    expect(live.checkIns.map((c: any) => c.asOf)).toContain(LATE);
  });
});

describe('asOf out of range', () => {
  it('asOf in the future is refused with AS_OF_IN_FUTURE for every query', async () => {
    const future = new Date(t.clock.now().getTime() + 1000).toISOString();
    for (const q of QUERY_NAMES) {
      const variables = variablesOf(q);
      const res = await t.gql(QUERIES[q], { ...variables, asOf: future });
      expect({ q, code: res.errors?.[0]?.extensions?.code, reason: res.errors?.[0]?.extensions?.reason }).toEqual({
        q,
        code: 'BAD_USER_INPUT',
        reason: 'AS_OF_IN_FUTURE',
      });
    }
  });

  it('asOf before anything existed answers empty lists and null', async () => {
    const before = '2026-11-01T00:00:00Z';
    const empty: Record<QueryName, unknown> = {
      teamObjectives: { objectives: [] },
      allObjectives: { objectives: [] },
      objective: { objective: null },
      keyResult: { keyResult: null },
      confidenceTrends: { confidenceTrends: [] },
      teamConfidence: { teamConfidence: [] },
      confidenceCalibration: { confidenceCalibration: [] },
      effortAudit: { effortAudit: [] },
      health: { health: [] },
    };
    for (const q of QUERY_NAMES) {
      expect({ q, answer: await ask(q, before) }).toEqual({ q, answer: empty[q] });
    }
  });

  it('asOf after the units but before the quarter was planned knows no quarter yet', async () => {
    const between = '2026-12-01T09:45:00Z';
    expect(await ask('allObjectives', between)).toEqual({ objectives: [] });
    expect(await ask('objective', between)).toEqual({ objective: null });
    expect(await ask('keyResult', between)).toEqual({ keyResult: null });
    expect(await ask('effortAudit', between)).toEqual({ effortAudit: [] });
    expect(await ask('health', between)).toEqual({ health: [] });
  });

  it('asOf before an objective existed answers null for it, even though the quarter existed', async () => {
    expect(await ask('objective', '2026-12-10T00:00:00Z')).toEqual({ objective: null });
    expect(await ask('keyResult', '2026-12-10T00:00:00Z')).toEqual({ keyResult: null });
    const { objectives } = await okr.ok(QUERIES.allObjectives, { q: Q, asOf: '2026-12-10T00:00:00Z' });
    expect(objectives).toEqual([]);
  });
});
