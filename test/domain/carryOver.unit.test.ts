import type { KeyResultDefined, ObjectiveCarriedOver, ObjectiveDrafted, ObjectiveEvent, QuarterPlanned } from '../../events/catalogue';
import { carryOverObjective, type CarryOverObjective, type KeyResultToCarry, type ObjectiveState } from '../../domain';
import { decider, stateOf, type Evolver } from '../support/decider';
import {
  ENDS,
  Q1,
  Q2,
  closedQuarter,
  keyResultDefined,
  keyResultStream,
  noQuarter,
  objectiveStream,
  openQuarter,
  quarterStream,
  teamObjectiveDrafted,
  teamObjectiveScope,
} from './fixtures';

/**
 * carryOverObjective, decided on the objective's stream, with the quarter it is in, the quarter it goes
 * to, and its key results (each with its latest reading and the id its copy gets).
 */
const carry = decider(
  // Its events go to several streams; what it decides on is the objective's state.
  { initialState: objectiveStream.initialState, evolve: (state, event) => (event.type === 'KeyResultDefined' ? state : objectiveStream.evolve(state, event)) } as Evolver<
    ObjectiveState,
    ObjectiveEvent | KeyResultDefined
  >,
  carryOverObjective,
);

/** 2027-Q2 follows 2027-Q1; its setting window opens three weeks before, while Q1 ends. */
const q2Planned: QuarterPlanned = {
  type: 'QuarterPlanned',
  data: { quarterId: Q2, startsOn: ENDS, endsOn: '2027-07-01T00:00:00.000Z', settingOpensOn: '2027-03-11T00:00:00.000Z' },
};
const q3Planned: QuarterPlanned = {
  type: 'QuarterPlanned',
  data: { quarterId: '2027-Q3', startsOn: '2027-07-01T00:00:00.000Z', endsOn: '2027-10-01T00:00:00.000Z', settingOpensOn: '2027-03-01T00:00:00.000Z' },
};
const nextQuarter = stateOf(quarterStream, [q2Planned]);
/** While 2027-Q2's setting window is open and 2027-Q1 is ending. */
const SETTING_Q2 = '2027-03-20T10:00:00.000Z';

const keyResult = (id: string, data: Partial<KeyResultDefined['data']> = {}) =>
  stateOf(keyResultStream, [{ ...keyResultDefined, data: { ...keyResultDefined.data, keyResultId: id, ...data } }]);
/** kr-1 (4% -> 1%, now at 2.5), kr-2 (reached its target: 0.8), kr-3 (never read: 30 -> 60 minutes, INCREASE). */
const keyResults: KeyResultToCarry[] = [
  { state: keyResult('kr-1'), lastValue: 2.5, newKeyResultId: 'kr-1b' },
  { state: keyResult('kr-2', { title: 'Cut refund errors', baseline: 3, target: 1 }), lastValue: 0.8, newKeyResultId: 'kr-2b' },
  { state: keyResult('kr-3', { title: 'More deploys a day', metric: 'deploys', unit: null, baseline: 30, target: 60, direction: 'INCREASE', kind: 'OUTPUT' }), lastValue: null, newKeyResultId: 'kr-3b' },
];

const command = (overrides: Partial<CarryOverObjective> = {}): CarryOverObjective => ({
  objectiveId: 'o-pay',
  toQuarterId: Q2,
  newObjectiveId: 'o-pay-2',
  now: SETTING_Q2,
  ...overrides,
});

const linked: ObjectiveCarriedOver = { type: 'ObjectiveCarriedOver', data: { ...teamObjectiveScope, toObjectiveId: 'o-pay-2', toQuarterId: Q2 } };
const drafted: ObjectiveDrafted = {
  type: 'ObjectiveDrafted',
  data: {
    objectiveId: 'o-pay-2',
    unitId: 'payments',
    quarterId: Q2,
    unitLevel: 'TEAM',
    title: 'Checkout that never loses a sale',
    description: null,
    aspirational: true,
    parentId: null,
    carriedFrom: { objectiveId: 'o-pay', quarterId: Q1 },
  },
};
const carried = (id: string, from: string, data: Partial<KeyResultDefined['data']> = {}): KeyResultDefined => ({
  type: 'KeyResultDefined',
  data: {
    ...keyResultDefined.data,
    keyResultId: id,
    objectiveId: 'o-pay-2',
    quarterId: Q2,
    carriedFrom: { keyResultId: from, quarterId: Q1 },
    ...data,
  },
});

describe('carryOverObjective', () => {
  describe('an active objective of a quarter that is ending', () => {
    it('links the old objective, drafts it in the next quarter, and carries the unfinished key results from where they stand', () => {
      carry
        .given([teamObjectiveDrafted])
        .when(command(), openQuarter, nextQuarter, keyResults)
        .then([
          linked,
          drafted,
          // Metric, unit, direction, kind and target kept; the baseline is the latest reading (2.5)...
          carried('kr-1b', 'kr-1', { baseline: 2.5 }),
          // ... or the old baseline when the metric was never read. kr-2 reached its target: not carried.
          carried('kr-3b', 'kr-3', { title: 'More deploys a day', metric: 'deploys', unit: null, baseline: 30, target: 60, direction: 'INCREASE', kind: 'OUTPUT' }),
        ]);
    });

    it('drafts a committed, aligned objective as an unaligned draft (alignment is to an objective of the same quarter)', () => {
      const aligned = { ...teamObjectiveDrafted, data: { ...teamObjectiveDrafted.data, parentId: 'o-eng', description: 'Why it matters', aspirational: false } };
      carry
        .given([aligned, { type: 'ObjectiveCommitted', data: teamObjectiveScope }])
        .when(command(), openQuarter, nextQuarter, [])
        .then([linked, { ...drafted, data: { ...drafted.data, description: 'Why it matters', aspirational: false } }]);
    });

    it('carries the key results named, once each, in the order named', () => {
      carry
        .given([teamObjectiveDrafted])
        .when(command({ keyResultIds: ['kr-3', 'kr-1', 'kr-3'] }), openQuarter, nextQuarter, keyResults)
        .then([
          linked,
          drafted,
          carried('kr-3b', 'kr-3', { title: 'More deploys a day', metric: 'deploys', unit: null, baseline: 30, target: 60, direction: 'INCREASE', kind: 'OUTPUT' }),
          carried('kr-1b', 'kr-1', { baseline: 2.5 }),
        ]);
      carry.given([teamObjectiveDrafted]).when(command({ keyResultIds: [] }), openQuarter, nextQuarter, keyResults).then([linked, drafted]);
    });

    it('refuses to carry a key result that reached its target, or one of another objective', () => {
      carry
        .given([teamObjectiveDrafted])
        .when(command({ keyResultIds: ['kr-2'] }), openQuarter, nextQuarter, keyResults)
        .thenRejects('BAD_USER_INPUT', 'KEY_RESULT_TARGET_REACHED');
      const elsewhere = [{ state: keyResult('kr-9', { objectiveId: 'o-other' }), lastValue: null, newKeyResultId: 'kr-9b' }];
      carry
        .given([teamObjectiveDrafted])
        .when(command({ keyResultIds: ['kr-9'] }), openQuarter, nextQuarter, elsewhere)
        .thenRejects('BAD_USER_INPUT', 'KEY_RESULT_NOT_IN_OBJECTIVE');
      carry
        .given([teamObjectiveDrafted])
        .when(command({ keyResultIds: ['kr-unknown'] }), openQuarter, nextQuarter, keyResults)
        .thenRejects('BAD_USER_INPUT', 'KEY_RESULT_NOT_IN_OBJECTIVE');
    });

    it('counts a reading exactly at the target as reached (a key result needs somewhere to go)', () => {
      const atTarget = [{ state: keyResult('kr-1'), lastValue: 1, newKeyResultId: 'kr-1b' }];
      carry.given([teamObjectiveDrafted]).when(command(), openQuarter, nextQuarter, atTarget).then([linked, drafted]);
    });

    it('refuses a quarter that does not start after the objective\'s ends: the same one, or an earlier one', () => {
      carry.given([teamObjectiveDrafted]).when(command({ toQuarterId: Q1 }), openQuarter, openQuarter, []).thenRejects('BAD_USER_INPUT', 'CARRY_OVER_NOT_LATER');
      const earlier = stateOf(quarterStream, [
        { type: 'QuarterPlanned', data: { quarterId: '2026-Q4', startsOn: '2026-10-01T00:00:00.000Z', endsOn: '2027-01-01T00:00:00.000Z', settingOpensOn: '2026-09-10T00:00:00.000Z' } },
      ]);
      carry.given([teamObjectiveDrafted]).when(command({ toQuarterId: '2026-Q4' }), openQuarter, earlier, []).thenRejects('BAD_USER_INPUT', 'CARRY_OVER_NOT_LATER');
    });

    it('refuses before the next quarter\'s setting window opens, and accepts from its first instant', () => {
      carry
        .given([teamObjectiveDrafted])
        .when(command({ now: '2027-03-10T23:59:59.999Z' }), openQuarter, nextQuarter, [])
        .thenRejects('BAD_USER_INPUT', 'CARRY_OVER_BEFORE_SETTING_WINDOW');
      carry.given([teamObjectiveDrafted]).when(command({ now: '2027-03-11T00:00:00.000Z' }), openQuarter, nextQuarter, []).then([linked, drafted]);
    });

    it('refuses an unknown or closed target quarter', () => {
      carry.given([teamObjectiveDrafted]).when(command({ toQuarterId: 'nope' }), openQuarter, noQuarter, []).thenRejects('NOT_FOUND', 'QUARTER_NOT_FOUND');
      const closedQ2 = stateOf(quarterStream, [q2Planned, { type: 'QuarterClosed', data: { quarterId: Q2, closedAt: '2027-07-02T00:00:00.000Z' } }]);
      carry.given([teamObjectiveDrafted]).when(command(), openQuarter, closedQ2, []).thenRejects('BAD_USER_INPUT', 'QUARTER_CLOSED');
    });
  });

  describe('an objective of a closed quarter', () => {
    it('is carried over: its content stays frozen, the link is the one fact recorded on it', () => {
      carry.given([teamObjectiveDrafted]).when(command({ now: '2027-04-10T00:00:00.000Z' }), closedQuarter, nextQuarter, keyResults.slice(0, 1)).then([
        linked,
        drafted,
        carried('kr-1b', 'kr-1', { baseline: 2.5 }),
      ]);
    });
  });

  describe('an objective already carried over', () => {
    it('is not carried into the same quarter twice, and may go on to another', () => {
      carry.given([teamObjectiveDrafted, linked]).when(command(), openQuarter, nextQuarter, []).thenRejects('BAD_USER_INPUT', 'ALREADY_CARRIED_OVER');
      const q3 = stateOf(quarterStream, [q3Planned]);
      carry
        .given([teamObjectiveDrafted, linked])
        .when(command({ toQuarterId: '2027-Q3', newObjectiveId: 'o-pay-3' }), openQuarter, q3, [])
        .then([
          { type: 'ObjectiveCarriedOver', data: { ...teamObjectiveScope, toObjectiveId: 'o-pay-3', toQuarterId: '2027-Q3' } },
          { ...drafted, data: { ...drafted.data, objectiveId: 'o-pay-3', quarterId: '2027-Q3' } },
        ]);
    });

    it('remembers where it went', () => {
      expect(stateOf(objectiveStream, [teamObjectiveDrafted, linked])).toMatchObject({ status: 'DRAFT', carriedTo: [Q2] });
    });
  });

  describe('nothing to carry', () => {
    it('refuses an unknown objective (NOT_FOUND)', () => {
      carry.given([]).when(command(), openQuarter, nextQuarter, []).thenRejects('NOT_FOUND', 'OBJECTIVE_NOT_FOUND');
    });

    it('refuses a retired objective: dropped, not unfinished', () => {
      carry
        .given([teamObjectiveDrafted, { type: 'ObjectiveRetired', data: { ...teamObjectiveScope, reason: 'Dropped' } }])
        .when(command(), openQuarter, nextQuarter, [])
        .thenRejects('BAD_USER_INPUT', 'OBJECTIVE_RETIRED');
    });
  });

  it('never carries key results of another objective it is handed', () => {
    const mixed = [...keyResults.slice(0, 1), { state: keyResult('kr-9', { objectiveId: 'o-other' }), lastValue: null, newKeyResultId: 'kr-9b' }];
    carry.given([teamObjectiveDrafted]).when(command(), openQuarter, nextQuarter, mixed).then([linked, drafted, carried('kr-1b', 'kr-1', { baseline: 2.5 })]);
  });
});
