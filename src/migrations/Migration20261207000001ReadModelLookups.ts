import { Migration } from '@mikro-orm/migrations';

/**
 * Every lookup a read model declares (projections/models/) is served by an index on its live table as on
 * its history table. The live check-ins were looked up by quarter (trends, health, effort audits) with no
 * index for it, scanning the organisation's check-ins.
 */
export class Migration20261207000001ReadModelLookups extends Migration {
  override async up(): Promise<void> {
    this.addSql('CREATE INDEX IF NOT EXISTS "okr_check_ins_quarter_id" ON "okr_check_ins" ("organisation_id", "quarter_id");');
  }
}
