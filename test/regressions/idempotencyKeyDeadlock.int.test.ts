import { DomainError } from '../../domain/errors';
import { Commands } from '../../src/commands';
import { Ledger, type Actor } from '../../src/ledger';
import { createTestDatabase, type TestDatabase } from '../support/database';

/*
 * Review finding (low): the claim statement takes its row locks in the order target stream (UPDATE
 * okr_streams), idempotency key (INSERT okr_idempotency), then the guards (SELECT ... FOR SHARE). Two
 * commands of one person that share an idempotency key (a client reusing a key for another request - the
 * case IDEMPOTENCY_KEY_REUSED exists for) deadlock when one's guard is the other's target:
 *   A = recordCheckIn(kr)       locks keyResult-kr, inserts the key, then wants objective-o FOR SHARE
 *   B = refineObjective(o)      locks objective-o, then waits for the key A inserted
 * PostgreSQL aborts one after deadlock_timeout with 40P01, which the ledger neither retries nor maps:
 * the client gets an internal error (after a second's stall of the organisation's appends behind it)
 * instead of one success and one IDEMPOTENCY_KEY_REUSED.
 *
 * The interleaving is made likely (not certain: who inserts the key first after the third session gives
 * it up is up to the scheduler) by holding the key in a third session until both commands wait on it;
 * the round is repeated, each time with a new key, until a deadlock shows or it never does.
 */

const ORG = 'org-idem-deadlock';
const actor: Actor = { organisationId: ORG, actor: 'lead', correlationId: 'c' };
const now = new Date('2027-02-10T12:00:00Z');

let db: TestDatabase;
let commands: Commands;
let objectiveId: string;
let keyResultId: string;

beforeAll(async () => {
  db = await createTestDatabase('idemdeadlock');
  commands = new Commands(new Ledger(db.orm, () => now), actor);
  await commands.planQuarter({ quarterId: '2027-Q1', startsOn: '2027-01-01T00:00:00.000Z', endsOn: '2027-04-01T00:00:00.000Z' });
  const company = (await commands.registerUnit({ name: 'Co', level: 'COMPANY', parentId: null })).result.unitId;
  objectiveId = (await commands.draftObjective({ unitId: company, quarterId: '2027-Q1', title: 'Faster' })).result.objectiveId;
  keyResultId = (await commands.defineKeyResult({ objectiveId, title: 'p99', metric: 'p99', baseline: 900, target: 300 })).result.keyResultId;
  await commands.commitObjective({ objectiveId });
}, 60_000);

afterAll(async () => {
  await db?.drop();
});

async function waiters(n: number): Promise<void> {
  for (let i = 0; i < 500; i += 1) {
    const rows = await db.sql.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
    if (Number(rows[0]?.n) >= n) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`never saw ${n} sessions waiting`);
}

const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'ok',
    (e: unknown) => (e instanceof DomainError ? (e as DomainError & { reason?: string }).reason ?? e.message : `${(e as { code?: string }).code ?? ''} ${String(e)}`),
  );

it('two commands reusing one idempotency key get one success and one IDEMPOTENCY_KEY_REUSED, never a deadlock', async () => {
  const holder = await db.client();
  const rounds: string[][] = [];
  for (let round = 0; round < 8; round += 1) {
    const key = `shared-${round}`;
    await holder.query('BEGIN');
    await holder.query(
      `INSERT INTO okr_idempotency (organisation_id, actor, key, command, request_hash, result, stream_id) VALUES ($1, $2, $3, 'held', 'held', 'null', 'held')`,
      [ORG, actor.actor, key],
    );
    const a = outcome(commands.recordCheckIn({ keyResultId, confidence: 40 + round, value: 800 }, { idempotencyKey: key }));
    await waiters(1);
    const b = outcome(commands.refineObjective({ objectiveId, title: `Faster ${round}` }, { idempotencyKey: key }));
    await waiters(2);
    await holder.query('ROLLBACK');
    const both = await Promise.all([a, b]);
    rounds.push(both);
    if (both.some((o) => /deadlock/i.test(o))) break;
  }
  const wrong = rounds.filter((both) => both.filter((o) => o === 'ok').length !== 1 || both.filter((o) => o === 'IDEMPOTENCY_KEY_REUSED').length !== 1);
  expect(wrong).toEqual([]);
}, 60_000);
