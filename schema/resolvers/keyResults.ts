import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { CheckInDoc, KeyResultDoc, ObjectiveDoc } from '../../projections/docs';
import type { Context } from '../context';
import { DefineKeyResultInput, RecordCheckInInput, ReviseKeyResultInput, ScoreKeyResultInput } from '../inputs';
import { CheckIn, DateTime, KeyResult, Objective } from '../types';
import { checkInId } from '../ids';
import { askedAt, found, idOf, iso, keyResultAt, versionOptions, viewOf, write } from './support';

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
