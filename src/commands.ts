import { randomUUID } from 'node:crypto';
import * as domain from '../domain';
import type {
  DomainEvent,
  EventType,
  KeyResultEvent,
  ObjectiveEvent,
  QuarterEvent,
  RecordedEvent,
  StreamType,
  UnitEvent,
} from '../events/catalogue';
import { streamId } from '../events/catalogue';
import type { StreamRef } from '../events/store';
import type { Actor, Ledger, LogReader, StreamReader, TargetStream } from './ledger';

/*
 * One function per command: it names the target stream, loads the states the decision needs, and
 * calls the pure decider. Ids of new aggregates are generated here, at the edge, never in domain/.
 */

const foldUnit = (events: RecordedEvent[]) =>
  (events as unknown as UnitEvent[]).reduce(domain.evolveUnit, domain.initialUnitState);
const foldQuarter = (events: RecordedEvent[]) =>
  (events as unknown as QuarterEvent[]).reduce(domain.evolveQuarter, domain.initialQuarterState);
const foldObjective = (events: RecordedEvent[]) =>
  (events as unknown as ObjectiveEvent[]).reduce(domain.evolveObjective, domain.initialObjectiveState);
const foldKeyResult = (events: RecordedEvent[]) =>
  (events as unknown as KeyResultEvent[]).reduce(domain.evolveKeyResult, domain.initialKeyResultState);

const loadUnit = async (read: StreamReader, id: string) =>
  foldUnit(await read(streamId.unit(id), domain.UNIT_STATE_IGNORES));
const loadQuarter = async (read: StreamReader, id: string) => foldQuarter(await read(streamId.quarter(id)));
const loadObjective = async (read: StreamReader, id: string) => foldObjective(await read(streamId.objective(id)));
const loadKeyResult = async (read: StreamReader, id: string) =>
  foldKeyResult(await read(streamId.keyResult(id), domain.KEY_RESULT_STATE_IGNORES));

/** The parent objective and the chain above it (bounded: levels make chains at most 3 long). */
async function loadAlignment(read: StreamReader, parentId: string | null | undefined): Promise<domain.AlignmentContext> {
  if (parentId == null) return { parent: null, ancestors: [] };
  const parent = await loadObjective(read, parentId);
  const ancestors: domain.ObjectiveState[] = [];
  let next = parent.status === 'none' ? null : parent.parentId;
  while (next !== null && ancestors.length < 8) {
    const ancestor = await loadObjective(read, next);
    ancestors.push(ancestor);
    next = ancestor.status === 'none' ? null : ancestor.parentId;
  }
  return { parent, ancestors };
}

/** The objective and quarter that a key result belongs to, for the checks every KR change makes. */
async function loadKeyResultContext(read: StreamReader, keyResultId: string) {
  const keyResult = await loadKeyResult(read, keyResultId);
  if (keyResult.status === 'undefined') throw domain.notFound('key result', keyResultId);
  const objective = await loadObjective(read, keyResult.objectiveId);
  const quarter = await loadQuarter(read, keyResult.quarterId);
  return { keyResult, objective, quarter };
}

/**
 * The key results defined under an objective, found in the log (its quarter and unit's definitions).
 * The list is not guarded: a key result defined under the objective at the very moment of a decision
 * that reads it is not among them.
 */
async function keyResultIdsOf(log: LogReader, objective: { id: string; unitId: string; quarterId: string }): Promise<string[]> {
  const defined = await log({ quarterId: objective.quarterId, unitId: objective.unitId, types: ['KeyResultDefined'], limit: 10_000 });
  return defined.filter((e) => (e.data as { objectiveId?: string }).objectiveId === objective.id).map((e) => (e.data as { keyResultId: string }).keyResultId);
}

async function loadObjectiveContext(read: StreamReader, objectiveId: string) {
  const objective = await loadObjective(read, objectiveId);
  if (objective.status === 'none') throw domain.notFound('objective', objectiveId);
  return { objective, quarter: await loadQuarter(read, objective.quarterId) };
}

type Options = domain.CommandOptions;

/** The stream of the aggregate another stream's first event names (a key result's objective, say). */
const via = (stream: string, field: 'objectiveId' | 'quarterId', kind: 'objective' | 'quarter'): StreamRef => ({
  via: stream,
  field,
  prefix: streamId[kind](''),
});
type Decided = Promise<DomainEvent[]>;

/** The kind of stream each event type belongs to; its id is the event's own id of that kind. */
const STREAM_OF: { readonly [K in EventType]: StreamType } = {
  UnitRegistered: 'unit',
  RetrospectiveRecorded: 'unit',
  ProcessEffortLogged: 'unit',
  CheckInCadenceSet: 'unit',
  QuarterPlanned: 'quarter',
  QuarterClosed: 'quarter',
  ObjectiveDrafted: 'objective',
  ObjectiveRefined: 'objective',
  ObjectiveAligned: 'objective',
  ObjectiveCommitted: 'objective',
  ObjectiveRetired: 'objective',
  ObjectiveCarriedOver: 'objective',
  KeyResultDefined: 'keyResult',
  KeyResultRevised: 'keyResult',
  CheckInRecorded: 'keyResult',
  KeyResultScored: 'keyResult',
  KeyResultMeasured: 'keyResult',
};
const ID_FIELD = { unit: 'unitId', quarter: 'quarterId', objective: 'objectiveId', keyResult: 'keyResultId' } as const;

/** The stream an event belongs to: the aggregate its data names (a key result's events, its key result). */
export function ownStream(event: DomainEvent): TargetStream {
  const streamType = STREAM_OF[event.type];
  const id = (event.data as unknown as Record<string, string>)[ID_FIELD[streamType]] ?? '';
  return { streamId: streamId[streamType](id), streamType };
}

/**
 * What the actor may change: admins manage everything, members their units' OKRs, services record
 * measurements of the key results their token names, the rest nothing.
 */
export interface Access {
  role: 'admin' | 'member' | 'analyst' | 'auditor' | 'service';
  units: readonly string[];
  /** The key results a service may measure. */
  keyResults?: readonly string[];
}

export const ADMIN_ACCESS: Access = { role: 'admin', units: [] };

/** Commands that manage the organisation's structure and calendar: admins only. */
const ADMIN_COMMANDS = new Set(['registerUnit', 'planQuarter', 'closeQuarter']);

/** The commands, bound to a ledger, an actor and what the actor may do (one instance per request). */
export class Commands implements domain.OkrCommands {
  constructor(
    private readonly ledger: Ledger,
    private readonly actor: Actor,
    private readonly newId: () => string = randomUUID,
    private readonly access: Access = ADMIN_ACCESS,
  ) {}

  private run<R>(
    name: string,
    input: unknown,
    target: { streamId: string; streamType: 'unit' | 'quarter' | 'objective' | 'keyResult' },
    result: R,
    decide: (read: StreamReader, at: string, log: LogReader) => Decided,
    options: Options = {},
    prefetch: readonly StreamRef[] = [],
    streamOf?: (event: DomainEvent) => TargetStream,
  ): Promise<domain.CommandOutcome<R>> {
    const { role } = this.access;
    if (role === 'analyst' || role === 'auditor') {
      return Promise.reject(domain.forbidden('READ_ONLY_ROLE', `An ${role} reads the organisation's OKRs but changes nothing.`));
    }
    if (role === 'service' && name !== 'recordMeasurement') {
      return Promise.reject(
        domain.forbidden('SERVICE_MEASURES_ONLY', 'A service token records measurements of the key results it names (recordMeasurement) and changes nothing else.'),
      );
    }
    if (ADMIN_COMMANDS.has(name) && role !== 'admin') {
      return Promise.reject(domain.forbidden('ADMIN_ONLY', 'Only an admin manages units and quarters.'));
    }
    return this.ledger.execute(this.actor, { name, input, target, result, decide, prefetch, ...(streamOf ? { streamOf } : {}) }, options);
  }

  /** Members change only the OKRs of the units their token names; services measure only the key results theirs names. */
  private mayChange(unitId: string, keyResultId?: string): void {
    if (this.access.role === 'admin') return;
    if (this.access.role === 'member' && this.access.units.includes(unitId)) return;
    if (this.access.role === 'service') {
      if (keyResultId !== undefined && this.measures(keyResultId)) return;
      throw this.notYourKeyResult(keyResultId ?? '');
    }
    throw domain.forbidden('NOT_YOUR_UNIT', `You may change the OKRs of your own units only, and unit ${unitId} is not one of them.`);
  }

  private measures(keyResultId: string): boolean {
    return this.access.role === 'service' && (this.access.keyResults ?? []).includes(keyResultId);
  }

  private notYourKeyResult(keyResultId: string): domain.DomainError {
    return domain.forbidden(
      'NOT_YOUR_KEY_RESULT',
      `This service token may measure only the key results it names (its keyResults claim), and ${keyResultId} is not one of them.`,
    );
  }

  registerUnit(input: Omit<domain.RegisterUnit, 'unitId'>, options?: Options) {
    const unitId = this.newId();
    return this.run('registerUnit', input, { streamId: streamId.unit(unitId), streamType: 'unit' }, { unitId },
      async (read) => {
        const state = await loadUnit(read, unitId);
        const parent = input.parentId ? await loadUnit(read, input.parentId) : null;
        return domain.registerUnit({ ...input, unitId }, state, parent);
      }, options);
  }

  setCheckInCadence(input: domain.SetCheckInCadence, options?: Options) {
    const { unitId } = input;
    return this.run('setCheckInCadence', input, { streamId: streamId.unit(unitId), streamType: 'unit' }, { unitId },
      async (read) => {
        this.mayChange(unitId);
        return domain.setCheckInCadence(input, await loadUnit(read, unitId));
      }, options);
  }

  planQuarter(input: domain.PlanQuarter, options?: Options) {
    const quarterId = input.quarterId.trim();
    return this.run('planQuarter', input, { streamId: streamId.quarter(quarterId), streamType: 'quarter' }, { quarterId },
      async (read) => domain.planQuarter(input, await loadQuarter(read, quarterId)), options);
  }

  closeQuarter(quarterId: string, options?: Options) {
    return this.run('closeQuarter', { quarterId }, { streamId: streamId.quarter(quarterId), streamType: 'quarter' }, { quarterId },
      async (read, at) => domain.closeQuarter({ quarterId, at }, await loadQuarter(read, quarterId)), options);
  }

  draftObjective(input: Omit<domain.DraftObjective, 'objectiveId'>, options?: Options) {
    const objectiveId = this.newId();
    return this.run('draftObjective', input, { streamId: streamId.objective(objectiveId), streamType: 'objective' }, { objectiveId },
      async (read) => {
        this.mayChange(input.unitId);
        const state = await loadObjective(read, objectiveId);
        const unit = await loadUnit(read, input.unitId);
        const quarter = await loadQuarter(read, input.quarterId);
        const alignment = await loadAlignment(read, input.parentId);
        return domain.draftObjective({ ...input, objectiveId }, state, unit, quarter, alignment);
      }, options);
  }

  refineObjective(input: domain.RefineObjective, options?: Options) {
    return this.objectiveCommand('refineObjective', input, options, ({ objective, quarter }) =>
      domain.refineObjective(input, objective, quarter));
  }

  alignObjective(input: domain.AlignObjective, options?: Options) {
    return this.objectiveCommand('alignObjective', input, options, async ({ objective, quarter }, read) =>
      domain.alignObjective(input, objective, quarter, await loadAlignment(read, input.parentId)));
  }

  commitObjective(input: { objectiveId: string }, options?: Options) {
    return this.objectiveCommand('commitObjective', input, options, ({ objective, quarter }) =>
      domain.commitObjective(input, objective, quarter));
  }

  retireObjective(input: domain.RetireObjective, options?: Options) {
    return this.objectiveCommand('retireObjective', input, options, ({ objective, quarter }) =>
      domain.retireObjective(input, objective, quarter));
  }

  private objectiveCommand(
    name: string,
    input: { objectiveId: string },
    options: Options | undefined,
    decide: (
      context: Awaited<ReturnType<typeof loadObjectiveContext>>,
      read: StreamReader,
    ) => DomainEvent[] | Promise<DomainEvent[]>,
  ) {
    const { objectiveId } = input;
    return this.run(name, input, { streamId: streamId.objective(objectiveId), streamType: 'objective' }, { objectiveId },
      async (read) => {
        const context = await loadObjectiveContext(read, objectiveId);
        this.mayChange(context.objective.unitId);
        return decide(context, read);
      }, options, [via(streamId.objective(objectiveId), 'quarterId', 'quarter')]);
  }

  defineKeyResult(input: Omit<domain.DefineKeyResult, 'keyResultId'>, options?: Options) {
    const keyResultId = this.newId();
    return this.run('defineKeyResult', input, { streamId: streamId.keyResult(keyResultId), streamType: 'keyResult' }, { keyResultId },
      async (read) => {
        const state = await loadKeyResult(read, keyResultId);
        const objective = await loadObjective(read, input.objectiveId);
        if (objective.status === 'none') throw domain.notFound('objective', input.objectiveId);
        this.mayChange(objective.unitId);
        const quarter = await loadQuarter(read, objective.quarterId);
        return domain.defineKeyResult({ ...input, keyResultId }, state, objective, quarter);
      }, options);
  }

  reviseKeyResult(input: domain.ReviseKeyResult, options?: Options) {
    return this.keyResultCommand('reviseKeyResult', input, options, (c) =>
      domain.reviseKeyResult(input, c.keyResult, c.objective, c.quarter));
  }

  recordCheckIn(input: Omit<domain.RecordCheckIn, 'at'>, options?: Options) {
    return this.keyResultCommand('recordCheckIn', input, options, (c, at) =>
      domain.recordCheckIn({ ...input, at }, c.keyResult, c.objective, c.quarter));
  }

  scoreKeyResult(input: Omit<domain.ScoreKeyResult, 'at'>, options?: Options) {
    return this.keyResultCommand('scoreKeyResult', input, options, (c, at) =>
      domain.scoreKeyResult({ ...input, at }, c.keyResult, c.objective, c.quarter));
  }

  recordMeasurement(input: Omit<domain.RecordMeasurement, 'now'>, options?: Options) {
    // A service learns nothing about key results its token does not name, not even whether they exist.
    if (this.access.role === 'service' && !this.measures(input.keyResultId)) return Promise.reject(this.notYourKeyResult(input.keyResultId));
    return this.keyResultCommand('recordMeasurement', input, options, (c, now) =>
      domain.recordMeasurement({ ...input, now }, c.keyResult, c.objective, c.quarter));
  }

  /**
   * Drafts the objective in a later quarter with its unfinished key results, in one transaction over the
   * old objective's stream (the link), the new objective's and one per key result carried.
   */
  carryOverObjective(input: Omit<domain.CarryOverObjective, 'newObjectiveId' | 'now'>, options?: Options) {
    const { objectiveId, toQuarterId } = input;
    const newObjectiveId = this.newId();
    return this.run('carryOverObjective', input, { streamId: streamId.objective(objectiveId), streamType: 'objective' }, { objectiveId: newObjectiveId },
      async (read, now, log) => {
        const { objective, quarter: from } = await loadObjectiveContext(read, objectiveId);
        this.mayChange(objective.unitId);
        const to = await loadQuarter(read, toQuarterId);
        const keyResults = [];
        for (const id of await keyResultIdsOf(log, objective)) {
          // Whole, check-ins and measurements included: the latest reading is the new baseline.
          const events = (await read(streamId.keyResult(id))) as unknown as KeyResultEvent[];
          const state = events.reduce(domain.evolveKeyResult, domain.initialKeyResultState);
          keyResults.push({ state, lastValue: domain.lastReading(events)?.value ?? null, newKeyResultId: this.newId() });
        }
        return domain.carryOverObjective({ ...input, newObjectiveId, now }, objective, from, to, keyResults);
      }, options, [via(streamId.objective(objectiveId), 'quarterId', 'quarter'), { streamId: streamId.quarter(toQuarterId) }], ownStream);
  }

  private keyResultCommand(
    name: string,
    input: { keyResultId: string },
    options: Options | undefined,
    decide: (context: Awaited<ReturnType<typeof loadKeyResultContext>>, at: string) => DomainEvent[],
  ) {
    const { keyResultId } = input;
    return this.run(name, input, { streamId: streamId.keyResult(keyResultId), streamType: 'keyResult' }, { keyResultId },
      async (read, at) => {
        const context = await loadKeyResultContext(read, keyResultId);
        this.mayChange(context.keyResult.unitId, keyResultId);
        return decide(context, at);
      }, options, [
        { streamId: streamId.keyResult(keyResultId), skipTypes: domain.KEY_RESULT_STATE_IGNORES },
        via(streamId.keyResult(keyResultId), 'objectiveId', 'objective'),
        via(streamId.keyResult(keyResultId), 'quarterId', 'quarter'),
      ]);
  }

  recordRetrospective(input: domain.RecordRetrospective, options?: Options) {
    const { unitId, quarterId } = input;
    return this.run('recordRetrospective', input, { streamId: streamId.unit(unitId), streamType: 'unit' }, { unitId, quarterId },
      async (read) => {
        this.mayChange(unitId);
        const unit = await loadUnit(read, unitId);
        const quarter = await loadQuarter(read, quarterId);
        const keyResults = new Map<string, domain.KeyResultState>();
        for (const c of input.calibrations) {
          if (!keyResults.has(c.keyResultId)) keyResults.set(c.keyResultId, await loadKeyResult(read, c.keyResultId));
        }
        return domain.recordRetrospective(input, unit, quarter, keyResults);
      }, options);
  }

  logProcessEffort(input: Omit<domain.LogProcessEffort, 'at'>, options?: Options) {
    const { unitId, quarterId } = input;
    return this.run('logProcessEffort', input, { streamId: streamId.unit(unitId), streamType: 'unit' }, { unitId, quarterId },
      async (read, at) => {
        this.mayChange(unitId);
        return domain.logProcessEffort({ ...input, at }, await loadUnit(read, unitId), await loadQuarter(read, quarterId));
      },
      options);
  }
}
