import type { KeyResultCalibrationData } from '../../events/catalogue';
import { byThenId, column, readModel, type DocOf } from '../model';

const columns = {
  unitId: column.text(),
  quarterId: column.text(),
  learnings: column.text(),
  calibrations: column.json<KeyResultCalibrationData[]>(),
  recordedAt: column.time(),
};

export type RetrospectiveDoc = DocOf<typeof columns>;

/** A unit and quarter: the document's id. */
export const unitQuarterKey = (unitId: string, quarterId: string): string => `${unitId}/${quarterId}`;

/** The latest retrospective of a unit for a quarter; earlier ones stay in the log (and the history table). */
export const retrospectives = readModel({
  name: 'retrospectives',
  table: 'okr_retrospectives',
  columns,
  lookups: [['quarterId', 'unitId']],
  order: byThenId<RetrospectiveDoc>('recordedAt'),
  createsOnly: true,
  handlers: {
    UnitRegistered: 'ignores',
    RetrospectiveRecorded: {
      key: (e) => unitQuarterKey(e.data.unitId, e.data.quarterId),
      evolve: (_doc, e) => ({
        organisationId: e.metadata.organisationId,
        id: unitQuarterKey(e.data.unitId, e.data.quarterId),
        unitId: e.data.unitId,
        quarterId: e.data.quarterId,
        learnings: e.data.learnings,
        calibrations: e.data.calibrations,
        recordedAt: e.recordedAt,
      }),
    },
    ProcessEffortLogged: 'ignores',
    CheckInCadenceSet: 'ignores',
    QuarterPlanned: 'ignores',
    QuarterClosed: 'ignores',
    ObjectiveDrafted: 'ignores',
    ObjectiveRefined: 'ignores',
    ObjectiveAligned: 'ignores',
    ObjectiveCommitted: 'ignores',
    ObjectiveRetired: 'ignores',
    ObjectiveCarriedOver: 'ignores',
    KeyResultDefined: 'ignores',
    KeyResultRevised: 'ignores',
    CheckInRecorded: 'ignores',
    KeyResultScored: 'ignores',
    KeyResultMeasured: 'ignores',
  },
});
