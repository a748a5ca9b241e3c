import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/*
 * What a delivery says. A cause is recorded as JSON on its outbox row when it is enqueued, with everything
 * its message needs (names and titles as they were then), so the body of a delivery is a pure function of
 * its row: every retry sends the same bytes, under the same delivery id.
 */

export const WEBHOOK_KINDS = ['SLACK', 'SIGNED_JSON'] as const;
export type WebhookKind = (typeof WEBHOOK_KINDS)[number];

export const WEBHOOK_CAUSES = ['QUARTER_PHASE', 'FORGOTTEN_CHECK_IN', 'HEALTH_PROBLEM'] as const;
export type WebhookCauseKind = (typeof WEBHOOK_CAUSES)[number];

/** PLANNED and CLOSED come from the events (QuarterPlanned, QuarterClosed); the others from the clock. */
export type PhaseChange = 'PLANNED' | 'SETTING' | 'ACTIVE' | 'SCORING' | 'CLOSED';

export type Cause =
  | {
      kind: 'QUARTER_PHASE';
      quarterId: string;
      phase: PhaseChange;
      /** When the quarter entered the phase. */
      at: string;
      startsOn?: string;
      endsOn?: string;
      settingOpensOn?: string;
    }
  | {
      kind: 'FORGOTTEN_CHECK_IN';
      quarterId: string;
      unitName: string;
      keyResultId: string;
      keyResultTitle: string;
      cadence: 'BIWEEKLY' | 'MONTHLY';
      /** The last check-in (or, without one, when the key result became due for its first). */
      lastCheckInAt: string | null;
      dueAt: string;
    }
  | {
      kind: 'HEALTH_PROBLEM';
      quarterId: string;
      unitName: string;
      rule: string;
      severity: 'PROBLEM';
      message: string;
      subjectId: string | null;
    };

/** One outbox row, as the worker sends it. */
export interface Delivery {
  id: string;
  organisationId: string;
  webhookId: string;
  unitId: string;
  cause: Cause;
  occurredAt: Date;
}

const day = (iso: string | undefined): string => (iso ?? '').slice(0, 10);

const PHASE_TEXT: Record<PhaseChange, (c: Extract<Cause, { kind: 'QUARTER_PHASE' }>) => string> = {
  PLANNED: (c) => `Quarter ${c.quarterId} was planned: the setting window opens ${day(c.settingOpensOn)}, and it runs from ${day(c.startsOn)} to ${day(c.endsOn)}.`,
  SETTING: (c) => `The setting window of ${c.quarterId} is open: draft, align and commit objectives before the quarter starts.`,
  ACTIVE: (c) => `Quarter ${c.quarterId} has started: check in on its key results at your unit's cadence.`,
  SCORING: (c) => `Quarter ${c.quarterId} has ended: score its key results and hold the retrospective.`,
  CLOSED: (c) => `Quarter ${c.quarterId} was closed: its OKRs accept no more changes.`,
};

/** The cause in one sentence, for people (Slack's text, the generic payload's `text`, the deliveries list). */
export function causeText(cause: Cause): string {
  switch (cause.kind) {
    case 'QUARTER_PHASE':
      return PHASE_TEXT[cause.phase](cause);
    case 'FORGOTTEN_CHECK_IN': {
      const every = cause.cadence === 'MONTHLY' ? 'every month' : 'every two weeks';
      const since = cause.lastCheckInAt === null ? 'no check-in yet' : `no check-in since ${day(cause.lastCheckInAt)}`;
      return `${cause.unitName}: "${cause.keyResultTitle}" (${cause.quarterId}) has ${since}; the unit checks in ${every}. A short check-in on confidence and blockers keeps OKRs operational.`;
    }
    case 'HEALTH_PROBLEM':
      return `${cause.unitName}: a new health problem in ${cause.quarterId}, ${cause.rule}. ${cause.message}`;
    default: {
      const unknown: never = cause;
      return String(unknown);
    }
  }
}

const CAUSE_TITLE: Record<WebhookCauseKind, string> = {
  QUARTER_PHASE: 'Quarter phase',
  FORGOTTEN_CHECK_IN: 'Forgotten check-in',
  HEALTH_PROBLEM: 'Health problem',
};

/** Slack's mrkdwn treats &, < and > as control characters. */
const slackEscape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The body of a delivery: Slack's incoming-webhook shape, or the generic JSON one. Same bytes on every retry. */
export function deliveryBody(kind: WebhookKind, delivery: Delivery): string {
  const text = causeText(delivery.cause);
  if (kind === 'SLACK') {
    return JSON.stringify({
      text: `${CAUSE_TITLE[delivery.cause.kind]}: ${slackEscape(text)}`,
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: CAUSE_TITLE[delivery.cause.kind] } },
        { type: 'section', text: { type: 'mrkdwn', text: slackEscape(text) } },
        {
          type: 'context',
          elements: [{ type: 'mrkdwn', text: `OKR ledger · ${slackEscape(delivery.occurredAt.toISOString())} · delivery ${delivery.id}` }],
        },
      ],
    });
  }
  return JSON.stringify({
    deliveryId: delivery.id,
    webhookId: delivery.webhookId,
    organisationId: delivery.organisationId,
    unitId: delivery.unitId,
    cause: delivery.cause,
    occurredAt: delivery.occurredAt.toISOString(),
    text,
  });
}

/** A SIGNED_JSON webhook's secret, made by the server: 32 random bytes. */
export const newWebhookSecret = (): string => `whsec_${randomBytes(32).toString('base64url')}`;

/**
 * The X-OKR-Signature header: `sha256=` and the hex HMAC-SHA256, keyed with the webhook's secret, of
 * `<X-OKR-Timestamp>.<body>`. The timestamp is signed with the body so that a receiver can refuse an old
 * request replayed with a fresh timestamp.
 */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** What a receiver does (README shows the same in a snippet): recompute, compare in constant time, check the age. */
export function verifySignature(
  secret: string,
  headers: { signature: string | undefined; timestamp: string | undefined },
  body: string,
  now: Date,
  toleranceSeconds = 300,
): boolean {
  if (headers.signature === undefined || headers.timestamp === undefined || !/^\d{1,12}$/.test(headers.timestamp)) return false;
  if (Math.abs(now.getTime() / 1000 - Number(headers.timestamp)) > toleranceSeconds) return false;
  const expected = Buffer.from(signature(secret, headers.timestamp, body));
  const given = Buffer.from(headers.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
