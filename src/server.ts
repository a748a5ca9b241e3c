import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, HeaderMap, type HTTPGraphQLResponse } from '@apollo/server';
import { GraphQLError, getOperationAST, parse, specifiedRules, validate, type GraphQLFormattedError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { MikroORM } from '@mikro-orm/postgresql';
import { verifyChain, type ChainVerification } from '../events/audit';
import { EventStore } from '../events/store';
import { TableReadModel } from '../projections/readModel';
import { okrSchema } from '../schema/build';
import { queryLimits } from '../schema/limits';
import { illFormedPath } from '../schema/wellFormed';
import type { Context } from '../schema/context';
import { formatError } from '../schema/errors';
import { AuthenticationError, localAuthenticator, type Authenticator, type Principal } from './auth';
import { Commands } from './commands';
import { eventFeed } from './eventFeed';
import { LogFollower } from './logFollower';
import { inSnapshot, sqlOf } from './database';
import { History } from './history';
import { Ledger } from './ledger';
import { errorFields, silentLogger, type Logger } from './logger';

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
}

export interface OkrServer {
  http: Server;
  /** Starts listening; resolves with the URL of the GraphQL endpoint. */
  listen(port: number, host: string): Promise<string>;
  /** Stops accepting connections, lets in-flight requests finish, stops Apollo. */
  close(): Promise<void>;
}

export const DEFAULT_EFFORT_BUDGET = 4;

class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new RequestError(413, `Request body larger than ${limit} bytes.`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return; // drained and dropped: the 413 is answered, then the connection closed
      size += chunk.length;
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
        reject(new RequestError(413, `Request body larger than ${limit} bytes.`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function sendGraphQL(res: ServerResponse, response: HTTPGraphQLResponse): Promise<void> {
  res.statusCode = response.status ?? 200;
  for (const [key, value] of response.headers) res.setHeader(key, value);
  if (response.body.kind === 'complete') {
    res.end(response.body.string);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;

/** The GraphQL API on a plain node http server (no framework: see shared/notes/stack.md). */
export async function createServer(options: ServerOptions): Promise<OkrServer> {
  const clock = options.clock ?? (() => new Date());
  const logger = options.logger ?? silentLogger;
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const ledger = new Ledger(options.orm, clock);
  const history = new History(options.orm);
  const store = new EventStore();
  const schema = await okrSchema();
  const follower = new LogFollower({
    sql: sqlOf(options.orm.em.fork()),
    listenUrl: String(options.orm.config.get('clientUrl') ?? '') || null,
    pollMs: options.followerPollMs,
    logger,
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
    formatError: (formatted, error) =>
      formatError(formatted, error, (e) => logger.error('unexpected error in a request', { path: formatted.path, ...errorFields(e) })),
  });
  await apollo.start();

  let closing = false;
  const authenticator = options.authenticator ?? localAuthenticator(options.organisationId, options.actor);
  const budget = options.effortBudget ?? DEFAULT_EFFORT_BUDGET;
  const budgetFor = typeof budget === 'function' ? budget : () => budget;

  /** Everything a request may touch, scoped to the principal's organisation. */
  const context = (requestId: string, principal: Principal): Context => {
    const org = principal.organisationId;
    const actor = { organisationId: org, actor: principal.subject, correlationId: requestId };
    const newRead = () => new TableReadModel(options.orm.em.fork(), org);
    const ctx: Context = {
      organisationId: org,
      actor: principal.subject,
      role: principal.role,
      requestId,
      now: clock(),
      commands: new Commands(ledger, actor, randomUUID, { role: principal.role, units: principal.units }),
      read: newRead(),
      refreshRead: () => {
        ctx.read = newRead();
      },
      log: { readAll: (filter) => store.readAll(sqlOf(options.orm.em.fork()), { ...filter, organisationId: org }) },
      verifyLog: async () => {
        const result = await inSnapshot(options.orm, (sql) => verifyChain(sql, { organisationId: org }));
        return result.ok ? result : withinOrganisation(result, org);
      },
      feed: (filter) => eventFeed(follower, { organisationId: org, ...filter }),
      readAsOf: (at, quarterId) => history.quarterAt(org, quarterId, at),
      effortBudget: budgetFor(org),
    };
    return ctx;
  };

  /** A broken chain is reported in full only where the broken event is the caller's organisation's own. */
  const withinOrganisation = async (result: ChainVerification, org: string): Promise<ChainVerification> => {
    if (result.firstBrokenPosition === null) return result;
    const rows = await sqlOf(options.orm.em.fork()).query<{ organisation_id: string }>(
      'SELECT organisation_id FROM okr_events WHERE position = ?',
      [result.firstBrokenPosition],
    );
    if (rows[0]?.organisation_id === org) return result;
    return { ...result, firstBrokenPosition: null, reason: 'The shared log does not match its hash chain outside your organisation; the operator must investigate.' };
  };

  const databaseReachable = async (): Promise<boolean> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), 2000);
    });
    const ping = sqlOf(options.orm.em.fork())
      .query('SELECT 1')
      .then(() => true)
      .catch(() => false);
    try {
      return await Promise.race([ping, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('x-request-id', requestId);
    if (closing) res.setHeader('connection', 'close');
    const started = performance.now();
    res.once('finish', () => {
      // While closing, free each keep-alive connection as soon as its last answer is out.
      if (closing) setImmediate(() => http.closeIdleConnections());
      logger.info('request', {
        requestId,
        method: req.method,
        path: url.pathname,
        status: res.statusCode,
        ms: Math.round((performance.now() - started) * 10) / 10,
      });
    });
    // Liveness: the process answers. Readiness: it can also reach its database.
    if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (url.pathname === '/readyz') {
      const ready = await databaseReachable();
      return sendJson(res, ready ? 200 : 503, ready ? { status: 'ready' } : { status: 'unavailable', reason: 'database unreachable' });
    }
    if (url.pathname !== '/graphql') return sendJson(res, 404, { error: 'Not found: the API is at /graphql.' });
    const principal = await authenticator.authenticate(req.headers.authorization);
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    let body: unknown;
    if (req.method === 'POST') {
      const text = await readBody(req, maxBodyBytes);
      if ((headers.get('content-type') ?? '').includes('json')) {
        try {
          body = JSON.parse(text);
        } catch {
          throw new RequestError(400, 'The request body is not valid JSON.');
        }
      } else {
        body = text;
      }
    }
    // Text that is not well-formed (NUL, a lone surrogate) can be neither stored nor meant: refuse it
    // here, for every field of every operation at once.
    const illFormed = illFormedPath({ body, search: Object.fromEntries(url.searchParams) });
    if (illFormed) {
      return sendJson(res, 400, {
        errors: [
          {
            message: `The request contains a NUL character or a broken UTF-16 surrogate (at ${illFormed}); send well-formed text.`,
            extensions: { code: 'BAD_USER_INPUT', reason: 'INVALID_CHARACTERS' },
          },
        ],
      });
    }
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
      context: async () => context(requestId, principal),
    });
    await sendGraphQL(res, response);
  };

  const http = createHttpServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) return res.destroy();
      if (error instanceof AuthenticationError) {
        res.setHeader('www-authenticate', 'Bearer');
        return sendJson(res, 401, { errors: [{ message: error.message, extensions: { code: 'UNAUTHENTICATED' } }] });
      }
      if (error instanceof RequestError) {
        const code = error.status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST';
        // The rest of an oversized body is not read: close the connection once the answer is out.
        if (error.status === 413) res.setHeader('connection', 'close');
        return sendJson(res, error.status, { errors: [{ message: error.message, extensions: { code } }] });
      }
      logger.error('request failed outside GraphQL', errorFields(error));
      return sendJson(res, 500, { errors: [{ message: 'Internal server error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
    });
  });

  // GraphQL over WebSocket (graphql-ws protocol) on the same path, for the eventAppended subscription.
  const sockets = new WebSocketServer({ server: http, path: '/graphql', maxPayload: maxBodyBytes });
  const formatWsError = (error: GraphQLError | GraphQLFormattedError) =>
    error instanceof GraphQLError
      ? formatError(error.toJSON(), error, (e) => logger.error('unexpected error in a subscription', errorFields(e)))
      : formatError(error, error);
  const wsServer = useServer(
    {
      schema,
      onSubscribe: (_ctx, _id, payload) => {
        if (illFormedPath(payload)) {
          return [
            new GraphQLError('The subscription contains a NUL character or a broken UTF-16 surrogate; send well-formed text.', {
              extensions: { code: 'BAD_USER_INPUT', reason: 'INVALID_CHARACTERS' },
            }),
          ];
        }
        // Only subscriptions travel over the socket: queries and mutations go over HTTP, where the
        // request limits, error mapping and introspection switch apply.
        let operation;
        try {
          operation = getOperationAST(parse(payload.query), payload.operationName);
        } catch {
          return [new GraphQLError('The subscription does not parse.', { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
        }
        if (operation?.operation !== 'subscription') {
          return [
            new GraphQLError('Only subscriptions are served over WebSocket; send queries and mutations over HTTP.', {
              extensions: { code: 'BAD_REQUEST' },
            }),
          ];
        }
        return undefined;
      },
      // The same error mapping as HTTP: stable codes, nothing internal.
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map((e) => formatWsError(e)) } : result,
      onError: (_ctx, _id, _payload, errors) => errors.map((e) => formatWsError(e)),
      // Credentials: the upgrade request's Authorization header, or connectionParams.authorization.
      onConnect: async (ctx) => {
        const fromParams = ctx.connectionParams?.authorization;
        const header = typeof fromParams === 'string' ? fromParams : ctx.extra.request.headers.authorization;
        try {
          (ctx.extra as { principal?: Principal }).principal = await authenticator.authenticate(header);
          return true;
        } catch {
          return false;
        }
      },
      context: (ctx) => context(randomUUID(), (ctx.extra as unknown as { principal: Principal }).principal),
      validate: (s, document) => validate(s, document, [...specifiedRules, ...validationRules]),
    },
    sockets,
  );

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
      await wsServer.dispose();
      for (const socket of sockets.clients) socket.terminate();
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
      await follower.stop();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeIdleConnections();
      });
      await apollo.stop();
    },
  };
}
