import type { WebSocketLimits } from '../config';

/** Why a connection or a subscription was refused: a stable reason and a sentence for the client. */
export interface Refusal {
  reason: string;
  message: string;
}

/** One authenticated WebSocket connection, as the admission bookkeeping sees it. */
export interface AdmittedConnection {
  readonly organisationId: string;
  /** Organisation and subject: one person. */
  readonly person: string;
  /** Ids of the subscriptions admitted and not yet ended. */
  readonly active: Set<string>;
  /** The fixed one-minute window of subscribe messages. */
  window: { startedAt: number; subscribes: number };
}

/**
 * The connection and subscription caps of the WebSocket endpoint (README "Limits"), per person, per
 * organisation, per connection and in all. Pure bookkeeping, in this process only: the endpoint asks
 * before it admits and tells it when something ends.
 */
export class WebSocketAdmission {
  private readonly connectionsByPerson = new Map<string, number>();
  private readonly connectionsByOrganisation = new Map<string, number>();
  private readonly subscriptionsByOrganisation = new Map<string, number>();
  private subscriptionCount = 0;

  constructor(private readonly limits: WebSocketLimits) {}

  /** Active subscriptions in all. */
  get subscriptions(): number {
    return this.subscriptionCount;
  }

  /** Admits an authenticated connection, or says why not (then nothing is counted). */
  connect(organisationId: string, subject: string, now: number): AdmittedConnection | Refusal {
    const person = `${organisationId}\u0000${subject}`;
    const mine = this.connectionsByPerson.get(person) ?? 0;
    if (mine >= this.limits.maxConnectionsPerPerson) {
      return { reason: 'TOO_MANY_CONNECTIONS', message: `at most ${this.limits.maxConnectionsPerPerson} open connections per person` };
    }
    const ours = this.connectionsByOrganisation.get(organisationId) ?? 0;
    if (ours >= this.limits.maxConnectionsPerOrganisation) {
      return { reason: 'ORGANISATION_CONNECTION_LIMIT', message: `at most ${this.limits.maxConnectionsPerOrganisation} open connections per organisation` };
    }
    this.connectionsByPerson.set(person, mine + 1);
    this.connectionsByOrganisation.set(organisationId, ours + 1);
    return { organisationId, person, active: new Set(), window: { startedAt: now, subscribes: 0 } };
  }

  /** Forgets a connection and every subscription it still had. */
  disconnect(connection: AdmittedConnection): void {
    for (const id of [...connection.active]) this.unsubscribe(connection, id);
    decrement(this.connectionsByPerson, connection.person);
    decrement(this.connectionsByOrganisation, connection.organisationId);
  }

  /**
   * Counts a subscribe message against the connection's rate, then checks the caps; null when the
   * subscription may go ahead (call `subscribe` once it is accepted).
   */
  checkSubscribe(connection: AdmittedConnection, now: number): Refusal | null {
    const { limits } = this;
    if (now - connection.window.startedAt >= 60_000) connection.window = { startedAt: now, subscribes: 0 };
    connection.window.subscribes += 1;
    if (connection.window.subscribes > limits.subscribesPerMinute) {
      return { reason: 'SUBSCRIBE_RATE_LIMIT', message: `At most ${limits.subscribesPerMinute} subscribe messages per connection per minute; wait a minute.` };
    }
    if (connection.active.size >= limits.maxSubscriptionsPerConnection) {
      return {
        reason: 'TOO_MANY_SUBSCRIPTIONS',
        message: `At most ${limits.maxSubscriptionsPerConnection} subscriptions per connection; complete one first, or filter less narrowly.`,
      };
    }
    if ((this.subscriptionsByOrganisation.get(connection.organisationId) ?? 0) >= limits.maxSubscriptionsPerOrganisation) {
      return {
        reason: 'ORGANISATION_SUBSCRIPTION_LIMIT',
        message: `Your organisation has its most subscriptions open (${limits.maxSubscriptionsPerOrganisation}); complete some first.`,
      };
    }
    if (this.subscriptionCount >= limits.maxSubscriptions) {
      return { reason: 'SERVER_SUBSCRIPTION_LIMIT', message: 'The server has its most subscriptions open; try again later.' };
    }
    return null;
  }

  subscribe(connection: AdmittedConnection, id: string): void {
    if (connection.active.has(id)) return;
    connection.active.add(id);
    this.subscriptionCount += 1;
    const org = connection.organisationId;
    this.subscriptionsByOrganisation.set(org, (this.subscriptionsByOrganisation.get(org) ?? 0) + 1);
  }

  /** Idempotent: a subscription may end by completion and by its connection closing. */
  unsubscribe(connection: AdmittedConnection, id: string): void {
    if (!connection.active.delete(id)) return;
    this.subscriptionCount -= 1;
    decrement(this.subscriptionsByOrganisation, connection.organisationId);
  }
}

export const isRefusal = (value: AdmittedConnection | Refusal): value is Refusal => 'reason' in value;

function decrement(counts: Map<string, number>, key: string): void {
  const value = (counts.get(key) ?? 0) - 1;
  if (value <= 0) counts.delete(key);
  else counts.set(key, value);
}
