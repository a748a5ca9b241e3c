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
