/**
 * The figures issue 10 ("History at the cost of the present") asks of one `npm run bench`, under the
 * stable names bench/results.json carries at its top level, each with its target. Every name must be
 * given a number and a target: the record below is keyed by them, so the compiler checks both.
 */
import { table } from './stats';

export interface Headline {
  /** asOf at a new instant each time: p99 / live p99, the team-quarter query on the 1,000,000-event log (bench/serverLoad.ts). */
  asOfP99OverLiveP99: number;
  /** Rebuild events/s / plain sequential read events/s, same log, same run (bench/history.ts). */
  rebuildPerSequentialRead: number;
  /** The longest recordCheckIn of the organisations appending during the rebuild, ms (bench/history.ts). */
  appendMaxWaitDuringRebuildMs: number;
  /** recordCheckIn full path, 1 writer, events/s / raw single-row INSERT, 1 connection (bench/run.ts sections 1 and 4). */
  checkInPerRawInsert1: number;
  /** Team-quarter query req/s / Apollo Server hello-world req/s, 10 clients each (bench/serverLoad.ts). */
  graphqlPerApolloHello: number;
  /** p99 of the team-quarter query under those 10 clients, ms. */
  graphqlP99Ms: number;
  /** VmRSS of the server process after the asOf and GraphQL load, MB. */
  serverRssMb: number;
  /** 8 writers in 8 organisations / 1 writer, check-ins/s (bench/organisations.ts). */
  orgs8PerWriter1: number;
}

export type HeadlineName = keyof Headline;

interface Target {
  what: string;
  target: string;
  met: (value: number) => boolean;
}

export const TARGETS: { readonly [K in HeadlineName]: Target } = {
  asOfP99OverLiveP99: { what: 'asOf p99 / live p99 (new instant each time)', target: 'at most 2', met: (v) => v <= 2 },
  rebuildPerSequentialRead: { what: 'rebuild / sequential read (events/s)', target: 'at least 0.5', met: (v) => v >= 0.5 },
  appendMaxWaitDuringRebuildMs: { what: 'longest append during the rebuild (ms)', target: 'under 1000', met: (v) => v < 1000 },
  checkInPerRawInsert1: { what: 'recordCheckIn / raw INSERT, 1 writer', target: 'at least 0.25', met: (v) => v >= 0.25 },
  graphqlPerApolloHello: { what: 'team-quarter query / Apollo hello-world, 10 clients (req/s)', target: 'at least 0.25', met: (v) => v >= 0.25 },
  graphqlP99Ms: { what: 'team-quarter query p99, 10 clients (ms)', target: 'under 10', met: (v) => v < 10 },
  serverRssMb: { what: 'server RSS after the load (MB)', target: 'under 300', met: (v) => v < 300 },
  orgs8PerWriter1: { what: '8 writers in 8 organisations / 1 writer', target: 'at least 3', met: (v) => v >= 3 },
};

export const HEADLINE_NAMES = Object.keys(TARGETS) as HeadlineName[];

/** The figures measured, in the order (results.json's top level). */
export function inOrder(figures: Partial<Headline>): Partial<Headline> {
  return Object.fromEntries(HEADLINE_NAMES.filter((name) => figures[name] !== undefined).map((name) => [name, figures[name]]));
}

/** Each figure measured, its target and whether this run met it. */
export function verdicts(figures: Partial<Headline>): Partial<Record<HeadlineName, { value: number; target: string; met: boolean }>> {
  const out: Partial<Record<HeadlineName, { value: number; target: string; met: boolean }>> = {};
  for (const name of HEADLINE_NAMES) {
    const value = figures[name];
    if (value !== undefined) out[name] = { value, target: TARGETS[name].target, met: TARGETS[name].met(value) };
  }
  return out;
}

/** The summary table: every figure, its target, met or not ("not measured" for a section left out). */
export function headlineTable(figures: Partial<Headline>, storageLine: string | null): string {
  const rows = HEADLINE_NAMES.map((name) => {
    const value = figures[name];
    const t = TARGETS[name];
    return [name, t.what, value === undefined ? 'not measured' : value, t.target, value === undefined ? '' : t.met(value) ? 'met' : 'NOT MET'];
  });
  return [
    'Summary (issue 10: history at the cost of the present; the same figures are at the top of bench/results.json)',
    table([['name', 'figure', 'this run', 'target', 'verdict'], ...rows]),
    ...(storageLine === null ? [] : [storageLine]),
  ].join('\n');
}
