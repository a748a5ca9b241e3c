import { rebuildProjections } from '../../src/rebuild';
import { createTestDatabase, type TestDatabase, verifyEveryLog } from '../support/database';
import {
  dataOf,
  freePort,
  gqlRequest,
  present,
  rowCount,
  sleep,
  snapshotDifferences,
  snapshotReadModels,
  startServerProcess,
  TEST_CHECKPOINT_KEYS,
  streamProblems,
  type Child,
  type HttpOutcome,
} from '../support/faults';

/*
 * The real server (`node -r ts-node/register/transpile-only src/main.ts`) as a child process on a fresh
 * database. Several clients drive mutations with idempotency keys; the process is SIGKILLed in the
 * middle; then, on the same database: no half-applied command (events, stream rows, idempotency records
 * and inline read models agree; the read models equal a rebuild), the hash chain verifies, and after a
 * restart every request that got no answer, retried with its same idempotency key, succeeds and is
 * applied exactly once.
 */

const ORG = 'org-kill';
const CLIENTS = 8;
const MAX_REQUESTS_PER_CLIENT = 400;
const KILL_AFTER_ANSWERS = 120;
const KILL_AFTER_MS = 4000;
const DAY = 86_400_000;

const CHECK_IN = `mutation($i: RecordCheckInInput!) { recordCheckIn(input: $i) { id } }`;
const EFFORT = `mutation($i: LogProcessEffortInput!) { logProcessEffort(input: $i) { personDays } }`;
const DEFINE = `mutation($i: DefineKeyResultInput!) { defineKeyResult(input: $i) { id } }`;
const DRAFT = `mutation($i: DraftObjectiveInput!) { draftObjective(input: $i) { id } }`;

/** The event type and the result field each mutation produces. */
const KINDS = {
  checkIn: { query: CHECK_IN, field: 'recordCheckIn', eventType: 'CheckInRecorded' },
  effort: { query: EFFORT, field: 'logProcessEffort', eventType: 'ProcessEffortLogged' },
  define: { query: DEFINE, field: 'defineKeyResult', eventType: 'KeyResultDefined' },
  draft: { query: DRAFT, field: 'draftObjective', eventType: 'ObjectiveDrafted' },
} as const;
type Kind = keyof typeof KINDS;

interface Sent {
  key: string;
  kind: Kind;
  variables: { i: Record<string, unknown> };
  outcome: HttpOutcome;
}

type Verdict = 'success' | 'conflict' | 'unanswered' | 'unexpected';
function verdict(s: Sent): Verdict {
  const o = s.outcome;
  if (o.status === null) return 'unanswered';
  const errors = o.body?.errors ?? [];
  if (o.status === 200 && errors.length === 0 && o.body?.data?.[KINDS[s.kind].field] != null) return 'success';
  if (o.status === 200 && errors.length === 1 && errors[0]?.extensions?.code === 'CONFLICT') return 'conflict';
  return 'unexpected';
}
const show = (s: Sent): string => `${s.key} ${s.kind}: status ${s.outcome.status} ${s.outcome.failure ?? ''} ${s.outcome.text.slice(0, 300)}`;

let db: TestDatabase;
let server: (Child & { url: string }) | null = null;
const world = { units: [] as string[], quarterId: 'FQ-kill', objectives: [] as string[], keyResults: [] as string[] };
const sent: Sent[] = [];

async function must(query: string, variables: Record<string, unknown>): Promise<Record<string, any>> {
  if (!server) throw new Error('no server');
  return dataOf(await gqlRequest(server.url, query, variables), query.slice(0, 60));
}

/** Client `c`'s i-th request: a mix of commands on shared and new streams, each with its own key. */
function requestFor(c: number, i: number): Omit<Sent, 'outcome'> {
  const key = `kill-c${c}-i${i}`;
  const team = present(world.units[1 + (c % 3)], 'team');
  const roll = (c * 31 + i * 7) % 10;
  if (roll < 5) {
    const keyResultId = present(world.keyResults[(c + i) % world.keyResults.length], 'key result');
    return { key, kind: 'checkIn', variables: { i: { keyResultId, confidence: (c * 13 + i) % 101, value: c + i / 100, whatChanged: `c${c} i${i}`, idempotencyKey: key } } };
  }
  if (roll < 7) {
    return { key, kind: 'effort', variables: { i: { unitId: team, quarterId: world.quarterId, activity: 'CHECK_IN', personDays: 0.05, note: `c${c} i${i}`, idempotencyKey: key } } };
  }
  if (roll < 9) {
    const objectiveId = present(world.objectives[(c + i) % world.objectives.length], 'objective');
    return { key, kind: 'define', variables: { i: { objectiveId, title: `Raise adoption c${c} i${i} from 10% to 20%`, metric: 'adoption', unit: '%', baseline: 10, target: 20, idempotencyKey: key } } };
  }
  return { key, kind: 'draft', variables: { i: { unitId: team, quarterId: world.quarterId, title: `Delight customers c${c} i${i}`, idempotencyKey: key } } };
}

interface EventRow {
  position: string;
  stream_id: string;
  stream_version: number;
  type: string;
  data: Record<string, unknown>;
  key: string | null;
}
const eventsByKey = async (): Promise<Map<string, EventRow[]>> => {
  const rows = await db.sql.query<EventRow>(
    `SELECT position, stream_id, stream_version, type, data, metadata->>'idempotencyKey' AS key FROM okr_events ORDER BY position`,
  );
  const map = new Map<string, EventRow[]>();
  for (const row of rows) {
    if (row.key === null) continue;
    map.set(row.key, [...(map.get(row.key) ?? []), row]);
  }
  return map;
};

/** No half-applied command, checked on the database alone (the server may be dead). */
async function assertWhole(label: string): Promise<void> {
  expect({ label, problems: await streamProblems(db.sql) }).toEqual({ label, problems: [] });
  const chain = await verifyEveryLog(db.sql, TEST_CHECKPOINT_KEYS);
  expect({ label, ...chain }).toMatchObject({ label, ok: true, firstBrokenPosition: null });
  // Idempotency records and the events that carry their key come and go together.
  const orphans = await db.sql.query<{ key: string; problem: string }>(`
    SELECT i.key, 'idempotency record without events' AS problem FROM okr_idempotency i
     WHERE NOT EXISTS (SELECT 1 FROM okr_events e WHERE e.organisation_id = i.organisation_id AND e.metadata->>'idempotencyKey' = i.key)
    UNION ALL
    SELECT DISTINCT e.metadata->>'idempotencyKey', 'events with a key but no idempotency record' FROM okr_events e
     WHERE e.metadata->>'idempotencyKey' IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM okr_idempotency i WHERE i.organisation_id = e.organisation_id AND i.key = e.metadata->>'idempotencyKey')
  `);
  expect({ label, orphans }).toEqual({ label, orphans: [] });
  // Each new key result / objective stream is in okr_streams and in its read model.
  const missing = await db.sql.query<{ stream_id: string; problem: string }>(`
    SELECT e.stream_id, 'KeyResultDefined without a key result row' AS problem FROM okr_events e
     WHERE e.type = 'KeyResultDefined'
       AND NOT EXISTS (SELECT 1 FROM okr_key_results k WHERE k.organisation_id = e.organisation_id AND 'keyResult-' || k.id = e.stream_id)
    UNION ALL
    SELECT e.stream_id, 'ObjectiveDrafted without an objective row' FROM okr_events e
     WHERE e.type = 'ObjectiveDrafted'
       AND NOT EXISTS (SELECT 1 FROM okr_objectives o WHERE o.organisation_id = e.organisation_id AND 'objective-' || o.id = e.stream_id)
    UNION ALL
    SELECT e.stream_id, 'event without its stream row' FROM okr_events e
     WHERE NOT EXISTS (SELECT 1 FROM okr_streams s WHERE s.organisation_id = e.organisation_id AND s.stream_id = e.stream_id AND s.version >= e.stream_version)
  `);
  expect({ label, missing }).toEqual({ label, missing: [] });
  // Inline projections committed with their events: the live tables equal a rebuild from the log.
  const live = await snapshotReadModels(db.orm, db.sql);
  const summary = await rebuildProjections(db.orm);
  const rebuilt = await snapshotReadModels(db.orm, db.sql);
  expect({ label, differences: snapshotDifferences(live, rebuilt) }).toEqual({ label, differences: [] });
  console.log(`${label}: ${summary.events} events, ${rowCount(live)} read-model rows, all consistent`);
}

beforeAll(async () => {
  db = await createTestDatabase('faultkill');
  server = await startServerProcess(db.url, await freePort(), { OKR_ORGANISATION: ORG });
  const now = Date.now();
  const company = (await must(`mutation($i: RegisterUnitInput!) { registerUnit(input: $i) { id } }`, { i: { name: 'Acme', level: 'COMPANY' } })).registerUnit.id;
  const fn = (await must(`mutation($i: RegisterUnitInput!) { registerUnit(input: $i) { id } }`, { i: { name: 'Engineering', level: 'FUNCTION', parentId: company } })).registerUnit.id;
  world.units.push(fn);
  for (const name of ['Payments', 'Search', 'Mobile']) {
    world.units.push((await must(`mutation($i: RegisterUnitInput!) { registerUnit(input: $i) { id } }`, { i: { name, level: 'TEAM', parentId: fn } })).registerUnit.id);
  }
  await must(`mutation($i: PlanQuarterInput!) { planQuarter(input: $i) { id } }`, {
    i: { id: world.quarterId, startsOn: new Date(now - 30 * DAY).toISOString(), endsOn: new Date(now + 60 * DAY).toISOString() },
  });
  for (const team of world.units.slice(1)) {
    const id = (await must(DRAFT, { i: { unitId: team, quarterId: world.quarterId, title: 'Make payments boringly reliable' } })).draftObjective.id;
    await must(`mutation($i: CommitObjectiveInput!) { commitObjective(input: $i) { id } }`, { i: { id } });
    world.objectives.push(id);
    for (let k = 0; k < 2; k += 1) {
      world.keyResults.push((await must(DEFINE, { i: { objectiveId: id, title: `Cut failed payments ${k} from 2% to 1%`, metric: 'failures', baseline: 2, target: 1 } })).defineKeyResult.id);
    }
  }
}, 60_000);

afterAll(async () => {
  await server?.stop('SIGKILL', 5000);
  await db?.drop();
});

it('SIGKILL under load leaves no half-applied command, and unanswered requests retried with their keys apply exactly once', async () => {
  const first = present(server, 'server');
  // ---- load, then SIGKILL in the middle of it --------------------------------------------------
  let stopLoad = false;
  let answered = 0;
  const loadStarted = Date.now();
  const clients = Array.from({ length: CLIENTS }, async (_, c) => {
    for (let i = 0; i < MAX_REQUESTS_PER_CLIENT && !stopLoad; i += 1) {
      const request = requestFor(c, i);
      const outcome = await gqlRequest(first.url, KINDS[request.kind].query, request.variables, { timeoutMs: 15_000 });
      sent.push({ ...request, outcome });
      if (outcome.status !== null) answered += 1;
    }
  });
  // Kill once enough has been answered (or a bounded time has passed), while every client has a request in flight.
  while (answered < KILL_AFTER_ANSWERS && Date.now() - loadStarted < KILL_AFTER_MS) await sleep(10);
  const killed = await first.stop('SIGKILL', 10_000);
  stopLoad = true;
  await Promise.all(clients);
  expect(killed).toMatchObject({ signal: 'SIGKILL' });
  server = null;

  const byVerdict = (v: Verdict) => sent.filter((s) => verdict(s) === v);
  const beforeKill = byVerdict('success');
  const unanswered = byVerdict('unanswered');
  console.log(
    `load: ${sent.length} requests in ${Date.now() - loadStarted} ms; ${beforeKill.length} succeeded, ${byVerdict('conflict').length} CONFLICT, ` +
      `${unanswered.length} unanswered (${[...new Set(unanswered.map((u) => u.outcome.failure?.replace(/:.*?(<-|$)/g, ' ').trim()))].join('; ')})`,
  );
  expect(byVerdict('unexpected').map(show)).toEqual([]);
  expect(beforeKill.length).toBeGreaterThan(20);
  expect(unanswered.length).toBeGreaterThan(0); // the kill did hit requests in flight

  // ---- the database after the kill, before anything else touches it -----------------------------
  await assertWhole('after SIGKILL');
  const keysBefore = await eventsByKey();
  const alreadyApplied = unanswered.filter((u) => keysBefore.has(u.key));
  console.log(`${alreadyApplied.length} of ${unanswered.length} unanswered requests had been committed before the kill`);
  for (const s of beforeKill) expect({ key: s.key, events: keysBefore.get(s.key)?.length ?? 0 }).toEqual({ key: s.key, events: 1 });
  for (const s of byVerdict('conflict')) expect({ key: s.key, events: keysBefore.get(s.key)?.length ?? 0 }).toEqual({ key: s.key, events: 0 });

  // ---- restart on the same database, retry every unanswered request with its same key ------------
  const second = await startServerProcess(db.url, await freePort(), { OKR_ORGANISATION: ORG });
  server = second;
  const retried = await Promise.all(
    unanswered.map(async (u) => ({ ...u, outcome: await gqlRequest(second.url, KINDS[u.kind].query, u.variables, { timeoutMs: 20_000 }) })),
  );
  expect(retried.filter((r) => verdict(r) !== 'success').map(show)).toEqual([]);
  // And once more, all at once: still answered the same, still nothing new.
  const again = await Promise.all(
    unanswered.map(async (u) => ({ ...u, outcome: await gqlRequest(second.url, KINDS[u.kind].query, u.variables, { timeoutMs: 20_000 }) })),
  );
  expect(again.filter((r) => verdict(r) !== 'success').map(show)).toEqual([]);

  const keysAfter = await eventsByKey();
  for (const r of retried) {
    const events = keysAfter.get(r.key) ?? [];
    expect({ key: r.key, types: events.map((e) => e.type) }).toEqual({ key: r.key, types: [KINDS[r.kind].eventType] });
    const event = present(events[0], `the event of ${r.key}`);
    // The retry's answer names what the one event created or changed.
    const answer = r.outcome.body?.data?.[KINDS[r.kind].field] as { id?: string } | undefined;
    if (r.kind === 'checkIn') {
      expect(event.data).toMatchObject({ keyResultId: r.variables.i.keyResultId, whatChanged: r.variables.i.whatChanged, confidence: r.variables.i.confidence });
      expect(answer?.id).toBe(r.variables.i.keyResultId);
    } else if (r.kind === 'effort') {
      expect(event.data).toMatchObject({ unitId: r.variables.i.unitId, note: r.variables.i.note, personDays: 0.05 });
    } else if (r.kind === 'define') {
      expect(event.stream_id).toBe(`keyResult-${answer?.id}`);
      expect(event.data).toMatchObject({ objectiveId: r.variables.i.objectiveId, title: r.variables.i.title });
    } else {
      expect(event.stream_id).toBe(`objective-${answer?.id}`);
      expect(event.data).toMatchObject({ unitId: r.variables.i.unitId, title: r.variables.i.title });
    }
    const again1 = present(again.find((a) => a.key === r.key), `the second retry of ${r.key}`);
    expect(again1.outcome.body?.data?.[KINDS[r.kind].field]?.id).toEqual(answer?.id);
  }
  // Keys answered before the kill still have exactly one event each; nothing else appeared.
  for (const s of beforeKill) expect({ key: s.key, events: keysAfter.get(s.key)?.length ?? 0 }).toEqual({ key: s.key, events: 1 });
  const appliedKeys = [...keysAfter.keys()].filter((k) => k.startsWith('kill-'));
  expect(appliedKeys.sort()).toEqual([...beforeKill, ...retried].map((s) => s.key).sort());

  await assertWhole('after restart and retries');

  await second.stop('SIGKILL', 10_000);
  server = null;
}, 60_000);
