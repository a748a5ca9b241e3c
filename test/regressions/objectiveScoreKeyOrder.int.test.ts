import { EventStore } from '../../events/store';
import { MemoryReadModel } from '../../projections/memory';
import { TableReadModel, TemporalReadModel } from '../../projections/tables';
import { Commands } from '../../src/commands';
import { Ledger, type Actor } from '../../src/ledger';
import { rebuildProjections } from '../../src/rebuild';
import { createTestDatabase, type TestDatabase } from '../support/database';

/*
 * Review finding: an objective's score is the mean of its key results' scores, summed in the order of
 * the keys of its `keyResultScores` object (projections/models/objectives.ts meanWhenAllScored). The
 * live path folds a document loaded back from a jsonb column (projections/persist.ts loadQuery), whose
 * keys PostgreSQL sorts (shorter first, then bytewise); the in-memory reference and the rebuild's bulk
 * fold keep JavaScript insertion order (definition order). Floating-point addition is not associative,
 * so the same log gives different scores live, in memory and after a rebuild as soon as key result ids
 * are not defined in jsonb key order (random UUIDs: most of the time).
 *
 * Here: three key results defined as kr-c, kr-b, kr-a and scored 0.1, 0.2, 0.3.
 *   memory / rebuild: (0.1 + 0.2 + 0.3) / 3 = 0.20000000000000004
 *   live / history:   (0.3 + 0.2 + 0.1) / 3 = 0.19999999999999998
 */

const ORG = 'org-score-order';
const actor: Actor = { organisationId: ORG, actor: 'lead', correlationId: 'c' };
const now = new Date('2027-02-10T12:00:00Z');

let db: TestDatabase;
let objectiveId: string;

beforeAll(async () => {
  db = await createTestDatabase('scoreorder');
  const ids = ['unit-co', 'unit-fn', 'unit-team', 'objective-1', 'kr-c', 'kr-b', 'kr-a'];
  const commands = new Commands(new Ledger(db.orm, () => now), actor, () => ids.shift() as string);
  await commands.planQuarter({ quarterId: '2027-Q1', startsOn: '2027-01-01T00:00:00.000Z', endsOn: '2027-04-01T00:00:00.000Z' });
  const company = (await commands.registerUnit({ name: 'Co', level: 'COMPANY', parentId: null })).result.unitId;
  const fn = (await commands.registerUnit({ name: 'Engineering', level: 'FUNCTION', parentId: company })).result.unitId;
  const team = (await commands.registerUnit({ name: 'Team', level: 'TEAM', parentId: fn })).result.unitId;
  objectiveId = (await commands.draftObjective({ unitId: team, quarterId: '2027-Q1', title: 'Faster checkouts' })).result.objectiveId;
  const krs: string[] = [];
  for (const title of ['C', 'B', 'A']) {
    krs.push((await commands.defineKeyResult({ objectiveId, title, metric: 'm', baseline: 0, target: 10 })).result.keyResultId);
  }
  expect(krs).toEqual(['kr-c', 'kr-b', 'kr-a']);
  await commands.commitObjective({ objectiveId });
  await commands.scoreKeyResult({ keyResultId: 'kr-c', score: 0.1 });
  await commands.scoreKeyResult({ keyResultId: 'kr-b', score: 0.2 });
  await commands.scoreKeyResult({ keyResultId: 'kr-a', score: 0.3 });
}, 60_000);

afterAll(async () => {
  await db?.drop();
});

async function memoryScore(): Promise<number | null> {
  const events = await new EventStore().readAll(db.sql, { organisationId: ORG });
  return (await new MemoryReadModel().apply(events).objective(objectiveId))?.score ?? null;
}

it('live, history and the in-memory reference agree on an objective\'s score', async () => {
  const reference = await memoryScore();
  const live = (await new TableReadModel(db.sql, ORG).objective(objectiveId))?.score ?? null;
  const head = await new EventStore().headPosition(db.sql, ORG);
  const temporal = (await new TemporalReadModel(db.sql, ORG, head, now).objective(objectiveId))?.score ?? null;
  expect({ live, temporal }).toEqual({ live: reference, temporal: reference });
});

it('a rebuild leaves an objective\'s score as the live path wrote it', async () => {
  const before = (await new TableReadModel(db.sql, ORG).objective(objectiveId))?.score ?? null;
  await rebuildProjections(db.orm);
  const after = (await new TableReadModel(db.sql, ORG).objective(objectiveId))?.score ?? null;
  expect(after).toBe(before);
});
