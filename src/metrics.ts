import { timingSafeEqual } from 'node:crypto';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * What operators see on `GET /metrics` (Prometheus text format, prom-client): requests by operation and
 * outcome, their latency, their admitted cost, refusals by reason, and gauges that other parts register
 * (database pool, open sockets, subscriptions, expensive work), beside prom-client's process metrics
 * (CPU, memory, heap, event-loop lag, GC).
 *
 * One registry per server, so that several servers in one process (tests) do not share counters.
 * Label values that a client chooses (operation names) or that code produces (error codes and reasons)
 * are bounded: at most `MAX_LABEL_VALUES` distinct values per label, the rest counted as "other".
 */
export const MAX_LABEL_VALUES = 100;

const LABEL_VALUE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Keeps a label's set of values bounded: well-formed names up to a fixed number of distinct values. */
class BoundedLabel {
  private readonly seen = new Set<string>();
  constructor(private readonly limit: number) {}

  of(value: string | null | undefined, absent: string): string {
    if (value == null || value === '') return absent;
    if (!LABEL_VALUE.test(value)) return 'other';
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.limit) return 'other';
    this.seen.add(value);
    return value;
  }
}

/** One GraphQL request as it ended, for the request metrics. */
export interface RequestObservation {
  /** The operation's name as the client sent it (null when anonymous or never parsed). */
  operation: string | null;
  /** `ok`, or what ended it: the first error's code in lower case, `client_closed`, `send_timeout`. */
  outcome: string;
  seconds: number;
  /** The admitted cost of the request, once the cost analysis reports it (null until then). */
  cost: number | null;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly operations = new BoundedLabel(MAX_LABEL_VALUES);
  private readonly outcomes = new BoundedLabel(MAX_LABEL_VALUES);
  private readonly reasons = new BoundedLabel(MAX_LABEL_VALUES);
  private readonly requests: Counter<'operation' | 'outcome'>;
  private readonly latency: Histogram<'operation' | 'outcome'>;
  private readonly cost: Histogram;
  private readonly refusals: Counter<'code' | 'reason'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'okr_graphql_requests_total',
      help: 'GraphQL requests over HTTP by operation name and outcome (ok, or the first error code in lower case, client_closed, send_timeout).',
      labelNames: ['operation', 'outcome'],
      registers: [this.registry],
    });
    this.latency = new Histogram({
      name: 'okr_graphql_request_duration_seconds',
      help: 'Time from the request\'s arrival to the end of its work, by operation name and outcome.',
      labelNames: ['operation', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [this.registry],
    });
    this.cost = new Histogram({
      name: 'okr_graphql_request_cost',
      help: 'The admitted cost of each GraphQL request (the query cost analysis), when it reports one.',
      buckets: [1, 10, 50, 100, 500, 1000, 5000, 10_000, 50_000],
      registers: [this.registry],
    });
    this.refusals = new Counter({
      name: 'okr_refusals_total',
      help: 'Requests or fields refused by a limit or a rule, by error code and reason.',
      labelNames: ['code', 'reason'],
      registers: [this.registry],
    });
  }

  observeRequest(observation: RequestObservation): void {
    const labels = {
      operation: this.operations.of(observation.operation, 'anonymous'),
      outcome: this.outcomes.of(observation.outcome, 'unknown'),
    };
    this.requests.inc(labels);
    this.latency.observe(labels, observation.seconds);
    if (observation.cost !== null && Number.isFinite(observation.cost)) this.cost.observe(observation.cost);
  }

  /** One refusal with a stable code and reason (RATE_LIMITED/PERSON_RATE_LIMIT, GRAPHQL_VALIDATION_FAILED/QUERY_TOO_DEEP...). */
  refused(code: string, reason: string | null): void {
    this.refusals.inc({ code: this.reasons.of(code, 'none'), reason: this.reasons.of(reason, 'none') });
  }

  /**
   * A gauge whose value is read at each scrape: `collect` returns one value, or one per label set.
   * For parts that own a count (open sockets, subscriptions, pool connections).
   */
  registerGauge(name: string, help: string, collect: () => number | Promise<number>): void;
  registerGauge<L extends string>(
    name: string,
    help: string,
    collect: () => readonly { labels: Record<L, string>; value: number }[] | Promise<readonly { labels: Record<L, string>; value: number }[]>,
    labelNames: readonly L[],
  ): void;
  registerGauge(
    name: string,
    help: string,
    collect: () => unknown,
    labelNames: readonly string[] = [],
  ): void {
    new Gauge({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        const value = await collect();
        if (typeof value === 'number') {
          this.set(value);
          return;
        }
        this.reset();
        for (const entry of value as { labels: Record<string, string>; value: number }[]) this.set(entry.labels, entry.value);
      },
    });
  }

  /** The Prometheus text exposition and its content type. */
  async exposition(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}

/**
 * Who may read /metrics. They describe every organisation at once, so an organisation's own tokens do
 * not open them: outside local development mode only the operator's OKR_METRICS_TOKEN does.
 *
 * Returns null when allowed, else the HTTP status and message to answer.
 */
export function metricsAccess(
  authorization: string | undefined,
  options: { enforced: boolean; token: string | null },
): { status: 401 | 403; message: string } | null {
  if (!options.enforced) return null;
  if (options.token === null) {
    return { status: 403, message: 'GET /metrics is off: the operator sets OKR_METRICS_TOKEN and scrapes with Authorization: Bearer <that token>.' };
  }
  const given = /^Bearer (\S+)$/.exec(authorization?.trim() ?? '')?.[1] ?? '';
  const a = Buffer.from(given);
  const b = Buffer.from(options.token);
  if (a.length === b.length && timingSafeEqual(a, b)) return null;
  return { status: 401, message: 'GET /metrics needs Authorization: Bearer <OKR_METRICS_TOKEN>.' };
}
