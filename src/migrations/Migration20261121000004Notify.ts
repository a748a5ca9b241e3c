import { Migration } from '@mikro-orm/migrations';

/**
 * A wake-up hint for log followers (the live subscription): every statement that appends events
 * notifies channel okr_events at commit. Followers still poll, so a lost notification only delays.
 */
export class Migration20261121000004Notify extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE FUNCTION okr_notify_appended() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        PERFORM pg_notify('okr_events', '');
        RETURN NULL;
      END
      $fn$;
      CREATE TRIGGER okr_events_notify AFTER INSERT ON okr_events
        FOR EACH STATEMENT EXECUTE FUNCTION okr_notify_appended();
    `);
  }
}
