import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { Context } from '../../schema/context';
import { illFormedPath } from '../../schema/wellFormed';
import { AuthenticationError, type Authenticator, type Principal } from '../auth';
import { errorFields, type Logger } from '../logger';
import { applyCors } from './cors';
import { graphiqlRoutes } from './graphiql';
import { insightsRoutes } from './insights';
import { metricsAccess, type Metrics } from '../metrics';
import { RateLimited, type Admission } from './admission';
import { bindContext, Exchange } from './exchange';
import { ClientGone, readBody, RequestError, requestIdOf, sendGraphQL, sendJson } from './io';

export interface HandlerOptions {
  apollo: ApolloServer<Context>;
  authenticator: Authenticator;
  context: (requestId: string, principal: Principal, signal?: AbortSignal) => Context;
  logger: Logger;
  maxBodyBytes: number;
  /** Largest response body sent, in bytes. */
  maxResponseBytes: number;
  /** Whether the database answers (readiness). */
  databaseReachable: () => Promise<boolean>;
  /** True once shutdown began: answers carry `connection: close`. */
  closing: () => boolean;
  /** Called when an answer is out while closing, to free its keep-alive connection. */
  onFinishWhileClosing: () => void;
  /** Origins allowed to call the API from a browser; loopback origins too in local development mode. */
  corsOrigins: readonly string[];
  /** Rate and concurrency limits per person and organisation. */
  admission: Admission;
  metrics: Metrics;
  /** The operator's token for GET /metrics (null: /metrics is off outside local development mode). */
  metricsToken: string | null;
  /** A finished answer not taken by the client within this many milliseconds: the connection is dropped. */
  sendTimeoutMs: number;
  /** The http server's requestTimeout (for the log: a request cut off by it is logged 408). */
  requestTimeoutMs: number;
}

/** GET /metrics: the Prometheus text exposition, for the operator's token (or anyone in local development mode). */
async function serveMetrics(req: IncomingMessage, res: ServerResponse, options: HandlerOptions): Promise<void> {
  const denied = metricsAccess(req.headers.authorization, { enforced: options.authenticator.enforced, token: options.metricsToken });
  if (denied) {
    if (denied.status === 401) res.setHeader('www-authenticate', 'Bearer');
    return sendJson(res, denied.status, {
      errors: [{ message: denied.message, extensions: { code: denied.status === 401 ? 'UNAUTHENTICATED' : 'FORBIDDEN' } }],
    });
  }
  const { contentType, text } = await options.metrics.exposition();
  res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The answer to a request admission refused: HTTP 429, Retry-After, code RATE_LIMITED and the reason. */
function sendRateLimited(res: ServerResponse, error: RateLimited): void {
  res.setHeader('retry-after', String(error.retryAfterSeconds));
  sendJson(res, 429, {
    errors: [{ message: error.message, extensions: error.extensions }],
  });
}

/**
 * The HTTP routes: /healthz, /readyz, /metrics, GraphQL on /graphql, GraphiQL for browsers
 * (src/http/graphiql.ts) and the insights page on / (src/http/insights.ts), behind the CORS policy
 * (src/http/cors.ts); each request logged with its request id.
 */
export function httpHandler(options: HandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { apollo, authenticator, logger } = options;
  const cors = { origins: options.corsOrigins, allowLoopback: !authenticator.enforced };
  const graphiql = graphiqlRoutes({ authentication: authenticator.enforced });
  const insights = insightsRoutes();

  const handle = async (req: IncomingMessage, res: ServerResponse, requestId: string, url: URL, exchange: Exchange): Promise<void> => {
    if (applyCors(req, res, cors)) return; // a preflight, answered
    // Liveness: the process answers. Readiness: it can also reach its database.
    if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (url.pathname === '/readyz') {
      const ready = await options.databaseReachable();
      return sendJson(res, ready ? 200 : 503, ready ? { status: 'ready' } : { status: 'unavailable', reason: 'database unreachable' });
    }
    if (url.pathname === '/metrics' && req.method === 'GET') return serveMetrics(req, res, options);
    // GraphiQL's and the insights page's files need no token: they hold no data.
    if (graphiql(req, res, url.pathname)) return;
    if (insights(req, res, url.pathname)) return;
    if (url.pathname !== '/graphql') return sendJson(res, 404, { error: 'Not found: the API is at /graphql.' });
    const principal = await authenticator.authenticate(req.headers.authorization);
    exchange.principal = principal;
    // Admitted before the body is read: a refused request costs no more than its headers.
    const release = await options.admission.admit(principal);
    try {
      await graphql(req, res, requestId, url, principal, exchange);
    } finally {
      release();
    }
  };

  const graphql = async (req: IncomingMessage, res: ServerResponse, requestId: string, url: URL, principal: Principal, exchange: Exchange) => {
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    let body: unknown;
    if (req.method === 'POST') {
      const text = await readBody(req, options.maxBodyBytes);
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
      exchange.recordError('BAD_USER_INPUT', 'INVALID_CHARACTERS');
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
      context: async () => bindContext(options.context(requestId, principal, exchange.signal), exchange),
    });
    await sendGraphQL(res, response, options.maxResponseBytes);
  };

  const refuse = (res: ServerResponse, error: unknown, exchange: Exchange): void => {
    if (res.headersSent) return void res.destroy();
    if (error instanceof RateLimited) {
      exchange.recordError('RATE_LIMITED', error.reason);
      return sendRateLimited(res, error);
    }
    if (error instanceof AuthenticationError) {
      exchange.recordError('UNAUTHENTICATED', null);
      res.setHeader('www-authenticate', 'Bearer');
      return sendJson(res, 401, { errors: [{ message: error.message, extensions: { code: 'UNAUTHENTICATED' } }] });
    }
    if (error instanceof RequestError) {
      const code = error.status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST';
      exchange.recordError(code, null);
      // The rest of an oversized body is not read: close the connection once the answer is out.
      if (error.status === 413) res.setHeader('connection', 'close');
      return sendJson(res, error.status, { errors: [{ message: error.message, extensions: { code } }] });
    }
    // The client went away while its body was arriving (or the request timeout cut it off): nothing to
    // answer and nothing went wrong here; the request's own log line says so (499 or 408).
    if (error instanceof ClientGone || res.destroyed || res.req.destroyed || (error as { code?: string }).code === 'ECONNRESET') {
      exchange.recordError('CLIENT_CLOSED_REQUEST', null);
      return void res.destroy();
    }
    logger.error('request failed outside GraphQL', errorFields(error));
    exchange.recordError('INTERNAL_SERVER_ERROR', null);
    return sendJson(res, 500, { errors: [{ message: 'Internal server error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
  };

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const requestId = requestIdOf(req);
    res.setHeader('x-request-id', requestId);
    if (options.closing()) res.setHeader('connection', 'close');
    res.once('finish', () => {
      if (options.closing()) options.onFinishWhileClosing();
    });
    // One log line per request, however it ends (exchange.ts).
    const exchange = new Exchange(req, res, {
      requestId,
      path: url.pathname,
      logger,
      metrics: options.metrics,
      sendTimeoutMs: options.sendTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs,
    });
    handle(req, res, requestId, url, exchange)
      .catch((error: unknown) => refuse(res, error, exchange))
      .finally(() => exchange.workEnded());
  };
}
