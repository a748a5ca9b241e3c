/**
 * Read-model documents: plain data, the same shape whether they come from PostgreSQL (the read-model
 * tables, now or at a past log position) or from folding the log in memory. Every document names its
 * organisation. Each document type is derived from its read model's declaration (projections/models/).
 */
export interface Doc {
  organisationId: string;
  id: string;
}

/** Documents listed in creation order carry the log position of the event that created them. */
export interface Sequenced {
  seq: number;
}

export type { UnitDoc } from './models/units';
export type { QuarterDoc } from './models/quarters';
export type { ObjectiveDoc, ObjectiveLifecycle } from './models/objectives';
export type { KeyResultDoc, KeyResultRevisionDoc } from './models/keyResults';
export type { CheckInDoc } from './models/checkIns';
export type { MeasurementDoc } from './models/measurements';
export type { RetrospectiveDoc } from './models/retrospectives';
export type { EffortDoc } from './models/effort';
