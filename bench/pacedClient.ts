/**
 * A tenant's ordinary traffic for the noisy-neighbour scenario, run in a worker thread: each client (one
 * person, one bearer token) sends one request every `intervalMs` (or at once when the previous answer
 * came later), one at a time, staying within its limits. Loopback only.
 */
import { Agent } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { postGraphQL } from './post';

export interface PacedConfig {
  url: string;
  body: string;
  /** One bearer token per client. */
  tokens: string[];
  intervalMs: number;
  warmupMs: number;
  durationMs: number;
  /** Hard cap on measured requests per client. */
  maxRequestsPerClient: number;
}

export interface PacedResult {
  latenciesMs: Float64Array;
  elapsedMs: number;
  /** Answers that were not 200 without errors, by status (and the first error code). */
  failures: Record<string, number>;
  sample: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

export async function runPaced(config: PacedConfig): Promise<PacedResult> {
  const url = new URL(config.url);
  if (url.hostname !== '127.0.0.1') throw new Error(`refusing to load a non-loopback host: ${url.hostname}`);
  const agent = new Agent({ keepAlive: true, maxSockets: config.tokens.length });
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let sample = '';
  const start = performance.now();
  const measureFrom = start + config.warmupMs;
  const stopAt = measureFrom + config.durationMs;
  const client = async (token: string, k: number) => {
    // Clients start spread over one interval, so that their requests do not arrive in step.
    let next = start + (k * config.intervalMs) / config.tokens.length;
    for (let n = 0; n < config.maxRequestsPerClient; ) {
      await sleep(next - performance.now());
      const t0 = performance.now();
      if (t0 >= stopAt) break;
      const { status, text } = await postGraphQL(agent, url, config.body, token);
      const t1 = performance.now();
      next = Math.max(next + config.intervalMs, t1);
      const ok = status === 200 && !text.includes('"errors"');
      if (sample === '' || !ok) sample = text.slice(0, 20_000);
      if (t0 < measureFrom) continue;
      latencies.push(t1 - t0);
      n += 1;
      if (!ok) {
        const code = /"code":"([A-Z_]+)"/.exec(text)?.[1] ?? 'none';
        failures[`${status} ${code}`] = (failures[`${status} ${code}`] ?? 0) + 1;
      }
    }
  };
  await Promise.all(config.tokens.map(client));
  agent.destroy();
  return { latenciesMs: Float64Array.from(latencies), elapsedMs: Math.min(performance.now(), stopAt) - measureFrom, failures, sample };
}

if (parentPort !== null && workerData !== null && typeof workerData === 'object' && 'pacedConfig' in workerData) {
  const port = parentPort;
  runPaced((workerData as { pacedConfig: PacedConfig }).pacedConfig).then(
    (result) => port.postMessage({ ok: true, result }),
    (error: unknown) => port.postMessage({ ok: false, error: error instanceof Error ? error.stack ?? error.message : String(error) }),
  );
}
