import { byThenId, column, readModel, type DocOf } from '../model';
import { whenExists } from '../projection';

const columns = {
  startsOn: column.time(),
  endsOn: column.time(),
  settingOpensOn: column.time(),
  closedAt: column.nullable(column.time()),
};

export type QuarterDoc = DocOf<typeof columns>;

/** The organisation's quarters: when each runs, when its setting window opens, when it closed. */
export const quarters = readModel({
  name: 'quarters',
  table: 'okr_quarters',
  columns,
  lookups: [],
  order: byThenId<QuarterDoc>('startsOn'),
  handlers: {
    UnitRegistered: 'ignores',
    RetrospectiveRecorded: 'ignores',
    ProcessEffortLogged: 'ignores',
    CheckInCadenceSet: 'ignores',
    QuarterPlanned: {
      key: (e) => e.data.quarterId,
      evolve: (_doc, e) => ({
        organisationId: e.metadata.organisationId,
        id: e.data.quarterId,
        startsOn: new Date(e.data.startsOn),
        endsOn: new Date(e.data.endsOn),
        settingOpensOn: new Date(e.data.settingOpensOn),
        closedAt: null,
      }),
    },
    QuarterClosed: {
      key: (e) => e.data.quarterId,
      evolve: whenExists((doc, e) => ({ ...doc, closedAt: new Date(e.data.closedAt) })),
    },
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
