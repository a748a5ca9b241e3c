/*
 * Answers about the past name every object as it was then: `<id>@<instant>`, the instant as
 * Date.toISOString() writes it. Written out here, independently of schema/ids.ts, so a change to the
 * format shows up in the tests.
 */

/** The id of object `id` as it was at `at` (any ISO-8601 spelling of the instant). */
export function versionedId(id: string, at: string | Date): string {
  return `${id}@${new Date(at).toISOString()}`;
}

/** The fields whose values are ids: every object's own `id`, and a health finding's `subjectId`. */
const ID_FIELDS = new Set(['id', 'subjectId']);

/**
 * What an answer as of `at` must be, given the live answer captured at `at`: the same, field for field,
 * except that each id is the versioned one.
 */
export function versionedAt<T>(answer: T, at: string | Date): T {
  const walk = (value: unknown, key?: string): unknown => {
    if (Array.isArray(value)) return value.map((item) => walk(item));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, k)]));
    }
    if (key !== undefined && ID_FIELDS.has(key) && typeof value === 'string') return versionedId(value, at);
    return value;
  };
  return walk(answer) as T;
}
