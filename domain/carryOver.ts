import type { Instant, KeyResultDefined, ObjectiveCarriedOver, ObjectiveDrafted } from '../events/catalogue';
import { notFound, rejected } from './errors';
import { targetReached, type KeyResultState } from './keyResult';
import type { ObjectiveState } from './objective';
import { assertQuarterOpen, type QuarterState } from './quarter';
import { ms } from './validate';

/*
 * Carrying an unfinished objective over into a later quarter: the practice's retrospective feeds the
 * next quarter's setting, and an objective that still matters is drafted again there rather than retyped.
 * One decision, three kinds of streams: the old objective records where it went, a new objective stream
 * starts as a draft, and each key result carried gets a stream of its own (src/commands.ts appends them
 * in one transaction).
 */

export interface CarryOverObjective {
  objectiveId: string;
  toQuarterId: string;
  /** Which of its key results to carry; absent: every one that has not reached its target. */
  keyResultIds?: readonly string[] | null;
  /** The id of the objective drafted in `toQuarterId`. */
  newObjectiveId: string;
  /** When the command is handled. */
  now: Instant;
}

/** One of the objective's key results: its state, its latest reading, and the id its carried copy gets. */
export interface KeyResultToCarry {
  state: KeyResultState;
  /** The value of its latest reading (check-in or measurement) by effective time; null when never read. */
  lastValue: number | null;
  newKeyResultId: string;
}

export type CarryOverEvent = ObjectiveCarriedOver | ObjectiveDrafted | KeyResultDefined;

/**
 * `keyResults` are every key result of the objective. Events come in the order of their streams: the
 * old objective's link first, then the new objective's draft, then each carried key result's definition.
 */
export function carryOverObjective(
  command: CarryOverObjective,
  objective: ObjectiveState,
  from: QuarterState,
  to: QuarterState,
  keyResults: readonly KeyResultToCarry[],
): CarryOverEvent[] {
  if (objective.status === 'none') throw notFound('objective', command.objectiveId);
  if (objective.status === 'RETIRED') {
    throw rejected('OBJECTIVE_RETIRED', `Objective ${objective.id} is retired: a dropped objective is not carried over.`);
  }
  if (from.status === 'unplanned') throw notFound('quarter', objective.quarterId);
  if (to.status === 'unplanned') throw notFound('quarter', command.toQuarterId);
  assertQuarterOpen(to, command.toQuarterId);
  if (ms(to.startsOn) < ms(from.endsOn)) {
    throw rejected(
      'CARRY_OVER_NOT_LATER',
      `Quarter ${to.id} starts before ${from.id} ends: an objective is carried over into a later quarter.`,
    );
  }
  if (ms(command.now) < ms(to.settingOpensOn)) {
    throw rejected(
      'CARRY_OVER_BEFORE_SETTING_WINDOW',
      `Quarter ${to.id}'s setting window opens on ${to.settingOpensOn}: carry objectives over while setting it, so their baselines are the latest readings.`,
    );
  }
  if (objective.carriedTo.includes(to.id)) {
    throw rejected('ALREADY_CARRIED_OVER', `Objective ${objective.id} was already carried over into ${to.id}; change the draft there.`);
  }
  const defined = keyResults.filter(
    (k): k is KeyResultToCarry & { state: Extract<KeyResultState, { status: 'defined' }> } =>
      k.state.status === 'defined' && k.state.objectiveId === objective.id,
  );
  const unfinished = (k: (typeof defined)[number]) => !targetReached(k.state, k.lastValue ?? k.state.baseline);
  let carried = defined.filter(unfinished);
  if (command.keyResultIds != null) {
    const named = [...new Set(command.keyResultIds)];
    carried = named.map((id) => {
      const k = defined.find((d) => d.state.id === id);
      if (k === undefined) {
        throw rejected('KEY_RESULT_NOT_IN_OBJECTIVE', `Key result ${id} is not one of objective ${objective.id}'s key results.`);
      }
      if (!unfinished(k)) {
        throw rejected(
          'KEY_RESULT_TARGET_REACHED',
          `Key result ${id} reached its target (${k.state.target}): leave it out, and define a new key result in the draft for a new ambition.`,
        );
      }
      return k;
    });
  }
  const toObjectiveId = command.newObjectiveId;
  return [
    {
      type: 'ObjectiveCarriedOver',
      data: { objectiveId: objective.id, unitId: objective.unitId, quarterId: objective.quarterId, toObjectiveId, toQuarterId: to.id },
    },
    {
      type: 'ObjectiveDrafted',
      data: {
        objectiveId: toObjectiveId,
        unitId: objective.unitId,
        quarterId: to.id,
        unitLevel: objective.unitLevel,
        title: objective.title,
        description: objective.description,
        aspirational: objective.aspirational,
        // Alignment is to an objective of the same quarter: the draft is aligned anew there.
        parentId: null,
        carriedFrom: { objectiveId: objective.id, quarterId: objective.quarterId },
      },
    },
    ...carried.map(({ state: kr, lastValue, newKeyResultId }): KeyResultDefined => ({
      type: 'KeyResultDefined',
      data: {
        keyResultId: newKeyResultId,
        objectiveId: toObjectiveId,
        unitId: objective.unitId,
        quarterId: to.id,
        title: kr.title,
        metric: kr.metric,
        unit: kr.unit,
        // Where the metric stands now: the latest reading, or the old baseline when it was never read.
        baseline: lastValue ?? kr.baseline,
        target: kr.target,
        direction: kr.direction,
        kind: kr.kind,
        carriedFrom: { keyResultId: kr.id, quarterId: kr.quarterId },
      },
    })),
  ];
}
