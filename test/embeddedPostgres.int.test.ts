import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { chmod, cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createNetServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { runCli, type Io } from '../src/cli';
import { EMBEDDED_PASSWORD, EMBEDDED_USER, EmbeddedPostgresError, runningPostmaster, startEmbeddedPostgres, type EmbeddedDatabase } from '../src/embeddedPostgres';
import { CLUSTER_LOCATION_FILE, canReach, ensurePostgresUser, installedPostgres, isRoot, reachableBinaries } from '../src/postgresPlacement';
import { freePort, spawnTs } from './support/faults';

/*
 * The embedded PostgreSQL as a newcomer meets it: started from a private directory (a clone in
 * `mktemp -d` or /root, mode 700) by a normal user or by root; joined by the command line while the
 * server runs; and when it cannot start, one line that says why and what to do.
 *
 * Why: as root in a private directory `npm start` died with `spawn .../initdb EACCES` and a stack trace,
 * and `npm run seed` beside a running `npm start` failed with a wrong hint about the port.
 */

const ROOT_USER = isRoot();
const cleanup: string[] = [];
const running: EmbeddedDatabase[] = [];

async function privateDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  cleanup.push(dir);
  expect(statSync(dir).mode & 0o777).toBe(0o700);
  return dir;
}

/** As root: a runtime directory of this test's own instead of /var/lib/okr-ledger (root-owned, 755). */
async function runtimeDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'okr-test-runtime-'));
  cleanup.push(dir);
  await chmod(dir, 0o755);
  return dir;
}

async function start(dataDir: string, port: number, runtime: string, progress: string[] = []): Promise<EmbeddedDatabase> {
  const db = await startEmbeddedPostgres({ dataDir, port, runtimeDir: runtime, progress: (line) => progress.push(line) });
  running.push(db);
  return db;
}

async function query<T>(url: string, text: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
}

function captureIo(): Io & { text(): string; errors(): string } {
  let out = '';
  let err = '';
  return { out: (t) => void (out += t), err: (t) => void (err += t), text: () => out, errors: () => err };
}

afterAll(async () => {
  for (const db of running) await db.stop();
  for (const dir of cleanup) await rm(dir, { recursive: true, force: true });
});

describe('starting from a private directory (mode 700)', () => {
  let dataDir: string;
  let runtime: string;
  let first: EmbeddedDatabase;
  const progress: string[] = [];

  beforeAll(async () => {
    const clone = await privateDir('okr-test-clone-');
    dataDir = path.join(clone, '.okr-data');
    runtime = await runtimeDir();
    first = await start(dataDir, await freePort(), runtime, progress);
  }, 120_000);

  it('answers on its URL with the documented credentials', async () => {
    expect(first.url).toMatch(new RegExp(`^postgres://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@127\\.0\\.0\\.1:${first.port}/okr$`));
    expect(await query<{ one: number }>(first.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect(first.attached).toBe(false);
  });

  it('opens up none of the user\'s directories', () => {
    expect(statSync(path.dirname(dataDir)).mode & 0o777).toBe(0o700);
  });

  it(ROOT_USER
    ? 'as root: keeps the cluster where the postgres user can reach it, named in OKR_DATA_DIR/cluster-location'
    : 'as a normal user: keeps the cluster in OKR_DATA_DIR/pg', () => {
    if (ROOT_USER) {
      const named = readFileSync(path.join(dataDir, CLUSTER_LOCATION_FILE), 'utf8').trim();
      expect(named).toBe(first.clusterDir);
      expect(first.clusterDir.startsWith(path.join(runtime, 'clusters') + path.sep)).toBe(true);
      const postgresUser = ensurePostgresUser(() => undefined);
      expect(canReach(postgresUser, first.clusterDir)).toBe(true);
      expect(statSync(first.clusterDir).uid).toBe(postgresUser.uid);
      expect(progress.join('\n')).toMatch(/cannot enter .*so the cluster lives in/);
    } else {
      expect(first.clusterDir).toBe(path.join(dataDir, 'pg'));
      expect(existsSync(path.join(dataDir, CLUSTER_LOCATION_FILE))).toBe(false);
    }
    expect(existsSync(path.join(first.clusterDir, 'PG_VERSION'))).toBe(true);
  });

  it('keeps its data across a restart on the same OKR_DATA_DIR', async () => {
    await query(first.url, 'CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)');
    await first.stop();
    expect(await runningPostmaster(first.clusterDir)).toBeNull();
    const again = await start(dataDir, await freePort(), runtime);
    expect(again.clusterDir).toBe(first.clusterDir);
    expect(await query<{ n: number }>(again.url, 'SELECT n FROM kept')).toEqual([{ n: 42 }]);
    first = again;
  }, 60_000);

  it('ignores a stale postmaster.pid (a crash left it; the process is gone)', async () => {
    await first.stop();
    const pidFile = path.join(first.clusterDir, 'postmaster.pid');
    // A pid that cannot be running (above the kernel's pid_max), in postmaster.pid's layout.
    await writeFile(pidFile, `4194305\n${first.clusterDir}\n0\n${first.port}\n\n127.0.0.1\n0 0\nready\n`);
    const again = await start(dataDir, first.port, runtime);
    expect(again.attached).toBe(false);
    expect(await query<{ one: number }>(again.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    first = again;
  }, 60_000);

  describe('when it cannot start, one line says why and what to do', () => {
    let busy: Server;
    let busyPort: number;
    beforeAll(async () => {
      await first.stop();
      busy = createNetServer();
      await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
      busyPort = (busy.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((resolve) => busy.close(() => resolve())));

    it('a port taken by another program: names OKR_EMBEDDED_PG_PORT', async () => {
      const failure = await start(dataDir, busyPort, runtime).then(
        () => null,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(EmbeddedPostgresError);
      const message = (failure as Error).message;
      expect(message).toContain(`Port ${busyPort}`);
      expect(message).toContain('OKR_EMBEDDED_PG_PORT');
      expect(message).not.toContain('\n');
    }, 60_000);

    it('`npm start` prints that one line, without a stack trace, and exits 1', async () => {
      const child = spawnTs('src/main.ts', [], {
        DATABASE_URL: undefined,
        OKR_DATA_DIR: dataDir,
        OKR_EMBEDDED_PG_PORT: String(busyPort),
        PORT: '0',
        LOG_LEVEL: 'silent',
      });
      const { code } = await child.exited;
      expect(code).toBe(1);
      const lines = child.output().trim().split('\n');
      expect(lines).toEqual([expect.stringMatching(/^The OKR ledger could not start: Port \d+ on 127\.0\.0\.1 is already in use .*OKR_EMBEDDED_PG_PORT/)]);
    }, 60_000);
  });
});

describe('binaries out of the postgres user\'s reach (node_modules inside a private clone)', () => {
  it(ROOT_USER ? 'as root: are copied once to the runtime directory, readable and executable by it' : 'as a normal user: run in place', async () => {
    const installed = installedPostgres();
    if (!ROOT_USER) {
      expect(existsSync(path.join(installed.nativeDir, 'bin', 'postgres'))).toBe(true);
      return;
    }
    const clone = await privateDir('okr-test-binaries-');
    const nativeDir = path.join(clone, 'native');
    await cp(installed.nativeDir, nativeDir, { recursive: true, verbatimSymlinks: true });
    const postgresUser = ensurePostgresUser(() => undefined);
    expect(canReach(postgresUser, path.join(nativeDir, 'bin', 'postgres'))).toBe(false);

    const runtime = await runtimeDir();
    const notes: string[] = [];
    const bin = await reachableBinaries(postgresUser, { ...installed, nativeDir, version: 'test' }, runtime, (l) => notes.push(l));
    expect(bin).toBe(path.join(runtime, `postgres-${installed.platform}-test`, 'bin'));
    expect(canReach(postgresUser, path.join(bin, 'postgres'))).toBe(true);
    expect(statSync(path.join(bin, 'initdb')).mode & 0o777).toBe(0o755);
    // The copy runs: the postgres user can ask it its version (libraries and all).
    const version = execFileSync(path.join(bin, 'postgres'), ['--version'], { uid: postgresUser.uid, gid: postgresUser.gid, encoding: 'utf8' });
    expect(version).toMatch(/^postgres \(PostgreSQL\) \d+/);
    expect(notes).toHaveLength(1);

    // Once: a second call uses the copy as it is.
    const again = await reachableBinaries(postgresUser, { ...installed, nativeDir, version: 'test' }, runtime, (l) => notes.push(l));
    expect(again).toBe(bin);
    expect(notes).toHaveLength(1);
  }, 60_000);
});

describe('the command line beside a running server (npm start, then npm run seed)', () => {
  let dataDir: string;
  let runtime: string;
  let server: EmbeddedDatabase;

  beforeAll(async () => {
    dataDir = path.join(await privateDir('okr-test-cli-'), '.okr-data');
    runtime = await runtimeDir();
    // What src/main.ts does on the embedded default.
    server = await start(dataDir, await freePort(), runtime);
  }, 120_000);

  const env = async () => ({ OKR_DATA_DIR: dataDir, OKR_EMBEDDED_PG_PORT: String(await freePort()), OKR_ORGANISATION: 'cli-beside' });

  it('joins the running embedded PostgreSQL (on its port, whatever OKR_EMBEDDED_PG_PORT says) and leaves it running', async () => {
    const io = captureIo();
    const code = await runCli(['seed'], io, await env());
    expect({ code, errors: io.errors() }).toEqual({ code: 0, errors: expect.stringContaining(`Using the embedded PostgreSQL already running on port ${server.port}`) });
    expect(io.text()).toContain('Seeded the demo into organisation "cli-beside"');
    // The server's connection sees what the command wrote, and the cluster still runs.
    const rows = await query<{ n: string }>(server.url, "SELECT count(*) AS n FROM okr_events WHERE organisation_id = 'cli-beside'");
    expect(Number(rows[0]?.n)).toBeGreaterThan(100);
    expect((await runningPostmaster(server.clusterDir))?.port).toBe(server.port);
  }, 180_000);

  it('without a server, starts the embedded PostgreSQL itself and stops it afterwards', async () => {
    await server.stop();
    const io = captureIo();
    const code = await runCli(['audit', 'verify'], io, await env());
    expect({ code, errors: io.errors() }).toEqual({ code: 0, errors: expect.stringContaining('Started the embedded PostgreSQL on port') });
    expect(JSON.parse(io.text())).toMatchObject({ ok: true });
    expect(await runningPostmaster(server.clusterDir)).toBeNull();
  }, 120_000);
});
