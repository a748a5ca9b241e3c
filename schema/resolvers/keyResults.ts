import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { KeyResultCalibrationData } from '../../events/catalogue';
import type { CheckInDoc, KeyResultDoc, ObjectiveDoc } from '../../projections/docs';
import type { Context } from '../context';
import { DefineKeyResultInput, RecordCheckInInput, RecordMeasurementInput, ReviseKeyResultInput, ScoreKeyResultInput } from '../inputs';
import { CheckIn, DateTime, KeyResult, KeyResultCalibration, Objective } from '../types';
import { checkInId } from '../ids';
import { askedAt, found, idOf, iso, keyResultAt, sameView, versionOptions, viewOf, write } from './support';

@Resolver(() => KeyResult)
export class KeyResultResolver {
  @Query(() => KeyResult, { nullable: true })
  async keyResult(
    @Arg('id', () => ID) id: string,
    @Arg('asOf', () => DateTime, { nullable: true }) asOf: Date | null,
    @Ctx() ctx: Context,
  ): Promise<KeyResultDoc | null> {
    const { at, ids } = askedAt(ctx, { id }, asOf);
    return keyResultAt(ctx, ids.id, at);
  }

  @FieldResolver(() => ID)
  id(@Root() kr: KeyResultDoc): string {
    return idOf(kr, kr.id);
  }

  @FieldResolver(() => Objective)
  async objective(@Root() kr: KeyResultDoc, @Ctx() ctx: Context): Promise<ObjectiveDoc> {
    return found(await viewOf(kr, ctx).read.objective(kr.objectiveId), 'objective');
  }

  @FieldResolver(() => [CheckIn], { description: 'Oldest first, by effective date.' })
  checkIns(@Root() kr: KeyResultDoc, @Ctx() ctx: Context): Promise<CheckInDoc[]> {
    return viewOf(kr, ctx).read.checkInsOf(kr.id);
  }

  @FieldResolver(() => KeyResult, { nullable: true, description: 'The key result of an earlier quarter this one carries over (carryOverObjective).' })
  carriedFrom(@Root() kr: KeyResultDoc, @Ctx() ctx: Context): Promise<KeyResultDoc | null> | null {
    return kr.carriedFrom === null ? null : viewOf(kr, ctx).read.keyResult(kr.carriedFrom);
  }

  @FieldResolver(() => KeyResultCalibration, {
    nullable: true,
    description:
      'How the retrospective of the quarter it was carried over from calibrated the key result it continues (TOO_EASY, RIGHT, TOO_HARD), ' +
      'as that retrospective stands: null when it was not carried over, or its unit\'s retrospective has not calibrated it.',
  })
  async carriedCalibration(@Root() kr: KeyResultDoc, @Ctx() ctx: Context): Promise<KeyResultCalibrationData | null> {
    if (kr.carriedFrom === null) return null;
    const { read } = viewOf(kr, ctx);
    const earlier = await read.keyResult(kr.carriedFrom);
    if (earlier === null) return null;
    const [retrospective] = await read.retrospectives({ quarterId: earlier.quarterId, unitId: earlier.unitId });
    const calibration = retrospective?.calibrations.find((c) => c.keyResultId === earlier.id);
    return calibration === undefined ? null : sameView(kr, { ...calibration });
  }

  @Mutation(() => KeyResult)
  async defineKeyResult(@Arg('input', () => DefineKeyResultInput) input: DefineKeyResultInput, @Ctx() ctx: Context): Promise<KeyResultDoc> {
    const { keyResultId } = await write(ctx, () =>
      ctx.commands.defineKeyResult(
        {
          objectiveId: input.objectiveId,
          title: input.title,
          metric: input.metric,
          unit: input.unit,
          baseline: input.baseline,
          target: input.target,
          direction: input.direction,
          kind: input.kind,
        },
        versionOptions(input),
      ),
    );
    return this.load(ctx, keyResultId);
  }

  @Mutation(() => KeyResult)
  async reviseKeyResult(@Arg('input', () => ReviseKeyResultInput) input: ReviseKeyResultInput, @Ctx() ctx: Context): Promise<KeyResultDoc> {
    const { keyResultId } = await write(ctx, () =>
      ctx.commands.reviseKeyResult(
        {
          keyResultId: input.id,
          reason: input.reason,
          title: input.title,
          metric: input.metric,
          unit: input.unit,
          baseline: input.baseline,
          target: input.target,
          kind: input.kind,
        },
        versionOptions(input),
      ),
    );
    return this.load(ctx, keyResultId);
  }

  @Mutation(() => KeyResult)
  async recordCheckIn(@Arg('input', () => RecordCheckInInput) input: RecordCheckInInput, @Ctx() ctx: Context): Promise<KeyResultDoc> {
    const { keyResultId } = await write(ctx, () =>
      ctx.commands.recordCheckIn(
        {
          keyResultId: input.keyResultId,
          confidence: input.confidence,
          value: input.value,
          whatChanged: input.whatChanged,
          blockers: input.blockers,
          asOf: iso(input.asOf),
        },
        versionOptions(input),
      ),
    );
    return this.load(ctx, keyResultId);
  }

  @Mutation(() => KeyResult)
  async scoreKeyResult(@Arg('input', () => ScoreKeyResultInput) input: ScoreKeyResultInput, @Ctx() ctx: Context): Promise<KeyResultDoc> {
    const { keyResultId } = await write(ctx, () =>
      ctx.commands.scoreKeyResult(
        { keyResultId: input.keyResultId, score: input.score, note: input.note },
        versionOptions(input),
      ),
    );
    return this.load(ctx, keyResultId);
  }

  @Mutation(() => KeyResult, {
    description:
      'A system\'s reading of the metric (a CI job, a monitoring query): moves current when it is the latest reading, and shows in the trend; ' +
      'never changes confidence. Service tokens may record it for the key results they name.',
  })
  async recordMeasurement(@Arg('input', () => RecordMeasurementInput) input: RecordMeasurementInput, @Ctx() ctx: Context): Promise<KeyResultDoc> {
    const { keyResultId } = await write(ctx, () =>
      ctx.commands.recordMeasurement(
        { keyResultId: input.keyResultId, value: input.value, at: iso(input.at), source: input.source },
        versionOptions(input),
      ),
    );
    return this.load(ctx, keyResultId);
  }

  private async load(ctx: Context, id: string): Promise<KeyResultDoc> {
    return found(await ctx.read.keyResult(id), 'key result');
  }
}

@Resolver(() => CheckIn)
export class CheckInResolver {
  @FieldResolver(() => ID)
  id(@Root() c: CheckInDoc): string {
    return idOf(c, checkInId(c.id));
  }
}
