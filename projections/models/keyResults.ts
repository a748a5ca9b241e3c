import { replacesReading } from '../../domain/keyResult';
import type { Direction, FieldRevision, KeyResultKind, RecordedEvent } from '../../events/catalogue';
import { byThenId, column, readModel, type DocOf } from '../model';
import { whenExists } from '../projection';

export interface KeyResultRevisionDoc {
  changes: FieldRevision[];
  reason: string;
  actor: string;
  at: string;
}

const columns = {
  /** The log position of the event that defined it: key results list in definition order. */
  seq: column.bigint(),
  objectiveId: column.text(),
  unitId: column.text(),
  quarterId: column.text(),
  title: column.text(),
  metric: column.text(),
  unit: column.nullable(column.text()),
  baseline: column.double(),
  target: column.double(),
  direction: column.text<Direction>(),
  kind: column.text<KeyResultKind>(),
  /**
   * The value of the latest reading by effective date (ties: the later recorded): a check-in that gave
   * a value, or a measurement. A check-in without a value leaves it as it was.
   */
  current: column.nullable(column.double()),
  /** The confidence of the latest check-in by effective date: measurements never touch it. */
  confidence: column.nullable(column.int()),
  latestCheckInAsOf: column.nullable(column.time()),
  score: column.nullable(column.double()),
  scoreNote: column.nullable(column.text()),
  scoredAt: column.nullable(column.time()),
  /** The target in force when the latest score was given. */
  scoredTarget: column.nullable(column.double()),
  /** Baseline and target as first defined; revisions may have moved them since. */
  originalBaseline: column.double(),
  originalTarget: column.double(),
  /** Every revision, oldest first: which field, from what, to what, who, when and why. */
  revisions: column.json<KeyResultRevisionDoc[]>(),
  /** Key result stream version. */
  version: column.int(),
  definedAt: column.time(),
  /** The effective moment of the reading `current` is (null before the first). */
  currentAt: column.nullable(column.time()),
  /** The system whose measurement `current` is; null when it came from a check-in (or there is none). */
  currentSource: column.nullable(column.text()),
  /** The key result of an earlier quarter this one carries over (carryOverObjective). */
  carriedFrom: column.nullable(column.text()),
};

export type KeyResultDoc = DocOf<typeof columns>;

const org = (e: RecordedEvent): string => e.metadata.organisationId;

/** Key results with their latest reading, score and revisions. */
export const keyResults = readModel({
  name: 'keyResults',
  table: 'okr_key_results',
  columns,
  lookups: [['objectiveId'], ['quarterId', 'unitId']],
  order: byThenId<KeyResultDoc>('seq'),
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
          currentAt: null,
          currentSource: null,
          carriedFrom: d.carriedFrom?.keyResultId ?? null,
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
        const next: KeyResultDoc = { ...doc, version: e.version };
        if (replacesReading(asOf, doc.latestCheckInAsOf)) {
          next.confidence = e.data.confidence;
          next.latestCheckInAsOf = asOf;
        }
        if (e.data.value !== null && replacesReading(asOf, doc.currentAt)) {
          next.current = e.data.value;
          next.currentAt = asOf;
          next.currentSource = null;
        }
        return next;
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
    KeyResultMeasured: {
      key: (e) => e.data.keyResultId,
      evolve: whenExists((doc, e) => {
        const at = new Date(e.data.at);
        return replacesReading(at, doc.currentAt)
          ? { ...doc, current: e.data.value, currentAt: at, currentSource: e.data.source, version: e.version }
          : { ...doc, version: e.version };
      }),
    },
  },
});
