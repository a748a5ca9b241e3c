import type {
  CheckInCadence,
  Direction,
  FieldRevision,
  KeyResultCalibrationData,
  KeyResultKind,
  UnitLevel,
} from '../events/catalogue';

/**
 * Read-model documents: plain data, the same shape whether they come from PostgreSQL (the inline
 * projections' tables) or from replaying the log in memory. Every document names its organisation.
 */
export interface Doc {
  organisationId: string;
  id: string;
}

/** Documents listed in creation order carry the log position of the event that created them. */
export interface Sequenced {
  seq: number;
}

export interface UnitDoc extends Doc, Sequenced {
  name: string;
  level: UnitLevel;
  parentId: string | null;
  registeredAt: Date;
  checkInCadence: CheckInCadence;
}

export interface QuarterDoc extends Doc {
  startsOn: Date;
  endsOn: Date;
  settingOpensOn: Date;
  closedAt: Date | null;
}

export type ObjectiveLifecycle = 'DRAFT' | 'COMMITTED' | 'RETIRED';

export interface ObjectiveDoc extends Doc, Sequenced {
  unitId: string;
  quarterId: string;
  title: string;
  description: string | null;
  aspirational: boolean;
  lifecycle: ObjectiveLifecycle;
  retiredReason: string | null;
  parentId: string | null;
  /** Objective stream version. */
  version: number;
  /** Latest score of each of its key results (null until scored). */
  keyResultScores: Record<string, number | null>;
  /** Mean of the key results' scores once every one is scored. */
  score: number | null;
  draftedAt: Date;
  committedAt: Date | null;
}

export interface KeyResultDoc extends Doc, Sequenced {
  objectiveId: string;
  unitId: string;
  quarterId: string;
  title: string;
  metric: string;
  unit: string | null;
  baseline: number;
  target: number;
  direction: Direction;
  kind: KeyResultKind;
  /** Value and confidence of the latest check-in by effective date (ties: the later recorded). */
  current: number | null;
  confidence: number | null;
  latestCheckInAsOf: Date | null;
  score: number | null;
  scoreNote: string | null;
  scoredAt: Date | null;
  /** The target in force when the latest score was given. */
  scoredTarget: number | null;
  /** Baseline and target as first defined; revisions may have moved them since. */
  originalBaseline: number;
  originalTarget: number;
  /** Every revision, oldest first: which field, from what, to what, who, when and why. */
  revisions: KeyResultRevisionDoc[];
  /** Key result stream version. */
  version: number;
  definedAt: Date;
}

export interface KeyResultRevisionDoc {
  changes: FieldRevision[];
  reason: string;
  actor: string;
  at: string;
}

export interface CheckInDoc extends Doc {
  keyResultId: string;
  unitId: string;
  quarterId: string;
  /** Version of the key result stream at this check-in. */
  version: number;
  recordedAt: Date;
  asOf: Date;
  confidence: number;
  value: number | null;
  whatChanged: string | null;
  blockers: string | null;
  author: string | null;
}

export interface RetrospectiveDoc extends Doc {
  unitId: string;
  quarterId: string;
  learnings: string;
  calibrations: KeyResultCalibrationData[];
  recordedAt: Date;
}

export interface EffortDoc extends Doc {
  unitId: string;
  quarterId: string;
  settingDays: number;
  checkInDays: number;
  scoringDays: number;
  retrospectiveDays: number;
  /** Check-ins recorded on the unit's key results for the quarter: evidence beside logged effort. */
  checkIns: number;
}

