import { ephemeralCheckpointKeys } from '../../src/checkpointKeys';
import { connectionsOf, observeStatements } from '../../src/clientSql';
import { Commands } from '../../src/commands';
import { Ledger } from '../../src/ledger';
import { CauseScheduler } from '../../src/webhooks/scheduler';
import { WebhookService } from '../../src/webhooks/service';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { TestClock } from '../support/server';

/*
 * Where outbox rows come from. A quarter's planning and closing write theirs in the statement that
 * appends the event (so they commit or roll back together, and a check-in's append carries nothing
 * more); the scheduler finds the rest (phase changes of the clock, forgotten check-ins, new health
 * problems) and enqueues each cause once, however often it runs and however many run.
 */

const keys = ephemeralCheckpointKeys();
let db: TestDatabase;
const clock = new TestClock(new Date('2027-01-05T09:00:00Z'));
const HOOK = 'http://127.0.0.1:9/hook';

const commandsOf = (org: string, ledger = new Ledger(db.orm, clock.now, undefined, undefined, keys.signing)) =>
  new Commands(ledger, { organisationId: org, actor: 'ada', correlationId: 'c' });
const hooksOf = (org: string) =>
  new WebhookService({ sql: connectionsOf(db.orm).sql, clock: clock.now, allowPrivateAddresses: true }).forPrincipal({ organisationId: org, subject: 'ada', role: 'admin', units: [] });
const scheduler = () => new CauseScheduler({ connections: connectionsOf(db.orm), clock: clock.now, effortBudget: () => 4, intervalMs: 60_000 });
/** One pass of a scheduler of its own (as another server's would be). */
const run = () => scheduler().runOnce();

async function outbox(org: string): Promise<{ cause_key: string; webhook_id: string; cause: any; xmin: string }[]> {
  return db.sql.query(`SELECT cause_key, webhook_id, cause, xmin::text AS xmin FROM okr_webhook_outbox WHERE organisation_id = ? ORDER BY created_at, cause_key`, [org]);
}
const keysOf = async (org: string) => (await outbox(org)).map((r) => r.cause_key);
/** Runs the scheduler(s) given, and answers how many rows `org`'s outbox gained (the passes also see other organisations). */
async function added(org: string, ...passes: (() => Promise<number>)[]): Promise<number> {
  const before = (await outbox(org)).length;
  await Promise.all(passes.map((pass) => pass()));
  return (await outbox(org)).length - before;
}

/** The transaction that appended `type` (xmin of its event row). */
async function eventXmin(org: string, type: string): Promise<string | undefined> {
  const [row] = await db.sql.query<{ xmin: string }>('SELECT xmin::text AS xmin FROM okr_events WHERE organisation_id = ? AND type = ? ORDER BY position DESC LIMIT 1', [org, type]);
  return row?.xmin;
}

async function world(org: string) {
  const commands = commandsOf(org);
  const company = (await commands.registerUnit({ name: 'Acme', level: 'COMPANY', parentId: null })).result.unitId;
  const fn = (await commands.registerUnit({ name: 'Engineering', level: 'FUNCTION', parentId: company })).result.unitId;
  const team = (await commands.registerUnit({ name: 'Payments', level: 'TEAM', parentId: fn })).result.unitId;
  const other = (await commands.registerUnit({ name: 'Search', level: 'TEAM', parentId: fn })).result.unitId;
  return { commands, company, fn, team, other };
}

beforeAll(async () => {
  db = await createTestDatabase('hookcauses');
});
afterAll(() => db.drop());

describe('quarter phase changes recorded as events', () => {
  const org = 'org-phase-events';

  it('write their outbox rows in the transaction that appends the event, for every active webhook that wants them', async () => {
    const { commands, company, team } = await world(org);
    const wanted = (await hooksOf(org).add({ unitId: team, url: HOOK, kind: 'SIGNED_JSON', causes: ['QUARTER_PHASE'], secret: null })).webhook;
    const notWanted = (await hooksOf(org).add({ unitId: team, url: HOOK, kind: 'SLACK', causes: ['FORGOTTEN_CHECK_IN'], secret: null })).webhook;
    const paused = (await hooksOf(org).add({ unitId: company, url: HOOK, kind: 'SLACK', causes: null, secret: null })).webhook;
    await hooksOf(org).pause(paused.id);
    // Another organisation's webhooks hear nothing of this one's quarters.
    const elsewhere = await world('org-elsewhere');
    await hooksOf('org-elsewhere').add({ unitId: elsewhere.team, url: HOOK, kind: 'SLACK', causes: null, secret: null });

    await commands.planQuarter({ quarterId: '2027-Q1', startsOn: '2027-01-01T00:00:00.000Z', endsOn: '2027-04-01T00:00:00.000Z' });
    const rows = await outbox(org);
    expect(rows.map((r) => [r.cause_key, r.webhook_id])).toEqual([['phase:2027-Q1:PLANNED', wanted.id]]);
    expect(rows[0]?.cause).toMatchObject({ kind: 'QUARTER_PHASE', quarterId: '2027-Q1', phase: 'PLANNED', startsOn: '2027-01-01T00:00:00.000Z' });
    expect(rows[0]?.xmin).toBe(await eventXmin(org, 'QuarterPlanned'));
    expect(rows.some((r) => r.webhook_id === notWanted.id || r.webhook_id === paused.id)).toBe(false);
    expect(await keysOf('org-elsewhere')).toEqual([]);
  });

  it('roll back with the append: a close that fails leaves no QuarterClosed event and no outbox row; a close that commits leaves both', async () => {
    const commands = commandsOf(org);
    await commands.planQuarter({ quarterId: '2026-Q4', startsOn: '2026-10-01T00:00:00.000Z', endsOn: '2027-01-01T00:00:00.000Z' });
    // The checkpoint a close signs is written in the same transaction after the append: make it fail.
    const failing = new Ledger(db.orm, clock.now, undefined, undefined, { ...keys.signing, originOf: () => { throw new Error('the signing key is gone'); } });
    await expect(commandsOf(org, failing).closeQuarter('2026-Q4')).rejects.toThrow('the signing key is gone');
    expect(await eventXmin(org, 'QuarterClosed')).toBeUndefined();
    expect(await keysOf(org)).not.toContain('phase:2026-Q4:CLOSED');

    await commands.closeQuarter('2026-Q4');
    const closed = (await outbox(org)).find((r) => r.cause_key === 'phase:2026-Q4:CLOSED');
    expect(closed?.cause).toMatchObject({ kind: 'QUARTER_PHASE', quarterId: '2026-Q4', phase: 'CLOSED' });
    expect(closed?.xmin).toBe(await eventXmin(org, 'QuarterClosed'));
  });

  it('add nothing to appends that change no phase: recordCheckIn stays at five statements', async () => {
    const commands = commandsOf(org);
    const [team] = (await db.sql.query<{ id: string }>(`SELECT id FROM okr_units WHERE organisation_id = ? AND name = 'Payments'`, [org])).map((r) => r.id);
    const objectiveId = (await commands.draftObjective({ unitId: team as string, quarterId: '2027-Q1', title: 'Reliable payments' })).result.objectiveId;
    const keyResultId = (await commands.defineKeyResult({ objectiveId, title: 'Failed payments from 2% to 1%', metric: 'failures', unit: '%', baseline: 2, target: 1 })).result.keyResultId;
    const lines: string[] = [];
    const stop = observeStatements(db.orm, (text) => lines.push(text));
    try {
      await commands.recordCheckIn({ keyResultId, confidence: 60, value: 1.8, whatChanged: null, blockers: null });
      expect(lines).toHaveLength(5);
      expect(lines.some((l) => l.includes('okr_webhook_outbox'))).toBe(false);
      lines.length = 0;
      await commands.planQuarter({ quarterId: '2027-Q2', startsOn: '2027-04-01T00:00:00.000Z', endsOn: '2027-07-01T00:00:00.000Z' });
      // planQuarter too: its outbox row rides in the append's second statement.
      expect(lines).toHaveLength(5);
      expect(lines[3]).toMatch(/^WITH head AS/);
      expect(lines[3]).toContain('webhook_outbox AS (INSERT INTO okr_webhook_outbox');
    } finally {
      stop();
    }
  });
});

describe('the scheduler', () => {
  it('enqueues the phase changes the clock makes, once, for webhooks that existed before them', async () => {
    const org = 'org-phase-clock';
    clock.set('2027-03-01T09:00:00Z');
    const { commands, team } = await world(org);
    await commands.planQuarter({ quarterId: '2027-Q2', startsOn: '2027-04-01T00:00:00.000Z', endsOn: '2027-07-01T00:00:00.000Z', settingOpensOn: '2027-03-11T00:00:00.000Z' });
    const early = (await hooksOf(org).add({ unitId: team, url: HOOK, kind: 'SLACK', causes: ['QUARTER_PHASE'], secret: null })).webhook;
    expect(await added(org, run)).toBe(0);

    clock.set('2027-03-11T00:30:00Z');
    const late = (await hooksOf(org).add({ unitId: team, url: HOOK, kind: 'SLACK', causes: ['QUARTER_PHASE'], secret: null })).webhook;
    // Two servers' schedulers at once, and again: one row.
    expect(await added(org, run, run)).toBe(1);
    expect(await added(org, run)).toBe(0);
    const setting = (await outbox(org)).filter((r) => r.cause_key === 'phase:2027-Q2:SETTING');
    expect(setting.map((r) => r.webhook_id)).toEqual([early.id]);
    expect(setting[0]?.cause).toMatchObject({ phase: 'SETTING', at: '2027-03-11T00:00:00.000Z' });

    clock.set('2027-04-02T00:00:00Z');
    expect(await added(org, run)).toBe(2);
    expect((await keysOf(org)).filter((k) => k === 'phase:2027-Q2:ACTIVE')).toHaveLength(2);
    // Long after, nothing old is dug up.
    clock.set('2027-07-20T00:00:00Z');
    expect(await added(org, run)).toBe(0);
    expect(late.id).toBeDefined();
  });

  it("enqueues a forgotten check-in once per missed due date, at the unit's cadence, only for units whose webhooks want it", async () => {
    const org = 'org-forgotten';
    clock.set('2027-01-02T00:00:00Z');
    const { commands, team, other } = await world(org);
    await commands.planQuarter({ quarterId: 'F1', startsOn: '2027-01-01T00:00:00.000Z', endsOn: '2027-04-01T00:00:00.000Z' });
    await hooksOf(org).add({ unitId: team, url: HOOK, kind: 'SLACK', causes: ['FORGOTTEN_CHECK_IN'], secret: null });
    const kr = async (unitId: string) => {
      const objectiveId = (await commands.draftObjective({ unitId, quarterId: 'F1', title: 'Happy merchants' })).result.objectiveId;
      return (await commands.defineKeyResult({ objectiveId, title: 'Refund time from 9 to 3 days', metric: 'days', baseline: 9, target: 3 })).result.keyResultId;
    };
    const mine = await kr(team);
    await kr(other);

    clock.set('2027-01-15T23:59:00Z');
    expect(await added(org, run)).toBe(0);
    clock.set('2027-01-16T00:00:00Z');
    expect(await added(org, run)).toBe(1);
    expect(await added(org, run)).toBe(0);
    expect(await keysOf(org)).toEqual([`forgotten:${mine}:2027-01-16T00:00:00.000Z`]);
    expect((await outbox(org))[0]?.cause).toMatchObject({ kind: 'FORGOTTEN_CHECK_IN', unitName: 'Payments', keyResultTitle: 'Refund time from 9 to 3 days', cadence: 'BIWEEKLY', lastCheckInAt: null });

    clock.set('2027-01-17T00:00:00Z');
    await commands.recordCheckIn({ keyResultId: mine, confidence: 50, value: 8, whatChanged: null, blockers: null });
    await commands.setCheckInCadence({ unitId: team, cadence: 'MONTHLY' });
    clock.set('2027-01-31T00:00:00Z');
    expect(await added(org, run)).toBe(0);
    clock.set('2027-02-17T00:00:00Z');
    expect(await added(org, run)).toBe(1);
    expect((await keysOf(org)).at(-1)).toBe(`forgotten:${mine}:2027-02-17T00:00:00.000Z`);
    // Once the quarter has ended, it is no longer a reminder's business.
    clock.set('2027-04-20T00:00:00Z');
    expect(await added(org, run)).toBe(0);
  });

  it('enqueues a health finding that became a problem since the previous evaluation; the first evaluation is a baseline', async () => {
    const org = 'org-health';
    clock.set('2027-01-10T00:00:00Z');
    const { commands, team } = await world(org);
    await commands.planQuarter({ quarterId: 'H1', startsOn: '2027-01-01T00:00:00.000Z', endsOn: '2027-04-01T00:00:00.000Z' });
    const draft = async () => (await commands.draftObjective({ unitId: team, quarterId: 'H1', title: 'One more thing' })).result.objectiveId;
    const objectives: string[] = [];
    for (let i = 0; i < 6; i += 1) objectives.push(await draft());
    await hooksOf(org).add({ unitId: team, url: HOOK, kind: 'SIGNED_JSON', causes: ['HEALTH_PROBLEM'], secret: null });

    // Six objectives are a problem already: the first evaluation records it and tells nobody.
    expect(await added(org, run)).toBe(0);
    const remembered = await db.sql.query<{ finding: string }>('SELECT finding FROM okr_webhook_problems WHERE organisation_id = ?', [org]);
    expect(remembered.map((r) => r.finding)).toEqual([`TOO_MANY_OBJECTIVES:${team}`]);

    await commands.retireObjective({ objectiveId: objectives[0] as string, reason: 'merged' });
    expect(await added(org, run)).toBe(0);
    expect(await db.sql.query('SELECT finding FROM okr_webhook_problems WHERE organisation_id = ?', [org])).toEqual([]);

    clock.set('2027-01-11T00:00:00Z');
    await draft();
    expect(await added(org, run)).toBe(1);
    expect(await added(org, run, run)).toBe(0);
    const [row] = await outbox(org);
    expect(row?.cause_key).toBe(`health:H1:TOO_MANY_OBJECTIVES:${team}:2027-01-11T00:00:00.000Z`);
    expect(row?.cause).toMatchObject({ kind: 'HEALTH_PROBLEM', rule: 'TOO_MANY_OBJECTIVES', severity: 'PROBLEM', unitName: 'Payments', quarterId: 'H1' });
  });
});
