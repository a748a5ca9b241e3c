import { Migration } from '@mikro-orm/migrations';

/**
 * Measurements and carry-over (projections/models/measurements.ts, keyResults.ts, objectives.ts).
 *
 * - okr_measurements and its history: every KeyResultMeasured, looked up by key result and by quarter.
 *   No event of that type exists before this release, so both start empty.
 * - Key results: where the current value came from (current_at, current_source) and the key result a
 *   carried one continues (carried_from). Objectives: carried_from and carried_to. Nothing was carried
 *   before, so those start null and empty.
 *
 * `current` now follows readings (check-ins that give a value, and measurements): a check-in without a
 * value no longer blanks it. Where every check-in gave a value the two rules agree, and current_at is the
 * latest check-in's moment, filled here in the tables and every history version. Where some check-in gave
 * none, only the log can say what `current` is at each position: the migration then records a pending
 * rebuild, which the application runs right after migrating (src/database.ts), before serving anything.
 */
export class Migration20261216000001MeasurementsAndCarryOver extends Migration {
  override async up(): Promise<void> {
    this.addSql(`CREATE TABLE "okr_measurements" ("organisation_id" text NOT NULL, "id" text NOT NULL, "key_result_id" text NOT NULL,
      "unit_id" text NOT NULL, "quarter_id" text NOT NULL, "version" int NOT NULL, "recorded_at" timestamptz NOT NULL,
      "at" timestamptz NOT NULL, "value" double precision NOT NULL, "source" text NOT NULL, "author" text NOT NULL,
      CONSTRAINT "okr_measurements_pkey" PRIMARY KEY ("organisation_id", "id"));`);
    this.addSql('CREATE INDEX "okr_measurements_key_result_id" ON "okr_measurements" ("organisation_id", "key_result_id", "at");');
    this.addSql('CREATE INDEX "okr_measurements_quarter_id" ON "okr_measurements" ("organisation_id", "quarter_id");');
    // As Migration20261205000001TemporalReadModels made every history table.
    this.addSql('CREATE TABLE "okr_measurements_history" (LIKE "okr_measurements" INCLUDING DEFAULTS);');
    this.addSql(`ALTER TABLE "okr_measurements_history" ADD COLUMN "valid_from" bigint NOT NULL, ADD COLUMN "valid_to" bigint NULL,
      ADD CONSTRAINT "okr_measurements_history_span" CHECK ("valid_to" IS NULL OR "valid_to" > "valid_from"),
      ADD PRIMARY KEY ("organisation_id", "id", "valid_from");`);
    this.addSql('CREATE INDEX "okr_measurements_history_open" ON "okr_measurements_history" ("organisation_id", "id") WHERE "valid_to" IS NULL;');
    this.addSql('CREATE INDEX "okr_measurements_history_key_result_id" ON "okr_measurements_history" ("organisation_id", "key_result_id", "valid_from");');
    this.addSql('CREATE INDEX "okr_measurements_history_quarter_id" ON "okr_measurements_history" ("organisation_id", "quarter_id", "valid_from");');

    for (const table of ['okr_key_results', 'okr_key_results_history']) {
      this.addSql(`ALTER TABLE "${table}" ADD COLUMN "current_at" timestamptz NULL, ADD COLUMN "current_source" text NULL,
        ADD COLUMN "carried_from" text NULL;`);
      this.addSql(`UPDATE "${table}" SET "current_at" = "latest_check_in_as_of" WHERE "latest_check_in_as_of" IS NOT NULL;`);
    }
    for (const table of ['okr_objectives', 'okr_objectives_history']) {
      // The default fills the rows there are; the declaration has none, so it goes again.
      this.addSql(`ALTER TABLE "${table}" ADD COLUMN "carried_from" text NULL, ADD COLUMN "carried_to" jsonb NOT NULL DEFAULT '[]';`);
      this.addSql(`ALTER TABLE "${table}" ALTER COLUMN "carried_to" DROP DEFAULT;`);
    }
    this.addSql(`INSERT INTO okr_pending_rebuilds (reason)
      SELECT 'current values follow readings: a check-in without a value no longer blanks them'
       WHERE EXISTS (SELECT 1 FROM okr_events WHERE type = 'CheckInRecorded' AND data ->> 'value' IS NULL)
      ON CONFLICT DO NOTHING;`);
  }
}
