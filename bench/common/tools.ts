/** Small helpers the benchmarks share: finding the reference tool, medians, machine load. */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';

/** The newest pg_recvlogical on this machine: the Postgres packages' bin dirs, then PATH. */
export function findRecvLogical(): { path: string; version: string } | null {
  return findClientTool('pg_recvlogical');
}

/**
 * The newest runnable PostgreSQL client program `name` (pg_recvlogical, psql, ...): the Postgres
 * packages' bin dirs (/usr/lib/postgresql/<major>/bin, newest major first), then PATH.
 */
export function findClientTool(name: string): { path: string; version: string } | null {
  const candidates: string[] = [];
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const majors = readdirSync(root)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const major of majors) candidates.push(join(root, major, 'bin', name));
  }
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir) candidates.push(join(dir, name));
  for (const path of candidates) {
    if (!existsSync(path)) continue;
    try {
      const version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
      return { path, version };
    } catch {
      // not runnable; try the next
    }
  }
  return null;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The 1, 5 and 15 minute load averages, for the record: the benchmarks share a noisy machine. */
export function loadText(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}
