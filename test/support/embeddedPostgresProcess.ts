import { startEmbeddedPostgres } from '../../src/embeddedPostgres';

/*
 * Test helper process: `node -r ts-node/register/transpile-only test/support/embeddedPostgresProcess.ts
 * <dataDir> <port> <database>` starts an embedded PostgreSQL through src/embeddedPostgres.ts, prints
 * `READY <url>` on stdout, and on SIGTERM or SIGINT (or when its parent goes away and stdin closes)
 * stops it through the returned stop() and exits. Started again with the same dataDir and port it
 * restarts the same cluster. Used by test/faults/postgresRestart.int.test.ts (see support/faults.ts).
 */
async function run(): Promise<void> {
  const [dataDir, port, database] = process.argv.slice(2);
  if (!dataDir || !port || !database) throw new Error('usage: embeddedPostgresProcess.ts <dataDir> <port> <database>');
  const pg = await startEmbeddedPostgres({
    dataDir,
    port: Number(port),
    database,
    log: (line) => process.stderr.write(`[pg] ${line}\n`),
  });
  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`stopping embedded PostgreSQL (${why})\n`);
    try {
      await pg.stop();
      process.stdout.write('STOPPED\n');
      process.exit(0);
    } catch (error) {
      process.stderr.write(`stop failed: ${String(error)}\n`);
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.stdin.on('end', () => void stop('parent gone'));
  process.stdin.resume();
  process.stdout.write(`READY ${pg.url}\n`);
}

run().catch((error: unknown) => {
  process.stderr.write(`embedded PostgreSQL helper failed: ${error instanceof Error ? `${error.message} ${String(error.cause ?? '')}` : String(error)}\n`);
  process.exit(1);
});
