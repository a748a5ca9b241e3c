import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { MikroORM } from '@mikro-orm/postgresql';
import { okrSchema } from '../schema/build';
import type { Context } from '../schema/context';
import { formatError } from '../schema/errors';
import { queryLimits } from '../schema/limits';
import { localAuthenticator, type Authenticator } from './auth';
import { DEFAULT_WEBSOCKET_LIMITS, type WebSocketLimits } from './config';
import { sqlOf } from './database';
import { History } from './history';
import { originAllowed } from './http/cors';
import { httpHandler } from './http/handler';
import { attachWebSocket, type WebSocketEndpoint } from './http/websocket';
import { Ledger } from './ledger';
import { LogFollower } from './logFollower';
import { errorFields, silentLogger, type Logger } from './logger';
import { contextFactory } from './requestContext';

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
}

export interface OkrServer {
  http: Server;
  /** GraphQL over WebSocket: stats() tells the open sockets and subscriptions. */
  webSocket: WebSocketEndpoint;
  /** Starts listening; resolves with the URL of the GraphQL endpoint. */
  listen(port: number, host: string): Promise<string>;
  /** Stops accepting connections, lets in-flight requests finish, stops Apollo. */
  close(): Promise<void>;
}

export const DEFAULT_EFFORT_BUDGET = 4;

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
  const schema = await okrSchema();
  const webSocketLimits: WebSocketLimits = { ...DEFAULT_WEBSOCKET_LIMITS, ...options.webSocket };
  const follower = new LogFollower({
    sql: sqlOf(options.orm.em.fork()),
    listenUrl: String(options.orm.config.get('clientUrl') ?? '') || null,
    pollMs: options.followerPollMs,
    logger,
    maxQueuedPerSubscriber: webSocketLimits.maxQueuedEvents,
  });
  await follower.start();
  const validationRules = [queryLimits()];
  const apollo = new ApolloServer<Context>({
    schema,
    validationRules,
    introspection: options.introspection ?? true,
    // Automatic persisted queries are not offered: a hash-only request gets PERSISTED_QUERY_NOT_SUPPORTED.
    persistedQueries: false,
    // One operation per request: a batch is refused with a clear 400, so limits apply per request.
    allowBatchedHttpRequests: false,
    includeStacktraceInErrorResponses: false,
    // Apollo's landing page loads Apollo Sandbox from a CDN; browsers get our own GraphiQL (src/http/graphiql.ts).
    plugins: [ApolloServerPluginLandingPageDisabled()],
    formatError: (formatted, error) =>
      formatError(formatted, error, (e) => logger.error('unexpected error in a request', { path: formatted.path, ...errorFields(e) })),
  });
  await apollo.start();

  const authenticator = options.authenticator ?? localAuthenticator(options.organisationId, options.actor);
  const budget = options.effortBudget ?? DEFAULT_EFFORT_BUDGET;
  const context = contextFactory({
    orm: options.orm,
    ledger: new Ledger(options.orm, clock),
    history: new History(options.orm),
    follower,
    clock,
    effortBudget: typeof budget === 'function' ? budget : () => budget,
  });

  const corsOrigins = options.corsOrigins ?? [];
  let closing = false;
  const http: Server = createHttpServer(
    httpHandler({
      apollo,
      authenticator,
      context,
      logger,
      maxBodyBytes,
      corsOrigins,
      databaseReachable: () => databaseReachable(options.orm),
      closing: () => closing,
      // While closing, free each keep-alive connection as soon as its last answer is out.
      onFinishWhileClosing: () => setImmediate(() => http.closeIdleConnections()),
    }),
  );
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

  return {
    http,
    webSocket,
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
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeIdleConnections();
      });
      await apollo.stop();
    },
  };
}
