import type { Client } from 'pg';
import type { Sql } from '../../events/sql';

/**
 * The store's Sql over a plain pg client, so a test can hold transactions open and commit them in
 * any order it likes. Our statements use `?` only as placeholders.
 */
export function pgSql(client: Client): Sql {
  return {
    async query<T>(text: string, params: readonly unknown[] = []): Promise<T[]> {
      let n = 0;
      const numbered = text.replace(/\?/g, () => `$${++n}`);
      const result = await client.query(numbered, [...params]);
      return result.rows as T[];
    },
  };
}
