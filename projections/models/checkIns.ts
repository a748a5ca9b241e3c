import { column, readModel, type DocOf } from '../model';

const columns = {
  keyResultId: column.text(),
  unitId: column.text(),
  quarterId: column.text(),
  /** Version of the key result stream at this check-in. */
  version: column.int(),
  recordedAt: column.time(),
  /** The moment the reading describes (effective time). */
  asOf: column.time(),
  confidence: column.int(),
  value: column.nullable(column.double()),
  whatChanged: column.nullable(column.text()),
  blockers: column.nullable(column.text()),
  author: column.nullable(column.text()),
};

export type CheckInDoc = DocOf<typeof columns>;

/** Every check-in, one document each (its id: the key result stream and version that recorded it). */
export const checkIns = readModel({
  name: 'checkIns',
  table: 'okr_check_ins',
  columns,
  lookups: [['keyResultId'], ['quarterId']],
  /** Oldest first by effective time; the stream version breaks ties in recording order. */
  order: (a: CheckInDoc, b: CheckInDoc): number => a.asOf.getTime() - b.asOf.getTime() || a.version - b.version,
  immutable: true,
  handlers: {
    UnitRegistered: 'ignores',
    RetrospectiveRecorded: 'ignores',
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
    CheckInRecorded: {
      key: (e) => `${e.streamId}/${e.version}`,
      evolve: (_doc, e) => ({
        organisationId: e.metadata.organisationId,
        id: `${e.streamId}/${e.version}`,
        keyResultId: e.data.keyResultId,
        unitId: e.data.unitId,
        quarterId: e.data.quarterId,
        version: e.version,
        recordedAt: e.recordedAt,
        asOf: new Date(e.data.asOf),
        confidence: e.data.confidence,
        value: e.data.value,
        whatChanged: e.data.whatChanged,
        blockers: e.data.blockers,
        author: e.metadata.actor,
      }),
    },
    KeyResultScored: 'ignores',
    KeyResultMeasured: 'ignores',
  },
});
