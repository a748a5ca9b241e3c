import type { MikroORM } from '@mikro-orm/postgresql';
import { EventStore } from '../events/store';
import type { ReadModel } from '../projections/readModel';
import { TemporalReadModel } from '../projections/tables';
import type { Sql } from '../events/sql';
import { pooledSql } from './clientSql';

/**
 * Answers "what did the read model look like at instant T": the organisation's log is a prefix at any
 * recorded time (recorded_at never goes backwards), so T maps to the last position recorded at or
 * before it, and the read models' history tables hold every version of every document with the
 * positions it was current for. An answer as of T is the live query with one more condition, read
 * through indexes: nothing is replayed, and memory does not grow with the history.
 * (projections/memory.ts folds the log in memory: the reference the tests compare this with.)
 */
export class History {
  private readonly reads: Sql;

  constructor(
    orm: MikroORM,
    private readonly store = new EventStore(),
  ) {
    this.reads = pooledSql(orm);
  }

  /** The organisation's last position recorded at or before `at` (0 before its first event). */
  positionAt(organisationId: string, at: Date): Promise<number> {
    return this.store.positionAt(this.reads, organisationId, at);
  }

  /** The organisation's read model as it stood at `at`. */
  async at(organisationId: string, at: Date): Promise<ReadModel> {
    return new TemporalReadModel(this.reads, organisationId, await this.positionAt(organisationId, at), at);
  }
}
