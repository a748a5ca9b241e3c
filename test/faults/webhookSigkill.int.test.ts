import { verifySignature } from '../../src/webhooks/payloads';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { dataOf, freePort, gqlRequest, present, startServerProcess, waitFor, type Child } from '../support/faults';
import { FAIL, HANG, OK, startReceiver, type Behaviour, type Receiver } from '../support/webhookReceiver';

/*
 * The real server (src/main.ts) delivering webhooks from its outbox to a receiver on 127.0.0.1 that fails,
 * hangs and succeeds by turns, SIGKILLed in the middle: right after the receiver answered a delivery 2xx
 * (before the server can mark it), with other deliveries in flight. After a restart on the same
 * database, every cause is delivered, nothing is lost, and only a delivery the receiver had accepted but
 * the dead server had not marked is sent once more, under the same delivery id.
 */

const ORG = 'org-hookkill';
const QUARTERS = 15;
const KILL_AT_ACCEPTED = 8;
/** Short, so the test runs in seconds: a claimed row of the dead server is due again 2 s after its claim. */
const WEBHOOK_ENV = {
  OKR_ORGANISATION: ORG,
  OKR_WEBHOOK_POLL_MS: '50',
  OKR_WEBHOOK_TIMEOUT_MS: '700',
  OKR_WEBHOOK_LEASE_MS: '2000',
  OKR_WEBHOOK_BACKOFF_MS: '50',
  OKR_WEBHOOK_BACKOFF_MAX_MS: '300',
  OKR_WEBHOOK_MAX_ATTEMPTS: '100',
  OKR_WEBHOOK_CONCURRENCY: '4',
  OKR_WEBHOOK_CONCURRENCY_PER_ORGANISATION: '4',
  OKR_WEBHOOK_SCHEDULE_MS: '500',
};

let db: TestDatabase;
let receiver: Receiver;
let server: (Child & { url: string }) | null = null;

/** By turns: fail, hang (the sender times out), succeed; the tail always succeeds so the test ends soon. */
const byTurns = (n: number): Behaviour => (n >= 60 ? OK : [FAIL, HANG, OK][n % 3] ?? OK);

async function must(query: string, variables?: Record<string, unknown>): Promise<Record<string, any>> {
  return dataOf(await gqlRequest(present(server, 'server').url, query, variables), query.slice(0, 60));
}

interface Row {
  id: string;
  cause_key: string;
  state: string;
  attempts: number;
}
const rows = () => db.sql.query<Row>('SELECT id, cause_key, state, attempts FROM okr_webhook_outbox WHERE organisation_id = ? ORDER BY cause_key', [ORG]);

beforeAll(async () => {
  db = await createTestDatabase('hookkill');
  receiver = await startReceiver(byTurns);
}, 60_000);
afterAll(async () => {
  await server?.stop('SIGKILL', 5000);
  await receiver?.close();
  await db?.drop();
});

it('SIGKILL mid-delivery loses no cause; after a restart each is delivered, and only an accepted-but-unmarked one is sent again', async () => {
  // ---- the causes, enqueued by their appends while nothing delivers ---------------------------------
  server = await startServerProcess(db.url, await freePort(), { ...WEBHOOK_ENV, OKR_WEBHOOK_DELIVERY: 'false' });
  const unit = (await must(`mutation { registerUnit(input: { name: "Acme", level: COMPANY }) { id } }`)).registerUnit.id;
  const { secret } = (await must(`mutation($i: AddWebhookInput!) { addWebhook(input: $i) { secret } }`, {
    i: { unitId: unit, url: receiver.url, kind: 'SIGNED_JSON', causes: ['QUARTER_PHASE'] },
  })).addWebhook;
  for (let q = 1; q <= QUARTERS; q += 1) {
    const id = `K${String(q).padStart(2, '0')}`;
    const year = 2000 + q;
    await must(`mutation($i: PlanQuarterInput!) { planQuarter(input: $i) { id } }`, { i: { id, startsOn: `${year}-01-01T00:00:00Z`, endsOn: `${year}-04-01T00:00:00Z` } });
    await must(`mutation($id: ID!) { closeQuarter(id: $id) { id } }`, { id });
  }
  const enqueued = await rows();
  expect(enqueued).toHaveLength(2 * QUARTERS);
  expect(enqueued.every((r) => r.state === 'PENDING' && r.attempts === 0)).toBe(true);
  expect(receiver.received).toHaveLength(0);
  await server.stop('SIGTERM', 15_000);

  // ---- deliver, and SIGKILL right after the receiver accepts one -------------------------------------
  const first = await startServerProcess(db.url, await freePort(), WEBHOOK_ENV);
  server = first;
  let killedAfter: string | null = null;
  receiver.onAnswered = (r) => {
    if (killedAfter === null && r.answered === 200 && receiver.acceptedIds().size >= KILL_AT_ACCEPTED) {
      killedAfter = r.deliveryId;
      first.process.kill('SIGKILL');
    }
  };
  const exited = await waitFor('the SIGKILL', async () => (killedAfter === null ? undefined : first.exited), { timeoutMs: 45_000, intervalMs: 20 });
  receiver.onAnswered = undefined;
  expect(exited.signal).toBe('SIGKILL');
  server = null;

  const afterKill = await rows();
  const acceptedBeforeKill = receiver.acceptedIds();
  // Accepted by the receiver, not marked by the dead server: these may be sent once more.
  const unmarked = new Set(afterKill.filter((r) => r.state === 'PENDING' && acceptedBeforeKill.has(r.id)).map((r) => r.id));
  const inFlightAtKill = receiver.received.filter((r) => r.answered === null).length;
  console.log(
    `killed after ${acceptedBeforeKill.size} accepted, ${receiver.received.length} requests; ${unmarked.size} accepted but unmarked ` +
      `(${killedAfter !== null && unmarked.has(killedAfter) ? 'including' : 'not including'} the last one), ${inFlightAtKill} requests never answered (hangs); ` +
      `${afterKill.filter((r) => r.state === 'PENDING').length} rows pending`,
  );
  expect(afterKill.filter((r) => r.state === 'DELIVERED').every((r) => acceptedBeforeKill.has(r.id))).toBe(true);
  expect(afterKill.filter((r) => r.state === 'PENDING').length).toBeGreaterThan(0);

  // ---- restart on the same database: everything is delivered -----------------------------------------
  server = await startServerProcess(db.url, await freePort(), WEBHOOK_ENV);
  const settled = await waitFor(
    'every delivery to be settled',
    async () => {
      const now = await rows();
      return now.every((r) => r.state !== 'PENDING') ? now : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  const stopped = await server.stop('SIGTERM', 20_000);
  expect(stopped).toEqual({ code: 0, signal: null });
  server = null;

  // Every cause once, delivered.
  const expectedKeys = Array.from({ length: QUARTERS }, (_, i) => `K${String(i + 1).padStart(2, '0')}`).flatMap((q) => [`phase:${q}:CLOSED`, `phase:${q}:PLANNED`]).sort();
  expect(settled.map((r) => r.cause_key)).toEqual(expectedKeys);
  expect(settled.map((r) => r.state)).toEqual(Array(2 * QUARTERS).fill('DELIVERED'));
  // The receiver accepted each at least once; twice only if the dead server had not marked it.
  expect([...receiver.acceptedIds()].sort()).toEqual(settled.map((r) => r.id).sort());
  const twice = settled.filter((r) => receiver.acceptedBy(r.id).length > 1).map((r) => r.id);
  expect(twice.filter((id) => !unmarked.has(id))).toEqual([]);
  expect(settled.map((r) => receiver.acceptedBy(r.id).length).every((n) => n === 1 || n === 2)).toBe(true);
  // Every attempt of a delivery: the same id, the same bytes, a valid signature.
  for (const r of settled) {
    const attempts = receiver.received.filter((x) => x.deliveryId === r.id);
    expect(new Set(attempts.map((x) => x.body)).size).toBe(1);
    expect(JSON.parse(attempts[0]?.body ?? '{}').deliveryId).toBe(r.id);
    for (const x of attempts) {
      const timestamp = x.headers['x-okr-timestamp'] as string;
      expect(verifySignature(secret, { signature: x.headers['x-okr-signature'] as string, timestamp }, x.body, new Date(Number(timestamp) * 1000))).toBe(true);
    }
  }
  console.log(`${receiver.received.length} requests for ${settled.length} deliveries; ${twice.length} accepted twice (of ${unmarked.size} unmarked at the kill)`);
}, 120_000);
