import { ArrayMaxSize, IsOptional, Length } from 'class-validator';
import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { JSONResolver } from 'graphql-scalars';
import { DateTime } from './types';

/* Outgoing webhooks: their enums, input and output types (resolvers/webhooks.ts answers them). */

export enum WebhookKind { SLACK = 'SLACK', SIGNED_JSON = 'SIGNED_JSON' }
export enum WebhookCause { QUARTER_PHASE = 'QUARTER_PHASE', FORGOTTEN_CHECK_IN = 'FORGOTTEN_CHECK_IN', HEALTH_PROBLEM = 'HEALTH_PROBLEM' }
export enum WebhookState { ACTIVE = 'ACTIVE', PAUSED = 'PAUSED', REMOVED = 'REMOVED' }
export enum WebhookDeliveryState { PENDING = 'PENDING', DELIVERED = 'DELIVERED', FAILED = 'FAILED', CANCELLED = 'CANCELLED' }

registerEnumType(WebhookKind, {
  name: 'WebhookKind',
  description:
    "SLACK: a JSON body in the shape of Slack's incoming webhooks ({ text, blocks }).\n" +
    'SIGNED_JSON: a generic JSON body, signed: X-OKR-Signature is sha256=<hex HMAC-SHA256 of "<X-OKR-Timestamp>.<body>"> with the webhook\'s secret.',
});
registerEnumType(WebhookCause, {
  name: 'WebhookCause',
  description:
    'QUARTER_PHASE: a quarter was planned or closed, its setting window opened, it started or it ended.\n' +
    "FORGOTTEN_CHECK_IN: a key result of the unit went longer than the unit's cadence without a check-in while its quarter runs.\n" +
    'HEALTH_PROBLEM: a health finding of the unit of PROBLEM severity that was not there at the previous evaluation.',
});
registerEnumType(WebhookState, { name: 'WebhookState', description: 'PAUSED: nothing new is enqueued and nothing is sent until resumed. REMOVED: gone for good.' });
registerEnumType(WebhookDeliveryState, {
  name: 'WebhookDeliveryState',
  description: 'PENDING: to be sent (again) at nextAttemptAt. DELIVERED: the receiver answered 2xx. FAILED: given up after the last attempt. CANCELLED: its webhook was removed first.',
});

@InputType()
export class AddWebhookInput {
  @Field(() => ID) @Length(1, 100) unitId!: string;
  @Field(() => String, { description: 'http or https; private and loopback addresses only where the operator allows them.' }) @Length(1, 2048) url!: string;
  @Field(() => WebhookKind) kind!: WebhookKind;
  @Field(() => [WebhookCause], { nullable: true, description: 'What the webhook is told of; default all three.' })
  @IsOptional()
  @ArrayMaxSize(3)
  causes?: WebhookCause[] | null;
  @Field(() => String, { nullable: true, description: 'SIGNED_JSON only: the signing secret (24-200 printable characters). Default: made by the server and answered once.' })
  @IsOptional()
  @Length(1, 200)
  secret?: string | null;
}

@ObjectType({ description: "An outgoing webhook of a unit. Admins only." })
export class Webhook {
  @Field(() => ID) id!: string;
  @Field(() => ID) unitId!: string;
  @Field(() => WebhookKind) kind!: WebhookKind;
  @Field(() => String, { description: 'The URL shortened, since its path can be a credential (a Slack webhook URL is): scheme, host and port, then its last four characters.' })
  urlHint!: string;
  @Field(() => [WebhookCause]) causes!: WebhookCause[];
  @Field(() => WebhookState) state!: WebhookState;
  @Field(() => DateTime) createdAt!: Date;
  @Field(() => String) createdBy!: string;
  @Field(() => DateTime) updatedAt!: Date;
}

@ObjectType()
export class AddedWebhook {
  @Field(() => Webhook) webhook!: Webhook;
  @Field(() => String, { nullable: true, description: 'SIGNED_JSON: the signing secret, answered this once and never again (null for SLACK).' })
  secret!: string | null;
}

@ObjectType({ description: 'One cause to be told to one webhook: an outbox row, sent at least once under its id.' })
export class WebhookDelivery {
  @Field(() => ID, { description: 'The delivery id (X-OKR-Delivery, and in the payload): the same on every attempt, for the receiver to deduplicate on.' })
  id!: string;
  @Field(() => ID) webhookId!: string;
  @Field(() => ID) unitId!: string;
  @Field(() => WebhookCause) cause!: WebhookCause;
  @Field(() => String, { description: 'The message, as sent.' }) summary!: string;
  @Field(() => JSONResolver, { description: "The cause's details, as in the SIGNED_JSON payload's cause." }) details!: unknown;
  @Field(() => WebhookDeliveryState) state!: WebhookDeliveryState;
  @Field(() => Int, { description: 'Attempts started so far.' }) attempts!: number;
  @Field(() => Int, { nullable: true, description: "The last attempt's HTTP status (null: no answer)." }) lastStatus!: number | null;
  @Field(() => String, { nullable: true, description: 'Why the last attempt failed (the start of the answer, or the connection error).' }) lastError!: string | null;
  @Field(() => DateTime, { nullable: true, description: 'PENDING: when it is due (again).' }) nextAttemptAt!: Date | null;
  @Field(() => DateTime, { description: 'When the cause happened.' }) occurredAt!: Date;
  @Field(() => DateTime) enqueuedAt!: Date;
  @Field(() => DateTime, { nullable: true }) lastAttemptAt!: Date | null;
  @Field(() => DateTime, { nullable: true }) deliveredAt!: Date | null;
}
