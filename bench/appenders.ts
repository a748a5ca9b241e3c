/**
 * Appenders that keep writing while something else runs (the rebuild, bench/history.ts): one writer per
 * target, each `Commands.recordCheckIn` through the `Ledger` on its own key result, one command after
 * another (the next starting `intervalMs` after the last started, or as soon as it returns when it took
 * longer; 0: back to back), from `go` until `stop`, every command's start and latency kept.
 *
 * They run in a worker thread with an ORM (and pool) of their own, as a server's appends would run
 * beside a rebuild started from the command line: the rebuild's JavaScript does not hold up their event
 * loop, so a long wait is the database's (locks) or the machine's (CPU), which is what is measured.
 */
import 'reflect-metadata';
import path from 'node:path';
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { Commands } from '../src/commands';
import { openDatabase } from '../src/database';
import { Ledger } from '../src/ledger';
import { actorOf, checkInInput } from './fixtures';
import type { WriterTarget } from './writers';

export interface AppendersConfig {
  url: string;
  targets: WriterTarget[];
  intervalMs: number;
}

/** One command: when it started (epoch ms, comparable across threads), its latency, its writer. */
export interface TimedCommand {
  startedAt: number;
  ms: number;
  writer: number;
}

type ToWorker = { kind: 'go' } | { kind: 'stop' };
type FromWorker = { kind: 'ready' } | { kind: 'done'; commands: TimedCommand[] } | { kind: 'failed'; error: string };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** performance.now() of this thread on the epoch clock, so that two threads' instants compare. */
export const epochNow = (): number => performance.timeOrigin + performance.now();

async function run(config: AppendersConfig, port: NonNullable<typeof parentPort>): Promise<void> {
  const orm = await openDatabase(config.url);
  let stopping = false;
  const go = new Promise<void>((resolve) =>
    port.on('message', (message: ToWorker) => {
      if (message.kind === 'go') resolve();
      else stopping = true;
    }),
  );
  try {
    port.postMessage({ kind: 'ready' } satisfies FromWorker);
    await go;
    const commands: TimedCommand[] = [];
    await Promise.all(
      config.targets.map(async ({ organisationId, keyResultId }, writer) => {
        const c = new Commands(new Ledger(orm, () => new Date()), actorOf(organisationId, `bench-appender-${writer}`));
        let next = performance.now();
        for (let i = 0; !stopping && i < 10_000_000; i += 1) {
          if (next > performance.now()) await sleep(next - performance.now());
          if (stopping) break;
          const startedAt = epochNow();
          const t0 = performance.now();
          await c.recordCheckIn(checkInInput(keyResultId, i));
          commands.push({ startedAt, ms: performance.now() - t0, writer });
          next = t0 + config.intervalMs;
        }
      }),
    );
    port.postMessage({ kind: 'done', commands } satisfies FromWorker);
  } finally {
    await orm.close(true);
  }
}

/** The appenders, started and ready (their ORM open); `go()` starts the commands, `stop()` ends them and returns every one. */
export async function startAppenders(config: AppendersConfig): Promise<{ go: () => void; stop: () => Promise<TimedCommand[]> }> {
  const file = path.join(__dirname, 'appenders.ts');
  const worker = new Worker(`require('ts-node/register/transpile-only'); require(${JSON.stringify(file)});`, { eval: true, workerData: { appendersConfig: config } });
  let fail: (error: Error) => void = () => undefined;
  let finish: (commands: TimedCommand[]) => void = () => undefined;
  const done = new Promise<TimedCommand[]>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  // Until stop() awaits it, a failure is kept (not unhandled).
  done.catch(() => undefined);
  const ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (message: FromWorker) => {
      if (message.kind === 'ready') resolve();
      else if (message.kind === 'done') finish(message.commands);
      else {
        const error = new Error(`appender worker failed: ${message.error}`);
        reject(error);
        fail(error);
      }
    });
    worker.once('error', (error) => {
      reject(error);
      fail(error);
    });
  });
  await ready;
  return {
    go: () => worker.postMessage({ kind: 'go' } satisfies ToWorker),
    stop: async () => {
      worker.postMessage({ kind: 'stop' } satisfies ToWorker);
      try {
        return await done;
      } finally {
        await worker.terminate();
      }
    },
  };
}

if (parentPort !== null && workerData !== null && typeof workerData === 'object' && 'appendersConfig' in workerData) {
  const port = parentPort;
  run((workerData as { appendersConfig: AppendersConfig }).appendersConfig, port).catch((error: unknown) =>
    port.postMessage({ kind: 'failed', error: error instanceof Error ? error.stack ?? error.message : String(error) } satisfies FromWorker),
  );
}
