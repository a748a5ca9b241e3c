import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { EffortDoc, QuarterDoc, UnitDoc } from '../../projections/docs';
import type { Context } from '../context';
import { ProcessActivity } from '../enums';
import { NotImplementedError } from '../errors';
import { LogProcessEffortInput } from '../inputs';
import { DateTime, EffortAudit, Quarter, Unit } from '../types';
import { found, iso, versionOptions, viewOf, write } from './support';

const round = (days: number): number => Math.round(days * 1e6) / 1e6;

/** The audit of one unit's quarter from its effort document (absent: nothing logged yet). */
export function effortAudit(unitId: string, quarterId: string, doc: EffortDoc | null, budget: number): EffortAudit {
  const byActivity = [
    { activity: ProcessActivity.SETTING, personDays: doc?.settingDays ?? 0 },
    { activity: ProcessActivity.CHECK_IN, personDays: doc?.checkInDays ?? 0 },
    { activity: ProcessActivity.SCORING, personDays: doc?.scoringDays ?? 0 },
    { activity: ProcessActivity.RETROSPECTIVE, personDays: doc?.retrospectiveDays ?? 0 },
  ];
  const personDays = round(byActivity.reduce((sum, a) => sum + a.personDays, 0));
  return {
    unitId,
    quarterId,
    personDays,
    budgetPersonDays: budget,
    overBudget: personDays > budget,
    byActivity,
    checkIns: doc?.checkIns ?? 0,
  };
}

@Resolver(() => EffortAudit)
export class EffortResolver {
  @Query(() => [EffortAudit])
  effortAudit(
    @Arg('quarterId', () => ID) _quarterId: string,
    @Arg('unitId', () => ID, { nullable: true }) _unitId: string | null,
    @Arg('asOf', () => DateTime, { nullable: true }) _asOf: Date | null,
  ): EffortAudit[] {
    throw new NotImplementedError('effortAudit');
  }

  @FieldResolver(() => Unit)
  async unit(@Root() audit: EffortAudit, @Ctx() ctx: Context): Promise<UnitDoc> {
    return found(await viewOf(audit, ctx).read.unit(audit.unitId), 'unit');
  }

  @FieldResolver(() => Quarter)
  async quarter(@Root() audit: EffortAudit, @Ctx() ctx: Context): Promise<QuarterDoc> {
    return found(await viewOf(audit, ctx).read.quarter(audit.quarterId), 'quarter');
  }

  @Mutation(() => EffortAudit)
  async logProcessEffort(@Arg('input', () => LogProcessEffortInput) input: LogProcessEffortInput, @Ctx() ctx: Context): Promise<EffortAudit> {
    const { unitId, quarterId } = await write(ctx, () =>
      ctx.commands.logProcessEffort(
        {
          unitId: input.unitId,
          quarterId: input.quarterId,
          activity: input.activity,
          personDays: input.personDays,
          note: input.note,
          occurredOn: iso(input.occurredOn),
        },
        versionOptions(input),
      ),
    );
    return effortAudit(unitId, quarterId, await ctx.read.effort(unitId, quarterId), ctx.effortBudget);
  }
}
