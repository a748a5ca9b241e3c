import type { RecordedEvent } from '../events/catalogue';
import type {
  CheckInDoc,
  EffortDoc,
  KeyResultDoc,
  ObjectiveDoc,
  QuarterDoc,
  RetrospectiveDoc,
  UnitDoc,
} from './docs';
import { handles, type Projection } from './projection';

const org = (e: RecordedEvent): string => e.metadata.organisationId;
const unitQuarterKey = (unitId: string, quarterId: string): string => `${unitId}/${quarterId}`;

export const units: Projection<UnitDoc> = {
  name: 'units',
  handles: handles('UnitRegistered', 'CheckInCadenceSet'),
  key: (e) => (e.type === 'UnitRegistered' || e.type === 'CheckInCadenceSet' ? e.data.unitId : ''),
  evolve(doc, e) {
    if (e.type === 'CheckInCadenceSet') return doc && { ...doc, checkInCadence: e.data.cadence };
    if (e.type !== 'UnitRegistered') return doc;
    return {
      organisationId: org(e),
      id: e.data.unitId,
      seq: e.position,
      name: e.data.name,
      level: e.data.level,
      parentId: e.data.parentId,
      registeredAt: e.recordedAt,
      checkInCadence: 'BIWEEKLY',
    };
  },
};

export const quarters: Projection<QuarterDoc> = {
  name: 'quarters',
  handles: handles('QuarterPlanned', 'QuarterClosed'),
  key: (e) => (e.type === 'QuarterPlanned' || e.type === 'QuarterClosed' ? e.data.quarterId : ''),
  evolve(doc, e) {
    switch (e.type) {
      case 'QuarterPlanned':
        return {
          organisationId: org(e),
          id: e.data.quarterId,
          startsOn: new Date(e.data.startsOn),
          endsOn: new Date(e.data.endsOn),
          settingOpensOn: new Date(e.data.settingOpensOn),
          closedAt: null,
        };
      case 'QuarterClosed':
        return doc && { ...doc, closedAt: new Date(e.data.closedAt) };
      default:
        return doc;
    }
  },
};

const meanWhenAllScored = (scores: Record<string, number | null>): number | null => {
  const values = Object.values(scores);
  if (values.length === 0 || values.some((s) => s === null)) return null;
  return (values as number[]).reduce((a, b) => a + b, 0) / values.length;
};

export const objectives: Projection<ObjectiveDoc> = {
  name: 'objectives',
  handles: handles(
    'ObjectiveDrafted',
    'ObjectiveRefined',
    'ObjectiveAligned',
    'ObjectiveCommitted',
    'ObjectiveRetired',
    'KeyResultDefined',
    'KeyResultScored',
  ),
  key: (e) => ('objectiveId' in e.data ? e.data.objectiveId : ''),
  evolve(doc, e) {
    if (e.type === 'ObjectiveDrafted') {
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
    }
    if (doc === null) return null;
    switch (e.type) {
      case 'ObjectiveRefined':
        return {
          ...doc,
          title: e.data.title ?? doc.title,
          description: e.data.description !== undefined ? e.data.description : doc.description,
          version: e.version,
        };
      case 'ObjectiveAligned':
        return { ...doc, parentId: e.data.parentId, version: e.version };
      case 'ObjectiveCommitted':
        // Retirement is final, as the domain decides (domain/objective.ts evolveObjective): a commit
        // recorded after it (a race the deciders now refuse) leaves the objective retired.
        if (doc.lifecycle === 'RETIRED') return { ...doc, version: e.version };
        return { ...doc, lifecycle: 'COMMITTED', committedAt: e.recordedAt, version: e.version };
      case 'ObjectiveRetired':
        return { ...doc, lifecycle: 'RETIRED', retiredReason: e.data.reason, version: e.version };
      case 'KeyResultDefined':
      case 'KeyResultScored': {
        const keyResultScores = {
          ...doc.keyResultScores,
          [e.data.keyResultId]: e.type === 'KeyResultScored' ? e.data.score : null,
        };
        return { ...doc, keyResultScores, score: meanWhenAllScored(keyResultScores) };
      }
      default:
        return doc;
    }
  },
};

export const keyResults: Projection<KeyResultDoc> = {
  name: 'keyResults',
  handles: handles('KeyResultDefined', 'KeyResultRevised', 'CheckInRecorded', 'KeyResultScored'),
  key: (e) => ('keyResultId' in e.data ? e.data.keyResultId : ''),
  evolve(doc, e) {
    if (e.type === 'KeyResultDefined') {
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
    }
    if (doc === null) return null;
    switch (e.type) {
      case 'KeyResultRevised': {
        const revision = { changes: e.data.changes, reason: e.data.reason, actor: e.metadata.actor, at: e.recordedAt.toISOString() };
        const next: KeyResultDoc = { ...doc, revisions: [...doc.revisions, revision], version: e.version };
        for (const c of e.data.changes) {
          if (c.field === 'baseline' || c.field === 'target') next[c.field] = Number(c.to);
          else if (c.field === 'kind') next.kind = c.to as KeyResultDoc['kind'];
          else if (c.field === 'unit') next.unit = c.to === null ? null : String(c.to);
          else next[c.field] = String(c.to);
        }
        return next;
      }
      case 'CheckInRecorded': {
        const asOf = new Date(e.data.asOf);
        // Latest by effective time; a later-recorded reading for the same moment supersedes.
        const isLatest = doc.latestCheckInAsOf === null || asOf.getTime() >= doc.latestCheckInAsOf.getTime();
        return isLatest
          ? { ...doc, current: e.data.value, confidence: e.data.confidence, latestCheckInAsOf: asOf, version: e.version }
          : { ...doc, version: e.version };
      }
      case 'KeyResultScored':
        return {
          ...doc,
          score: e.data.score,
          scoreNote: e.data.note,
          scoredAt: e.recordedAt,
          scoredTarget: e.data.target,
          version: e.version,
        };
      default:
        return doc;
    }
  },
};

export const checkIns: Projection<CheckInDoc> = {
  name: 'checkIns',
  handles: handles('CheckInRecorded'),
  createsOnly: true,
  key: (e) => `${e.streamId}/${e.version}`,
  evolve(_doc, e) {
    if (e.type !== 'CheckInRecorded') return _doc;
    return {
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
    };
  },
};

/** The latest retrospective of a unit for a quarter; earlier ones stay in the log. */
export const retrospectives: Projection<RetrospectiveDoc> = {
  name: 'retrospectives',
  handles: handles('RetrospectiveRecorded'),
  createsOnly: true,
  key: (e) => (e.type === 'RetrospectiveRecorded' ? unitQuarterKey(e.data.unitId, e.data.quarterId) : ''),
  evolve(doc, e) {
    if (e.type !== 'RetrospectiveRecorded') return doc;
    return {
      organisationId: org(e),
      id: unitQuarterKey(e.data.unitId, e.data.quarterId),
      unitId: e.data.unitId,
      quarterId: e.data.quarterId,
      learnings: e.data.learnings,
      calibrations: e.data.calibrations,
      recordedAt: e.recordedAt,
    };
  },
};

const ACTIVITY_FIELD = {
  SETTING: 'settingDays',
  CHECK_IN: 'checkInDays',
  SCORING: 'scoringDays',
  RETROSPECTIVE: 'retrospectiveDays',
} as const;

/** Person-days are summed in micro-days so 0.1 + 0.2 stays 0.3. */
const addDays = (a: number, b: number): number => Math.round((a + b) * 1e6) / 1e6;

export const effort: Projection<EffortDoc> = {
  name: 'effort',
  handles: handles('ProcessEffortLogged', 'CheckInRecorded'),
  key: (e) =>
    e.type === 'ProcessEffortLogged' || e.type === 'CheckInRecorded' ? unitQuarterKey(e.data.unitId, e.data.quarterId) : '',
  evolve(doc, e) {
    if (e.type !== 'ProcessEffortLogged' && e.type !== 'CheckInRecorded') return doc;
    const base: EffortDoc = doc ?? {
      organisationId: org(e),
      id: unitQuarterKey(e.data.unitId, e.data.quarterId),
      unitId: e.data.unitId,
      quarterId: e.data.quarterId,
      settingDays: 0,
      checkInDays: 0,
      scoringDays: 0,
      retrospectiveDays: 0,
      checkIns: 0,
    };
    if (e.type === 'CheckInRecorded') return { ...base, checkIns: base.checkIns + 1 };
    const field = ACTIVITY_FIELD[e.data.activity];
    return { ...base, [field]: addDays(base[field], e.data.personDays) };
  },
};
