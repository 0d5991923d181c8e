/**
 * `npm run bench`: Tributary's pgoutput decoding against `pg_recvlogical`, same server, same
 * backlog, same transport, in the same run.
 *
 * A throwaway cluster gets one table with a realistic mix of column types, a publication, and
 * one logical slot (pgoutput) per timed run, all created before the backlog is written, so
 * every slot holds the identical backlog. The backlog is then written in transactions of 100
 * rows: per round of 1,000 changes, 600 inserts, 300 updates and 100 deletes (default 1,000
 * rounds: 1,000,000 changes in 10,000 transactions).
 *
 * The two consumers then drain it in turn (recv, tributary, recv, tributary, …), each on a slot
 * of its own:
 * - pg_recvlogical (the machine's Postgres binaries) writing to /dev/null, stopping at the WAL
 *   insert position recorded after the backlog (`--endpos`); timed from spawn to exit;
 * - `PostgresSource` with full value decoding (rows of typed values), a target that counts the
 *   changes and acknowledges the last position of every batch, aborted at the last commit;
 *   timed from `run()` to its return (`prepare()`, the pre-flight checks, is not timed).
 * Both ask for the same pgoutput options. The result is the ratio of the medians (Tributary /
 * pg_recvlogical); absolute rates are printed for context only, machines are noisy.
 *
 * Options: --rounds N (1,000 changes each), --runs N (per consumer), --transport tcp|unix,
 * --only tributary|recv (for profiling one side), --no-warmup.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { StreamItem } from '../../src/core/change-event.js';
import { silentLogger } from '../../src/core/logger.js';
import { formatLsn, type Lsn, parseLsn } from '../../src/core/lsn.js';
import type { Position } from '../../src/core/position.js';
import { PostgresSource } from '../../src/source/postgres/postgres-source.js';
import { parseSourceUrl } from '../../src/source/postgres/setup/connection-config.js';
import {
  newestBinaries,
  PostgresCluster,
  SUPERUSER,
  SUPERUSER_PASSWORD,
} from '../../test/harness/postgres.js';
import { backlogSql, CHANGES_PER_ROUND } from '../common/backlog.js';
import { findRecvLogical, loadText, median } from '../common/tools.js';

const TARGET_RATIO = 0.8;
const PUBLICATION = 'bench';
/** A run that takes longer than this is stuck: it fails the bench instead of hanging it. */
const RUN_TIMEOUT_MS = 20 * 60_000;

interface Options {
  readonly rounds: number;
  readonly runs: number;
  readonly transport: 'tcp' | 'unix';
  readonly only: 'tributary' | 'recv' | null;
  readonly warmup: boolean;
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '1000' },
      runs: { type: 'string', default: '3' },
      transport: { type: 'string', default: 'tcp' },
      only: { type: 'string' },
      'no-warmup': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const rounds = Number(values.rounds);
  const runs = Number(values.runs);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive integer');
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  if (values.transport !== 'tcp' && values.transport !== 'unix')
    throw new Error('--transport must be tcp or unix');
  const only = values.only ?? null;
  if (only !== null && only !== 'tributary' && only !== 'recv')
    throw new Error('--only must be tributary or recv');
  return { rounds, runs, transport: values.transport, only, warmup: !values['no-warmup'] };
}

interface RunResult {
  readonly consumer: 'pg_recvlogical' | 'tributary';
  readonly slot: string;
  readonly seconds: number;
  readonly changesPerSecond: number;
  /** CPU seconds (user + system) of the consumer: pg_recvlogical, or this process during run(). */
  readonly clientCpu: number | null;
  /** CPU seconds of the walsender serving the run (sampled from /proc, Linux only). */
  readonly walsenderCpu: number | null;
  /** Tributary only: seconds until the last commit was handed over (before shutdown). */
  readonly drainedSeconds?: number;
  /** Tributary only: process RSS right after the run, MiB. */
  readonly rssMiB?: number;
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

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

/** CPU seconds of the children this process has waited for (cutime + cstime), Linux only. */
function childrenCpu(): number | null {
  const fields = procStat('self');
  return fields ? (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS : null;
}

/**
 * Follows the CPU time of the walsender that holds `slot`: finds it through
 * pg_replication_slots.active_pid, then samples /proc/<pid>/stat until stopped (the last sample
 * before the walsender exits; it undercounts by at most one interval).
 */
function followWalsender(cluster: PostgresCluster, slot: string): { stop(): Promise<number | null> } {
  let pid: number | null = null;
  let cpu: number | null = null;
  let busy = false;
  const client = cluster.connect().then((c) => {
    c.on('error', () => {}); // the cluster may be stopped under it
    return c;
  });
  client.catch(() => {});
  const sample = async () => {
    if (busy) return;
    busy = true;
    try {
      if (pid === null) {
        const result = await (await client).query<{ pid: number | null }>(
          'SELECT active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1',
          [slot],
        );
        pid = result.rows[0]?.pid ?? null;
      }
      if (pid !== null) {
        const fields = procStat(pid);
        if (fields) cpu = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
      }
    } catch {
      // sampling is best effort
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void sample(), 50);
  return {
    async stop() {
      clearInterval(timer);
      await (await client.catch(() => null))?.end();
      return cpu;
    },
  };
}

let currentChild: ChildProcess | null = null;
/** Set when SIGINT or SIGTERM arrived: its handler cleans up and exits. */
let interrupted: NodeJS.Signals | null = null;

async function runRecvLogical(
  recv: string,
  cluster: PostgresCluster,
  transport: Options['transport'],
  slot: string,
  end: Lsn,
  protoVersion: number,
  changes: number,
): Promise<RunResult> {
  const args = [
    '-h',
    transport === 'tcp' ? '127.0.0.1' : cluster.socketDir,
    '-p',
    String(cluster.port),
    '-U',
    SUPERUSER,
    '-d',
    'postgres',
    '--slot',
    slot,
    '--start',
    '--endpos',
    formatLsn(end),
    '--no-loop',
    '-f',
    '/dev/null',
    // the plugin options Tributary sends (see PostgresSource#pluginOptions)
    '-o',
    `proto_version=${protoVersion}`,
    '-o',
    `publication_names=${PUBLICATION}`,
    '-o',
    'messages=true',
    '-o',
    'streaming=on',
  ];
  const walsender = followWalsender(cluster, slot);
  const cpuBefore = childrenCpu();
  const start = process.hrtime.bigint();
  const child = spawn(recv, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      PGPASSWORD: SUPERUSER_PASSWORD,
      PGSSLMODE: 'disable',
      PGGSSENCMODE: 'disable',
      PGAPPNAME: 'bench-recvlogical',
    },
  });
  currentChild = child;
  const deadline = setTimeout(() => child.kill('SIGTERM'), RUN_TIMEOUT_MS);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
  });
  const elapsed = seconds(start);
  clearTimeout(deadline);
  const cpuAfter = childrenCpu();
  currentChild = null;
  const walsenderCpu = await walsender.stop();
  if (code !== 0) throw new Error(`pg_recvlogical exited ${code}: ${stderr.trim()}`);
  return {
    consumer: 'pg_recvlogical',
    slot,
    seconds: elapsed,
    changesPerSecond: changes / elapsed,
    clientCpu: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore,
    walsenderCpu,
  };
}

async function runTributary(
  cluster: PostgresCluster,
  transport: Options['transport'],
  slot: string,
  end: Lsn,
  changes: number,
  spoolRoot: string,
): Promise<RunResult> {
  const url =
    transport === 'tcp'
      ? cluster.url()
      : `postgres://${SUPERUSER}@/postgres?host=${encodeURIComponent(cluster.socketDir)}&port=${cluster.port}`;
  const source = new PostgresSource({
    connection: parseSourceUrl(url),
    slot,
    publication: PUBLICATION,
    tables: [{ schema: 'public', name: 'bench' }],
    logger: silentLogger(),
    spoolDir: join(spoolRoot, slot),
  });
  const prepared = await source.prepare();
  if (prepared.slotCreated) throw new Error(`slot ${slot} should have existed before the backlog`);
  const controller = new AbortController();
  let seen = 0;
  let commits = 0;
  let drainedAt = 0n;
  let walsenderCpu: number | null = null;
  const target = {
    write: async (items: readonly StreamItem[]): Promise<void> => {
      let last: Position | null = null;
      for (const item of items) {
        if (item.kind === 'change') {
          seen++;
          last = item.event.position;
        } else if (item.kind === 'commit') {
          commits++;
          if ((item.endLsn >= end || seen >= changes) && !controller.signal.aborted) {
            drainedAt = process.hrtime.bigint();
            controller.abort();
          }
        }
      }
      // a sink that made the batch durable: acknowledge once per batch
      if (last) source.acknowledge(last);
    },
    flush: async (): Promise<void> => {},
  };
  const walsender = followWalsender(cluster, slot);
  const cpuBefore = process.cpuUsage();
  const deadline = setTimeout(() => controller.abort(), RUN_TIMEOUT_MS);
  const start = process.hrtime.bigint();
  try {
    await source.run(target, controller.signal);
  } finally {
    clearTimeout(deadline);
    walsenderCpu = await walsender.stop();
  }
  const elapsed = seconds(start);
  const cpu = process.cpuUsage(cpuBefore);
  if (seen !== changes)
    throw new Error(`tributary on ${slot} saw ${seen} changes in ${commits} commits; expected ${changes}`);
  return {
    consumer: 'tributary',
    slot,
    seconds: elapsed,
    changesPerSecond: changes / elapsed,
    clientCpu: (cpu.user + cpu.system) / 1e6,
    walsenderCpu,
    drainedSeconds: Number(drainedAt - start) / 1e9,
    rssMiB: process.memoryUsage().rss / 2 ** 20,
  };
}

function rate(value: number): string {
  return `${Math.round(value / 1000).toLocaleString('en-US')}k/s`;
}

function cpuText(value: number | null): string {
  return value === null ? 'n/a' : `${value.toFixed(2)} s`;
}

/** The median of the known values, or null when none is known. */
function medianOf(values: readonly (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length === 0 ? null : median(known);
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

async function main(): Promise<number> {
  const options = readOptions();
  const recv = findRecvLogical();
  if (!recv && options.only !== 'tributary') {
    console.error(
      'bench/decode: the reference is unavailable: pg_recvlogical was not found ' +
        '(looked in /usr/lib/postgresql/*/bin and PATH). Install the PostgreSQL client ' +
        'package (e.g. apt-get install postgresql-client) and run again.',
    );
    return 2;
  }
  const changes = options.rounds * CHANGES_PER_ROUND;
  const binaries = newestBinaries();
  // Everything on disk (the harness' initdb template, the cluster, Tributary's spool) goes under
  // one directory of this run, removed at the end: the harness keeps its template for the life
  // of the process and does not remove it. The cluster may run as another user: 0755.
  const workDir = mkdtempSync(join(tmpdir(), 'tributary-bench-'));
  chmodSync(workDir, 0o755);
  process.env.TMPDIR = workDir;
  const spoolRoot = join(workDir, 'spool');
  console.log(`bench/decode: Tributary vs pg_recvlogical, ${options.transport.toUpperCase()}`);
  console.log(
    `  machine: ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}`,
  );
  console.log(`  load average at start: ${loadText()} (other work on the machine skews every run)`);
  console.log(`  reference: ${recv ? `${recv.version} (${recv.path})` : 'skipped (--only tributary)'}`);

  let cluster: PostgresCluster | null = null;
  const stopOnSignal = (signal: NodeJS.Signals) => {
    interrupted = signal;
    console.error(`bench/decode: ${signal}, stopping the cluster`);
    currentChild?.kill('SIGTERM');
    void (cluster?.stop() ?? Promise.resolve())
      .catch(() => {})
      .finally(() => {
        rmSync(workDir, { recursive: true, force: true });
        process.exit(signal === 'SIGINT' ? 130 : 143);
      });
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    cluster = await PostgresCluster.start({
      binaries,
      settings: {
        logical_decoding_work_mem: '64MB',
        shared_buffers: '256MB',
        max_wal_size: '8GB',
        checkpoint_timeout: '1h',
        synchronous_commit: 'off',
      },
    });
    const [facts] = await cluster.sql<{ version: string; num: string }>(
      "SELECT current_setting('server_version') AS version, current_setting('server_version_num') AS num",
    );
    const version = facts?.version ?? 'unknown';
    const versionNum = Number(facts?.num);
    const protoVersion = versionNum >= 160000 ? 4 : 2; // what PostgresSource asks for
    console.log(
      `  server: PostgreSQL ${version} (${binaries.binDir}), pgoutput proto_version ${protoVersion}`,
    );

    await cluster.sql(backlogSql(PUBLICATION));
    const order: { consumer: 'recv' | 'tributary'; slot: string }[] = [];
    if (options.warmup && options.only !== 'tributary') order.push({ consumer: 'recv', slot: 'recv_warmup' });
    for (let i = 1; i <= options.runs; i++) {
      if (options.only !== 'tributary') order.push({ consumer: 'recv', slot: `recv_${i}` });
      if (options.only !== 'recv') order.push({ consumer: 'tributary', slot: `tributary_${i}` });
    }
    for (const { slot } of order)
      await cluster.sql("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);

    console.log(
      `  workload: ${changes.toLocaleString('en-US')} changes (60% insert, 30% update, 10% delete) ` +
        `in ${(changes / 100).toLocaleString('en-US')} transactions of 100 rows; ` +
        'columns bigint pk, int, numeric(12,2), text, timestamptz, boolean, jsonb, uuid',
    );
    const loadStart = process.hrtime.bigint();
    await cluster.sql(`CALL bench_backlog(${options.rounds})`);
    // The insert position, not pg_current_wal_lsn() (the write position): with
    // synchronous_commit off the last commits may not be written yet, and --endpos must not
    // fall short of the last transaction's commit record.
    const [backlog] = await cluster.sql<{ lsn: string; wal: string }>(
      `SELECT pg_current_wal_insert_lsn()::text AS lsn,
              pg_size_pretty(pg_current_wal_insert_lsn() - restart_lsn) AS wal
         FROM pg_replication_slots WHERE slot_name = $1`,
      [order[0]!.slot],
    );
    if (!backlog) throw new Error('the replication slots are missing');
    const end = parseLsn(backlog.lsn);
    console.log(
      `  backlog written in ${seconds(loadStart).toFixed(1)} s: ${backlog.wal} of WAL, ends at ${backlog.lsn}`,
    );
    await cluster.sql('CHECKPOINT');

    const results: RunResult[] = [];
    const rssBefore = process.memoryUsage().rss / 2 ** 20;
    for (const { consumer, slot } of order) {
      const result =
        consumer === 'recv'
          ? await runRecvLogical(recv!.path, cluster, options.transport, slot, end, protoVersion, changes)
          : await runTributary(cluster, options.transport, slot, end, changes, spoolRoot);
      const extra =
        result.drainedSeconds !== undefined
          ? `  (last commit at ${result.drainedSeconds.toFixed(2)} s, RSS ${result.rssMiB?.toFixed(0)} MiB)`
          : '';
      console.log(
        `  ${pad(slot === 'recv_warmup' ? 'warmup' : '', 6)} ${pad(result.consumer, 14)} ${pad(slot, 12)} ` +
          `${result.seconds.toFixed(2).padStart(6)} s ${pad(rate(result.changesPerSecond), 8, true)}  ` +
          `client CPU ${cpuText(result.clientCpu)}, walsender CPU ${cpuText(result.walsenderCpu)}${extra}`,
      );
      if (slot !== 'recv_warmup') results.push(result);
    }

    const recvRuns = results.filter((r) => r.consumer === 'pg_recvlogical');
    const tribRuns = results.filter((r) => r.consumer === 'tributary');
    const peakRssMiB = process.resourceUsage().maxRSS / 1024;
    const columns = Math.max(recvRuns.length, tribRuns.length);

    console.log('');
    console.log(
      `| consumer       | ${Array.from({ length: columns }, (_, i) => pad(`run ${i + 1}`, 8, true)).join(' | ')} ` +
        '|   median | client CPU | walsender CPU |',
    );
    console.log(`|----------------|${'----------|'.repeat(columns)}----------|------------|---------------|`);
    for (const [name, runs] of [
      ['pg_recvlogical', recvRuns],
      ['tributary', tribRuns],
    ] as const) {
      if (runs.length === 0) continue;
      const cells = Array.from({ length: columns }, (_, i) => {
        const run = runs[i];
        return pad(run ? rate(run.changesPerSecond) : '', 8, true);
      });
      console.log(
        `| ${pad(name, 14)} | ${cells.join(' | ')} | ${pad(rate(median(runs.map((r) => r.changesPerSecond))), 8, true)} ` +
          `| ${pad(cpuText(medianOf(runs.map((r) => r.clientCpu))), 10, true)} ` +
          `| ${pad(cpuText(medianOf(runs.map((r) => r.walsenderCpu))), 13, true)} |`,
      );
    }
    console.log('');
    console.log('  changes/s per run; CPU: median seconds (user + system) per drain of the whole backlog');
    console.log(
      `  tributary peak RSS ${peakRssMiB.toFixed(0)} MiB (process maxRSS; ${rssBefore.toFixed(0)} MiB before the first run)`,
    );
    console.log(`  load average at the end: ${loadText()}`);
    if (recvRuns.length > 0 && tribRuns.length > 0) {
      const ratio =
        median(tribRuns.map((r) => r.changesPerSecond)) / median(recvRuns.map((r) => r.changesPerSecond));
      const verdict = ratio >= TARGET_RATIO ? 'PASS' : 'BELOW TARGET';
      console.log(
        `  ratio tributary / pg_recvlogical (medians): ${ratio.toFixed(2)}  target ≥ ${TARGET_RATIO}: ${verdict}`,
      );
    }
    return 0;
  } finally {
    process.off('SIGINT', stopOnSignal);
    process.off('SIGTERM', stopOnSignal);
    await cluster?.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    if (!interrupted) process.exit(code);
  },
  (error: unknown) => {
    if (interrupted) return; // the signal handler stops the cluster and exits
    console.error('bench/decode failed:', error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
