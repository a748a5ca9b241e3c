import { Client } from 'pg';
import type { RecordedEvent } from '../events/catalogue';
import { textArray, type Sql } from '../events/sql';
import { EventStore } from '../events/store';
import type { Logger } from './logger';
import { errorFields, silentLogger } from './logger';

export type EventListener = (event: RecordedEvent) => void;

/** Listeners handed an event between two yields to the event loop (see LogFollower.deliver). */
const FAN_OUT_SLICE = 100;

export interface LogFollowerOptions {
  /** Reads the log (outside any transaction). */
  sql: Sql;
  /** Where to LISTEN for the okr_events wake-up; null: poll only. */
  listenUrl: string | null;
  /** Poll interval, the fallback when a notification is lost or LISTEN is down. */
  pollMs?: number;
  logger?: Logger;
  /** Events that may wait for one subscriber of the live feed (eventFeed) before it is ended as too slow. */
  maxQueuedPerSubscriber?: number;
}

/**
 * Follows every organisation's log and hands each new event to its listeners exactly once, in each
 * organisation's position order.
 *
 * Its checkpoints are the last position delivered per organisation. That is safe because an
 * organisation's positions are gap-free and commit-ordered (events/store.ts): no lower position can
 * appear later. A notification names the organisations whose logs moved, and a wake then reads just
 * their head rows; a poll reads every organisation's head (one row each). An organisation nobody follows
 * just has its checkpoint moved to its head, without reading its events.
 * An organisation that appears after the start is followed from its first event. A notification on
 * channel okr_events wakes it at once; polling every `pollMs` covers lost notifications and a
 * LISTEN connection that is down (it reconnects with back-off).
 *
 * Listeners may name the organisation they follow: an event then visits only its own organisation's
 * listeners, so the work of one append is bounded by that organisation's subscriptions, and one
 * tenant's many subscribers cost another tenant's events nothing. Between slices of listeners it
 * yields to the event loop, so other requests are served while a big fan-out runs.
 */
export class LogFollower {
  private readonly store = new EventStore();
  private readonly everyEvent = new Set<EventListener>();
  private readonly byOrganisation = new Map<string, Set<EventListener>>();
  /** Per organisation, the last position handed out (or passed over, when nobody followed it). */
  private readonly checkpoints = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private listenClient: Client | undefined;
  private running = false;
  private draining: Promise<void> | undefined;
  private again = false;
  /** Organisations named by notifications since the last drain; `everyHead`: read every head (a poll). */
  private readonly moved = new Set<string>();
  private everyHead = true;
  private reconnectDelay = 250;
  private readonly logger: Logger;

  constructor(private readonly options: LogFollowerOptions) {
    this.logger = options.logger ?? silentLogger;
  }

  /** The last position of `organisationId`'s log that the follower has dealt with (0: none yet). */
  positionOf(organisationId: string): number {
    return this.checkpoints.get(organisationId) ?? 0;
  }

  /** See LogFollowerOptions.maxQueuedPerSubscriber; default 1000. */
  get maxQueuedPerSubscriber(): number {
    return this.options.maxQueuedPerSubscriber ?? 1000;
  }

  /** Hands `listener` every new event, or only those of `organisationId` when given; returns the unsubscribe. */
  subscribe(listener: EventListener, organisationId?: string): () => void {
    if (organisationId === undefined) {
      this.everyEvent.add(listener);
      return () => void this.everyEvent.delete(listener);
    }
    let set = this.byOrganisation.get(organisationId);
    if (!set) {
      set = new Set();
      this.byOrganisation.set(organisationId, set);
    }
    set.add(listener);
    return () => {
      const current = this.byOrganisation.get(organisationId);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) this.byOrganisation.delete(organisationId);
    };
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    // Only events appended from now on: every existing log is followed from its current head.
    for (const head of await this.heads()) this.checkpoints.set(head.organisation_id, Number(head.position));
    if (this.options.listenUrl) await this.listen(this.options.listenUrl);
    const poll = () => {
      if (!this.running) return;
      void this.wake().finally(() => {
        if (this.running) this.timer = setTimeout(poll, this.options.pollMs ?? 1000);
      });
    };
    this.timer = setTimeout(poll, this.options.pollMs ?? 1000);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    const client = this.listenClient;
    this.listenClient = undefined;
    await client?.end().catch(() => undefined);
    await this.draining;
  }

  /**
   * Reads everything after the checkpoints and delivers it; concurrent wakes coalesce. A poll (the
   * default) looks at every organisation's head; a notification only at those it named.
   */
  wake(everyHead = true): Promise<void> {
    if (everyHead) this.everyHead = true;
    if (this.draining) {
      this.again = true;
      return this.draining;
    }
    this.draining = (async () => {
      try {
        do {
          this.again = false;
          await this.drain();
        } while (this.again && this.running);
      } catch (error) {
        this.logger.warn('log follower could not read the log; will retry', errorFields(error));
      } finally {
        this.draining = undefined;
      }
    })();
    return this.draining;
  }

  private heads(only?: readonly string[]): Promise<{ organisation_id: string; position: string }[]> {
    if (only === undefined) return this.options.sql.query<{ organisation_id: string; position: string }>('SELECT organisation_id, position FROM okr_log_heads');
    return this.options.sql.query<{ organisation_id: string; position: string }>(
      'SELECT organisation_id, position FROM okr_log_heads WHERE organisation_id = ANY(?::text[])',
      [textArray(only)],
    );
  }

  private async drain(): Promise<void> {
    const every = this.everyHead;
    const moved = [...this.moved];
    this.everyHead = false;
    this.moved.clear();
    if (!every && moved.length === 0) return;
    for (const head of await this.heads(every ? undefined : moved)) {
      const organisationId = head.organisation_id;
      const position = Number(head.position);
      if (position <= (this.checkpoints.get(organisationId) ?? 0)) continue;
      if (this.everyEvent.size === 0 && !this.byOrganisation.has(organisationId)) {
        this.checkpoints.set(organisationId, position);
        continue;
      }
      for (;;) {
        const after = this.checkpoints.get(organisationId) ?? 0;
        const page = await this.store.readAll(this.options.sql, { organisationId, after, limit: 500 });
        for (const event of page) {
          this.checkpoints.set(organisationId, event.position);
          const own = this.byOrganisation.get(organisationId);
          await this.deliver(own ? [...this.everyEvent, ...own] : [...this.everyEvent], event);
        }
        if (page.length < 500) break;
      }
    }
  }

  /**
   * Hands the event to each listener, in order. What a listener sets off (a subscriber's execution and
   * send) runs as microtasks, which would hold the event loop until all of them are done: after every
   * FAN_OUT_SLICE listeners this yields to I/O, so one organisation's large fan-out cannot keep another's
   * requests waiting for its whole length.
   */
  private async deliver(listeners: readonly EventListener[], event: RecordedEvent): Promise<void> {
    for (const [i, listener] of listeners.entries()) {
      if (i > 0 && i % FAN_OUT_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
      try {
        listener(event);
      } catch (error) {
        this.logger.error('a log listener failed', errorFields(error));
      }
    }
  }

  private async listen(url: string): Promise<void> {
    const client = new Client({ connectionString: url });
    client.on('notification', (message) => {
      if (message.payload) this.moved.add(message.payload);
      else this.everyHead = true;
      void this.wake(false);
    });
    client.on('error', (error) => {
      this.logger.warn('LISTEN connection lost; polling until it is back', errorFields(error));
      if (this.listenClient === client) this.listenClient = undefined;
      void client.end().catch(() => undefined);
      this.reconnect(url);
    });
    try {
      await client.connect();
      await client.query('LISTEN okr_events');
      this.listenClient = client;
      this.reconnectDelay = 250;
      void this.wake(); // catch up on anything appended while not listening
    } catch (error) {
      await client.end().catch(() => undefined);
      this.logger.warn('could not LISTEN for new events; polling meanwhile', errorFields(error));
      this.reconnect(url);
    }
  }

  private reconnect(url: string): void {
    if (!this.running) return;
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, 10_000);
    setTimeout(() => {
      if (this.running && !this.listenClient) void this.listen(url);
    }, delay).unref();
  }
}
