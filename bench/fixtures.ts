/**
 * The organisations the write benchmarks run on, set up through the real command path: a company,
 * a function and a team, a quarter from 30 days ago to 60 days ahead, committed objectives with key
 * results; and the check-in every write scenario records (bench/run.ts, bench/organisations.ts).
 */
import { randomUUID } from 'node:crypto';
import { Commands } from '../src/commands';
import type { Actor, Ledger } from '../src/ledger';

export const DAY = 24 * 60 * 60 * 1000;

export const actorOf = (organisationId: string, name: string): Actor => ({ organisationId, actor: name, correlationId: randomUUID() });

export interface Fixture {
  organisationId: string;
  quarterId: string;
  functionId: string;
  teamId: string;
}

export async function setUpOrganisation(ledger: Ledger, organisationId: string): Promise<Fixture> {
  const c = new Commands(ledger, actorOf(organisationId, 'bench-setup'));
  const now = Date.now();
  const quarterId = 'bench-Q';
  await c.planQuarter({
    quarterId,
    startsOn: new Date(now - 30 * DAY).toISOString(),
    endsOn: new Date(now + 60 * DAY).toISOString(),
  });
  const { result: company } = await c.registerUnit({ name: 'Bench Co', level: 'COMPANY', parentId: null });
  const { result: fn } = await c.registerUnit({ name: 'Engineering', level: 'FUNCTION', parentId: company.unitId });
  const { result: team } = await c.registerUnit({ name: 'Payments', level: 'TEAM', parentId: fn.unitId });
  return { organisationId, quarterId, functionId: fn.unitId, teamId: team.unitId };
}

export async function addTeam(ledger: Ledger, fixture: Fixture, name: string): Promise<string> {
  const c = new Commands(ledger, actorOf(fixture.organisationId, 'bench-setup'));
  return (await c.registerUnit({ name, level: 'TEAM', parentId: fixture.functionId })).result.unitId;
}

export async function objectiveWithIds(
  ledger: Ledger,
  fixture: Fixture,
  teamId: string,
  title: string,
  keyResults: number,
): Promise<{ objectiveId: string; keyResultIds: string[] }> {
  const c = new Commands(ledger, actorOf(fixture.organisationId, 'bench-setup'));
  const { objectiveId } = (
    await c.draftObjective({ unitId: teamId, quarterId: fixture.quarterId, title, description: `${title}: benchmark objective` })
  ).result;
  const ids: string[] = [];
  for (let i = 0; i < keyResults; i += 1) {
    const { keyResultId } = (
      await c.defineKeyResult({
        objectiveId,
        title: `${title} KR ${i + 1}: reduce p99 checkout latency from 900 ms to 300 ms`,
        metric: 'p99 checkout latency',
        unit: 'ms',
        baseline: 900,
        target: 300,
      })
    ).result;
    ids.push(keyResultId);
  }
  await c.commitObjective({ objectiveId });
  return { objectiveId, keyResultIds: ids };
}

/** A committed objective of the team with `keyResults` key results; returns the key result ids. */
export async function objectiveWithKeyResults(
  ledger: Ledger,
  fixture: Fixture,
  teamId: string,
  title: string,
  keyResults: number,
): Promise<string[]> {
  return (await objectiveWithIds(ledger, fixture, teamId, title, keyResults)).keyResultIds;
}

/** The check-in every write scenario records (the i-th of a writer). */
export const checkInInput = (keyResultId: string, i: number) => ({
  keyResultId,
  confidence: 40 + (i % 50),
  value: 900 - (i % 600),
  whatChanged: `Rolled out connection pooling to ${i % 7} more services; p99 moved.`,
  blockers: i % 5 === 0 ? 'Waiting for the database team to raise max_connections.' : null,
});
