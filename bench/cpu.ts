/**
 * Where the CPU went during a scenario (Linux /proc; null elsewhere): the whole machine, this
 * process (benchmark + server + GraphQL client worker), and the PostgreSQL processes serving it.
 * On a shared machine, "other" is load that is not ours and skews the figures: report it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

/** USER_HZ: /proc reports process times in these ticks (100 on Linux x86-64). */
const TICKS_PER_SECOND = 100;

interface Sample {
  at: number;
  machineBusyTicks: number;
  machineTotalTicks: number;
  /** CPU ticks so far of every process named postgres, by pid. */
  postgresTicks: Map<number, number>;
  process: NodeJS.CpuUsage;
}

export interface CpuReport {
  wallSeconds: number;
  /** Busy share of all cores, 0-100 (100 = every core busy the whole time). */
  machineBusyPercent: number;
  /** CPU-seconds per wall-second (1.0 = one core fully used). */
  benchProcessCores: number;
  postgresCores: number;
  otherCores: number;
  /** CPU milliseconds used during the window (for CPU per operation): this process, PostgreSQL, the rest of the machine. */
  benchProcessCpuMs: number;
  postgresCpuMs: number;
  otherCpuMs: number;
}

function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  // cpu user nice system idle iowait irq softirq steal guest guest_nice
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

function postgresTicks(): Map<number, number> {
  const ticks = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const open = stat.indexOf('(');
      const close = stat.lastIndexOf(')');
      if (stat.slice(open + 1, close) !== 'postgres') continue;
      // Fields after ")": state(3) ... utime(14) stime(15), numbered from 1 with pid first.
      const rest = stat.slice(close + 2).split(' ');
      ticks.set(Number(entry), Number(rest[11] ?? 0) + Number(rest[12] ?? 0));
    } catch {
      // The process ended between readdir and readFile.
    }
  }
  return ticks;
}

/**
 * Synchronous on purpose: a busy event loop (the GraphQL server under load) would otherwise delay
 * the reads, and the sample would not describe one instant.
 */
export async function cpuSample(): Promise<Sample | null> {
  if (os.platform() !== 'linux') return null;
  try {
    const pg = postgresTicks();
    const m = machineTicks();
    return { at: performance.now(), machineBusyTicks: m.busy, machineTotalTicks: m.total, postgresTicks: pg, process: process.cpuUsage() };
  } catch {
    return null;
  }
}

/**
 * `postgresPids`: the PostgreSQL processes to count (this database's backends and the cluster's
 * background processes); a pid that appeared during the scenario counts from zero.
 */
export async function cpuSince(start: Sample | null, postgresPids: ReadonlySet<number>): Promise<CpuReport | null> {
  const end = await cpuSample();
  if (start === null || end === null) return null;
  const wall = (end.at - start.at) / 1000;
  const cores = os.cpus().length;
  const totalTicks = end.machineTotalTicks - start.machineTotalTicks;
  const machineBusyCores = ((end.machineBusyTicks - start.machineBusyTicks) / Math.max(1, totalTicks)) * cores;
  const own = process.cpuUsage(start.process);
  const benchProcessCores = (own.user + own.system) / 1e6 / wall;
  let pgTicks = 0;
  for (const pid of postgresPids) {
    const now = end.postgresTicks.get(pid);
    if (now !== undefined) pgTicks += now - (start.postgresTicks.get(pid) ?? 0);
  }
  const postgresCores = pgTicks / TICKS_PER_SECOND / wall;
  const r = (x: number) => Math.round(x * 100) / 100;
  const otherCores = Math.max(0, machineBusyCores - benchProcessCores - postgresCores);
  return {
    wallSeconds: r(wall),
    machineBusyPercent: Math.round((machineBusyCores / cores) * 100),
    benchProcessCores: r(benchProcessCores),
    postgresCores: r(postgresCores),
    otherCores: r(otherCores),
    benchProcessCpuMs: Math.round((own.user + own.system) / 1000),
    postgresCpuMs: Math.round((pgTicks / TICKS_PER_SECOND) * 1000),
    otherCpuMs: Math.round(otherCores * wall * 1000),
  };
}
