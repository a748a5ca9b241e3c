import { Migration } from '@mikro-orm/migrations';

/**
 * Outgoing webhooks (src/webhooks/): their configuration, the durable outbox they are delivered from, and
 * what the cause scheduler remembers between evaluations. Configuration lives here and not in the log: it
 * holds secrets, and removing a webhook must be able to forget them.
 *
 * Every table is keyed organisation first (test/schema.int.test.ts). The outbox's unique
 * (organisation_id, webhook_id, cause_key) is what makes one cause one delivery per webhook, however many
 * servers or restarts enqueue it. No sequences: delivery ids are UUIDs (gen_random_uuid, PostgreSQL 13+).
 * No foreign keys, as elsewhere (docs/SCALING.md): webhooks are never deleted, only marked REMOVED.
 */
export class Migration20261215000001Webhooks extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE okr_webhooks (
        organisation_id text NOT NULL,
        id text NOT NULL,
        unit_id text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('SLACK', 'SIGNED_JSON')),
        url text NOT NULL,
        secret text,
        causes text[] NOT NULL,
        state text NOT NULL CHECK (state IN ('ACTIVE', 'PAUSED', 'REMOVED')),
        created_at timestamptz NOT NULL,
        created_by text NOT NULL,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (organisation_id, id)
      );
    `);
    this.addSql('CREATE INDEX okr_webhooks_unit ON okr_webhooks (organisation_id, unit_id);');
    this.addSql(`
      CREATE TABLE okr_webhook_outbox (
        organisation_id text NOT NULL,
        id text NOT NULL,
        webhook_id text NOT NULL,
        unit_id text NOT NULL,
        cause_key text NOT NULL,
        cause jsonb NOT NULL,
        occurred_at timestamptz NOT NULL,
        state text NOT NULL CHECK (state IN ('PENDING', 'DELIVERED', 'FAILED', 'CANCELLED')),
        attempts int NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL,
        lease text,
        last_status int,
        last_error text,
        last_attempt_at timestamptz,
        created_at timestamptz NOT NULL,
        delivered_at timestamptz,
        PRIMARY KEY (organisation_id, id),
        UNIQUE (organisation_id, webhook_id, cause_key)
      );
    `);
    // The delivery worker's claim reads the due rows of every organisation; a unit's deliveries list newest first.
    this.addSql(`CREATE INDEX okr_webhook_outbox_due ON okr_webhook_outbox (next_attempt_at) WHERE state = 'PENDING';`);
    this.addSql('CREATE INDEX okr_webhook_outbox_unit ON okr_webhook_outbox (organisation_id, unit_id, created_at);');
    this.addSql(`
      CREATE TABLE okr_webhook_problems (
        organisation_id text NOT NULL,
        quarter_id text NOT NULL,
        finding text NOT NULL,
        unit_id text NOT NULL,
        since timestamptz NOT NULL,
        PRIMARY KEY (organisation_id, quarter_id, finding)
      );
    `);
    this.addSql(`
      CREATE TABLE okr_webhook_evaluations (
        organisation_id text NOT NULL PRIMARY KEY,
        health_baseline_at timestamptz NOT NULL
      );
    `);
  }
}
