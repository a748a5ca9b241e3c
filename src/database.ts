import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { READ_MODEL_ENTITIES } from '../projections/entities';
import { migrations } from './migrations';

export function ormOptions(url: string, overrides: Partial<Options> = {}): Options {
  return {
    clientUrl: url,
    entities: READ_MODEL_ENTITIES,
    extensions: [Migrator],
    migrations: { migrationsList: migrations, transactional: true, allOrNothing: true, snapshot: false },
    // Entities are declared with explicit column types, so no reflection of TypeScript types is needed.
    discovery: { disableDynamicFileAccess: true, requireEntitiesArray: true },
    pool: { min: 0, max: 20 },
    allowGlobalContext: false,
    debug: false,
    // Migrations report through our logs, not MikroORM's console logger.
    logger: () => undefined,
    ...overrides,
  };
}

/** Connects and brings the schema up to date (migrations are idempotent and transactional). */
export async function openDatabase(url: string, overrides: Partial<Options> = {}): Promise<MikroORM> {
  const orm = await MikroORM.init(ormOptions(url, overrides));
  await orm.getMigrator().up();
  return orm;
}

export { inSnapshot, sqlOf } from '../projections/sql';
