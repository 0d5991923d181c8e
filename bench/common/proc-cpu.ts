/**
 * CPU seconds of processes and threads, read from /proc (Linux only; null elsewhere or when
 * the process is gone). The cluster may run as another user: /proc/<pid>/stat is readable anyway.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: the unit of the CPU times in /proc/<pid>/stat. */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** Fields of a /proc stat file after the command name (which may hold spaces), or null. */
function statFields(path: string): string[] | null {
  try {
    const text = readFileSync(path, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** The parent of `pid`, or null. */
export function parentPid(pid: number): number | null {
  const f = statFields(`/proc/${pid}/stat`);
  return f ? Number(f[1]) : null;
}

/** The live children of `parent`. */
export function childPids(parent: number): number[] {
  const children: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return children;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(`/proc/${entry}/stat`);
    if (f && Number(f[1]) === parent) children.push(Number(entry));
  }
  return children;
}

/**
 * User + system CPU seconds of `pid` itself (utime + stime) and, with `reaped`, of the children
 * it has waited for (cutime + cstime).
 */
export function processCpu(pid: number | 'self', reaped = false): number | null {
  const f = statFields(`/proc/${pid}/stat`);
  if (!f) return null;
  const own = Number(f[11]) + Number(f[12]);
  return (reaped ? own + Number(f[13]) + Number(f[14]) : own) / CLOCK_TICKS;
}

/** CPU seconds of the children this process has waited for (cutime + cstime). */
export function reapedChildrenCpu(): number | null {
  const f = statFields('/proc/self/stat');
  return f ? (Number(f[13]) + Number(f[14])) / CLOCK_TICKS : null;
}

/**
 * CPU seconds of the main thread of `pid` (default this process): for Node, the JavaScript
 * thread, whose thread id is the pid.
 */
export function mainThreadCpu(pid: number = process.pid): number | null {
  const f = statFields(`/proc/${pid}/task/${pid}/stat`);
  return f ? (Number(f[11]) + Number(f[12])) / CLOCK_TICKS : null;
}
