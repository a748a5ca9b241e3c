import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { Context } from '../../schema/context';
import { illFormedPath } from '../../schema/wellFormed';
import { AuthenticationError, type Authenticator, type Principal } from '../auth';
import { errorFields, type Logger } from '../logger';
import { readBody, RequestError, requestIdOf, sendGraphQL, sendJson } from './io';

export interface HandlerOptions {
  apollo: ApolloServer<Context>;
  authenticator: Authenticator;
  context: (requestId: string, principal: Principal) => Context;
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
}

/** The HTTP routes: /healthz, /readyz and GraphQL on /graphql, each answer logged with its request id. */
export function httpHandler(options: HandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { apollo, authenticator, logger } = options;

  const handle = async (req: IncomingMessage, res: ServerResponse, requestId: string, url: URL): Promise<void> => {
    // Liveness: the process answers. Readiness: it can also reach its database.
    if (url.pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (url.pathname === '/readyz') {
      const ready = await options.databaseReachable();
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
      context: async () => options.context(requestId, principal),
    });
    await sendGraphQL(res, response, options.maxResponseBytes);
  };

  const refuse = (res: ServerResponse, error: unknown): void => {
    if (res.headersSent) return void res.destroy();
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
  };

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const requestId = requestIdOf(req);
    res.setHeader('x-request-id', requestId);
    if (options.closing()) res.setHeader('connection', 'close');
    const started = performance.now();
    res.once('finish', () => {
      if (options.closing()) options.onFinishWhileClosing();
      logger.info('request', {
        requestId,
        method: req.method,
        path: url.pathname,
        status: res.statusCode,
        ms: Math.round((performance.now() - started) * 10) / 10,
      });
    });
    handle(req, res, requestId, url).catch((error: unknown) => refuse(res, error));
  };
}
