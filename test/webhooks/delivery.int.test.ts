import { connectionsOf } from '../../src/clientSql';
import { Commands } from '../../src/commands';
import { Ledger } from '../../src/ledger';
import { Metrics } from '../../src/metrics';
import { claimDue, enqueue, settle, type FoundCause } from '../../src/webhooks/outbox';
import { verifySignature, type Cause } from '../../src/webhooks/payloads';
import { WebhookService } from '../../src/webhooks/service';
import { DeliveryWorker, retryDelayMs, type WorkerSettings } from '../../src/webhooks/worker';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { TestClock } from '../support/server';
import { FAIL, HANG, OK, startReceiver, type Behaviour, type Receiver } from '../support/webhookReceiver';

/*
 * The delivery worker against a real receiver on 127.0.0.1 that fails, times out and succeeds by turns.
 * Time is a controllable clock: a retry is due when the clock says so, so nothing here asserts how long
 * anything took (only the receiver's timeout is real, and short).
 */

const SETTINGS: WorkerSettings = {
  allowPrivateAddresses: true,
  timeoutMs: 300,
  maxAttempts: 4,
  backoffMs: 60_000,
  backoffMaxMs: 240_000,
  concurrency: 8,
  concurrencyPerOrganisation: 4,
  pollMs: 1000,
  leaseMs: 30_000,
};

let db: TestDatabase;
const clock = new TestClock(new Date('2027-02-01T09:00:00Z'));
const receivers: Receiver[] = [];
const units: Record<string, string> = {};

/** Jitter pinned to its top: every retry waits exactly the doubled backoff. */
const worker = (settings: Partial<WorkerSettings> = {}, metrics?: Metrics) =>
  new DeliveryWorker({ sql: connectionsOf(db.orm).sql, settings: { ...SETTINGS, ...settings }, clock: clock.now, random: () => 1, metrics });

async function receiver(behaviour: (n: number) => Behaviour): Promise<Receiver> {
  const r = await startReceiver(behaviour);
  receivers.push(r);
  return r;
}

const admin = (org: string) =>
  new WebhookService({ sql: connectionsOf(db.orm).sql, clock: clock.now, allowPrivateAddresses: true }).forPrincipal({ organisationId: org, subject: 'ada', role: 'admin', units: [] });

async function unitIn(org: string): Promise<string> {
  if (units[org]) return units[org] as string;
  const commands = new Commands(new Ledger(db.orm, clock.now), { organisationId: org, actor: 'ada', correlationId: 'c' });
  units[org] = (await commands.registerUnit({ name: `Company of ${org}`, level: 'COMPANY', parentId: null })).result.unitId;
  return units[org] as string;
}

let causeCount = 0;
/** A cause of its own (a quarter planned), enqueued for the webhooks of `org`. */
async function causes(org: string, n = 1): Promise<void> {
  const found: FoundCause[] = Array.from({ length: n }, () => {
    causeCount += 1;
    const cause: Cause = { kind: 'QUARTER_PHASE', quarterId: `Q${causeCount}`, phase: 'SCORING', at: clock.now().toISOString() };
    return { key: `test:${causeCount}`, cause, occurredAt: clock.now(), unitId: null };
  });
  expect(await enqueue(connectionsOf(db.orm).sql, org, found, clock.now())).toBe(n);
}

async function rowOf(id: string) {
  const [row] = await db.sql.query<{ state: string; attempts: number; last_status: number | null; last_error: string | null; next_attempt_at: Date }>(
    'SELECT state, attempts, last_status, last_error, next_attempt_at FROM okr_webhook_outbox WHERE id = ?',
    [id],
  );
  return row && { ...row, next_attempt_at: new Date(row.next_attempt_at) };
}

beforeAll(async () => {
  db = await createTestDatabase('hookdelivery');
});
// Each test's deliveries are its own: whatever one leaves pending is not claimed by the next one's workers.
afterEach(async () => {
  await db.sql.query(`UPDATE okr_webhook_outbox SET state = 'CANCELLED' WHERE state = 'PENDING'`);
});
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await db.drop();
});

describe('a receiver that fails, times out and succeeds by turns', () => {
  it('is retried with exponential backoff under the same delivery id, and never sent again after its 2xx', async () => {
    const turns = [FAIL, HANG, OK];
    const r = await receiver((n) => turns[n] ?? OK);
    const org = 'org-turns';
    const { webhook, secret } = await admin(org).add({ unitId: await unitIn(org), url: r.url, kind: 'SIGNED_JSON', causes: null, secret: null });
    expect(secret).toMatch(/^whsec_/);
    await causes(org);
    const w = worker();

    expect(await w.runOnce()).toEqual(['retry']);
    const id = r.received[0]?.deliveryId ?? '';
    expect(await rowOf(id)).toMatchObject({ state: 'PENDING', attempts: 1, last_status: 500, last_error: 'HTTP 500: receiver says no' });
    // Due after the first backoff, not before.
    expect((await rowOf(id))?.next_attempt_at).toEqual(new Date(clock.now().getTime() + retryDelayMs(1, SETTINGS, () => 1)));
    clock.set(new Date(clock.now().getTime() + 59_000).toISOString());
    expect(await w.runOnce()).toEqual([]);
    clock.set(new Date(clock.now().getTime() + 1_000).toISOString());

    expect(await w.runOnce()).toEqual(['retry']);
    expect(await rowOf(id)).toMatchObject({ state: 'PENDING', attempts: 2, last_status: null, last_error: `no answer within ${SETTINGS.timeoutMs} ms` });
    // Twice as long the second time.
    expect((await rowOf(id))?.next_attempt_at).toEqual(new Date(clock.now().getTime() + 120_000));
    clock.set(new Date(clock.now().getTime() + 120_000).toISOString());

    expect(await w.runOnce()).toEqual(['delivered']);
    expect(await rowOf(id)).toMatchObject({ state: 'DELIVERED', attempts: 3, last_status: 200, last_error: null });

    // Nothing more, however long we wait.
    clock.advanceDays(2);
    expect(await w.runOnce()).toEqual([]);
    expect(r.received).toHaveLength(3);
    expect(r.received.map((x) => x.deliveryId)).toEqual([id, id, id]);
    expect(r.received.map((x) => x.headers['x-okr-attempt'])).toEqual(['1', '2', '3']);
    // The same bytes every time, the delivery id in them, each attempt signed with a fresh timestamp.
    expect(new Set(r.received.map((x) => x.body)).size).toBe(1);
    const body = JSON.parse(r.received[0]?.body ?? '{}');
    expect(body).toMatchObject({ deliveryId: id, webhookId: webhook.id, organisationId: org, unitId: units[org], cause: { kind: 'QUARTER_PHASE' } });
    for (const x of r.received) {
      const headers = { signature: x.headers['x-okr-signature'] as string, timestamp: x.headers['x-okr-timestamp'] as string };
      expect(verifySignature(secret ?? '', headers, x.body, new Date(Number(headers.timestamp) * 1000))).toBe(true);
      expect(verifySignature('another secret of the right length!!', headers, x.body, new Date(Number(headers.timestamp) * 1000))).toBe(false);
      expect(verifySignature(secret ?? '', headers, `${x.body} `, new Date(Number(headers.timestamp) * 1000))).toBe(false);
    }
    // A replay a day later is refused by the timestamp check, though the signature is the sender's.
    const first = r.received[0];
    expect(verifySignature(secret ?? '', { signature: first?.headers['x-okr-signature'] as string, timestamp: first?.headers['x-okr-timestamp'] as string }, first?.body ?? '', clock.now())).toBe(false);
  });

  it('is given up after the last attempt (FAILED, visible with its last error), and the deliveries list shows it', async () => {
    const r = await receiver(() => FAIL);
    const org = 'org-giveup';
    await admin(org).add({ unitId: await unitIn(org), url: r.url, kind: 'SLACK', causes: ['QUARTER_PHASE'], secret: null });
    await causes(org);
    const w = worker({ maxAttempts: 3 });
    const outcomes: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      outcomes.push(...(await w.runOnce()));
      clock.advanceDays(1);
    }
    expect(outcomes).toEqual(['retry', 'retry', 'failed']);
    expect(await w.runOnce()).toEqual([]);
    const [listed] = await admin(org).deliveries(units[org] as string, { first: 10, state: null });
    expect(listed).toMatchObject({ state: 'FAILED', attempts: 3, lastStatus: 500, lastError: 'HTTP 500: receiver says no', nextAttemptAt: null, cause: 'QUARTER_PHASE' });
    // Slack's shape: text and blocks, the delivery id in the context block.
    const body = JSON.parse(r.received[0]?.body ?? '{}');
    expect(Object.keys(body).sort()).toEqual(['blocks', 'text']);
    expect(JSON.stringify(body.blocks)).toContain(listed?.id);
    expect(r.received[0]?.headers['x-okr-signature']).toBeUndefined();
  });
});

describe('claims', () => {
  it('never hand one delivery to two workers at once (FOR UPDATE SKIP LOCKED), and each is delivered once', async () => {
    const r = await receiver(() => OK);
    const org = 'org-two-workers';
    await admin(org).add({ unitId: await unitIn(org), url: r.url, kind: 'SIGNED_JSON', causes: null, secret: null });
    await causes(org, 24);
    const a = worker({ concurrency: 6, concurrencyPerOrganisation: 6 });
    const b = worker({ concurrency: 6, concurrencyPerOrganisation: 6 });
    const outcomes: string[] = [];
    for (let round = 0; round < 4; round += 1) outcomes.push(...(await Promise.all([a.runOnce(), b.runOnce()])).flat());
    expect(outcomes).toEqual(Array(24).fill('delivered'));
    const ids = r.received.map((x) => x.deliveryId);
    expect(ids).toHaveLength(24);
    expect(new Set(ids).size).toBe(24);
  });

  it('go to another worker when the lease runs out (a worker that died), under the same id; the late worker settles nothing', async () => {
    const r = await receiver(() => OK);
    const org = 'org-lease';
    await admin(org).add({ unitId: await unitIn(org), url: r.url, kind: 'SIGNED_JSON', causes: null, secret: null });
    await causes(org);
    const sql = connectionsOf(db.orm).sql;
    const now = clock.now();
    const [dead] = await claimDue(sql, { now, leaseUntil: new Date(now.getTime() + SETTINGS.leaseMs), lease: 'dead-worker', limit: 10, perOrganisation: 4, free: {} });
    expect(dead?.delivery.organisationId).toBe(org);
    // Within the lease nobody else takes it.
    expect(await worker().runOnce()).toEqual([]);
    clock.set(new Date(now.getTime() + SETTINGS.leaseMs).toISOString());
    expect(await worker().runOnce()).toEqual(['delivered']);
    expect(r.received.map((x) => x.deliveryId)).toEqual([dead?.delivery.id]);
    expect(r.received[0]?.headers['x-okr-attempt']).toBe('2');
    // The dead worker's claim no longer holds: what it would settle is not written.
    expect(await settle(sql, dead as NonNullable<typeof dead>, { state: 'PENDING', at: clock.now(), status: 500, error: 'late', retryAt: clock.now() })).toBe(false);
    expect(await rowOf(dead?.delivery.id ?? '')).toMatchObject({ state: 'DELIVERED', attempts: 2 });
  });

  it('bound a slow organisation to its own slots: another organisation is delivered while its receiver hangs', async () => {
    const slow = await receiver(() => HANG);
    const fast = await receiver(() => OK);
    await admin('org-slow').add({ unitId: await unitIn('org-slow'), url: slow.url, kind: 'SIGNED_JSON', causes: null, secret: null });
    await admin('org-fast').add({ unitId: await unitIn('org-fast'), url: fast.url, kind: 'SIGNED_JSON', causes: null, secret: null });
    await causes('org-slow', 10);
    await causes('org-fast', 2);
    const metrics = new Metrics();
    const w = worker({ concurrency: 4, concurrencyPerOrganisation: 2 }, metrics);
    const started = await w.pass();
    expect(started).toHaveLength(4);
    const claimed = await db.sql.query<{ organisation_id: string; n: string }>(
      `SELECT organisation_id, count(*) AS n FROM okr_webhook_outbox WHERE organisation_id IN ('org-slow', 'org-fast') AND attempts > 0 GROUP BY 1 ORDER BY 1`,
    );
    expect(claimed).toEqual([{ organisation_id: 'org-fast', n: '2' }, { organisation_id: 'org-slow', n: '2' }]);
    // While the slow ones are still in flight, a second pass finds no free slot of the slow organisation's.
    expect(await w.pass()).toEqual([]);
    const outcomes = await Promise.all(started);
    expect(outcomes.sort()).toEqual(['delivered', 'delivered', 'retry', 'retry']);
    expect(fast.acceptedIds().size).toBe(2);
    const text = (await metrics.exposition()).text;
    expect(text).toMatch(/okr_webhook_delivery_attempts_total\{outcome="delivered"\} 2/);
    expect(text).toMatch(/okr_webhook_delivery_attempts_total\{outcome="retry"\} 2/);
    expect(text).toMatch(/okr_webhook_deliveries_in_flight 0/);
  });

  it('skip paused webhooks until they are resumed', async () => {
    const r = await receiver(() => OK);
    const org = 'org-paused';
    const { webhook } = await admin(org).add({ unitId: await unitIn(org), url: r.url, kind: 'SIGNED_JSON', causes: null, secret: null });
    await causes(org);
    await admin(org).pause(webhook.id);
    expect(await worker().runOnce()).toEqual([]);
    await admin(org).resume(webhook.id);
    expect(await worker().runOnce()).toEqual(['delivered']);
  });
});

describe('addresses', () => {
  it('are checked when a delivery connects: a name that resolves to loopback is refused unless private addresses are allowed', async () => {
    const r = await receiver(() => OK);
    const org = 'org-ssrf';
    const { webhook } = await admin(org).add({ unitId: await unitIn(org), url: r.url.replace('127.0.0.1', 'localhost'), kind: 'SIGNED_JSON', causes: null, secret: null });
    await causes(org);
    expect(await worker({ allowPrivateAddresses: false }).runOnce()).toEqual(['retry']);
    const [row] = await db.sql.query<{ last_error: string }>('SELECT last_error FROM okr_webhook_outbox WHERE webhook_id = ?', [webhook.id]);
    expect(row?.last_error).toMatch(/^address (127\.0\.0\.1|::1) is private, loopback or reserved/);
    // A literal address is refused without a lookup.
    await db.sql.query('UPDATE okr_webhooks SET url = ? WHERE id = ?', [r.url, webhook.id]);
    clock.advanceDays(1);
    expect(await worker({ allowPrivateAddresses: false }).runOnce()).toEqual(['retry']);
    expect(r.received).toHaveLength(0);
  });
});
