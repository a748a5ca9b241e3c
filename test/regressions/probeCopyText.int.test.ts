import { Commands } from '../../src/commands';
import { Ledger, type Actor } from '../../src/ledger';
import { rebuildProjections } from '../../src/rebuild';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { snapshotDifferences, snapshotReadModels } from '../support/faults';

/*
 * Probe (passes on main; evidence of what the review checked): texts COPY's text format could get wrong,
 * through every text and jsonb column kind, rebuilt (bulk COPY and catch-up) equal to what the live path wrote.
 */

const ORG = 'org-copy-text';
const actor: Actor = { organisationId: ORG, actor: 'lead\t"\\N"', correlationId: 'c' };
const now = new Date('2027-02-10T12:00:00Z');
const NASTY = [
  'a\n\\.\nb', // end-of-data marker on a line of its own
  '\\.',
  '\\N',
  'back\\', // a trailing backslash
  'mid\rcr and \\r literal',
  'tab\there\\t and \\\\ double',
  'nbsp\u00a0zwj\u200d line sep\u2028 para\u2029 bom\ufeff',
  'astral 𝄞 🚀 combining é',
  '\u0001\u0002\u0007\u000b\u000c\u001b\u007f controls',
  'quote "double" \'single\' {"json": [1, "x"]}',
  `long ${'α\tβ\\γ\n'.repeat(900)}`,
];

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('probecopy');
  const ids = Array.from({ length: 100 }, (_, i) => `id-${String(i).padStart(3, '0')}`);
  const commands = new Commands(new Ledger(db.orm, () => now), actor, () => ids.shift() as string);
  await commands.planQuarter({ quarterId: '2027-Q1', startsOn: '2027-01-01T00:00:00.000Z', endsOn: '2027-04-01T00:00:00.000Z' });
  const company = (await commands.registerUnit({ name: NASTY[0] as string, level: 'COMPANY', parentId: null })).result.unitId;
  const objectiveId = (await commands.draftObjective({ unitId: company, quarterId: '2027-Q1', title: 'x', description: (NASTY[10] as string).slice(0, 4000) })).result.objectiveId;
  const keyResultId = (await commands.defineKeyResult({ objectiveId, title: 'kr', metric: NASTY[6] as string, unit: '\\N', baseline: 0, target: 10 })).result.keyResultId;
  await commands.commitObjective({ objectiveId });
  for (const [i, text] of NASTY.entries()) {
    await commands.recordCheckIn({ keyResultId, confidence: i, value: i / 3, whatChanged: text.slice(0, 4000), blockers: NASTY[(i + 3) % NASTY.length]?.slice(0, 4000) ?? null });
    await commands.reviseKeyResult({ keyResultId, reason: text.slice(0, 1000), title: `t${i} ${text.slice(0, 200)}` });
  }
  await commands.scoreKeyResult({ keyResultId, score: 0.7, note: NASTY[4] });
  await commands.recordRetrospective({
    unitId: company, quarterId: '2027-Q1', learnings: NASTY.join(' | ').slice(0, 20000),
    calibrations: [{ keyResultId, calibration: 'RIGHT', note: NASTY[3] }],
  });
}, 60_000);

afterAll(async () => {
  await db?.drop();
});

it('rebuilt rows equal live rows for texts COPY must escape', async () => {
  const live = await snapshotReadModels(db.orm, db.sql);
  await rebuildProjections(db.orm, { batchSize: 7 });
  expect(snapshotDifferences(live, await snapshotReadModels(db.orm, db.sql))).toEqual([]);
}, 60_000);
