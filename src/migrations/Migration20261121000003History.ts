import { Migration } from '@mikro-orm/migrations';

/**
 * Quarter history: key results keep their revisions, original baseline and target, and the target in
 * force when scored; units keep their check-in cadence. Existing rows get values from their current
 * state; `npm run okr -- projections rebuild` recomputes them exactly from the log.
 */
export class Migration20261121000003History extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "okr_units" add column "check_in_cadence" text not null default 'BIWEEKLY';`);
    this.addSql(`alter table "okr_units" alter column "check_in_cadence" drop default;`);
    this.addSql(`alter table "okr_key_results"
      add column "scored_at" timestamptz null,
      add column "scored_target" double precision null,
      add column "original_baseline" double precision null,
      add column "original_target" double precision null,
      add column "revisions" jsonb not null default '[]';`);
    this.addSql(`update "okr_key_results" set "original_baseline" = "baseline", "original_target" = "target";`);
    this.addSql(`alter table "okr_key_results"
      alter column "original_baseline" set not null,
      alter column "original_target" set not null,
      alter column "revisions" drop default;`);
  }
}
