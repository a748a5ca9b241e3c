import { EventStore } from '../../events/store';
import { Commands } from '../../src/commands';
import { History } from '../../src/history';
import { Ledger, type Actor } from '../../src/ledger';
import { createTestDatabase, type TestDatabase } from '../support/database';

/*
 * Review finding: an answer "as of T" changes after it was given.
 *
 * An append reads its recorded time once it holds the organisation's head row (events/store.ts: "so an
 * append that waited for it is not stamped with an instant an asOf answer has already covered"), but it
 * commits one statement and a COMMIT later. A reader asking about an instant T at or after that recorded
 * time while the append is still in flight maps T to the last committed position (History.positionAt:
 * recorded_at <= T over committed rows) and answers without the event; once the append commits, the same
 * question about the same T (the same versioned id `<id>@T`) answers with it. README: "the answer is
 * exactly what the same query would have answered at that instant" and node(id:) of a versioned id is
 * "the same object the first answer described" - both broken for instants near the present.
 *
 * The window is held open here by a lock on okr_tree_nodes, which only the append's second statement
 * writes; in production it is that statement's and COMMIT's duration (longer under load or a slow disk).
 */

const ORG = 'org-asof-inflight';
const actor: Actor = { organisationId: ORG, actor: 'lead', correlationId: 'c' };
let now = Date.parse('2027-02-10T12:00:00.000Z');

let db: TestDatabase;
let commands: Commands;
let keyResultId: string;

beforeAll(async () => {
  db = await createTestDatabase('asofinflight');
  commands = new Commands(new Ledger(db.orm, () => new Date(now)), actor);
  await commands.planQuarter({ quarterId: '2027-Q1', startsOn: '2027-01-01T00:00:00.000Z', endsOn: '2027-04-01T00:00:00.000Z' });
  const company = (await commands.registerUnit({ name: 'Co', level: 'COMPANY', parentId: null })).result.unitId;
  const objectiveId = (await commands.draftObjective({ unitId: company, quarterId: '2027-Q1', title: 'Faster checkouts' })).result.objectiveId;
  keyResultId = (await commands.defineKeyResult({ objectiveId, title: 'p99', metric: 'p99', baseline: 900, target: 300 })).result.keyResultId;
  await commands.commitObjective({ objectiveId });
  await commands.recordCheckIn({ keyResultId, confidence: 40, value: 850 });
}, 60_000);

afterAll(async () => {
  await db?.drop();
});

it('an answer as of an instant does not change once given: a reader at or after the last recorded instant waits for appends in flight', async () => {
  now += 60_000;
  const appendAt = new Date(now);
  const askedAbout = new Date(now + 1_000); // the reader's present: not in the future, after the append's recorded time

  // Hold the append between its two statements.
  const blocker = await db.client();
  await blocker.query('BEGIN');
  await blocker.query('LOCK TABLE okr_tree_nodes IN SHARE MODE');
  const checkIn = commands.recordCheckIn({ keyResultId, confidence: 90, value: 400 });
  const observer = await db.client();
  for (let i = 0; ; i += 1) {
    const { rows } = await observer.query(`SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                                            WHERE c.relname = 'okr_tree_nodes' AND NOT l.granted`);
    if (rows[0].n > 0) break;
    if (i > 200) throw new Error('the append never reached its second statement');
    await new Promise((r) => setTimeout(r, 25));
  }

  // Asked while the append is in flight: the reader waits for it (the instant is at or after the last
  // recorded one, so an append in flight may be recorded at or before it), then answers with it.
  const history = new History(db.orm);
  const firstAnswer = history.at(ORG, askedAbout).then((model) => model.keyResult(keyResultId));
  const firstPositionAnswer = history.positionAt(ORG, askedAbout);
  for (let i = 0; ; i += 1) {
    // The readers wait on the head row the append holds (a row lock: a wait on its transaction).
    const { rows } = await observer.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype IN ('transactionid', 'tuple') AND NOT granted`);
    if (rows[0].n >= 2) break;
    if (i > 200) throw new Error('the readers never waited for the append in flight');
    await new Promise((r) => setTimeout(r, 25));
  }
  await blocker.query('COMMIT');
  const first = await firstAnswer;
  const firstPosition = await firstPositionAnswer;
  const [recorded] = (await checkIn).events;
  expect(recorded?.recordedAt.getTime()).toBe(appendAt.getTime());
  expect(recorded?.recordedAt.getTime() ?? Number.NaN).toBeLessThanOrEqual(askedAbout.getTime());

  const second = await (await history.at(ORG, askedAbout)).keyResult(keyResultId);
  const secondPosition = await history.positionAt(ORG, askedAbout);
  expect(await new EventStore().headPosition(db.sql, ORG)).toBe(secondPosition);
  // The same question about the same instant, asked twice.
  expect({ position: secondPosition, confidence: second?.confidence }).toEqual({ position: firstPosition, confidence: first?.confidence });
});
