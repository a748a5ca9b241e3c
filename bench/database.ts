import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../src/embeddedPostgres';

export interface BenchDatabase {
  /** URL of the fresh database the benchmark owns. */
  url: string;
  kind: 'DATABASE_URL' | 'embedded';
  /** Where the cluster keeps its data, when known (embedded only). */
  dataDir: string | null;
  /** Drops the database (DATABASE_URL) or stops the embedded cluster and removes its directory. */
  release(): Promise<void>;
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * With DATABASE_URL: a fresh `okr_bench_<random>` database on that server, dropped at the end (kept, and
 * its name logged, with BENCH_KEEP_DATABASE=1: to look into a figure afterwards with psql or a profiler).
 * Without: an embedded PostgreSQL in a temporary directory, stopped and removed at the end.
 */
export async function provisionDatabase(log: (line: string) => void): Promise<BenchDatabase> {
  const name = `okr_bench_${randomBytes(4).toString('hex')}`;
  const given = process.env.DATABASE_URL?.trim();
  if (given) {
    const admin = new Client({ connectionString: given });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
    } finally {
      await admin.end();
    }
    const url = new URL(given);
    url.pathname = `/${name}`;
    log(`created database ${name} on the DATABASE_URL server`);
    return {
      url: url.toString(),
      kind: 'DATABASE_URL',
      dataDir: null,
      async release() {
        if (process.env.BENCH_KEEP_DATABASE === '1') return log(`kept database ${name} (BENCH_KEEP_DATABASE=1): drop it when done`);
        const a = new Client({ connectionString: given });
        await a.connect();
        try {
          await a.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
        } finally {
          await a.end();
        }
        log(`dropped database ${name}`);
      },
    };
  }

  const dataDir = await mkdtemp(path.join(tmpdir(), 'okr-bench-pg-'));
  // Enterable by others, so that as root (PostgreSQL then runs as `postgres`) the cluster stays inside it
  // and is removed with it.
  await chmod(dataDir, 0o755);
  const port = 55000 + Math.floor(Math.random() * 5000);
  log(`starting embedded PostgreSQL in ${dataDir} on 127.0.0.1:${port} (initdb takes a few seconds)`);
  let embedded;
  try {
    embedded = await startEmbeddedPostgres({ dataDir, port, database: name });
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  const running = embedded;
  return {
    url: running.url,
    kind: 'embedded',
    dataDir: running.clusterDir,
    async release() {
      try {
        await running.stop();
        log('stopped embedded PostgreSQL');
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    },
  };
}
