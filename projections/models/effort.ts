import type { EventOf, RecordedEvent } from '../../events/catalogue';
import { column, readModel, type DocOf } from '../model';
import { unitQuarterKey } from './retrospectives';

const columns = {
  unitId: column.text(),
  quarterId: column.text(),
  settingDays: column.double(),
  checkInDays: column.double(),
  scoringDays: column.double(),
  retrospectiveDays: column.double(),
  /** Check-ins recorded on the unit's key results for the quarter: evidence beside logged effort. */
  checkIns: column.int(),
};

export type EffortDoc = DocOf<typeof columns>;

const ACTIVITY_FIELD = {
  SETTING: 'settingDays',
  CHECK_IN: 'checkInDays',
  SCORING: 'scoringDays',
  RETROSPECTIVE: 'retrospectiveDays',
} as const;

/** Person-days are summed in micro-days so 0.1 + 0.2 stays 0.3. */
const addDays = (a: number, b: number): number => Math.round((a + b) * 1e6) / 1e6;

type EffortEvent = RecordedEvent<EventOf<'ProcessEffortLogged' | 'CheckInRecorded'>>;

const effortKey = (e: EffortEvent): string => unitQuarterKey(e.data.unitId, e.data.quarterId);

/** Either event may be the first for its unit and quarter, so either starts the tally from zero. */
const effortSoFar = (doc: EffortDoc | null, e: EffortEvent): EffortDoc =>
  doc ?? {
    organisationId: e.metadata.organisationId,
    id: effortKey(e),
    unitId: e.data.unitId,
    quarterId: e.data.quarterId,
    settingDays: 0,
    checkInDays: 0,
    scoringDays: 0,
    retrospectiveDays: 0,
    checkIns: 0,
  };

/** What the OKR process cost each unit per quarter, in person-days by activity, and its check-ins. */
export const effort = readModel({
  name: 'effort',
  table: 'okr_effort',
  columns,
  lookups: [['quarterId']],
  order: (a: EffortDoc, b: EffortDoc): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  handlers: {
    UnitRegistered: 'ignores',
    RetrospectiveRecorded: 'ignores',
    ProcessEffortLogged: {
      key: effortKey,
      evolve: (doc, e) => {
        const base = effortSoFar(doc, e);
        const field = ACTIVITY_FIELD[e.data.activity];
        return { ...base, [field]: addDays(base[field], e.data.personDays) };
      },
    },
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
    CheckInRecorded: {
      key: effortKey,
      evolve: (doc, e) => {
        const base = effortSoFar(doc, e);
        return { ...base, checkIns: base.checkIns + 1 };
      },
    },
    KeyResultScored: 'ignores',
    KeyResultMeasured: 'ignores',
  },
});
