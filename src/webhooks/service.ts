import { randomUUID } from 'node:crypto';
import { forbidden, notFound, rejected } from '../../domain/errors';
import type { Sql } from '../../events/sql';
import { TableReadModel } from '../../projections/tables';
import { WEBHOOKS_PER_UNIT, type DeliveryStateName, type DeliveryView, type NewWebhook, type WebhookAccess, type WebhookCauseName, type WebhookView } from '../../schema/webhookAccess';
import type { Principal } from '../auth';
import { checkWebhookUrl, urlHint } from './addresses';
import { causeText, newWebhookSecret, WEBHOOK_CAUSES, type Cause } from './payloads';

/** A secret an admin brings: long enough to resist guessing, printable ASCII without spaces. */
const SECRET = /^[\x21-\x7e]{24,200}$/;

interface WebhookRow {
  id: string;
  unit_id: string;
  kind: WebhookView['kind'];
  url: string;
  causes: WebhookCauseName[];
  state: WebhookView['state'];
  created_at: Date;
  created_by: string;
  updated_at: Date;
}

interface DeliveryRow {
  id: string;
  webhook_id: string;
  unit_id: string;
  cause: Cause;
  state: DeliveryStateName;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  next_attempt_at: Date;
  occurred_at: Date;
  created_at: Date;
  last_attempt_at: Date | null;
  delivered_at: Date | null;
}

const WEBHOOK_COLUMNS = 'id, unit_id, kind, url, causes, state, created_at, created_by, updated_at';

const toView = (row: WebhookRow): WebhookView => ({
  id: row.id,
  unitId: row.unit_id,
  kind: row.kind,
  urlHint: row.state === 'REMOVED' ? row.url : urlHint(row.url),
  causes: row.causes,
  state: row.state,
  createdAt: new Date(row.created_at),
  createdBy: row.created_by,
  updatedAt: new Date(row.updated_at),
});

const toDelivery = (row: DeliveryRow): DeliveryView => ({
  id: row.id,
  webhookId: row.webhook_id,
  unitId: row.unit_id,
  cause: row.cause.kind,
  summary: causeText(row.cause),
  details: row.cause,
  state: row.state,
  attempts: row.attempts,
  lastStatus: row.last_status,
  lastError: row.last_error,
  nextAttemptAt: row.state === 'PENDING' ? new Date(row.next_attempt_at) : null,
  occurredAt: new Date(row.occurred_at),
  enqueuedAt: new Date(row.created_at),
  lastAttemptAt: row.last_attempt_at === null ? null : new Date(row.last_attempt_at),
  deliveredAt: row.delivered_at === null ? null : new Date(row.delivered_at),
});

export interface WebhookServiceOptions {
  sql: Sql;
  clock: () => Date;
  /** Whether URLs may name private and loopback addresses (OKR_WEBHOOK_ALLOW_PRIVATE). */
  allowPrivateAddresses: boolean;
  newId?: () => string;
}

/**
 * Webhook configuration and the deliveries list, for admins only. Refusals: analysts and auditors
 * changing anything READ_ONLY_ROLE; a member asking about another unit NOT_YOUR_UNIT; anyone else who is
 * not an admin ADMIN_ONLY (a webhook's URL can be a credential, its deliveries describe the whole unit).
 */
export class WebhookService {
  private readonly newId: () => string;

  constructor(private readonly options: WebhookServiceOptions) {
    this.newId = options.newId ?? randomUUID;
  }

  /** The organisation's webhooks as `principal` may see and change them. */
  forPrincipal(principal: Pick<Principal, 'organisationId' | 'subject' | 'role' | 'units'>): WebhookAccess {
    const { sql, clock } = this.options;
    const org = principal.organisationId;
    const mayManage = (unitId: string, change: boolean): void => {
      if (principal.role === 'admin') return;
      if (change && (principal.role === 'analyst' || principal.role === 'auditor')) {
        throw forbidden('READ_ONLY_ROLE', `An ${principal.role} reads the organisation's OKRs but changes nothing, webhooks included.`);
      }
      if (principal.role === 'member' && !principal.units.includes(unitId)) {
        throw forbidden('NOT_YOUR_UNIT', `Unit ${unitId} is not one of your units; and only an admin manages a unit's webhooks.`);
      }
      throw forbidden('ADMIN_ONLY', "Only an admin manages webhooks and reads their deliveries: a webhook's URL can itself be a credential.");
    };
    const find = async (id: string, change: boolean): Promise<WebhookRow> => {
      if (change && (principal.role === 'analyst' || principal.role === 'auditor')) mayManage('', true);
      const [row] = await sql.query<WebhookRow>(`SELECT ${WEBHOOK_COLUMNS} FROM okr_webhooks WHERE organisation_id = ? AND id = ? AND state <> 'REMOVED'`, [org, id]);
      if (row === undefined) {
        if (principal.role !== 'admin') mayManage('', change);
        throw notFound('webhook', id);
      }
      mayManage(row.unit_id, change);
      return row;
    };
    const setState = async (id: string, from: WebhookView['state'], to: WebhookView['state']): Promise<WebhookView> => {
      const row = await find(id, true);
      if (row.state !== from) return toView(row);
      const [updated] = await sql.query<WebhookRow>(
        `UPDATE okr_webhooks SET state = ?, updated_at = ?::timestamptz WHERE organisation_id = ? AND id = ? AND state = ? RETURNING ${WEBHOOK_COLUMNS}`,
        [to, clock().toISOString(), org, id, from],
      );
      return toView(updated ?? row);
    };

    return {
      add: async (input: NewWebhook) => {
        mayManage(input.unitId, true);
        const url = checkWebhookUrl(input.url, this.options.allowPrivateAddresses);
        const causes = [...new Set(input.causes ?? WEBHOOK_CAUSES)];
        if (causes.length === 0) throw rejected('WEBHOOK_CAUSES_EMPTY', 'Name at least one cause (QUARTER_PHASE, FORGOTTEN_CHECK_IN, HEALTH_PROBLEM), or leave causes out for all of them.');
        let secret: string | null = null;
        if (input.kind === 'SIGNED_JSON') {
          if (input.secret != null && !SECRET.test(input.secret)) {
            throw rejected('WEBHOOK_SECRET_INVALID', 'A webhook secret is 24 to 200 printable ASCII characters without spaces; leave it out and the server makes one.');
          }
          secret = input.secret ?? newWebhookSecret();
        } else if (input.secret != null) {
          throw rejected('WEBHOOK_SECRET_INVALID', 'A SLACK webhook takes no secret: its URL is the credential. Use kind SIGNED_JSON for signed deliveries.');
        }
        if ((await new TableReadModel(sql, org).unit(input.unitId)) === null) throw notFound('unit', input.unitId);
        const now = clock().toISOString();
        const [row] = await sql.query<WebhookRow>(
          `INSERT INTO okr_webhooks (organisation_id, id, unit_id, kind, url, secret, causes, state, created_at, created_by, updated_at)
           SELECT ?, ?, ?, ?, ?, ?, ?::text[], 'ACTIVE', ?::timestamptz, ?, ?::timestamptz
            WHERE (SELECT count(*) FROM okr_webhooks WHERE organisation_id = ? AND unit_id = ? AND state <> 'REMOVED') < ?
           RETURNING ${WEBHOOK_COLUMNS}`,
          [org, this.newId(), input.unitId, input.kind, url.toString(), secret, `{${causes.join(',')}}`, now, principal.subject, now, org, input.unitId, WEBHOOKS_PER_UNIT],
        );
        if (row === undefined) {
          throw rejected('TOO_MANY_WEBHOOKS', `A unit has at most ${WEBHOOKS_PER_UNIT} webhooks; remove one first (a webhook takes several causes).`);
        }
        return { webhook: toView(row), secret };
      },
      list: async (unitId) => {
        mayManage(unitId, false);
        const rows = await sql.query<WebhookRow>(
          `SELECT ${WEBHOOK_COLUMNS} FROM okr_webhooks WHERE organisation_id = ? AND unit_id = ? AND state <> 'REMOVED' ORDER BY created_at, id`,
          [org, unitId],
        );
        return rows.map(toView);
      },
      pause: (id) => setState(id, 'ACTIVE', 'PAUSED'),
      resume: (id) => setState(id, 'PAUSED', 'ACTIVE'),
      remove: async (id) => {
        await find(id, true);
        const now = clock().toISOString();
        // The URL (a Slack one is a credential) and the secret are forgotten; what was still to be sent is not sent.
        const [row] = await sql.query<WebhookRow>(
          `WITH cancelled AS (UPDATE okr_webhook_outbox SET state = 'CANCELLED', lease = NULL, last_error = 'the webhook was removed'
                               WHERE organisation_id = ? AND webhook_id = ? AND state = 'PENDING')
           UPDATE okr_webhooks w SET state = 'REMOVED', secret = NULL, url = ?, updated_at = ?::timestamptz
            WHERE organisation_id = ? AND id = ? AND state <> 'REMOVED'
           RETURNING ${WEBHOOK_COLUMNS.split(', ').map((c) => `w.${c}`).join(', ')}`,
          [org, id, '(removed)', now, org, id],
        );
        if (row === undefined) throw notFound('webhook', id);
        return toView(row);
      },
      deliveries: async (unitId, { first, state }) => {
        mayManage(unitId, false);
        const rows = await sql.query<DeliveryRow>(
          `SELECT id, webhook_id, unit_id, cause, state, attempts, last_status, last_error, next_attempt_at, occurred_at, created_at, last_attempt_at, delivered_at
             FROM okr_webhook_outbox WHERE organisation_id = ? AND unit_id = ? AND (?::text IS NULL OR state = ?::text)
            ORDER BY created_at DESC, id LIMIT ?`,
          [org, unitId, state, state, first],
        );
        return rows.map(toDelivery);
      },
    };
  }
}
