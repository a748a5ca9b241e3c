import { randomUUID } from 'node:crypto';
import * as domain from '../domain';
import type {
  DomainEvent,
  KeyResultEvent,
  ObjectiveEvent,
  QuarterEvent,
  RecordedEvent,
  UnitEvent,
} from '../events/catalogue';
import { streamId } from '../events/catalogue';
import type { StreamRef } from '../events/store';
import type { Actor, Ledger, StreamReader } from './ledger';

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

/** What the actor may change: admins manage everything, members their units' OKRs, the rest nothing. */
export interface Access {
  role: 'admin' | 'member' | 'analyst' | 'auditor';
  units: readonly string[];
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
    decide: (read: StreamReader, at: string) => Decided,
    options: Options = {},
    prefetch: readonly StreamRef[] = [],
  ): Promise<domain.CommandOutcome<R>> {
    const { role } = this.access;
    if (role === 'analyst' || role === 'auditor') {
      return Promise.reject(domain.forbidden('READ_ONLY_ROLE', `An ${role} reads the organisation's OKRs but changes nothing.`));
    }
    if (ADMIN_COMMANDS.has(name) && role !== 'admin') {
      return Promise.reject(domain.forbidden('ADMIN_ONLY', 'Only an admin manages units and quarters.'));
    }
    return this.ledger.execute(this.actor, { name, input, target, result, decide, prefetch }, options);
  }

  /** Members change only the OKRs of the units their token names. */
  private mayChange(unitId: string): void {
    if (this.access.role === 'admin') return;
    if (this.access.role === 'member' && this.access.units.includes(unitId)) return;
    throw domain.forbidden('NOT_YOUR_UNIT', `You may change the OKRs of your own units only, and unit ${unitId} is not one of them.`);
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
        this.mayChange(context.keyResult.unitId);
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
