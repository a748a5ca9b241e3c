import { Migration } from '@mikro-orm/migrations';

/**
 * Rate-limit counters shared by every server instance on the database (OKR_RATE_STORE=postgres), in
 * the shape rate-limiter-flexible's PostgreSQL store uses: one row per person or organisation and
 * window, with the window's end in epoch milliseconds. Rows expired for an hour are deleted by the
 * servers themselves. Unused with the default in-memory store.
 */
export class Migration20261122000001RateLimits extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE okr_rate_limits (
        key varchar(255) PRIMARY KEY,
        points integer NOT NULL DEFAULT 0,
        expire bigint
      );
    `);
  }
}
