/** Timing, formatting and file helpers the benchmarks share (bench/e2e, bench/snapshot, bench/feed). */
import type { ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

/** Wall clock in milliseconds, with sub-millisecond resolution. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

export function elapsedSince(startMs: number): number {
  return (now() - startMs) / 1000;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A rate as `123k/s`, or `950/s` below 10,000. */
export function rate(perSecond: number): string {
  return perSecond >= 10_000
    ? `${Math.round(perSecond / 1000).toLocaleString('en-US')}k/s`
    : `${Math.round(perSecond).toLocaleString('en-US')}/s`;
}

export function int(n: number): string {
  return n.toLocaleString('en-US');
}

export function verdict(pass: boolean): string {
  return pass ? 'PASS' : 'BELOW TARGET';
}

/** `promise`, or a rejection naming `what` after `ms`. */
export function withTimeout<T>(promise: Promise<T>, what: string, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 60_000} min`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Bytes of a DuckDB file and its WAL. */
export function fileBytes(path: string): number {
  let total = 0;
  for (const p of [path, `${path}.wal`]) if (existsSync(p)) total += statSync(p).size;
  return total;
}

/**
 * Waits for a spawned reference tool to exit 0 within `ms`; SIGTERMs it if it is still running
 * then, and throws with its stderr when it failed.
 */
export async function exitedOk(child: ChildProcess, what: string, ms: number): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await withTimeout(
    new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', resolve);
    }),
    what,
    ms,
  ).finally(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  });
  if (code !== 0) throw new Error(`${what} exited ${code}: ${stderr.trim()}`);
}
