import { createHash, randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { IDEMPOTENCY_KEY_MAX, type CommandOptions, type CommandOutcome } from '../domain/commands';
import { DomainError, rejected } from '../domain/errors';
import type { DomainEvent, Instant, RecordedEvent, StreamType } from '../events/catalogue';
import { ConcurrencyError, IdempotencyRace } from '../events/errors';
import { recordCheckpoint, type CheckpointSigning } from '../events/checkpoints';
import { EventStore, type AppendFold, type LogFilter, type StreamRef, type StreamsRead } from '../events/store';
import { ALL_READ_MODELS } from '../projections/models';
import { documentsTouched, evolveDocuments, loadQuery, loadedDocuments, writeCtes } from '../projections/persist';
import { connectionsOf } from './clientSql';
import { phaseChangeOutbox } from './webhooks/outbox';

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

/** Reads the organisation's log by filter (to find streams by what they hold); what it finds is not guarded. */
export type LogReader = (filter: Omit<LogFilter, 'organisationId'>) => Promise<RecordedEvent[]>;

/** A stream events are appended to. */
export interface TargetStream {
  streamId: string;
  streamType: StreamType;
}

export interface CommandSpec<R> {
  /** Stable command name, recorded with idempotency keys. */
  name: string;
  /** The client's input, hashed to recognise a key reused for a different request. */
  input: unknown;
  target: TargetStream;
  /**
   * The stream each event goes to; the target's when absent. A command whose events go to several
   * streams (carryOverObjective) says so here: they are appended in one transaction, the target's events
   * first, each stream checked at the version `decide` read it at (a stream it did not read must not
   * exist yet), so the command is applied whole or not at all and a concurrent change to any of them is a
   * conflict. Streams besides the target should be new ones: their claim then waits on no other writer
   * while this command holds the organisation's head.
   */
  streamOf?: (event: DomainEvent) => TargetStream;
  /**
   * The streams `decide` will read, read before it in one statement with the target stream (a stream
   * `via` another is named by that stream's first event). An optimisation only: a stream `decide` reads
   * that is not among them is read when it asks.
   */
  prefetch?: readonly StreamRef[];
  /** Loads what it needs through `read` (and `log`) and returns the events to append (pure decisions inside). */
  decide(read: StreamReader, at: Instant, log: LogReader): Promise<DomainEvent[]>;
  /** What the command answers: ids for the caller to load, JSON-serialisable. */
  result: R;
}


/** deadlock_detected, serialization_failure: the transaction was rolled back whole and may be tried again. */
const TRANSIENT_SQLSTATES = new Set(['40P01', '40001']);

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
        // A deadlock or serialization failure rolled everything back, like a conflict: try again.
        const transient = error instanceof ConcurrencyError || TRANSIENT_SQLSTATES.has((error as { code?: unknown }).code as string);
        if (!transient || pinned || attempt >= this.maxAttempts) throw error;
        // A short, growing, jittered pause so that writers who collided do not collide again at once.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
      }
    }
  }

  /**
   * One try: one statement reads the streams the decision needs (and an earlier answer to the same
   * idempotency key); the pure decision; then BEGIN, the append's two statements (which also fold the
   * events into every read model) and COMMIT. Five statements for most commands.
   */
  private async attempt<R>(
    actor: Actor,
    spec: CommandSpec<R>,
    options: CommandOptions,
    key: string | null,
    requestHash: string,
  ): Promise<CommandOutcome<R>> {
    const connections = connectionsOf(this.orm);
    const readSql = connections.sql;
    const prefetch = spec.prefetch ?? [];
    // The target stream is always read (its version is the append's expected version), whole unless the
    // command says which of its events it leaves out.
    const refs = prefetch.some((r) => 'streamId' in r && r.streamId === spec.target.streamId)
      ? prefetch
      : [{ streamId: spec.target.streamId }, ...prefetch];
    const prefetched = await this.store.readStreams(readSql, actor.organisationId, refs, key === null ? null : { actor: actor.actor, key });
    if (prefetched.idempotency !== null) return this.answerReplay<R>(prefetched.idempotency, key ?? '', spec.name, requestHash);
    const versions = new Map<string, number>();
    const read: StreamReader = async (streamId, skipTypes = []) => {
      const cached = fromPrefetched(prefetched, streamId, skipTypes);
      const stream = cached ?? (await this.store.readStream(readSql, actor.organisationId, streamId, { skipTypes }));
      if (!versions.has(streamId)) versions.set(streamId, stream.version);
      return stream.events;
    };
    const at = this.clock();
    const log: LogReader = (filter) => this.store.readAll(readSql, { ...filter, organisationId: actor.organisationId });
    const events = await spec.decide(read, at.toISOString(), log);
    if (!versions.has(spec.target.streamId)) await read(spec.target.streamId);
    const targetVersion = versions.get(spec.target.streamId) ?? 0;
    if (options.expectedVersion != null && options.expectedVersion !== targetVersion) {
      throw new ConcurrencyError(spec.target.streamId, options.expectedVersion, targetVersion);
    }
    if (events.length === 0) return { result: spec.result, events: [], replayed: false };
    const appends = byStream(events, spec);
    const guards = [...versions.entries()]
      .filter(([streamId]) => !appends.some((a) => a.streamId === streamId))
      .map(([streamId, version]) => ({ streamId, version }));
    const metadata = { actor: actor.actor, correlationId: actor.correlationId, causationId: randomUUID(), idempotencyKey: key };
    const recorded = await connections.transaction(async (sql) => {
      // Several streams: the ones relied on are locked before any is written (events/store.ts lockStreams).
      if (appends.length > 1) await this.store.lockStreams(sql, actor.organisationId, guards);
      const appended: RecordedEvent[] = [];
      // One append per stream, the target's first. The first takes the organisation's head row and keeps
      // it until commit, so the others follow at once, each with its own version check, and all of them
      // are recorded at the first one's instant (an asOf never sees part of the command).
      for (const [i, stream] of appends.entries()) {
        const first = appended[0];
        appended.push(...(await this.store.append(sql, {
          organisationId: actor.organisationId,
          streamId: stream.streamId,
          streamType: stream.streamType,
          expectedVersion: versions.get(stream.streamId) ?? 0,
          events: stream.events,
          guards: i === 0 ? guards : [],
          metadata,
          // Read again once the head row is held: the instant the events become part of the log.
          recordedAt: first === undefined ? () => new Date(Math.max(this.clock().getTime(), at.getTime())) : first.recordedAt,
          idempotency: key === null || i > 0 ? undefined : { command: spec.name, requestHash, result: spec.result },
          fold: READ_MODEL_FOLD,
        })));
      }
      // A closed quarter is a moment auditors keep: its checkpoint commits with the close itself.
      if (this.checkpoints !== null && appended.some((e) => e.type === 'QuarterClosed')) {
        await recordCheckpoint(sql, actor.organisationId, this.checkpoints, new Date(appended[0]?.recordedAt ?? at));
      }
      return appended;
    });
    return { result: spec.result, events: recorded, replayed: false };
  }

  private async replay<R>(actor: Actor, key: string, name: string, requestHash: string): Promise<CommandOutcome<R> | null> {
    const record = await this.store.findIdempotency(connectionsOf(this.orm).sql, actor.organisationId, actor.actor, key);
    return record === null ? null : this.answerReplay<R>(record, key, name, requestHash);
  }

  /** The answer recorded with an idempotency key, when the request is the same one again. */
  private answerReplay<R>(record: { command: string; requestHash: string; result: unknown }, key: string, name: string, requestHash: string): CommandOutcome<R> {
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

/** The events grouped by the stream each goes to, in order, the target's group first (when it has events). */
function byStream(events: readonly DomainEvent[], spec: CommandSpec<unknown>): (TargetStream & { events: DomainEvent[] })[] {
  const streams: (TargetStream & { events: DomainEvent[] })[] = [];
  for (const event of events) {
    const to = spec.streamOf?.(event) ?? spec.target;
    let stream = streams.find((s) => s.streamId === to.streamId);
    if (stream === undefined) streams.push((stream = { ...to, events: [] }));
    stream.events.push(event);
  }
  return streams.sort((a, b) => Number(b.streamId === spec.target.streamId) - Number(a.streamId === spec.target.streamId));
}

/**
 * A stream already read by the command's first statement, when that read can answer this one: read
 * whole or leaving out fewer types than now asked to leave out (the rest are filtered here).
 */
function fromPrefetched(prefetched: StreamsRead, streamId: string, skipTypes: readonly string[]): { version: number; events: RecordedEvent[] } | null {
  const stream = prefetched.streams.find((s) => s.streamId === streamId && s.skipTypes.every((t) => skipTypes.includes(t)));
  if (stream === undefined) return null;
  return { version: stream.version, events: stream.events.filter((e) => !skipTypes.includes(e.type)) };
}

/**
 * Every read model, folded within the append's statements: the documents the events touch are read by
 * the statement that takes the organisation's head, and written with their versions by the one that
 * writes the events (projections/persist.ts). Appends that change a quarter's phase (QuarterPlanned,
 * QuarterClosed) also write their webhook outbox rows in that statement (src/webhooks/outbox.ts); other
 * appends carry nothing more.
 */
const READ_MODEL_FOLD: AppendFold = {
  load(pending) {
    const first = pending[0];
    return first === undefined ? null : loadQuery(first.metadata.organisationId, documentsTouched(pending, ALL_READ_MODELS));
  },
  write(recorded, loaded) {
    const first = recorded[0];
    if (first === undefined) return { ctes: [], params: [] };
    const docs = loadedDocuments(loaded as { m: string; d: Record<string, unknown> }[], ALL_READ_MODELS);
    const models = writeCtes(first.metadata.organisationId, evolveDocuments(recorded, docs, ALL_READ_MODELS));
    const outbox = phaseChangeOutbox(recorded);
    return outbox === null ? models : { ctes: [...models.ctes, ...outbox.ctes], params: [...models.params, ...outbox.params] };
  },
};
