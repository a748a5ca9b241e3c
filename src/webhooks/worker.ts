import { randomUUID } from 'node:crypto';
import { Counter, Histogram } from 'prom-client';
import type { Sql } from '../../events/sql';
import type { WebhookSettings } from '../config';
import { errorFields, silentLogger, type Logger } from '../logger';
import type { Metrics } from '../metrics';
import { claimDue, settle, type Claimed, type Settlement } from './outbox';
import { deliveryBody, signature } from './payloads';
import { postJson, type SendResult } from './send';

export type WorkerSettings = Pick<
  WebhookSettings,
  'allowPrivateAddresses' | 'timeoutMs' | 'maxAttempts' | 'backoffMs' | 'backoffMaxMs' | 'concurrency' | 'concurrencyPerOrganisation' | 'pollMs' | 'leaseMs'
>;

export interface DeliveryWorkerOptions {
  /** Statements outside transactions (the pool's connections). */
  sql: Sql;
  settings: WorkerSettings;
  /** The clock deliveries are due by and settled at; tests pass a controllable one. */
  clock: () => Date;
  logger?: Logger;
  /** Where okr_webhook_* metrics are registered (GET /metrics). */
  metrics?: Metrics;
  /** Jitter source, 0 <= x < 1 (tests pass a fixed one). */
  random?: () => number;
}

/** How one attempt ended, as the metrics count it. */
export type AttemptOutcome = 'delivered' | 'retry' | 'failed' | 'lease_lost';

/**
 * How long to wait before attempt `attempt + 1`, after attempt `attempt` (from 1) failed: `backoffMs`
 * doubled with every attempt, at most `backoffMaxMs`, then jittered down to between half and all of it, so
 * that deliveries that failed together (a receiver that was down) do not all come back together.
 */
export function retryDelayMs(attempt: number, settings: Pick<WorkerSettings, 'backoffMs' | 'backoffMaxMs'>, random: () => number): number {
  const exponential = Math.min(settings.backoffMaxMs, settings.backoffMs * 2 ** Math.min(Math.max(attempt - 1, 0), 40));
  return Math.round(exponential / 2 + (exponential / 2) * random());
}

/**
 * Delivers the outbox (okr_webhook_outbox) from inside the server process, at least once.
 *
 * Each pass claims due rows in one statement (outbox.ts claimDue: FOR UPDATE SKIP LOCKED, a lease), as
 * many as this process has free slots for: at most `concurrency` deliveries in flight in all and
 * `concurrencyPerOrganisation` per organisation, so a slow or dead receiver holds at most its
 * organisation's slots, for at most `timeoutMs` each, and never another organisation's. Each delivery
 * POSTs, then settles its row in one statement: delivered on 2xx; otherwise its attempt is recorded and it
 * is due again after an exponential, jittered backoff, or, after `maxAttempts`, given up (FAILED).
 *
 * A crash between the receiver's 2xx and the settling statement leaves the row pending under its lease;
 * when the lease runs out it is delivered again, with the same delivery id (X-OKR-Delivery) for the
 * receiver to recognise. That is the "at most once more" of at-least-once delivery.
 */
export class DeliveryWorker {
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly perOrganisation = new Map<string, number>();
  private readonly logger: Logger;
  private readonly random: () => number;
  private readonly counted: { attempts: Counter<'outcome'>; seconds: Histogram<'outcome'> } | null;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private passing: Promise<unknown> | null = null;
  private again = false;

  constructor(private readonly options: DeliveryWorkerOptions) {
    this.logger = options.logger ?? silentLogger;
    this.random = options.random ?? Math.random;
    this.counted = options.metrics ? registerMetrics(options.metrics, this) : null;
  }

  /** Deliveries this process has in flight. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Starts polling for due deliveries (every pollMs, and again at once while slots free up and work is due). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops claiming; resolves once the deliveries in flight have settled (each is bounded by timeoutMs). */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.passing?.catch(() => undefined);
    await Promise.allSettled([...this.inFlight]);
  }

  /** Looks for due deliveries now rather than at the next poll. */
  wake(): void {
    if (this.running) this.schedule(0);
  }

  /**
   * One pass: claims what is due and fits the free slots, starts delivering it, and resolves with the
   * deliveries started (each settles on its own). Tests drive the worker with this and `settled`.
   */
  async pass(): Promise<Promise<AttemptOutcome>[]> {
    const { settings, clock } = this.options;
    const free = settings.concurrency - this.inFlight.size;
    if (free <= 0) return [];
    const freeByOrganisation: Record<string, number> = {};
    for (const [org, n] of this.perOrganisation) freeByOrganisation[org] = Math.max(0, settings.concurrencyPerOrganisation - n);
    const now = clock();
    const claimed = await claimDue(this.options.sql, {
      now,
      leaseUntil: new Date(now.getTime() + settings.leaseMs),
      lease: randomUUID(),
      limit: free,
      perOrganisation: settings.concurrencyPerOrganisation,
      free: freeByOrganisation,
    });
    return claimed.map((c) => this.track(c));
  }

  /** One pass, then every delivery it started, settled: what each attempt came to. */
  async runOnce(): Promise<AttemptOutcome[]> {
    return Promise.all(await this.pass());
  }

  private track(claimed: Claimed): Promise<AttemptOutcome> {
    const org = claimed.delivery.organisationId;
    this.perOrganisation.set(org, (this.perOrganisation.get(org) ?? 0) + 1);
    const work = this.deliver(claimed).finally(() => {
      this.inFlight.delete(work);
      const left = (this.perOrganisation.get(org) ?? 1) - 1;
      if (left <= 0) this.perOrganisation.delete(org);
      else this.perOrganisation.set(org, left);
      // A slot is free: whatever is due can go now rather than at the next poll.
      this.wake();
    });
    this.inFlight.add(work);
    return work;
  }

  private async deliver(claimed: Claimed): Promise<AttemptOutcome> {
    const { settings, clock, sql } = this.options;
    const started = process.hrtime.bigint();
    let result: SendResult;
    try {
      const { body, headers } = this.request(claimed);
      result = await postJson(claimed.url, body, headers, { timeoutMs: settings.timeoutMs, allowPrivateAddresses: settings.allowPrivateAddresses });
    } catch (error) {
      // A row whose payload cannot be built (a bug) fails like an unreachable receiver, and is given up in time.
      this.logger.error('a webhook payload could not be built', { deliveryId: claimed.delivery.id, ...errorFields(error) });
      result = { ok: false, status: null, error: 'the payload could not be built (see the server log)' };
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const at = clock();
    let settlement: Settlement;
    if (result.ok) settlement = { state: 'DELIVERED', at, status: result.status };
    else if (claimed.attempt >= settings.maxAttempts) settlement = { state: 'FAILED', at, status: result.status, error: result.error };
    else {
      const retryAt = new Date(at.getTime() + retryDelayMs(claimed.attempt, settings, this.random));
      settlement = { state: 'PENDING', at, status: result.status, error: result.error, retryAt };
    }
    let outcome: AttemptOutcome = settlement.state === 'DELIVERED' ? 'delivered' : settlement.state === 'FAILED' ? 'failed' : 'retry';
    try {
      if (!(await settle(sql, claimed, settlement))) outcome = 'lease_lost';
    } catch (error) {
      // The row keeps its lease and is delivered again when it runs out (at least once).
      this.logger.error('a webhook delivery could not be settled; it will be sent again', { deliveryId: claimed.delivery.id, ...errorFields(error) });
      outcome = 'lease_lost';
    }
    this.counted?.attempts.inc({ outcome });
    this.counted?.seconds.observe({ outcome }, seconds);
    const fields = {
      deliveryId: claimed.delivery.id,
      organisationId: claimed.delivery.organisationId,
      webhookId: claimed.delivery.webhookId,
      attempt: claimed.attempt,
      status: result.status,
      outcome,
    };
    if (outcome === 'delivered') this.logger.debug('webhook delivered', fields);
    else if (outcome === 'lease_lost') this.logger.warn('a webhook delivery outlived its lease; another attempt owns it now', fields);
    else this.logger.info(outcome === 'failed' ? 'webhook delivery given up' : 'webhook delivery failed, will retry', { ...fields, error: result.ok ? null : result.error });
    return outcome;
  }

  /** The body (the same bytes on every attempt) and headers of an attempt; SIGNED_JSON ones signed with a fresh timestamp. */
  private request(claimed: Claimed): { body: string; headers: Record<string, string> } {
    const body = deliveryBody(claimed.kind, claimed.delivery);
    const headers: Record<string, string> = {
      'x-okr-delivery': claimed.delivery.id,
      'x-okr-attempt': String(claimed.attempt),
      'x-okr-cause': claimed.delivery.cause.kind,
    };
    if (claimed.kind === 'SIGNED_JSON' && claimed.secret !== null) {
      const timestamp = String(Math.floor(this.options.clock().getTime() / 1000));
      headers['x-okr-timestamp'] = timestamp;
      headers['x-okr-signature'] = signature(claimed.secret, timestamp, body);
    }
    return { body, headers };
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), delayMs);
    this.timer.unref();
  }

  private tick(): void {
    if (!this.running) return;
    if (this.passing !== null) {
      this.again = true;
      return;
    }
    this.again = false;
    const free = this.options.settings.concurrency - this.inFlight.size;
    this.passing = this.pass()
      .then(
        (started) => {
          // A full pass may have left more due: look again at once (slots permitting) rather than wait.
          const more = this.again || (started.length > 0 && started.length >= free && this.inFlight.size < this.options.settings.concurrency);
          return more ? 0 : this.options.settings.pollMs;
        },
        (error: unknown) => {
          this.logger.warn('looking for due webhook deliveries failed; trying again', errorFields(error));
          return this.options.settings.pollMs;
        },
      )
      .then((delay) => {
        this.passing = null;
        if (this.running) this.schedule(delay);
      });
  }
}

function registerMetrics(metrics: Metrics, worker: DeliveryWorker): { attempts: Counter<'outcome'>; seconds: Histogram<'outcome'> } {
  metrics.registerGauge('okr_webhook_deliveries_in_flight', 'Webhook deliveries this process is sending now.', () => worker.inFlightCount);
  return {
    attempts: new Counter({
      name: 'okr_webhook_delivery_attempts_total',
      help: 'Webhook delivery attempts by outcome: delivered (2xx), retry (failed, due again after a backoff), failed (given up), lease_lost (not recorded: the lease ran out and another attempt owns the row, or the webhook was removed meanwhile).',
      labelNames: ['outcome'],
      registers: [metrics.registry],
    }),
    seconds: new Histogram({
      name: 'okr_webhook_delivery_duration_seconds',
      help: 'Time from connecting to a webhook receiver to the end of its answer (or the failure), by outcome.',
      labelNames: ['outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [metrics.registry],
    }),
  };
}
