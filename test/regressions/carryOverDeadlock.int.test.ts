import { DomainError } from '../../domain/errors';
import { ConcurrencyError } from '../../events/errors';
import { Commands } from '../../src/commands';
import { Ledger } from '../../src/ledger';
import { createTestDatabase, type TestDatabase } from '../support/database';

/**
 * Why: carryOverObjective writes an objective while relying on its key results, the opposite of a check-in
 * or a measurement, which writes a key result while relying on its objective. Each append locks the stream
 * it writes, then share-locks the ones it relies on: so a carry-over held the objective and waited for a
 * key result that a check-in held while it waited for the objective, and PostgreSQL killed one of them
 * ("deadlock detected", answered INTERNAL_SERVER_ERROR). A command over several streams now share-locks what
 * it relied on before it writes anything (events/store.ts lockStreams), in the order everyone else does.
 */

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('carrydeadlock');
});
afterAll(() => db.drop());

it('carries objectives over while their key results are checked in, measured and added to, without a deadlock', async () => {
  let now = Date.parse('2027-03-20T10:00:00Z');
  const ledger = new Ledger(db.orm, () => new Date((now += 100)));
  const admin = new Commands(ledger, { organisationId: 'org', actor: 'admin', correlationId: 'c' });
  const unitId = (await admin.registerUnit({ name: 'Co', level: 'COMPANY', parentId: null })).result.unitId;
  await admin.planQuarter({ quarterId: 'Q1', startsOn: '2027-01-01T00:00:00Z', endsOn: '2027-04-01T00:00:00Z' });
  const later = ['Q2', 'Q3', 'Q4', 'Q5', 'Q6', 'Q7', 'Q8', 'Q9'];
  for (const [i, quarterId] of later.entries()) {
    await admin.planQuarter({
      quarterId,
      startsOn: new Date(Date.UTC(2027, 3 + 3 * i, 1)).toISOString(),
      endsOn: new Date(Date.UTC(2027, 6 + 3 * i, 1)).toISOString(),
      settingOpensOn: '2027-03-01T00:00:00Z',
    });
  }
  const objectives: string[] = [];
  const keyResults: string[] = [];
  for (let o = 0; o < 4; o += 1) {
    const objectiveId = (await admin.draftObjective({ unitId, quarterId: 'Q1', title: `Objective ${o}` })).result.objectiveId;
    objectives.push(objectiveId);
    for (let k = 0; k < 3; k += 1) keyResults.push((await admin.defineKeyResult({ objectiveId, title: `KR ${k}`, metric: 'm', baseline: 100, target: 10 })).result.keyResultId);
  }
  const outcomes: Record<string, number> = {};
  const count = (what: string) => void (outcomes[what] = (outcomes[what] ?? 0) + 1);
  const run = (command: Promise<unknown>) =>
    command.then(
      () => count('ok'),
      (error: unknown) => count(error instanceof DomainError ? error.reason : error instanceof ConcurrencyError ? 'CONFLICT' : `unexpected: ${(error as Error).message}`),
    );
  await Promise.all(
    Array.from({ length: 10 }, async (_, w) => {
      const cmd = new Commands(ledger, { organisationId: 'org', actor: `writer-${w}`, correlationId: `w${w}` });
      for (let i = 0; i < 40; i += 1) {
        const roll = (i * 7 + w * 13) % 10;
        const keyResultId = keyResults[(i + w) % keyResults.length] as string;
        const objectiveId = objectives[(i * 3 + w) % objectives.length] as string;
        if (roll < 4) await run(cmd.recordCheckIn({ keyResultId, confidence: 50, value: 90 - i, whatChanged: null, blockers: null }));
        else if (roll < 6) await run(cmd.recordMeasurement({ keyResultId, value: 80 - i, source: 'ci' }));
        else if (roll < 7) await run(cmd.defineKeyResult({ objectiveId, title: 'Added', metric: 'm', baseline: 5, target: 1 }));
        else if (roll < 8) await run(cmd.refineObjective({ objectiveId, title: `Refined ${i}` }));
        else await run(cmd.carryOverObjective({ objectiveId, toQuarterId: later[(i + w) % later.length] as string }));
      }
    }),
  );
  expect(Object.keys(outcomes).filter((k) => k.startsWith('unexpected'))).toEqual([]);
  expect(outcomes.ok).toBeGreaterThan(300);
  expect(outcomes.ALREADY_CARRIED_OVER).toBeGreaterThan(0);
}, 120_000);
