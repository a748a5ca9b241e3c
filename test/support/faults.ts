import { generateSignerKey } from '../../events/note';
import { checkpointKeysFrom } from '../../src/checkpointKeys';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createNetServer } from 'node:net';
import path from 'node:path';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Sql } from '../../events/sql';
import { ALL_READ_MODELS } from '../../projections/models';

/*
 * Helpers for the fault tests (test/faults/): raw HTTP calls that never throw, free ports, bounded
 * waiting, read-model snapshots, log/stream consistency checks, and child processes (the real server,
 * an embedded PostgreSQL) that a test can kill.
 */

export const ROOT = path.resolve(__dirname, '..', '..');

/** A pause that does not keep the process alive by itself (safe in Promise.race as a time bound). */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

/** An ephemeral free TCP port on 127.0.0.1 (bound, read, released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface GqlError {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; reason?: string; [key: string]: unknown };
}

/** What came back for one HTTP request: an answer (status + body) or a transport failure. */
export interface HttpOutcome {
  /** null when no HTTP answer arrived (connection refused, reset, timed out). */
  status: number | null;
  text: string;
  body: { data?: Record<string, any> | null; errors?: GqlError[] } | null;
  /** The transport failure when status is null (its code, e.g. ECONNREFUSED, when known). */
  failure: string | null;
  ms: number;
}

function failureOf(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth += 1) {
    const code = (e as { code?: unknown }).code;
    const name = (e as { name?: unknown }).name;
    parts.push(`${typeof name === 'string' ? name : 'Error'}${typeof code === 'string' ? `(${code})` : ''}: ${String((e as Error).message ?? e)}`);
  }
  return parts.join(' <- ');
}

/** POSTs a GraphQL request; never throws. Each call opens its own connection unless keepAlive. */
export async function gqlRequest(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  options: { timeoutMs?: number } = {},
): Promise<HttpOutcome> {
  const started = Date.now();
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(options.timeoutMs ?? 20_000),
    });
    const text = await res.text();
    let body: HttpOutcome['body'] = null;
    try {
      body = JSON.parse(text) as HttpOutcome['body'];
    } catch {
      body = null;
    }
    return { status: res.status, text, body, failure: null, ms: Date.now() - started };
  } catch (error) {
    return { status: null, text: '', body: null, failure: failureOf(error), ms: Date.now() - started };
  }
}

/** GET a plain path (/healthz, /readyz); never throws. */
export async function httpGet(url: string, options: { timeoutMs?: number } = {}): Promise<{ status: number | null; text: string; failure: string | null }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 10_000) });
    return { status: res.status, text: await res.text(), failure: null };
  } catch (error) {
    return { status: null, text: '', failure: failureOf(error) };
  }
}

/** The data of a request that must succeed, or an Error naming what came back instead. */
export function dataOf(outcome: HttpOutcome, what: string): Record<string, any> {
  if (outcome.status !== 200 || !outcome.body || outcome.body.errors?.length || !outcome.body.data) {
    throw new Error(`${what}: expected success, got status ${outcome.status} ${outcome.failure ?? ''} ${outcome.text.slice(0, 500)}`);
  }
  return outcome.body.data;
}

/** Calls `probe` until it returns a value other than undefined; bounded in time and attempts. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: { timeoutMs?: number; intervalMs?: number; maxAttempts?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  const maxAttempts = options.maxAttempts ?? 1000;
  for (let attempt = 0; attempt < maxAttempts && Date.now() < deadline; attempt += 1) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(options.intervalMs ?? 100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Signs of a leaked stack trace or SQL in a response body. */
export function leaksInternals(text: string): string | null {
  const patterns: [RegExp, string][] = [
    [/\bat [\w.<>]+ \(.*:\d+:\d+\)/, 'stack frame'],
    [/stacktrace/i, 'stacktrace field'],
    [/node_modules/, 'node_modules path'],
    [/\/work\//, 'source path'],
    [/\b(select|insert into|update|delete from)\b.+\b(from|set|values|where)\b/i, 'SQL'],
  ];
  for (const [pattern, name] of patterns) if (pattern.test(text)) return name;
  return null;
}

// ---- read-model snapshots ----------------------------------------------------------------------

type Row = Record<string, unknown>;
export type Snapshot = Record<string, Row[]>;

/** Every read-model table, each followed by its history (every version, by log position). */
export const readModelTables = (_orm?: MikroORM): string[] => ALL_READ_MODELS.flatMap((m) => [m.table, m.history]);

/** Every read-model table as JSON rows ordered by (organisation_id, id[, valid_from]), exact as stored. */
export async function snapshotReadModels(orm: MikroORM, sql: Sql): Promise<Snapshot> {
  const result: Snapshot = {};
  for (const table of readModelTables(orm)) {
    const order = table.endsWith('_history') ? 't.organisation_id, t.id, t.valid_from' : 't.organisation_id, t.id';
    const [row] = await sql.query<{ rows: Row[] }>(`SELECT coalesce(json_agg(t ORDER BY ${order}), '[]'::json) AS rows FROM ${table} t`);
    result[table] = row?.rows ?? [];
  }
  return result;
}

/** Differences between two snapshots, naming the table, the row and the column. */
export function snapshotDifferences(live: Snapshot, rebuilt: Snapshot, limit = 25): string[] {
  const out: string[] = [];
  for (const table of new Set([...Object.keys(live), ...Object.keys(rebuilt)])) {
    const key = (r: Row) => `${String(r.organisation_id)}/${String(r.id)}${r.valid_from === undefined ? '' : `@${String(r.valid_from)}`}`;
    const want = new Map((live[table] ?? []).map((r) => [key(r), r]));
    const got = new Map((rebuilt[table] ?? []).map((r) => [key(r), r]));
    for (const [k, row] of want) {
      const other = got.get(k);
      if (other === undefined) out.push(`${table} ${k}: live row missing after rebuild`);
      else {
        for (const column of new Set([...Object.keys(row), ...Object.keys(other)])) {
          const a = JSON.stringify(row[column]);
          const b = JSON.stringify(other[column]);
          if (a !== b) out.push(`${table} ${k} .${column}: live ${a} != rebuilt ${b}`);
        }
      }
    }
    for (const k of got.keys()) if (!want.has(k)) out.push(`${table} ${k}: only after rebuild (missing live)`);
  }
  return out.slice(0, limit);
}

export const rowCount = (s: Snapshot): number => Object.values(s).reduce((n, rows) => n + rows.length, 0);

// ---- the log's own consistency ------------------------------------------------------------------

/**
 * Problems with streams and events: every stream's events are versions 1..n without gaps or
 * duplicates, okr_streams holds exactly n for it, and every stream row has events (no half append).
 */
export async function streamProblems(sql: Sql): Promise<string[]> {
  const rows = await sql.query<{ stream: string; problem: string }>(`
    WITH ev AS (
      SELECT organisation_id, stream_id, count(*)::int AS n, count(DISTINCT stream_version)::int AS distinct_n,
             min(stream_version) AS lo, max(stream_version) AS hi
        FROM okr_events GROUP BY organisation_id, stream_id
    )
    SELECT coalesce(ev.organisation_id, s.organisation_id) || '/' || coalesce(ev.stream_id, s.stream_id) AS stream,
           CASE
             WHEN s.stream_id IS NULL THEN 'events without a row in okr_streams'
             WHEN ev.stream_id IS NULL THEN 'okr_streams row (version ' || s.version || ') without events'
             WHEN ev.lo <> 1 OR ev.hi <> ev.n OR ev.distinct_n <> ev.n
               THEN 'event versions ' || ev.lo || '..' || ev.hi || ' for ' || ev.n || ' events (gap or duplicate)'
             WHEN s.version <> ev.hi THEN 'okr_streams says version ' || s.version || ' but the events end at ' || ev.hi
           END AS problem
      FROM ev FULL OUTER JOIN okr_streams s ON s.organisation_id = ev.organisation_id AND s.stream_id = ev.stream_id
  `);
  // Per organisation: positions 1..n without gaps, and the head at n.
  const positions = await sql.query<{ org: string; n: string; lo: string | null; hi: string | null; head: string | null }>(
    `SELECT h.organisation_id AS org, count(e.position) AS n, min(e.position) AS lo, max(e.position) AS hi, h.position AS head
       FROM okr_log_heads h LEFT JOIN okr_events e ON e.organisation_id = h.organisation_id
      GROUP BY h.organisation_id, h.position
     UNION ALL
     SELECT e.organisation_id, count(*), min(e.position), max(e.position), NULL FROM okr_events e
      WHERE NOT EXISTS (SELECT 1 FROM okr_log_heads h WHERE h.organisation_id = e.organisation_id) GROUP BY e.organisation_id`,
  );
  const problems = rows.filter((r) => r.problem !== null).map((r) => `${r.stream}: ${r.problem}`);
  for (const p of positions) {
    const n = Number(p.n);
    if (p.head === null || (n > 0 && (Number(p.lo) !== 1 || Number(p.hi) !== n)) || Number(p.head) !== n) {
      problems.push(`${p.org}: positions ${p.lo}..${p.hi} for ${n} events, head at ${p.head}`);
    }
  }
  return problems;
}

// ---- child processes ----------------------------------------------------------------------------

export interface Child {
  process: ChildProcess;
  /** Everything it wrote to stdout and stderr so far (for failure messages). */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a signal to this child (by its pid) and waits for it to exit, bounded. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null } | null>;
}

export function spawnTs(script: string, args: string[], env: Record<string, string | undefined>): Child {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', script, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env } as NodeJS.ProcessEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (chunk: Buffer) => {
    out += chunk.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    process: child,
    output: () => out,
    exited,
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<null>((resolve) => {
        timer = setTimeout(() => resolve(null), timeoutMs);
      });
      try {
        return await Promise.race([exited, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** The checkpoint key every server process of this test file signs with (given as OKR_CHECKPOINT_KEY). */
const TEST_SIGNER_KEY = generateSignerKey('okr-test.localhost').signerKey;
export const TEST_CHECKPOINT_KEYS = checkpointKeysFrom(TEST_SIGNER_KEY, { source: 'the test' });

/** The real server (`src/main.ts`) as a child process on DATABASE_URL and 127.0.0.1:port; waits for /healthz. */
export async function startServerProcess(databaseUrl: string, port: number, extraEnv: Record<string, string> = {}): Promise<Child & { url: string; base: string }> {
  const child = spawnTs('src/main.ts', [], {
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    // Local development mode whatever the surrounding environment says (no authentication).
    OKR_ENV: 'development',
    OKR_JWT_SECRET: '',
    OKR_JWKS_URL: '',
    // Many clients acting as the one local person, on purpose: admission is tested on its own
    // (test/abuse/admission.e2e.test.ts), so its per-person and per-organisation limits are off here.
    OKR_RATE_PERSON: '0',
    OKR_RATE_ORGANISATION: '0',
    OKR_CONCURRENCY_PERSON: '0',
    OKR_CONCURRENCY_ORGANISATION: '0',
    OKR_CHECKPOINT_KEY: TEST_SIGNER_KEY,
    OKR_CHECKPOINT_KEY_FILE: '',
    ...extraEnv,
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      'the server process to answer /healthz',
      async () => {
        if (child.process.exitCode !== null) throw new Error(`the server exited with ${child.process.exitCode}: ${child.output().slice(-2000)}`);
        const res = await httpGet(`${base}/healthz`, { timeoutMs: 1000 });
        return res.status === 200 ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  } catch (error) {
    await child.stop('SIGKILL', 5000);
    throw new Error(`${(error as Error).message}\n--- server output ---\n${child.output().slice(-3000)}`);
  }
  return Object.assign(child, { url: `${base}/graphql`, base });
}

/**
 * An embedded PostgreSQL (src/embeddedPostgres.ts) run by test/support/embeddedPostgresProcess.ts in a
 * child process of its own, as a database server the test can take away from under the server. stop() (SIGTERM)
 * makes the helper call the EmbeddedDatabase's stop(), i.e. a fast PostgreSQL shutdown.
 */
export async function startEmbeddedPostgresProcess(dataDir: string, port: number, database: string): Promise<Child & { url: string }> {
  const child = spawnTs(path.join('test', 'support', 'embeddedPostgresProcess.ts'), [dataDir, String(port), database], {});
  try {
    const url = await waitFor(
      'the embedded PostgreSQL to start',
      async () => {
        if (child.process.exitCode !== null) throw new Error(`the embedded PostgreSQL helper exited with ${child.process.exitCode}`);
        const match = /^READY (\S+)$/m.exec(child.output());
        return match?.[1];
      },
      { timeoutMs: 45_000, intervalMs: 100 },
    );
    return Object.assign(child, { url });
  } catch (error) {
    await child.stop('SIGTERM', 10_000);
    throw new Error(`${(error as Error).message}\n--- helper output ---\n${child.output().slice(-3000)}`);
  }
}

/** The value, or an Error naming what was missing (instead of a non-null assertion). */
export function present<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Error(`missing ${what}`);
  return value;
}
