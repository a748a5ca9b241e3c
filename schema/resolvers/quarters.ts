import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { quarterPhase } from '../../domain/quarter';
import type { QuarterDoc } from '../../projections/docs';
import type { Context } from '../context';
import { QuarterPhase } from '../enums';
import { PlanQuarterInput } from '../inputs';
import { Quarter } from '../types';
import { askedAt, found, idOf, iso, quarterAt, versionOptions, viewOf, write } from './support';

@Resolver(() => Quarter)
export class QuarterResolver {
  @Query(() => [Quarter])
  quarters(@Ctx() ctx: Context): Promise<QuarterDoc[]> {
    return ctx.read.quarters();
  }

  @Query(() => Quarter, { nullable: true })
  quarter(@Arg('id', () => ID, { description: 'A versioned id answers the quarter as it was at its instant.' }) id: string, @Ctx() ctx: Context): Promise<QuarterDoc | null> {
    const { at, ids } = askedAt(ctx, { id });
    return quarterAt(ctx, ids.id, at);
  }

  @FieldResolver(() => ID)
  id(@Root() quarter: QuarterDoc): string {
    return idOf(quarter, quarter.id);
  }

  @FieldResolver(() => QuarterPhase)
  phase(@Root() quarter: QuarterDoc, @Ctx() ctx: Context): QuarterPhase {
    return quarterPhase({ ...quarter, closed: quarter.closedAt !== null }, viewOf(quarter, ctx).now) as QuarterPhase;
  }

  @Mutation(() => Quarter)
  async planQuarter(@Arg('input', () => PlanQuarterInput) input: PlanQuarterInput, @Ctx() ctx: Context): Promise<QuarterDoc> {
    const { quarterId } = await write(ctx, () =>
      ctx.commands.planQuarter(
        {
          quarterId: input.id,
          startsOn: input.startsOn.toISOString(),
          endsOn: input.endsOn.toISOString(),
          settingOpensOn: iso(input.settingOpensOn),
        },
        versionOptions(input),
      ),
    );
    return found(await ctx.read.quarter(quarterId), 'quarter');
  }

  @Mutation(() => Quarter, { description: 'After closing, the quarter\'s objectives and key results accept no further change.' })
  async closeQuarter(@Arg('id', () => ID) id: string, @Ctx() ctx: Context): Promise<QuarterDoc> {
    const { quarterId } = await write(ctx, () => ctx.commands.closeQuarter(id));
    return found(await ctx.read.quarter(quarterId), 'quarter');
  }
}
