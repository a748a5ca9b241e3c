import { byRule, health, idBag, Okr, pairs } from '../support/okr';
import { startTestServer, type TestServer } from '../support/server';
import { versionedId } from '../support/versioned';

/**
 * The quarter-history features over HTTP against the real server (real PostgreSQL, no mocks), one
 * describe per feature, each on its own database and controlled clock, each asserting concrete
 * values: confidence trends, weekly team confidence, calibration, the effort audit, every health
 * rule, the events log with Relay paging, and key result revisions.
 */

const Q1 = '2027-Q1';
const Q2 = '2027-Q2';

/** A fresh server (own database, clock at `start`) for the enclosing describe. */
function serverFor(label: string, start = '2026-12-01T09:00:00Z'): { t: TestServer; okr: Okr } {
  const ctx = {} as { t: TestServer; okr: Okr };
  beforeAll(async () => {
    ctx.t = await startTestServer(label, start);
    ctx.okr = new Okr(ctx.t);
  });
  afterAll(() => ctx.t.close());
  return ctx;
}

async function planQ1(okr: Okr): Promise<void> {
  await okr.quarter(Q1, '2027-01-01T00:00:00Z', '2027-04-01T00:00:00Z');
}

async function planQ2(okr: Okr): Promise<void> {
  await okr.quarter(Q2, '2027-04-01T00:00:00Z', '2027-07-01T00:00:00Z');
}

// ------------------------------------------------------------------------------------------------

describe('confidenceTrends', () => {
  const s = serverFor('h_trends');
  const id = idBag();
  const TRENDS = `query($q: ID!, $u: ID, $asOf: DateTime) { confidenceTrends(quarterId: $q, unitId: $u, asOf: $asOf) {
    keyResult { id }
    points { at recordedAt confidence value backdated correction superseded }
    calibration { keyResult { id } lastConfidence score gap } } }`;
  const trends = async (u?: string, asOf?: string) =>
    (await s.okr.ok(TRENDS, { q: Q1, u: u ?? null, asOf: asOf ?? null })).confidenceTrends as any[];

  beforeAll(async () => {
    const { okr } = s;
    const org = await okr.org(['Payments', 'Checkout']);
    Object.assign(id, { company: org.company, eng: org.fn, p: org.teams[0], q: org.teams[1] });
    id.sales = await okr.unit('Sales', 'FUNCTION', id.company);
    id.r = await okr.unit('Growth', 'TEAM', id.sales);
    await planQ1(okr);

    okr.at('2026-12-15T10:00:00Z');
    const oP = await okr.objective(id.p, Q1, 'Merchants rely on us');
    id.k1 = await okr.keyResult(oP, { title: 'Increase weekly active merchants from 10 to 50', baseline: 10, target: 50 });
    id.k2 = await okr.keyResult(oP, { title: 'Cut onboarding days from 5 to 1', baseline: 5, target: 1 });
    const oQ = await okr.objective(id.q, Q1, 'Checkout is effortless');
    id.k3 = await okr.keyResult(oQ, { title: 'Increase conversion from 2 to 3', baseline: 2, target: 3 });
    const oR = await okr.objective(id.r, Q1, 'Grow self-serve');
    id.k4 = await okr.keyResult(oR, { title: 'Increase self-serve revenue from 100 to 150', baseline: 100, target: 150 });

    okr.at('2027-01-14T09:00:00Z');
    await okr.checkIn(id.k1, 60, { value: 20 });
    okr.at('2027-01-28T09:00:00Z');
    await okr.checkIn(id.k1, 70, { value: 30 });
    await okr.checkIn(id.k3, 55, { value: 2.1 });
    okr.at('2027-01-28T14:00:00Z');
    await okr.checkIn(id.k1, 50, { value: 28, asOf: '2027-01-28T09:00:00Z', whatChanged: 'Corrected: bots counted' });
    okr.at('2027-02-04T09:00:00Z');
    await okr.checkIn(id.k1, 40, { value: 15, asOf: '2027-01-07T09:00:00Z' });
    okr.at('2027-02-11T09:00:00Z');
    await okr.checkIn(id.k1, 80, { value: 35, asOf: '2027-02-11T08:59:30Z' });
    await okr.checkIn(id.k3, 65, { value: 2.3, asOf: '2027-02-11T08:58:59Z' });
    okr.at('2027-02-20T09:00:00Z');
    await okr.checkIn(id.k1, 45, { value: 25, asOf: '2027-02-01T09:00:00Z' });
    okr.at('2027-04-03T09:00:00Z');
    await okr.score(id.k1, 0.6);
    await okr.score(id.k2, 0.5);
    okr.at('2027-04-04T09:00:00Z');
    await okr.checkIn(id.k1, 30, { value: 33, asOf: '2027-03-30T09:00:00Z' });
  });

  it('orders points by effective time and marks back-dated readings, corrections and superseded readings', async () => {
    const series = await trends();
    expect(series.map((x) => x.keyResult.id)).toEqual([id.k1, id.k2, id.k3, id.k4]);
    const [k1, k2, k3, k4] = series;
    const p = (at: string, recordedAt: string, confidence: number, value: number, flags: Partial<Record<'backdated' | 'correction' | 'superseded', boolean>> = {}) => ({
      at,
      recordedAt,
      confidence,
      value,
      backdated: false,
      correction: false,
      superseded: false,
      ...flags,
    });
    expect(k1.points).toEqual([
      p('2027-01-07T09:00:00.000Z', '2027-02-04T09:00:00.000Z', 40, 15, { backdated: true }),
      p('2027-01-14T09:00:00.000Z', '2027-01-14T09:00:00.000Z', 60, 20),
      p('2027-01-28T09:00:00.000Z', '2027-01-28T09:00:00.000Z', 70, 30, { superseded: true }),
      p('2027-01-28T09:00:00.000Z', '2027-01-28T14:00:00.000Z', 50, 28, { backdated: true, correction: true }),
      p('2027-02-01T09:00:00.000Z', '2027-02-20T09:00:00.000Z', 45, 25, { backdated: true }),
      p('2027-02-11T08:59:30.000Z', '2027-02-11T09:00:00.000Z', 80, 35),
      p('2027-03-30T09:00:00.000Z', '2027-04-04T09:00:00.000Z', 30, 33, { backdated: true }),
    ]);
    expect(k2.points).toEqual([]);
    // 61 seconds between the moment and the recording is back-dating; 30 seconds (k1 above) is not.
    expect(k3.points).toEqual([
      p('2027-01-28T09:00:00.000Z', '2027-01-28T09:00:00.000Z', 55, 2.1),
      p('2027-02-11T08:58:59.000Z', '2027-02-11T09:00:00.000Z', 65, 2.3, { backdated: true }),
    ]);
    expect(k4.points).toEqual([]);
  });

  it('gives the calibration gap score - lastConfidence/100 from the latest reading (by effective time) recorded before the score', async () => {
    const [k1, k2, k3, k4] = await trends();
    // Recorded before the score: the latest by effective time is 2027-02-11 (80), not the later-recorded
    // back-dated 45; the reading recorded after the score (30) does not count.
    expect(k1.calibration).toEqual({ keyResult: { id: id.k1 }, lastConfidence: 80, score: 0.6, gap: -0.2 });
    expect(k2.calibration).toBeNull(); // scored, but never checked in
    expect(k3.calibration).toBeNull(); // checked in, not scored
    expect(k4.calibration).toBeNull();
  });

  it('with unitId: that unit and the units below it', async () => {
    const ids = async (u: string) => (await trends(u)).map((x) => x.keyResult.id);
    expect(await ids(id.eng)).toEqual([id.k1, id.k2, id.k3]);
    expect(await ids(id.p)).toEqual([id.k1, id.k2]);
    expect(await ids(id.q)).toEqual([id.k3]);
    expect(await ids(id.sales)).toEqual([id.k4]);
    expect(await ids(id.company)).toEqual([id.k1, id.k2, id.k3, id.k4]);
  });

  it('as of an instant: only readings recorded by then, with the flags of then', async () => {
    const [k1] = await trends(id.p, '2027-01-28T12:00:00Z');
    expect(k1.points.map((x: any) => [x.at, x.confidence, x.superseded, x.correction])).toEqual([
      ['2027-01-14T09:00:00.000Z', 60, false, false],
      ['2027-01-28T09:00:00.000Z', 70, false, false],
    ]);
    expect(k1.calibration).toBeNull();
    const [scored] = await trends(id.p, '2027-04-03T12:00:00Z');
    expect(scored.points).toHaveLength(6);
    expect(scored.calibration).toEqual({
      keyResult: { id: versionedId(id.k1, '2027-04-03T12:00:00Z') },
      lastConfidence: 80,
      score: 0.6,
      gap: -0.2,
    });
  });

  it('answers an empty list for an unknown quarter', async () => {
    expect((await s.okr.ok(TRENDS, { q: '2031-Q4', u: null, asOf: null })).confidenceTrends).toEqual([]);
  });
});

// ------------------------------------------------------------------------------------------------

describe('teamConfidence', () => {
  const s = serverFor('h_teamconf');
  const id = idBag();
  const TEAM = `query($q: ID!, $u: ID!, $asOf: DateTime) { teamConfidence(quarterId: $q, unitId: $u, asOf: $asOf) { weekStarting meanConfidence checkIns } }`;
  const weeks = async (u: string, asOf?: string) => (await s.okr.ok(TEAM, { q: Q1, u, asOf: asOf ?? null })).teamConfidence;
  const w = (weekStarting: string, meanConfidence: number, checkIns: number) => ({ weekStarting, meanConfidence, checkIns });

  beforeAll(async () => {
    const { okr } = s;
    const org = await okr.org(['Payments', 'Checkout', 'Idle']);
    Object.assign(id, { company: org.company, eng: org.fn, p: org.teams[0], q: org.teams[1], idle: org.teams[2] });
    id.sales = await okr.unit('Sales', 'FUNCTION', id.company);
    id.r = await okr.unit('Growth', 'TEAM', id.sales);
    await planQ1(okr);
    okr.at('2026-12-15T10:00:00Z');
    const oP = await okr.objective(id.p, Q1, 'Merchants rely on us');
    id.p1 = await okr.keyResult(oP, { title: 'Increase active merchants from 10 to 50', baseline: 10, target: 50 });
    id.p2 = await okr.keyResult(oP, { title: 'Cut onboarding days from 5 to 1', baseline: 5, target: 1 });
    id.q1 = await okr.keyResult(await okr.objective(id.q, Q1, 'Checkout is effortless'), { title: 'Increase conversion from 2 to 3', baseline: 2, target: 3 });
    id.r1 = await okr.keyResult(await okr.objective(id.r, Q1, 'Grow self-serve'), { title: 'Increase revenue from 100 to 150', baseline: 100, target: 150 });

    // 2027-01-03 is a Sunday, 2027-01-04 a Monday.
    okr.at('2027-01-03T23:00:00Z');
    await okr.checkIn(id.p1, 60);
    okr.at('2027-01-04T00:00:00Z');
    await okr.checkIn(id.p1, 70);
    okr.at('2027-01-06T10:00:00Z');
    await okr.checkIn(id.q1, 50);
    await okr.checkIn(id.r1, 10);
    okr.at('2027-01-07T10:00:00Z');
    await okr.checkIn(id.r1, 15);
    okr.at('2027-01-08T10:00:00Z');
    await okr.checkIn(id.r1, 12);
    okr.at('2027-01-12T10:00:00Z');
    await okr.checkIn(id.p2, 80);
    okr.at('2027-01-13T10:00:00Z');
    await okr.checkIn(id.p2, 40, { asOf: '2027-01-12T10:00:00Z' }); // corrects the 80
    okr.at('2027-01-20T10:00:00Z');
    await okr.checkIn(id.q1, 90, { asOf: '2027-01-05T10:00:00Z' }); // back-dated into the week of 01-04
  });

  it('buckets check-ins by Monday-UTC week of their effective time, with mean and count; superseded readings excluded', async () => {
    expect(await weeks(id.p)).toEqual([
      w('2026-12-28T00:00:00.000Z', 60, 1),
      w('2027-01-04T00:00:00.000Z', 70, 1),
      w('2027-01-11T00:00:00.000Z', 40, 1),
    ]);
    expect(await weeks(id.q)).toEqual([w('2027-01-04T00:00:00.000Z', 70, 2)]);
    expect(await weeks(id.r)).toEqual([w('2027-01-04T00:00:00.000Z', 12.33, 3)]);
  });

  it('includes the descendant units of a function and of the company', async () => {
    expect(await weeks(id.eng)).toEqual([
      w('2026-12-28T00:00:00.000Z', 60, 1),
      w('2027-01-04T00:00:00.000Z', 70, 3),
      w('2027-01-11T00:00:00.000Z', 40, 1),
    ]);
    expect(await weeks(id.sales)).toEqual([w('2027-01-04T00:00:00.000Z', 12.33, 3)]);
    expect(await weeks(id.company)).toEqual([
      w('2026-12-28T00:00:00.000Z', 60, 1),
      w('2027-01-04T00:00:00.000Z', 41.17, 6),
      w('2027-01-11T00:00:00.000Z', 40, 1),
    ]);
  });

  it('answers an empty list for a unit without check-ins', async () => {
    expect(await weeks(id.idle)).toEqual([]);
  });

  it('as of an instant: before the correction and the back-dated reading were recorded', async () => {
    expect(await weeks(id.eng, '2027-01-12T12:00:00Z')).toEqual([
      w('2026-12-28T00:00:00.000Z', 60, 1),
      w('2027-01-04T00:00:00.000Z', 60, 2),
      w('2027-01-11T00:00:00.000Z', 80, 1),
    ]);
  });
});

// ------------------------------------------------------------------------------------------------

describe('confidenceCalibration', () => {
  const s = serverFor('h_calib');
  const id = idBag();
  const CAL = `query($q: ID!, $u: ID, $asOf: DateTime) { confidenceCalibration(quarterId: $q, unitId: $u, asOf: $asOf) {
    unit { id } meanGap meanAbsoluteGap keyResults { keyResult { id } lastConfidence score gap } } }`;
  const calibration = async (u?: string, asOf?: string) =>
    (await s.okr.ok(CAL, { q: Q1, u: u ?? null, asOf: asOf ?? null })).confidenceCalibration as any[];
  const gap = (kr: string, lastConfidence: number, score: number, g: number) => ({ keyResult: { id: kr }, lastConfidence, score, gap: g });

  beforeAll(async () => {
    const { okr } = s;
    const org = await okr.org(['Payments', 'Checkout']);
    Object.assign(id, { company: org.company, eng: org.fn, p: org.teams[0], q: org.teams[1] });
    await planQ1(okr);
    okr.at('2026-12-15T10:00:00Z');
    const oP = await okr.objective(id.p, Q1, 'Merchants rely on us');
    id.a = await okr.keyResult(oP, { title: 'Increase A from 10 to 50', baseline: 10, target: 50 });
    id.b = await okr.keyResult(oP, { title: 'Increase B from 10 to 50', baseline: 10, target: 50 });
    id.c = await okr.keyResult(oP, { title: 'Increase C from 10 to 50', baseline: 10, target: 50 });
    id.d = await okr.keyResult(oP, { title: 'Increase D from 10 to 50', baseline: 10, target: 50 });
    id.e = await okr.keyResult(await okr.objective(id.q, Q1, 'Checkout is effortless'), { title: 'Increase E from 1 to 2', baseline: 1, target: 2 });
    okr.at('2027-01-14T09:00:00Z');
    await okr.checkIn(id.a, 60);
    await okr.checkIn(id.b, 80);
    await okr.checkIn(id.d, 50);
    await okr.checkIn(id.e, 50);
    okr.at('2027-02-01T09:00:00Z');
    await okr.checkIn(id.a, 70);
    okr.at('2027-02-10T09:00:00Z');
    await okr.checkIn(id.a, 95, { asOf: '2027-01-20T09:00:00Z' }); // recorded last, effective before 70
    okr.at('2027-04-03T09:00:00Z');
    await okr.score(id.a, 0.9);
    await okr.score(id.b, 0.5);
    await okr.score(id.c, 0.5); // no check-in: no gap
    await okr.score(id.e, 0.5);
  });

  it('per unit with scored key results: the gaps, their mean and mean absolute value', async () => {
    expect(await calibration()).toEqual([
      { unit: { id: id.p }, meanGap: -0.05, meanAbsoluteGap: 0.25, keyResults: [gap(id.a, 70, 0.9, 0.2), gap(id.b, 80, 0.5, -0.3)] },
      { unit: { id: id.q }, meanGap: 0, meanAbsoluteGap: 0, keyResults: [gap(id.e, 50, 0.5, 0)] },
    ]);
  });

  it('with unitId: that unit and the units below it', async () => {
    expect((await calibration(id.p)).map((u) => u.unit.id)).toEqual([id.p]);
    expect((await calibration(id.q)).map((u) => u.unit.id)).toEqual([id.q]);
    expect((await calibration(id.eng)).map((u) => u.unit.id)).toEqual([id.p, id.q]);
    expect(await calibration(id.eng)).toEqual(await calibration());
  });

  it('follows a score correction, while asOf before it keeps the first score', async () => {
    s.okr.at('2027-04-05T09:00:00Z');
    await s.okr.score(id.b, 0.6, 'Counted the March cohort');
    const [p] = await calibration(id.p);
    expect(p).toEqual({ unit: { id: id.p }, meanGap: 0, meanAbsoluteGap: 0.2, keyResults: [gap(id.a, 70, 0.9, 0.2), gap(id.b, 80, 0.6, -0.2)] });
    const [before] = await calibration(id.p, '2027-04-04T00:00:00Z');
    expect(before).toMatchObject({ meanGap: -0.05, meanAbsoluteGap: 0.25 });
  });

  it('as of an instant: the unit as it was then (its cadence changed later)', async () => {
    s.okr.at('2027-04-06T09:00:00Z');
    expect(await s.okr.cadence(id.p, 'MONTHLY')).toBe('MONTHLY');
    const q = `query($q: ID!, $u: ID, $asOf: DateTime) { confidenceCalibration(quarterId: $q, unitId: $u, asOf: $asOf) { unit { id checkInCadence } } }`;
    expect((await s.okr.ok(q, { q: Q1, u: id.p, asOf: null })).confidenceCalibration).toEqual([{ unit: { id: id.p, checkInCadence: 'MONTHLY' } }]);
    expect((await s.okr.ok(q, { q: Q1, u: id.p, asOf: '2027-04-05T12:00:00Z' })).confidenceCalibration).toEqual([
      { unit: { id: versionedId(id.p, '2027-04-05T12:00:00Z'), checkInCadence: 'BIWEEKLY' } },
    ]);
  });

  it('lists no unit before anything was scored', async () => {
    expect(await calibration(undefined, '2027-03-01T00:00:00Z')).toEqual([]);
  });
});

// ------------------------------------------------------------------------------------------------

describe('effortAudit', () => {
  const s = serverFor('h_effort');
  const id = idBag();
  const AUDIT = `query($q: ID!, $u: ID, $asOf: DateTime) { effortAudit(quarterId: $q, unitId: $u, asOf: $asOf) {
    unit { id name } quarter { id } personDays budgetPersonDays overBudget byActivity { activity personDays }
    checkIns daysToLastCommit lastCommittedAt retrospectiveRecorded } }`;
  const audit = async (u?: string, asOf?: string) => (await s.okr.ok(AUDIT, { q: Q1, u: u ?? null, asOf: asOf ?? null })).effortAudit as any[];
  const activities = (setting: number, checkIn: number, scoring: number, retrospective: number) => [
    { activity: 'SETTING', personDays: setting },
    { activity: 'CHECK_IN', personDays: checkIn },
    { activity: 'SCORING', personDays: scoring },
    { activity: 'RETROSPECTIVE', personDays: retrospective },
  ];

  beforeAll(async () => {
    const { okr } = s;
    const org = await okr.org(['Payments', 'Checkout']);
    Object.assign(id, { company: org.company, eng: org.fn, p: org.teams[0], q: org.teams[1] });
    id.sales = await okr.unit('Sales', 'FUNCTION', id.company);
    id.r = await okr.unit('Growth', 'TEAM', id.sales);
    await planQ1(okr); // setting opens 2026-12-11T00:00Z

    okr.at('2026-12-13T00:00:00Z');
    const fo = await okr.objective(id.eng, Q1, 'Reliable platform');
    await okr.commit(fo);
    okr.at('2026-12-15T10:00:00Z');
    const p1 = await okr.objective(id.p, Q1, 'Payments never fail', { parentId: fo });
    await okr.commit(p1);
    const p2 = await okr.objective(id.p, Q1, 'Payments are fast', { parentId: fo });
    id.kp = await okr.keyResult(p1, { title: 'Reduce failures from 5 to 1', baseline: 5, target: 1 });
    const q1 = await okr.objective(id.q, Q1, 'Checkout is effortless', { parentId: fo });
    id.kq = await okr.keyResult(q1, { title: 'Increase conversion from 2 to 3', baseline: 2, target: 3 });
    await okr.effort(id.p, Q1, 'SETTING', 1.5);
    okr.at('2026-12-21T12:00:00Z');
    await okr.commit(p2);

    okr.at('2027-01-14T09:00:00Z');
    await okr.checkIn(id.kp, 60);
    await okr.checkIn(id.kp, 55, { asOf: '2027-01-10T09:00:00Z' });
    await okr.checkIn(id.kq, 70);
    await okr.effort(id.p, Q1, 'CHECK_IN', 1.2);
    await okr.effort(id.r, Q1, 'SETTING', 5);

    okr.at('2027-04-05T09:00:00Z');
    await okr.effort(id.p, Q1, 'SCORING', 0.1);
    await okr.effort(id.p, Q1, 'SCORING', 0.2);
    await okr.effort(id.p, Q1, 'RETROSPECTIVE', 1);
    await okr.retro(id.p, Q1, 'Retries were the cheap win');
  });

  it('lists every unit that logged effort or has objectives, with sums by activity, evidence and the budget', async () => {
    expect(await audit()).toEqual([
      {
        unit: { id: id.eng, name: 'Engineering' },
        quarter: { id: Q1 },
        personDays: 0,
        budgetPersonDays: 4,
        overBudget: false,
        byActivity: activities(0, 0, 0, 0),
        checkIns: 0,
        daysToLastCommit: 2,
        lastCommittedAt: '2026-12-13T00:00:00.000Z',
        retrospectiveRecorded: false,
      },
      {
        unit: { id: id.p, name: 'Payments' },
        quarter: { id: Q1 },
        personDays: 4,
        budgetPersonDays: 4,
        overBudget: false, // exactly the budget is not over it
        byActivity: activities(1.5, 1.2, 0.3, 1),
        checkIns: 2,
        daysToLastCommit: 10.5,
        lastCommittedAt: '2026-12-21T12:00:00.000Z',
        retrospectiveRecorded: true,
      },
      {
        unit: { id: id.q, name: 'Checkout' },
        quarter: { id: Q1 },
        personDays: 0,
        budgetPersonDays: 4,
        overBudget: false,
        byActivity: activities(0, 0, 0, 0),
        checkIns: 1,
        daysToLastCommit: null,
        lastCommittedAt: null,
        retrospectiveRecorded: false,
      },
      {
        unit: { id: id.r, name: 'Growth' },
        quarter: { id: Q1 },
        personDays: 5,
        budgetPersonDays: 4,
        overBudget: true,
        byActivity: activities(5, 0, 0, 0),
        checkIns: 0,
        daysToLastCommit: null,
        lastCommittedAt: null,
        retrospectiveRecorded: false,
      },
    ]);
  });

  it('goes over budget with the next entry', async () => {
    s.okr.at('2027-04-06T09:00:00Z');
    await s.okr.effort(id.p, Q1, 'CHECK_IN', 0.1);
    const [p] = await audit(id.p);
    expect(p).toMatchObject({ unit: { id: id.p }, personDays: 4.1, overBudget: true, byActivity: activities(1.5, 1.3, 0.3, 1) });
  });

  it('with unitId: that unit and every unit below it', async () => {
    expect((await audit(id.eng)).map((a) => a.unit.name)).toEqual(['Engineering', 'Payments', 'Checkout']);
    expect((await audit(id.sales)).map((a) => a.unit.name)).toEqual(['Sales', 'Growth']);
    expect((await audit(id.p)).map((a) => a.unit.name)).toEqual(['Payments']);
    expect((await audit(id.company)).map((a) => a.unit.name)).toEqual(['Acme', 'Engineering', 'Payments', 'Checkout', 'Sales', 'Growth']);
  });

  it('as of an instant: the effort, evidence and commits known then', async () => {
    const [p] = await audit(id.p, '2026-12-20T00:00:00Z');
    expect(p).toMatchObject({
      personDays: 1.5,
      byActivity: activities(1.5, 0, 0, 0),
      checkIns: 0,
      daysToLastCommit: 4.42,
      lastCommittedAt: '2026-12-15T10:00:00.000Z',
      retrospectiveRecorded: false,
    });
  });

  it('as of an instant: the quarter phase and the unit as they were then', async () => {
    s.okr.at('2027-04-07T09:00:00Z');
    await s.okr.unit('Fraud', 'TEAM', id.eng); // a unit that did not exist at the instants asked about
    const q = `query($q: ID!, $u: ID, $asOf: DateTime) { effortAudit(quarterId: $q, unitId: $u, asOf: $asOf) {
      unit { name children { name } } quarter { id phase } } }`;
    const asOf = async (at: string) => (await s.okr.ok(q, { q: Q1, u: id.eng, asOf: at })).effortAudit[0];
    expect(await asOf('2026-12-20T00:00:00Z')).toEqual({
      unit: { name: 'Engineering', children: [{ name: 'Payments' }, { name: 'Checkout' }] },
      quarter: { id: versionedId(Q1, '2026-12-20T00:00:00Z'), phase: 'SETTING' },
    });
    expect((await asOf('2027-02-01T00:00:00Z')).quarter).toEqual({ id: versionedId(Q1, '2027-02-01T00:00:00Z'), phase: 'ACTIVE' });
    expect((await s.okr.ok(q, { q: Q1, u: id.eng, asOf: null })).effortAudit[0]).toEqual({
      unit: { name: 'Engineering', children: [{ name: 'Payments' }, { name: 'Checkout' }, { name: 'Fraud' }] },
      quarter: { id: Q1, phase: 'SCORING' },
    });
  });
});

// ------------------------------------------------------------------------------------------------

describe('health', () => {
  describe('TOO_MANY_OBJECTIVES: a warning above 3 active objectives, a problem above 5', () => {
    const s = serverFor('h_toomany');
    const id = idBag();
    const objectives: Record<string, string[]> = {};
    beforeAll(async () => {
      const { okr } = s;
      const org = await okr.org(['Four', 'Six', 'SevenTwoRetired', 'Three']);
      [id.four, id.six, id.seven, id.three] = org.teams as [string, string, string, string];
      await planQ1(okr);
      okr.at('2026-12-15T10:00:00Z');
      for (const [team, n] of [['four', 4], ['six', 6], ['seven', 7], ['three', 3]] as const) {
        objectives[team] = [];
        for (let i = 1; i <= n; i += 1) objectives[team].push(await okr.objective(id[team] as string, Q1, `${team} objective ${i}`));
      }
      okr.at('2026-12-16T10:00:00Z');
      await okr.retire(objectives.seven?.[0] as string);
      await okr.retire(objectives.seven?.[1] as string);
    });

    it('flags 4 and 5 active objectives as warnings and 6 as a problem; retired ones do not count', async () => {
      const findings = await health(s.okr, Q1);
      expect(byRule(findings, 'TOO_MANY_OBJECTIVES')).toEqual(pairs(['WARNING', id.four], ['PROBLEM', id.six], ['WARNING', id.seven]));
      expect(findings.find((f) => f.rule === 'TOO_MANY_OBJECTIVES' && f.subjectId === id.six)?.message).toContain('has 6 objectives');
    });

    it('clears once a team is back at 3, and the unit filter keeps to the unit', async () => {
      s.okr.at('2026-12-17T10:00:00Z');
      await s.okr.retire(objectives.four?.[3] as string);
      expect(byRule(await health(s.okr, Q1), 'TOO_MANY_OBJECTIVES')).toEqual(pairs(['PROBLEM', id.six], ['WARNING', id.seven]));
      expect(byRule(await health(s.okr, Q1, id.six), 'TOO_MANY_OBJECTIVES')).toEqual([['PROBLEM', id.six]]);
      expect(byRule(await health(s.okr, Q1, id.four), 'TOO_MANY_OBJECTIVES')).toEqual([]);
      expect(byRule(await health(s.okr, Q1, id.four, '2026-12-16T12:00:00Z'), 'TOO_MANY_OBJECTIVES')).toEqual([
        ['WARNING', versionedId(id.four, '2026-12-16T12:00:00Z')],
      ]);
    });
  });

  describe('OUTPUT_KEY_RESULT: kind OUTPUT, or a title leading with work to be done', () => {
    const s = serverFor('h_output');
    const id = idBag();
    beforeAll(async () => {
      const { okr } = s;
      const org = await okr.org(['Payments']);
      id.team = org.teams[0] as string;
      await planQ1(okr);
      okr.at('2026-12-15T10:00:00Z');
      const o = await okr.objective(id.team, Q1, 'Payments are trustworthy');
      id.output = await okr.keyResult(o, { title: 'Reduce manual refunds from 40 to 10 a week', baseline: 40, target: 10, kind: 'OUTPUT' });
      id.migrate = await okr.keyResult(o, { title: 'Migrate the ledger to PostgreSQL 17', baseline: 1, target: 2 });
      id.ship = await okr.keyResult(o, { title: 'ship the new onboarding flow', baseline: 1, target: 2 });
      id.outcome = await okr.keyResult(o, { title: 'Reduce time to a shipped change from 5 days to 2', baseline: 5, target: 2 });
      const retired = await okr.objective(id.team, Q1, 'Partners');
      id.retiredKr = await okr.keyResult(retired, { title: 'Launch the partner portal', baseline: 1, target: 2 });
      await okr.retire(retired);
    });

    it('flags the OUTPUT kind and output wording as warnings on the key result, not outcomes or retired objectives', async () => {
      const findings = await health(s.okr, Q1);
      expect(byRule(findings, 'OUTPUT_KEY_RESULT')).toEqual(pairs(['WARNING', id.output], ['WARNING', id.migrate], ['WARNING', id.ship]));
      const message = (kr: string) => findings.find((f) => f.rule === 'OUTPUT_KEY_RESULT' && f.subjectId === kr)?.message;
      expect(message(id.output)).toContain('is marked as an output');
      expect(message(id.migrate)).toContain('("Migrate")');
      expect(message(id.ship)).toContain('("ship")');
    });

    it('clears when a revision makes the key result an outcome', async () => {
      s.okr.at('2026-12-16T10:00:00Z');
      await s.okr.revise(id.output, 'It is an outcome after all', { kind: 'OUTCOME' });
      await s.okr.revise(id.migrate, 'Say what the migration is for', { title: 'Reduce ledger query p95 from 800 ms to 200 ms' });
      expect(byRule(await health(s.okr, Q1), 'OUTPUT_KEY_RESULT')).toEqual([['WARNING', id.ship]]);
    });
  });

  describe('NO_REAL_BASELINE: a zero baseline, a warning when the first reading contradicts it', () => {
    const s = serverFor('h_baseline');
    const id = idBag();
    beforeAll(async () => {
      const { okr } = s;
      const org = await okr.org(['Payments']);
      await planQ1(okr);
      okr.at('2026-12-15T10:00:00Z');
      const o = await okr.objective(org.teams[0] as string, Q1, 'Merchants self-serve');
      const kr = (title: string, baseline: number) => okr.keyResult(o, { title, baseline, target: 100 });
      id.unread = await kr('Increase self-serve signups from 0 to 100', 0);
      id.contradicted = await kr('Increase API partners from 0 to 100', 0);
      id.confirmed = await kr('Increase referrals from 0 to 100', 0);
      id.measured = await kr('Increase NPS from 5 to 100', 5);
      id.backdated = await kr('Increase webhooks from 0 to 100', 0);
      id.noValue = await kr('Increase reviews from 0 to 100', 0);
      okr.at('2027-01-14T09:00:00Z');
      await okr.checkIn(id.contradicted, 50, { value: 12 });
      await okr.checkIn(id.confirmed, 50, { value: 0 });
      await okr.checkIn(id.noValue, 50);
      okr.at('2027-01-20T09:00:00Z');
      await okr.checkIn(id.confirmed, 50, { value: 5 });
      await okr.checkIn(id.backdated, 50, { value: 0 });
      await okr.checkIn(id.measured, 50, { value: 9 });
      okr.at('2027-01-25T09:00:00Z');
      await okr.checkIn(id.backdated, 50, { value: 7, asOf: '2027-01-10T09:00:00Z' });
    });

    it('is INFO for an unconfirmed zero and WARNING when the first reading by effective time is not zero', async () => {
      const findings = await health(s.okr, Q1);
      expect(byRule(findings, 'NO_REAL_BASELINE')).toEqual(
        pairs(['INFO', id.unread], ['WARNING', id.contradicted], ['INFO', id.confirmed], ['WARNING', id.backdated], ['INFO', id.noValue]),
      );
      expect(findings.find((f) => f.subjectId === id.contradicted && f.rule === 'NO_REAL_BASELINE')?.message).toContain('its first reading was 12');
      // Before the back-dated reading was recorded, its first reading was the 0 of 2027-01-20.
      expect(byRule(await health(s.okr, Q1, undefined, '2027-01-24T00:00:00Z'), 'NO_REAL_BASELINE')).toContainEqual([
        'INFO',
        versionedId(id.backdated, '2027-01-24T00:00:00Z'),
      ]);
    });
  });

  describe('FORGOTTEN_CHECK_IN: judged against the unit cadence (BIWEEKLY or MONTHLY)', () => {
    const s = serverFor('h_forgotten');
    const id = idBag();
    beforeAll(async () => {
      const { okr } = s;
      const org = await okr.org(['Biweekly', 'Monthly']);
      [id.bi, id.mo] = org.teams as [string, string];
      expect(await okr.cadence(id.mo, 'MONTHLY')).toBe('MONTHLY');
      await planQ1(okr);
      okr.at('2026-12-15T10:00:00Z');
      const ob = await okr.objective(id.bi, Q1, 'Biweekly objective');
      id.bi1 = await okr.keyResult(ob, { title: 'Increase forgotten from 1 to 2', baseline: 1, target: 2 });
      id.bi2 = await okr.keyResult(ob, { title: 'Increase tended from 1 to 2', baseline: 1, target: 2 });
      const om = await okr.objective(id.mo, Q1, 'Monthly objective');
      id.mo1 = await okr.keyResult(om, { title: 'Increase monthly from 1 to 2', baseline: 1, target: 2 });
      okr.at('2027-01-14T09:00:00Z');
      await okr.checkIn(id.bi2, 60);
    });

    it('finds nothing before the quarter starts', async () => {
      s.okr.at('2027-01-14T09:00:00Z');
      expect(byRule(await health(s.okr, Q1, undefined, '2026-12-20T00:00:00Z'), 'FORGOTTEN_CHECK_IN')).toEqual([]);
    });

    it('24 days without a check-in: a warning for a biweekly unit, nothing for a monthly one', async () => {
      s.okr.at('2027-01-25T00:00:00Z');
      const findings = await health(s.okr, Q1);
      expect(byRule(findings, 'FORGOTTEN_CHECK_IN')).toEqual([['WARNING', id.bi1]]);
      const message = findings.find((f) => f.rule === 'FORGOTTEN_CHECK_IN')?.message;
      expect(message).toContain('went 24 days without a check-in from 2027-01-01');
      expect(message).toContain('every two weeks');
    });

    it('35 days: a problem for the biweekly unit, a warning for the monthly one', async () => {
      s.okr.at('2027-01-28T09:00:00Z');
      await s.okr.checkIn(id.bi2, 65);
      s.okr.at('2027-02-05T00:00:00Z');
      const findings = await health(s.okr, Q1);
      expect(byRule(findings, 'FORGOTTEN_CHECK_IN')).toEqual(pairs(['PROBLEM', id.bi1], ['WARNING', id.mo1]));
      expect(findings.find((f) => f.subjectId === id.mo1 && f.rule === 'FORGOTTEN_CHECK_IN')?.message).toContain('every month');
      expect(byRule(await health(s.okr, Q1, id.mo), 'FORGOTTEN_CHECK_IN')).toEqual([['WARNING', id.mo1]]);
    });

    it('as of an earlier instant: the findings of then', async () => {
      expect(byRule(await health(s.okr, Q1, undefined, '2027-01-25T00:00:00Z'), 'FORGOTTEN_CHECK_IN')).toEqual([
        ['WARNING', versionedId(id.bi1, '2027-01-25T00:00:00Z')],
      ]);
    });
  });

  describe('SANDBAGGING: every stretch key result at 1.0, or stretch scores >= 0.9 two quarters running', () => {
    const s = serverFor('h_sandbag');
    const id = idBag();
    beforeAll(async () => {
      const { okr } = s;
      const org = await okr.org(['A', 'B', 'C', 'D', 'E', 'F']);
      [id.a, id.b, id.c, id.d, id.e, id.f] = org.teams as string[] as [string, string, string, string, string, string];
      await planQ1(okr);
      await planQ2(okr);
      okr.at('2026-12-15T10:00:00Z');
      const scored = async (team: string, quarter: string, scores: number[], aspirational = true) => {
        const o = await okr.objective(id[team] as string, quarter, `${team} ${quarter}`, { aspirational });
        const krs: string[] = [];
        for (let i = 0; i < scores.length; i += 1) {
          krs.push(await okr.keyResult(o, { title: `Increase ${team}${i} from 1 to 2`, baseline: 1, target: 2 }));
        }
        return async () => {
          for (let i = 0; i < scores.length; i += 1) await okr.score(krs[i] as string, scores[i] as number);
        };
      };
      const q1 = [await scored('a', Q1, [0.5]), await scored('b', Q1, [0.92]), await scored('c', Q1, [0.6]), await scored('f', Q1, [1, 1])];
      const q2 = [
        await scored('a', Q2, [1, 1]),
        await scored('b', Q2, [0.9, 0.95]),
        await scored('c', Q2, [0.95, 0.9]),
        await scored('d', Q2, [1, 1], false),
        await scored('e', Q2, [1]),
        await scored('f', Q2, [1, 1]),
      ];
      okr.at('2027-04-03T09:00:00Z');
      for (const score of q1) await score();
      okr.at('2027-07-03T09:00:00Z');
      for (const score of q2) await score();
    });

    it('in Q2: a warning for all-1.0 stretch scores, a problem for two quarters at or above 0.9', async () => {
      const findings = await health(s.okr, Q2);
      expect(byRule(findings, 'SANDBAGGING')).toEqual(pairs(['WARNING', id.a], ['PROBLEM', id.b], ['PROBLEM', id.f]));
      const message = (unit: string) => findings.find((f) => f.rule === 'SANDBAGGING' && f.subjectId === unit)?.message;
      expect(message(id.a)).toContain('scored every stretch key result 1.0');
      expect(message(id.b)).toContain('for 2 quarters in a row');
    });

    it('in Q1 (nothing earlier): only the all-1.0 team, as a warning', async () => {
      expect(byRule(await health(s.okr, Q1), 'SANDBAGGING')).toEqual([['WARNING', id.f]]);
    });
  });

  describe('DISCONNECTED: scores near 0, a problem when the quarter before was near 0 too', () => {
    const s = serverFor('h_disconnected');
    const id = idBag();
    beforeAll(async () => {
      const { okr } = s;
      const org = await okr.org(['A', 'B', 'C', 'D', 'E', 'F']);
      [id.a, id.b, id.c, id.d, id.e, id.f] = org.teams as string[] as [string, string, string, string, string, string];
      await planQ1(okr);
      await planQ2(okr);
      okr.at('2026-12-15T10:00:00Z');
      const scored = async (team: string, quarter: string, scores: number[], aspirational = true) => {
        const o = await okr.objective(id[team] as string, quarter, `${team} ${quarter}`, { aspirational });
        const krs: string[] = [];
        for (let i = 0; i < scores.length; i += 1) {
          krs.push(await okr.keyResult(o, { title: `Increase ${team}${i} from 1 to 2`, baseline: 1, target: 2 }));
        }
        return async () => {
          for (let i = 0; i < scores.length; i += 1) await okr.score(krs[i] as string, scores[i] as number);
        };
      };
      const q1 = [await scored('b', Q1, [0.1]), await scored('f', Q1, [0])];
      const q2 = [
        await scored('a', Q2, [0.1, 0]),
        await scored('b', Q2, [0.05]),
        await scored('c', Q2, [0.2, 0]),
        await scored('d', Q2, [0.3]),
        await scored('e', Q2, [0], false),
        await scored('f', Q2, [0.5]),
      ];
      okr.at('2027-04-03T09:00:00Z');
      for (const score of q1) await score();
      okr.at('2027-07-03T09:00:00Z');
      for (const score of q2) await score();
    });

    it('warns at a mean score of 0.1 or less (stretch or committed), and is a problem when the quarter before was too', async () => {
      const findings = await health(s.okr, Q2);
      expect(byRule(findings, 'DISCONNECTED')).toEqual(pairs(['WARNING', id.a], ['PROBLEM', id.b], ['WARNING', id.c], ['WARNING', id.e]));
      const message = (unit: string) => findings.find((f) => f.rule === 'DISCONNECTED' && f.subjectId === unit)?.message;
      expect(message(id.a)).toContain('scored 0.05 on average');
      expect(message(id.b)).toContain('near 0 the quarter before');
    });
  });

  describe('LATE_SETTING: objectives drafted or committed after the quarter started', () => {
    const s = serverFor('h_late');
    const id = idBag();
    beforeAll(async () => {
      const { okr } = s;
      const org = await okr.org(['Payments']);
      const team = org.teams[0] as string;
      await planQ1(okr);
      okr.at('2026-12-15T10:00:00Z');
      id.onTime = await okr.objective(team, Q1, 'On time');
      id.lateCommit = await okr.objective(team, Q1, 'Committed late');
      id.neverCommitted = await okr.objective(team, Q1, 'Drafted in time, never committed');
      okr.at('2026-12-20T10:00:00Z');
      await okr.commit(id.onTime);
      okr.at('2027-01-05T09:00:00Z');
      id.lateDraft = await okr.objective(team, Q1, 'Drafted late');
      id.lateRetired = await okr.objective(team, Q1, 'Drafted late, then retired');
      await okr.retire(id.lateRetired);
      okr.at('2027-01-06T09:00:00Z');
      id.lateBoth = await okr.objective(team, Q1, 'Drafted and committed late');
      await okr.commit(id.lateBoth);
      okr.at('2027-01-10T09:00:00Z');
      await okr.commit(id.lateCommit);
    });

    it('warns on each late active objective, saying whether it was drafted or committed late', async () => {
      const findings = await health(s.okr, Q1);
      expect(byRule(findings, 'LATE_SETTING')).toEqual(pairs(['WARNING', id.lateCommit], ['WARNING', id.lateDraft], ['WARNING', id.lateBoth]));
      const message = (o: string) => findings.find((f) => f.rule === 'LATE_SETTING' && f.subjectId === o)?.message;
      expect(message(id.lateCommit)).toContain('was committed 9 days after 2027-Q1 started');
      expect(message(id.lateDraft)).toContain('was drafted 4 days after');
      expect(message(id.lateBoth)).toContain('was drafted 5 days after');
    });
  });

  describe('TARGET_MOVED: a target or baseline revised after the start; a problem when scored against the moved target', () => {
    const s = serverFor('h_moved');
    const id = idBag();
    beforeAll(async () => {
      const { okr } = s;
      const org = await okr.org(['Payments']);
      await planQ1(okr);
      okr.at('2026-12-15T10:00:00Z');
      const o = await okr.objective(org.teams[0] as string, Q1, 'Merchants rely on us');
      for (const name of ['beforeStart', 'moved', 'scoredMoved', 'titleOnly', 'movedBack', 'baseline']) {
        id[name] = await okr.keyResult(o, { title: `Increase ${name} from 10 to 50`, baseline: 10, target: 50 });
      }
      okr.at('2026-12-20T10:00:00Z');
      await okr.revise(id.beforeStart as string, 'Agreed in setting', { target: 40 });
      okr.at('2027-02-01T10:00:00Z');
      await okr.revise(id.moved as string, 'Scope cut', { target: 40 });
      await okr.revise(id.scoredMoved as string, 'Vendor outage', { target: 45 });
      await okr.revise(id.titleOnly as string, 'Clearer wording', { title: 'Increase titleOnly from 10 to 50 merchants' });
      await okr.revise(id.movedBack as string, 'Too hard', { target: 40 });
      await okr.revise(id.baseline as string, 'Measured properly', { baseline: 12 });
      okr.at('2027-02-15T10:00:00Z');
      await okr.revise(id.movedBack as string, 'Back to the original ambition', { target: 50 });
    });

    it('warns on every key result moved after the start', async () => {
      s.okr.at('2027-02-16T10:00:00Z');
      const findings = await health(s.okr, Q1);
      expect(byRule(findings, 'TARGET_MOVED')).toEqual(
        pairs(['WARNING', id.moved as string], ['WARNING', id.scoredMoved as string], ['WARNING', id.movedBack as string], ['WARNING', id.baseline as string]),
      );
      const message = (kr: string) => findings.find((f) => f.rule === 'TARGET_MOVED' && f.subjectId === kr)?.message;
      expect(message(id.moved as string)).toContain('target 50 -> 40');
      expect(message(id.moved as string)).toContain('Scope cut');
      expect(message(id.baseline as string)).toContain('baseline 10 -> 12');
    });

    it('is a problem once scored against a moved target, but not when the target was moved back', async () => {
      s.okr.at('2027-04-03T09:00:00Z');
      for (const kr of ['beforeStart', 'scoredMoved', 'movedBack']) await s.okr.score(id[kr] as string, 0.7);
      const findings = await health(s.okr, Q1);
      expect(byRule(findings, 'TARGET_MOVED')).toEqual(
        pairs(['WARNING', id.moved as string], ['PROBLEM', id.scoredMoved as string], ['WARNING', id.movedBack as string], ['WARNING', id.baseline as string]),
      );
      expect(findings.find((f) => f.rule === 'TARGET_MOVED' && f.subjectId === id.scoredMoved)?.message).toContain(
        'original 50, scored against 45',
      );
    });
  });

  describe('UNALIGNED_OBJECTIVE and NOMINAL_ALIGNMENT', () => {
    const s = serverFor('h_align');
    const id = idBag();
    beforeAll(async () => {
      const { okr } = s;
      const org = await okr.org(['Payments', 'Checkout']);
      Object.assign(id, { company: org.company, eng: org.fn, p: org.teams[0], q: org.teams[1] });
      id.sales = await okr.unit('Sales', 'FUNCTION', id.company);
      id.r = await okr.unit('Growth', 'TEAM', id.sales);
      await planQ1(okr);
      okr.at('2026-12-15T10:00:00Z');
      id.co1 = await okr.objective(id.company, Q1, 'Customers trust us');
      id.co2 = await okr.objective(id.company, Q1, 'Nobody works on this');
      id.f1 = await okr.objective(id.eng, Q1, 'Reliable platform', { parentId: id.co1 });
      id.f2 = await okr.objective(id.eng, Q1, 'Fast platform');
      id.f3 = await okr.objective(id.sales, Q1, 'More revenue', { parentId: id.co1 });
      id.t1 = await okr.objective(id.p, Q1, 'Payments never fail', { parentId: id.f1 });
      id.t2 = await okr.objective(id.q, Q1, 'Checkout on its own');
      id.t3 = await okr.objective(id.r, Q1, 'Self-serve revenue', { parentId: id.f3 });
      id.t4 = await okr.objective(id.q, Q1, 'Retired contributor', { parentId: id.f2 });
      await okr.retire(id.t4);
    });

    it('warns on a team objective aligned to nothing and on higher objectives no active objective contributes to', async () => {
      const findings = await health(s.okr, Q1);
      expect(byRule(findings, 'UNALIGNED_OBJECTIVE')).toEqual([['WARNING', id.t2]]);
      expect(byRule(findings, 'NOMINAL_ALIGNMENT')).toEqual(pairs(['WARNING', id.f2], ['WARNING', id.co2]));
    });

    it('follows alignment changes', async () => {
      s.okr.at('2026-12-16T10:00:00Z');
      await s.okr.align(id.t2, id.f2);
      let findings = await health(s.okr, Q1);
      expect(byRule(findings, 'UNALIGNED_OBJECTIVE')).toEqual([]);
      expect(byRule(findings, 'NOMINAL_ALIGNMENT')).toEqual([['WARNING', id.co2]]);
      await s.okr.align(id.t1, null);
      findings = await health(s.okr, Q1);
      expect(byRule(findings, 'UNALIGNED_OBJECTIVE')).toEqual([['WARNING', id.t1]]);
      expect(byRule(findings, 'NOMINAL_ALIGNMENT')).toEqual(pairs(['WARNING', id.f1], ['WARNING', id.co2]));
      expect(byRule(await health(s.okr, Q1, id.sales), 'NOMINAL_ALIGNMENT')).toEqual([]);
    });
  });

  describe('EFFORT_OVER_BUDGET', () => {
    const s = serverFor('h_budget');
    const id = idBag();
    beforeAll(async () => {
      const { okr } = s;
      const org = await okr.org(['AtBudget', 'Over']);
      Object.assign(id, { eng: org.fn, at: org.teams[0], over: org.teams[1] });
      await planQ1(okr);
      okr.at('2027-01-14T09:00:00Z');
      await okr.effort(id.at, Q1, 'SETTING', 2.5);
      await okr.effort(id.at, Q1, 'CHECK_IN', 1.5);
      await okr.effort(id.over, Q1, 'SETTING', 3);
      await okr.effort(id.over, Q1, 'RETROSPECTIVE', 1.5);
      await okr.effort(id.eng, Q1, 'SETTING', 5);
    });

    it('warns on every unit over the 4-day budget, not on one exactly at it', async () => {
      const findings = await health(s.okr, Q1);
      expect(byRule(findings, 'EFFORT_OVER_BUDGET')).toEqual(pairs(['WARNING', id.over], ['WARNING', id.eng]));
      expect(findings.find((f) => f.rule === 'EFFORT_OVER_BUDGET' && f.subjectId === id.over)?.message).toContain('spent 4.5 person-days');
      expect(byRule(await health(s.okr, Q1, id.over), 'EFFORT_OVER_BUDGET')).toEqual([['WARNING', id.over]]);
    });
  });

  describe('NO_RETROSPECTIVE: teams with objectives, from two weeks after the quarter ended', () => {
    const s = serverFor('h_retro');
    const id = idBag();
    beforeAll(async () => {
      const { okr } = s;
      const org = await okr.org(['Held', 'Missing', 'Retired', 'NoObjectives']);
      Object.assign(id, { eng: org.fn, held: org.teams[0], missing: org.teams[1], retired: org.teams[2], none: org.teams[3] });
      await planQ1(okr);
      okr.at('2026-12-15T10:00:00Z');
      const fo = await okr.objective(id.eng, Q1, 'Function objective');
      await okr.objective(id.held, Q1, 'Held', { parentId: fo });
      await okr.objective(id.missing, Q1, 'Missing', { parentId: fo });
      await okr.retire(await okr.objective(id.retired, Q1, 'Retired', { parentId: fo }));
      okr.at('2027-04-05T09:00:00Z');
      await okr.retro(id.held, Q1, 'We learned things');
    });

    it('finds nothing until endsOn + 14 days', async () => {
      s.okr.at('2027-04-14T23:59:59Z');
      expect(byRule(await health(s.okr, Q1), 'NO_RETROSPECTIVE')).toEqual([]);
    });

    it('then warns on each team with active objectives and no retrospective (not functions)', async () => {
      s.okr.at('2027-04-15T00:00:00Z');
      const findings = await health(s.okr, Q1);
      expect(byRule(findings, 'NO_RETROSPECTIVE')).toEqual([['WARNING', id.missing]]);
      expect(findings.find((f) => f.rule === 'NO_RETROSPECTIVE')?.message).toContain('has recorded no retrospective for 2027-Q1');
      expect(byRule(await health(s.okr, Q1, undefined, '2027-04-10T00:00:00Z'), 'NO_RETROSPECTIVE')).toEqual([]);
    });

    it('clears once the team records it', async () => {
      s.okr.at('2027-04-20T09:00:00Z');
      await s.okr.retro(id.missing, Q1, 'Late, but here');
      expect(byRule(await health(s.okr, Q1), 'NO_RETROSPECTIVE')).toEqual([]);
    });
  });

  describe('a healthy team', () => {
    const s = serverFor('h_healthy');
    const id = idBag();
    beforeAll(async () => {
      const { okr } = s;
      const org = await okr.org(['Payments']);
      Object.assign(id, { company: org.company, eng: org.fn, team: org.teams[0] });
      await planQ1(okr);
      okr.at('2026-12-15T10:00:00Z');
      const co = await okr.objective(id.company, Q1, 'Customers trust our payments');
      const fo = await okr.objective(id.eng, Q1, 'Reliable payment platform', { parentId: co });
      const o = await okr.objective(id.team, Q1, 'Make payment failures rare', { parentId: fo });
      const k1 = await okr.keyResult(o, { title: 'Reduce failed payments from 2% to 0.5%', metric: 'failure rate', unit: '%', baseline: 2, target: 0.5 });
      const k2 = await okr.keyResult(o, { title: 'Increase merchants on retries from 10 to 40', metric: 'merchants', baseline: 10, target: 40 });
      okr.at('2026-12-20T10:00:00Z');
      for (const objective of [co, fo, o]) await okr.commit(objective);
      await okr.effort(id.team, Q1, 'SETTING', 1.5);
      let value = 2;
      for (const day of ['2027-01-14', '2027-01-28', '2027-02-11', '2027-02-25', '2027-03-11', '2027-03-25']) {
        okr.at(`${day}T09:00:00Z`);
        value -= 0.2;
        await okr.checkIn(k1, 70, { value });
        await okr.checkIn(k2, 65, { value: 20 });
      }
      await okr.effort(id.team, Q1, 'CHECK_IN', 1);
      okr.at('2027-04-03T09:00:00Z');
      await okr.score(k1, 0.7);
      await okr.score(k2, 0.6);
      await okr.effort(id.team, Q1, 'SCORING', 0.5);
      okr.at('2027-04-05T09:00:00Z');
      await okr.retro(id.team, Q1, 'Retries were the cheap win', [{ keyResultId: k1, calibration: 'RIGHT' }]);
      await okr.effort(id.team, Q1, 'RETROSPECTIVE', 0.5);
    });

    it('gets no findings at any point of the quarter', async () => {
      s.okr.at('2027-04-20T09:00:00Z');
      expect(await health(s.okr, Q1, id.team)).toEqual([]);
      expect(await health(s.okr, Q1)).toEqual([]);
      for (const asOf of ['2026-12-21T00:00:00Z', '2027-02-01T00:00:00Z', '2027-03-31T00:00:00Z', '2027-04-16T00:00:00Z']) {
        expect({ asOf, findings: await health(s.okr, Q1, id.team, asOf) }).toEqual({ asOf, findings: [] });
      }
    });
  });
});

// ------------------------------------------------------------------------------------------------

describe('events: the log with Relay paging and filters', () => {
  const s = serverFor('h_events');
  const id = idBag();
  const EVENTS = `query($first: Int, $after: String, $streamId: String, $quarterId: ID, $types: [String!], $until: DateTime) {
    events(first: $first, after: $after, streamId: $streamId, quarterId: $quarterId, types: $types, until: $until) {
      edges { cursor node { position streamId version type data recordedAt actor } }
      pageInfo { hasNextPage endCursor } } }`;
  const page = async (vars: Record<string, unknown>) => (await s.okr.ok(EVENTS, vars)).events;
  let all: any[] = [];

  /** Walks every page with `first`, checking the Relay page invariants on the way. */
  async function walk(first: number, filter: Record<string, unknown> = {}): Promise<any[]> {
    const nodes: any[] = [];
    let after: string | null = null;
    for (let guard = 0; guard < 1000; guard += 1) {
      const p: any = await page({ ...filter, first, after });
      expect(p.edges.length).toBeLessThanOrEqual(first);
      expect(p.pageInfo.endCursor).toBe(p.edges.at(-1)?.cursor ?? null);
      nodes.push(...p.edges.map((e: any) => e.node));
      if (!p.pageInfo.hasNextPage) return nodes;
      expect(p.edges).toHaveLength(first);
      after = p.pageInfo.endCursor;
    }
    throw new Error('paging did not end');
  }

  beforeAll(async () => {
    const { okr } = s;
    const org = await okr.org(['Payments']);
    Object.assign(id, { team: org.teams[0] });
    await planQ1(okr);
    await planQ2(okr);
    okr.at('2026-12-15T10:00:00Z');
    const o = await okr.objective(id.team, Q1, 'Make payment failures rare');
    id.kr = await okr.keyResult(o, { title: 'Reduce failures from 5 to 1', baseline: 5, target: 1 });
    await okr.commit(o);
    const o2 = await okr.objective(id.team, Q2, 'Next quarter');
    id.kr2 = await okr.keyResult(o2, { title: 'Increase things from 1 to 2', baseline: 1, target: 2 });
    for (let i = 0; i < 40; i += 1) {
      okr.at(new Date(Date.parse('2027-01-04T09:00:00Z') + i * 2 * 86_400_000).toISOString());
      await okr.checkIn(id.kr, 50 + i, { value: 5 - i * 0.1 });
    }
    okr.at('2027-04-03T09:00:00Z');
    await okr.score(id.kr, 0.6);
    await okr.effort(id.team, Q1, 'SCORING', 0.5);
    all = (await page({ first: 500 })).edges.map((e: any) => e.node);
  });

  it('pages of any size walk the whole log in position order, without duplicates or gaps', async () => {
    const total = await s.t.eventCount();
    expect(total).toBeGreaterThan(50);
    expect(all.map((n) => Number(n.position))).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    for (const size of [1, 7, 50, total - 1, total]) {
      const nodes = await walk(size);
      expect({ size, positions: nodes.map((n) => n.position) }).toEqual({ size, positions: all.map((n) => n.position) });
    }
    const defaultPage = await page({});
    expect(defaultPage.edges).toHaveLength(50);
    expect(defaultPage.pageInfo.hasNextPage).toBe(true);
  });

  it('a page ending exactly at the end has no next page, and after the last cursor there is nothing', async () => {
    const total = all.length;
    const exact = await page({ first: total });
    expect(exact.edges).toHaveLength(total);
    expect(exact.pageInfo.hasNextPage).toBe(false);
    const short = await page({ first: total - 1 });
    expect(short.pageInfo.hasNextPage).toBe(true);
    const rest = await page({ first: 10, after: short.pageInfo.endCursor });
    expect(rest.edges.map((e: any) => e.node.position)).toEqual([String(total)]);
    expect(rest.pageInfo.hasNextPage).toBe(false);
    const beyond = await page({ first: 10, after: exact.pageInfo.endCursor });
    expect(beyond).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });

  it('delivers events with their stream, version, type, data, recording time and actor', async () => {
    const first = all[0];
    expect(first).toMatchObject({ position: '1', streamId: `unit-${first.data.unitId}`, version: 1, type: 'UnitRegistered', actor: 'alice', recordedAt: '2026-12-01T09:00:00.000Z' });
    expect(first.data).toMatchObject({ name: 'Acme', level: 'COMPANY', parentId: null });
    const scored = all.find((n) => n.type === 'KeyResultScored');
    expect(scored).toMatchObject({ streamId: `keyResult-${id.kr}`, recordedAt: '2027-04-03T09:00:00.000Z' });
    expect(scored.data).toMatchObject({ keyResultId: id.kr, score: 0.6, previousScore: null, target: 1, quarterId: Q1 });
  });

  it('filters by stream', async () => {
    const nodes = await walk(5, { streamId: `keyResult-${id.kr}` });
    expect(nodes.every((n) => n.streamId === `keyResult-${id.kr}`)).toBe(true);
    expect(nodes.map((n) => n.version)).toEqual(Array.from({ length: 42 }, (_, i) => i + 1));
    expect(nodes.map((n) => n.type)).toEqual(['KeyResultDefined', ...Array(40).fill('CheckInRecorded'), 'KeyResultScored']);
  });

  it('filters by quarter: the events that concern it, not unit registrations or the other quarter', async () => {
    const nodes = await walk(10, { quarterId: Q1 });
    const expected = all.filter((n) => n.data.quarterId === Q1);
    expect(nodes.map((n) => n.position)).toEqual(expected.map((n) => n.position));
    expect(nodes.map((n) => n.type)).toContain('QuarterPlanned');
    expect(nodes.map((n) => n.type)).toContain('ProcessEffortLogged');
    expect(nodes.map((n) => n.type)).not.toContain('UnitRegistered');
    const q2 = await walk(10, { quarterId: Q2 });
    expect(q2.map((n) => n.type)).toEqual(['QuarterPlanned', 'ObjectiveDrafted', 'KeyResultDefined']);
  });

  it('filters by types, and pages through the filtered log', async () => {
    const checkIns = await walk(4, { types: ['CheckInRecorded'] });
    expect(checkIns).toHaveLength(40);
    expect(checkIns.map((n) => n.position)).toEqual(all.filter((n) => n.type === 'CheckInRecorded').map((n) => n.position));
    const two = await walk(50, { types: ['KeyResultScored', 'QuarterPlanned'] });
    expect(two.map((n) => n.type)).toEqual(['QuarterPlanned', 'QuarterPlanned', 'KeyResultScored']);
  });

  it('filters by recording time (until, inclusive)', async () => {
    const until = '2027-01-10T09:00:00Z';
    const nodes = await walk(6, { until });
    const expected = all.filter((n) => Date.parse(n.recordedAt) <= Date.parse(until));
    expect(nodes.map((n) => n.position)).toEqual(expected.map((n) => n.position));
    expect(nodes.filter((n) => n.type === 'CheckInRecorded')).toHaveLength(4); // 01-04, 01-06, 01-08, 01-10 (inclusive)
    const combined = await walk(2, { until, types: ['CheckInRecorded'], streamId: `keyResult-${id.kr}`, quarterId: Q1 });
    expect(combined.map((n) => n.data.confidence)).toEqual([50, 51, 52, 53]);
  });

  it('refuses an invalid cursor with CURSOR_INVALID', async () => {
    const b64 = (text: string) => Buffer.from(text).toString('base64url');
    for (const after of ['not-a-cursor', b64('okr:abc'), b64('other:5'), b64('okr:-1')]) {
      const res = await s.okr.fails(EVENTS, { first: 5, after });
      expect({ after, code: res.code, reason: res.reason }).toEqual({ after, code: 'BAD_USER_INPUT', reason: 'CURSOR_INVALID' });
    }
  });

  it('refuses page sizes outside 1-500 with PAGE_SIZE_INVALID, and accepts 1 and 500', async () => {
    for (const first of [0, 501, -1]) {
      const res = await s.okr.fails(EVENTS, { first });
      expect({ first, code: res.code, reason: res.reason }).toEqual({ first, code: 'BAD_USER_INPUT', reason: 'PAGE_SIZE_INVALID' });
    }
    expect((await page({ first: 1 })).edges).toHaveLength(1);
    expect((await page({ first: 500 })).edges).toHaveLength(all.length);
  });

  it('refuses an unknown event type with EVENT_TYPE_UNKNOWN', async () => {
    const res = await s.okr.fails(EVENTS, { types: ['CheckInRecorded', 'CheckInDeleted'] });
    expect(res).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'EVENT_TYPE_UNKNOWN' });
  });
});

// ------------------------------------------------------------------------------------------------

describe('KeyResult revisions, originalTarget and scoredTarget', () => {
  const s = serverFor('h_revisions');
  const id = idBag();
  const KR = `query($id: ID!, $asOf: DateTime) { keyResult(id: $id, asOf: $asOf) {
    title baseline target originalBaseline originalTarget score scoredAt scoredTarget version
    revisions { at actor reason changes { field from to } } } }`;
  const kr = async (asOf?: string) => (await s.okr.ok(KR, { id: id.kr, asOf: asOf ?? null })).keyResult;

  beforeAll(async () => {
    const { okr } = s;
    const org = await okr.org(['Payments']);
    await planQ1(okr);
    okr.at('2026-12-15T10:00:00Z');
    const o = await okr.objective(org.teams[0] as string, Q1, 'Make payment failures rare');
    id.kr = await okr.keyResult(o, { title: 'Reduce 5xx rate from 0.8% to 0.2%', metric: '5xx rate', unit: '%', baseline: 0.8, target: 0.2 });
  });

  it('before any change: no revisions, original equals current, nothing scored', async () => {
    expect(await kr()).toEqual({
      title: 'Reduce 5xx rate from 0.8% to 0.2%',
      baseline: 0.8,
      target: 0.2,
      originalBaseline: 0.8,
      originalTarget: 0.2,
      score: null,
      scoredAt: null,
      scoredTarget: null,
      version: 1,
      revisions: [],
    });
  });

  it('keeps every revision with what changed, who, when and why', async () => {
    s.okr.at('2027-02-01T10:00:00Z');
    await s.okr.revise(id.kr, 'Vendor outage budget agreed', { target: 0.3 });
    s.okr.at('2027-02-15T10:00:00Z');
    await s.okr.revise(id.kr, 'Measured properly', { title: 'Reduce 5xx rate from 0.9% to 0.3%', baseline: 0.9 });
    expect(await kr()).toEqual({
      title: 'Reduce 5xx rate from 0.9% to 0.3%',
      baseline: 0.9,
      target: 0.3,
      originalBaseline: 0.8,
      originalTarget: 0.2,
      score: null,
      scoredAt: null,
      scoredTarget: null,
      version: 3,
      revisions: [
        { at: '2027-02-01T10:00:00.000Z', actor: 'alice', reason: 'Vendor outage budget agreed', changes: [{ field: 'target', from: 0.2, to: 0.3 }] },
        {
          at: '2027-02-15T10:00:00.000Z',
          actor: 'alice',
          reason: 'Measured properly',
          changes: [
            { field: 'title', from: 'Reduce 5xx rate from 0.8% to 0.2%', to: 'Reduce 5xx rate from 0.9% to 0.3%' },
            { field: 'baseline', from: 0.8, to: 0.9 },
          ],
        },
      ],
    });
  });

  it('records the target in force when scored; a later revision does not change it, a later score does', async () => {
    s.okr.at('2027-04-03T09:00:00Z');
    await s.okr.score(id.kr, 0.6);
    expect(await kr()).toMatchObject({ score: 0.6, scoredAt: '2027-04-03T09:00:00.000Z', scoredTarget: 0.3, originalTarget: 0.2, target: 0.3 });
    s.okr.at('2027-04-04T09:00:00Z');
    await s.okr.revise(id.kr, 'Late change', { target: 0.25 });
    expect(await kr()).toMatchObject({ score: 0.6, scoredTarget: 0.3, target: 0.25, originalTarget: 0.2 });
    s.okr.at('2027-04-05T09:00:00Z');
    await s.okr.score(id.kr, 0.7, 'Against the final target');
    expect(await kr()).toMatchObject({ score: 0.7, scoredAt: '2027-04-05T09:00:00.000Z', scoredTarget: 0.25, version: 6 });
    expect((await kr()).revisions).toHaveLength(3);
  });

  it('as of an instant between the revisions: the state of then', async () => {
    expect(await kr('2027-02-10T00:00:00Z')).toMatchObject({
      title: 'Reduce 5xx rate from 0.8% to 0.2%',
      target: 0.3,
      baseline: 0.8,
      scoredTarget: null,
      version: 2,
      revisions: [{ at: '2027-02-01T10:00:00.000Z', actor: 'alice', reason: 'Vendor outage budget agreed', changes: [{ field: 'target', from: 0.2, to: 0.3 }] }],
    });
  });
});
