import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSchema, findBreakingChanges, findDangerousChanges } from 'graphql';
import { emittedSdl } from '../src/emitSchema';
import { EMITTED_SCHEMA_PATH } from '../schema/build';
import { createTestDatabase, type TestDatabase } from './support/database';

/** The API contract, kept in the repository (see README, "The GraphQL API"). */
const CONTRACT = path.resolve(__dirname, '../contract/okr.graphql');

describe('the GraphQL schema', () => {
  it('breaks nothing in the contract (findBreakingChanges is empty)', async () => {
    const contract = buildSchema(readFileSync(CONTRACT, 'utf8'));
    const emitted = buildSchema(await emittedSdl());
    expect(findBreakingChanges(contract, emitted)).toEqual([]);
    // Relay's Node interface and the connection's last/before are additions graphql-js calls
    // "dangerous" (a client could notice them); these, and nothing else, are deliberate.
    expect(findDangerousChanges(contract, emitted).map((c) => c.description).sort()).toEqual(
      [
        ...['Unit', 'Quarter', 'Objective', 'KeyResult', 'CheckIn', 'Retrospective', 'Event'].map(
          (type) => `Node added to interfaces implemented by ${type}.`,
        ),
        'An optional arg before on Query.events was added.',
        'An optional arg last on Query.events was added.',
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

  it('create exactly the tables the read-model entities describe', async () => {
    const diff = await db.orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false, safe: true, dropTables: false });
    expect(diff.trim()).toBe('');
  });

  it('are idempotent: running them again changes nothing', async () => {
    await expect(db.orm.getMigrator().up()).resolves.toEqual([]);
  });
});
