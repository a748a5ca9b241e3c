import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/embeddedPostgres';

declare global {
  var __OKR_EMBEDDED__: EmbeddedDatabase | undefined;
  var __OKR_EMBEDDED_DIR__: string | undefined;
}

/**
 * With DATABASE_URL set, tests use that server (CI: the machine's PostgreSQL). Otherwise an embedded
 * PostgreSQL is started for the run in a temporary directory. Either way TEST_ADMIN_DATABASE_URL
 * is where each test file creates its own database.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) {
    process.env.TEST_ADMIN_DATABASE_URL = process.env.DATABASE_URL;
    return;
  }
  const dataDir = await mkdtemp(path.join(tmpdir(), 'okr-test-pg-'));
  // Enterable by others, so that as root (PostgreSQL then runs as `postgres`) the cluster stays inside
  // this directory and globalTeardown removes it with it.
  await chmod(dataDir, 0o755);
  globalThis.__OKR_EMBEDDED_DIR__ = dataDir;
  const port = 55000 + Math.floor(Math.random() * 5000);
  const embedded = await startEmbeddedPostgres({ dataDir, port, database: 'okr_test_admin' });
  globalThis.__OKR_EMBEDDED__ = embedded;
  process.env.TEST_ADMIN_DATABASE_URL = embedded.url;
}
