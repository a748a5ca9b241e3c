import { column, readModel, type DocOf } from '../model';

const columns = {
  keyResultId: column.text(),
  unitId: column.text(),
  quarterId: column.text(),
  /** Version of the key result stream at this measurement. */
  version: column.int(),
  recordedAt: column.time(),
  /** The moment the reading describes (effective time). */
  at: column.time(),
  value: column.double(),
  /** The system that measured. */
  source: column.text(),
  /** Whose token recorded it (a service's subject, or a person's). */
  author: column.text(),
};

export type MeasurementDoc = DocOf<typeof columns>;

/** Every measurement, one document each (its id: the key result stream and version that recorded it). */
export const measurements = readModel({
  name: 'measurements',
  table: 'okr_measurements',
  columns,
  lookups: [['keyResultId'], ['quarterId']],
  /** Oldest first by effective time; the stream version breaks ties in recording order. */
  order: (a: MeasurementDoc, b: MeasurementDoc): number => a.at.getTime() - b.at.getTime() || a.version - b.version,
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
    CheckInRecorded: 'ignores',
    KeyResultScored: 'ignores',
    KeyResultMeasured: {
      key: (e) => `${e.streamId}/${e.version}`,
      evolve: (_doc, e) => ({
        organisationId: e.metadata.organisationId,
        id: `${e.streamId}/${e.version}`,
        keyResultId: e.data.keyResultId,
        unitId: e.data.unitId,
        quarterId: e.data.quarterId,
        version: e.version,
        recordedAt: e.recordedAt,
        at: new Date(e.data.at),
        value: e.data.value,
        source: e.data.source,
        author: e.metadata.actor,
      }),
    },
  },
});
