import { rejected } from '../../domain/errors';
import { fromModel, modelOf, type ReadModel } from '../../projections/readModel';
import type { Context } from '../context';

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

/** The read model for a root query: live, or the quarter replayed as of `asOf`. */
export async function readFor(ctx: Context, asOf: Date | null | undefined, quarterId: string): Promise<ReadModel> {
  assertPast(ctx, asOf);
  return asOf == null ? ctx.read : ctx.readAsOf(asOf, quarterId);
}
