import { Arg, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { UnitDoc } from '../../projections/docs';
import type { Context } from '../context';
import { RegisterUnitInput, SetCheckInCadenceInput } from '../inputs';
import { Unit } from '../types';
import { askedAt, found, idOf, unitAt, versionOptions, viewOf, write } from './support';

@Resolver(() => Unit)
export class UnitResolver {
  @Query(() => [Unit])
  units(@Ctx() ctx: Context): Promise<UnitDoc[]> {
    return ctx.read.units();
  }

  @Query(() => Unit, { nullable: true })
  unit(@Arg('id', () => ID, { description: 'A versioned id answers the unit as it was at its instant.' }) id: string, @Ctx() ctx: Context): Promise<UnitDoc | null> {
    const { at, ids } = askedAt(ctx, { id });
    return unitAt(ctx, ids.id, at);
  }

  @FieldResolver(() => ID)
  id(@Root() unit: UnitDoc): string {
    return idOf(unit, unit.id);
  }

  @FieldResolver(() => Unit, { nullable: true })
  parent(@Root() unit: UnitDoc, @Ctx() ctx: Context): Promise<UnitDoc | null> | null {
    return unit.parentId === null ? null : viewOf(unit, ctx).read.unit(unit.parentId);
  }

  @FieldResolver(() => [Unit])
  children(@Root() unit: UnitDoc, @Ctx() ctx: Context): Promise<UnitDoc[]> {
    return viewOf(unit, ctx).read.childUnits(unit.id);
  }

  @Mutation(() => Unit)
  async registerUnit(@Arg('input', () => RegisterUnitInput) input: RegisterUnitInput, @Ctx() ctx: Context): Promise<UnitDoc> {
    const { unitId } = await write(ctx, () =>
      ctx.commands.registerUnit(
        { name: input.name, level: input.level, parentId: input.parentId ?? null },
        versionOptions(input),
      ),
    );
    return found(await ctx.read.unit(unitId), 'unit');
  }

  @Mutation(() => Unit, { description: 'How often the unit means to check in (forgotten check-ins are judged by it).' })
  async setCheckInCadence(
    @Arg('input', () => SetCheckInCadenceInput) input: SetCheckInCadenceInput,
    @Ctx() ctx: Context,
  ): Promise<UnitDoc> {
    const { unitId } = await write(ctx, () =>
      ctx.commands.setCheckInCadence({ unitId: input.unitId, cadence: input.cadence }, versionOptions(input)),
    );
    return found(await ctx.read.unit(unitId), 'unit');
  }
}
