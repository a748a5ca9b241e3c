import { Migration } from '@mikro-orm/migrations';

/** Each read-model table, and the columns its documents are looked up by (each also by log position). */
const TABLES: Record<string, readonly (readonly string[])[]> = {
  okr_units: [['parent_id']],
  okr_quarters: [],
  okr_objectives: [['quarter_id', 'unit_id'], ['parent_id']],
  okr_key_results: [['objective_id'], ['quarter_id', 'unit_id']],
  okr_check_ins: [['key_result_id'], ['quarter_id']],
  okr_retrospectives: [['quarter_id', 'unit_id']],
  okr_effort: [['quarter_id']],
};

/**
 * Temporal read models: beside each read-model table, `<table>_history` keeps every version of every
 * document with the span of the organisation's log positions it was current for, [valid_from, valid_to)
 * (valid_to null: current). "As of T" then reads the versions valid at T's position through these
 * indexes instead of replaying the log (src/history.ts, projections/temporalReadModel.ts).
 *
 * Existing databases have no history yet; it can only be computed from the log. So this migration
 * records a pending rebuild, and the application rebuilds every projection (history included) right
 * after migrating, before it serves anything (src/database.ts).
 */
export class Migration20261205000001TemporalReadModels extends Migration {
  override async up(): Promise<void> {
    for (const [table, lookups] of Object.entries(TABLES)) {
      const history = `${table}_history`;
      this.addSql(`CREATE TABLE "${history}" (LIKE "${table}" INCLUDING DEFAULTS);`);
      this.addSql(`ALTER TABLE "${history}" ADD COLUMN "valid_from" bigint NOT NULL, ADD COLUMN "valid_to" bigint NULL,
        ADD CONSTRAINT "${history}_span" CHECK ("valid_to" IS NULL OR "valid_to" > "valid_from"),
        ADD PRIMARY KEY ("organisation_id", "id", "valid_from");`);
      // The open version of each document: what an append closes when the document changes.
      this.addSql(`CREATE INDEX "${history}_open" ON "${history}" ("organisation_id", "id") WHERE "valid_to" IS NULL;`);
      for (const columns of lookups) {
        this.addSql(`CREATE INDEX "${history}_${columns.join('_')}" ON "${history}" ("organisation_id", ${columns.map((c) => `"${c}"`).join(', ')}, "valid_from");`);
      }
    }
    this.addSql(`
      CREATE TABLE okr_pending_rebuilds (
        reason text PRIMARY KEY,
        recorded_at timestamptz NOT NULL DEFAULT now()
      );
      INSERT INTO okr_pending_rebuilds (reason)
        SELECT 'temporal read models: history computed from the log' WHERE EXISTS (SELECT 1 FROM okr_events);
    `);
  }
}
