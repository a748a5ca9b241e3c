import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { KeyResultCalibrationData } from '../../events/catalogue';
import type { KeyResultDoc, QuarterDoc, RetrospectiveDoc, UnitDoc } from '../../projections/docs';
import type { Context } from '../context';
import { RecordRetrospectiveInput } from '../inputs';
import { KeyResult, KeyResultCalibration, Quarter, Retrospective, Unit } from '../types';
import { retrospectiveId } from '../ids';
import { askedAt, found, idOf, readFor, sameView, versionOptions, viewOf, write } from './support';

@Resolver(() => Retrospective)
export class RetrospectiveResolver {
  @Query(() => [Retrospective], { description: 'With a versioned quarterId or unitId: the retrospectives as they were at its instant.' })
  async retrospectives(
    @Arg('quarterId', () => ID) quarterId: string,
    @Arg('unitId', () => ID, { nullable: true }) unitId: string | null,
    @Ctx() ctx: Context,
  ): Promise<RetrospectiveDoc[]> {
    const { at, ids } = askedAt(ctx, { quarterId, unitId });
    return (await readFor(ctx, at)).retrospectives(ids);
  }

  @FieldResolver(() => ID)
  id(@Root() r: RetrospectiveDoc): string {
    return idOf(r, retrospectiveId(r.unitId, r.quarterId));
  }

  @FieldResolver(() => Unit)
  async unit(@Root() r: RetrospectiveDoc, @Ctx() ctx: Context): Promise<UnitDoc> {
    return found(await viewOf(r, ctx).read.unit(r.unitId), 'unit');
  }

  @FieldResolver(() => Quarter)
  async quarter(@Root() r: RetrospectiveDoc, @Ctx() ctx: Context): Promise<QuarterDoc> {
    return found(await viewOf(r, ctx).read.quarter(r.quarterId), 'quarter');
  }

  @FieldResolver(() => [KeyResultCalibration])
  calibrations(@Root() r: RetrospectiveDoc): RetrospectiveDoc['calibrations'] {
    return r.calibrations.map((c) => sameView(r, { ...c }));
  }

  @Mutation(() => Retrospective)
  async recordRetrospective(
    @Arg('input', () => RecordRetrospectiveInput) input: RecordRetrospectiveInput,
    @Ctx() ctx: Context,
  ): Promise<RetrospectiveDoc> {
    const { unitId, quarterId } = await write(ctx, () =>
      ctx.commands.recordRetrospective(
        {
          unitId: input.unitId,
          quarterId: input.quarterId,
          learnings: input.learnings,
          calibrations: (input.calibrations ?? []).map((c) => ({
            keyResultId: c.keyResultId,
            calibration: c.calibration,
            note: c.note,
          })),
        },
        versionOptions(input),
      ),
    );
    const [latest] = await ctx.read.retrospectives({ quarterId, unitId });
    return found(latest ?? null, 'retrospective');
  }
}

@Resolver(() => KeyResultCalibration)
export class KeyResultCalibrationResolver {
  @FieldResolver(() => KeyResult)
  // A document-typed root (not the class) so type-graphql passes it through with its view marker.
  async keyResult(@Root() c: KeyResultCalibrationData, @Ctx() ctx: Context): Promise<KeyResultDoc> {
    return found(await viewOf(c, ctx).read.keyResult(c.keyResultId), 'key result');
  }
}
