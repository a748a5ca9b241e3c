import type { DomainEvent, RecordedEvent } from '../../events/catalogue';
import { healthFindings } from '../../projections/health';
import { MemoryReadModel } from '../../projections/memory';
import { loadQuarterFacts } from '../../projections/quarterFacts';
import { readingSeries } from '../../projections/trends';

/**
 * The read models of measurements and carry-over, given events and then documents (the in-memory fold of
 * the same declarations the tables are written from): where a key result's current value comes from, what
 * its trend shows, and the lineage both objectives and the carried key results show.
 */

const ORG = 'org';
const scope = { objectiveId: 'o1', unitId: 'team', quarterId: '2027-Q1' };
const kr = { ...scope, keyResultId: 'k1' };
const day = (d: number, hour = 9) => new Date(Date.UTC(2027, 0, d, hour)).toISOString();

/** The events as the log records them: positions, stream versions, times, one organisation. */
function given(events: readonly (DomainEvent & { streamId?: string; actor?: string; at?: string })[]): MemoryReadModel {
  const versions = new Map<string, number>();
  const log = events.map((e, i) => {
    const { streamId: stream, actor, at, ...event } = e;
    const data = event.data as Record<string, string>;
    const streamId = stream ?? (data.keyResultId ? `keyResult-${data.keyResultId}` : `objective-${data.objectiveId}`);
    const version = (versions.get(streamId) ?? 0) + 1;
    versions.set(streamId, version);
    return {
      ...event,
      position: i + 1,
      streamId,
      version,
      schemaVersion: 1,
      recordedAt: new Date(at ?? day(20, i)),
      metadata: { organisationId: ORG, actor: actor ?? 'mia', correlationId: 'c', causationId: 'c', idempotencyKey: null },
    } as RecordedEvent;
  });
  return new MemoryReadModel().apply(log);
}

const drafted: DomainEvent = {
  type: 'ObjectiveDrafted',
  data: { ...scope, unitLevel: 'TEAM', title: 'Faster pipelines', description: null, aspirational: true, parentId: null },
};
const defined: DomainEvent = {
  type: 'KeyResultDefined',
  data: { ...kr, title: 'p95 CI from 42 to 15 min', metric: 'p95 CI duration', unit: 'min', baseline: 42, target: 15, direction: 'DECREASE', kind: 'OUTCOME' },
};
const checkIn = (confidence: number, value: number | null, asOf: string): DomainEvent => ({
  type: 'CheckInRecorded',
  data: { ...kr, confidence, value, whatChanged: null, blockers: null, asOf },
});
const measurement = (value: number, at: string, source = 'github-actions/ci.yml'): DomainEvent & { actor: string } => ({
  type: 'KeyResultMeasured',
  data: { ...kr, value, at, source },
  actor: 'ci-pipeline',
});

describe('a key result measured by a system', () => {
  it('moves current to the latest reading and says where it came from; confidence stays the latest check-in\'s', async () => {
    const read = given([drafted, defined, checkIn(60, 38, day(5)), measurement(31.5, day(12))]);
    expect(await read.keyResult('k1')).toMatchObject({
      current: 31.5,
      currentAt: new Date(day(12)),
      currentSource: 'github-actions/ci.yml',
      confidence: 60,
      latestCheckInAsOf: new Date(day(5)),
      version: 3,
    });
    expect(await read.measurementsOf('k1')).toEqual([
      expect.objectContaining({ id: 'keyResult-k1/3', keyResultId: 'k1', quarterId: '2027-Q1', value: 31.5, at: new Date(day(12)), source: 'github-actions/ci.yml', author: 'ci-pipeline' }),
    ]);
    expect(await read.measurements({ quarterId: '2027-Q1' })).toHaveLength(1);
    // A measurement is not a check-in: not listed among them, not counted as one in the effort evidence.
    expect(await read.checkInsOf('k1')).toHaveLength(1);
    expect((await read.effort('team', '2027-Q1'))?.checkIns).toBe(1);
  });

  it('keeps the measured value through a check-in that gives no value, and takes a later check-in\'s value', async () => {
    const base = [drafted, defined, measurement(31.5, day(12))];
    expect(await given([...base, checkIn(40, null, day(13))]).keyResult('k1')).toMatchObject({ current: 31.5, currentSource: 'github-actions/ci.yml', confidence: 40 });
    expect(await given([...base, checkIn(40, 29, day(13))]).keyResult('k1')).toMatchObject({ current: 29, currentAt: new Date(day(13)), currentSource: null, confidence: 40 });
  });

  it('is not moved by a reading of an earlier moment, recorded later', async () => {
    const read = given([drafted, defined, measurement(31.5, day(12)), measurement(35, day(8)), checkIn(55, 36, day(9))]);
    expect(await read.keyResult('k1')).toMatchObject({ current: 31.5, currentAt: new Date(day(12)), confidence: 55 });
    expect((await read.measurementsOf('k1')).map((m) => m.value)).toEqual([35, 31.5]); // by effective time
  });

  it('shows measurements in the trend as readings with a value, a source and no confidence, corrections kept per system', async () => {
    const read = given([
      drafted,
      defined,
      checkIn(60, 38, day(5)),
      measurement(33, day(12)),
      measurement(31.5, day(12)), // the same system, the same moment: a correction
      measurement(32, day(12), 'grafana/p95'), // another system at that moment: its own reading
    ]);
    const series = readingSeries(await read.checkInsOf('k1'), await read.measurementsOf('k1'));
    expect(series.map(({ kind, value, confidence, source, correction, superseded }) => ({ kind, value, confidence, source, correction, superseded }))).toEqual([
      { kind: 'CHECK_IN', value: 38, confidence: 60, source: null, correction: false, superseded: false },
      { kind: 'MEASUREMENT', value: 33, confidence: null, source: 'github-actions/ci.yml', correction: false, superseded: true },
      { kind: 'MEASUREMENT', value: 31.5, confidence: null, source: 'github-actions/ci.yml', correction: true, superseded: false },
      { kind: 'MEASUREMENT', value: 32, confidence: null, source: 'grafana/p95', correction: false, superseded: false },
    ]);
    expect(series[1]?.author).toBe('ci-pipeline');
  });
});

describe('health with measurements', () => {
  it('judges a zero baseline by the first reading, a measurement\'s too (NO_REAL_BASELINE)', async () => {
    const zero: DomainEvent = { ...defined, data: { ...(defined.data as object), baseline: 0, target: 15, direction: 'INCREASE' } } as DomainEvent;
    const setUp: DomainEvent[] = [
      { type: 'UnitRegistered', data: { unitId: 'team', name: 'Platform', level: 'TEAM', parentId: null } },
      { type: 'QuarterPlanned', data: { quarterId: '2027-Q1', startsOn: day(1), endsOn: new Date(Date.UTC(2027, 3, 1)).toISOString(), settingOpensOn: new Date(Date.UTC(2026, 11, 11)).toISOString() } },
      drafted,
      zero,
    ];
    const rule = async (events: DomainEvent[]) => {
      const facts = await loadQuarterFacts(given(events), '2027-Q1', new Date(day(20)));
      if (facts === null) throw new Error('no quarter');
      return healthFindings({ facts, earlier: [], effortBudget: 4 }).filter((f) => f.rule === 'NO_REAL_BASELINE').map((f) => f.severity);
    };
    expect(await rule(setUp)).toEqual(['INFO']);
    expect(await rule([...setUp, measurement(4, day(3))])).toEqual(['WARNING']);
    expect(await rule([...setUp, measurement(0, day(3)), checkIn(50, 4, day(6))])).toEqual(['INFO']);
  });
});

describe('an objective carried over', () => {
  const carried = [
    drafted,
    defined,
    { type: 'ObjectiveCarriedOver', data: { ...scope, toObjectiveId: 'o2', toQuarterId: '2027-Q2' } },
    {
      type: 'ObjectiveDrafted',
      data: { ...scope, objectiveId: 'o2', quarterId: '2027-Q2', unitLevel: 'TEAM', title: 'Faster pipelines', description: null, aspirational: true, parentId: null, carriedFrom: { objectiveId: 'o1', quarterId: '2027-Q1' } },
    },
    {
      type: 'KeyResultDefined',
      data: { ...kr, keyResultId: 'k2', objectiveId: 'o2', quarterId: '2027-Q2', title: 'p95 CI from 42 to 15 min', metric: 'p95 CI duration', unit: 'min', baseline: 31.5, target: 15, direction: 'DECREASE', kind: 'OUTCOME', carriedFrom: { keyResultId: 'k1', quarterId: '2027-Q1' } },
    },
  ] as DomainEvent[];

  it('shows the lineage both ways, and the old objective\'s version moves with the link', async () => {
    const read = given(carried);
    expect(await read.objective('o1')).toMatchObject({ carriedFrom: null, carriedTo: ['o2'], version: 2, lifecycle: 'DRAFT', quarterId: '2027-Q1' });
    expect(await read.objective('o2')).toMatchObject({ carriedFrom: 'o1', carriedTo: [], version: 1, lifecycle: 'DRAFT', quarterId: '2027-Q2' });
    expect(await read.keyResult('k2')).toMatchObject({ carriedFrom: 'k1', baseline: 31.5, originalBaseline: 31.5, objectiveId: 'o2', current: null });
    expect(await read.keyResult('k1')).toMatchObject({ carriedFrom: null });
    // The new objective counts its carried key result (unscored) like any other.
    expect((await read.objective('o2'))?.keyResultScores).toEqual({ k2: null });
  });

  it('reads every objective and key result not carried as it always did', async () => {
    const read = given([drafted, defined]);
    expect(await read.objective('o1')).toMatchObject({ carriedFrom: null, carriedTo: [] });
    expect(await read.keyResult('k1')).toMatchObject({ carriedFrom: null, currentAt: null, currentSource: null });
  });
});
