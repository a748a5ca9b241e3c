import type { CheckInCadence, RecordedEvent, UnitLevel } from '../../events/catalogue';
import { byThenId, column, readModel, type DocOf } from '../model';
import { whenExists } from '../projection';

const columns = {
  /** The log position of the event that registered it: units list in registration order. */
  seq: column.bigint(),
  name: column.text(),
  level: column.text<UnitLevel>(),
  parentId: column.nullable(column.text()),
  registeredAt: column.time(),
  checkInCadence: column.text<CheckInCadence>(),
};

export type UnitDoc = DocOf<typeof columns>;

const org = (e: RecordedEvent): string => e.metadata.organisationId;

/** The organisation's units: company, functions and teams. */
export const units = readModel({
  name: 'units',
  table: 'okr_units',
  columns,
  lookups: [['parentId']],
  order: byThenId<UnitDoc>('seq'),
  handlers: {
    UnitRegistered: {
      key: (e) => e.data.unitId,
      evolve: (_doc, e) => ({
        organisationId: org(e),
        id: e.data.unitId,
        seq: e.position,
        name: e.data.name,
        level: e.data.level,
        parentId: e.data.parentId,
        registeredAt: e.recordedAt,
        checkInCadence: 'BIWEEKLY',
      }),
    },
    RetrospectiveRecorded: 'ignores',
    ProcessEffortLogged: 'ignores',
    CheckInCadenceSet: {
      key: (e) => e.data.unitId,
      evolve: whenExists((doc, e) => ({ ...doc, checkInCadence: e.data.cadence })),
    },
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
