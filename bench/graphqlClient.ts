/**
 * The GraphQL load generator, run in a worker thread so that building requests and parsing
 * responses does not share the server's event loop (it still shares the machine's cores).
 * Loopback only: the URL is checked before any request is sent.
 */
import { Agent } from 'node:http';
import path from 'node:path';
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { postGraphQL } from './post';

export interface ClientConfig {
  url: string;
  body: string;
  clients: number;
  warmupMs: number;
  durationMs: number;
  /** Hard cap on measured requests per client, so the loop is bounded even on a very fast machine. */
  maxRequestsPerClient: number;
}

export interface ClientResult {
  /** Measured requests (after the warm-up), each latency in milliseconds. */
  latenciesMs: Float64Array;
  elapsedMs: number;
  errors: number;
  warmupRequests: number;
  /** One response body, to check that the query answered what was expected. */
  sample: string;
}

export async function runClients(config: ClientConfig): Promise<ClientResult> {
  const url = new URL(config.url);
  if (url.hostname !== '127.0.0.1') throw new Error(`refusing to load a non-loopback host: ${url.hostname}`);
  const agent = new Agent({ keepAlive: true, maxSockets: config.clients });
  const latencies: number[] = [];
  let errors = 0;
  let warmupRequests = 0;
  let sample = '';
  const start = performance.now();
  const measureFrom = start + config.warmupMs;
  parentPort?.postMessage({ started: true });
  const stopAt = measureFrom + config.durationMs;
  let measuredStart = Number.NaN;
  let measuredEnd = measureFrom;

  const client = async () => {
    for (let n = 0; n < config.maxRequestsPerClient; ) {
      const t0 = performance.now();
      if (t0 >= stopAt) break;
      const { status, text } = await postGraphQL(agent, url, config.body);
      const t1 = performance.now();
      const ok = status === 200 && !text.includes('"errors"');
      if (!ok) errors += 1;
      if (sample === '' || !ok) sample = text.slice(0, 2000);
      if (t0 >= measureFrom) {
        if (Number.isNaN(measuredStart) || t0 < measuredStart) measuredStart = t0;
        measuredEnd = Math.max(measuredEnd, t1);
        latencies.push(t1 - t0);
        n += 1;
      } else {
        warmupRequests += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: config.clients }, client));
  agent.destroy();
  return {
    latenciesMs: Float64Array.from(latencies),
    elapsedMs: measuredEnd - (Number.isNaN(measuredStart) ? measureFrom : measuredStart),
    errors,
    warmupRequests,
    sample,
  };
}

/** Runs the clients in a worker thread; `onMeasureStart` is called when the warm-up ends. */
export function runClientWorker(config: ClientConfig, onMeasureStart: () => void = () => undefined): Promise<ClientResult> {
  const file = path.join(__dirname, 'graphqlClient.ts');
  // The worker inherits `-r ts-node/register/transpile-only` from this process's execArgv.
  const worker = new Worker(`require('ts-node/register/transpile-only'); require(${JSON.stringify(file)});`, {
    eval: true,
    workerData: { clientConfig: config },
  });
  return new Promise((resolve, reject) => {
    worker.on('message', (message: { started: true } | { ok: true; result: ClientResult } | { ok: false; error: string }) => {
      if ('started' in message) {
        setTimeout(onMeasureStart, config.warmupMs);
        return;
      }
      void worker.terminate();
      if (message.ok) resolve(message.result);
      else reject(new Error(`GraphQL client worker failed: ${message.error}`));
    });
    worker.once('error', reject);
  });
}

if (parentPort !== null && workerData !== null && typeof workerData === 'object' && 'clientConfig' in workerData) {
  const port = parentPort;
  runClients((workerData as { clientConfig: ClientConfig }).clientConfig).then(
    (result) => port.postMessage({ ok: true, result }),
    (error: unknown) => port.postMessage({ ok: false, error: error instanceof Error ? error.stack ?? error.message : String(error) }),
  );
}
