import { createHash, randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { IDEMPOTENCY_KEY_MAX, type CommandOptions, type CommandOutcome } from '../domain/commands';
import { DomainError, rejected } from '../domain/errors';
import type { DomainEvent, Instant, RecordedEvent, StreamType } from '../events/catalogue';
import { ConcurrencyError, IdempotencyRace } from '../events/errors';
import { recordCheckpoint, type CheckpointSigning } from '../events/checkpoints';
import { EventStore } from '../events/store';
import { applyToTables } from '../projections/persist';
import { sqlOf } from './database';

/** Who is acting, for whom, and under which request. */
export interface Actor {
  organisationId: string;
  actor: string;
  correlationId: string;
}


/**
 * Reads a stream's events (leaving out `skipTypes`, which the caller's fold ignores); every stream
 * read is remembered, with its true version, and guarded at append.
 */
export type StreamReader = (streamId: string, skipTypes?: readonly string[]) => Promise<RecordedEvent[]>;

export interface CommandSpec<R> {
  /** Stable command name, recorded with idempotency keys. */
  name: string;
  /** The client's input, hashed to recognise a key reused for a different request. */
  input: unknown;
  target: { streamId: string; streamType: StreamType };
  /** Loads what it needs through `read` and returns the events to append (pure decisions inside). */
  decide(read: StreamReader, at: Instant): Promise<DomainEvent[]>;
  /** What the command answers: ids for the caller to load, JSON-serialisable. */
  result: R;
}


/** Deterministic JSON (sorted keys) so equal inputs hash equally. */
function stableJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([k, v]) => v !== undefined && k !== 'idempotencyKey')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
}

/**
 * Runs commands: read the streams a decision needs, decide (pure), then append the events and fold
 * them into the inline read models in one transaction. A conflict on a stream the client did not
 * pin with expectedVersion is retried against fresh state a few times before it reaches the client.
 */
export class Ledger {
  constructor(
    private readonly orm: MikroORM,
    private readonly clock: () => Date,
    private readonly store = new EventStore(),
    private readonly maxAttempts = 8,
    /** Signs a checkpoint of the organisation's log with every quarter close; none without it. */
    private readonly checkpoints: CheckpointSigning | null = null,
  ) {}

  async execute<R>(actor: Actor, spec: CommandSpec<R>, options: CommandOptions = {}): Promise<CommandOutcome<R>> {
    const key = options.idempotencyKey ?? null;
    if (key !== null && (key.length === 0 || key.length > IDEMPOTENCY_KEY_MAX)) {
      throw rejected('IDEMPOTENCY_KEY_INVALID', `idempotencyKey must be 1 to ${IDEMPOTENCY_KEY_MAX} characters.`);
    }
    const requestHash = createHash('sha256').update(`${spec.name}\n${stableJson(spec.input)}`).digest('hex');
    if (key !== null) {
      const replay = await this.replay<R>(actor, key, spec.name, requestHash);
      if (replay) return replay;
    }
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.attempt(actor, spec, options, key, requestHash);
      } catch (error) {
        if (error instanceof IdempotencyRace) {
          const replay = await this.replay<R>(actor, error.key, spec.name, requestHash);
          if (replay) return replay;
        }
        const pinned =
          error instanceof ConcurrencyError &&
          error.streamId === spec.target.streamId &&
          options.expectedVersion != null;
        if (!(error instanceof ConcurrencyError) || pinned || attempt >= this.maxAttempts) throw error;
        // A short, growing, jittered pause so that writers who collided do not collide again at once.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
      }
    }
  }

  private async attempt<R>(
    actor: Actor,
    spec: CommandSpec<R>,
    options: CommandOptions,
    key: string | null,
    requestHash: string,
  ): Promise<CommandOutcome<R>> {
    const readSql = sqlOf(this.orm.em.fork());
    const versions = new Map<string, number>();
    const read: StreamReader = async (streamId, skipTypes) => {
      const stream = await this.store.readStream(readSql, actor.organisationId, streamId, { skipTypes });
      if (!versions.has(streamId)) versions.set(streamId, stream.version);
      return stream.events;
    };
    const at = this.clock();
    const events = await spec.decide(read, at.toISOString());
    if (!versions.has(spec.target.streamId)) await read(spec.target.streamId);
    const targetVersion = versions.get(spec.target.streamId) ?? 0;
    if (options.expectedVersion != null && options.expectedVersion !== targetVersion) {
      throw new ConcurrencyError(spec.target.streamId, options.expectedVersion, targetVersion);
    }
    if (events.length === 0) return { result: spec.result, events: [], replayed: false };
    const guards = [...versions.entries()]
      .filter(([streamId]) => streamId !== spec.target.streamId)
      .map(([streamId, version]) => ({ streamId, version }));
    const recorded = await this.orm.em.fork().transactional(async (em) => {
      const sql = sqlOf(em);
      const appended = await this.store.append(sql, {
        organisationId: actor.organisationId,
        streamId: spec.target.streamId,
        streamType: spec.target.streamType,
        expectedVersion: targetVersion,
        events,
        guards,
        metadata: {
          actor: actor.actor,
          correlationId: actor.correlationId,
          causationId: randomUUID(),
          idempotencyKey: key,
        },
        // Read again once the head row is held: the instant the events become part of the log.
        recordedAt: () => new Date(Math.max(this.clock().getTime(), at.getTime())),
        idempotency: key === null ? undefined : { command: spec.name, requestHash, result: spec.result },
      });
      await applyToTables(em, appended);
      // A closed quarter is a moment auditors keep: its checkpoint commits with the close itself.
      if (this.checkpoints !== null && appended.some((e) => e.type === 'QuarterClosed')) {
        await recordCheckpoint(sql, actor.organisationId, this.checkpoints, new Date(appended[0]?.recordedAt ?? at));
      }
      return appended;
    });
    return { result: spec.result, events: recorded, replayed: false };
  }

  private async replay<R>(actor: Actor, key: string, name: string, requestHash: string): Promise<CommandOutcome<R> | null> {
    const record = await this.store.findIdempotency(sqlOf(this.orm.em.fork()), actor.organisationId, actor.actor, key);
    if (record === null) return null;
    if (record.command !== name || record.requestHash !== requestHash) {
      throw new DomainError(
        'BAD_USER_INPUT',
        'IDEMPOTENCY_KEY_REUSED',
        `idempotencyKey "${key}" was already used for a different request (${record.command}); use a new key for a new request.`,
      );
    }
    return { result: record.result as R, events: [], replayed: true };
  }
}
