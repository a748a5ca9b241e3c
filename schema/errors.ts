import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { ArgumentValidationError } from 'type-graphql';
import { DomainError } from '../domain/errors';
import { AuditRangeError, ConcurrencyError, TreeInconsistentError } from '../events/errors';

/** The codes clients can rely on in extensions.code. */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'NOT_IMPLEMENTED'
  | 'FORBIDDEN'
  | 'UNAUTHENTICATED'
  | 'SERVICE_UNAVAILABLE'
  | 'RATE_LIMITED'
  | 'CLIENT_CLOSED_REQUEST'
  | 'TIMEOUT'
  | 'RESPONSE_TOO_LARGE'
  | 'INTERNAL_SERVER_ERROR';

/** Connection failures (class 08 but not 08P01, a protocol violation: that is a bad request, not an outage). */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND',
  '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006',
]);

/** The database could not be reached or went away mid-request (restart, network, pool timeout). */
export function isDatabaseUnavailable(error: unknown): boolean {
  // Duck-typed, not instanceof Error: errors from another realm (or wrapped by graphql-js as a
  // "non-error thrown") must be recognised too.
  const queue: unknown[] = [error];
  for (let i = 0; i < queue.length && i < 8; i += 1) {
    const e = queue[i];
    if (e === null || typeof e !== 'object') continue;
    const { code, name, message, cause, thrownValue, originalError } = e as Record<string, unknown>;
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
    if (name === 'ConnectionException') return true;
    if (
      typeof message === 'string' &&
      /Connection terminated|connect ECONNREFUSED|Timeout acquiring a connection|terminating connection due to administrator command|the database system is (starting up|shutting down)|Client has encountered a connection error/i.test(message)
    ) {
      return true;
    }
    queue.push(cause, thrownValue, originalError);
  }
  return false;
}

/**
 * PostgreSQL cancelled a statement (57014 query_canceled): the statement timeout, or a cancel request.
 * Its transaction is rolled back, so nothing was changed.
 */
export function cancelledStatement(error: unknown): 'STATEMENT_TIMEOUT' | 'QUERY_CANCELED' | null {
  const queue: unknown[] = [error];
  for (let i = 0; i < queue.length && i < 8; i += 1) {
    const e = queue[i];
    if (e === null || typeof e !== 'object') continue;
    const { code, message, cause, thrownValue, originalError } = e as Record<string, unknown>;
    if (code === '57014') return typeof message === 'string' && /statement timeout/i.test(message) ? 'STATEMENT_TIMEOUT' : 'QUERY_CANCELED';
    queue.push(cause, thrownValue, originalError);
  }
  return null;
}

/** A history field that a later release builds. Never answered with made-up data. */
export class NotImplementedError extends GraphQLError {
  constructor(what: string) {
    super(`${what} is not implemented.`, {
      extensions: { code: 'NOT_IMPLEMENTED' },
    });
  }
}

/** Apollo's own codes for requests it rejects before any resolver runs; passed through unchanged. */
const REQUEST_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'NOT_IMPLEMENTED',
  'NOT_FOUND',
  'CONFLICT',
  // Admission (src/http/admission.ts): too many requests or scans at once; the client has gone.
  'RATE_LIMITED',
  'CLIENT_CLOSED_REQUEST',
  // Raised by the cost plugin (schema/costPlugin.ts) on every field left unresolved once a response is too large.
  'RESPONSE_TOO_LARGE',
]);

/** graphql-js's message when a document passes the parser's `maxTokens` (16.x spells it "more that"). */
const TOO_MANY_TOKENS = /^Syntax Error: Document contains more tha[nt] (\d+) tokens/;

/**
 * Maps every error to a stable code, once, at the edge. Unknown errors become a bare
 * INTERNAL_SERVER_ERROR (logged by the caller with `report`), so no stack, SQL or internal message
 * ever reaches a client.
 */
export function formatError(
  formatted: GraphQLFormattedError,
  error: unknown,
  report: (error: unknown) => void = () => undefined,
): GraphQLFormattedError {
  const original = error instanceof GraphQLError && error.originalError ? error.originalError : error;
  const base = { message: formatted.message, locations: formatted.locations, path: formatted.path };
  if (original instanceof DomainError) {
    return { ...base, message: original.message, extensions: { code: original.code, reason: original.reason } };
  }
  if (original instanceof ConcurrencyError) {
    return {
      ...base,
      message: original.message,
      extensions: { code: 'CONFLICT', streamId: original.streamId, actualVersion: original.actualVersion },
    };
  }
  if (original instanceof AuditRangeError || original instanceof TreeInconsistentError) {
    return { ...base, message: original.message, extensions: original.extensions() };
  }
  if (original instanceof ArgumentValidationError) {
    const problems = original.extensions.validationErrors as { property: string; constraints?: Record<string, string> }[] | undefined;
    const details = flatten(problems ?? []);
    return {
      ...base,
      message: `Invalid input: ${details.map((d) => d.message).join('; ') || 'see extensions.validation'}.`,
      extensions: { code: 'BAD_USER_INPUT', reason: 'INVALID_INPUT', validation: details },
    };
  }
  const cancelled = cancelledStatement(original);
  if (cancelled !== null) {
    return {
      ...base,
      message:
        cancelled === 'STATEMENT_TIMEOUT'
          ? 'A database statement took longer than the server allows and was cancelled; nothing was changed. Ask for less at once ' +
            '(a unitId, a smaller page, fewer asOf instants) or retry later.'
          : 'A database statement was cancelled; nothing was changed. Retry it.',
      extensions: cancelled === 'STATEMENT_TIMEOUT' ? { code: 'TIMEOUT', reason: 'STATEMENT_TIMEOUT' } : { code: 'TIMEOUT', reason: 'QUERY_CANCELED' },
    };
  }
  if (isDatabaseUnavailable(original)) {
    return {
      ...base,
      message:
        'The database is unavailable right now. Retry shortly; a change that was in flight may or may not have been applied, ' +
        'so retry it with the same idempotencyKey.',
      extensions: { code: 'SERVICE_UNAVAILABLE' },
    };
  }
  const code = formatted.extensions?.code;
  if (code === 'GRAPHQL_VALIDATION_FAILED' && formatted.extensions?.validationErrorCode === 'INTROSPECTION_DISABLED') {
    // Apollo's own message tells the client to change an ApolloServer option; say what the operator sets.
    return {
      ...base,
      message: 'Introspection (__schema, __type) is turned off on this server; its operator can allow it with OKR_INTROSPECTION=true.',
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED', reason: 'INTROSPECTION_DISABLED' },
    };
  }
  const tokens = code === 'GRAPHQL_PARSE_FAILED' ? TOO_MANY_TOKENS.exec(formatted.message) : null;
  if (tokens) {
    return {
      ...base,
      message: `The document holds more than ${tokens[1]} tokens, the most the server parses. Send a shorter query; pass long inputs as variables.`,
      extensions: { code: 'GRAPHQL_PARSE_FAILED', reason: 'TOO_MANY_TOKENS' },
    };
  }
  // Errors raised deliberately with a known code, or by the request pipeline before any resolver
  // ran (parse, validation, variable coercion: these carry no path), keep their code.
  const deliberate = original instanceof GraphQLError || formatted.path === undefined;
  if (typeof code === 'string' && REQUEST_CODES.has(code) && deliberate) {
    const reason = formatted.extensions?.reason;
    const retryAfterSeconds = formatted.extensions?.retryAfterSeconds;
    return {
      ...base,
      extensions: {
        code,
        ...(typeof reason === 'string' ? { reason } : {}),
        ...(typeof retryAfterSeconds === 'number' ? { retryAfterSeconds } : {}),
      },
    };
  }
  report(original);
  return { ...base, message: 'Internal server error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}

interface ValidationProblem {
  property: string;
  constraints?: Record<string, string>;
  children?: ValidationProblem[];
}

function flatten(problems: ValidationProblem[], prefix = ''): { field: string; message: string }[] {
  return problems.flatMap((p) => {
    const field = prefix ? `${prefix}.${p.property}` : p.property;
    const own = Object.values(p.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(p.children ?? [], field)];
  });
}
