/*
 * Outgoing webhooks as the API sees them (src/webhooks/service.ts implements WebhookAccess). Configuration
 * is not part of the log: it holds secrets. Every operation is for admins; the implementation refuses
 * others with FORBIDDEN.
 */

/** Webhooks one unit may have (removed ones do not count). */
export const WEBHOOKS_PER_UNIT = 10;
/** Deliveries one webhookDeliveries page holds at most (default 20). */
export const DELIVERIES_PAGE_MAX = 100;
export const DELIVERIES_PAGE_DEFAULT = 20;

export type WebhookKindName = 'SLACK' | 'SIGNED_JSON';
export type WebhookCauseName = 'QUARTER_PHASE' | 'FORGOTTEN_CHECK_IN' | 'HEALTH_PROBLEM';
export type WebhookStateName = 'ACTIVE' | 'PAUSED' | 'REMOVED';
export type DeliveryStateName = 'PENDING' | 'DELIVERED' | 'FAILED' | 'CANCELLED';

export interface WebhookView {
  id: string;
  unitId: string;
  kind: WebhookKindName;
  /** The URL shortened (its path can be a secret): scheme, host and port, then its last four characters. */
  urlHint: string;
  causes: WebhookCauseName[];
  state: WebhookStateName;
  createdAt: Date;
  createdBy: string;
  updatedAt: Date;
}

export interface DeliveryView {
  id: string;
  webhookId: string;
  unitId: string;
  cause: WebhookCauseName;
  summary: string;
  details: unknown;
  state: DeliveryStateName;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  nextAttemptAt: Date | null;
  occurredAt: Date;
  enqueuedAt: Date;
  lastAttemptAt: Date | null;
  deliveredAt: Date | null;
}

export interface NewWebhook {
  unitId: string;
  url: string;
  kind: WebhookKindName;
  /** null: every cause. */
  causes: WebhookCauseName[] | null;
  /** SIGNED_JSON only; null: the server makes one. */
  secret: string | null;
}

/** One request's view of its organisation's webhooks. */
export interface WebhookAccess {
  /** Answers the secret of a SIGNED_JSON webhook, this once. */
  add(input: NewWebhook): Promise<{ webhook: WebhookView; secret: string | null }>;
  list(unitId: string): Promise<WebhookView[]>;
  pause(id: string): Promise<WebhookView>;
  resume(id: string): Promise<WebhookView>;
  /** Forgets the URL and secret and cancels the deliveries still pending. */
  remove(id: string): Promise<WebhookView>;
  /** The unit's deliveries, newest first. */
  deliveries(unitId: string, options: { first: number; state: DeliveryStateName | null }): Promise<DeliveryView[]>;
}
