import type { MikroORM } from '@mikro-orm/postgresql';
import { CheckpointKeyError, loadCheckpointKeys, type CheckpointKeys } from './checkpointKeys';
import { ConfigError, loadConfig, type Config } from './config';
import { openDatabase } from './database';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './embeddedPostgres';

/* What every command of the command line (src/cli.ts, src/auditCli.ts) is made of. */

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** A mistake in the command line: reported with the usage, exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command: CliCommand | null = null,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface FlagSpec {
  name: string;
  /** A string flag takes a value (`--name value` or `--name=value`); a boolean one does not. */
  kind: 'string' | 'boolean';
  placeholder?: string;
  description: string;
  /** Shown without brackets in the usage line; the command itself checks it was given. */
  required?: boolean;
}

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /**
   * The stream behind `out`, when there is one (process.stdout): commands that write a lot (export)
   * use it for backpressure and to notice a reader that has gone (EPIPE). Without it they use `out`.
   */
  stdout?: NodeJS.WritableStream;
}

export interface Invocation {
  /** Parsed flags by name: a string, or true for a boolean flag that was given. */
  flags: ReadonlyMap<string, string | true>;
  positionals: readonly string[];
  env: NodeJS.ProcessEnv;
  io: Io;
  /** The wall clock (commands never call `new Date()` themselves, so tests can fix it). */
  now(): Date;
}

export interface CliCommand {
  /** The words that name it, e.g. ['seed'] or ['projections', 'rebuild']. */
  words: readonly string[];
  summary: string;
  /** Extra lines for `help <command>`. */
  details?: readonly string[];
  flags: readonly FlagSpec[];
  /** Positional arguments it accepts after its words, for the usage line; none when absent. */
  positionals?: string;
  run(invocation: Invocation): Promise<number>;
}

// ---- shared helpers for commands ----------------------------------------------------------------

/** Reads the configuration, mapping a configuration mistake to a usage error (exit 2). */
export function configFrom(env: NodeJS.ProcessEnv): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * Runs `work` against the configured database, as `npm start` would find it: DATABASE_URL, or the
 * embedded PostgreSQL in OKR_DATA_DIR: joined when it is already running (`npm start` beside), else
 * started here and stopped afterwards. Migrations are brought up to date.
 */
export async function withDatabase<T>(config: Config, io: Io, work: (orm: MikroORM) => Promise<T>): Promise<T> {
  let embedded: EmbeddedDatabase | null = null;
  let url = config.databaseUrl;
  if (url === null) {
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.embeddedPort, progress: (line) => io.err(`${line}\n`) });
    io.err(
      embedded.attached
        ? `Using the embedded PostgreSQL already running on port ${embedded.port} (${embedded.clusterDir}).\n`
        : `Started the embedded PostgreSQL on port ${embedded.port} (${embedded.clusterDir}); it stops when this command ends.\n`,
    );
    url = embedded.url;
  }
  try {
    const orm = await openDatabase(url);
    try {
      return await work(orm);
    } finally {
      await orm.close();
    }
  } finally {
    await embedded?.stop();
  }
}

export const stringFlag = (invocation: Invocation, name: string): string | null => {
  const value = invocation.flags.get(name);
  return typeof value === 'string' ? value : null;
};


/** The deployment's checkpoint key (src/checkpointKeys.ts), a missing or bad one being a usage error (exit 2). */
export function checkpointKeysOf(config: Config): CheckpointKeys {
  try {
    return loadCheckpointKeys(config);
  } catch (error) {
    if (error instanceof CheckpointKeyError) throw new UsageError(error.message);
    throw error;
  }
}
