/**
 * One drain through the real command line, two processes around JetStream, as an operator runs
 * them: `tributary source` (reads the slot, publishes) and `tributary load` (consumes, applies to
 * a fresh DuckDB file), both from dist/. Timed from spawning both to the moment the loader has
 * applied the backlog's size in changes.
 *
 * The completion signal is the loader's own status line (`--status-every 50ms`, on its stderr:
 * `{"changes": <applied since start>, ..., "msg": "status"}`), read as it arrives: it costs the
 * loader a log line, where polling `tributary status` would start a Node process and query the
 * warehouse each time; so the time is late by at most 50 ms. Once reached, one `tributary status
 * --json` (through the loader's control endpoint) must agree; then both get SIGTERM and must exit
 * 0, and the warehouse is opened here and checked against Postgres.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { findSetpriv } from '../../src/embedded/nats-server-binary.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { elapsedSince, now, withTimeout } from '../common/report.js';
import {
  childCpu,
  type DrainContext,
  type DrainRun,
  startMeters,
  takeDownStream,
  verifyWarehouse,
} from './drain.js';

/** dist/src/cli/main.js, from dist/bench/feed/. */
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const STATUS_EVERY = '50ms';
const STOP_TIMEOUT_MS = 60_000;

/** A `tributary` child: its stderr (the log) kept in part, its exit awaited. */
class CliProcess {
  readonly name: string;
  readonly process: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #tail = '';
  #partial = '';

  constructor(
    name: string,
    args: readonly string[],
    env: NodeJS.ProcessEnv,
    nodeArgs: readonly string[],
    onLine: (line: string) => void,
  ) {
    this.name = name;
    const node = [process.execPath, ...nodeArgs, CLI, ...args];
    // the kernel ends the child if this process dies without cleaning up (as the nats-server's)
    const setpriv = findSetpriv();
    const [command, argv] = setpriv
      ? [setpriv, ['--pdeathsig', 'KILL', '--', ...node]]
      : [node[0]!, node.slice(1)];
    this.process = spawn(command, argv, { stdio: ['ignore', 'ignore', 'pipe'], env });
    this.exited = new Promise((resolve, reject) => {
      this.process.once('error', reject);
      this.process.once('exit', (code, signal) => resolve({ code, signal }));
    });
    this.exited.catch(() => {});
    this.process.stderr?.on('data', (data: Buffer) => {
      const text = data.toString();
      this.#tail = (this.#tail + text).slice(-20_000);
      const lines = (this.#partial + text).split('\n');
      this.#partial = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    });
  }

  get pid(): number {
    return this.process.pid ?? -1;
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** The end of its log, for a failure message. */
  get log(): string {
    return this.#tail.trim().split('\n').slice(-15).join('\n');
  }

  /** Rejects when it exits: it is not meant to, before it is told to stop. */
  async fails(): Promise<never> {
    const { code, signal } = await this.exited;
    throw new Error(`tributary ${this.name} exited early (${signal ?? `code ${code}`}):\n${this.log}`);
  }

  /** SIGTERM, then waits for the exit (SIGKILL after `ms`); its exit code, and how long the stop took. */
  async stop(ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; seconds: number }> {
    const start = now();
    if (this.running) this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.process.kill('SIGKILL'), ms);
    try {
      return { ...(await this.exited), seconds: elapsedSince(start) };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The peak resident set of a live process, from /proc (null when gone or not Linux). */
function peakRss(pid: number): number | null {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function mib(bytes: number | null): string {
  return bytes === null ? '-' : `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

/**
 * `profileDir`: the children run with `node --cpu-prof --cpu-prof-dir <profileDir>` (a profile
 * each, written when they exit on SIGTERM).
 */
export async function cliDrain(
  ctx: DrainContext,
  round: number,
  slot: string,
  profileDir: string | null,
): Promise<DrainRun> {
  if (!existsSync(CLI))
    throw new Error(
      `${CLI} is missing: run the bench from dist/ after \`npm run build\` (npm run bench:feed)`,
    );
  const path = join(ctx.workDir, `${slot}.duckdb`);
  const feedName = `feed_${slot}`;
  const feed = ['--feed', ctx.nats.url, '--feed-name', feedName];
  // the source's URL (with the throwaway cluster's password) goes in the environment, not argv
  const env = { ...process.env, TRIBUTARY_SOURCE: ctx.cluster.url(), TRIBUTARY_LOG_LEVEL: 'info' };
  let applied = 0;
  let onApplied: (() => void) | null = null;
  const reached = new Promise<void>((resolve) => {
    onApplied = () => {
      if (applied >= ctx.changes) resolve();
    };
  });
  const readStatus = (line: string) => {
    if (!line.includes('"msg":"status"')) return;
    try {
      applied = Math.max(applied, Number((JSON.parse(line) as { changes?: unknown }).changes ?? 0));
    } catch {
      return;
    }
    onApplied?.();
  };

  const nodeArgs = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const meters = await startMeters(ctx);
  const start = now();
  const source = new CliProcess(
    'source',
    ['source', '--slot', slot, '--publication', 'bench_pub', '--tables', 'public.bench', ...feed],
    env,
    nodeArgs,
    () => {},
  );
  const loader = new CliProcess(
    'load',
    ['load', ...feed, '--warehouse', path, '--slot', slot, '--status-every', STATUS_EVERY],
    env,
    nodeArgs,
    readStatus,
  );
  const children = [source, loader];
  const shutDown = async () => {
    await Promise.all(children.map((c) => c.stop(5_000)));
  };
  ctx.live.add(shutDown);
  try {
    await withTimeout(
      Promise.race([reached, source.fails(), loader.fails()]),
      'the two-process drain',
      ctx.stageTimeoutMs,
    );
    const seconds = elapsedSince(start);
    const timed = meters.timed();
    const cpu = { source: childCpu(source.pid), loader: childCpu(loader.pid) };
    const rss = { source: peakRss(source.pid), loader: peakRss(loader.pid) };

    const { stdout } = await promisify(execFile)(
      process.execPath,
      [CLI, 'status', '--warehouse', path, '--json'],
      { env, timeout: 60_000 },
    );
    const report = JSON.parse(stdout) as { running?: boolean; changesApplied?: number };
    if (!report.running || report.changesApplied !== ctx.changes)
      throw new Error(
        `tributary status --json says running ${report.running}, changesApplied ${report.changesApplied}; ` +
          `the loader's status line said ${applied}, the backlog holds ${ctx.changes}`,
      );

    const stops = await Promise.all(children.map((c) => c.stop(STOP_TIMEOUT_MS)));
    stops.forEach((s, i) => {
      const child = children[i]!;
      if (s.code !== 0)
        throw new Error(
          `tributary ${child.name} exited ${s.signal ?? `code ${s.code}`} on SIGTERM:\n${child.log}`,
        );
    });
    const warehouse = await DuckDBWarehouse.open(path);
    try {
      await verifyWarehouse(warehouse, ctx);
    } finally {
      await warehouse.close();
    }
    const notes = [
      `status --json: changesApplied ${report.changesApplied.toLocaleString('en-US')}`,
      `SIGTERM: source exit 0 in ${stops[0]!.seconds.toFixed(2)} s, load exit 0 in ${stops[1]!.seconds.toFixed(2)} s`,
      `peak RSS source ${mib(rss.source)}, load ${mib(rss.loader)}`,
      'rows match Postgres',
      await takeDownStream(ctx, feedName),
    ];
    return {
      variant: 'jetstream-2proc',
      round,
      seconds,
      changesPerSecond: ctx.changes / seconds,
      cpu: { bench: timed.bench, ...cpu, nats: timed.nats, postgres: await meters.postgres() },
      notes,
    };
  } finally {
    await shutDown();
    ctx.live.delete(shutDown);
    rmSync(path, { force: true });
    rmSync(`${path}.wal`, { force: true });
  }
}
