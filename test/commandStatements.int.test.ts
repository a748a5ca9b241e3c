import { observeStatements } from '../src/clientSql';
import { Commands } from '../src/commands';
import { Ledger, type Actor } from '../src/ledger';
import { createTestDatabase, type TestDatabase } from './support/database';

/*
 * What a command costs in round trips. A check-in is the command teams send most, one after another,
 * and each statement is a round trip while the organisation's appends wait: recordCheckIn reads what it
 * decides on in one statement, then BEGIN, the append's two statements (which fold the events into every
 * read model and its history) and COMMIT. Counted as sent on the pool's connections (src/clientSql.ts),
 * through which every statement of the command path goes.
 */

const ORG = 'org-statements';
const actor = (name: string): Actor => ({ organisationId: ORG, actor: name, correlationId: 'c' });
const now = new Date('2027-02-10T12:00:00Z');

let db: TestDatabase;
const lines: string[] = [];
let stop: () => void;
let commands: Commands;
let keyResultId: string;
let objectiveId: string;
let teamId: string;

/** The statements `work` sends, as their first words. */
async function statements(work: () => Promise<unknown>): Promise<string[]> {
  lines.length = 0;
  await work();
  return lines.map((l) => l.replace(/\s+/g, ' ').trim().slice(0, 40));
}

beforeAll(async () => {
  db = await createTestDatabase('statements');
  stop = observeStatements(db.orm, (text) => lines.push(text));
  commands = new Commands(new Ledger(db.orm, () => now), actor('lead'));
  await commands.planQuarter({ quarterId: '2027-Q1', startsOn: '2027-01-01T00:00:00.000Z', endsOn: '2027-04-01T00:00:00.000Z' });
  const company = (await commands.registerUnit({ name: 'Co', level: 'COMPANY', parentId: null })).result.unitId;
  const fn = (await commands.registerUnit({ name: 'Engineering', level: 'FUNCTION', parentId: company })).result.unitId;
  teamId = (await commands.registerUnit({ name: 'Team', level: 'TEAM', parentId: fn })).result.unitId;
  objectiveId = (await commands.draftObjective({ unitId: teamId, quarterId: '2027-Q1', title: 'Faster checkouts' })).result.objectiveId;
  keyResultId = (
    await commands.defineKeyResult({ objectiveId, title: 'p99 from 900 to 300 ms', metric: 'p99', unit: 'ms', baseline: 900, target: 300 })
  ).result.keyResultId;
  await commands.commitObjective({ objectiveId });
});
afterAll(async () => {
  stop();
  await db.drop();
});

const checkIn = (confidence: number) => ({ keyResultId, confidence, value: 800, whatChanged: 'cache', blockers: null });

describe('statements per command', () => {
  it('recordCheckIn: one read, BEGIN, two append statements, COMMIT', async () => {
    await commands.recordCheckIn(checkIn(60));
    const sent = await statements(() => commands.recordCheckIn(checkIn(65)));
    expect(sent).toHaveLength(5);
    expect(sent[0]).toMatch(/^WITH refs AS/);
    expect(sent[1]).toMatch(/^begin/i);
    expect(sent[2]).toMatch(/^WITH claim AS/);
    expect(sent[3]).toMatch(/^WITH head AS/);
    expect(sent[4]).toMatch(/^commit/i);
  });

  it('recordCheckIn with an idempotency key: still five, and the same key again is answered from the first statement', async () => {
    const first = await statements(() => commands.recordCheckIn(checkIn(66), { idempotencyKey: 'k-1' }));
    expect(first).toHaveLength(5);
    expect(first[2]).toMatch(/^WITH idem AS/);
    const again = await statements(() => commands.recordCheckIn(checkIn(66), { idempotencyKey: 'k-1' }));
    expect(again).toHaveLength(1);
  });

  it('every read model is written by the append: the check-in, the key result, the effort tally and their versions', async () => {
    const [row] = await db.sql.query<{ confidence: number; check_ins: number; versions: string; effort: number }>(
      `SELECT k.confidence, (SELECT count(*) FROM okr_check_ins WHERE key_result_id = k.id)::int AS check_ins,
              (SELECT count(*) FROM okr_key_results_history WHERE id = k.id) AS versions,
              (SELECT check_ins FROM okr_effort WHERE id = k.unit_id || '/' || k.quarter_id) AS effort
         FROM okr_key_results k WHERE k.organisation_id = ? AND k.id = ?`,
      [ORG, keyResultId],
    );
    expect(row).toEqual({ confidence: 66, check_ins: 3, versions: '4', effort: 3 });
  });

  it('commands that read more streams say so up front: key result and objective changes stay at five too', async () => {
    const revise = await statements(() => commands.reviseKeyResult({ keyResultId, reason: 'new baseline measured', baseline: 850 }));
    expect(revise).toHaveLength(5);
    const refine = await statements(() => commands.refineObjective({ objectiveId, title: 'Faster checkouts everywhere' }));
    expect(refine).toHaveLength(5);
  });

  it('recordMeasurement: five as well (it reads what a check-in reads)', async () => {
    const sent = await statements(() => commands.recordMeasurement({ keyResultId, value: 640, source: 'ci/p99' }));
    expect(sent).toHaveLength(5);
    expect(sent[1]).toMatch(/^begin/i);
    expect(sent[4]).toMatch(/^commit/i);
  });

  it('carryOverObjective: its reads, then one transaction: a lock of what it relied on, two statements per stream it writes', async () => {
    await commands.planQuarter({ quarterId: '2027-Q2', startsOn: '2027-04-01T00:00:00.000Z', endsOn: '2027-07-01T00:00:00.000Z', settingOpensOn: '2027-02-01T00:00:00.000Z' });
    const [{ n: keyResultsOf } = { n: 0 }] = await db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM okr_key_results WHERE objective_id = ?', [objectiveId]);
    const sent = await statements(() => commands.carryOverObjective({ objectiveId, toQuarterId: '2027-Q2' }));
    const begin = sent.findIndex((s) => /^begin/i.test(s));
    // Reads: the streams prefetched in one statement, the log for the objective's key results, each key result whole.
    expect(sent.slice(0, begin)).toHaveLength(2 + keyResultsOf);
    const [lock, ...writes] = sent.slice(begin + 1, -1);
    expect(sent.at(-1)).toMatch(/^commit/i);
    // First the streams it relied on (the key results, the quarters) share-locked and compared, then the
    // old objective (the link), the new objective, and every key result carried (none reached its target).
    expect(lock).toMatch(/^SELECT stream_id, version FROM okr_strea/); // (statements are cut at 40 characters)
    expect(writes).toHaveLength(2 * (2 + keyResultsOf));
    expect(writes.filter((w) => /^WITH (claim|idem) AS/.test(w))).toHaveLength(2 + keyResultsOf);
  });

  it('re-reads the documents under the head lock when another append of the organisation committed after its snapshot', async () => {
    // Two check-ins on different key results of one team both count in the team's effort tally: run at
    // once, one statement's snapshot predates the other's commit, and the tally must still count both.
    const mine: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      mine.push((
        await commands.defineKeyResult({ objectiveId, title: `errors from 2% to 0.5% in region ${i}`, metric: 'error rate', unit: '%', baseline: 2, target: 0.5 })
      ).result.keyResultId);
    }
    const [before] = await db.sql.query<{ n: number }>('SELECT check_ins AS n FROM okr_effort WHERE organisation_id = ? AND id = ?', [ORG, `${teamId}/2027-Q1`]);
    const others = Array.from({ length: 4 }, (_, i) => new Commands(new Ledger(db.orm, () => now), actor(`writer-${i}`)));
    await Promise.all(
      others.map(async (c, i) => {
        for (let n = 0; n < 10; n += 1) await c.recordCheckIn({ keyResultId: mine[i] as string, confidence: 50 + n, value: 1.5, whatChanged: null, blockers: null });
      }),
    );
    const [after] = await db.sql.query<{ n: number }>('SELECT check_ins AS n FROM okr_effort WHERE organisation_id = ? AND id = ?', [ORG, `${teamId}/2027-Q1`]);
    expect((after?.n ?? 0) - (before?.n ?? 0)).toBe(40);
    const [history] = await db.sql.query<{ open: string; versions: string }>(
      `SELECT count(*) FILTER (WHERE valid_to IS NULL) AS open, count(*) AS versions FROM okr_effort_history WHERE organisation_id = ? AND id = ?`,
      [ORG, `${teamId}/2027-Q1`],
    );
    expect(Number(history?.open)).toBe(1);
  });
});
