import { SeedRefusedError, seedDemo, type SeedSummary } from '../src/seed';
import { createTestDatabase, type TestDatabase } from './support/database';

/*
 * The demo seed (npm run seed): a realistic organisation appended only through Commands, on a
 * simulated clock that never passes "now". A fixed now keeps the expected numbers exact.
 */

const NOW = new Date('2026-11-18T15:30:00.000Z'); // day 48 of 2026-Q4: four check-in rounds so far
const ORG = 'demo';
const DAY = 24 * 60 * 60 * 1000;
const SEED_TIMEOUT = 180_000;

interface EventRow {
  stream_id: string;
  stream_version: number;
  type: string;
  data: Record<string, unknown>;
  metadata: { actor: string; correlationId: string };
  recorded_at: string;
}

async function eventsOf(db: TestDatabase, organisationId: string): Promise<EventRow[]> {
  return db.sql.query<EventRow>(
    'SELECT stream_id, stream_version, type, data, metadata, recorded_at FROM okr_events WHERE organisation_id = ? ORDER BY position',
    [organisationId],
  );
}

const n = (value: unknown): number => Number(value);
/** Raw queries answer timestamptz as text. */
const ms = (value: string | Date | null | undefined): number => (value == null ? NaN : new Date(value).getTime());

describe('seedDemo', () => {
  let db: TestDatabase;
  let summary: SeedSummary;
  let events: EventRow[];

  beforeAll(async () => {
    db = await createTestDatabase('seed');
    summary = await seedDemo(db.orm, { organisationId: ORG, now: NOW });
    events = await eventsOf(db, ORG);
  }, SEED_TIMEOUT);
  afterAll(() => db.drop());

  it('reports what it appended', () => {
    expect(summary).toMatchObject({
      organisationId: ORG,
      units: 7,
      objectives: 32,
      keyResults: 61,
      retrospectives: 4,
      events: events.length,
    });
    expect(summary.currentQuarter.id).toBe('2026-Q4');
    expect(summary.previousQuarter.id).toBe('2026-Q3');
    expect(summary.checkIns).toBe(events.filter((e) => e.type === 'CheckInRecorded').length);
    expect(summary.checkIns).toBeGreaterThan(200);
    expect(summary.lastRecordedAt.getTime()).toBeLessThanOrEqual(NOW.getTime());
  });

  it("names the values of README's example placeholders: the next quarter, a past instant, and ids that exist", () => {
    const e = summary.examples;
    expect(e.nextQuarter).toMatchObject({ id: '2027-Q1', startsOn: new Date('2027-01-01T00:00:00Z'), endsOn: new Date('2027-04-01T00:00:00Z') });
    // Two weeks before now, at midnight: inside the current quarter and in the past (asOf refuses the future).
    expect(e.earlierInstant).toEqual(new Date('2026-11-04T00:00:00Z'));
    expect(events.some((ev) => ev.type === 'QuarterPlanned' && ev.data.quarterId === '2027-Q1')).toBe(false);
    const registered = (id: string) => events.find((ev) => ev.type === 'UnitRegistered' && ev.data.unitId === id)?.data;
    expect(registered(e.company.id)).toMatchObject({ level: 'COMPANY', name: e.company.name });
    expect(registered(e.function.id)).toMatchObject({ level: 'FUNCTION', parentId: e.company.id });
    expect(registered(e.team.id)).toMatchObject({ level: 'TEAM', parentId: e.function.id });
    const drafted = (id: string) => events.find((ev) => ev.type === 'ObjectiveDrafted' && ev.data.objectiveId === id)?.data;
    expect(drafted(e.functionObjective.id)).toMatchObject({ unitId: e.function.id, quarterId: '2026-Q4' });
    expect(drafted(e.objective.id)).toMatchObject({ unitId: e.team.id, quarterId: '2026-Q4', parentId: e.functionObjective.id });
    const defined = events.find((ev) => ev.type === 'KeyResultDefined' && ev.data.keyResultId === e.keyResult.id)?.data;
    expect(defined).toMatchObject({ objectiveId: e.objective.id, title: e.keyResult.title });
    // To carry over: the team's objective of the closed previous quarter; to measure: the CI duration key result.
    expect(drafted(e.previousObjective.id)).toMatchObject({ unitId: e.team.id, quarterId: '2026-Q3', title: e.previousObjective.title });
    const ci = events.find((ev) => ev.type === 'KeyResultDefined' && ev.data.keyResultId === e.ciKeyResult.id)?.data;
    expect(ci).toMatchObject({ quarterId: '2026-Q4', title: e.ciKeyResult.title, metric: expect.stringMatching(/p95 duration of the main-branch CI pipeline/) });
  });

  it('registers a company, two functions and four teams, at least two of them in Engineering', async () => {
    const units = await db.sql.query<{ id: string; name: string; level: string; parent_id: string | null }>(
      'SELECT id, name, level, parent_id FROM okr_units WHERE organisation_id = ?',
      [ORG],
    );
    expect(units).toHaveLength(7);
    expect(units.filter((u) => u.level === 'COMPANY')).toHaveLength(1);
    expect(units.filter((u) => u.level === 'FUNCTION')).toHaveLength(2);
    expect(units.filter((u) => u.level === 'TEAM')).toHaveLength(4);
    const engineering = units.find((u) => u.name === 'Engineering');
    expect(units.filter((u) => u.level === 'TEAM' && u.parent_id === engineering?.id).length).toBeGreaterThanOrEqual(2);
  });

  it('plans the current quarter with a three-week setting window, and closes the previous one', async () => {
    const quarters = await db.sql.query<{ id: string; starts_on: string; ends_on: string; setting_opens_on: string; closed_at: string | null }>(
      'SELECT id, starts_on, ends_on, setting_opens_on, closed_at FROM okr_quarters WHERE organisation_id = ? ORDER BY starts_on',
      [ORG],
    );
    expect(quarters.map((q) => q.id)).toEqual(['2026-Q3', '2026-Q4']);
    const [previous, current] = quarters;
    expect(ms(current?.starts_on)).toBe(Date.parse('2026-10-01T00:00:00Z'));
    expect(ms(current?.ends_on)).toBe(Date.parse('2027-01-01T00:00:00Z'));
    expect(ms(current?.setting_opens_on)).toBe(Date.parse('2026-09-10T00:00:00Z'));
    expect(current?.closed_at).toBeNull();
    expect(previous?.closed_at).not.toBeNull();
    expect(ms(previous?.closed_at)).toBeGreaterThanOrEqual(ms(previous?.ends_on));
    expect(ms(previous?.closed_at)).toBeLessThanOrEqual(NOW.getTime());
  });

  it('gives every key result a baseline different from its target, and only one OUTPUT key result', async () => {
    const krs = await db.sql.query<{ title: string; baseline: number; target: number; kind: string; quarter_id: string }>(
      'SELECT title, baseline, target, kind, quarter_id FROM okr_key_results WHERE organisation_id = ?',
      [ORG],
    );
    expect(krs).toHaveLength(61);
    for (const kr of krs) expect(kr.baseline).not.toBe(kr.target);
    const outputs = krs.filter((k) => k.kind === 'OUTPUT');
    expect(outputs.map((k) => [k.title, k.quarter_id])).toEqual([['Complete migration of authentication service to OAuth 2.0', '2026-Q4']]);
  });

  it('aligns team objectives to function objectives, and those to company objectives, 2 to 4 per team', async () => {
    const rows = await db.sql.query<{ id: string; quarter_id: string; parent_id: string | null; level: string; unit_id: string; lifecycle: string }>(
      `SELECT o.id, o.quarter_id, o.parent_id, u.level, o.unit_id, o.lifecycle
         FROM okr_objectives o JOIN okr_units u ON u.organisation_id = o.organisation_id AND u.id = o.unit_id
        WHERE o.organisation_id = ?`,
      [ORG],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const o of rows) {
      expect(o.lifecycle).toBe('COMMITTED');
      if (o.level === 'COMPANY') expect(o.parent_id).toBeNull();
      if (o.level === 'FUNCTION') expect(byId.get(o.parent_id ?? '')?.level).toBe('COMPANY');
      if (o.level === 'TEAM') expect(byId.get(o.parent_id ?? '')?.level).toBe('FUNCTION');
    }
    const perTeamQuarter = new Map<string, number>();
    for (const o of rows.filter((r) => r.level === 'TEAM')) {
      const key = `${o.unit_id}/${o.quarter_id}`;
      perTeamQuarter.set(key, (perTeamQuarter.get(key) ?? 0) + 1);
    }
    expect(perTeamQuarter.size).toBe(8);
    for (const count of perTeamQuarter.values()) {
      expect(count).toBeGreaterThanOrEqual(2);
      expect(count).toBeLessThanOrEqual(4);
    }
  });

  it('records bi-weekly check-ins in both quarters, with text, none after now, and one team gone quiet', async () => {
    const checkIns = await db.sql.query<{ quarter_id: string; unit: string; as_of: string; confidence: number; value: number | null; what_changed: string | null; author: string | null }>(
      `SELECT c.quarter_id, u.name AS unit, c.as_of, c.confidence, c.value, c.what_changed, c.author
         FROM okr_check_ins c JOIN okr_units u ON u.organisation_id = c.organisation_id AND u.id = c.unit_id
        WHERE c.organisation_id = ?`,
      [ORG],
    );
    expect(checkIns.filter((c) => c.quarter_id === '2026-Q3').length).toBeGreaterThan(100);
    expect(checkIns.filter((c) => c.quarter_id === '2026-Q4').length).toBeGreaterThan(50);
    for (const c of checkIns) {
      expect(ms(c.as_of)).toBeLessThanOrEqual(NOW.getTime());
      expect(c.confidence).toBeGreaterThanOrEqual(0);
      expect(c.confidence).toBeLessThanOrEqual(100);
      expect(c.value).not.toBeNull();
      expect(c.what_changed?.length ?? 0).toBeGreaterThan(10);
    }
    expect(checkIns.some((c) => c.quarter_id === '2026-Q4' && c.what_changed?.includes('at the last check-in'))).toBe(true);
    const lastIn = (unit: string) =>
      Math.max(...checkIns.filter((c) => c.quarter_id === '2026-Q4' && c.unit === unit).map((c) => ms(c.as_of)));
    for (const team of ['Payments', 'Platform', 'Growth']) expect(NOW.getTime() - lastIn(team)).toBeLessThan(14 * DAY);
    expect(NOW.getTime() - lastIn('Mobile')).toBeGreaterThan(28 * DAY);
    expect(new Set(checkIns.map((c) => c.author)).size).toBe(7);
  });

  it('revises a target mid-quarter with a reason, and scores every key result of the previous quarter', async () => {
    const revisions = events.filter((e) => e.type === 'KeyResultRevised');
    const current = revisions.filter((e) => e.data.quarterId === '2026-Q4');
    expect(current).toHaveLength(1);
    expect(String(current[0]?.data.reason)).toMatch(/legal/);
    expect(current[0]?.data.changes).toEqual([{ field: 'target', from: 12, to: 10.5 }]);
    expect(ms(current[0]?.recorded_at)).toBeGreaterThan(Date.parse('2026-11-15T00:00:00Z')); // mid-quarter

    const scores = await db.sql.query<{ quarter_id: string; score: number | null }>(
      'SELECT quarter_id, score FROM okr_key_results WHERE organisation_id = ?',
      [ORG],
    );
    const previous = scores.filter((s) => s.quarter_id === '2026-Q3');
    expect(previous.length).toBe(28);
    for (const s of previous) {
      expect(s.score).not.toBeNull();
      expect(s.score).toBeGreaterThanOrEqual(0);
      expect(s.score).toBeLessThanOrEqual(1);
    }
    expect(scores.filter((s) => s.quarter_id === '2026-Q4' && s.score !== null)).toHaveLength(0);
  });

  it('logs process effort per team, mostly within 3-4 person-days, one team over', async () => {
    const effort = await db.sql.query<{ name: string; setting_days: number; check_in_days: number; scoring_days: number; retrospective_days: number }>(
      `SELECT u.name, e.setting_days, e.check_in_days, e.scoring_days, e.retrospective_days
         FROM okr_effort e JOIN okr_units u ON u.organisation_id = e.organisation_id AND u.id = e.unit_id
        WHERE e.organisation_id = ? AND e.quarter_id = '2026-Q3' AND u.level = 'TEAM'`,
      [ORG],
    );
    const totals = new Map(effort.map((e) => [e.name, n(e.setting_days) + n(e.check_in_days) + n(e.scoring_days) + n(e.retrospective_days)]));
    expect([...totals.keys()].sort()).toEqual(['Growth', 'Mobile', 'Payments', 'Platform']);
    for (const [team, days] of totals) {
      if (team === 'Growth') expect(days).toBeGreaterThan(4);
      else {
        expect(days).toBeGreaterThanOrEqual(3);
        expect(days).toBeLessThanOrEqual(4);
      }
    }
    for (const e of effort) for (const part of [e.setting_days, e.check_in_days, e.scoring_days, e.retrospective_days]) expect(n(part)).toBeGreaterThan(0);
  });

  it('records every event at or before now, in order, by the people who lead each unit', () => {
    let previous = -Infinity;
    for (const e of events) {
      const t = ms(e.recorded_at);
      expect(t).toBeLessThanOrEqual(NOW.getTime());
      expect(t).toBeGreaterThanOrEqual(previous);
      previous = t;
    }
    expect(ms(events[0]?.recorded_at)).toBeLessThan(new Date('2026-06-15T00:00:00Z').getTime());
    expect(new Set(events.map((e) => e.metadata.actor))).toEqual(
      new Set(['Amara Okafor', 'Daniel Reyes', 'Priya Natarajan', 'Sofia Lindqvist', 'Kenji Watanabe', 'Lucas Moreau', 'Hannah Becker']),
    );
  });

  it('refuses to seed an organisation that has events, appending nothing', async () => {
    const before = (await eventsOf(db, ORG)).length;
    await expect(seedDemo(db.orm, { organisationId: ORG, now: NOW })).rejects.toThrow(SeedRefusedError);
    await expect(seedDemo(db.orm, { organisationId: ORG, now: NOW })).rejects.toThrow(/already has \d+ events/);
    expect((await eventsOf(db, ORG)).length).toBe(before);
  });

  it('seeds a second organisation beside the first: its back-dated history is its own log, from position 1', async () => {
    const before = await eventsOf(db, ORG);
    const summary = await seedDemo(db.orm, { organisationId: 'another', now: NOW });
    const theirs = await db.sql.query<{ position: string }>('SELECT position FROM okr_events WHERE organisation_id = ? ORDER BY position', ['another']);
    expect(theirs.map((r) => Number(r.position))).toEqual(Array.from({ length: summary.events }, (_, i) => i + 1));
    expect(await eventsOf(db, ORG)).toEqual(before);
  });

  it('refuses a now so early that the demo would start before year 1, appending nothing', async () => {
    await expect(seedDemo(db.orm, { organisationId: 'ancient', now: new Date('0001-02-01T00:00:00Z') })).rejects.toThrow(
      /before 0001-01-01T00:00:00.000Z.*later --now/,
    );
    expect(await eventsOf(db, 'ancient')).toHaveLength(0);
  });

  describe('given the same now on another database', () => {
    let other: TestDatabase;
    beforeAll(async () => {
      other = await createTestDatabase('seedagain');
      await seedDemo(other.orm, { organisationId: ORG, now: NOW });
    }, SEED_TIMEOUT);
    afterAll(() => other.drop());

    it('appends exactly the same history (ids, data, times and actors)', async () => {
      const strip = (e: EventRow) => ({ ...e, metadata: { actor: e.metadata.actor, correlationId: e.metadata.correlationId } });
      expect((await eventsOf(other, ORG)).map(strip)).toEqual(events.map(strip));
    });
  });
});

describe('seedDemo half an hour into a quarter', () => {
  const now = new Date('2027-01-01T00:30:00.000Z');
  let db: TestDatabase;
  let summary: SeedSummary;
  beforeAll(async () => {
    db = await createTestDatabase('seedearly');
    summary = await seedDemo(db.orm, { organisationId: ORG, now });
  }, SEED_TIMEOUT);
  afterAll(() => db.drop());

  it('still scores, retrospects and closes the previous quarter before now, and records nothing later', async () => {
    expect(summary.currentQuarter.id).toBe('2027-Q1');
    expect(summary.previousQuarter.id).toBe('2026-Q4');
    const quarters = await db.sql.query<{ id: string; closed_at: string | null }>(
      'SELECT id, closed_at FROM okr_quarters WHERE organisation_id = ? ORDER BY starts_on',
      [ORG],
    );
    expect(quarters.map((q) => [q.id, q.closed_at !== null])).toEqual([['2026-Q4', true], ['2027-Q1', false]]);
    expect(summary.retrospectives).toBe(4);
    expect(summary.scores).toBe(28);
    const [late] = await db.sql.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM okr_events WHERE organisation_id = ? AND recorded_at > ?',
      [ORG, now],
    );
    expect(late?.n).toBe(0);
    const [current] = await db.sql.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM okr_check_ins WHERE organisation_id = ? AND quarter_id = '2027-Q1'",
      [ORG],
    );
    expect(current?.n).toBe(0);
  });
});
