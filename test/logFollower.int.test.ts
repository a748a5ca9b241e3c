import type { Client } from 'pg';
import type { DomainEvent, RecordedEvent } from '../events/catalogue';
import { ConcurrencyError } from '../events/errors';
import { EventStore, type AppendRequest } from '../events/store';
import { LogFollower } from '../src/logFollower';
import { createTestDatabase, type TestDatabase } from './support/database';
import { pgSql } from './support/pgSql';

/**
 * The follower behind the live subscription: every event exactly once, in position order, whether
 * woken by NOTIFY or by polling, across rolled-back appends and a long open write transaction.
 */
const ORG = 'org-follow';
const store = new EventStore();
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('follower');
});
afterAll(() => db.drop());

const event = (n: number): DomainEvent => ({
  type: 'ProcessEffortLogged',
  data: { unitId: 'u', quarterId: 'Q', activity: 'SETTING', personDays: 0.5, note: `e${n}`, occurredOn: '2027-01-01T00:00:00.000Z' },
});
const request = (streamId: string, expectedVersion: number, events: DomainEvent[]): AppendRequest => ({
  organisationId: ORG,
  streamId,
  streamType: 'unit',
  expectedVersion,
  events,
  metadata: { actor: 't', correlationId: 'c', causationId: 'k', idempotencyKey: null },
  recordedAt: new Date('2027-01-01T00:00:00Z'),
});

async function appendCommitted(c: Client, streamId: string, n: number): Promise<void> {
  for (;;) {
    const version = await store.streamVersion(pgSql(c), ORG, streamId);
    await c.query('BEGIN');
    try {
      await store.append(pgSql(c), request(streamId, version, [event(n)]));
      await c.query('COMMIT');
      return;
    } catch (error) {
      await c.query('ROLLBACK');
      if (!(error instanceof ConcurrencyError)) throw error;
    }
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i += 1) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.each([
  ['woken by NOTIFY', true, 60_000],
  ['polling only', false, 20],
])('the log follower, %s', (_label, listen, pollMs) => {
  let follower: LogFollower;
  let seen: RecordedEvent[];
  beforeEach(async () => {
    follower = new LogFollower({ sql: db.sql, listenUrl: listen ? db.url : null, pollMs });
    seen = [];
    follower.subscribe((e) => seen.push(e));
    await follower.start();
  });
  afterEach(() => follower.stop());

  it('delivers only events appended after it started', async () => {
    const c = await db.client();
    await appendCommitted(c, `unit-a-${listen}`, 1);
    await until(() => seen.length === 1, 'the first event');
    expect(seen[0]?.data).toMatchObject({ note: 'e1' });
  });

  it('waits out a long open transaction, skips a rolled-back append, then delivers all in order', async () => {
    const [slow, doomed, other] = [await db.client(), await db.client(), await db.client()];
    await doomed.query('BEGIN');
    await store.append(pgSql(doomed), request(`unit-doomed-${listen}`, 0, [event(0)]));
    await doomed.query('ROLLBACK');
    await slow.query('BEGIN');
    await store.append(pgSql(slow), request(`unit-slow-${listen}`, 0, [event(1)]));
    const queued = appendCommitted(other, `unit-queued-${listen}`, 2);
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toEqual([]);
    await slow.query('COMMIT');
    await queued;
    await until(() => seen.length === 2, 'both events');
    expect(seen.map((e) => (e.data as { note: string }).note)).toEqual(['e1', 'e2']);
    expect((seen[1]?.position ?? 0) - (seen[0]?.position ?? 0)).toBe(1);
  });

  it('delivers every event of many concurrent writers exactly once, in position order', async () => {
    const clients = await Promise.all(Array.from({ length: 8 }, () => db.client()));
    const perWriter = 40;
    await Promise.all(
      clients.map(async (c, w) => {
        for (let i = 0; i < perWriter; i += 1) await appendCommitted(c, `unit-busy-${listen}-${i % 3}`, w * 1000 + i);
      }),
    );
    await until(() => seen.length === clients.length * perWriter, 'every event');
    const positions = seen.map((e) => e.position);
    expect(new Set(positions).size).toBe(positions.length);
    positions.forEach((p, i) => expect(p).toBe((positions[0] ?? 0) + i));
  });
});

describe('the log follower with listeners per organisation', () => {
  it('hands an event only to its own organisation\'s listeners and to those that follow every organisation', async () => {
    const follower = new LogFollower({ sql: db.sql, listenUrl: null, pollMs: 20 });
    const own: RecordedEvent[] = [];
    const other: RecordedEvent[] = [];
    const every: RecordedEvent[] = [];
    follower.subscribe((e) => own.push(e), ORG);
    const stopOther = follower.subscribe((e) => other.push(e), 'org-elsewhere');
    follower.subscribe((e) => every.push(e));
    await follower.start();
    try {
      const c = await db.client();
      await appendCommitted(c, 'unit-orgs', 1);
      await until(() => own.length === 1 && every.length === 1, 'the event');
      stopOther();
      await appendCommitted(c, 'unit-orgs', 2);
      await until(() => own.length === 2 && every.length === 2, 'the second event');
      expect(other).toEqual([]);
    } finally {
      await follower.stop();
    }
  });

  it('hands every event, in order, to each of many listeners (delivered in slices with yields between)', async () => {
    const follower = new LogFollower({ sql: db.sql, listenUrl: null, pollMs: 20 });
    const seenBy = Array.from({ length: 250 }, () => [] as number[]);
    seenBy.forEach((seen) => follower.subscribe((e) => seen.push(e.position), ORG));
    await follower.start();
    try {
      const c = await db.client();
      for (let n = 1; n <= 3; n += 1) await appendCommitted(c, 'unit-many', n);
      await until(() => seenBy.every((seen) => seen.length === 3), 'three events for every listener');
      const first = seenBy[0] as number[];
      expect(first).toEqual([...first].sort((a, b) => a - b));
      expect(seenBy.every((seen) => seen.join() === first.join())).toBe(true);
    } finally {
      await follower.stop();
    }
  });
});
