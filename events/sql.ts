/**
 * The one thing the store needs from a database connection: run a statement, get rows back.
 *
 * Placeholders are `?` (positional). Pass arrays and objects as JSON text and cast them in SQL
 * (`?::jsonb`), never as raw arrays: the driver underneath expands arrays into lists.
 */
export interface Sql {
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<T[]>;
}

/**
 * A PostgreSQL text[] literal for `= ANY(?::text[])`: every element quoted, with `"` and `\`
 * escaped, so any string round-trips. (Cheaper to plan than unnesting a JSON array.)
 */
export function textArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',')}}`;
}

/**
 * An organisation id as a value the planner cannot look up in the statistics: `organisation_id =
 * ${ANY_ORGANISATION}` with the id as its parameter. Given the literal, PostgreSQL estimates an
 * organisation the last ANALYZE did not see (a new one, or a small one among large ones) at about one
 * row, finds every index led by organisation_id as good as the one the lookup needs, and may take
 * another (okr_events_recorded_at for a stream read), stepping over all the organisation's rows: 2.4 ms
 * at 2,669 events, growing with it. As a subquery's value it is estimated as any organisation, and the
 * lookup's own index wins. For lookups by organisation and a key; test/store.int.test.ts shows both plans.
 */
export const ANY_ORGANISATION = '(SELECT ?::text)';
