import type { MikroORM } from '@mikro-orm/postgresql';
import { EventStore } from '../events/store';
import { MemoryReadModel } from '../projections/memory';
import { sqlOf } from './database';

/** Events read per page, folded per batch, and the longest stretch of folding without a pause (ms). */
const REPLAY_PAGE = 2000;
const REPLAY_BATCH = 50;
const TIME_SLICE_MS = 2;

/**
 * Answers "what did the read model look like at instant T": the log is a prefix at any recorded
 * time (recorded_at never goes backwards), so the state at T is the same pure projections folded over
 * the events recorded at or before T. Replays are scoped to one quarter (plus the units) and the
 * latest few are kept, keyed by the last position they include, so repeated asOf reads are cheap.
 */
export class History {
  private readonly cache = new Map<string, Promise<MemoryReadModel>>();

  constructor(
    private readonly orm: MikroORM,
    private readonly store = new EventStore(),
    private readonly cacheSize = 16,
  ) {}

  /** The organisation's last position recorded at or before `at` (0 before its first event). */
  positionAt(organisationId: string, at: Date): Promise<number> {
    return this.store.positionAt(sqlOf(this.orm.em.fork()), organisationId, at);
  }

  async quarterAt(organisationId: string, quarterId: string, at: Date): Promise<MemoryReadModel> {
    const upTo = await this.positionAt(organisationId, at);
    const key = `${organisationId}\u0000${quarterId}\u0000${upTo}\u0000${at.toISOString()}`;
    const cached = this.cache.get(key);
    if (cached) {
      this.cache.delete(key);
      this.cache.set(key, cached);
      return cached;
    }
    const built = this.replay(organisationId, quarterId, at, upTo);
    this.cache.set(key, built);
    built.catch(() => this.cache.delete(key));
    while (this.cache.size > this.cacheSize) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.cache.delete(oldest);
    }
    return built;
  }

  private async replay(organisationId: string, quarterId: string, at: Date, upTo: number): Promise<MemoryReadModel> {
    const model = new MemoryReadModel(at);
    const sql = sqlOf(this.orm.em.fork());
    let slice = performance.now();
    for await (const page of this.store.stream(sql, { organisationId, quarterId, withUntagged: true, until: at }, REPLAY_PAGE)) {
      const events = page.filter((e) => e.position <= upTo);
      for (let i = 0; i < events.length; i += REPLAY_BATCH) {
        model.apply(events.slice(i, i + REPLAY_BATCH));
        // Folding is CPU work on the server's only thread: let other requests run every few milliseconds.
        if (performance.now() - slice >= TIME_SLICE_MS) {
          await new Promise((resolve) => setImmediate(resolve));
          slice = performance.now();
        }
      }
    }
    return model;
  }
}
