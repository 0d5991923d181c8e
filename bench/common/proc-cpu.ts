/**
 * CPU seconds of other processes, read from /proc (Linux only; null elsewhere or when the
 * process is gone). The cluster may run as another user: /proc/<pid>/stat is readable anyway.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** USER_HZ: the unit of the CPU times in /proc/<pid>/stat. */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces), or null. */
function procStat(pid: number | 'self'): string[] | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** The parent of `pid`, or null. */
export function parentPid(pid: number): number | null {
  const fields = procStat(pid);
  return fields ? Number(fields[1]) : null;
}

/**
 * User + system CPU seconds of `pid` itself plus those of the children it has waited for
 * (cutime + cstime): for the postmaster, every backend that has exited; for this process, every
 * child program that has exited.
 */
export function cpuWithReapedChildren(pid: number | 'self'): number | null {
  const f = procStat(pid);
  if (!f) return null;
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLOCK_TICKS;
}

/** CPU seconds of the children this process has waited for (cutime + cstime). */
export function reapedChildrenCpu(): number | null {
  const f = procStat('self');
  return f ? (Number(f[13]) + Number(f[14])) / CLOCK_TICKS : null;
}
