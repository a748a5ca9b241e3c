import { Migration } from '@mikro-orm/migrations';

/**
 * A command reads the streams its decision folds without the events the fold ignores (a key result's
 * check-ins and measurements: events/store.ts MANY_PER_STREAM). Through the stream index alone that read
 * stepped over every check-in of the key result, so a check-in cost more the longer its key result had
 * been checked in on (30 ms at 5,000 check-ins). This index holds each stream's other events only: the
 * read is as long as the stream's facts, whatever its check-ins. Its predicate must stay the list in
 * events/store.ts (test/store.int.test.ts checks that the read uses it).
 */
export class Migration20261217000001StreamFacts extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `CREATE INDEX IF NOT EXISTS "okr_events_stream_facts" ON "okr_events" ("organisation_id", "stream_id", "stream_version")
        WHERE "type" NOT IN ('CheckInRecorded', 'KeyResultMeasured');`,
    );
  }
}
