import { Migration } from '@mikro-orm/migrations';

/**
 * The inline read models (projections/entities.ts). Generated from the entities with MikroORM's
 * schema generator; test/schema.int.test.ts fails if entities and migrations drift apart.
 */
export class Migration20261121000002ReadModels extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "okr_check_ins" ("organisation_id" text not null, "id" text not null, "key_result_id" text not null, "unit_id" text not null, "quarter_id" text not null, "version" int not null, "recorded_at" timestamptz not null, "as_of" timestamptz not null, "confidence" int not null, "value" double precision null, "what_changed" text null, "blockers" text null, "author" text null, constraint "okr_check_ins_pkey" primary key ("organisation_id", "id"));`);
    this.addSql(`create index "okr_check_ins_organisation_id_key_result_id_as_of_index" on "okr_check_ins" ("organisation_id", "key_result_id", "as_of");`);
    this.addSql(`create table "okr_effort" ("organisation_id" text not null, "id" text not null, "unit_id" text not null, "quarter_id" text not null, "setting_days" double precision not null, "check_in_days" double precision not null, "scoring_days" double precision not null, "retrospective_days" double precision not null, "check_ins" int not null, constraint "okr_effort_pkey" primary key ("organisation_id", "id"));`);
    this.addSql(`create index "okr_effort_organisation_id_quarter_id_index" on "okr_effort" ("organisation_id", "quarter_id");`);
    this.addSql(`create table "okr_key_results" ("organisation_id" text not null, "id" text not null, "seq" bigint not null, "objective_id" text not null, "unit_id" text not null, "quarter_id" text not null, "title" text not null, "metric" text not null, "unit" text null, "baseline" double precision not null, "target" double precision not null, "direction" text not null, "kind" text not null, "current" double precision null, "confidence" int null, "latest_check_in_as_of" timestamptz null, "score" double precision null, "score_note" text null, "version" int not null, "defined_at" timestamptz not null, constraint "okr_key_results_pkey" primary key ("organisation_id", "id"));`);
    this.addSql(`create index "okr_key_results_organisation_id_quarter_id_unit_id_index" on "okr_key_results" ("organisation_id", "quarter_id", "unit_id");`);
    this.addSql(`create index "okr_key_results_organisation_id_objective_id_index" on "okr_key_results" ("organisation_id", "objective_id");`);
    this.addSql(`create table "okr_objectives" ("organisation_id" text not null, "id" text not null, "seq" bigint not null, "unit_id" text not null, "quarter_id" text not null, "title" text not null, "description" text null, "aspirational" boolean not null, "lifecycle" text not null, "retired_reason" text null, "parent_id" text null, "version" int not null, "key_result_scores" jsonb not null, "score" double precision null, "drafted_at" timestamptz not null, "committed_at" timestamptz null, constraint "okr_objectives_pkey" primary key ("organisation_id", "id"));`);
    this.addSql(`create index "okr_objectives_organisation_id_parent_id_index" on "okr_objectives" ("organisation_id", "parent_id");`);
    this.addSql(`create index "okr_objectives_organisation_id_quarter_id_unit_id_index" on "okr_objectives" ("organisation_id", "quarter_id", "unit_id");`);
    this.addSql(`create table "okr_quarters" ("organisation_id" text not null, "id" text not null, "starts_on" timestamptz not null, "ends_on" timestamptz not null, "setting_opens_on" timestamptz not null, "closed_at" timestamptz null, constraint "okr_quarters_pkey" primary key ("organisation_id", "id"));`);
    this.addSql(`create table "okr_retrospectives" ("organisation_id" text not null, "id" text not null, "unit_id" text not null, "quarter_id" text not null, "learnings" text not null, "calibrations" jsonb not null, "recorded_at" timestamptz not null, constraint "okr_retrospectives_pkey" primary key ("organisation_id", "id"));`);
    this.addSql(`create index "okr_retrospectives_organisation_id_quarter_id_index" on "okr_retrospectives" ("organisation_id", "quarter_id");`);
    this.addSql(`create table "okr_units" ("organisation_id" text not null, "id" text not null, "seq" bigint not null, "name" text not null, "level" text not null, "parent_id" text null, "registered_at" timestamptz not null, constraint "okr_units_pkey" primary key ("organisation_id", "id"));`);
    this.addSql(`create index "okr_units_organisation_id_parent_id_index" on "okr_units" ("organisation_id", "parent_id");`);
  }
}
