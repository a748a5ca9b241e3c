import { Migration } from '@mikro-orm/migrations';

/**
 * Idempotency keys belong to the person who sent them: two people picking the same key no longer
 * collide, and nobody can replay someone else's command to learn its result.
 */
export class Migration20261121000006IdempotencyPerActor extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      ALTER TABLE okr_idempotency ADD COLUMN actor text NOT NULL DEFAULT '';
      ALTER TABLE okr_idempotency ALTER COLUMN actor DROP DEFAULT;
      ALTER TABLE okr_idempotency DROP CONSTRAINT okr_idempotency_pkey;
      ALTER TABLE okr_idempotency ADD PRIMARY KEY (organisation_id, actor, key);
    `);
  }
}
