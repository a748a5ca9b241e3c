import { Migration } from '@mikro-orm/migrations';

/**
 * The append-only event log (see events/store.ts for the ordering design).
 * The database itself refuses UPDATE, DELETE and TRUNCATE on okr_events, and removal of the head row.
 */
export class Migration20261121000001EventStore extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE okr_log_head (
        id int PRIMARY KEY CHECK (id = 1),
        position bigint NOT NULL,
        recorded_at timestamptz NOT NULL
      );
      INSERT INTO okr_log_head (id, position, recorded_at) VALUES (1, 0, '-infinity');

      CREATE TABLE okr_streams (
        organisation_id text NOT NULL,
        stream_id text NOT NULL,
        stream_type text NOT NULL,
        version int NOT NULL CHECK (version > 0),
        PRIMARY KEY (organisation_id, stream_id)
      );

      CREATE TABLE okr_events (
        position bigint PRIMARY KEY,
        organisation_id text NOT NULL,
        stream_id text NOT NULL,
        stream_version int NOT NULL CHECK (stream_version > 0),
        type text NOT NULL,
        schema_version int NOT NULL,
        data jsonb NOT NULL,
        metadata jsonb NOT NULL,
        recorded_at timestamptz NOT NULL,
        quarter_id text,
        unit_id text,
        UNIQUE (organisation_id, stream_id, stream_version)
      );
      CREATE INDEX okr_events_organisation_position ON okr_events (organisation_id, position);
      CREATE INDEX okr_events_quarter ON okr_events (organisation_id, quarter_id, position) WHERE quarter_id IS NOT NULL;
      CREATE INDEX okr_events_unit ON okr_events (organisation_id, unit_id, position) WHERE unit_id IS NOT NULL;
      CREATE INDEX okr_events_recorded_at ON okr_events (recorded_at, position);

      CREATE TABLE okr_idempotency (
        organisation_id text NOT NULL,
        key text NOT NULL,
        command text NOT NULL,
        request_hash text NOT NULL,
        result jsonb NOT NULL,
        stream_id text NOT NULL,
        PRIMARY KEY (organisation_id, key)
      );

      CREATE FUNCTION okr_refuse_rewrite() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        RAISE EXCEPTION 'history is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
          USING ERRCODE = 'P0001', HINT = 'Record a new event (a correction) instead of changing an old one.';
      END
      $fn$;
      CREATE TRIGGER okr_events_append_only BEFORE UPDATE OR DELETE ON okr_events
        FOR EACH ROW EXECUTE FUNCTION okr_refuse_rewrite();
      CREATE TRIGGER okr_events_no_truncate BEFORE TRUNCATE ON okr_events
        FOR EACH STATEMENT EXECUTE FUNCTION okr_refuse_rewrite();
      CREATE TRIGGER okr_log_head_kept BEFORE DELETE ON okr_log_head
        FOR EACH ROW EXECUTE FUNCTION okr_refuse_rewrite();
      CREATE TRIGGER okr_log_head_no_truncate BEFORE TRUNCATE ON okr_log_head
        FOR EACH STATEMENT EXECUTE FUNCTION okr_refuse_rewrite();
    `);
  }
}
