import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import { rejected } from '../../domain/errors';
import type { KeyResultDoc, ObjectiveDoc, QuarterDoc, UnitDoc } from '../../projections/docs';
import { fromModel, modelOf, type ReadModel } from '../../projections/readModel';
import type { Context } from '../context';
import { parseId, versioned } from '../ids';

/** Turns a read that must succeed after a write into a value (an absent row here is a bug). */
export function found<T>(value: T | null, what: string): T {
  if (value === null) throw new Error(`${what} missing from the read model right after its write`);
  return value;
}

/** Runs a command, then makes the request's later reads see its write (serial mutations). */
export async function write<T>(ctx: Context, command: () => Promise<{ result: T }>): Promise<T> {
  const { result } = await command();
  ctx.refreshRead();
  return result;
}

export const iso = (value: Date | null | undefined): string | null | undefined =>
  value == null ? (value as null | undefined) : value.toISOString();

export const versionOptions = (input: { expectedVersion?: number | null; idempotencyKey?: string | null }) => ({
  expectedVersion: input.expectedVersion ?? null,
  idempotencyKey: input.idempotencyKey ?? null,
});

/** Where fields under `root` read from, and the instant they describe. */
export function viewOf(root: object, ctx: Context): { read: ReadModel; now: Date } {
  const model = modelOf(root);
  return model ? { read: model, now: model.asOf ?? ctx.now } : { read: ctx.read, now: ctx.now };
}

/** Marks `value` as seen from the same model as `root` (for objects built inside a resolver). */
export function sameView<T extends object>(root: object, value: T): T {
  const model = modelOf(root);
  return model ? fromModel(model, value) : value;
}

/** Refuses an asOf after the request's present. */
export function assertPast(ctx: Context, asOf: Date | null | undefined): void {
  if (asOf != null && asOf.getTime() > ctx.now.getTime()) {
    throw rejected('AS_OF_IN_FUTURE', 'asOf is in the future; the ledger only knows the past and the present.');
  }
}

/** The id a document is answered with: versioned when it was read as of an instant. */
export function idOf(doc: object, id: string): string {
  return versioned(id, modelOf(doc)?.asOf);
}

/**
 * The instant a query asks about and its ids as they are now: an explicit `asOf`, or the instant of
 * versioned ids among its arguments (all of them must name the same instant, or AS_OF_MISMATCH).
 * The instant must not be in the future; `bound` names an argument that may be (events' `until`).
 */
export function askedAt<A extends Record<string, string | null>>(
  ctx: Context,
  ids: A,
  asOf: Date | null = null,
  bound?: string,
): { at: Date | null; ids: A } {
  let at = asOf;
  let from = bound ?? 'asOf';
  let fromId = false;
  const plain: Record<string, string | null> = {};
  for (const [name, raw] of Object.entries(ids)) {
    if (raw == null) {
      plain[name] = null;
      continue;
    }
    const parsed = parseId(raw);
    plain[name] = parsed.id;
    if (parsed.at === null) continue;
    if (at !== null && at.getTime() !== parsed.at.getTime()) {
      throw rejected(
        'AS_OF_MISMATCH',
        `${name} names ${parsed.id} as it was at ${parsed.at.toISOString()}, but ${from} asks about ${at.toISOString()}; ` +
          'ask about one instant at a time.',
      );
    }
    at = parsed.at;
    from = name;
    fromId = true;
  }
  if (bound === undefined || fromId) assertPast(ctx, at);
  return { at, ids: plain as A };
}

/** The read model for a root query: live, or as it stood at `asOf`. */
export async function readFor(ctx: Context, asOf: Date | null | undefined): Promise<ReadModel> {
  assertPast(ctx, asOf);
  return asOf == null ? ctx.read : ctx.readAsOf(asOf);
}

/*
 * One object, now (at null) or as it was at an instant. Queries and node(id:) read through these, so
 * an object refetched by its id is the object the first answer described.
 */

export async function unitAt(ctx: Context, id: string, at: Date | null): Promise<UnitDoc | null> {
  return at === null ? ctx.read.unit(id) : (await ctx.readAsOf(at)).unit(id);
}

export async function quarterAt(ctx: Context, id: string, at: Date | null): Promise<QuarterDoc | null> {
  return at === null ? ctx.read.quarter(id) : (await ctx.readAsOf(at)).quarter(id);
}

export async function objectiveAt(ctx: Context, id: string, at: Date | null): Promise<ObjectiveDoc | null> {
  return at === null ? ctx.read.objective(id) : (await ctx.readAsOf(at)).objective(id);
}

export async function keyResultAt(ctx: Context, id: string, at: Date | null): Promise<KeyResultDoc | null> {
  return at === null ? ctx.read.keyResult(id) : (await ctx.readAsOf(at)).keyResult(id);
}

/** Whether the field being resolved selects `name` directly under it (through fragments too). */
export function selects(info: GraphQLResolveInfo, name: string): boolean {
  const within = (set: SelectionSetNode | undefined): boolean =>
    set?.selections.some((s) => {
      if (s.kind === Kind.FIELD) return s.name.value === name;
      if (s.kind === Kind.INLINE_FRAGMENT) return within(s.selectionSet);
      return within(info.fragments[s.name.value]?.selectionSet);
    }) ?? false;
  return info.fieldNodes.some((node) => within(node.selectionSet));
}
