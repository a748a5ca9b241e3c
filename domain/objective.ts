import type {
  ObjectiveAligned,
  ObjectiveCommitted,
  ObjectiveDrafted,
  ObjectiveEvent,
  ObjectiveRefined,
  ObjectiveRetired,
  UnitLevel,
} from '../events/catalogue';
import { notFound, rejected } from './errors';
import { assertQuarterOpen, type QuarterState } from './quarter';
import type { UnitState } from './unit';
import { LIMITS, optionalText, requiredText } from './validate';

interface ObjectiveFields {
  id: string;
  unitId: string;
  quarterId: string;
  unitLevel: UnitLevel;
  title: string;
  description: string | null;
  aspirational: boolean;
  parentId: string | null;
  /** The quarters it has been carried over into. */
  carriedTo: readonly string[];
}

export type ObjectiveState =
  | { status: 'none' }
  | ({ status: 'DRAFT' | 'COMMITTED' } & ObjectiveFields)
  | ({ status: 'RETIRED'; retiredReason: string } & ObjectiveFields);

export type ExistingObjective = Exclude<ObjectiveState, { status: 'none' }>;

export const initialObjectiveState: ObjectiveState = { status: 'none' };

export function evolveObjective(state: ObjectiveState, event: ObjectiveEvent): ObjectiveState {
  if (event.type === 'ObjectiveDrafted') {
    const d = event.data;
    return {
      status: 'DRAFT',
      id: d.objectiveId,
      unitId: d.unitId,
      quarterId: d.quarterId,
      unitLevel: d.unitLevel,
      title: d.title,
      description: d.description,
      aspirational: d.aspirational,
      parentId: d.parentId,
      carriedTo: [],
    };
  }
  if (state.status === 'none') return state;
  switch (event.type) {
    case 'ObjectiveRefined':
      return {
        ...state,
        title: event.data.title ?? state.title,
        description: event.data.description !== undefined ? event.data.description : state.description,
      };
    case 'ObjectiveAligned':
      return { ...state, parentId: event.data.parentId };
    case 'ObjectiveCommitted':
      return state.status === 'RETIRED' ? state : { ...state, status: 'COMMITTED' };
    case 'ObjectiveRetired':
      return { ...state, status: 'RETIRED', retiredReason: event.data.reason };
    case 'ObjectiveCarriedOver':
      return { ...state, carriedTo: [...state.carriedTo, event.data.toQuarterId] };
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
}

const LEVEL_RANK: Record<UnitLevel, number> = { TEAM: 0, FUNCTION: 1, COMPANY: 2 };

/**
 * Alignment: an objective contributes to an objective of a strictly higher level in the same
 * quarter, never to itself and never in a cycle. `ancestors` is the chain above `parent`
 * (its parent first), as far as it goes.
 */
function assertAlignment(
  self: { id: string; quarterId: string; unitLevel: UnitLevel },
  parentId: string,
  parent: ObjectiveState,
  ancestors: readonly ObjectiveState[],
): void {
  if (parentId === self.id) throw rejected('ALIGN_TO_SELF', 'An objective cannot be aligned to itself.');
  if (parent.status === 'none') throw notFound('objective', parentId);
  if (parent.status === 'RETIRED') {
    throw rejected('ALIGN_TO_RETIRED', `Objective ${parentId} is retired; align to an active objective.`);
  }
  if (LEVEL_RANK[parent.unitLevel] <= LEVEL_RANK[self.unitLevel]) {
    throw rejected(
      'ALIGN_LEVEL_INVALID',
      `A ${self.unitLevel.toLowerCase()} objective aligns to a higher level's objective, not to a ${parent.unitLevel.toLowerCase()} one.`,
    );
  }
  if (parent.quarterId !== self.quarterId) {
    throw rejected('ALIGN_OTHER_QUARTER', `Objective ${parentId} belongs to ${parent.quarterId}, not ${self.quarterId}.`);
  }
  if (ancestors.some((a) => a.status !== 'none' && a.id === self.id)) {
    throw rejected('ALIGN_CYCLE', 'That alignment would make a cycle.');
  }
}

export interface DraftObjective {
  objectiveId: string;
  unitId: string;
  quarterId: string;
  title: string;
  description?: string | null;
  aspirational?: boolean | null;
  parentId?: string | null;
}

export interface AlignmentContext {
  parent: ObjectiveState | null;
  ancestors: readonly ObjectiveState[];
}

export function draftObjective(
  command: DraftObjective,
  state: ObjectiveState,
  unit: UnitState,
  quarter: QuarterState,
  alignment: AlignmentContext,
): ObjectiveDrafted[] {
  if (state.status !== 'none') throw rejected('OBJECTIVE_EXISTS', `Objective ${command.objectiveId} already exists.`);
  if (unit.status !== 'registered') throw notFound('unit', command.unitId);
  assertQuarterOpen(quarter, command.quarterId);
  const title = requiredText('title', command.title, LIMITS.title);
  const description = optionalText('description', command.description, LIMITS.description);
  const parentId = command.parentId ?? null;
  if (parentId !== null) {
    assertAlignment(
      { id: command.objectiveId, quarterId: command.quarterId, unitLevel: unit.level },
      parentId,
      alignment.parent ?? { status: 'none' },
      alignment.ancestors,
    );
  }
  return [
    {
      type: 'ObjectiveDrafted',
      data: {
        objectiveId: command.objectiveId,
        unitId: command.unitId,
        quarterId: command.quarterId,
        unitLevel: unit.level,
        title,
        description,
        // Stretch by default: the practice's 0.7 target applies unless a team commits to 1.0.
        aspirational: command.aspirational ?? true,
        parentId,
      },
    },
  ];
}

function existing(state: ObjectiveState, id: string): ExistingObjective {
  if (state.status === 'none') throw notFound('objective', id);
  return state;
}

function changeable(state: ObjectiveState, id: string, quarter: QuarterState): ExistingObjective {
  const objective = existing(state, id);
  assertQuarterOpen(quarter, objective.quarterId);
  if (objective.status === 'RETIRED') {
    throw rejected('OBJECTIVE_RETIRED', `Objective ${id} is retired and can no longer change.`);
  }
  return objective;
}

const scope = (o: ExistingObjective) => ({ objectiveId: o.id, unitId: o.unitId, quarterId: o.quarterId });

export interface RefineObjective {
  objectiveId: string;
  title?: string | null;
  /** undefined: keep; null or blank: remove. */
  description?: string | null;
}

export function refineObjective(command: RefineObjective, state: ObjectiveState, quarter: QuarterState): ObjectiveRefined[] {
  const objective = changeable(state, command.objectiveId, quarter);
  if ((command.title === undefined || command.title === null) && command.description === undefined) {
    throw rejected('NOTHING_TO_REFINE', 'Give a new title or description.');
  }
  const data: ObjectiveRefined['data'] = scope(objective);
  if (command.title !== undefined && command.title !== null) {
    const title = requiredText('title', command.title, LIMITS.title);
    if (title !== objective.title) data.title = title;
  }
  if (command.description !== undefined) {
    const description = optionalText('description', command.description, LIMITS.description);
    if (description !== objective.description) data.description = description;
  }
  if (data.title === undefined && data.description === undefined) return [];
  return [{ type: 'ObjectiveRefined', data }];
}

export interface AlignObjective {
  objectiveId: string;
  parentId: string | null;
}

export function alignObjective(
  command: AlignObjective,
  state: ObjectiveState,
  quarter: QuarterState,
  alignment: AlignmentContext,
): ObjectiveAligned[] {
  const objective = changeable(state, command.objectiveId, quarter);
  if (command.parentId !== null) {
    assertAlignment(objective, command.parentId, alignment.parent ?? { status: 'none' }, alignment.ancestors);
  }
  if (command.parentId === objective.parentId) return [];
  return [
    { type: 'ObjectiveAligned', data: { ...scope(objective), parentId: command.parentId, previousParentId: objective.parentId } },
  ];
}

export function commitObjective(command: { objectiveId: string }, state: ObjectiveState, quarter: QuarterState): ObjectiveCommitted[] {
  const objective = changeable(state, command.objectiveId, quarter);
  if (objective.status === 'COMMITTED') return [];
  return [{ type: 'ObjectiveCommitted', data: scope(objective) }];
}

export interface RetireObjective {
  objectiveId: string;
  reason: string;
}

export function retireObjective(command: RetireObjective, state: ObjectiveState, quarter: QuarterState): ObjectiveRetired[] {
  const objective = changeable(state, command.objectiveId, quarter);
  const reason = requiredText('reason', command.reason, LIMITS.reason);
  return [{ type: 'ObjectiveRetired', data: { ...scope(objective), reason } }];
}
