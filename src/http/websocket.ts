import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { GraphQLError, getOperationAST, parse, specifiedRules, validate, type GraphQLFormattedError, type GraphQLSchema, type ValidationRule } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Context } from '../../schema/context';
import { formatError } from '../../schema/errors';
import { illFormedPath } from '../../schema/wellFormed';
import type { Authenticator, Principal } from '../auth';
import { errorFields, type Logger } from '../logger';

export interface WebSocketOptions {
  http: Server;
  schema: GraphQLSchema;
  validationRules: readonly ValidationRule[];
  authenticator: Authenticator;
  context: (requestId: string, principal: Principal) => Context;
  logger: Logger;
  maxPayload: number;
}

export interface WebSocketEndpoint {
  /** Completes every subscription and closes every socket. */
  close(): Promise<void>;
}

/** GraphQL over WebSocket (the graphql-ws protocol) on /graphql, for the eventAppended subscription. */
export function attachWebSocket(options: WebSocketOptions): WebSocketEndpoint {
  const { schema, validationRules, authenticator, logger } = options;
  const sockets = new WebSocketServer({ server: options.http, path: '/graphql', maxPayload: options.maxPayload });
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
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: result.errors.map((e) => formatWsError(e)) } : result),
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
      context: (ctx) => options.context(randomUUID(), (ctx.extra as unknown as { principal: Principal }).principal),
      validate: (s, document) => validate(s, document, [...specifiedRules, ...validationRules]),
    },
    sockets,
  );
  return {
    close: async () => {
      await wsServer.dispose();
      for (const socket of sockets.clients) socket.terminate();
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
    },
  };
}
