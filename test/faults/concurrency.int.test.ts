import { verifyEveryLog } from '../support/database';
import { rebuildProjections } from '../../src/rebuild';
import { gqlRequest, present, snapshotDifferences, snapshotReadModels, streamProblems, type HttpOutcome } from '../support/faults';
import { Okr } from '../support/okr';
import { startTestServer, type TestServer } from '../support/server';

/*
 * 50 concurrent writers over HTTP against the real server and PostgreSQL:
 *  (a) all on ONE key result, each pinning expectedVersion to the version it read;
 *  (b) on many key results, without expectedVersion (the server retries conflicts itself).
 * Every request must either succeed or answer CONFLICT; afterwards the log must hold exactly one
 * CheckInRecorded per success (matched by its data), stream versions 1..n without gaps, an intact hash
 * chain, and read models equal to a rebuild from the log, row for row.
 */

const WRITERS = 50;
const CHECK_IN = `mutation($i: RecordCheckInInput!) { recordCheckIn(input: $i) { id version } }`;
const VERSION = `query($id: ID!) { keyResult(id: $id) { version } }`;

interface Attempt {
  writer: number;
  keyResultId: string;
  whatChanged: string;
  confidence: number;
  value: number;
  expectedVersion: number | null;
  outcome: HttpOutcome;
  round: number;
}

type Verdict = 'success' | 'conflict' | 'unexpected';

function verdict(a: Attempt): Verdict {
  const { outcome } = a;
  if (outcome.status !== 200 || !outcome.body) return 'unexpected';
  const errors = outcome.body.errors ?? [];
  if (errors.length === 0 && outcome.body.data?.recordCheckIn?.id === a.keyResultId) return 'success';
  if (errors.length === 1 && errors[0]?.extensions?.code === 'CONFLICT' && outcome.body.data == null) return 'conflict';
  return 'unexpected';
}

const describeAttempt = (a: Attempt): string =>
  `writer ${a.writer} round ${a.round} (expectedVersion ${a.expectedVersion}): status ${a.outcome.status} ${a.outcome.failure ?? ''} ${a.outcome.text.slice(0, 400)}`;

let t: TestServer;
let okr: Okr;
let hot: string;
let many: string[];
const attempts: Attempt[] = [];

interface EventRow {
  stream_id: string;
  stream_version: number;
  data: { keyResultId: string; confidence: number; value: number | null; whatChanged: string | null };
}

async function checkInEvents(): Promise<EventRow[]> {
  return t.db.sql.query<EventRow>(
    `SELECT stream_id, stream_version, data FROM okr_events WHERE type = 'CheckInRecorded' ORDER BY position`,
  );
}

async function checkIn(a: Omit<Attempt, 'outcome'>): Promise<Attempt> {
  const input: Record<string, unknown> = {
    keyResultId: a.keyResultId,
    confidence: a.confidence,
    value: a.value,
    whatChanged: a.whatChanged,
  };
  if (a.expectedVersion !== null) input.expectedVersion = a.expectedVersion;
  const outcome = await gqlRequest(t.url, CHECK_IN, { i: input }, { timeoutMs: 45_000 });
  const attempt = { ...a, outcome };
  attempts.push(attempt);
  return attempt;
}

async function readVersion(keyResultId: string): Promise<number> {
  const res = await gqlRequest(t.url, VERSION, { id: keyResultId });
  const version = res.body?.data?.keyResult?.version;
  if (typeof version !== 'number') throw new Error(`could not read the version of ${keyResultId}: ${res.status} ${res.text.slice(0, 300)}`);
  return version;
}

beforeAll(async () => {
  t = await startTestServer('faultconc', '2026-11-20T09:00:00Z', 'org-faults');
  okr = new Okr(t);
  const { fn, teams } = await okr.org(['Payments', 'Search']);
  await okr.quarter('2026-Q4', '2026-10-01T00:00:00Z', '2027-01-01T00:00:00Z');
  const parent = await okr.objective(fn, '2026-Q4', 'Make the platform reliable');
  await okr.commit(parent);
  const objectives: string[] = [];
  for (const team of teams) {
    const id = await okr.objective(team, '2026-Q4', `Reliable service for ${team.slice(0, 6)}`, { parentId: parent });
    await okr.commit(id);
    objectives.push(id);
  }
  hot = await okr.keyResult(present(objectives[0], 'objective'), { title: 'Cut p95 latency from 800ms to 300ms', metric: 'p95 latency', baseline: 800, target: 300 });
  many = [];
  for (let i = 0; i < 10; i += 1) {
    many.push(await okr.keyResult(present(objectives[i % objectives.length], 'objective'), { title: `Raise conversion ${i} from 2% to 3%`, metric: 'conversion', baseline: 2, target: 3 }));
  }
}, 60_000);

afterAll(async () => {
  await t?.close();
});

describe('50 concurrent writers', () => {
  it('(a) on one key result with expectedVersion pinned: each request succeeds or answers CONFLICT, no lost update', async () => {
    // Round 1: everyone reads the same version, then everyone writes at once: exactly one may win.
    const start = await readVersion(hot);
    const versions = await Promise.all(Array.from({ length: WRITERS }, () => readVersion(hot)));
    expect(new Set(versions)).toEqual(new Set([start]));
    const round1 = await Promise.all(
      versions.map((version, w) =>
        checkIn({ writer: w, round: 1, keyResultId: hot, expectedVersion: version, confidence: w % 101, value: w, whatChanged: `hot r1 w${w}` }),
      ),
    );
    // Round 2: free running, each writer reads and writes up to 4 times until it wins once.
    const round2: Attempt[] = [];
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        for (let k = 0; k < 4; k += 1) {
          const version = await readVersion(hot);
          const a = await checkIn({ writer: w, round: 2, keyResultId: hot, expectedVersion: version, confidence: (w + k) % 101, value: w * 10 + k, whatChanged: `hot r2 w${w} k${k}` });
          round2.push(a);
          if (verdict(a) !== 'conflict') break;
        }
      }),
    );
    const all = [...round1, ...round2];
    const unexpected = all.filter((a) => verdict(a) === 'unexpected').map(describeAttempt);
    expect(unexpected).toEqual([]);
    const successes = all.filter((a) => verdict(a) === 'success');
    const conflicts = all.filter((a) => verdict(a) === 'conflict');
    console.log(`(a) one key result: ${all.length} requests, ${successes.length} succeeded, ${conflicts.length} CONFLICT`);
    expect(round1.filter((a) => verdict(a) === 'success')).toHaveLength(1);
    expect(conflicts.length).toBeGreaterThan(0);
    // No two writers won with the same expected version (that would be a lost update).
    const won = successes.map((a) => a.expectedVersion);
    expect(new Set(won).size).toBe(won.length);
    // A CONFLICT names the stream and its actual version.
    for (const c of conflicts) {
      const ext = c.outcome.body?.errors?.[0]?.extensions ?? {};
      expect(typeof ext.streamId).toBe('string');
      expect(typeof ext.actualVersion).toBe('number');
    }

    const events = (await checkInEvents()).filter((e) => e.data.keyResultId === hot);
    expect(events).toHaveLength(successes.length);
    for (const s of successes) {
      const matching = events.filter((e) => e.data.whatChanged === s.whatChanged);
      expect(matching).toHaveLength(1);
      const event = present(matching[0], s.whatChanged);
      expect(event.data).toMatchObject({ confidence: s.confidence, value: s.value });
      // Pinned: the event is exactly the next version after the one the writer read.
      expect(event.stream_version).toBe((s.expectedVersion ?? -1) + 1);
    }
    for (const c of conflicts) expect(events.filter((e) => e.data.whatChanged === c.whatChanged)).toHaveLength(0);
    expect(await readVersion(hot)).toBe(start + successes.length);
  }, 60_000);

  it('(b) on many key results without expectedVersion: each request succeeds or answers CONFLICT, none lost or doubled', async () => {
    const mine: Attempt[] = [];
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        for (let k = 0; k < 4; k += 1) {
          const keyResultId = present(many[(w * 7 + k * 3) % many.length], 'key result');
          mine.push(await checkIn({ writer: w, round: k, keyResultId, expectedVersion: null, confidence: (w * 3 + k) % 101, value: w + k / 10, whatChanged: `many w${w} k${k}` }));
        }
      }),
    );
    const unexpected = mine.filter((a) => verdict(a) === 'unexpected').map(describeAttempt);
    expect(unexpected).toEqual([]);
    const successes = mine.filter((a) => verdict(a) === 'success');
    const conflicts = mine.filter((a) => verdict(a) === 'conflict');
    console.log(`(b) ${many.length} key results: ${mine.length} requests, ${successes.length} succeeded, ${conflicts.length} CONFLICT`);
    expect(successes.length).toBeGreaterThan(0);

    const events = (await checkInEvents()).filter((e) => many.includes(e.data.keyResultId));
    expect(events).toHaveLength(successes.length);
    for (const s of successes) {
      const matching = events.filter((e) => e.data.whatChanged === s.whatChanged);
      expect(matching).toHaveLength(1);
      expect(present(matching[0], s.whatChanged).data).toMatchObject({ keyResultId: s.keyResultId, confidence: s.confidence, value: s.value });
    }
    for (const c of conflicts) expect(events.filter((e) => e.data.whatChanged === c.whatChanged)).toHaveLength(0);
    for (const id of many) {
      expect(events.filter((e) => e.data.keyResultId === id)).toHaveLength(successes.filter((s) => s.keyResultId === id).length);
    }
  }, 60_000);

  it('leaves the log whole: CheckInRecorded = successes, versions 1..n without gaps, chain ok, rebuild equals live', async () => {
    const successes = attempts.filter((a) => verdict(a) === 'success');
    expect(await checkInEvents()).toHaveLength(successes.length);
    expect(await streamProblems(t.db.sql)).toEqual([]);
    const chain = await verifyEveryLog(t.db.sql, t.keys);
    expect(chain).toMatchObject({ ok: true, firstBrokenPosition: null });
    expect(chain.eventsChecked).toBe(await t.eventCount());

    const live = await snapshotReadModels(t.db.orm, t.db.sql);
    expect(live.okr_check_ins?.length).toBe(successes.length);
    await rebuildProjections(t.db.orm);
    const rebuilt = await snapshotReadModels(t.db.orm, t.db.sql);
    expect(snapshotDifferences(live, rebuilt)).toEqual([]);
  }, 60_000);
});
