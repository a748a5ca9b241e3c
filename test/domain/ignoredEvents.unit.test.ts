import type { KeyResultEvent, UnitEvent } from '../../events/catalogue';
import {
  KEY_RESULT_STATE_IGNORES,
  UNIT_STATE_IGNORES,
  evolveKeyResult,
  evolveUnit,
  type KeyResultState,
  type UnitState,
} from '../../domain';

/**
 * Loading skips the events a decider's evolve ignores (src/commands.ts). That is only sound while
 * evolve really leaves the state unchanged for them: this pins it.
 */
describe('events a decision may skip when loading', () => {
  const unit: UnitState = { status: 'registered', id: 'u', name: 'Payments', level: 'TEAM', parentId: 'f', cadence: 'BIWEEKLY' };
  const keyResult: KeyResultState = {
    status: 'defined', id: 'k', objectiveId: 'o', unitId: 'u', quarterId: 'q', title: 't', metric: 'm', unit: null,
    baseline: 1, target: 2, direction: 'INCREASE', kind: 'OUTCOME', score: 0.5,
  };
  const samples: Record<string, KeyResultEvent | UnitEvent> = {
    CheckInRecorded: {
      type: 'CheckInRecorded',
      data: { keyResultId: 'k', objectiveId: 'o', unitId: 'u', quarterId: 'q', confidence: 10, value: 9, whatChanged: null, blockers: null, asOf: '2027-01-01T00:00:00.000Z' },
    },
    KeyResultMeasured: {
      type: 'KeyResultMeasured',
      data: { keyResultId: 'k', objectiveId: 'o', unitId: 'u', quarterId: 'q', value: 41.5, at: '2027-01-01T00:00:00.000Z', source: 'ci' },
    },
    RetrospectiveRecorded: { type: 'RetrospectiveRecorded', data: { unitId: 'u', quarterId: 'q', learnings: 'l', calibrations: [] } },
    ProcessEffortLogged: {
      type: 'ProcessEffortLogged',
      data: { unitId: 'u', quarterId: 'q', activity: 'SETTING', personDays: 1, note: null, occurredOn: '2027-01-01T00:00:00.000Z' },
    },
  };

  it.each(KEY_RESULT_STATE_IGNORES.map((t) => [t]))('evolveKeyResult leaves the state unchanged for %s', (type) => {
    expect(evolveKeyResult(keyResult, samples[type] as KeyResultEvent)).toBe(keyResult);
  });

  it.each(UNIT_STATE_IGNORES.map((t) => [t]))('evolveUnit leaves the state unchanged for %s', (type) => {
    expect(evolveUnit(unit, samples[type] as UnitEvent)).toBe(unit);
  });
});
