/** The codes a client can rely on; the GraphQL edge maps them to extensions.code. */
export type DomainErrorCode = 'BAD_USER_INPUT' | 'NOT_FOUND' | 'FORBIDDEN';

/**
 * A command the domain refuses. `reason` is a stable, more specific key (e.g. TARGET_EQUALS_BASELINE)
 * so clients can react without parsing the message; the message says what to do instead.
 */
export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const rejected = (reason: string, message: string): DomainError =>
  new DomainError('BAD_USER_INPUT', reason, message);

/** The caller's role or units do not allow the change. */
export const forbidden = (reason: string, message: string): DomainError => new DomainError('FORBIDDEN', reason, message);

export const notFound = (what: string, id: string): DomainError =>
  new DomainError(
    'NOT_FOUND',
    `${what.replace(/ /g, '_').toUpperCase()}_NOT_FOUND`,
    `No ${what} with id "${id}" exists in this organisation.`,
  );
