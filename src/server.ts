import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import type { MikroORM } from '@mikro-orm/postgresql';
import { okrSchema } from '../schema/build';
import type { Context } from '../schema/context';
import { formatError } from '../schema/errors';
import { costPlugin } from '../schema/costPlugin';
import { DEFAULT_LIMITS, queryLimits, type RequestLimits } from '../schema/limits';
import { localAuthenticator, type Authenticator } from './auth';
import { sqlOf } from './database';
import { History } from './history';
import { httpHandler } from './http/handler';
import { attachWebSocket } from './http/websocket';
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
  /** Cost, depth, alias, command, token, field and response-size limits (README, "Limits"). */
  limits?: Partial<RequestLimits>;
}

export interface OkrServer {
  http: Server;
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
  const follower = new LogFollower({
    sql: sqlOf(options.orm.em.fork()),
    listenUrl: String(options.orm.config.get('clientUrl') ?? '') || null,
    pollMs: options.followerPollMs,
    logger,
  });
  await follower.start();
  const limits: RequestLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const validationRules = queryLimits(limits);
  const apollo = new ApolloServer<Context>({
    schema,
    validationRules,
    // Refused while parsing, before a long document costs anything more (formatError names the reason).
    parseOptions: { maxTokens: limits.maxTokens },
    plugins: [costPlugin<Context>(limits)],
    introspection: options.introspection ?? true,
    // Automatic persisted queries are not offered: a hash-only request gets PERSISTED_QUERY_NOT_SUPPORTED.
    persistedQueries: false,
    // One operation per request: a batch is refused with a clear 400, so limits apply per request.
    allowBatchedHttpRequests: false,
    includeStacktraceInErrorResponses: false,
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

  let closing = false;
  const http: Server = createHttpServer(
    httpHandler({
      apollo,
      authenticator,
      context,
      logger,
      maxBodyBytes,
      maxResponseBytes: limits.maxResponseBytes,
      databaseReachable: () => databaseReachable(options.orm),
      closing: () => closing,
      // While closing, free each keep-alive connection as soon as its last answer is out.
      onFinishWhileClosing: () => setImmediate(() => http.closeIdleConnections()),
    }),
  );
  const webSocket = attachWebSocket({ http, schema, validationRules, authenticator, context, logger, maxPayload: maxBodyBytes });

  return {
    http,
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
