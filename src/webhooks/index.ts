import type { MikroORM } from '@mikro-orm/postgresql';
import { connectionsOf } from '../clientSql';
import type { WebhookSettings } from '../config';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { CauseScheduler } from './scheduler';
import { WebhookService } from './service';
import { DeliveryWorker } from './worker';

/*
 * Reminders where people are (README, "Reminders where people are: webhooks"): outgoing webhooks per
 * unit, delivered at least once from a durable outbox.
 *
 *   service.ts    configuration and the deliveries list, for the API (admins only)
 *   addresses.ts  which URLs and addresses a webhook may reach (SSRF)
 *   outbox.ts     the outbox: enqueue (in the append's statement, or ON CONFLICT DO NOTHING), claim, settle
 *   scheduler.ts  the causes no event marks: forgotten check-ins, phase changes of the clock, new health problems
 *   worker.ts     delivery: bounded concurrency, timeouts, retries with backoff, a lease per claim
 *   payloads.ts   the bodies (Slack's shape, signed JSON) and the signature
 *   send.ts       one POST, bounded in time, without redirects
 */

export interface Webhooks {
  service: WebhookService;
  worker: DeliveryWorker;
  scheduler: CauseScheduler;
  settings: WebhookSettings;
  /** Starts the worker and the scheduler (when settings.deliver). */
  start(): void;
  /** Stops both; resolves once the deliveries in flight have settled. */
  stop(): Promise<void>;
}

export function createWebhooks(options: {
  orm: MikroORM;
  clock: () => Date;
  logger: Logger;
  metrics: Metrics;
  settings: WebhookSettings;
  effortBudget: (organisationId: string) => number;
}): Webhooks {
  const connections = connectionsOf(options.orm);
  const { settings } = options;
  const worker = new DeliveryWorker({ sql: connections.sql, settings, clock: options.clock, logger: options.logger, metrics: options.metrics });
  const scheduler = new CauseScheduler({
    connections,
    clock: options.clock,
    effortBudget: options.effortBudget,
    intervalMs: settings.scheduleMs,
    logger: options.logger,
    onEnqueued: () => worker.wake(),
  });
  const service = new WebhookService({ sql: connections.sql, clock: options.clock, allowPrivateAddresses: settings.allowPrivateAddresses });
  return {
    service,
    worker,
    scheduler,
    settings,
    start() {
      if (!settings.deliver) return;
      worker.start();
      scheduler.start();
    },
    async stop() {
      await Promise.all([scheduler.stop(), worker.stop()]);
    },
  };
}
