import fc from 'fast-check';
import type { FieldRevision, KeyResultEvent, ObjectiveEvent, RecordedEvent } from '../../events/catalogue';
import { evolveKeyResult, evolveObjective, initialObjectiveState, lastReading, type KeyResultState, type ObjectiveState } from '../../domain';
import { keyResults, objectives } from '../../projections/models';
import type { KeyResultDoc, ObjectiveDoc } from '../../projections/docs';

/**
 * One fold of each fact: the domain's state (what a decision sees) and the read model (what people
 * see) fold the same events separately, so on random histories, every event order included (a commit
 * after a retirement, a revision after a score), they must agree on every fact both hold. Why: they
 * once disagreed on a commit after retirement (the domain kept RETIRED, the projection said COMMITTED).
 */
const scope = { objectiveId: 'o', unitId: 'u', quarterId: 'q' };
const text = fc.string({ minLength: 1, maxLength: 8 });

const objectiveEvent: fc.Arbitrary<ObjectiveEvent> = fc.oneof(
  fc.record({ title: text, description: fc.option(text, { nil: null }), aspirational: fc.boolean(), parentId: fc.option(text, { nil: null }) }).map(
    (d): ObjectiveEvent => ({ type: 'ObjectiveDrafted', data: { ...scope, unitLevel: 'TEAM', ...d } }),
  ),
  fc.record({ title: fc.option(text, { nil: undefined }), description: fc.option(fc.option(text, { nil: null }), { nil: undefined }) }).map(
    (d): ObjectiveEvent => ({ type: 'ObjectiveRefined', data: { ...scope, ...(d.title === undefined ? {} : { title: d.title }), ...(d.description === undefined ? {} : { description: d.description }) } }),
  ),
  fc.option(text, { nil: null }).map((parentId): ObjectiveEvent => ({ type: 'ObjectiveAligned', data: { ...scope, parentId, previousParentId: null } })),
  fc.constant<ObjectiveEvent>({ type: 'ObjectiveCommitted', data: scope }),
  text.map((reason): ObjectiveEvent => ({ type: 'ObjectiveRetired', data: { ...scope, reason } })),
);

const krScope = { keyResultId: 'k', objectiveId: 'o', unitId: 'u', quarterId: 'q' };
const revision: fc.Arbitrary<FieldRevision> = fc.oneof(
  text.map((to): FieldRevision => ({ field: 'title', from: 'x', to })),
  text.map((to): FieldRevision => ({ field: 'metric', from: 'x', to })),
  fc.option(text, { nil: null }).map((to): FieldRevision => ({ field: 'unit', from: null, to })),
  fc.integer({ min: -100, max: 100 }).map((to): FieldRevision => ({ field: 'baseline', from: 0, to })),
  fc.integer({ min: -100, max: 100 }).map((to): FieldRevision => ({ field: 'target', from: 0, to })),
  fc.constantFrom<FieldRevision>({ field: 'kind', from: 'OUTCOME', to: 'OUTPUT' }, { field: 'kind', from: 'OUTPUT', to: 'OUTCOME' }),
);
const keyResultEvent: fc.Arbitrary<KeyResultEvent> = fc.oneof(
  fc.record({ title: text, metric: text, baseline: fc.integer({ min: -100, max: 100 }), target: fc.integer({ min: -100, max: 100 }) }).map(
    (d): KeyResultEvent => ({ type: 'KeyResultDefined', data: { ...krScope, ...d, unit: null, direction: d.target >= d.baseline ? 'INCREASE' : 'DECREASE', kind: 'OUTCOME' } }),
  ),
  fc.array(revision, { minLength: 1, maxLength: 3 }).map((changes): KeyResultEvent => ({ type: 'KeyResultRevised', data: { ...krScope, reason: 'r', changes } })),
  fc.integer({ min: 0, max: 100 }).map(
    (confidence): KeyResultEvent => ({ type: 'CheckInRecorded', data: { ...krScope, confidence, value: null, whatChanged: null, blockers: null, asOf: '2027-01-02T00:00:00.000Z' } }),
  ),
  fc.integer({ min: 0, max: 10 }).map((s): KeyResultEvent => ({ type: 'KeyResultScored', data: { ...krScope, score: s / 10, note: null, previousScore: null, target: 1 } })),
);

/** The events as the log records them: positions, versions and times, one organisation. */
const recorded = <E extends { type: string; data: unknown }>(events: readonly E[], streamId: string): RecordedEvent[] =>
  events.map((e, i) => ({
    ...e,
    position: i + 1,
    streamId,
    version: i + 1,
    schemaVersion: 1,
    recordedAt: new Date(Date.UTC(2027, 0, 1) + i * 60_000),
    metadata: { organisationId: 'org', actor: 'a', correlationId: 'c', causationId: 'k', idempotencyKey: null },
  }) as RecordedEvent);

/** What both folds of an objective hold. */
function objectiveFacts(state: ObjectiveState): unknown {
  if (state.status === 'none') return null;
  return { status: state.status, title: state.title, description: state.description, parentId: state.parentId, aspirational: state.aspirational, retiredReason: state.status === 'RETIRED' ? state.retiredReason : null };
}
const objectiveDocFacts = (doc: ObjectiveDoc | null): unknown =>
  doc === null ? null : { status: doc.lifecycle, title: doc.title, description: doc.description, parentId: doc.parentId, aspirational: doc.aspirational, retiredReason: doc.retiredReason };

function keyResultFacts(state: KeyResultState): unknown {
  if (state.status === 'undefined') return null;
  const { title, metric, unit, baseline, target, direction, kind, score } = state;
  return { title, metric, unit, baseline, target, direction, kind, score };
}
const keyResultDocFacts = (doc: KeyResultDoc | null): unknown => {
  if (doc === null) return null;
  const { title, metric, unit, baseline, target, direction, kind, score } = doc;
  return { title, metric, unit, baseline, target, direction, kind, score };
};

describe('the domain and the read model fold each fact alike', () => {
  it('for objectives, after every event of any history (a commit after a retirement leaves it retired)', () => {
    fc.assert(
      fc.property(fc.array(objectiveEvent, { minLength: 1, maxLength: 25 }), (events) => {
        let state = initialObjectiveState;
        let doc: ObjectiveDoc | null = null;
        for (const event of recorded(events, 'objective-o')) {
          state = evolveObjective(state, event as unknown as ObjectiveEvent);
          doc = objectives.evolve(doc, event);
          expect(objectiveDocFacts(doc)).toEqual(objectiveFacts(state));
        }
      }),
      { numRuns: 500, seed: 20261204 },
    );
  });

  it('for key results, after every event of any history', () => {
    fc.assert(
      fc.property(fc.array(keyResultEvent, { minLength: 1, maxLength: 25 }), (events) => {
        let state: KeyResultState = { status: 'undefined' };
        let doc: KeyResultDoc | null = null;
        for (const event of recorded(events, 'keyResult-k')) {
          state = evolveKeyResult(state, event as unknown as KeyResultEvent);
          doc = keyResults.evolve(doc, event);
          expect(keyResultDocFacts(doc)).toEqual(keyResultFacts(state));
        }
      }),
      { numRuns: 500, seed: 20261204 },
    );
  });

  it('for current values: the read model\'s current is the domain\'s last reading, whatever mix of check-ins and measurements, in any order', () => {
    const moment = fc.integer({ min: 0, max: 20 }).map((d) => new Date(Date.UTC(2027, 0, 2 + d)).toISOString());
    const reading: fc.Arbitrary<KeyResultEvent> = fc.oneof(
      fc.record({ value: fc.option(fc.integer({ min: -50, max: 50 }), { nil: null }), asOf: moment, confidence: fc.integer({ min: 0, max: 100 }) }).map(
        (d): KeyResultEvent => ({ type: 'CheckInRecorded', data: { ...krScope, ...d, whatChanged: null, blockers: null } }),
      ),
      fc.record({ value: fc.integer({ min: -50, max: 50 }), at: moment, source: fc.constantFrom('ci', 'grafana') }).map(
        (d): KeyResultEvent => ({ type: 'KeyResultMeasured', data: { ...krScope, ...d } }),
      ),
    );
    const defined: KeyResultEvent = { type: 'KeyResultDefined', data: { ...krScope, title: 't', metric: 'm', unit: null, baseline: 0, target: 10, direction: 'INCREASE', kind: 'OUTCOME' } };
    fc.assert(
      fc.property(fc.array(reading, { maxLength: 25 }), (readings) => {
        const events = recorded([defined, ...readings], 'keyResult-k');
        const doc = events.reduce<KeyResultDoc | null>((d, e) => keyResults.evolve(d, e), null);
        const last = lastReading([defined, ...readings]);
        expect({ current: doc?.current, currentAt: doc?.currentAt?.toISOString() ?? null }).toEqual({ current: last?.value ?? null, currentAt: last?.at ?? null });
        // Measurements never move confidence: it is the latest check-in's, by effective time.
        const checkIns = readings.filter((r) => r.type === 'CheckInRecorded');
        const latest = checkIns.reduce<(typeof checkIns)[number] | null>((l, c) => (l === null || Date.parse(c.data.asOf) >= Date.parse(l.data.asOf) ? c : l), null);
        expect(doc?.confidence).toBe(latest?.data.confidence ?? null);
      }),
      { numRuns: 500, seed: 20261210 },
    );
  });

  it('keeps a retired objective retired when a commit is recorded after the retirement', () => {
    const events = recorded<ObjectiveEvent>(
      [
        { type: 'ObjectiveDrafted', data: { ...scope, unitLevel: 'TEAM', title: 't', description: null, aspirational: false, parentId: null } },
        { type: 'ObjectiveRetired', data: { ...scope, reason: 'no longer a priority' } },
        { type: 'ObjectiveCommitted', data: scope },
      ],
      'objective-o',
    );
    const doc = events.reduce<ObjectiveDoc | null>((d, e) => objectives.evolve(d, e), null);
    expect(doc).toMatchObject({ lifecycle: 'RETIRED', committedAt: null, version: 3 });
  });
});
