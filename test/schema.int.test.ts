import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSchema, findBreakingChanges, findDangerousChanges } from 'graphql';
import { emittedSdl } from '../src/emitSchema';
import { EMITTED_SCHEMA_PATH } from '../schema/build';
import type { ColumnType } from '../projections/model';
import { ALL_READ_MODELS } from '../projections/models';
import { createTestDatabase, type TestDatabase } from './support/database';

/** The API contract, kept in the repository (see README, "The GraphQL API"). */
const CONTRACT = path.resolve(__dirname, '../contract/okr.graphql');

describe('the GraphQL schema', () => {
  it('breaks nothing in the contract (findBreakingChanges is empty)', async () => {
    const contract = buildSchema(readFileSync(CONTRACT, 'utf8'));
    const emitted = buildSchema(await emittedSdl());
    expect(findBreakingChanges(contract, emitted)).toEqual([]);
    // Relay's Node interface, the connection's last/before and one key result's trend are additions
    // graphql-js calls "dangerous" (a client could notice them); these, and nothing else, are deliberate.
    expect(findDangerousChanges(contract, emitted).map((c) => c.description).sort()).toEqual(
      [
        ...['Unit', 'Quarter', 'Objective', 'KeyResult', 'CheckIn', 'Retrospective', 'Event'].map(
          (type) => `Node added to interfaces implemented by ${type}.`,
        ),
        'An optional arg before on Query.events was added.',
        'An optional arg last on Query.events was added.',
        'An optional arg full on Query.verifyAuditLog was added.',
        'An optional arg record on Query.verifyAuditLog was added.',
        'An optional arg keyResultId on Query.confidenceTrends was added.',
      ].sort(),
    );
  });

  it('is committed as schema/schema.graphql (run `npm run schema` after changing it)', async () => {
    const committed = readFileSync(path.resolve(__dirname, '..', EMITTED_SCHEMA_PATH), 'utf8');
    expect(committed).toBe(await emittedSdl());
  });
});

describe('the migrations', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('schema');
  });
  afterAll(() => db.drop());

  /** How information_schema names each declared column type. */
  const SQL_TYPE: Record<ColumnType, string> = {
    text: 'text',
    bigint: 'bigint',
    int: 'integer',
    'double precision': 'double precision',
    boolean: 'boolean',
    timestamptz: 'timestamp with time zone',
    jsonb: 'jsonb',
  };
  const columnsOf = (table: string) =>
    db.sql.query<{ name: string; type: string; nullable: string }>(
      `SELECT column_name AS name, data_type AS type, is_nullable AS nullable FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = ? ORDER BY column_name`,
      [table],
    );
  /** Each index of a table as its column names in order, the primary key marked. */
  const indexesOf = (table: string) =>
    db.sql.query<{ columns: string[]; primary: boolean }>(
      `SELECT array_agg(a.attname::text ORDER BY k.n) AS columns, x.indisprimary AS primary
         FROM pg_index x
         JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, n) ON true
         JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
        WHERE x.indrelid = ?::regclass GROUP BY x.indexrelid, x.indisprimary`,
      [table],
    );

  it.each(ALL_READ_MODELS.map((m) => [m.name, m]))('create the %s read model\'s table and history table exactly as declared', async (_name, model) => {
    const declared = model.columns.map((c) => ({ name: c.name, type: SQL_TYPE[c.sql], nullable: c.nullable ? 'YES' : 'NO' }));
    const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    expect(await columnsOf(model.table)).toEqual([...declared].sort(byName));
    expect(await columnsOf(model.history)).toEqual(
      [...declared, { name: 'valid_from', type: 'bigint', nullable: 'NO' }, { name: 'valid_to', type: 'bigint', nullable: 'YES' }].sort(byName),
    );
    const live = await indexesOf(model.table);
    const history = await indexesOf(model.history);
    expect(live.filter((i) => i.primary).map((i) => i.columns)).toEqual([['organisation_id', 'id']]);
    expect(history.filter((i) => i.primary).map((i) => i.columns)).toEqual([['organisation_id', 'id', 'valid_from']]);
    // Every lookup the readers make is served by an index on both tables: organisation first, then the lookup.
    for (const lookup of model.lookups) {
      const leading = ['organisation_id', model.columns.find((c) => c.property === lookup[0])?.name];
      for (const [table, indexes] of [[model.table, live], [model.history, history]] as const) {
        expect({ table, lookup, served: indexes.some((i) => i.columns[0] === leading[0] && i.columns[1] === leading[1]) }).toEqual({ table, lookup, served: true });
      }
    }
  });

  it('create no read-model table that is not declared', async () => {
    const declared = ALL_READ_MODELS.flatMap((m) => [m.table, m.history]).sort();
    const rows = await db.sql.query<{ table: string }>(
      `SELECT table_name AS "table" FROM information_schema.tables WHERE table_schema = current_schema()
          AND (table_name LIKE 'okr\\_%\\_history' OR table_name = ANY(?::text[])) ORDER BY 1`,
      [`{${declared.join(',')}}`],
    );
    expect(rows.map((r) => r.table)).toEqual(declared);
  });

  it('are idempotent: running them again changes nothing', async () => {
    await expect(db.orm.getMigrator().up()).resolves.toEqual([]);
  });

  /**
   * Ready to distribute (docs/SCALING.md): on Citus every table is sharded by organisation_id, which its
   * primary key and every unique index must include; keying each table organisation first also keeps each
   * organisation's rows together on one server. Two tables are per deployment, not per organisation.
   */
  const PER_DEPLOYMENT: Record<string, string> = {
    mikro_orm_migrations: 'which migrations ran: the schema is the deployment\'s',
    okr_rate_limits: 'admission counters keyed by person or organisation in one text key, shared by the servers of the deployment',
    okr_pending_rebuilds: 'rebuilds a migration asked for, of every organisation\'s read models at once',
  };

  it('key every table organisation first: primary keys and unique indexes begin with organisation_id', async () => {
    const rows = await db.sql.query<{ table: string; index: string; primary: boolean; first: string | null }>(
      `SELECT t.relname AS "table", i.relname AS "index", x.indisprimary AS "primary", a.attname AS "first"
         FROM pg_index x
         JOIN pg_class i ON i.oid = x.indexrelid
         JOIN pg_class t ON t.oid = x.indrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = current_schema()
         LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0]
        WHERE (x.indisunique OR x.indisprimary) AND t.relkind = 'r'
        ORDER BY 1, 2`,
    );
    const tables = await db.sql.query<{ table: string }>(
      `SELECT c.relname AS "table" FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
        WHERE c.relkind = 'r' ORDER BY 1`,
    );
    const keyed = rows.filter((r) => !(r.table in PER_DEPLOYMENT));
    expect(keyed.filter((r) => r.first !== 'organisation_id').map((r) => `${r.table}.${r.index}`)).toEqual([]);
    const withPrimaryKey = new Set(keyed.filter((r) => r.primary).map((r) => r.table));
    expect(tables.map((t) => t.table).filter((t) => !(t in PER_DEPLOYMENT) && !withPrimaryKey.has(t))).toEqual([]);
    // The log, its tree and its checkpoints are among them (the test would pass vacuously on an empty list).
    expect([...withPrimaryKey]).toEqual(expect.arrayContaining(['okr_events', 'okr_log_heads', 'okr_tree_nodes', 'okr_checkpoints', 'okr_streams', 'okr_idempotency']));
    expect(Object.keys(PER_DEPLOYMENT).every((t) => tables.some((x) => x.table === t))).toBe(true);
  });

  it('declare no sequence, serial or identity column outside the migrations\' own table: positions are handed out per organisation', async () => {
    const sequences = await db.sql.query<{ name: string }>(
      "SELECT sequence_name AS name FROM information_schema.sequences WHERE sequence_schema = current_schema() ORDER BY 1",
    );
    expect(sequences.map((s) => s.name)).toEqual(['mikro_orm_migrations_id_seq']);
  });
});
