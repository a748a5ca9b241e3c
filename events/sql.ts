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
