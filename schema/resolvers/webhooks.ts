import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { rejected } from '../../domain/errors';
import type { Context } from '../context';
import { DELIVERIES_PAGE_DEFAULT, DELIVERIES_PAGE_MAX } from '../webhookAccess';
import { AddedWebhook, AddWebhookInput, Webhook, WebhookDelivery, WebhookDeliveryState } from '../webhookTypes';

/**
 * Outgoing webhooks of a unit ("reminders where people are"): admins configure them here; the server
 * delivers from a durable outbox (src/webhooks/). Configuration is not in the log, so these mutations
 * append no event and take no idempotencyKey: adding twice makes two webhooks.
 */
@Resolver()
export class WebhookResolver {
  @Query(() => [Webhook], { description: "The unit's webhooks (removed ones left out). Admins only." })
  webhooks(@Arg('unitId', () => ID) unitId: string, @Ctx() ctx: Context): Promise<Webhook[]> {
    return ctx.webhooks.list(unitId) as Promise<Webhook[]>;
  }

  @Query(() => [WebhookDelivery], { description: `The unit's deliveries, newest first (first: 1-${DELIVERIES_PAGE_MAX}, default ${DELIVERIES_PAGE_DEFAULT}). Admins only.` })
  webhookDeliveries(
    @Arg('unitId', () => ID) unitId: string,
    @Arg('first', () => Int, { nullable: true }) first: number | null,
    @Arg('state', () => WebhookDeliveryState, { nullable: true }) state: WebhookDeliveryState | null,
    @Ctx() ctx: Context,
  ): Promise<WebhookDelivery[]> {
    const size = first ?? DELIVERIES_PAGE_DEFAULT;
    if (!Number.isInteger(size) || size < 1 || size > DELIVERIES_PAGE_MAX) {
      throw rejected('PAGE_SIZE_INVALID', `first must be from 1 to ${DELIVERIES_PAGE_MAX}.`);
    }
    return ctx.webhooks.deliveries(unitId, { first: size, state }) as Promise<WebhookDelivery[]>;
  }

  @Mutation(() => AddedWebhook, { description: "Adds a webhook to a unit; a SIGNED_JSON one's secret is answered this once. Admins only." })
  addWebhook(@Arg('input', () => AddWebhookInput) input: AddWebhookInput, @Ctx() ctx: Context): Promise<AddedWebhook> {
    return ctx.webhooks.add({ unitId: input.unitId, url: input.url, kind: input.kind, causes: input.causes ?? null, secret: input.secret ?? null }) as Promise<AddedWebhook>;
  }

  @Mutation(() => Webhook, { description: 'Stops a webhook: nothing new is enqueued for it and nothing is sent until it is resumed. Admins only.' })
  pauseWebhook(@Arg('id', () => ID) id: string, @Ctx() ctx: Context): Promise<Webhook> {
    return ctx.webhooks.pause(id) as Promise<Webhook>;
  }

  @Mutation(() => Webhook, { description: 'Starts a paused webhook again; what was pending before the pause is sent. Admins only.' })
  resumeWebhook(@Arg('id', () => ID) id: string, @Ctx() ctx: Context): Promise<Webhook> {
    return ctx.webhooks.resume(id) as Promise<Webhook>;
  }

  @Mutation(() => Webhook, { description: 'Removes a webhook for good: its URL and secret are forgotten and its pending deliveries cancelled. Admins only.' })
  removeWebhook(@Arg('id', () => ID) id: string, @Ctx() ctx: Context): Promise<Webhook> {
    return ctx.webhooks.remove(id) as Promise<Webhook>;
  }
}
