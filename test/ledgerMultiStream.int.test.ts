import { DomainError } from '../domain/errors';
import { lastReading } from '../domain/keyResult';
import { streamId, type DomainEvent, type KeyResultEvent } from '../events/catalogue';
import { ConcurrencyError } from '../events/errors';
import { EventStore } from '../events/store';
import { Commands, ownStream } from '../src/commands';
import { Ledger, type Actor } from '../src/ledger';
import { createTestDatabase, totalEvents, type TestDatabase } from './support/database';

/*
 * A command that appends to several streams (carryOverObjective) is applied whole or not at all, and a
 * concurrent change to any stream it read or writes is a conflict, detected and retried like any other.
 */

const ORG = 'org-multi';
const actor = (name: string): Actor => ({ organisationId: ORG, actor: name, correlationId: `c-${name}` });
let now = Date.parse('2027-03-20T10:00:00Z');
const clock = () => new Date((now += 1000));

let db: TestDatabase;
let ledger: Ledger;
let commands: Commands;
let objectiveId: string;
let otherObjectiveId: string;
let keyResultIds: string[];
const store = new EventStore();

beforeAll(async () => {
  db = await createTestDatabase('multistream');
  ledger = new Ledger(db.orm, clock);
  commands = new Commands(ledger, actor('lead'));
  const company = (await commands.registerUnit({ name: 'Co', level: 'COMPANY', parentId: null })).result.unitId;
  await commands.planQuarter({ quarterId: '2027-Q1', startsOn: '2027-01-01T00:00:00Z', endsOn: '2027-04-01T00:00:00Z' });
  await commands.planQuarter({ quarterId: '2027-Q2', startsOn: '2027-04-01T00:00:00Z', endsOn: '2027-07-01T00:00:00Z' });
  objectiveId = (await commands.draftObjective({ unitId: company, quarterId: '2027-Q1', title: 'Fast pipelines' })).result.objectiveId;
  otherObjectiveId = (await commands.draftObjective({ unitId: company, quarterId: '2027-Q1', title: 'Calm on-call' })).result.objectiveId;
  keyResultIds = [];
  for (const baseline of [40, 12]) {
    keyResultIds.push((await commands.defineKeyResult({ objectiveId, title: `p95 from ${baseline}`, metric: 'p95', unit: 'min', baseline, target: baseline / 4 })).result.keyResultId);
  }
});
afterAll(() => db.drop());

const version = async (stream: string) => store.streamVersion(db.sql, ORG, stream);

it('appends nothing when a later stream of the command fails its check, though the first one passed', async () => {
  const before = { events: await totalEvents(db.sql), target: await version(streamId.objective(objectiveId)), head: await store.headPosition(db.sql, ORG) };
  const refined = (id: string, title: string): DomainEvent => ({ type: 'ObjectiveRefined', data: { objectiveId: id, unitId: 'u', quarterId: '2027-Q1', title } });
  const attempt = ledger.execute(actor('mallory'), {
    name: 'test',
    input: {},
    target: { streamId: streamId.objective(objectiveId), streamType: 'objective' },
    result: null,
    // The second stream exists, but the decision did not read it: it is appended as a stream that must not exist yet.
    decide: async (read) => {
      await read(streamId.objective(objectiveId));
      return [refined(objectiveId, 'Renamed'), refined(otherObjectiveId, 'Renamed too')];
    },
    streamOf: ownStream,
  });
  await expect(attempt).rejects.toBeInstanceOf(ConcurrencyError);
  await expect(attempt).rejects.toMatchObject({ streamId: streamId.objective(otherObjectiveId) });
  expect({ events: await totalEvents(db.sql), target: await version(streamId.objective(objectiveId)), head: await store.headPosition(db.sql, ORG) }).toEqual(before);
  const [title] = await db.sql.query<{ title: string }>('SELECT title FROM okr_objectives WHERE organisation_id = ? AND id = ?', [ORG, objectiveId]);
  expect(title?.title).toBe('Fast pipelines');
});

it('carries an objective over once into a quarter, however many try at once', async () => {
  const tries = await Promise.allSettled(
    ['a', 'b', 'c', 'd'].map((who) => new Commands(ledger, actor(who)).carryOverObjective({ objectiveId: otherObjectiveId, toQuarterId: '2027-Q2' })),
  );
  expect(tries.filter((t) => t.status === 'fulfilled')).toHaveLength(1);
  const refusals = tries.flatMap((t) => (t.status === 'rejected' ? [t.reason as unknown] : []));
  expect(refusals.every((e) => e instanceof DomainError && e.reason === 'ALREADY_CARRIED_OVER')).toBe(true);
  const [drafts] = await db.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM okr_objectives WHERE organisation_id = ? AND carried_from = ?", [ORG, otherObjectiveId]);
  expect(drafts?.n).toBe(1);
});

it('takes as baseline the reading the key result had when the carry-over committed, while readings keep coming', async () => {
  const pause = () => new Promise((resolve) => setTimeout(resolve, 5));
  const writers = keyResultIds.map((keyResultId, w) =>
    (async () => {
      const cmd = new Commands(ledger, actor(`ci-${w}`));
      for (let i = 0; i < 12; i += 1) {
        if (i % 2 === 0) await cmd.recordMeasurement({ keyResultId, value: 30 - i - w, source: 'ci' });
        else await cmd.recordCheckIn({ keyResultId, confidence: 50 + i, value: i % 3 === 0 ? null : 29 - i, whatChanged: null, blockers: null });
        await pause();
      }
    })(),
  );
  await new Promise((resolve) => setTimeout(resolve, 20));
  // A key result read by the decision changed before the commit: CONFLICT (after the ledger's own retries),
  // nothing appended; the client tries again, as it would.
  let carried: Awaited<ReturnType<Commands['carryOverObjective']>> | undefined;
  for (let tries = 0; carried === undefined && tries < 20; tries += 1) {
    carried = await commands.carryOverObjective({ objectiveId, toQuarterId: '2027-Q2' }).catch(async (error: unknown) => {
      if (!(error instanceof ConcurrencyError)) throw error;
      expect(await store.streamVersion(db.sql, ORG, streamId.objective(objectiveId))).toBe(1); // the link was not written
      return undefined;
    });
  }
  await Promise.all(writers);
  if (carried === undefined) throw new Error('the carry-over never committed');
  const link = carried.events.find((e) => e.type === 'ObjectiveCarriedOver');
  expect(link).toBeDefined();
  for (const defined of carried.events.filter((e) => e.type === 'KeyResultDefined')) {
    const data = defined.data as { baseline: number; carriedFrom: { keyResultId: string } };
    const history = (await store.readStream(db.sql, ORG, streamId.keyResult(data.carriedFrom.keyResultId))).events;
    const before = history.filter((e) => e.position < (link?.position ?? 0)) as unknown as KeyResultEvent[];
    const original = (history[0]?.data as { baseline: number }).baseline;
    expect(data.baseline).toBe(lastReading(before)?.value ?? original);
  }
  // Everything the command wrote shares one instant and one causation.
  expect(new Set(carried.events.map((e) => e.recordedAt.getTime())).size).toBe(1);
  expect(new Set(carried.events.map((e) => e.metadata.causationId)).size).toBe(1);
});

it('lets only the objective\'s unit\'s members and admins carry it over', async () => {
  const before = await totalEvents(db.sql);
  const as = (access: ConstructorParameters<typeof Commands>[3]) =>
    new Commands(ledger, actor('someone'), undefined, access).carryOverObjective({ objectiveId, toQuarterId: '2027-Q2' });
  await expect(as({ role: 'member', units: ['another-unit'] })).rejects.toMatchObject({ code: 'FORBIDDEN', reason: 'NOT_YOUR_UNIT' });
  await expect(as({ role: 'analyst', units: [] })).rejects.toMatchObject({ code: 'FORBIDDEN', reason: 'READ_ONLY_ROLE' });
  await expect(as({ role: 'service', units: [], keyResults: keyResultIds })).rejects.toMatchObject({ code: 'FORBIDDEN', reason: 'SERVICE_MEASURES_ONLY' });
  expect(await totalEvents(db.sql)).toBe(before);
});
