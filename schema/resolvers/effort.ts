import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { QuarterDoc, UnitDoc } from '../../projections/docs';
import { effortAudits, type EffortAuditDoc } from '../../projections/effortAudit';
import { loadQuarterFacts, subtree } from '../../projections/quarterFacts';
import type { ReadModel } from '../../projections/readModel';
import type { Context } from '../context';
import { LogProcessEffortInput } from '../inputs';
import { DateTime, EffortAudit, Quarter, Unit } from '../types';
import { askedAt, found, iso, readFor, sameView, versionOptions, viewOf, write } from './support';

/** Effort audits of the quarter from `read` (live or as of an instant), for a unit subtree or all. */
export async function auditsFrom(
  ctx: Context,
  read: ReadModel,
  quarterId: string,
  unitId: string | null,
  now: Date,
): Promise<EffortAudit[]> {
  const facts = await loadQuarterFacts(read, quarterId, now);
  if (facts === null) return [];
  const units = unitId ? subtree(facts.units, unitId) : undefined;
  return effortAudits(facts, ctx.effortBudget, units).map((a) => sameView(facts.quarter, a as EffortAudit));
}

@Resolver(() => EffortAudit)
export class EffortResolver {
  @Query(() => [EffortAudit], {
    description: 'Process effort per unit against the budget, with evidence from the log. With unitId: that unit and those below it.',
  })
  async effortAudit(
    @Arg('quarterId', () => ID) quarterId: string,
    @Arg('unitId', () => ID, { nullable: true }) unitId: string | null,
    @Arg('asOf', () => DateTime, { nullable: true }) asOf: Date | null,
    @Ctx() ctx: Context,
  ): Promise<EffortAudit[]> {
    const { at, ids } = askedAt(ctx, { quarterId, unitId }, asOf);
    const read = await readFor(ctx, at);
    return auditsFrom(ctx, read, ids.quarterId, ids.unitId, at ?? ctx.now);
  }

  @FieldResolver(() => Unit)
  // Roots are typed as documents, not the EffortAudit class: type-graphql re-instantiates class-typed
  // roots, which would drop the marker that keeps an asOf answer at its instant.
  async unit(@Root() audit: EffortAuditDoc, @Ctx() ctx: Context): Promise<UnitDoc> {
    return found(await viewOf(audit, ctx).read.unit(audit.unitId), 'unit');
  }

  @FieldResolver(() => Quarter)
  async quarter(@Root() audit: EffortAuditDoc, @Ctx() ctx: Context): Promise<QuarterDoc> {
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
    const facts = found(await loadQuarterFacts(ctx.read, quarterId, ctx.now), 'quarter');
    const [audit] = effortAudits(facts, ctx.effortBudget, new Set([unitId]));
    return found((audit as EffortAudit | undefined) ?? null, 'effort audit');
  }
}
