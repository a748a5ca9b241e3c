import { pooledSql } from '../../src/clientSql';
import { Commands } from '../../src/commands';
import { Ledger, type Actor } from '../../src/ledger';
import { rebuildProjections } from '../../src/rebuild';
import { TableReadModel, TemporalReadModel } from '../../projections/tables';
import { EventStore } from '../../events/store';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { snapshotDifferences, snapshotReadModels } from '../support/faults';

/*
 * Probe (passes on main; evidence of what the review checked): pooled connections hold named prepared
 * statements (src/clientSql.ts) for the append's two statements and the readers' reads; a rebuild drops
 * the live tables and renames new ones in their place. Writers and readers keep going on the same pool
 * through two rebuilds: no "cached plan must not change result type", nothing written to a dropped table,
 * nothing missed or folded twice (a rebuild afterwards, with nothing appending, changes no row).
 */

const ORGS = ['org-swap-a', 'org-swap-b'];
const now = new Date('2027-02-10T12:00:00Z');
let db: TestDatabase;
const keyResults = new Map<string, string[]>();

beforeAll(async () => {
  db = await createTestDatabase('probeswap');
  for (const org of ORGS) {
    const actor: Actor = { organisationId: org, actor: 'lead', correlationId: 'c' };
    let n = 0;
    const commands = new Commands(new Ledger(db.orm, () => now), actor, () => `${org}-${String(++n).padStart(4, '0')}`);
    await commands.planQuarter({ quarterId: '2027-Q1', startsOn: '2027-01-01T00:00:00.000Z', endsOn: '2027-04-01T00:00:00.000Z' });
    const company = (await commands.registerUnit({ name: 'Co', level: 'COMPANY', parentId: null })).result.unitId;
    const objectiveId = (await commands.draftObjective({ unitId: company, quarterId: '2027-Q1', title: 'Faster' })).result.objectiveId;
    const krs: string[] = [];
    for (let i = 0; i < 4; i += 1) krs.push((await commands.defineKeyResult({ objectiveId, title: `KR ${i}`, metric: 'm', baseline: 0, target: 100 })).result.keyResultId);
    await commands.commitObjective({ objectiveId });
    keyResults.set(org, krs);
  }
}, 60_000);

afterAll(async () => {
  await db?.drop();
});

it('writers and readers on the pool go on through rebuilds; the result is what a quiet rebuild gives', async () => {
  let stop = false;
  const errors: unknown[] = [];
  let appended = 0;
  const writers = ORGS.flatMap((org) => [0, 1, 2].map(async (w) => {
    const commands = new Commands(new Ledger(db.orm, () => now), { organisationId: org, actor: `w${w}`, correlationId: 'c' });
    const krs = keyResults.get(org) as string[];
    for (let i = 0; !stop; i += 1) {
      const keyResultId = krs[(i + w) % krs.length] as string;
      try {
        if (i % 7 === 3) await commands.reviseKeyResult({ keyResultId, reason: `revision ${w}.${i}\tw\\x`, target: 100 + i });
        else if (i % 5 === 1) await commands.logProcessEffort({ unitId: `${org}-0001`, quarterId: '2027-Q1', activity: 'CHECK_IN', personDays: 0.1 });
        else await commands.recordCheckIn({ keyResultId, confidence: i % 100, value: i, whatChanged: `line\nbreak ${i}` });
        appended += 1;
      } catch (error) {
        errors.push(error);
      }
    }
  }));
  const readers = ORGS.map(async (org) => {
    const sql = pooledSql(db.orm);
    const store = new EventStore();
    while (!stop) {
      try {
        const live = new TableReadModel(sql, org);
        await live.objectives({ quarterId: '2027-Q1' }, { keyResults: true });
        await live.checkIns({ quarterId: '2027-Q1' });
        const head = await store.headPosition(sql, org);
        await new TemporalReadModel(sql, org, head, now).keyResults({ quarterId: '2027-Q1' });
      } catch (error) {
        errors.push(error);
      }
    }
  });
  await new Promise((r) => setTimeout(r, 300));
  await rebuildProjections(db.orm);
  await new Promise((r) => setTimeout(r, 200));
  await rebuildProjections(db.orm, { names: ['keyResults', 'checkIns', 'effort'] });
  await new Promise((r) => setTimeout(r, 300));
  stop = true;
  await Promise.all([...writers, ...readers]);
  expect(errors.map(String).filter((e) => !/ConcurrencyError/.test(e))).toEqual([]);
  expect(appended).toBeGreaterThan(20);

  const live = await snapshotReadModels(db.orm, db.sql);
  await rebuildProjections(db.orm);
  const rebuilt = await snapshotReadModels(db.orm, db.sql);
  expect(snapshotDifferences(live, rebuilt)).toEqual([]);
}, 120_000);
