/**
 * `npm run bench:snapshot`: the initial snapshot — the first run of `runPipeline`, which creates
 * its slot, exports the slot's snapshot and copies every published table into a fresh DuckDB
 * file before it streams — against reading the same rows out of the same server with
 * `COPY (SELECT ...) TO STDOUT` to nowhere, measured in the same run.
 *
 * - Setup: one throwaway cluster (as bench/e2e), table `orders (id bigint PRIMARY KEY,
 *   customer_id integer, country text, total numeric(12,2), ordered_at timestamptz, note text)`
 *   with `--rows` rows from generate_series, then VACUUM ANALYZE; publication `orders_pub`.
 * - Reference, two ways, both over TCP with Tributary's session settings (UTC, ISO dates, ...):
 *   the machine's `psql -c "COPY (SELECT ...) TO STDOUT"` with its stdout on /dev/null, spawn
 *   to exit; and in this process, pg + pg-copy-streams (what the snapshot reads with) consuming
 *   and discarding the stream, connect to end. The faster median is the reference.
 * - Tributary: `runPipeline` with `DuckDBWarehouse.open(path, { typeInfo })` itself as the
 *   warehouse (so snapshots are on) and a slot of its own, default snapshot settings unless
 *   `--workers`, `--chunk-rows`, `--batch-rows` say otherwise. Timed from `runPipeline` until
 *   the warehouse records the job as done, then aborted; the warehouse's count(*), sum(total),
 *   count(note) and sum(length(note)) must equal Postgres'.
 * - Order: psql, pg-copy-streams, Tributary, repeated `--runs` times (default 2). Result: the
 *   ratio of the medians, Tributary / reference; target ≥ 0.5.
 * - Beside each run, for the record: client CPU (psql's; or this process's, all threads, with its
 *   main thread's CPU and the event loop's busy share), the whole server's CPU (from /proc), and
 *   for Tributary the time its DuckDB writes took, when the first rows were written, peak RSS.
 *
 * Options: --rows N (default 10,000,000), --runs N, --workers N, --chunk-rows N, --batch-rows N,
 * --only copy|tributary (for profiling one side; no ratio then).
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { to as copyTo } from 'pg-copy-streams';
import { silentLogger } from '../../src/core/logger.js';
import {
  newestBinaries,
  PostgresCluster,
  SUPERUSER,
  SUPERUSER_PASSWORD,
} from '../../src/embedded/postgres-cluster.js';
import { runPipeline } from '../../src/pipeline/pipeline.js';
import {
  DEFAULT_SNAPSHOT_SETTINGS,
  type JobProgress,
  type SnapshotSettings,
} from '../../src/pipeline/snapshot-runner.js';
import { sessionOptions, withSessionSettings } from '../../src/source/postgres/session-settings.js';
import { connectClient } from '../../src/source/postgres/setup/connect.js';
import { parseSourceUrl } from '../../src/source/postgres/setup/connection-config.js';
import { TypeRegistry } from '../../src/source/postgres/values/type-registry.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { mainThreadCpu, reapedChildrenCpu } from '../common/proc-cpu.js';
import {
  elapsedSince,
  exitedOk,
  fileBytes,
  int,
  now,
  rate,
  sleep,
  verdict,
  withTimeout,
} from '../common/report.js';
import { ServerCpu } from '../common/server-cpu.js';
import { findClientTool, loadText, median } from '../common/tools.js';
import { COPY_SELECT, createOrders, type Facts, factsMismatch, readWarehouseFacts } from './orders.js';

const TARGET = 0.5;
const STAGE_TIMEOUT_MS = 60 * 60_000;
const POLL_MS = 50;

interface Options {
  readonly rows: number;
  readonly runs: number;
  readonly snapshot: Partial<SnapshotSettings>;
  readonly only: 'copy' | 'tributary' | null;
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '10000000' },
      runs: { type: 'string', default: '2' },
      workers: { type: 'string' },
      'chunk-rows': { type: 'string' },
      'batch-rows': { type: 'string' },
      only: { type: 'string' },
    },
    strict: true,
  });
  const positive = (name: string, text: string): number => {
    const n = Number(text.replaceAll('_', ''));
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
    return n;
  };
  const snapshot: { -readonly [K in keyof SnapshotSettings]?: SnapshotSettings[K] } = {};
  if (values.workers !== undefined) snapshot.workers = positive('workers', values.workers);
  if (values['chunk-rows'] !== undefined) snapshot.chunkRows = positive('chunk-rows', values['chunk-rows']);
  if (values['batch-rows'] !== undefined) snapshot.batchRows = positive('batch-rows', values['batch-rows']);
  const only = values.only ?? null;
  if (only !== null && only !== 'copy' && only !== 'tributary')
    throw new Error('--only must be copy or tributary');
  return { rows: positive('rows', values.rows), runs: positive('runs', values.runs), snapshot, only };
}

// ---------------------------------------------------------------------------------------------
// small helpers

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

function cpuText(seconds: number | null): string {
  return seconds === null ? '-' : `${seconds.toFixed(2)} s`;
}

/** Peak resident set of this process so far (it only grows). */
function peakRss(): string {
  return mib(process.resourceUsage().maxRSS * 1024);
}

function cpuDelta(after: number | null, before: number | null): number | null {
  return after === null || before === null ? null : after - before;
}

// ---------------------------------------------------------------------------------------------
// the reference: COPY to nowhere

interface Run {
  readonly consumer: 'psql' | 'pg-copy-streams' | 'tributary';
  readonly seconds: number;
  readonly rowsPerSecond: number;
  /** The consumer's own CPU seconds (psql; this process, with DuckDB's threads). */
  readonly clientCpu: number | null;
  /** In this process: CPU of the main (JavaScript) thread, and the event loop's busy share. */
  readonly mainThread: { readonly cpu: number | null; readonly loopBusy: number } | null;
  /** CPU seconds of the whole server over the run (bench/common/server-cpu.ts). */
  readonly serverCpu: number | null;
  readonly note: string;
}

/** CPU of this process over a run: all threads, the main thread, the event loop's utilization. */
function meterThisProcess(): () => Pick<Run, 'clientCpu' | 'mainThread'> {
  const cpu = process.cpuUsage();
  const main = mainThreadCpu();
  const loop = performance.eventLoopUtilization();
  return () => {
    const used = process.cpuUsage(cpu);
    return {
      clientCpu: (used.user + used.system) / 1e6,
      mainThread: {
        cpu: cpuDelta(mainThreadCpu(), main),
        loopBusy: performance.eventLoopUtilization(loop).utilization,
      },
    };
  };
}

let activeChild: ChildProcess | null = null;
/**
 * Shuts down the current Tributary run: its pipeline first, then its warehouse (closing DuckDB
 * under a running pipeline can hang the process).
 */
let shutDownRun: (() => Promise<void>) | null = null;

async function psqlCopy(
  psql: string,
  cluster: PostgresCluster,
  server: ServerCpu,
  rows: number,
): Promise<Run> {
  const serverBefore = await server.read();
  const childBefore = reapedChildrenCpu();
  const devNull = openSync('/dev/null', 'w');
  const start = now();
  let child: ChildProcess;
  try {
    child = spawn(
      psql,
      [
        ...['-X', '-q', '-v', 'ON_ERROR_STOP=1'],
        ...['-h', '127.0.0.1', '-p', String(cluster.port), '-U', SUPERUSER, '-d', 'postgres'],
        ...['-c', `COPY (${COPY_SELECT}) TO STDOUT`],
      ],
      {
        stdio: ['ignore', devNull, 'pipe'],
        env: {
          ...process.env,
          PGPASSWORD: SUPERUSER_PASSWORD,
          PGSSLMODE: 'disable',
          PGGSSENCMODE: 'disable',
          PGOPTIONS: sessionOptions(),
        },
      },
    );
  } finally {
    closeSync(devNull);
  }
  activeChild = child;
  try {
    await exitedOk(child, 'psql', STAGE_TIMEOUT_MS);
  } finally {
    activeChild = null;
  }
  const seconds = elapsedSince(start);
  return {
    consumer: 'psql',
    seconds,
    rowsPerSecond: rows / seconds,
    clientCpu: cpuDelta(reapedChildrenCpu(), childBefore),
    mainThread: null,
    serverCpu: cpuDelta(await server.read(), serverBefore),
    note: '',
  };
}

async function nodeCopy(cluster: PostgresCluster, server: ServerCpu, rows: number): Promise<Run> {
  const serverBefore = await server.read();
  const meter = meterThisProcess();
  const start = now();
  const client = await connectClient(withSessionSettings(parseSourceUrl(cluster.url())), {
    applicationName: 'bench copy reference',
  });
  let bytes = 0;
  try {
    const stream = client.query(copyTo(`COPY (${COPY_SELECT}) TO STDOUT`));
    await withTimeout(
      (async () => {
        for await (const chunk of stream) bytes += (chunk as Buffer).length;
      })(),
      'the in-process COPY',
      STAGE_TIMEOUT_MS,
    );
  } finally {
    await client.end();
  }
  const seconds = elapsedSince(start);
  const used = meter();
  return {
    consumer: 'pg-copy-streams',
    seconds,
    rowsPerSecond: rows / seconds,
    ...used,
    serverCpu: cpuDelta(await server.read(), serverBefore),
    note: `${mib(bytes)} of COPY text (${(bytes / rows).toFixed(1)} bytes/row, ${(bytes / seconds / 1e6).toFixed(0)} MB/s)`,
  };
}

// ---------------------------------------------------------------------------------------------
// Tributary: the first run's snapshot

/**
 * Sums the time of the warehouse's snapshot writes (the runner makes them one at a time): rows
 * written from JavaScript (`writes`), chunks loaded from CSV files (`files`, and of their rows
 * how many DuckDB converted itself), and the job's end (the primary key built after a fresh copy).
 */
function timeSnapshotWrites(warehouse: DuckDBWarehouse): {
  millis: number;
  writes: number;
  files: number;
  converted: number;
  finishMillis: number;
} {
  const probe = { millis: 0, writes: 0, files: 0, converted: 0, finishMillis: 0 };
  const timed = async <T>(work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await work();
    } finally {
      probe.millis += performance.now() - started;
    }
  };
  const write = warehouse.applySnapshotRows.bind(warehouse);
  warehouse.applySnapshotRows = async (rows) => {
    probe.writes++;
    return timed(() => write(rows));
  };
  const load = warehouse.applySnapshotFile.bind(warehouse);
  warehouse.applySnapshotFile = async (file) => {
    probe.files++;
    const result = await timed(() => load(file));
    probe.converted += result.converted;
    return result;
  };
  const finish = warehouse.finishSnapshotJob.bind(warehouse);
  warehouse.finishSnapshotJob = async (...args) => {
    const started = performance.now();
    try {
      return await finish(...args);
    } finally {
      probe.finishMillis += performance.now() - started;
    }
  };
  return probe;
}

/** Polls the warehouse until every snapshot job is done; throws when one failed. */
async function jobsDone(warehouse: DuckDBWarehouse, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    const jobs = await warehouse.snapshotJobs();
    const failed = jobs.find((j) => j.state === 'failed' || j.state === 'cancelled');
    if (failed) throw new Error(`snapshot job ${failed.id} ${failed.state}: ${failed.error ?? ''}`);
    if (jobs.length > 0 && jobs.every((j) => j.state === 'done')) return;
    await sleep(POLL_MS);
  }
}

async function dropSlot(cluster: PostgresCluster, slot: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await cluster.sql(
        'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1',
        [slot],
      );
      return;
    } catch (error) {
      // the walsender that held it may not have exited yet
      if (i >= 100) throw error;
      await sleep(POLL_MS);
    }
  }
}

async function tributaryRun(
  cluster: PostgresCluster,
  server: ServerCpu,
  options: Options,
  slot: string,
  workDir: string,
  facts: Facts,
): Promise<Run> {
  const path = join(workDir, `${slot}.duckdb`);
  const serverBefore = await server.read();
  const types = new TypeRegistry();
  const warehouse = await DuckDBWarehouse.open(path, { typeInfo: (oid) => types.info(oid) });
  const controller = new AbortController();
  let done: Promise<void> = Promise.resolve();
  let shutDown: Promise<void> | null = null;
  const stop = () => {
    shutDown ??= (async () => {
      controller.abort();
      await withTimeout(done, 'stopping the pipeline', 60_000).catch(() => {});
      await warehouse.close();
    })();
    return shutDown;
  };
  shutDownRun = stop;
  const writes = timeSnapshotWrites(warehouse);
  let firstRowsAt: number | null = null;
  let chunks = 0;
  let allRead!: () => void;
  const read = new Promise<void>((resolve) => (allRead = resolve));
  const onProgress = (progress: readonly JobProgress[]) => {
    for (const p of progress) {
      if (firstRowsAt === null && p.rowsDone > 0) firstRowsAt = now();
      chunks = p.chunks;
      if (p.chunks > 0 && p.chunksDone === p.chunks) allRead();
    }
  };
  const meter = meterThisProcess();
  const start = now();
  done = runPipeline(
    {
      source: {
        connection: parseSourceUrl(cluster.url()),
        slot,
        publication: 'orders_pub',
        tables: [{ schema: 'public', name: 'orders' }],
        types,
        spoolDir: join(workDir, 'spool', slot),
      },
      warehouse,
      logger: silentLogger(),
      snapshot: options.snapshot,
      onSnapshotProgress: onProgress,
    },
    controller.signal,
  );
  const stoppedEarly = done.then(() => {
    throw new Error('the pipeline stopped before the snapshot was done');
  });
  stoppedEarly.catch(() => {});
  try {
    // the warehouse has one connection, which the copy writes on: look at the job table only
    // once every chunk is read, when all that is left is recording the job as done
    await withTimeout(
      Promise.race([read.then(() => jobsDone(warehouse, controller.signal)), stoppedEarly]),
      'the initial snapshot',
      STAGE_TIMEOUT_MS,
    );
    const seconds = elapsedSince(start);
    const used = meter();
    const stopStart = now();
    controller.abort();
    await done;
    const stopSeconds = elapsedSince(stopStart);
    const mismatch = factsMismatch(await readWarehouseFacts(warehouse), facts);
    if (mismatch) throw new Error(mismatch);
    const rows = Number(facts.count);
    const setup = firstRowsAt === null ? '-' : `${((firstRowsAt - start) / 1000).toFixed(2)} s`;
    return {
      consumer: 'tributary',
      seconds,
      rowsPerSecond: rows / seconds,
      ...used,
      serverCpu: cpuDelta(await server.read(), serverBefore),
      note:
        `${chunks} chunks; first rows written after ${setup}; DuckDB writes: ${writes.files} CSV files ` +
        `(${writes.converted.toLocaleString('en-US')} rows converted in SQL) and ${writes.writes} row batches ` +
        `in ${(writes.millis / 1000).toFixed(1)} s, job end (key built) ${(writes.finishMillis / 1000).toFixed(2)} s; stop ${stopSeconds.toFixed(2)} s; file ` +
        `${mib(fileBytes(path))} with its WAL; rows match; peak RSS ${peakRss()}`,
    };
  } finally {
    shutDownRun = null;
    await stop();
    rmSync(path, { force: true });
    rmSync(`${path}.wal`, { force: true });
    await dropSlot(cluster, slot);
  }
}

// ---------------------------------------------------------------------------------------------

let interrupted = false;

async function main(): Promise<number> {
  const options = readOptions();
  const psql = findClientTool('psql');
  if (!psql) {
    console.error(
      'bench/snapshot: the reference needs psql, which was not found (looked in /usr/lib/postgresql/*/bin ' +
        'and PATH); install the PostgreSQL client package',
    );
    return 2;
  }
  const settings = { ...DEFAULT_SNAPSHOT_SETTINGS, ...options.snapshot };
  const binaries = newestBinaries();
  // everything on disk (the harness' initdb template, the cluster, spools, DuckDB files) lives
  // under one directory of this run, removed at the end; the cluster may run as another user
  const workDir = mkdtempSync(join(tmpdir(), 'tributary-bench-snapshot-'));
  chmodSync(workDir, 0o755);
  process.env.TMPDIR = workDir;
  console.log('bench/snapshot: initial snapshot into DuckDB vs COPY (SELECT ...) TO STDOUT to /dev/null');
  console.log(
    `  machine: ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), ` +
      `${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}`,
  );
  console.log(`  load average at start: ${loadText()} (other work on the machine skews every run)`);
  console.log(`  reference: ${psql.version} (${psql.path}), and pg + pg-copy-streams in this process`);
  console.log(
    `  snapshot settings: workers ${settings.workers}, chunk rows ${int(settings.chunkRows)}, ` +
      `batch rows ${int(settings.batchRows)}`,
  );

  let cluster: PostgresCluster | null = null;
  const cleanUp = async () => {
    activeChild?.kill('SIGTERM');
    await shutDownRun?.().catch(() => {});
    shutDownRun = null;
    await cluster?.stop().catch(() => {});
    cluster = null;
    rmSync(workDir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = true;
    console.error(`bench/snapshot: ${signal}, cleaning up`);
    void cleanUp().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    cluster = await PostgresCluster.start({
      binaries,
      settings: {
        shared_buffers: '1GB',
        max_wal_size: '16GB',
        checkpoint_timeout: '1h',
        work_mem: '64MB',
      },
    });
    const [version] = await cluster.sql<{ version: string }>(
      "SELECT current_setting('server_version') AS version",
    );
    console.log(`  server: PostgreSQL ${version?.version} (${binaries.binDir}), TCP to 127.0.0.1`);
    const server = await ServerCpu.of(cluster);
    const facts = await createOrders(cluster, options.rows);
    await cluster.sql('CHECKPOINT');
    const rows = Number(facts.count);

    const runs: Run[] = [];
    for (let i = 1; i <= options.runs; i++) {
      for (const consumer of ['psql', 'pg-copy-streams', 'tributary'] as const) {
        if (options.only === (consumer === 'tributary' ? 'copy' : 'tributary')) continue;
        const run =
          consumer === 'psql'
            ? await psqlCopy(psql.path, cluster, server, rows)
            : consumer === 'pg-copy-streams'
              ? await nodeCopy(cluster, server, rows)
              : await tributaryRun(cluster, server, options, `snapshot_${i}`, workDir, facts);
        runs.push(run);
        console.log(
          `  ${run.consumer.padEnd(15)} run ${i} ${run.seconds.toFixed(2).padStart(7)} s ` +
            `${rate(run.rowsPerSecond).padStart(8)}  client CPU ${cpuText(run.clientCpu)}` +
            (run.mainThread
              ? ` (main thread ${cpuText(run.mainThread.cpu)}, event loop busy ${(run.mainThread.loopBusy * 100).toFixed(0)}%)`
              : '') +
            ', ' +
            `server CPU ${cpuText(run.serverCpu)}${run.note ? `; ${run.note}` : ''}  (load ${loadText()})`,
        );
      }
    }
    const medianOf = (consumer: Run['consumer']) => {
      const rates = runs.filter((r) => r.consumer === consumer).map((r) => r.rowsPerSecond);
      return rates.length > 0 ? median(rates) : null;
    };
    const psqlRate = medianOf('psql');
    const nodeRate = medianOf('pg-copy-streams');
    const tributaryRate = medianOf('tributary');
    console.log('');
    console.log('summary');
    const shown = (r: number | null) => (r === null ? '-' : rate(r));
    console.log(
      `  medians of ${options.runs}: psql ${shown(psqlRate)}, pg-copy-streams ${shown(nodeRate)}, ` +
        `tributary ${shown(tributaryRate)}`,
    );
    if (psqlRate !== null && nodeRate !== null && tributaryRate !== null) {
      const reference = psqlRate >= nodeRate ? 'psql' : 'pg-copy-streams';
      const ratio = tributaryRate / Math.max(psqlRate, nodeRate);
      console.log(
        `  initial snapshot of ${int(rows)} rows: tributary / COPY to /dev/null (${reference}, the faster) = ` +
          `${ratio.toFixed(2)} (target ≥ ${TARGET}): ${verdict(ratio >= TARGET)}`,
      );
    }
    console.log(`  peak RSS of this process: ${peakRss()}; load average at the end: ${loadText()}`);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!interrupted) await cleanUp();
  }
}

main().then(
  (code) => {
    if (!interrupted) process.exit(code);
  },
  (error: unknown) => {
    if (interrupted) return;
    console.error('bench/snapshot failed:', error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
