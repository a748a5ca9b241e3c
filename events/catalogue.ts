/**
 * The event catalogue: every fact the ledger records, as plain serializable data.
 *
 * Events are immutable once appended. When a payload's shape has to change, the old shape is
 * frozen under its schema version and upcast when read (see events/upcasters.ts); the types here
 * are always the current shapes.
 */

export type UnitLevel = 'COMPANY' | 'FUNCTION' | 'TEAM';
export type Direction = 'INCREASE' | 'DECREASE';
export type KeyResultKind = 'OUTCOME' | 'OUTPUT';
export type ProcessActivity = 'SETTING' | 'CHECK_IN' | 'SCORING' | 'RETROSPECTIVE';
export type Calibration = 'TOO_EASY' | 'RIGHT' | 'TOO_HARD';

/** ISO-8601 instant, always UTC with milliseconds (Date#toISOString). */
export type Instant = string;

// ---- unit stream -------------------------------------------------------------------------------

export interface UnitRegistered {
  type: 'UnitRegistered';
  data: { unitId: string; name: string; level: UnitLevel; parentId: string | null };
}

export interface KeyResultCalibrationData {
  keyResultId: string;
  calibration: Calibration;
  note: string | null;
}

export interface RetrospectiveRecorded {
  type: 'RetrospectiveRecorded';
  data: {
    unitId: string;
    quarterId: string;
    learnings: string;
    calibrations: KeyResultCalibrationData[];
  };
}

export interface ProcessEffortLogged {
  type: 'ProcessEffortLogged';
  data: {
    unitId: string;
    quarterId: string;
    activity: ProcessActivity;
    personDays: number;
    note: string | null;
    occurredOn: Instant;
  };
}

/** How often a unit means to check in on its key results (the practice: every two weeks or monthly). */
export type CheckInCadence = 'BIWEEKLY' | 'MONTHLY';

export interface CheckInCadenceSet {
  type: 'CheckInCadenceSet';
  data: { unitId: string; cadence: CheckInCadence };
}

export type UnitEvent = UnitRegistered | RetrospectiveRecorded | ProcessEffortLogged | CheckInCadenceSet;

// ---- quarter stream ----------------------------------------------------------------------------

export interface QuarterPlanned {
  type: 'QuarterPlanned';
  data: { quarterId: string; startsOn: Instant; endsOn: Instant; settingOpensOn: Instant };
}

export interface QuarterClosed {
  type: 'QuarterClosed';
  data: { quarterId: string; closedAt: Instant };
}

export type QuarterEvent = QuarterPlanned | QuarterClosed;

// ---- objective stream --------------------------------------------------------------------------

/** Fields every objective event carries, so projections and log filters need no lookups. */
interface ObjectiveScope {
  objectiveId: string;
  unitId: string;
  quarterId: string;
}

export interface ObjectiveDrafted {
  type: 'ObjectiveDrafted';
  data: ObjectiveScope & {
    unitLevel: UnitLevel;
    title: string;
    description: string | null;
    aspirational: boolean;
    parentId: string | null;
    /**
     * The objective of an earlier quarter this draft carries over (carryOverObjective). Optional, and
     * absent from every other draft: drafts recorded before carry-over existed are read as they are.
     */
    carriedFrom?: { objectiveId: string; quarterId: string };
  };
}

export interface ObjectiveRefined {
  type: 'ObjectiveRefined';
  /** Only the fields that changed are present. */
  data: ObjectiveScope & { title?: string; description?: string | null };
}

export interface ObjectiveAligned {
  type: 'ObjectiveAligned';
  data: ObjectiveScope & { parentId: string | null; previousParentId: string | null };
}

export interface ObjectiveCommitted {
  type: 'ObjectiveCommitted';
  data: ObjectiveScope;
}

export interface ObjectiveRetired {
  type: 'ObjectiveRetired';
  data: ObjectiveScope & { reason: string };
}

/**
 * The objective was carried over into a later quarter: `toObjectiveId` was drafted there from it, in
 * the same transaction (its ObjectiveDrafted names this one in `carriedFrom`).
 */
export interface ObjectiveCarriedOver {
  type: 'ObjectiveCarriedOver';
  data: ObjectiveScope & { toObjectiveId: string; toQuarterId: string };
}

export type ObjectiveEvent =
  | ObjectiveDrafted
  | ObjectiveRefined
  | ObjectiveAligned
  | ObjectiveCommitted
  | ObjectiveRetired
  | ObjectiveCarriedOver;

// ---- key result stream -------------------------------------------------------------------------

interface KeyResultScope {
  keyResultId: string;
  objectiveId: string;
  unitId: string;
  quarterId: string;
}

export interface KeyResultDefined {
  type: 'KeyResultDefined';
  data: KeyResultScope & {
    title: string;
    metric: string;
    unit: string | null;
    baseline: number;
    target: number;
    direction: Direction;
    kind: KeyResultKind;
    /**
     * The key result of an earlier quarter this one carries over (carryOverObjective). Optional, and
     * absent from every other definition, as in ObjectiveDrafted.
     */
    carriedFrom?: { keyResultId: string; quarterId: string };
  };
}

export type RevisableField = 'title' | 'metric' | 'unit' | 'baseline' | 'target' | 'kind';

export interface FieldRevision {
  field: RevisableField;
  from: string | number | null;
  to: string | number | null;
}

export interface KeyResultRevised {
  type: 'KeyResultRevised';
  data: KeyResultScope & { reason: string; changes: FieldRevision[] };
}

export interface CheckInRecorded {
  type: 'CheckInRecorded';
  data: KeyResultScope & {
    confidence: number;
    value: number | null;
    whatChanged: string | null;
    blockers: string | null;
    /** The moment the reading describes (effective time); the recorded time is on the envelope. */
    asOf: Instant;
  };
}

export interface KeyResultScored {
  type: 'KeyResultScored';
  data: KeyResultScope & {
    score: number;
    note: string | null;
    /** The score this one corrects, when the key result had been scored before. */
    previousScore: number | null;
    /** The target in force when the score was given. */
    target: number;
  };
}

/**
 * A reading of the key result's metric taken by a system (a CI job, a monitoring query), not a person:
 * it moves the current value and never the confidence, which is a person's judgement.
 */
export interface KeyResultMeasured {
  type: 'KeyResultMeasured';
  data: KeyResultScope & {
    value: number;
    /** The moment the reading describes (effective time); the recorded time is on the envelope. */
    at: Instant;
    /** Short text naming the system that measured, e.g. "github-actions/ci.yml". */
    source: string;
  };
}

export type KeyResultEvent = KeyResultDefined | KeyResultRevised | CheckInRecorded | KeyResultScored | KeyResultMeasured;

// ---- the whole catalogue -----------------------------------------------------------------------

export type DomainEvent = UnitEvent | QuarterEvent | ObjectiveEvent | KeyResultEvent;
export type EventType = DomainEvent['type'];
export type EventOf<T extends EventType> = Extract<DomainEvent, { type: T }>;

/**
 * The current schema version of every event type's payload. A literal keyed by every member of the
 * union, so an event type added to the catalogue and not registered here does not compile (nor does a
 * key that names no event type).
 */
export const SCHEMA_VERSION: { readonly [K in EventType]: number } = {
  UnitRegistered: 1,
  RetrospectiveRecorded: 1,
  ProcessEffortLogged: 1,
  CheckInCadenceSet: 1,
  QuarterPlanned: 1,
  QuarterClosed: 1,
  ObjectiveDrafted: 1,
  ObjectiveRefined: 1,
  ObjectiveAligned: 1,
  ObjectiveCommitted: 1,
  ObjectiveRetired: 1,
  ObjectiveCarriedOver: 1,
  KeyResultDefined: 1,
  KeyResultRevised: 1,
  CheckInRecorded: 1,
  KeyResultScored: 1,
  KeyResultMeasured: 1,
};

/** Every event type, in catalogue order: derived from SCHEMA_VERSION, so it cannot miss one. */
export const EVENT_TYPES: readonly EventType[] = Object.keys(SCHEMA_VERSION) as EventType[];

/**
 * The event types a stream holds many of: a key result's check-ins and measurements. A key result's own
 * state ignores them (domain/keyResult.ts), and the store reads a stream without exactly these through
 * an index of the other events (events/store.ts, okr_events_stream_facts).
 */
export const MANY_PER_STREAM = ['CheckInRecorded', 'KeyResultMeasured'] as const satisfies readonly EventType[];

export type StreamType = 'unit' | 'quarter' | 'objective' | 'keyResult';

/** Stream ids are derived from the aggregate's id; quarters use their human key. */
export const streamId = {
  unit: (id: string): string => `unit-${id}`,
  quarter: (id: string): string => `quarter-${id}`,
  objective: (id: string): string => `objective-${id}`,
  keyResult: (id: string): string => `keyResult-${id}`,
} as const;

/** Metadata recorded beside every event. */
export interface EventMetadata {
  actor: string;
  organisationId: string;
  correlationId: string;
  causationId: string;
  idempotencyKey: string | null;
}

/** An event as stored in the log. */
export type RecordedEvent<E extends DomainEvent = DomainEvent> = E & {
  position: number;
  streamId: string;
  version: number;
  schemaVersion: number;
  recordedAt: Date;
  metadata: EventMetadata;
};
