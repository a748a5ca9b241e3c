import type { EntityManager } from '@mikro-orm/postgresql';
import type { Sql } from '../events/sql';

/** The store's view of an entity manager: raw statements inside its transaction, if it has one. */
export function sqlOf(em: EntityManager): Sql {
  const connection = em.getConnection();
  return {
    query: async <T>(text: string, params: readonly unknown[] = []) =>
      (await connection.execute(text, [...params], 'all', em.getTransactionContext())) as T[],
  };
}
