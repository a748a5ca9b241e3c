import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import {
  GraphQLError,
  getOperationAST,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { IncomingMessage } from 'node:http';
import type { Context } from '../../schema/context';
import { formatError } from '../../schema/errors';
import { illFormedPath } from '../../schema/wellFormed';
import type { Authenticator, Principal } from '../auth';
import type { WebSocketLimits } from '../config';
import { SlowSubscriberError } from '../eventFeed';
import { LogThrottle } from '../logThrottle';
import { errorFields, type Logger } from '../logger';
import { isRefusal, WebSocketAdmission, type AdmittedConnection } from './webSocketAdmission';

export interface WebSocketOptions {
  http: Server;
  schema: GraphQLSchema;
  validationRules: readonly ValidationRule[];
  authenticator: Authenticator;
  context: (requestId: string, principal: Principal) => Context;
  logger: Logger;
  limits: WebSocketLimits;
  /** Whether pages of another origin may open a socket (the CORS policy); the server's own origin always may. */
  originAllowed?: (origin: string) => boolean;
}

export interface WebSocketStats {
  /** Open sockets, authenticated or not yet. */
  sockets: number;
  /** Active subscriptions. */
  subscriptions: number;
}

export interface WebSocketEndpoint {
  /** What is open right now (for /metrics). */
  stats(): WebSocketStats;
  /** Completes every subscription and closes every socket. */
  close(): Promise<void>;
}

/**
 * The close codes this endpoint sends besides graphql-ws's own (4400 bad message, 4401 subscribe before
 * the connection was acknowledged, 4403 credentials refused, 4406 wrong subprotocol, 4408 no
 * connection_init in time, 4409 subscription id in use, 4429 a second connection_init; 1009 a message
 * over the size limit). Each close reason starts with a stable word: README, "Limits".
 */
export const CLOSE_CODES = {
  /** The token's `exp` passed (reason TOKEN_EXPIRED). */
  tokenExpired: 4403,
  /** The person or the organisation has its most connections open (TOO_MANY_CONNECTIONS, ORGANISATION_CONNECTION_LIMIT). */
  tooManyConnections: 4429,
  /** The server has its most connections open: RFC 6455 "try again later" (SERVER_CONNECTION_LIMIT). */
  serverBusy: 1013,
} as const;

/** Whether a page's origin is the server's own (the host the upgrade request was sent to). */
function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

/** setTimeout takes at most 2^31-1 ms; a later expiry is re-checked when that fires. */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

interface Connection {
  readonly id: string;
  readonly principal: Principal;
  readonly socket: WebSocket;
  readonly admitted: AdmittedConnection;
  /** Who, in log lines and the log summary. */
  readonly who: { organisationId: string; subject: string };
  expiry: NodeJS.Timeout | undefined;
  closed: boolean;
  /** One request context for all of the connection's subscriptions, made at the first subscribe. */
  context: Context | undefined;
}

/**
 * GraphQL over WebSocket (the graphql-ws protocol) on /graphql, for the eventAppended subscription.
 *
 * Bounded: connections per person, per organisation and in all; subscriptions per connection, per
 * organisation and in all; subscribe messages per connection per minute; the size of a message; the
 * time to connection_init; the events waiting for one subscriber (eventFeed). A connection lives no
 * longer than its token. Refusals and failures are logged through a LogThrottle, so no client can
 * flood the log.
 */
export function attachWebSocket(options: WebSocketOptions): WebSocketEndpoint {
  const { schema, authenticator, logger, limits } = options;
  const rules = [...specifiedRules, ...options.validationRules];
  const admission = new WebSocketAdmission(limits);
  const throttle = new LogThrottle(logger, limits.logLinesPerMinute, limits.logLinesPerMinute * 10);
  const connections = new WeakMap<object, Connection>();
  /** Errors this endpoint made itself: sent as they are, not mapped again. */
  const own = new WeakSet<GraphQLError>();
  const refusal = (message: string, code: string, reason: string): GraphQLError => {
    const error = new GraphQLError(message, { extensions: { code, reason } });
    own.add(error);
    return error;
  };

  const sockets = new WebSocketServer({
    server: options.http,
    path: '/graphql',
    maxPayload: limits.maxMessageBytes,
    // CORS does not cover WebSockets: a page may open a socket to any host. Browsers always send Origin, so
    // a socket from a page of another origin than ours or the allowed ones is refused (403) at the upgrade;
    // in local development mode, where no token is needed, that keeps other web sites out of the feed.
    verifyClient: (
      { origin, req }: { origin: string | undefined; req: IncomingMessage },
      done: (allowed: boolean, status?: number, message?: string) => void,
    ) => {
      if (!origin || sameOrigin(origin, req.headers.host) || options.originAllowed?.(origin)) return done(true);
      done(false, 403, 'This origin may not open a socket: add it to OKR_CORS_ORIGINS.');
    },
  });
  // Registered before graphql-ws's own listener, so a socket over the total cap is closed at once.
  sockets.on('connection', (socket) => {
    if (sockets.clients.size <= limits.maxConnections) return;
    socket.close(CLOSE_CODES.serverBusy, 'SERVER_CONNECTION_LIMIT: the server has its most connections open; try again later.');
    throttle.log('warn', 'server', {}, 'WebSocket connection refused', { reason: 'SERVER_CONNECTION_LIMIT', maxConnections: limits.maxConnections });
  });

  const expired = (connection: Connection): boolean => {
    const at = connection.principal.expiresAt;
    return at !== undefined && Date.now() >= at.getTime();
  };
  const closeExpired = (connection: Connection): void => {
    if (connection.socket.readyState !== connection.socket.OPEN) return;
    connection.socket.close(CLOSE_CODES.tokenExpired, 'TOKEN_EXPIRED: the token expired; reconnect with a fresh token.');
    throttle.log('info', connection.admitted.person, connection.who, 'WebSocket connection closed: token expired', { connectionId: connection.id });
  };
  const watchExpiry = (connection: Connection): void => {
    const at = connection.principal.expiresAt;
    if (at === undefined) return;
    const wait = at.getTime() - Date.now();
    if (wait <= 0) return closeExpired(connection);
    connection.expiry = setTimeout(() => watchExpiry(connection), Math.min(wait, LONGEST_TIMER_MS));
    connection.expiry.unref();
  };

  /** Maps an error to what the client gets, the same way as over HTTP, and logs it (throttled). */
  const answer = (connection: Connection | undefined, error: GraphQLError): GraphQLFormattedError => {
    const key = connection?.admitted.person ?? 'unknown';
    const who = connection?.who ?? {};
    const fields = { connectionId: connection?.id };
    if (error.originalError instanceof SlowSubscriberError) {
      throttle.log('warn', key, who, 'subscription ended: subscriber too slow', { ...fields, code: 'SUBSCRIBER_TOO_SLOW', maxQueuedEvents: error.originalError.limit });
      return { message: error.originalError.message, extensions: { code: 'SUBSCRIBER_TOO_SLOW' } };
    }
    let unexpected = false;
    const formatted = own.has(error)
      ? error.toJSON()
      : formatError(error.toJSON(), error, (e) => {
          unexpected = true;
          throttle.log('error', key, who, 'unexpected error in a subscription', { ...fields, ...errorFields(e) });
        });
    if (!unexpected) {
      const { code, reason } = formatted.extensions ?? {};
      throttle.log(code === 'RATE_LIMITED' ? 'warn' : 'info', key, who, 'subscription refused', { ...fields, code, reason });
    }
    return formatted;
  };

  const wsServer = useServer(
    {
      schema,
      connectionInitWaitTimeout: limits.initTimeoutMs,
      // Credentials: the upgrade request's Authorization header, or connectionParams.authorization.
      onConnect: async (ctx) => {
        const fromParams = ctx.connectionParams?.authorization;
        const header = typeof fromParams === 'string' ? fromParams : ctx.extra.request.headers.authorization;
        let principal: Principal;
        try {
          principal = await authenticator.authenticate(header);
        } catch {
          return false; // graphql-ws closes with 4403 Forbidden
        }
        const socket = ctx.extra.socket;
        // Gone while it was being authenticated: its close has run already, so nothing may be counted.
        if (socket.readyState !== socket.OPEN) return false;
        const who = { organisationId: principal.organisationId, subject: principal.subject };
        if (principal.expiresAt !== undefined && Date.now() >= principal.expiresAt.getTime()) {
          socket.close(CLOSE_CODES.tokenExpired, 'TOKEN_EXPIRED: the token expired; reconnect with a fresh token.');
          return false;
        }
        const admitted = admission.connect(principal.organisationId, principal.subject, Date.now());
        if (isRefusal(admitted)) {
          // Closed here with our own code; graphql-ws's 4403 that follows is then ignored by ws.
          socket.close(CLOSE_CODES.tooManyConnections, `${admitted.reason}: ${admitted.message}.`);
          throttle.log('warn', `${who.organisationId}\u0000${who.subject}`, who, 'WebSocket connection refused', { reason: admitted.reason });
          return false;
        }
        const connection: Connection = { id: randomUUID(), principal, socket, admitted, who, expiry: undefined, closed: false, context: undefined };
        connections.set(ctx, connection);
        watchExpiry(connection);
        return true;
      },
      onClose: (ctx) => {
        const connection = connections.get(ctx);
        if (!connection || connection.closed) return;
        connection.closed = true;
        clearTimeout(connection.expiry);
        admission.disconnect(connection.admitted);
      },
      onSubscribe: (ctx, id, payload) => {
        const connection = connections.get(ctx);
        if (!connection || connection.closed) return [new GraphQLError('The connection is closing.', { extensions: { code: 'BAD_REQUEST' } })];
        if (expired(connection)) {
          closeExpired(connection);
          return [refusal('The token has expired; reconnect with a fresh token.', 'UNAUTHENTICATED', 'TOKEN_EXPIRED')];
        }
        const limited = admission.checkSubscribe(connection.admitted, Date.now());
        if (limited) return [refusal(limited.message, 'RATE_LIMITED', limited.reason)];
        if (illFormedPath(payload)) {
          return [
            new GraphQLError('The subscription contains a NUL character or a broken UTF-16 surrogate; send well-formed text.', {
              extensions: { code: 'BAD_USER_INPUT', reason: 'INVALID_CHARACTERS' },
            }),
          ];
        }
        let document: DocumentNode;
        try {
          document = parse(payload.query);
        } catch {
          return [new GraphQLError('The subscription does not parse.', { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
        }
        // Only subscriptions travel over the socket: queries and mutations go over HTTP, where the
        // request limits, error mapping and introspection switch apply.
        const operation = getOperationAST(document, payload.operationName);
        if (operation?.operation !== 'subscription') {
          return [
            new GraphQLError('Only subscriptions are served over WebSocket; send queries and mutations over HTTP.', {
              extensions: { code: 'BAD_REQUEST' },
            }),
          ];
        }
        const invalid = validate(schema, document, rules);
        if (invalid.length > 0) return invalid.map((e) => withCode(e, 'GRAPHQL_VALIDATION_FAILED'));
        admission.subscribe(connection.admitted, id);
        return { schema, document, operationName: payload.operationName, variableValues: payload.variables };
      },
      onComplete: (ctx, id) => {
        const connection = connections.get(ctx);
        if (connection && !connection.closed) admission.unsubscribe(connection.admitted, id);
      },
      context: (ctx) => {
        const connection = connections.get(ctx);
        // Present for every acknowledged connection (graphql-ws runs no subscribe before that).
        if (!connection) throw new Error('A subscription arrived on a connection that was never admitted.');
        // Shared by the connection's subscriptions (they only open feeds), rather than a database
        // session and command handler per subscribe.
        connection.context ??= options.context(connection.id, connection.principal);
        return connection.context;
      },
      // A result instead of a stream means the request was refused before it started; errors there
      // without a path are the variables' (wrong type, missing): the client's mistake, as over HTTP.
      onOperation: (_ctx, _id, _payload, _args, operationResult) => {
        const result = operationResult as Awaited<typeof operationResult>; // graphql-ws awaits it first
        if (Symbol.asyncIterator in result || !result.errors) return undefined;
        return { ...result, errors: result.errors.map((e) => (e.path === undefined ? withCode(e, 'BAD_USER_INPUT') : e)) };
      },
      // The same error mapping as HTTP: stable codes, nothing internal. After `exp` nothing more is sent:
      // the socket is closed here, and graphql-ws sends nothing on a closing socket.
      onNext: (ctx, _id, _payload, _args, result) => {
        const connection = connections.get(ctx);
        if (!connection || connection.closed) return undefined; // nothing is sent on a closed socket
        if (expired(connection)) {
          closeExpired(connection);
          return undefined;
        }
        if (result.errors) return { ...result, errors: result.errors.map((e) => answer(connection, e)) };
        // Every message is bounded: a subscriber that stops reading holds one unsent message per
        // subscription, so an event selected many times over (aliases of `data`) must not be megabytes.
        const bytes = Buffer.byteLength(JSON.stringify(result));
        if (bytes <= limits.maxEventBytes) return undefined;
        const tooLarge = new GraphQLError(
          `This event's answer is ${bytes} bytes, over the ${limits.maxEventBytes} a subscription message may hold; select fewer fields (or fewer aliases of data), and read the event with events(streamId:) if you need all of it.`,
          { extensions: { code: 'RESPONSE_TOO_LARGE', reason: 'EVENT_TOO_LARGE' } },
        );
        own.add(tooLarge);
        return { errors: [answer(connection, tooLarge)] };
      },
      onError: (ctx, _id, _payload, errors) => errors.map((e) => answer(connections.get(ctx), e)),
    },
    sockets,
  );

  let closed: Promise<void> | undefined;
  return {
    stats: () => ({ sockets: sockets.clients.size, subscriptions: admission.subscriptions }),
    // Once: graphql-ws's dispose fails on a server that is already closed.
    close: () =>
      (closed ??= (async () => {
        await wsServer.dispose();
        for (const socket of sockets.clients) socket.terminate();
        await new Promise<void>((resolve) => sockets.close(() => resolve()));
        throttle.flush();
      })()),
  };
}

/** The error with `code` unless it already carries one (e.g. the query limits' reasons). */
function withCode(error: GraphQLError, code: string): GraphQLError {
  if (typeof error.extensions.code === 'string') return error;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: { ...error.extensions, code },
  });
}
