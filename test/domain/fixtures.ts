/**
 * Shared streams and events for the decider specs: one organisation (Acme > Engineering > Payments)
 * and one quarter, 2027-Q1, whose setting window opens three weeks before it starts.
 */
import type {
  KeyResultDefined,
  KeyResultEvent,
  ObjectiveDrafted,
  ObjectiveEvent,
  QuarterClosed,
  QuarterEvent,
  QuarterPlanned,
  UnitEvent,
  UnitLevel,
  UnitRegistered,
} from '../../events/catalogue';
import {
  evolveKeyResult,
  evolveObjective,
  evolveQuarter,
  evolveUnit,
  initialKeyResultState,
  initialObjectiveState,
  initialQuarterState,
  initialUnitState,
  type KeyResultState,
  type ObjectiveState,
  type QuarterState,
  type UnitState,
} from '../../domain';
import { stateOf, type Evolver } from '../support/decider';

export const unitStream: Evolver<UnitState, UnitEvent> = { initialState: initialUnitState, evolve: evolveUnit };
export const quarterStream: Evolver<QuarterState, QuarterEvent> = {
  initialState: initialQuarterState,
  evolve: evolveQuarter,
};
export const objectiveStream: Evolver<ObjectiveState, ObjectiveEvent> = {
  initialState: initialObjectiveState,
  evolve: evolveObjective,
};
export const keyResultStream: Evolver<KeyResultState, KeyResultEvent> = {
  initialState: initialKeyResultState,
  evolve: evolveKeyResult,
};

/** A string of exactly `length` characters. */
export const text = (length: number, char = 'x'): string => char.repeat(length);

// ---- units ---------------------------------------------------------------------------------------

export const unitRegistered = (unitId: string, level: UnitLevel, parentId: string | null, name = unitId): UnitRegistered => ({
  type: 'UnitRegistered',
  data: { unitId, name, level, parentId },
});

export const acmeRegistered = unitRegistered('acme', 'COMPANY', null, 'Acme');
export const engineeringRegistered = unitRegistered('eng', 'FUNCTION', 'acme', 'Engineering');
export const paymentsRegistered = unitRegistered('payments', 'TEAM', 'eng', 'Payments');

export const acme = stateOf(unitStream, [acmeRegistered]);
export const engineering = stateOf(unitStream, [engineeringRegistered]);
export const payments = stateOf(unitStream, [paymentsRegistered]);
export const noUnit = stateOf(unitStream, []);

// ---- quarters ------------------------------------------------------------------------------------

export const Q1 = '2027-Q1';
export const Q2 = '2027-Q2';
export const SETTING_OPENS = '2026-12-11T00:00:00.000Z';
export const STARTS = '2027-01-01T00:00:00.000Z';
export const ENDS = '2027-04-01T00:00:00.000Z';
/** A moment in the middle of 2027-Q1, when commands are handled. */
export const NOW = '2027-02-15T12:00:00.000Z';

export const q1Planned: QuarterPlanned = {
  type: 'QuarterPlanned',
  data: { quarterId: Q1, startsOn: STARTS, endsOn: ENDS, settingOpensOn: SETTING_OPENS },
};
export const q1Closed: QuarterClosed = { type: 'QuarterClosed', data: { quarterId: Q1, closedAt: '2027-04-05T00:00:00.000Z' } };

export const openQuarter = stateOf(quarterStream, [q1Planned]);
export const closedQuarter = stateOf(quarterStream, [q1Planned, q1Closed]);
export const noQuarter = stateOf(quarterStream, []);

// ---- objectives ----------------------------------------------------------------------------------

type DraftedData = ObjectiveDrafted['data'];

export const objectiveDrafted = (
  data: Pick<DraftedData, 'objectiveId' | 'unitId' | 'unitLevel'> & Partial<DraftedData>,
): ObjectiveDrafted => ({
  type: 'ObjectiveDrafted',
  data: {
    quarterId: Q1,
    title: `Objective ${data.objectiveId}`,
    description: null,
    aspirational: true,
    parentId: null,
    ...data,
  },
});

export const companyObjectiveDrafted = objectiveDrafted({ objectiveId: 'o-acme', unitId: 'acme', unitLevel: 'COMPANY' });
export const functionObjectiveDrafted = objectiveDrafted({
  objectiveId: 'o-eng',
  unitId: 'eng',
  unitLevel: 'FUNCTION',
  parentId: 'o-acme',
});
export const teamObjectiveDrafted = objectiveDrafted({
  objectiveId: 'o-pay',
  unitId: 'payments',
  unitLevel: 'TEAM',
  title: 'Checkout that never loses a sale',
});

export const companyObjective = stateOf(objectiveStream, [companyObjectiveDrafted]);
export const functionObjective = stateOf(objectiveStream, [functionObjectiveDrafted]);
export const teamObjective = stateOf(objectiveStream, [teamObjectiveDrafted]);
export const retired = (drafted: ObjectiveDrafted): ObjectiveState =>
  stateOf(objectiveStream, [
    drafted,
    { type: 'ObjectiveRetired', data: { objectiveId: drafted.data.objectiveId, unitId: drafted.data.unitId, quarterId: drafted.data.quarterId, reason: 'Dropped' } },
  ]);
export const noObjective = stateOf(objectiveStream, []);

/** The scope every event of the team objective carries. */
export const teamObjectiveScope = { objectiveId: 'o-pay', unitId: 'payments', quarterId: Q1 };

// ---- key results ---------------------------------------------------------------------------------

/** The scope every event of key result kr-1 (under the team objective) carries. */
export const krScope = { keyResultId: 'kr-1', ...teamObjectiveScope };

export const keyResultDefined: KeyResultDefined = {
  type: 'KeyResultDefined',
  data: {
    ...krScope,
    title: 'Cut checkout errors',
    metric: 'checkout error rate',
    unit: '%',
    baseline: 4,
    target: 1,
    direction: 'DECREASE',
    kind: 'OUTCOME',
  },
};
