import 'reflect-metadata';
import { writeFile } from 'node:fs/promises';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { EMITTED_SCHEMA_PATH, okrSchema } from '../schema/build';

/** The emitted SDL, as committed in schema/schema.graphql. */
export async function emittedSdl(): Promise<string> {
  return `${printSchema(lexicographicSortSchema(await okrSchema()))}\n`;
}

if (require.main === module) {
  emittedSdl()
    .then((sdl) => writeFile(EMITTED_SCHEMA_PATH, sdl))
    .then(() => process.stdout.write(`wrote ${EMITTED_SCHEMA_PATH}\n`));
}
