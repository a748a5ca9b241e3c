import type { Client } from 'pg';
import { MANY_PER_STREAM, type DomainEvent, type RecordedEvent } from '../events/catalogue';
import { ConcurrencyError, IdempotencyRace } from '../events/errors';
import { textArray } from '../events/sql';
import { verifyLog } from '../events/audit';
import { rootOf } from '../events/merkle';
import { EventStore, type AppendRequest } from '../events/store';
import { ephemeralCheckpointKeys } from '../src/checkpointKeys';
import { createTestDatabase, type TestDatabase } from './support/database';
import { pgSql } from './support/pgSql';

/**
 * The event store against real PostgreSQL: optimistic concurrency, idempotency, atomicity,
 * immutability, and ordering: a reader that keeps only the last position it saw never skips an event.
 */

const ORG = 'org-store';
const store = new EventStore();
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('store');
});
afterAll(() => db.drop());

let seq = 0;
const effort = (unitId = 'u1'): DomainEvent => ({
  type: 'ProcessEffortLogged',
  data: { unitId, quarterId: 'Q', activity: 'CHECK_IN', personDays: 0.25, note: `n${++seq}`, occurredOn: '2027-01-01T00:00:00.000Z' },
});

const request = (streamId: string, expectedVersion: number, events: DomainEvent[], extra: Partial<AppendRequest> = {}): AppendRequest => ({
  organisationId: ORG,
  streamId,
  streamType: 'unit',
  expectedVersion,
  events,
  metadata: { actor: 'tester', correlationId: 'c', causationId: 'k', idempotencyKey: null },
  recordedAt: new Date('2027-01-01T00:00:00Z'),
  ...extra,
});

async function withTx<T>(client: Client, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}

const all = () => store.readAll(db.sql, { organisationId: ORG, after: 0, limit: 1_000_000 });
const streamName = (label: string) => `unit-${label}-${Math.random().toString(36).slice(2, 8)}`;

/** Resolves once `count` sessions are waiting on a lock (a deterministic "it is blocked" check). */
async function waitForLockWaiters(count: number): Promise<void> {
  for (let i = 0; i < 500; i += 1) {
    const rows = await db.sql.query<{ n: string }>(
      "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    );
    if (Number(rows[0]?.n) >= count) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`never saw ${count} sessions waiting on a lock`);
}

describe('appending', () => {
  it('appends all events of one call atomically, with consecutive positions and versions', async () => {
    const c = await db.client();
    const stream = streamName('atomic');
    const before = await store.headPosition(db.sql, ORG);
    const recorded = await withTx(c, () => store.append(pgSql(c), request(stream, 0, [effort(), effort(), effort()])));
    expect(recorded.map((e) => e.version)).toEqual([1, 2, 3]);
    expect(recorded.map((e) => e.position)).toEqual([before + 1, before + 2, before + 3]);
    const read = await store.readStream(db.sql, ORG, stream);
    expect(read.version).toBe(3);
    expect(read.events.map((e) => e.position)).toEqual(recorded.map((e) => e.position));
  });

  it('appends nothing when the transaction fails after the append (and leaves no hole)', async () => {
    const c = await db.client();
    const stream = streamName('rollback');
    const before = await store.headPosition(db.sql, ORG);
    await expect(
      withTx(c, async () => {
        await store.append(pgSql(c), request(stream, 0, [effort(), effort()]));
        throw new Error('projection failed');
      }),
    ).rejects.toThrow('projection failed');
    expect(await store.headPosition(db.sql, ORG)).toBe(before);
    expect((await store.readStream(db.sql, ORG, stream)).version).toBe(0);
    const next = await withTx(c, () => store.append(pgSql(c), request(streamName('after'), 0, [effort()])));
    expect(next[0]?.position).toBe(before + 1);
  });

  it('refuses a wrong expected version with a ConcurrencyError and appends nothing', async () => {
    const c = await db.client();
    const stream = streamName('occ');
    await withTx(c, () => store.append(pgSql(c), request(stream, 0, [effort()])));
    const before = await store.headPosition(db.sql, ORG);
    // "must not exist" on an existing stream
    await expect(withTx(c, () => store.append(pgSql(c), request(stream, 0, [effort()])))).rejects.toMatchObject({
      name: 'ConcurrencyError',
      code: 'CONFLICT',
      expectedVersion: 0,
      actualVersion: 1,
    });
    // a stale version
    await expect(withTx(c, () => store.append(pgSql(c), request(stream, 3, [effort()])))).rejects.toBeInstanceOf(ConcurrencyError);
    // "must exist" on a missing stream
    await expect(withTx(c, () => store.append(pgSql(c), request(streamName('missing'), 1, [effort()])))).rejects.toBeInstanceOf(
      ConcurrencyError,
    );
    expect(await store.headPosition(db.sql, ORG)).toBe(before);
  });

  it('lets exactly one of two concurrent writers at the same version win', async () => {
    const [a, b] = [await db.client(), await db.client()];
    const stream = streamName('race');
    await withTx(a, () => store.append(pgSql(a), request(stream, 0, [effort()])));
    await a.query('BEGIN');
    await store.append(pgSql(a), request(stream, 1, [effort()]));
    await b.query('BEGIN');
    const losing = store.append(pgSql(b), request(stream, 1, [effort()]));
    await waitForLockWaiters(1);
    await a.query('COMMIT');
    await expect(losing).rejects.toBeInstanceOf(ConcurrencyError);
    await b.query('ROLLBACK');
    expect((await store.readStream(db.sql, ORG, stream)).version).toBe(2);
  });

  it('refuses when a guarded stream moved since it was read, appending nothing', async () => {
    const c = await db.client();
    const guarded = streamName('guarded');
    const target = streamName('target');
    await withTx(c, () => store.append(pgSql(c), request(guarded, 0, [effort(), effort()])));
    await expect(
      withTx(c, () => store.append(pgSql(c), request(target, 0, [effort()], { guards: [{ streamId: guarded, version: 1 }] }))),
    ).rejects.toMatchObject({ streamId: guarded, expectedVersion: 1, actualVersion: 2 });
    expect((await store.readStream(db.sql, ORG, target)).version).toBe(0);
    const ok = await withTx(c, () =>
      store.append(pgSql(c), request(target, 0, [effort()], { guards: [{ streamId: guarded, version: 2 }] })),
    );
    expect(ok).toHaveLength(1);
  });

  it('records an idempotency key once: a second append with it appends nothing', async () => {
    const c = await db.client();
    const idempotency = { command: 'test', requestHash: 'h', result: { id: 1 } };
    const metadata = { actor: 'tester', correlationId: 'c', causationId: 'k', idempotencyKey: 'key-1' };
    await withTx(c, () => store.append(pgSql(c), request(streamName('idem'), 0, [effort()], { metadata, idempotency })));
    const before = await store.headPosition(db.sql, ORG);
    await expect(
      withTx(c, () => store.append(pgSql(c), request(streamName('idem2'), 0, [effort()], { metadata, idempotency }))),
    ).rejects.toBeInstanceOf(IdempotencyRace);
    expect(await store.headPosition(db.sql, ORG)).toBe(before);
    expect(await store.findIdempotency(db.sql, ORG, 'tester', 'key-1')).toEqual({ command: 'test', requestHash: 'h', result: { id: 1 } });
  });

  it('never records an event earlier than its predecessor (the log as of T is a prefix)', async () => {
    const c = await db.client();
    const late = await withTx(c, () =>
      store.append(pgSql(c), request(streamName('late'), 0, [effort()], { recordedAt: new Date('2030-06-01T00:00:00Z') })),
    );
    const early = await withTx(c, () =>
      store.append(pgSql(c), request(streamName('early'), 0, [effort()], { recordedAt: new Date('2029-01-01T00:00:00Z') })),
    );
    expect(early[0]?.recordedAt.getTime()).toBe(late[0]?.recordedAt.getTime());
  });
});

describe('reading a stream', () => {
  it('can leave out event types a fold ignores, still reporting the stream\'s true version', async () => {
    const c = await db.client();
    const stream = streamName('skip');
    const registered: DomainEvent = { type: 'UnitRegistered', data: { unitId: 'u9', name: 'Team', level: 'TEAM', parentId: 'f' } };
    await withTx(c, () => store.append(pgSql(c), request(stream, 0, [registered, effort(), effort()])));
    const skipped = await store.readStream(db.sql, ORG, stream, { skipTypes: ['ProcessEffortLogged'] });
    expect(skipped.version).toBe(3);
    expect(skipped.events.map((e) => e.type)).toEqual(['UnitRegistered']);
    const onlySkippable = streamName('skip-all');
    await withTx(c, () => store.append(pgSql(c), request(onlySkippable, 0, [effort()])));
    expect(await store.readStream(db.sql, ORG, onlySkippable, { skipTypes: ['ProcessEffortLogged'] })).toEqual({ version: 1, events: [] });
    expect(await store.readStream(db.sql, ORG, streamName('none'), { skipTypes: ['ProcessEffortLogged'] })).toEqual({ version: 0, events: [] });
  });
});

describe('reading a key result without its check-ins and measurements', () => {
  const scope = { keyResultId: 'kr1', objectiveId: 'o1', unitId: 'u1', quarterId: '2031-Q1' };
  const checkIn = (i: number): DomainEvent => ({
    type: 'CheckInRecorded',
    data: { ...scope, confidence: 50 + (i % 40), value: i, whatChanged: null, blockers: null, asOf: '2031-01-10T00:00:00.000Z' },
  });
  const measured = (i: number): DomainEvent => ({ type: 'KeyResultMeasured', data: { ...scope, value: i, at: '2031-01-11T00:00:00.000Z', source: 'ci' } });
  const revised = (reason: string): DomainEvent => ({ type: 'KeyResultRevised', data: { ...scope, reason, changes: [] } });

  /** Every statement the store sends, to explain them afterwards. */
  const recording = (sent: { text: string; params: readonly unknown[] }[]) => ({
    query: <T>(text: string, params: readonly unknown[] = []) => {
      sent.push({ text, params });
      return db.sql.query<T>(text, params);
    },
  });

  it('reads the facts between the check-ins, with the stream\'s true version, by either read, through the index of the other events', async () => {
    const c = await db.client();
    const stream = `keyResult-facts-${Math.random().toString(36).slice(2, 8)}`;
    const history: DomainEvent[] = [revised('first'), ...Array.from({ length: 40 }, (_, i) => (i % 4 === 3 ? measured(i) : checkIn(i))), revised('second'), checkIn(99), measured(100)];
    await withTx(c, () => store.append(pgSql(c), request(stream, 0, history)));

    const sent: { text: string; params: readonly unknown[] }[] = [];
    const one = await store.readStream(recording(sent), ORG, stream, { skipTypes: [...MANY_PER_STREAM] });
    const many = await store.readStreams(recording(sent), ORG, [{ streamId: stream, skipTypes: [...MANY_PER_STREAM] }]);
    for (const read of [one, many.streams[0]]) {
      expect(read?.version).toBe(44);
      expect(read?.events.map((e) => [e.version, (e.data as { reason?: string }).reason])).toEqual([[1, 'first'], [42, 'second']]);
    }
    // Another list to leave out takes the general read, with the same answer for what it keeps.
    const withMeasurements = await store.readStreams(db.sql, ORG, [{ streamId: stream, skipTypes: ['CheckInRecorded'] }]);
    expect(withMeasurements.streams[0]?.events.map((e) => e.type)).toEqual(['KeyResultRevised', ...Array(10).fill('KeyResultMeasured'), 'KeyResultRevised', 'KeyResultMeasured']);

    // Neither statement steps over a check-in: each reads the partial index, whose predicate its own
    // implies even as a generic plan (the plan a prepared statement settles on, parameters unknown).
    // Sequential and bitmap scans are priced out, so a plan that could not use it would show the stream
    // index and the check-ins it filtered out.
    await c.query('BEGIN');
    try {
      await c.query('SET LOCAL enable_seqscan = off');
      await c.query('SET LOCAL enable_bitmapscan = off');
      await c.query('SET LOCAL plan_cache_mode = force_generic_plan');
      expect(sent).toHaveLength(2);
      for (const { text, params } of sent) {
        let n = 0;
        const explained = await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF) ${text.replace(/\?/g, () => `$${(n += 1)}`)}`, params as unknown[]);
        const plan = explained.rows.map((r) => r['QUERY PLAN']).join('\n');
        // (PostgreSQL 18 writes actual rows with two decimals: rows=2.00.)
        expect(plan).toMatch(/Index Scan using okr_events_stream_facts on okr_events .*\(actual time=[^)]* rows=2(\.00)? loops=1\)/);
        expect(plan).not.toMatch(/Filter: [^\n]*type <> ALL[^\n]*\n\s*Rows Removed by Filter: [1-9]/);
      }
    } finally {
      await c.query('ROLLBACK');
    }
  });

  it('reads one stream of an organisation the statistics do not know without stepping over its other events', async () => {
    // Twenty organisations, analysed; then one the statistics have never seen, with a thousand events
    // besides the stream read. Given its id as a literal, the planner would estimate it at one event and
    // may read it through any index led by organisation_id (filtering out all the others).
    const c = await db.client();
    const tag = Math.random().toString(36).slice(2, 8);
    for (let i = 0; i < 20; i += 1) {
      await withTx(c, () => store.append(pgSql(c), request(streamName('known'), 0, Array.from({ length: 300 }, () => effort()), { organisationId: `org-known-${tag}-${i}` })));
    }
    await c.query('ANALYZE okr_events');
    const fresh = `org-new-${tag}`;
    await withTx(c, () => store.append(pgSql(c), request(streamName('noise'), 0, Array.from({ length: 1000 }, () => effort()), { organisationId: fresh })));
    const stream = `keyResult-read-${Math.random().toString(36).slice(2, 8)}`;
    await withTx(c, () => store.append(pgSql(c), request(stream, 0, [revised('only'), checkIn(1)], { organisationId: fresh })));

    const sent: { text: string; params: readonly unknown[] }[] = [];
    const read = await store.readStreams(recording(sent), fresh, [
      { streamId: stream, skipTypes: [...MANY_PER_STREAM] },
      { via: stream, field: 'objectiveId', prefix: 'objective-' },
    ]);
    expect(read.streams[0]?.events.map((e) => e.type)).toEqual(['KeyResultRevised']);
    await store.readStream(recording(sent), fresh, stream);
    await store.readStream(recording(sent), fresh, stream, { skipTypes: ['CheckInRecorded'] });
    expect(sent).toHaveLength(3);
    for (const { text, params } of sent) {
      let n = 0;
      const explained = await c.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF) ${text.replace(/\?/g, () => `$${(n += 1)}`)}`, params as unknown[]);
      const plan = explained.rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).not.toMatch(/Rows Removed by Filter: [1-9]\d\d/);
    }
  });

  it('the index leaves out exactly the types the store reads past', async () => {
    const rows = await db.sql.query<{ indexdef: string }>("SELECT indexdef FROM pg_indexes WHERE indexname = 'okr_events_stream_facts'");
    const predicate = rows[0]?.indexdef.split(' WHERE ')[1] ?? '';
    expect([...predicate.matchAll(/'([A-Za-z]+)'::text/g)].map((m) => m[1]).sort()).toEqual([...MANY_PER_STREAM].sort());
  });
});

describe('recorded time', () => {
  it('is read when the head row is held, so an append that waited is not stamped before it could be seen', async () => {
    const [a, b] = [await db.client(), await db.client()];
    await a.query('BEGIN');
    await store.append(pgSql(a), request(streamName('holder'), 0, [effort()], { recordedAt: new Date('2031-01-01T00:00:00Z') }));
    let now = new Date('2031-01-01T00:00:01Z'); // when b asks
    await b.query('BEGIN');
    const waiting = store.append(pgSql(b), request(streamName('waiter'), 0, [effort()], { recordedAt: () => now }));
    await waitForLockWaiters(1);
    now = new Date('2031-01-01T00:05:00Z'); // when b gets the head row
    await a.query('COMMIT');
    const [event] = await waiting;
    await b.query('COMMIT');
    expect(event?.recordedAt.toISOString()).toBe('2031-01-01T00:05:00.000Z');
  });
});

describe('history cannot be rewritten (database trigger)', () => {
  it.each([
    ['UPDATE', "UPDATE okr_events SET data = '{}'::jsonb"],
    ['DELETE', 'DELETE FROM okr_events'],
    ['TRUNCATE', 'TRUNCATE okr_events'],
  ])('refuses %s on okr_events and changes nothing', async (_op, statement) => {
    const c = await db.client();
    await withTx(c, () => store.append(pgSql(c), request(streamName('immutable'), 0, [effort()])));
    const before = await all();
    await expect(c.query(statement)).rejects.toMatchObject({ code: 'P0001', message: expect.stringContaining('append-only') });
    expect(await all()).toEqual(before);
  });

  it('refuses removing the head rows that hand out positions, and rewriting the tree or its checkpoints', async () => {
    const c = await db.client();
    await expect(c.query('DELETE FROM okr_log_heads')).rejects.toMatchObject({ code: 'P0001' });
    await expect(c.query('TRUNCATE okr_log_heads')).rejects.toMatchObject({ code: 'P0001' });
    // Earlier tests appended dozens of events, so the tree has interior nodes for row triggers to refuse.
    await expect(c.query('UPDATE okr_tree_nodes SET hash = hash')).rejects.toMatchObject({ code: 'P0001' });
    await expect(c.query('DELETE FROM okr_tree_nodes')).rejects.toMatchObject({ code: 'P0001' });
    for (const table of ['okr_tree_nodes', 'okr_checkpoints', 'okr_log_migrations', 'okr_log_renumbering']) {
      await expect(c.query(`TRUNCATE ${table}`)).rejects.toMatchObject({ code: 'P0001' });
    }
  });
});

describe('reading the whole log never skips an event', () => {
  /** A reader that keeps "the last position I saw" as its only checkpoint, like a naive projection. */
  function follower() {
    let checkpoint = 0;
    const seen: RecordedEvent[] = [];
    return {
      seen,
      async poll() {
        for (;;) {
          const batch = await store.readAll(db.sql, { organisationId: ORG, after: checkpoint, limit: 500 });
          if (batch.length === 0) return;
          seen.push(...batch);
          checkpoint = batch[batch.length - 1]?.position ?? checkpoint;
        }
      },
    };
  }

  it('two writers cannot commit in the opposite order of their positions: the second waits', async () => {
    const reader = follower();
    await reader.poll();
    const [a, b] = [await db.client(), await db.client()];
    await a.query('BEGIN');
    const [first] = await store.append(pgSql(a), request(streamName('first'), 0, [effort()]));
    await b.query('BEGIN');
    const second = store.append(pgSql(b), request(streamName('second'), 0, [effort()]));
    await waitForLockWaiters(1); // b cannot take a position while a's is uncommitted
    await reader.poll();
    expect(reader.seen.filter((e) => e.position >= (first?.position ?? 0))).toEqual([]);
    await a.query('COMMIT');
    const [secondEvent] = await second;
    await reader.poll();
    await b.query('COMMIT');
    await reader.poll();
    expect(secondEvent?.position).toBe((first?.position ?? 0) + 1);
    expect(reader.seen.slice(-2).map((e) => e.position)).toEqual([first?.position, secondEvent?.position]);
  });

  it('a rolled-back append leaves no permanent hole, and later appends are all delivered', async () => {
    const reader = follower();
    await reader.poll();
    const start = reader.seen.length;
    const c = await db.client();
    await c.query('BEGIN');
    await store.append(pgSql(c), request(streamName('doomed'), 0, [effort(), effort()]));
    await c.query('ROLLBACK');
    await withTx(c, () => store.append(pgSql(c), request(streamName('kept1'), 0, [effort()])));
    await withTx(c, () => store.append(pgSql(c), request(streamName('kept2'), 0, [effort()])));
    await reader.poll();
    const positions = reader.seen.slice(start).map((e) => e.position);
    expect(positions).toHaveLength(2);
    expect(positions[1]).toBe((positions[0] ?? 0) + 1);
  });

  it('a long open write transaction makes readers wait, then everything is delivered in order', async () => {
    const reader = follower();
    await reader.poll();
    const start = reader.seen.length;
    const [slow, w1, w2] = [await db.client(), await db.client(), await db.client()];
    await slow.query('BEGIN');
    await store.append(pgSql(slow), request(streamName('slow'), 0, [effort()]));
    const others = [w1, w2].map((c) => withTx(c, () => store.append(pgSql(c), request(streamName('queued'), 0, [effort()]))));
    await waitForLockWaiters(2);
    for (let i = 0; i < 3; i += 1) {
      await reader.poll();
      expect(reader.seen.length).toBe(start); // nothing is delivered past the open transaction
    }
    await slow.query('COMMIT');
    await Promise.all(others);
    await reader.poll();
    const delivered = reader.seen.slice(start).map((e) => e.position);
    expect(delivered).toHaveLength(3);
    expect(delivered).toEqual([...delivered].sort((x, y) => x - y));
    expect((delivered[2] ?? 0) - (delivered[0] ?? 0)).toBe(2);
  });

  it('a transaction that writes two streams becomes visible whole, at consecutive positions', async () => {
    const reader = follower();
    await reader.poll();
    const start = reader.seen.length;
    const c = await db.client();
    await c.query('BEGIN');
    const x = await store.append(pgSql(c), request(streamName('x'), 0, [effort()]));
    const y = await store.append(pgSql(c), request(streamName('y'), 0, [effort(), effort()]));
    await reader.poll();
    expect(reader.seen.length).toBe(start);
    await c.query('COMMIT');
    await reader.poll();
    expect(reader.seen.slice(start).map((e) => e.position)).toEqual([...x, ...y].map((e) => e.position));
  });

  it('thousands of concurrent appends: every event delivered exactly once, each stream in version order', async () => {
    const reader = follower();
    await reader.poll();
    const start = reader.seen.length;
    const writers = 12;
    const appendsPerWriter = 150;
    const streams = Array.from({ length: 6 }, (_, i) => streamName(`busy${i}`));
    const clients = await Promise.all(Array.from({ length: writers }, () => db.client()));
    let done = false;
    const following = (async () => {
      while (!done) await reader.poll();
    })();
    let appended = 0;
    await Promise.all(
      clients.map(async (c, w) => {
        for (let i = 0; i < appendsPerWriter; i += 1) {
          const stream = streams[(w + i) % streams.length] as string;
          for (;;) {
            const version = await store.streamVersion(pgSql(c), ORG, stream);
            try {
              const count = 1 + ((w + i) % 2);
              await withTx(c, () => store.append(pgSql(c), request(stream, version, Array.from({ length: count }, () => effort()))));
              appended += count;
              break;
            } catch (error) {
              if (!(error instanceof ConcurrencyError)) throw error;
            }
          }
        }
      }),
    );
    done = true;
    await following;
    await reader.poll();
    const delivered = reader.seen.slice(start);
    expect(delivered).toHaveLength(appended);
    const positions = delivered.map((e) => e.position);
    expect(new Set(positions).size).toBe(positions.length);
    positions.forEach((p, i) => expect(p).toBe((positions[0] ?? 0) + i));
    for (const stream of streams) {
      const versions = delivered.filter((e) => e.streamId === stream).map((e) => e.version);
      expect(versions).toEqual(versions.map((_, i) => i + 1));
    }
  });
});

describe('text array parameters', () => {
  it('round-trip any string, quotes, backslashes, commas and braces included', async () => {
    const values = ['plain', 'with "quotes"', 'back\\slash', 'comma,brace{}', '', 'ünïcødé'];
    const rows = await db.sql.query<{ v: string[] }>('SELECT ?::text[] AS v', [textArray(values)]);
    expect(rows[0]?.v).toEqual(values);
  });
});

describe('one log per organisation', () => {
  const withOrg = (organisationId: string, streamId: string, expectedVersion: number): AppendRequest => ({
    ...request(streamId, expectedVersion, [effort()]),
    organisationId,
  });

  /** Appends until it lands, re-reading the stream's version after a conflict (as the ledger retries). */
  async function appendOne(c: Client, organisationId: string, streamId: string): Promise<void> {
    for (;;) {
      const version = await store.streamVersion(pgSql(c), organisationId, streamId);
      try {
        await withTx(c, () => store.append(pgSql(c), withOrg(organisationId, streamId, version)));
        return;
      } catch (error) {
        if (!(error instanceof ConcurrencyError)) throw error;
      }
    }
  }

  it('gives each organisation positions 1..n without gaps under concurrent writers on many organisations, and a tree that verifies', async () => {
    const organisations = Array.from({ length: 6 }, (_, i) => `org-many-${i}`);
    const writersPerOrganisation = 3;
    const perWriter = 20;
    await Promise.all(
      organisations.flatMap((org) =>
        Array.from({ length: writersPerOrganisation }, async (_, w) => {
          const c = await db.client();
          for (let i = 0; i < perWriter; i += 1) await appendOne(c, org, `unit-${w % 2}`);
        }),
      ),
    );
    const keys = ephemeralCheckpointKeys();
    for (const org of organisations) {
      const rows = await db.sql.query<{ position: string; stream_id: string; stream_version: number; leaf_hash: Buffer }>(
        'SELECT position, stream_id, stream_version, leaf_hash FROM okr_events WHERE organisation_id = ? ORDER BY position',
        [org],
      );
      const n = writersPerOrganisation * perWriter;
      expect(rows.map((r) => Number(r.position))).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      for (const stream of ['unit-0', 'unit-1']) {
        const versions = rows.filter((r) => r.stream_id === stream).map((r) => r.stream_version);
        expect(versions).toEqual(versions.map((_, i) => i + 1));
      }
      const head = await store.head(db.sql, org);
      expect(head.position).toBe(n);
      expect(head.root.equals(rootOf(rows.map((r) => Buffer.from(r.leaf_hash))))).toBe(true);
      expect(await verifyLog(db.sql, org, { full: true, signing: keys.signing })).toMatchObject({ ok: true, eventsChecked: n, treeSize: n });
    }
  }, 60_000);

  it('lets appends of different organisations run while one organisation\'s head is held', async () => {
    const [holder, other] = [await db.client(), await db.client()];
    await withTx(holder, () => store.append(pgSql(holder), withOrg('org-held', 'unit-h', 0)));
    await holder.query('BEGIN');
    await store.append(pgSql(holder), withOrg('org-held', 'unit-h', 1)); // holds org-held's head until commit
    // Another organisation is not queued behind it: its append commits while the first is still open.
    await withTx(other, () => store.append(pgSql(other), withOrg('org-free', 'unit-f', 0)));
    expect(await store.headPosition(db.sql, 'org-free')).toBe(1);
    expect(await store.headPosition(db.sql, 'org-held')).toBe(1); // the open append is not visible yet
    await holder.query('COMMIT');
    expect(await store.headPosition(db.sql, 'org-held')).toBe(2);
  });

  it('never stamps an organisation\'s event before its predecessor, whatever other organisations recorded', async () => {
    const c = await db.client();
    await withTx(c, () => store.append(pgSql(c), { ...withOrg('org-late', 'unit-l', 0), recordedAt: new Date('2030-01-01T00:00:00Z') }));
    // Another organisation may record an earlier time: its log is its own.
    const [early] = await withTx(c, () => store.append(pgSql(c), { ...withOrg('org-early', 'unit-e', 0), recordedAt: new Date('2020-01-01T00:00:00Z') }));
    expect(early?.recordedAt.toISOString()).toBe('2020-01-01T00:00:00.000Z');
    const [second] = await withTx(c, () => store.append(pgSql(c), { ...withOrg('org-late', 'unit-l', 1), recordedAt: new Date('2029-01-01T00:00:00Z') }));
    expect(second?.recordedAt.toISOString()).toBe('2030-01-01T00:00:00.000Z');
  });
});
