import { Arg, Ctx, ID, Query, Resolver } from 'type-graphql';
import { rejected } from '../../domain/errors';
import { modelOf } from '../../projections/readModel';
import type { Context } from '../context';
import { parseKeyed, type Keyed } from '../ids';
import { Node, asNode, type NodeTypeName } from '../types';
import { toEventNode } from './log';
import { askedAt, keyResultAt, objectiveAt, quarterAt, readFor, unitAt } from './support';

export const NODES_MAX = 100;

/** The CheckIn, Event or Retrospective a `<Type>:<key>` id names, now or at `at`. */
async function keyedNode(ctx: Context, keyed: Keyed, at: Date | null): Promise<object | null> {
  switch (keyed.type) {
    case 'CheckIn': {
      const keyResult = await keyResultAt(ctx, keyed.keyResultId, at);
      if (keyResult === null) return null;
      const checkIns = await (modelOf(keyResult) ?? ctx.read).checkInsOf(keyResult.id);
      const checkIn = checkIns.find((c) => c.id === keyed.docId);
      return checkIn ? asNode('CheckIn', checkIn) : null;
    }
    case 'Retrospective': {
      const read = await readFor(ctx, at);
      const [found] = await read.retrospectives({ quarterId: keyed.quarterId, unitId: keyed.unitId });
      return found ? asNode('Retrospective', found) : null;
    }
    case 'Event': {
      // Events never change, so no answer carries a versioned event id: such an id names nothing.
      if (at !== null) return null;
      const [event] = await ctx.log.readAll({
        streamId: keyed.streamId,
        version: keyed.version,
        limit: 1,
      });
      return event ? toEventNode(event) : null;
    }
  }
}

/** The object an id names in the caller's organisation, as it is now or (versioned id) was then. */
async function nodeById(ctx: Context, raw: string): Promise<object | null> {
  const { at, ids } = askedAt(ctx, { id: raw });
  const { id } = ids;
  const keyed = parseKeyed(id);
  if (keyed) return keyedNode(ctx, keyed, at);
  // Units, objectives and key results have UUIDs from one generator and quarters short human keys,
  // so at most one of these exists; they are looked up now (nothing is ever deleted), then replayed.
  const [quarter, unit, objective, keyResult] = await Promise.all([
    ctx.read.quarter(id),
    ctx.read.unit(id),
    ctx.read.objective(id),
    ctx.read.keyResult(id),
  ]);
  const candidates: [NodeTypeName, object | null, () => Promise<object | null>][] = [
    ['Quarter', quarter, () => quarterAt(ctx, id, at)],
    ['Unit', unit, () => unitAt(ctx, id, at)],
    ['Objective', objective, () => objectiveAt(ctx, id, at)],
    ['KeyResult', keyResult, () => keyResultAt(ctx, id, at)],
  ];
  for (const [type, live, then] of candidates) {
    if (live === null) continue;
    const doc = at === null ? live : await then();
    return doc && asNode(type, doc);
  }
  return null;
}

@Resolver()
export class NodeResolver {
  @Query(() => Node, {
    nullable: true,
    description:
      'The object with this id in your organisation (Relay Global Object Identification); a versioned id (<id>@<instant>) ' +
      'answers the object as it was then. Null when the id names nothing.',
  })
  node(@Arg('id', () => ID) id: string, @Ctx() ctx: Context): Promise<object | null> {
    return nodeById(ctx, id);
  }

  @Query(() => [Node], {
    nullable: 'items',
    description: `node for each id, in order (at most ${NODES_MAX}); null where an id names nothing.`,
  })
  nodes(@Arg('ids', () => [ID]) ids: string[], @Ctx() ctx: Context): Promise<(object | null)[]> {
    if (ids.length > NODES_MAX) {
      throw rejected('TOO_MANY_IDS', `nodes takes at most ${NODES_MAX} ids (got ${ids.length}); ask in several requests.`);
    }
    return Promise.all(ids.map((id) => nodeById(ctx, id)));
  }
}
