/**
 * Servers the benchmark starts in node processes of their own, so that each has its own event loop and
 * its resident memory can be read from /proc: the OKR ledger as `npm start` runs it (src/main.ts), and
 * the Apollo Server hello-world (bench/apolloHello.ts) it is compared with.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer as createNetServer } from 'node:net';
import path from 'node:path';
import { round } from './stats';

const ROOT = path.join(__dirname, '..');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface ServerProcess {
  /** http://127.0.0.1:<port> (no path). */
  url: string;
  child: ChildProcess;
  pid: number;
  heapLimitMb: number;
  /** The last 4,000 characters the process wrote to stderr. */
  stderr: () => string;
}

/** The heap ceiling `npm start` gives node (package.json: OKR_MAX_HEAP_MB, default 1536). */
export const heapLimitMb = (): number => Number(process.env.OKR_MAX_HEAP_MB ?? '1536');

/**
 * Starts `script` (a path from the repository root) as `npm start` starts src/main.ts: node with
 * `--max-old-space-size` and ts-node's transpile-only hook, without npm in between so that the pid is
 * the server's. `env` is the whole environment (PATH and HOME are added); PORT is chosen here. Ready
 * once `ready(url)` says so.
 */
export async function startProcess(
  name: string,
  script: string,
  env: Record<string, string>,
  ready: (url: string) => Promise<boolean>,
  log: (line: string) => void,
): Promise<ServerProcess> {
  const port = await freePort();
  const heap = heapLimitMb();
  const child = spawn(process.execPath, [`--max-old-space-size=${heap}`, '-r', 'ts-node/register/transpile-only', script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i += 1) {
    if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}): ${stderr}`);
    try {
      if (await ready(url)) {
        log(`${name}: pid ${child.pid} ready at ${url} (heap ceiling ${heap} MB)`);
        return { url, child, pid: child.pid ?? 0, heapLimitMb: heap, stderr: () => stderr };
      }
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`${name} did not become ready: ${stderr}`);
}

/** The OKR ledger server as `npm start` runs it (src/main.ts) on `dbUrl`, with `env` (OKR_*, LOG_LEVEL) on top. */
export function startLedgerServer(dbUrl: string, env: Record<string, string>, log: (line: string) => void): Promise<ServerProcess> {
  const ready = async (url: string) => (await fetch(`${url}/readyz`)).status === 200;
  return startProcess('OKR ledger server (src/main.ts)', 'src/main.ts', { DATABASE_URL: dbUrl, ...env }, ready, log);
}

/** The Apollo Server hello-world (bench/apolloHello.ts); its GraphQL endpoint is `${url}/graphql` like ours (it answers any path). */
export function startApolloHello(log: (line: string) => void): Promise<ServerProcess> {
  const ready = async (url: string) => {
    const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ hello }' }) });
    return res.status === 200 && (await res.text()).includes('"world"');
  };
  return startProcess('Apollo Server hello-world (bench/apolloHello.ts)', 'bench/apolloHello.ts', {}, ready, log);
}

export async function stopServer(server: ServerProcess): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => server.child.once('exit', () => resolve()));
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

/** Resident memory now and at its peak over the process's life (VmRSS, VmHWM), in MB; null without /proc. */
export async function memoryOf(pid: number): Promise<{ rssMb: number; peakMb: number } | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rssMb: round(kb('VmRSS') / 1024, 1), peakMb: round(kb('VmHWM') / 1024, 1) };
  } catch {
    return null;
  }
}
