import { Migration } from '@mikro-orm/migrations';
import { GENESIS_HASH, chainHash } from '../../events/hash';

interface Row {
  position: string;
  organisation_id: string;
  stream_id: string;
  stream_version: number;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: unknown;
  recorded_at: string | Date;
}

/**
 * The hash chain (events/hash.ts): every event gets the hash linking it to its predecessor, and the
 * head row the last one. Events recorded before this migration are chained here, in position order,
 * with the append-only trigger lifted for the duration of this one transaction.
 */
export class Migration20261121000005HashChain extends Migration {
  override async up(): Promise<void> {
    await this.execute(`ALTER TABLE okr_events ADD COLUMN hash text`);
    await this.execute(`ALTER TABLE okr_log_head ADD COLUMN last_hash text NOT NULL DEFAULT '${GENESIS_HASH}'`);
    await this.execute('ALTER TABLE okr_events DISABLE TRIGGER okr_events_append_only');
    let previous = GENESIS_HASH;
    let after = 0;
    for (;;) {
      const rows = (await this.execute(
        `SELECT position, organisation_id, stream_id, stream_version, type, schema_version, data, metadata, recorded_at
           FROM okr_events WHERE position > ${after} ORDER BY position LIMIT 5000`,
      )) as Row[];
      if (rows.length === 0) break;
      const hashes = rows.map((r) => {
        previous = chainHash(previous, {
          position: Number(r.position),
          organisationId: r.organisation_id,
          streamId: r.stream_id,
          version: r.stream_version,
          type: r.type,
          schemaVersion: r.schema_version,
          data: r.data,
          metadata: r.metadata,
          recordedAt: new Date(r.recorded_at).toISOString(),
        });
        return { position: Number(r.position), hash: previous };
      });
      await this.execute(
        `UPDATE okr_events e SET hash = h.hash
           FROM jsonb_to_recordset('${JSON.stringify(hashes)}'::jsonb) AS h(position bigint, hash text)
          WHERE e.position = h.position`,
      );
      after = Number(rows[rows.length - 1]?.position);
    }
    await this.execute('ALTER TABLE okr_events ENABLE TRIGGER okr_events_append_only');
    await this.execute(`UPDATE okr_log_head SET last_hash = '${previous}' WHERE id = 1`);
    await this.execute('ALTER TABLE okr_events ALTER COLUMN hash SET NOT NULL');
  }
}
