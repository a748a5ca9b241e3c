import { Arg, Ctx, FieldResolver, ID, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { RecordedEvent } from '../../events/catalogue';
import type { KeyResultDoc, UnitDoc } from '../../projections/docs';
import { healthFindings } from '../../projections/health';
import { groupBy, loadQuarterFacts, subtree, type QuarterFacts } from '../../projections/quarterFacts';
import type { ReadModel } from '../../projections/readModel';
import {
  calibrationGap,
  confidenceSeries,
  readingSeries,
  teamCalibration,
  weeklyConfidence,
  type TeamCalibrationDoc,
} from '../../projections/trends';
import type { Context } from '../context';
import { Severity } from '../enums';
import {
  ConfidenceBucket,
  ConfidenceSeries,
  DateTime,
  Event,
  HealthFinding,
  KeyResult,
  Unit,
  UnitCalibration,
} from '../types';
import { historicalId, parseId, versioned } from '../ids';
import { toEventNode } from './log';
import { askedAt, found, readFor, sameView, viewOf } from './support';

/** How many earlier quarters the cross-quarter health rules look back over. */
const HEALTH_LOOKBACK = 4;

/** The quarter's facts from the live tables or as of an instant; null when the quarter is unknown then. */
async function factsFor(ctx: Context, quarterId: string, asOf: Date | null): Promise<{ read: ReadModel; facts: QuarterFacts | null }> {
  const read = await readFor(ctx, asOf);
  return { read, facts: await loadQuarterFacts(read, quarterId, asOf ?? ctx.now) };
}

/** The instant a history query asks about (asOf, or its ids' instant) and its ids as they are now. */
function scope<A extends { quarterId: string; unitId: string | null }>(ctx: Context, ids: A, asOf: Date | null) {
  const { at, ids: plain } = askedAt(ctx, ids, asOf);
  return { at, quarterId: plain.quarterId, unitId: plain.unitId };
}

function inScope(facts: QuarterFacts, unitId: string | null): (k: KeyResultDoc) => boolean {
  if (!unitId) return () => true;
  const units = subtree(facts.units, unitId);
  return (k) => units.has(k.unitId);
}

@Resolver()
export class HistoryResolver {
  @Query(() => [ConfidenceSeries], {
    description:
      'Every key result\'s check-ins by effective time, with corrections and back-dating marked, and its readings (check-ins and measurements); ' +
      'with unitId, that unit and those below it; with keyResultId, that key result alone.',
  })
  async confidenceTrends(
    @Arg('quarterId', () => ID) quarterId: string,
    @Arg('unitId', () => ID, { nullable: true }) unitId: string | null,
    @Arg('asOf', () => DateTime, { nullable: true }) asOf: Date | null,
    @Ctx() ctx: Context,
    @Arg('keyResultId', () => ID, { nullable: true, description: 'One key result\'s trend (of the quarter) only.' }) keyResultId: string | null = null,
  ): Promise<ConfidenceSeries[]> {
    const { at, ids } = askedAt(ctx, { quarterId, unitId, keyResultId }, asOf);
    const { facts } = await factsFor(ctx, ids.quarterId, at);
    if (facts === null) return [];
    const byKeyResult = groupBy(facts.checkIns, (c) => c.keyResultId);
    const measured = groupBy(facts.measurements, (m) => m.keyResultId);
    const asked = ids.keyResultId === null ? () => true : (k: KeyResultDoc) => k.id === ids.keyResultId;
    return facts.keyResults.filter(inScope(facts, ids.unitId)).filter(asked).map((kr) => {
      const checkIns = byKeyResult.get(kr.id) ?? [];
      const gap = calibrationGap(kr, checkIns);
      return sameView(kr, {
        keyResult: kr as unknown as KeyResult,
        points: confidenceSeries(checkIns),
        readings: readingSeries(checkIns, measured.get(kr.id) ?? []) as unknown as ConfidenceSeries['readings'],
        calibration: gap && sameView(kr, { ...gap, keyResult: kr as unknown as KeyResult }),
      });
    });
  }

  @Query(() => [ConfidenceBucket], { description: 'Weekly rollup of the unit\'s (and its descendants\') check-ins.' })
  async teamConfidence(
    @Arg('quarterId', () => ID) quarterId: string,
    @Arg('unitId', () => ID) unitId: string,
    @Arg('asOf', () => DateTime, { nullable: true }) asOf: Date | null,
    @Ctx() ctx: Context,
  ): Promise<ConfidenceBucket[]> {
    const asked = askedAt(ctx, { quarterId, unitId }, asOf);
    const { facts } = await factsFor(ctx, asked.ids.quarterId, asked.at);
    if (facts === null) return [];
    const units = subtree(facts.units, asked.ids.unitId);
    return weeklyConfidence(facts.checkIns.filter((c) => units.has(c.unitId)));
  }

  @Query(() => [UnitCalibration], {
    description: 'Per unit with scored key results: how well its last confidence before scoring predicted the scores.',
  })
  async confidenceCalibration(
    @Arg('quarterId', () => ID) quarterId: string,
    @Arg('unitId', () => ID, { nullable: true }) unitId: string | null,
    @Arg('asOf', () => DateTime, { nullable: true }) asOf: Date | null,
    @Ctx() ctx: Context,
  ): Promise<UnitCalibration[]> {
    const asked = scope(ctx, { quarterId, unitId }, asOf);
    const { facts } = await factsFor(ctx, asked.quarterId, asked.at);
    if (facts === null) return [];
    const byKeyResult = groupBy(facts.checkIns, (c) => c.keyResultId);
    const byUnit = groupBy(facts.keyResults.filter(inScope(facts, asked.unitId)), (k) => k.unitId);
    return [...byUnit.entries()].flatMap(([unit, krs]) => {
      const gaps = krs.flatMap((kr) => {
        const gap = calibrationGap(kr, byKeyResult.get(kr.id) ?? []);
        return gap ? [sameView(facts.quarter, { ...gap, keyResult: kr as unknown as KeyResult })] : [];
      });
      const team = teamCalibration(unit, gaps);
      return team ? [sameView(facts.quarter, team as unknown as UnitCalibration)] : [];
    });
  }

  @Query(() => [HealthFinding], { description: 'Breaches of good OKR practice found in the quarter\'s history.' })
  async health(
    @Arg('quarterId', () => ID) quarterId: string,
    @Arg('unitId', () => ID, { nullable: true }) unitId: string | null,
    @Arg('asOf', () => DateTime, { nullable: true }) asOf: Date | null,
    @Ctx() ctx: Context,
  ): Promise<HealthFinding[]> {
    const { at, ...asked } = scope(ctx, { quarterId, unitId }, asOf);
    const { facts } = await factsFor(ctx, asked.quarterId, at);
    if (facts === null) return [];
    // As of an instant, only quarters already planned then: one indexed read of the log, so that at most
    // HEALTH_LOOKBACK quarters are read at the instant (the cost model charges five such reads for health with asOf).
    const plannedThen = at
      ? new Set((await ctx.log.readAll({ types: ['QuarterPlanned'], until: at })).map((e) => (e.data as { quarterId: string }).quarterId))
      : null;
    const earlierIds = (await ctx.read.quarters())
      .filter((q) => plannedThen === null || plannedThen.has(q.id))
      .filter((q) => q.endsOn.getTime() <= facts.quarter.startsOn.getTime())
      .sort((a, b) => b.startsOn.getTime() - a.startsOn.getTime())
      .map((q) => q.id);
    // The latest few that existed at the instant asked about (a quarter planned later must not count).
    const earlier: QuarterFacts[] = [];
    for (const id of earlierIds.slice(0, HEALTH_LOOKBACK)) {
      const prior = await factsFor(ctx, id, at);
      if (prior.facts) earlier.push(prior.facts);
    }
    const units = asked.unitId ? subtree(facts.units, asked.unitId) : undefined;
    return healthFindings({ facts, earlier, effortBudget: ctx.effortBudget }, units).map((f) => ({
      rule: f.rule,
      severity: f.severity as Severity,
      message: f.message,
      // The subject as it was at the instant asked about, like every id in an answer about the past.
      subjectId: f.subjectId === null ? null : versioned(f.subjectId, at),
    }));
  }

  @Subscription(() => Event, {
    description: 'Every event appended from now on that concerns the quarter or unit (all when both are omitted).',
    subscribe: ({ args, context }) => {
      const { quarterId, unitId } = args as { quarterId?: string | null; unitId?: string | null };
      for (const [field, raw] of Object.entries({ quarterId, unitId })) {
        const parsed = raw == null ? null : parseId(raw);
        // The feed is of the present; an object as it was at an instant has no new events.
        if (parsed?.at) throw historicalId(field, { id: parsed.id, at: parsed.at });
      }
      return (context as Context).feed({ quarterId, unitId });
    },
  })
  eventAppended(
    @Root() event: RecordedEvent,
    @Arg('quarterId', () => ID, { nullable: true }) _quarterId: string | null,
    @Arg('unitId', () => ID, { nullable: true }) _unitId: string | null,
  ): Event {
    return toEventNode(event);
  }
}

@Resolver(() => UnitCalibration)
export class UnitCalibrationResolver {
  @FieldResolver(() => Unit)
  // A document-typed root (not the class) so type-graphql passes it through with its asOf marker.
  async unit(@Root() calibration: TeamCalibrationDoc, @Ctx() ctx: Context): Promise<UnitDoc> {
    return found(await viewOf(calibration, ctx).read.unit(calibration.unitId), 'unit');
  }
}
