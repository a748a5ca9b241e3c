import type { Doc } from '../docs';
import type { ReadModelDeclaration } from '../model';
import { checkIns } from './checkIns';
import { effort } from './effort';
import { keyResults } from './keyResults';
import { measurements } from './measurements';
import { objectives } from './objectives';
import { quarters } from './quarters';
import { retrospectives } from './retrospectives';
import { units } from './units';

export { checkIns, effort, keyResults, measurements, objectives, quarters, retrospectives, units };

/**
 * Every read model, by projection name: the one list the write path, rebuilds, the readers and the
 * schema check go through. Adding a read model is a declaration in this folder, a line here and a
 * migration for its tables (test/schema.int.test.ts says what the migration must create).
 */
export const READ_MODELS = { units, quarters, objectives, keyResults, checkIns, measurements, retrospectives, effort } as const;

export type ReadModelName = keyof typeof READ_MODELS;

/** The read models in the order their tables are written (the registry's order). */
export const ALL_READ_MODELS: readonly ReadModelDeclaration<Doc>[] = Object.values(READ_MODELS) as unknown as ReadModelDeclaration<Doc>[];
