import { createHash } from 'node:crypto';
import { GraphQLError } from 'graphql';
import type { Pool } from 'pg';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Principal } from '../auth';

/*
 * Admission: who may start work now. Three independent gates, each answered RATE_LIMITED (HTTP 429 with
 * Retry-After when the whole request is refused) with a reason that says which one closed:
 *
 * - a rate limit per person (organisation + sub) and per organisation: requests started per window;
 * - a concurrency limit per person and per organisation: requests in flight at once;
 * - expensive work (a scan of the log, a replay of history) admitted a few at a time per organisation
 *   and in total, with a bounded queue and a bounded wait, so that one organisation cannot hold the
 *   database pool or the CPU that another needs.
 */

export type RefusalReason =
  | 'PERSON_RATE_LIMIT'
  | 'ORGANISATION_RATE_LIMIT'
  | 'PERSON_CONCURRENCY_LIMIT'
  | 'ORGANISATION_CONCURRENCY_LIMIT'
  | 'EXPENSIVE_QUEUE_FULL'
  | 'EXPENSIVE_WAIT_TIMEOUT';

/** A refusal by admission: code RATE_LIMITED, a reason, and how many seconds to wait before retrying. */
export class RateLimited extends GraphQLError {
  constructor(
    readonly reason: RefusalReason,
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message, { extensions: { code: 'RATE_LIMITED', reason, retryAfterSeconds } });
    this.name = 'RateLimited';
  }
}

/**
 * The client closed the connection before the answer: the rest of the request's work is not started.
 * Nobody receives this error; it is what the log and the metrics record.
 */
export class RequestAborted extends GraphQLError {
  constructor() {
    super('The client closed the connection; the rest of the request was not run.', { extensions: { code: 'CLIENT_CLOSED_REQUEST' } });
    this.name = 'RequestAborted';
  }
}

export interface AdmissionLimits {
  /** Requests a person may start per window; 0 turns the limit off. */
  ratePerPerson: number;
  /** Requests an organisation (all its people) may start per window; 0 turns the limit off. */
  ratePerOrganisation: number;
  /** The rate limits' window, in seconds (fixed windows from each key's first request). */
  rateWindowSeconds: number;
  /** Requests of one person in flight at once; 0 turns the limit off. */
  concurrencyPerPerson: number;
  /** Requests of one organisation in flight at once; 0 turns the limit off. */
  concurrencyPerOrganisation: number;
}

/** Where the rate limits count: this process only, or a PostgreSQL table shared by every instance. */
export type RateStore = { kind: 'memory' } | { kind: 'postgres'; pool: Pool };

/** The rate-limit table (created by a migration). */
export const RATE_LIMIT_TABLE = 'okr_rate_limits';

const secondsUntil = (ms: number): number => Math.min(3600, Math.max(1, Math.ceil(ms / 1000)));

/** A fixed-length key for a person: their organisation and subject, hashed (subjects may be long). */
const personKey = (principal: Principal): string =>
  createHash('sha256').update(`${principal.organisationId}\u0000${principal.subject}`).digest('hex').slice(0, 40);

function limiter(prefix: string, points: number, windowSeconds: number, store: RateStore): RateLimiterAbstract | null {
  if (points <= 0) return null;
  const memory = new RateLimiterMemory({ keyPrefix: prefix, points, duration: windowSeconds });
  if (store.kind === 'memory') return memory;
  return new RateLimiterPostgres({
    storeClient: store.pool,
    storeType: 'pool',
    tableName: RATE_LIMIT_TABLE,
    tableCreated: true,
    keyPrefix: prefix,
    points,
    duration: windowSeconds,
    // Once a key is over its limit, refuse it from memory until its window ends: an attacker's
    // excess requests cost no database round trip.
    inMemoryBlockOnConsumed: points + 1,
    // The database unreachable: count in this process meanwhile rather than refuse everyone.
    insuranceLimiter: memory,
  });
}

/** Counts in-flight requests per key; a key's entry disappears when its count returns to zero. */
class InFlight {
  private readonly counts = new Map<string, number>();
  constructor(readonly limit: number) {}

  tryEnter(key: string): boolean {
    const current = this.counts.get(key) ?? 0;
    if (this.limit > 0 && current >= this.limit) return false;
    this.counts.set(key, current + 1);
    return true;
  }

  leave(key: string): void {
    const current = this.counts.get(key) ?? 0;
    if (current <= 1) this.counts.delete(key);
    else this.counts.set(key, current - 1);
  }

  total(): number {
    let sum = 0;
    for (const count of this.counts.values()) sum += count;
    return sum;
  }
}

/** Rate and concurrency limits per person and per organisation, checked once per HTTP request. */
export class Admission {
  private readonly personRate: RateLimiterAbstract | null;
  private readonly organisationRate: RateLimiterAbstract | null;
  private readonly persons: InFlight;
  private readonly organisations: InFlight;

  constructor(
    private readonly limits: AdmissionLimits,
    store: RateStore = { kind: 'memory' },
  ) {
    this.personRate = limiter('person', limits.ratePerPerson, limits.rateWindowSeconds, store);
    this.organisationRate = limiter('organisation', limits.ratePerOrganisation, limits.rateWindowSeconds, store);
    this.persons = new InFlight(limits.concurrencyPerPerson);
    this.organisations = new InFlight(limits.concurrencyPerOrganisation);
  }

  /**
   * Admits one request of `principal`, or throws RateLimited. The returned function ends the request's
   * hold on its concurrency slots; call it exactly once, when the request's work is over.
   */
  async admit(principal: Principal): Promise<() => void> {
    const person = personKey(principal);
    const organisation = principal.organisationId;
    if (!this.persons.tryEnter(person)) {
      throw new RateLimited(
        'PERSON_CONCURRENCY_LIMIT',
        `You already have ${this.limits.concurrencyPerPerson} requests in flight; wait for one to finish before sending another.`,
        1,
      );
    }
    if (!this.organisations.tryEnter(organisation)) {
      this.persons.leave(person);
      throw new RateLimited(
        'ORGANISATION_CONCURRENCY_LIMIT',
        `Your organisation already has ${this.limits.concurrencyPerOrganisation} requests in flight; retry shortly.`,
        1,
      );
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.persons.leave(person);
      this.organisations.leave(organisation);
    };
    try {
      await this.consume(this.personRate, person, 'PERSON_RATE_LIMIT', `You sent more than ${this.limits.ratePerPerson} requests`);
      await this.consume(
        this.organisationRate,
        organisation,
        'ORGANISATION_RATE_LIMIT',
        `Your organisation sent more than ${this.limits.ratePerOrganisation} requests`,
      );
    } catch (error) {
      release();
      throw error;
    }
    return release;
  }

  /** Requests in flight now, for the metrics. */
  inFlight(): number {
    return this.persons.total();
  }

  private async consume(rate: RateLimiterAbstract | null, key: string, reason: RefusalReason, what: string): Promise<void> {
    if (rate === null) return;
    try {
      await rate.consume(key);
    } catch (outcome) {
      if (!(outcome instanceof RateLimiterRes)) throw outcome;
      const seconds = secondsUntil(outcome.msBeforeNext);
      throw new RateLimited(reason, `${what} in ${this.limits.rateWindowSeconds} s; retry in ${seconds} s.`, seconds);
    }
  }
}

export interface ExpensiveWorkLimits {
  /** Expensive jobs of one organisation running at once. */
  perOrganisation: number;
  /** Expensive jobs running at once in this process, all organisations together. */
  total: number;
  /** Expensive jobs of one organisation waiting for a slot; one more is refused at once. */
  queuePerOrganisation: number;
  /** Longest wait for a slot, in milliseconds; then the job is refused. */
  maxWaitMs: number;
}

interface Waiter {
  organisation: string;
  grant(): void;
  fail(error: Error): void;
}

/**
 * Slots for expensive work (scans of the log, replays of history). A job runs when its organisation
 * has fewer than `perOrganisation` running and the process fewer than `total`; otherwise it waits in
 * line (first come, first served among the jobs that could run), at most `queuePerOrganisation` per
 * organisation and `maxWaitMs` long.
 */
export class ExpensiveWork {
  private readonly running = new Map<string, number>();
  private runningTotal = 0;
  private readonly queue: Waiter[] = [];
  private readonly waiting = new Map<string, number>();
  private peak = 0;

  constructor(readonly limits: ExpensiveWorkLimits) {}

  /** Runs `work` once a slot is free; refuses with RateLimited, or RequestAborted once `signal` aborts. */
  async run<T>(organisation: string, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw new RequestAborted();
    await this.acquire(organisation, signal);
    try {
      return await work();
    } finally {
      this.release(organisation);
    }
  }

  /** Jobs running and waiting now, and the most one organisation has had running at once since start. */
  stats(): { running: number; waiting: number; peakPerOrganisation: number } {
    return { running: this.runningTotal, waiting: this.queue.length, peakPerOrganisation: this.peak };
  }

  private canRun(organisation: string): boolean {
    return this.runningTotal < this.limits.total && (this.running.get(organisation) ?? 0) < this.limits.perOrganisation;
  }

  private take(organisation: string): void {
    const now = (this.running.get(organisation) ?? 0) + 1;
    this.running.set(organisation, now);
    this.runningTotal += 1;
    this.peak = Math.max(this.peak, now);
  }

  private release(organisation: string): void {
    const now = (this.running.get(organisation) ?? 1) - 1;
    if (now <= 0) this.running.delete(organisation);
    else this.running.set(organisation, now);
    this.runningTotal -= 1;
    // Hand freed slots to the longest-waiting jobs that may run now.
    for (let i = 0; i < this.queue.length && this.runningTotal < this.limits.total; ) {
      const waiter = this.queue[i] as Waiter;
      if (this.canRun(waiter.organisation)) {
        this.queue.splice(i, 1);
        this.take(waiter.organisation);
        waiter.grant();
      } else {
        i += 1;
      }
    }
  }

  private acquire(organisation: string, signal?: AbortSignal): Promise<void> {
    // Invariant: no waiting job could run now (release hands slots out at once), so a job that can
    // run overtakes nobody.
    if (this.canRun(organisation)) {
      this.take(organisation);
      return Promise.resolve();
    }
    const waiting = this.waiting.get(organisation) ?? 0;
    const retryAfter = secondsUntil(this.limits.maxWaitMs);
    if (waiting >= this.limits.queuePerOrganisation) {
      return Promise.reject(
        new RateLimited(
          'EXPENSIVE_QUEUE_FULL',
          `Your organisation already has ${this.limits.perOrganisation} scans or replays running and ${waiting} waiting ` +
            `(verifyAuditLog, asOf); retry in ${retryAfter} s.`,
          retryAfter,
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const leave = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const index = this.queue.indexOf(waiter);
        if (index >= 0) this.queue.splice(index, 1);
        const left = (this.waiting.get(organisation) ?? 1) - 1;
        if (left <= 0) this.waiting.delete(organisation);
        else this.waiting.set(organisation, left);
      };
      const waiter: Waiter = {
        organisation,
        grant: () => {
          leave();
          resolve();
        },
        fail: (error) => {
          leave();
          reject(error);
        },
      };
      const timer = setTimeout(
        () =>
          waiter.fail(
            new RateLimited(
              'EXPENSIVE_WAIT_TIMEOUT',
              `No slot for a scan or replay (verifyAuditLog, asOf) came free within ${this.limits.maxWaitMs} ms; retry in ${retryAfter} s.`,
              retryAfter,
            ),
          ),
        this.limits.maxWaitMs,
      );
      const onAbort = () => waiter.fail(new RequestAborted());
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
      this.waiting.set(organisation, waiting + 1);
    });
  }
}
