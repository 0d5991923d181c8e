/** Runs the built `tributary` CLI as a child process, as a user would. */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/postgres.js';
import { waitFor } from './events.js';

export const CLI = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunningCli {
  readonly child: ChildProcess;
  readonly exited: Promise<CliResult>;
  stderr(): string;
  stdout(): string;
}

/** `tributary run` from `source` into `warehouse`, with batches cut short for tests; then `more`. */
export function runArgs(source: string, warehouse: string, ...more: string[]): string[] {
  return ['run', '--source', source, '--warehouse', warehouse, '--batch-delay', '20ms', ...more];
}

export function startCli(args: readonly string[], env: Readonly<Record<string, string>> = {}): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'info', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<CliResult>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, exited, stderr: () => stderr, stdout: () => stdout };
}

export async function runCli(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<CliResult> {
  return startCli(args, env).exited;
}

/** Peak resident memory (VmHWM) of a running process, in bytes. */
export function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

/**
 * The port a running `tributary run` serves its HTTP API on, read from its log line
 * "serving the HTTP API" (`"http":"<host>:<port>"`); waits for it.
 */
export function httpPort(running: Pick<RunningCli, 'stderr'>, host = '127.0.0.1'): Promise<number> {
  const pattern = new RegExp(`"http":"${host.replaceAll('.', '\\.')}:(\\d+)"`);
  return waitFor('the HTTP API', () => {
    const match = pattern.exec(running.stderr());
    return match ? Number(match[1]) : undefined;
  });
}
