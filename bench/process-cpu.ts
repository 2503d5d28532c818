/**
 * CPU used by each process of this machine's mesh between two snapshots, from /proc (Linux): which service a
 * latency or throughput figure was paying for. Processes are named by role: the broker (java), postgres, each
 * built service (dist/services/<name>), the bench itself and its relays.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

export interface CpuSnapshot {
  at: number;
  ticks: Map<number, { role: string; ticks: number }>;
}

function roleOf(pid: number, cmdline: string): string | undefined {
  if (pid === process.pid) return 'bench';
  const service = /dist\/services\/([a-z-]+)\//.exec(cmdline);
  if (service) return service[1];
  if (cmdline.includes('e2e-relay')) return 'plain relays';
  if (cmdline.startsWith('java') && cmdline.includes('kafka')) return 'kafka broker';
  if (cmdline.startsWith('postgres')) return 'postgres';
  return undefined;
}

export function cpuSnapshot(): CpuSnapshot {
  const ticks = new Map<number, { role: string; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const role = roleOf(pid, cmdline);
      if (!role) continue;
      // Fields after the command name (which may contain spaces) start at the last ')'.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.set(pid, { role, ticks: Number(fields[11]) + Number(fields[12]) }); // utime + stime
    } catch {
      // The process ended between readdir and read.
    }
  }
  return { at: Date.now(), ticks };
}

/** Percent of one core per role between two snapshots (processes alive at both), busiest first. */
export function cpuByRole(before: CpuSnapshot, after: CpuSnapshot): { role: string; percent: number }[] {
  const seconds = (after.at - before.at) / 1000;
  const byRole = new Map<string, number>();
  for (const [pid, end] of after.ticks) {
    const start = before.ticks.get(pid);
    if (!start) continue;
    byRole.set(end.role, (byRole.get(end.role) ?? 0) + (end.ticks - start.ticks) / TICKS_PER_SECOND);
  }
  return [...byRole]
    .map(([role, cpuSeconds]) => ({ role, percent: (100 * cpuSeconds) / seconds }))
    .sort((a, b) => b.percent - a.percent);
}
