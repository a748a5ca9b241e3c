import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Pool } from 'pg';
import { okrSchema } from '../schema/build';
import type { Context } from '../schema/context';
import { formatError } from '../schema/errors';
import { costPlugin } from '../schema/costPlugin';
import { DEFAULT_REQUEST_LIMITS, queryLimits, type RequestLimits } from '../schema/limits';
import { AuditService } from './audit';
import { localAuthenticator, type Authenticator } from './auth';
import { ephemeralCheckpointKeys, type CheckpointKeys } from './checkpointKeys';
import { DEFAULT_LIMITS, DEFAULT_WEBHOOK_SETTINGS, DEFAULT_WEBSOCKET_LIMITS, type ServerLimits, type WebhookSettings, type WebSocketLimits } from './config';
import { sqlOf } from './database';
import { History } from './history';
import { Admission, ExpensiveWork, type RateStore } from './http/admission';
import { originAllowed } from './http/cors';
import { exchangePlugin } from './http/exchange';
import { httpHandler } from './http/handler';
import { attachWebSocket, type WebSocketEndpoint } from './http/websocket';
import { Ledger } from './ledger';
import { LogFollower } from './logFollower';
import { errorFields, silentLogger, type Logger } from './logger';
import { Metrics } from './metrics';
import { contextFactory } from './requestContext';
import { createWebhooks, type Webhooks } from './webhooks';
import { databaseUrlOf } from './databaseUrl';

export interface ServerOptions {
  orm: MikroORM;
  /** In local development mode (no authenticator): the organisation and actor of every request. */
  organisationId: string;
  actor: string;
  /** Checks each request's credentials; default: local development mode (everyone is the local admin). */
  authenticator?: Authenticator;
  /** The clock every command and phase reads; tests pass a controllable one. */
  clock?: () => Date;
  logger?: Logger;
  /** Person-days a unit's cycle should cost per quarter: one figure, or one per organisation. */
  effortBudget?: number | ((organisationId: string) => number);
  /** Largest accepted request body, in bytes. */
  maxBodyBytes?: number;
  /** How often the live subscription polls the log when no notification arrives (ms). */
  followerPollMs?: number;
  /** Whether clients may introspect the schema (turn off in production). Default true. */
  introspection?: boolean;
  /** Origins whose pages may call the API from a browser (CORS); loopback ones too in local development mode. */
  corsOrigins?: readonly string[];
  /** Limits of GraphQL over WebSocket; unset ones keep their defaults (config.ts). */
  webSocket?: Partial<WebSocketLimits>;
  /**
   * Admission limits and connection timeouts. Omitted fields take DEFAULT_LIMITS (src/config.ts, what
   * `npm start` uses), except the rate and concurrency limits per person and organisation, which are
   * off unless given: tests and benchmarks drive one person hard on purpose.
   */
  limits?: Partial<ServerLimits>;
  /** The operator's bearer token for GET /metrics; without it /metrics answers only in local development mode. */
  metricsToken?: string | null;
  /** Cost, depth, alias, command, token, field and response-size limits (README, "Limits"). */
  requestLimits?: Partial<RequestLimits>;
  /** The key checkpoints are signed with (npm start: from configuration); default: one made for this process only. */
  checkpointKeys?: CheckpointKeys;
  /**
   * Outgoing webhooks: unset fields take DEFAULT_WEBHOOK_SETTINGS, and private addresses are allowed only in
   * local development mode (no authenticator). `deliver: false` leaves the worker and scheduler to the caller.
   */
  webhooks?: Partial<WebhookSettings>;
}

export interface OkrServer {
  http: Server;
  /** GraphQL over WebSocket: stats() tells the open sockets and subscriptions. */
  webSocket: WebSocketEndpoint;
  /** The server's metrics (GET /metrics); other parts register their gauges here. */
  metrics: Metrics;
  /** Outgoing webhooks: their delivery worker and cause scheduler (tests drive them with runOnce). */
  webhooks: Webhooks;
  /** Starts listening; resolves with the URL of the GraphQL endpoint. */
  listen(port: number, host: string): Promise<string>;
  /** Stops accepting connections, lets in-flight requests finish, stops Apollo. */
  close(): Promise<void>;
}

export const DEFAULT_EFFORT_BUDGET = 4;

/** The limits in force: DEFAULT_LIMITS under `given`, with per-person and per-organisation admission off unless given. */
export function limitsOf(given: Partial<ServerLimits> = {}): ServerLimits {
  return { ...DEFAULT_LIMITS, ratePerPerson: 0, ratePerOrganisation: 0, concurrencyPerPerson: 0, concurrencyPerOrganisation: 0, ...given };
}

/** The knex (tarn) pool behind MikroORM: connections in use, idle, and requests waiting for one. */
function poolStats(orm: MikroORM): { labels: { state: string }; value: number }[] {
  const pool = (orm.em.getConnection().getKnex().client as { pool?: { numUsed(): number; numFree(): number; numPendingAcquires(): number } }).pool;
  if (!pool) return [];
  return [
    { labels: { state: 'used' }, value: pool.numUsed() },
    { labels: { state: 'free' }, value: pool.numFree() },
    { labels: { state: 'pending' }, value: pool.numPendingAcquires() },
  ];
}

/** Gauges of this module's parts, read at each scrape. */
function registerGauges(metrics: Metrics, orm: MikroORM, http: () => Server, admission: Admission, expensive: ExpensiveWork): void {
  metrics.registerGauge('okr_db_pool_connections', 'Database pool connections by state: used, free, pending (requests waiting for one).', () => poolStats(orm), ['state']);
  metrics.registerGauge(
    'okr_http_open_connections',
    'Open HTTP connections (keep-alive and upgraded ones included).',
    () => new Promise<number>((resolve) => http().getConnections((error, count) => resolve(error ? 0 : count))),
  );
  metrics.registerGauge('okr_requests_in_flight', 'GraphQL requests over HTTP admitted and not yet done.', () => admission.inFlight());
  metrics.registerGauge('okr_expensive_work_running', 'Scans and replays (verifyAuditLog, asOf) running now.', () => expensive.stats().running);
  metrics.registerGauge('okr_expensive_work_waiting', 'Scans and replays waiting for a slot.', () => expensive.stats().waiting);
  metrics.registerGauge(
    'okr_expensive_work_peak_per_organisation',
    'The most scans and replays one organisation has had running at once since the server started.',
    () => expensive.stats().peakPerOrganisation,
  );
}

/** Resolves true when the database answers within two seconds. */
async function databaseReachable(orm: MikroORM): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), 2000);
  });
  const ping = sqlOf(orm.em.fork())
    .query('SELECT 1')
    .then(() => true)
    .catch(() => false);
  try {
    return await Promise.race([ping, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The GraphQL API on a plain node http server (no framework: see docs on the stack in README): composes
 * the request context (src/requestContext.ts), the HTTP routes (src/http/handler.ts) and GraphQL over
 * WebSocket (src/http/websocket.ts), and owns the order of shutdown.
 */
export async function createServer(options: ServerOptions): Promise<OkrServer> {
  const clock = options.clock ?? (() => new Date());
  const logger = options.logger ?? silentLogger;
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const limits = limitsOf(options.limits);
  const metrics = new Metrics();
  const schema = await okrSchema();
  const webSocketLimits: WebSocketLimits = { ...DEFAULT_WEBSOCKET_LIMITS, ...options.webSocket };
  const follower = new LogFollower({
    sql: sqlOf(options.orm.em.fork()),
    listenUrl: databaseUrlOf(options.orm),
    pollMs: options.followerPollMs,
    logger,
    maxQueuedPerSubscriber: webSocketLimits.maxQueuedEvents,
  });
  await follower.start();
  const requestLimits: RequestLimits = { ...DEFAULT_REQUEST_LIMITS, ...options.requestLimits };
  const validationRules = queryLimits(requestLimits);
  const apollo = new ApolloServer<Context>({
    schema,
    validationRules,
    // Refused while parsing, before a long document costs anything more (formatError names the reason).
    parseOptions: { maxTokens: requestLimits.maxTokens },
    introspection: options.introspection ?? true,
    // Automatic persisted queries are not offered: a hash-only request gets PERSISTED_QUERY_NOT_SUPPORTED.
    persistedQueries: false,
    // One operation per request: a batch is refused with a clear 400, so limits apply per request.
    allowBatchedHttpRequests: false,
    includeStacktraceInErrorResponses: false,
    // Apollo's landing page loads Apollo Sandbox from a CDN; browsers get our own GraphiQL (src/http/graphiql.ts).
    // No cache hints are given, so Apollo's cache-control plugin (a hook on every field) is not installed.
    plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginCacheControlDisabled(), costPlugin<Context>(requestLimits), exchangePlugin()],
    formatError: (formatted, error) =>
      formatError(formatted, error, (e) => logger.error('unexpected error in a request', { path: formatted.path, ...errorFields(e) })),
  });
  await apollo.start();

  const authenticator = options.authenticator ?? localAuthenticator(options.organisationId, options.actor);
  const budget = options.effortBudget ?? DEFAULT_EFFORT_BUDGET;
  const effortBudget = typeof budget === 'function' ? budget : () => budget;
  const webhooks = createWebhooks({
    orm: options.orm,
    clock,
    logger,
    metrics,
    effortBudget,
    settings: { ...DEFAULT_WEBHOOK_SETTINGS, allowPrivateAddresses: !authenticator.enforced, ...options.webhooks },
  });
  const expensiveWork = new ExpensiveWork({
    perOrganisation: limits.expensivePerOrganisation,
    total: limits.expensiveTotal,
    queuePerOrganisation: limits.expensiveQueuePerOrganisation,
    maxWaitMs: limits.expensiveWaitMs,
  });
  // Shared rate limits count in PostgreSQL through a small pool of their own, so that checking them
  // never waits behind the requests they admit.
  const ratePool = limits.rateStore === 'postgres' ? new Pool({ connectionString: databaseUrlOf(options.orm), max: 4 }) : null;
  const rateStore: RateStore = ratePool ? { kind: 'postgres', pool: ratePool } : { kind: 'memory' };
  const admission = new Admission(limits, rateStore);
  const checkpointKeys = options.checkpointKeys ?? ephemeralCheckpointKeys();
  const context = contextFactory({
    orm: options.orm,
    ledger: new Ledger(options.orm, clock, undefined, undefined, checkpointKeys.signing),
    audit: new AuditService(options.orm, checkpointKeys, clock),
    history: new History(options.orm),
    follower,
    clock,
    effortBudget,
    expensiveWork,
    webhooks: webhooks.service,
  });

  const corsOrigins = options.corsOrigins ?? [];
  let closing = false;
  const http: Server = createHttpServer(
    {
      // Slow or silent clients: the headers, and the whole request, must arrive in time; idle
      // keep-alive connections close. Node checks these every connectionsCheckingInterval.
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, Math.ceil(limits.headersTimeoutMs / 4)),
    },
    httpHandler({
      apollo,
      authenticator,
      context,
      logger,
      maxBodyBytes,
      corsOrigins,
      maxResponseBytes: requestLimits.maxResponseBytes,
      databaseReachable: () => databaseReachable(options.orm),
      closing: () => closing,
      // While closing, free each keep-alive connection as soon as its last answer is out.
      onFinishWhileClosing: () => setImmediate(() => http.closeIdleConnections()),
      admission,
      metrics,
      metricsToken: options.metricsToken ?? null,
      sendTimeoutMs: limits.sendTimeoutMs,
      requestTimeoutMs: limits.requestTimeoutMs,
    }),
  );
  registerGauges(metrics, options.orm, () => http, admission, expensiveWork);
  const webSocket = attachWebSocket({
    http,
    schema,
    validationRules,
    authenticator,
    context,
    logger,
    limits: webSocketLimits,
    originAllowed: (origin) => originAllowed(origin, { origins: corsOrigins, allowLoopback: !authenticator.enforced }),
  });
  metrics.registerGauge('okr_websocket_connections', 'Open WebSocket connections (authenticated or not yet).', () => webSocket.stats().sockets);
  metrics.registerGauge('okr_websocket_subscriptions', 'Active subscriptions over WebSocket.', () => webSocket.stats().subscriptions);
  webhooks.start();

  return {
    http,
    webSocket,
    metrics,
    webhooks,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host, () => {
          const address = http.address() as AddressInfo;
          resolve(`http://${host.includes(':') ? `[${host}]` : host}:${address.port}/graphql`);
        });
      }),
    close: async () => {
      closing = true;
      await webSocket.close();
      await follower.stop();
      // Deliveries in flight finish (each within the webhook timeout) and are settled before the pool closes.
      await webhooks.stop();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeIdleConnections();
      });
      await apollo.stop();
      await ratePool?.end();
    },
  };
}
