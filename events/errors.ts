/**
 * A stream was not at the version the writer expected: someone else appended first (or the
 * stream does or does not exist, against the writer's expectation). Nothing was appended.
 */
export class ConcurrencyError extends Error {
  readonly code = 'CONFLICT';
  constructor(
    readonly streamId: string,
    readonly expectedVersion: number,
    readonly actualVersion: number,
  ) {
    super(
      `Stream ${streamId} is at version ${actualVersion}, not ${expectedVersion}: it changed since you read it. ` +
        'Read it again and retry.',
    );
    this.name = 'ConcurrencyError';
  }
}

/**
 * Another transaction recorded the same idempotency key while this one was in flight. Nothing was
 * appended; the caller should answer with the recorded result.
 */
export class IdempotencyRace extends Error {
  constructor(readonly key: string) {
    super(`Idempotency key ${key} was used by a concurrent request.`);
    this.name = 'IdempotencyRace';
  }
}

/** The database refused to change or remove a recorded event (see the immutability trigger). */
export const IMMUTABLE_LOG_SQLSTATE = 'P0001';

export type AuditRangeReason = 'POSITION_OUT_OF_RANGE' | 'TREE_SIZE_OUT_OF_RANGE' | 'TREE_SIZES_OUT_OF_ORDER';

/**
 * A proof or checkpoint was asked for outside what the organisation's log holds (a position past its
 * head, a tree size larger than the log, sizes in the wrong order). `reason` is a stable code.
 */
export class AuditRangeError extends Error {
  constructor(
    readonly reason: AuditRangeReason,
    message: string,
  ) {
    super(message);
    this.name = 'AuditRangeError';
  }

  /** What a client is told (GraphQL extensions). */
  extensions(): { code: 'BAD_USER_INPUT'; reason: AuditRangeReason } {
    const reason = this.reason;
    return { code: 'BAD_USER_INPUT', reason };
  }
}

/**
 * The stored tree no longer agrees with a checkpoint already signed (or with the head's frontier), so a
 * new checkpoint is refused: the service never signs two checkpoints that are not consistent.
 */
export class TreeInconsistentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TreeInconsistentError';
  }

  /** What a client is told (GraphQL extensions). */
  extensions(): { code: 'CONFLICT'; reason: 'TREE_INCONSISTENT' } {
    return { code: 'CONFLICT', reason: 'TREE_INCONSISTENT' };
  }
}
