import type { EventOf, RecordedEvent } from '../events/catalogue';
import type {
  CheckInDoc,
  EffortDoc,
  KeyResultDoc,
  ObjectiveDoc,
  QuarterDoc,
  RetrospectiveDoc,
  UnitDoc,
} from './docs';
import { projection, whenExists, type DeclaredProjection } from './projection';

/*
 * Every projection names every event type of the catalogue, in catalogue order, with its handler or
 * 'ignores': adding an event type means deciding, here, what each read model does with it.
 */

const org = (e: RecordedEvent): string => e.metadata.organisationId;
const unitQuarterKey = (unitId: string, quarterId: string): string => `${unitId}/${quarterId}`;

export const units: DeclaredProjection<UnitDoc> = projection<UnitDoc>('units', {
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
  KeyResultDefined: 'ignores',
  KeyResultRevised: 'ignores',
  CheckInRecorded: 'ignores',
  KeyResultScored: 'ignores',
});

export const quarters: DeclaredProjection<QuarterDoc> = projection<QuarterDoc>('quarters', {
  UnitRegistered: 'ignores',
  RetrospectiveRecorded: 'ignores',
  ProcessEffortLogged: 'ignores',
  CheckInCadenceSet: 'ignores',
  QuarterPlanned: {
    key: (e) => e.data.quarterId,
    evolve: (_doc, e) => ({
      organisationId: org(e),
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
  KeyResultDefined: 'ignores',
  KeyResultRevised: 'ignores',
  CheckInRecorded: 'ignores',
  KeyResultScored: 'ignores',
});

const meanWhenAllScored = (scores: Record<string, number | null>): number | null => {
  const values = Object.values(scores);
  if (values.length === 0 || values.some((s) => s === null)) return null;
  return (values as number[]).reduce((a, b) => a + b, 0) / values.length;
};

/** A defined key result counts as unscored (null) until it is scored. */
const withKeyResultScore = (doc: ObjectiveDoc, keyResultId: string, score: number | null): ObjectiveDoc => {
  const keyResultScores = { ...doc.keyResultScores, [keyResultId]: score };
  return { ...doc, keyResultScores, score: meanWhenAllScored(keyResultScores) };
};

export const objectives: DeclaredProjection<ObjectiveDoc> = projection<ObjectiveDoc>('objectives', {
  UnitRegistered: 'ignores',
  RetrospectiveRecorded: 'ignores',
  ProcessEffortLogged: 'ignores',
  CheckInCadenceSet: 'ignores',
  QuarterPlanned: 'ignores',
  QuarterClosed: 'ignores',
  ObjectiveDrafted: {
    key: (e) => e.data.objectiveId,
    evolve: (_doc, e) => {
      const d = e.data;
      return {
        organisationId: org(e),
        id: d.objectiveId,
        seq: e.position,
        unitId: d.unitId,
        quarterId: d.quarterId,
        title: d.title,
        description: d.description,
        aspirational: d.aspirational,
        lifecycle: 'DRAFT',
        retiredReason: null,
        parentId: d.parentId,
        version: e.version,
        keyResultScores: {},
        score: null,
        draftedAt: e.recordedAt,
        committedAt: null,
      };
    },
  },
  ObjectiveRefined: {
    key: (e) => e.data.objectiveId,
    evolve: whenExists((doc, e) => ({
      ...doc,
      title: e.data.title ?? doc.title,
      description: e.data.description !== undefined ? e.data.description : doc.description,
      version: e.version,
    })),
  },
  ObjectiveAligned: {
    key: (e) => e.data.objectiveId,
    evolve: whenExists((doc, e) => ({ ...doc, parentId: e.data.parentId, version: e.version })),
  },
  ObjectiveCommitted: {
    key: (e) => e.data.objectiveId,
    evolve: whenExists((doc, e) => {
      // Retirement is final, as the domain decides (domain/objective.ts evolveObjective): a commit
      // recorded after it (a race the deciders now refuse) leaves the objective retired.
      if (doc.lifecycle === 'RETIRED') return { ...doc, version: e.version };
      return { ...doc, lifecycle: 'COMMITTED', committedAt: e.recordedAt, version: e.version };
    }),
  },
  ObjectiveRetired: {
    key: (e) => e.data.objectiveId,
    evolve: whenExists((doc, e) => ({ ...doc, lifecycle: 'RETIRED', retiredReason: e.data.reason, version: e.version })),
  },
  KeyResultDefined: {
    key: (e) => e.data.objectiveId,
    evolve: whenExists((doc, e) => withKeyResultScore(doc, e.data.keyResultId, null)),
  },
  KeyResultRevised: 'ignores',
  CheckInRecorded: 'ignores',
  KeyResultScored: {
    key: (e) => e.data.objectiveId,
    evolve: whenExists((doc, e) => withKeyResultScore(doc, e.data.keyResultId, e.data.score)),
  },
});

export const keyResults: DeclaredProjection<KeyResultDoc> = projection<KeyResultDoc>('keyResults', {
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
  KeyResultDefined: {
    key: (e) => e.data.keyResultId,
    evolve: (_doc, e) => {
      const d = e.data;
      return {
        organisationId: org(e),
        id: d.keyResultId,
        seq: e.position,
        objectiveId: d.objectiveId,
        unitId: d.unitId,
        quarterId: d.quarterId,
        title: d.title,
        metric: d.metric,
        unit: d.unit,
        baseline: d.baseline,
        target: d.target,
        direction: d.direction,
        kind: d.kind,
        current: null,
        confidence: null,
        latestCheckInAsOf: null,
        score: null,
        scoreNote: null,
        scoredAt: null,
        scoredTarget: null,
        originalBaseline: d.baseline,
        originalTarget: d.target,
        revisions: [],
        version: e.version,
        definedAt: e.recordedAt,
      };
    },
  },
  KeyResultRevised: {
    key: (e) => e.data.keyResultId,
    evolve: whenExists((doc, e) => {
      const revision = { changes: e.data.changes, reason: e.data.reason, actor: e.metadata.actor, at: e.recordedAt.toISOString() };
      const next: KeyResultDoc = { ...doc, revisions: [...doc.revisions, revision], version: e.version };
      for (const c of e.data.changes) {
        if (c.field === 'baseline' || c.field === 'target') next[c.field] = Number(c.to);
        else if (c.field === 'kind') next.kind = c.to as KeyResultDoc['kind'];
        else if (c.field === 'unit') next.unit = c.to === null ? null : String(c.to);
        else next[c.field] = String(c.to);
      }
      return next;
    }),
  },
  CheckInRecorded: {
    key: (e) => e.data.keyResultId,
    evolve: whenExists((doc, e) => {
      const asOf = new Date(e.data.asOf);
      // Latest by effective time; a later-recorded reading for the same moment supersedes.
      const isLatest = doc.latestCheckInAsOf === null || asOf.getTime() >= doc.latestCheckInAsOf.getTime();
      return isLatest
        ? { ...doc, current: e.data.value, confidence: e.data.confidence, latestCheckInAsOf: asOf, version: e.version }
        : { ...doc, version: e.version };
    }),
  },
  KeyResultScored: {
    key: (e) => e.data.keyResultId,
    evolve: whenExists((doc, e) => ({
      ...doc,
      score: e.data.score,
      scoreNote: e.data.note,
      scoredAt: e.recordedAt,
      scoredTarget: e.data.target,
      version: e.version,
    })),
  },
});

export const checkIns: DeclaredProjection<CheckInDoc> = projection<CheckInDoc>(
  'checkIns',
  {
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
    KeyResultDefined: 'ignores',
    KeyResultRevised: 'ignores',
    CheckInRecorded: {
      key: (e) => `${e.streamId}/${e.version}`,
      evolve: (_doc, e) => ({
        organisationId: org(e),
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
  },
  { createsOnly: true },
);

/** The latest retrospective of a unit for a quarter; earlier ones stay in the log. */
export const retrospectives: DeclaredProjection<RetrospectiveDoc> = projection<RetrospectiveDoc>(
  'retrospectives',
  {
    UnitRegistered: 'ignores',
    RetrospectiveRecorded: {
      key: (e) => unitQuarterKey(e.data.unitId, e.data.quarterId),
      evolve: (_doc, e) => ({
        organisationId: org(e),
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
    KeyResultDefined: 'ignores',
    KeyResultRevised: 'ignores',
    CheckInRecorded: 'ignores',
    KeyResultScored: 'ignores',
  },
  { createsOnly: true },
);

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
    organisationId: org(e),
    id: effortKey(e),
    unitId: e.data.unitId,
    quarterId: e.data.quarterId,
    settingDays: 0,
    checkInDays: 0,
    scoringDays: 0,
    retrospectiveDays: 0,
    checkIns: 0,
  };

export const effort: DeclaredProjection<EffortDoc> = projection<EffortDoc>('effort', {
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
});
