import { Migration } from '@mikro-orm/migrations';
import { GENESIS_HASH, chainHash } from '../../events/hash';
import { eventLeafHash } from '../../events/leaf';
import { appendLeaves, type Hash } from '../../events/merkle';

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
  hash: string;
}

interface Organisation {
  count: number;
  frontier: Hash[];
  firstOld: number;
  lastOld: number;
  lastRecordedAt: string;
}

const PAGE = 5000;
const b64 = (hash: Hash): string => hash.toString('base64');

/**
 * One log per organisation (events/store.ts).
 *
 * Until now the service had one log: one position counter (okr_log_head), one hash chain over every
 * organisation's events. From here each organisation has its own head row, positions from 1 and its own
 * RFC 6962 Merkle tree (each event's leaf hash on its row, complete subtrees above it in okr_tree_nodes).
 *
 * What was there is converted, not lost: the old chain is recomputed once more and its last hash, its
 * head and whether it still matched are kept in okr_log_migrations for every organisation (so the change
 * of format is itself on the record), each event's old position is kept in okr_log_renumbering, and
 * positions are renumbered per organisation in the old log order. Runs in one transaction (migrations
 * are allOrNothing), with the append-only trigger lifted for it alone.
 */
export class Migration20261204000001OrganisationLogs extends Migration {
  override async up(): Promise<void> {
    await this.execute(`
      CREATE TABLE okr_log_heads (
        organisation_id text PRIMARY KEY,
        position bigint NOT NULL CHECK (position >= 0),
        recorded_at timestamptz NOT NULL,
        frontier jsonb NOT NULL
      );
      CREATE TABLE okr_tree_nodes (
        organisation_id text NOT NULL,
        level smallint NOT NULL CHECK (level > 0),
        idx bigint NOT NULL CHECK (idx >= 0),
        hash bytea NOT NULL CHECK (octet_length(hash) = 32),
        PRIMARY KEY (organisation_id, level, idx)
      );
      CREATE TABLE okr_checkpoints (
        organisation_id text NOT NULL,
        tree_size bigint NOT NULL CHECK (tree_size >= 0),
        root_hash bytea NOT NULL CHECK (octet_length(root_hash) = 32),
        origin text NOT NULL,
        key_name text NOT NULL,
        note text NOT NULL,
        signed_at timestamptz NOT NULL,
        PRIMARY KEY (organisation_id, tree_size)
      );
      CREATE TABLE okr_audit_verifications (
        organisation_id text PRIMARY KEY,
        tree_size bigint NOT NULL,
        root_hash bytea NOT NULL,
        note text NOT NULL,
        verified_at timestamptz NOT NULL
      );
      CREATE TABLE okr_log_migrations (
        organisation_id text NOT NULL,
        migration text NOT NULL,
        migrated_at timestamptz NOT NULL,
        events bigint NOT NULL,
        old_first_position bigint,
        old_last_position bigint,
        old_head_position bigint NOT NULL,
        old_chain_last_hash text NOT NULL,
        old_chain_matched boolean NOT NULL,
        old_chain_first_broken_position bigint,
        PRIMARY KEY (organisation_id, migration)
      );
      CREATE TABLE okr_log_renumbering (
        organisation_id text NOT NULL,
        position bigint NOT NULL,
        old_position bigint NOT NULL,
        PRIMARY KEY (organisation_id, position)
      );
      ALTER TABLE okr_events ADD COLUMN leaf_hash bytea;
      ALTER TABLE okr_events DISABLE TRIGGER okr_events_append_only;
    `);

    const [oldHead] = (await this.execute('SELECT position, last_hash FROM okr_log_head WHERE id = 1')) as { position: string; last_hash: string }[];
    const organisations = new Map<string, Organisation>();
    let chain = GENESIS_HASH;
    let firstBroken: number | null = null;
    let after = 0;
    for (;;) {
      const rows = (await this.execute(
        `SELECT position, organisation_id, stream_id, stream_version, type, schema_version, data, metadata, recorded_at, hash
           FROM okr_events WHERE position > ? ORDER BY position LIMIT ${PAGE}`,
        [after],
      )) as Row[];
      if (rows.length === 0) break;
      const leaves: { position: number; leaf: string }[] = [];
      const nodes: { organisation_id: string; level: number; idx: number; hash: string }[] = [];
      for (const row of rows) {
        const old = Number(row.position);
        const recordedAt = new Date(row.recorded_at).toISOString();
        // The event as recorded: hashed into the old chain at its old position, and as a leaf at its new one.
        const event = {
          organisationId: row.organisation_id,
          streamId: row.stream_id,
          version: row.stream_version,
          type: row.type,
          schemaVersion: row.schema_version,
          data: row.data,
          metadata: row.metadata,
          recordedAt,
        };
        chain = chainHash(chain, { ...event, position: old });
        if (firstBroken === null && chain !== row.hash) firstBroken = old;
        let org = organisations.get(row.organisation_id);
        if (!org) {
          org = { count: 0, frontier: [], firstOld: old, lastOld: old, lastRecordedAt: recordedAt };
          organisations.set(row.organisation_id, org);
        }
        const leaf = eventLeafHash({ ...event, position: org.count + 1 });
        const grown = appendLeaves(org.frontier, org.count, [leaf]);
        for (const node of grown.nodes) {
          if (node.level > 0) nodes.push({ organisation_id: row.organisation_id, level: node.level, idx: node.index, hash: b64(node.hash) });
        }
        org.frontier = grown.frontier;
        org.count += 1;
        org.lastOld = old;
        org.lastRecordedAt = recordedAt;
        leaves.push({ position: old, leaf: b64(leaf) });
      }
      await this.execute(
        `UPDATE okr_events e SET leaf_hash = decode(l.leaf, 'base64')
           FROM jsonb_to_recordset(?::jsonb) AS l(position bigint, leaf text) WHERE e.position = l.position`,
        [JSON.stringify(leaves)],
      );
      if (nodes.length > 0) {
        await this.execute(
          `INSERT INTO okr_tree_nodes (organisation_id, level, idx, hash)
           SELECT n.organisation_id, n.level, n.idx, decode(n.hash, 'base64')
             FROM jsonb_to_recordset(?::jsonb) AS n(organisation_id text, level smallint, idx bigint, hash text)`,
          [JSON.stringify(nodes)],
        );
      }
      after = Number(rows[rows.length - 1]?.position);
    }
    const headPosition = Number(oldHead?.position ?? 0);
    const headHash = oldHead?.last_hash ?? GENESIS_HASH;
    // A log whose tail was removed, or whose head was changed, no longer matched its chain either.
    if (firstBroken === null && (after !== headPosition || chain !== headHash)) firstBroken = after + 1;

    await this.execute(`
      INSERT INTO okr_log_renumbering (organisation_id, position, old_position)
      SELECT organisation_id, row_number() OVER (PARTITION BY organisation_id ORDER BY position), position FROM okr_events;
      ALTER TABLE okr_events DROP CONSTRAINT okr_events_pkey;
      UPDATE okr_events e SET position = r.position
        FROM okr_log_renumbering r WHERE r.organisation_id = e.organisation_id AND r.old_position = e.position;
      -- Read models order units, objectives and key results by the position of the event that made them.
      UPDATE okr_units t SET seq = r.position
        FROM okr_log_renumbering r WHERE r.organisation_id = t.organisation_id AND r.old_position = t.seq;
      UPDATE okr_objectives t SET seq = r.position
        FROM okr_log_renumbering r WHERE r.organisation_id = t.organisation_id AND r.old_position = t.seq;
      UPDATE okr_key_results t SET seq = r.position
        FROM okr_log_renumbering r WHERE r.organisation_id = t.organisation_id AND r.old_position = t.seq;
      ALTER TABLE okr_events ADD PRIMARY KEY (organisation_id, position);
      ALTER TABLE okr_events ALTER COLUMN leaf_hash SET NOT NULL;
      ALTER TABLE okr_events ADD CONSTRAINT okr_events_leaf_hash_size CHECK (octet_length(leaf_hash) = 32);
      ALTER TABLE okr_events DROP COLUMN hash;
      DROP INDEX okr_events_organisation_position;
      DROP INDEX okr_events_recorded_at;
      CREATE INDEX okr_events_recorded_at ON okr_events (organisation_id, recorded_at, position);
      ALTER TABLE okr_events ENABLE TRIGGER okr_events_append_only;
      DROP TABLE okr_log_head;
    `);

    const heads = [...organisations.entries()].map(([organisation_id, org]) => ({
      organisation_id,
      position: org.count,
      recorded_at: org.lastRecordedAt,
      frontier: org.frontier.map(b64),
      old_first_position: org.firstOld,
      old_last_position: org.lastOld,
    }));
    await this.execute(
      `INSERT INTO okr_log_heads (organisation_id, position, recorded_at, frontier)
       SELECT h.organisation_id, h.position, h.recorded_at, h.frontier
         FROM jsonb_to_recordset(?::jsonb) AS h(organisation_id text, position bigint, recorded_at timestamptz, frontier jsonb)`,
      [JSON.stringify(heads)],
    );
    await this.execute(
      `INSERT INTO okr_log_migrations (organisation_id, migration, migrated_at, events, old_first_position, old_last_position,
                                       old_head_position, old_chain_last_hash, old_chain_matched, old_chain_first_broken_position)
       SELECT h.organisation_id, 'OrganisationLogs', now(), h.position, h.old_first_position, h.old_last_position, ?, ?, ?, ?
         FROM jsonb_to_recordset(?::jsonb) AS h(organisation_id text, position bigint, old_first_position bigint, old_last_position bigint)`,
      [headPosition, headHash, firstBroken === null, firstBroken, JSON.stringify(heads)],
    );

    // The wake-up hint names the organisations whose logs moved, so a follower reads only their heads.
    await this.execute(`
      CREATE OR REPLACE FUNCTION okr_notify_appended() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        PERFORM pg_notify('okr_events', o.organisation_id) FROM (SELECT DISTINCT organisation_id FROM appended) o;
        RETURN NULL;
      END
      $fn$;
      DROP TRIGGER okr_events_notify ON okr_events;
      CREATE TRIGGER okr_events_notify AFTER INSERT ON okr_events REFERENCING NEW TABLE AS appended
        FOR EACH STATEMENT EXECUTE FUNCTION okr_notify_appended();
    `);
    await this.execute(`
      CREATE TRIGGER okr_log_heads_kept BEFORE DELETE ON okr_log_heads
        FOR EACH ROW EXECUTE FUNCTION okr_refuse_rewrite();
      CREATE TRIGGER okr_log_heads_no_truncate BEFORE TRUNCATE ON okr_log_heads
        FOR EACH STATEMENT EXECUTE FUNCTION okr_refuse_rewrite();
    `);
    for (const table of ['okr_tree_nodes', 'okr_checkpoints', 'okr_log_migrations', 'okr_log_renumbering']) {
      await this.execute(`
        CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON ${table}
          FOR EACH ROW EXECUTE FUNCTION okr_refuse_rewrite();
        CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table}
          FOR EACH STATEMENT EXECUTE FUNCTION okr_refuse_rewrite();
      `);
    }
  }
}
