import type { EntityManager } from '@mikro-orm/postgresql';
import type { Sql } from '../events/sql';

import { IsolationLevel } from '@mikro-orm/core';
import type { MikroORM } from '@mikro-orm/postgresql';

/**
 * Runs `work` on one consistent snapshot of the database (REPEATABLE READ, read only): whole-log
 * checks then see no append that commits while they read.
 */
export function inSnapshot<T>(orm: MikroORM, work: (sql: Sql) => Promise<T>): Promise<T> {
  return orm.em.fork().transactional((em) => work(sqlOf(em as EntityManager)), {
    isolationLevel: IsolationLevel.REPEATABLE_READ,
    readOnly: true,
  });
}

/** The store's view of an entity manager: raw statements inside its transaction, if it has one. */
export function sqlOf(em: EntityManager): Sql {
  const connection = em.getConnection();
  return {
    query: async <T>(text: string, params: readonly unknown[] = []) =>
      (await connection.execute(text, [...params], 'all', em.getTransactionContext())) as T[],
  };
}
