import type { RecordedEvent } from '../../events/catalogue';
import type { Sql } from '../../events/sql';
import type { Cause, Delivery, WebhookKind } from './payloads';

/*
 * The durable outbox, okr_webhook_outbox: one row per (webhook, cause), unique on its cause key, so a cause
 * is enqueued once per webhook however many servers, restarts or scheduler passes find it. Rows are
 * written in the transaction of what caused them: a quarter's planning or closing by the very statement
 * that appends its event (phaseChangeOutbox, a common table expression of the append), the scheduler's
 * causes by INSERT ... ON CONFLICT DO NOTHING. The delivery worker claims due rows with FOR UPDATE SKIP
 * LOCKED and a lease (claimDue), and settles each one once its receiver has answered (settle).
 *
 * Times are the application's clock (passed in), never the database's now(): tests move it.
 */

const OUTBOX_COLUMNS = 'organisation_id, id, webhook_id, unit_id, cause_key, cause, occurred_at, state, attempts, next_attempt_at, created_at';

/** The cause key of a quarter's phase change: one per quarter and phase, ever. */
export const phaseKey = (quarterId: string, phase: string): string => `phase:${quarterId}:${phase}`;

/**
 * The common table expression that enqueues the quarter phase changes among `recorded` (QuarterPlanned,
 * QuarterClosed) for every active webhook of the organisation told of them, in the append's own statement:
 * the outbox rows commit, or roll back, with the events. Null for events that change no phase (a check-in):
 * those appends carry nothing more.
 */
export function phaseChangeOutbox(recorded: readonly RecordedEvent[]): { ctes: string[]; params: unknown[] } | null {
  const causes: { key: string; cause: Cause; occurred_at: string }[] = [];
  for (const event of recorded) {
    const occurredAt = event.recordedAt.toISOString();
    if (event.type === 'QuarterPlanned') {
      const { quarterId, startsOn, endsOn, settingOpensOn } = event.data;
      causes.push({ key: phaseKey(quarterId, 'PLANNED'), occurred_at: occurredAt, cause: { kind: 'QUARTER_PHASE', quarterId, phase: 'PLANNED', at: occurredAt, startsOn, endsOn, settingOpensOn } });
    } else if (event.type === 'QuarterClosed') {
      const { quarterId, closedAt } = event.data;
      causes.push({ key: phaseKey(quarterId, 'CLOSED'), occurred_at: occurredAt, cause: { kind: 'QUARTER_PHASE', quarterId, phase: 'CLOSED', at: closedAt } });
    }
  }
  const first = recorded[0];
  if (causes.length === 0 || first === undefined) return null;
  const at = first.recordedAt.toISOString();
  return {
    ctes: [
      `webhook_outbox AS (INSERT INTO okr_webhook_outbox (${OUTBOX_COLUMNS})
         SELECT w.organisation_id, gen_random_uuid()::text, w.id, w.unit_id, c.key, c.cause, c.occurred_at, 'PENDING', 0, ?::timestamptz, ?::timestamptz
           FROM okr_webhooks w CROSS JOIN jsonb_to_recordset(?::jsonb) AS c(key text, cause jsonb, occurred_at timestamptz)
          WHERE w.organisation_id = ? AND w.state = 'ACTIVE' AND 'QUARTER_PHASE' = ANY(w.causes)
         ON CONFLICT DO NOTHING)`,
    ],
    params: [at, at, JSON.stringify(causes), first.metadata.organisationId],
  };
}

/** A cause the scheduler found, for the webhooks of `unitId` (all the organisation's when null). */
export interface FoundCause {
  key: string;
  cause: Cause;
  occurredAt: Date;
  unitId: string | null;
  /** Only webhooks configured before this instant are told (a phase change that happened before a webhook existed is not news to it). */
  createdBefore?: Date | null;
}

/** Enqueues `causes` for every active webhook of the organisation that wants them; a cause already enqueued is left alone. Returns how many rows were new. */
export async function enqueue(sql: Sql, organisationId: string, causes: readonly FoundCause[], now: Date): Promise<number> {
  if (causes.length === 0) return 0;
  const rows = await sql.query<{ id: string }>(
    `WITH c AS (SELECT * FROM jsonb_to_recordset(?::jsonb)
                  AS c(key text, kind text, cause jsonb, occurred_at timestamptz, unit_id text, created_before timestamptz))
     INSERT INTO okr_webhook_outbox (${OUTBOX_COLUMNS})
     SELECT w.organisation_id, gen_random_uuid()::text, w.id, w.unit_id, c.key, c.cause, c.occurred_at, 'PENDING', 0, ?::timestamptz, ?::timestamptz
       FROM c JOIN okr_webhooks w
         ON w.organisation_id = ? AND w.state = 'ACTIVE' AND c.kind = ANY(w.causes)
        AND (c.unit_id IS NULL OR w.unit_id = c.unit_id) AND (c.created_before IS NULL OR w.created_at < c.created_before)
     ON CONFLICT (organisation_id, webhook_id, cause_key) DO NOTHING
     RETURNING id`,
    [
      JSON.stringify(
        causes.map((c) => ({
          key: c.key,
          kind: c.cause.kind,
          cause: c.cause,
          occurred_at: c.occurredAt.toISOString(),
          unit_id: c.unitId,
          created_before: c.createdBefore?.toISOString() ?? null,
        })),
      ),
      now.toISOString(),
      now.toISOString(),
      organisationId,
    ],
  );
  return rows.length;
}

/** A delivery claimed by a worker: the row, its webhook's address and secret, and the lease that proves the claim. */
export interface Claimed {
  delivery: Delivery;
  kind: WebhookKind;
  url: string;
  secret: string | null;
  /** Attempts started so far, this one included. */
  attempt: number;
  lease: string;
}

interface ClaimedRow {
  organisation_id: string;
  id: string;
  webhook_id: string;
  unit_id: string;
  cause: Cause;
  occurred_at: Date | string;
  attempts: number;
  kind: WebhookKind;
  url: string;
  secret: string | null;
}

/**
 * Claims up to `limit` due deliveries in one statement: pending rows whose next attempt is due, of active
 * webhooks, taking at most `perOrganisation` of any one organisation (fewer when `free` says this worker
 * has that organisation's deliveries in flight already), in turns across organisations so that one
 * organisation's backlog never holds back another's. FOR UPDATE SKIP LOCKED: a row another worker is
 * claiming at this moment is skipped, never waited for. A claimed row's next attempt moves to the end of
 * the lease, so no other worker takes it while this one delivers, and it becomes due again by itself if
 * this one dies; `lease` is the claim's token, which settling it must present.
 */
export async function claimDue(
  sql: Sql,
  options: { now: Date; leaseUntil: Date; lease: string; limit: number; perOrganisation: number; free: Readonly<Record<string, number>> },
): Promise<Claimed[]> {
  if (options.limit <= 0) return [];
  const now = options.now.toISOString();
  const rows = await sql.query<ClaimedRow>(
    `WITH orgs AS (SELECT DISTINCT organisation_id FROM okr_webhook_outbox WHERE state = 'PENDING' AND next_attempt_at <= ?::timestamptz),
          due AS (SELECT d.* FROM orgs CROSS JOIN LATERAL (
                    SELECT x.organisation_id, x.id, x.next_attempt_at FROM okr_webhook_outbox x
                     WHERE x.organisation_id = orgs.organisation_id AND x.state = 'PENDING' AND x.next_attempt_at <= ?::timestamptz
                       AND EXISTS (SELECT 1 FROM okr_webhooks w WHERE w.organisation_id = x.organisation_id AND w.id = x.webhook_id AND w.state = 'ACTIVE')
                     ORDER BY x.next_attempt_at LIMIT ? FOR UPDATE OF x SKIP LOCKED) d),
          picked AS (SELECT r.organisation_id, r.id FROM (
                       SELECT due.*, row_number() OVER (PARTITION BY organisation_id ORDER BY next_attempt_at) AS n FROM due) r
                      WHERE r.n <= coalesce((?::jsonb ->> r.organisation_id)::int, ?)
                      ORDER BY r.n, r.next_attempt_at LIMIT ?)
     UPDATE okr_webhook_outbox o SET attempts = o.attempts + 1, next_attempt_at = ?::timestamptz, lease = ?, last_attempt_at = ?::timestamptz
       FROM picked p, okr_webhooks w
      WHERE o.organisation_id = p.organisation_id AND o.id = p.id AND w.organisation_id = o.organisation_id AND w.id = o.webhook_id
     RETURNING o.organisation_id, o.id, o.webhook_id, o.unit_id, o.cause, o.occurred_at, o.attempts, w.kind, w.url, w.secret`,
    [
      now, now, options.perOrganisation,
      JSON.stringify(options.free), options.perOrganisation, options.limit,
      options.leaseUntil.toISOString(), options.lease, now,
    ],
  );
  return rows.map((r) => ({
    delivery: {
      id: r.id,
      organisationId: r.organisation_id,
      webhookId: r.webhook_id,
      unitId: r.unit_id,
      cause: r.cause,
      occurredAt: new Date(r.occurred_at),
    },
    kind: r.kind,
    url: r.url,
    secret: r.secret,
    attempt: r.attempts,
    lease: options.lease,
  }));
}

/** How an attempt ended: delivered (2xx), to be retried at `retryAt`, or given up. */
export type Settlement =
  | { state: 'DELIVERED'; at: Date; status: number }
  | { state: 'PENDING'; at: Date; status: number | null; error: string; retryAt: Date }
  | { state: 'FAILED'; at: Date; status: number | null; error: string };

/**
 * Records the end of an attempt, if the claim still holds (its lease token is the row's): false when it
 * no longer does (the lease ran out and another worker took the row), in which case nothing is written.
 */
export async function settle(sql: Sql, claimed: Claimed, outcome: Settlement): Promise<boolean> {
  const rows = await sql.query<{ id: string }>(
    `UPDATE okr_webhook_outbox
        SET state = ?, lease = NULL, last_status = ?, last_error = ?,
            delivered_at = CASE WHEN ? = 'DELIVERED' THEN ?::timestamptz ELSE delivered_at END,
            next_attempt_at = coalesce(?::timestamptz, next_attempt_at)
      WHERE organisation_id = ? AND id = ? AND lease = ? AND state = 'PENDING'
      RETURNING id`,
    [
      outcome.state,
      outcome.status,
      outcome.state === 'DELIVERED' ? null : outcome.error,
      outcome.state,
      outcome.at.toISOString(),
      outcome.state === 'PENDING' ? outcome.retryAt.toISOString() : null,
      claimed.delivery.organisationId,
      claimed.delivery.id,
      claimed.lease,
    ],
  );
  return rows.length === 1;
}
