import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU and memory of one process, read from /proc. */
export interface ProcessSample {
  pid: number;
  /** utime + stime, in seconds. */
  cpuSeconds: number;
  /** cutime + cstime: CPU of children already reaped (PostgreSQL's backends), in seconds. */
  childCpuSeconds: number;
  /** VmHWM: peak resident set size, in MB. */
  peakRssMb: number;
  /** VmRSS now, in MB. */
  rssMb: number;
}

/** Reads /proc/<pid>/stat and /proc/<pid>/status; undefined if the process is gone. */
export function sampleProcess(pid: number): ProcessSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name, which may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const [utime, stime, cutime, cstime] = [fields[11], fields[12], fields[13], fields[14]].map(Number);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    const hz = ticksPerSecond();
    return {
      pid,
      cpuSeconds: (utime + stime) / hz,
      childCpuSeconds: (cutime + cstime) / hz,
      peakRssMb: Math.round((kb('VmHWM') / 1024) * 10) / 10,
      rssMb: Math.round((kb('VmRSS') / 1024) * 10) / 10,
    };
  } catch {
    return undefined;
  }
}

/**
 * Resets the process's peak resident set size (VmHWM) to its current one
 * (Linux: "5" to /proc/<pid>/clear_refs), so that the next reading is the
 * peak since now; false where that is not possible.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Peak RSS (VmHWM) in MB of each named process that is still there. */
export function peakRssMbOf(pids: Record<string, number | undefined>): Record<string, number> {
  const peaks: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) {
    const sample = pid ? sampleProcess(pid) : undefined;
    if (sample) peaks[name] = sample.peakRssMb;
  }
  return peaks;
}

/** Pids of the live children of `pid` (PostgreSQL's backends and workers under the postmaster). */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

/** CPU seconds used so far by a process tree's root, its reaped children and its live children. */
export function treeCpuSeconds(rootPid: number): number | undefined {
  const root = sampleProcess(rootPid);
  if (!root) return undefined;
  let total = root.cpuSeconds + root.childCpuSeconds;
  for (const child of childPids(rootPid)) total += sampleProcess(child)?.cpuSeconds ?? 0;
  return total;
}

/** The processes whose CPU the harness attributes to each scenario. */
export interface WatchedProcesses {
  /** Service name → pid. */
  services: Record<string, number | undefined>;
  /** The postmaster of the embedded PostgreSQL, when the harness started it. */
  postgresPid?: number;
}

/** CPU seconds per watched process at one moment; the load generator is `bench`. */
export type CpuSnapshot = Record<string, number>;

/** CPU seconds so far of each service, of PostgreSQL (whole tree) and of this process. */
export function cpuSnapshot(watched: WatchedProcesses): CpuSnapshot {
  const snapshot: CpuSnapshot = {};
  for (const [name, pid] of Object.entries(watched.services)) {
    const sample = pid ? sampleProcess(pid) : undefined;
    if (sample) snapshot[name] = sample.cpuSeconds;
  }
  if (watched.postgresPid) {
    const pg = treeCpuSeconds(watched.postgresPid);
    if (pg !== undefined) snapshot.postgres = pg;
  }
  const own = process.cpuUsage();
  snapshot.bench = (own.user + own.system) / 1e6;
  return snapshot;
}

/** CPU used between two snapshots, as a share of one core over `elapsedMs` (1.0 = one core busy). */
export function cpuShare(before: CpuSnapshot, after: CpuSnapshot, elapsedMs: number): Record<string, number> {
  const share: Record<string, number> = {};
  for (const [name, end] of Object.entries(after)) {
    if (before[name] === undefined || elapsedMs <= 0) continue;
    share[name] = Math.round(((end - before[name]) / (elapsedMs / 1000)) * 100) / 100;
  }
  return share;
}
