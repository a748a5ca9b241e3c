import type { RecordedEvent } from '../../events/catalogue';
import { byThenId, column, readModel, type DocOf } from '../model';
import { whenExists } from '../projection';

export type ObjectiveLifecycle = 'DRAFT' | 'COMMITTED' | 'RETIRED';

const columns = {
  /** The log position of the event that drafted it: objectives list in drafting order. */
  seq: column.bigint(),
  unitId: column.text(),
  quarterId: column.text(),
  title: column.text(),
  description: column.nullable(column.text()),
  aspirational: column.boolean(),
  lifecycle: column.text<ObjectiveLifecycle>(),
  retiredReason: column.nullable(column.text()),
  parentId: column.nullable(column.text()),
  /** Objective stream version. */
  version: column.int(),
  /** Latest score of each of its key results (null until scored). */
  keyResultScores: column.json<Record<string, number | null>>(),
  /** Mean of the key results' scores once every one is scored. */
  score: column.nullable(column.double()),
  draftedAt: column.time(),
  committedAt: column.nullable(column.time()),
  /** The objective of an earlier quarter this one carries over (carryOverObjective). */
  carriedFrom: column.nullable(column.text()),
  /** The objectives it was carried over into, in the order it was. */
  carriedTo: column.json<string[]>(),
};

export type ObjectiveDoc = DocOf<typeof columns>;

/**
 * Summed in the order of the key results' ids: floating-point addition depends on order, and the scores
 * come back from jsonb with their keys reordered, so key order must not decide the mean.
 */
const meanWhenAllScored = (scores: Record<string, number | null>): number | null => {
  const ids = Object.keys(scores).sort();
  if (ids.length === 0 || ids.some((id) => scores[id] === null)) return null;
  return ids.reduce((sum, id) => sum + (scores[id] as number), 0) / ids.length;
};

/** A defined key result counts as unscored (null) until it is scored. */
const withKeyResultScore = (doc: ObjectiveDoc, keyResultId: string, score: number | null): ObjectiveDoc => {
  const keyResultScores = { ...doc.keyResultScores, [keyResultId]: score };
  return { ...doc, keyResultScores, score: meanWhenAllScored(keyResultScores) };
};

const org = (e: RecordedEvent): string => e.metadata.organisationId;

/** Objectives with their lifecycle, alignment and score. */
export const objectives = readModel({
  name: 'objectives',
  table: 'okr_objectives',
  columns,
  lookups: [['quarterId', 'unitId'], ['parentId']],
  order: byThenId<ObjectiveDoc>('seq'),
  handlers: {
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
          carriedFrom: d.carriedFrom?.objectiveId ?? null,
          carriedTo: [],
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
    ObjectiveCarriedOver: {
      key: (e) => e.data.objectiveId,
      evolve: whenExists((doc, e) => ({ ...doc, carriedTo: [...doc.carriedTo, e.data.toObjectiveId], version: e.version })),
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
    KeyResultMeasured: 'ignores',
  },
});
