import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Ctx, FieldResolver, ID, Info, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { KeyResultDoc, ObjectiveDoc, QuarterDoc, UnitDoc } from '../../projections/docs';
import type { Context } from '../context';
import { ObjectiveStatus } from '../enums';
import {
  AlignObjectiveInput,
  CarryOverObjectiveInput,
  CommitObjectiveInput,
  DraftObjectiveInput,
  RefineObjectiveInput,
  RetireObjectiveInput,
} from '../inputs';
import { DateTime, KeyResult, Objective, Quarter, Unit } from '../types';
import { askedAt, found, idOf, objectiveAt, readFor, selects, versionOptions, viewOf, write } from './support';

export const objectiveStatus = (o: ObjectiveDoc): ObjectiveStatus =>
  o.lifecycle === 'RETIRED' ? ObjectiveStatus.RETIRED : o.score !== null ? ObjectiveStatus.SCORED : (o.lifecycle as ObjectiveStatus);

@Resolver(() => Objective)
export class ObjectiveResolver {
  @Query(() => [Objective], { description: 'With asOf: exactly what this query would have answered at that instant.' })
  async objectives(
    @Arg('quarterId', () => ID) quarterId: string,
    @Arg('unitId', () => ID, { nullable: true }) unitId: string | null,
    @Arg('asOf', () => DateTime, { nullable: true }) asOf: Date | null,
    @Ctx() ctx: Context,
    @Info() info: GraphQLResolveInfo,
  ): Promise<ObjectiveDoc[]> {
    const { at, ids } = askedAt(ctx, { quarterId, unitId }, asOf);
    // A team's quarter is almost always asked for with its key results: then they come in the same round trip.
    return (await readFor(ctx, at)).objectives(ids, { keyResults: selects(info, 'keyResults') });
  }

  @Query(() => Objective, { nullable: true })
  async objective(
    @Arg('id', () => ID) id: string,
    @Arg('asOf', () => DateTime, { nullable: true }) asOf: Date | null,
    @Ctx() ctx: Context,
  ): Promise<ObjectiveDoc | null> {
    const { at, ids } = askedAt(ctx, { id }, asOf);
    // An objective never changes quarter, so the live row says which quarter to replay.
    return objectiveAt(ctx, ids.id, at);
  }

  @FieldResolver(() => ID)
  id(@Root() o: ObjectiveDoc): string {
    return idOf(o, o.id);
  }

  @FieldResolver(() => Unit)
  async unit(@Root() o: ObjectiveDoc, @Ctx() ctx: Context): Promise<UnitDoc> {
    return found(await viewOf(o, ctx).read.unit(o.unitId), 'unit');
  }

  @FieldResolver(() => Quarter)
  async quarter(@Root() o: ObjectiveDoc, @Ctx() ctx: Context): Promise<QuarterDoc> {
    return found(await viewOf(o, ctx).read.quarter(o.quarterId), 'quarter');
  }

  @FieldResolver(() => ObjectiveStatus)
  status(@Root() o: ObjectiveDoc): ObjectiveStatus {
    return objectiveStatus(o);
  }

  @FieldResolver(() => Objective, { nullable: true, description: 'Alignment: the higher-level objective this one contributes to.' })
  parent(@Root() o: ObjectiveDoc, @Ctx() ctx: Context): Promise<ObjectiveDoc | null> | null {
    return o.parentId === null ? null : viewOf(o, ctx).read.objective(o.parentId);
  }

  @FieldResolver(() => [Objective], { description: 'The objectives that declared they contribute to this one.' })
  contributors(@Root() o: ObjectiveDoc, @Ctx() ctx: Context): Promise<ObjectiveDoc[]> {
    return viewOf(o, ctx).read.contributors(o.id);
  }

  @FieldResolver(() => [KeyResult])
  keyResults(@Root() o: ObjectiveDoc, @Ctx() ctx: Context): Promise<KeyResultDoc[]> {
    return viewOf(o, ctx).read.keyResultsOf(o.id);
  }

  @FieldResolver(() => Objective, { nullable: true, description: 'The objective of an earlier quarter this one carries over (carryOverObjective).' })
  carriedFrom(@Root() o: ObjectiveDoc, @Ctx() ctx: Context): Promise<ObjectiveDoc | null> | null {
    return o.carriedFrom === null ? null : viewOf(o, ctx).read.objective(o.carriedFrom);
  }

  @FieldResolver(() => [Objective], { description: 'The objectives it was carried over into, in later quarters, in the order it was.' })
  async carriedTo(@Root() o: ObjectiveDoc, @Ctx() ctx: Context): Promise<ObjectiveDoc[]> {
    const { read } = viewOf(o, ctx);
    const carried = await Promise.all(o.carriedTo.map((id) => read.objective(id)));
    return carried.filter((c): c is ObjectiveDoc => c !== null);
  }

  @Mutation(() => Objective)
  async draftObjective(@Arg('input', () => DraftObjectiveInput) input: DraftObjectiveInput, @Ctx() ctx: Context): Promise<ObjectiveDoc> {
    const { objectiveId } = await write(ctx, () =>
      ctx.commands.draftObjective(
        {
          unitId: input.unitId,
          quarterId: input.quarterId,
          title: input.title,
          description: input.description,
          aspirational: input.aspirational,
          parentId: input.parentId,
        },
        versionOptions(input),
      ),
    );
    return this.load(ctx, objectiveId);
  }

  @Mutation(() => Objective)
  async refineObjective(@Arg('input', () => RefineObjectiveInput) input: RefineObjectiveInput, @Ctx() ctx: Context): Promise<ObjectiveDoc> {
    const { objectiveId } = await write(ctx, () =>
      ctx.commands.refineObjective(
        { objectiveId: input.id, title: input.title, description: input.description },
        versionOptions(input),
      ),
    );
    return this.load(ctx, objectiveId);
  }

  @Mutation(() => Objective)
  async alignObjective(@Arg('input', () => AlignObjectiveInput) input: AlignObjectiveInput, @Ctx() ctx: Context): Promise<ObjectiveDoc> {
    const { objectiveId } = await write(ctx, () =>
      ctx.commands.alignObjective({ objectiveId: input.id, parentId: input.parentId ?? null }, versionOptions(input)),
    );
    return this.load(ctx, objectiveId);
  }

  @Mutation(() => Objective)
  async commitObjective(@Arg('input', () => CommitObjectiveInput) input: CommitObjectiveInput, @Ctx() ctx: Context): Promise<ObjectiveDoc> {
    const { objectiveId } = await write(ctx, () => ctx.commands.commitObjective({ objectiveId: input.id }, versionOptions(input)));
    return this.load(ctx, objectiveId);
  }

  @Mutation(() => Objective)
  async retireObjective(@Arg('input', () => RetireObjectiveInput) input: RetireObjectiveInput, @Ctx() ctx: Context): Promise<ObjectiveDoc> {
    const { objectiveId } = await write(ctx, () =>
      ctx.commands.retireObjective({ objectiveId: input.id, reason: input.reason }, versionOptions(input)),
    );
    return this.load(ctx, objectiveId);
  }

  @Mutation(() => Objective, {
    description:
      'Drafts the objective again in a later quarter whose setting window is open, linked to it (carriedFrom, carriedTo), with its unfinished ' +
      'key results: same metric, unit, direction, kind and target, the baseline where the metric last stood. Answers the new draft.',
  })
  async carryOverObjective(@Arg('input', () => CarryOverObjectiveInput) input: CarryOverObjectiveInput, @Ctx() ctx: Context): Promise<ObjectiveDoc> {
    const { objectiveId } = await write(ctx, () =>
      ctx.commands.carryOverObjective(
        { objectiveId: input.objectiveId, toQuarterId: input.toQuarterId, keyResultIds: input.keyResultIds ?? null },
        versionOptions(input),
      ),
    );
    return this.load(ctx, objectiveId);
  }

  private async load(ctx: Context, id: string): Promise<ObjectiveDoc> {
    return found(await ctx.read.objective(id), 'objective');
  }
}
