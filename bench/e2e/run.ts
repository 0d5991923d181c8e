/**
 * `npm run bench:e2e`: the whole pipeline (Postgres → `runPipeline` → DuckDB file), three
 * measurements, each set against a reference measured in the same run on the same machine.
 *
 * 1. Drain: a backlog of `--changes` changes (default 1,000,000: 60% inserts, 30% updates, 10%
 *    deletes in transactions of 100 rows, the mix of bench/decode) drained by the full pipeline
 *    into a fresh DuckDB file, against `pg_recvlogical` draining the same backlog to /dev/null.
 *    Every slot is created before the backlog is written, so all hold the identical backlog.
 *    Runs alternate (recv, pipeline, recv, pipeline, …). Target: pipeline ≥ 0.5 × recv.
 * 2. Steady state: several connections write small transactions at `--rate` changes/s for
 *    `--seconds` while the pipeline runs; the lag of every change is (the moment the warehouse
 *    batch holding it committed) − (its source commit time). Target: p99 < 1 s (absolute, as the
 *    issue states it); the writer's own transaction latency is printed beside it for context.
 * 3. The analyst's query `SELECT country, SUM(total) FROM orders GROUP BY country` on `--orders`
 *    rows (default 10,000,000), brought into DuckDB through the pipeline as a backlog; timed on
 *    Postgres (parallel query as configured by default) and on the warehouse (`warehouse.query`),
 *    best of `--query-runs`; the answers must be equal. Target: DuckDB ≥ 30 × faster.
 *
 * Options: --changes N, --runs N (drain runs per consumer), --seconds N, --rate N,
 * --connections N, --orders N, --query-runs N, --parts drain,steady,query.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { silentLogger } from '../../src/core/logger.js';
import { formatLsn, type Lsn, parseLsn } from '../../src/core/lsn.js';
import {
  newestBinaries,
  PostgresCluster,
  SUPERUSER,
  SUPERUSER_PASSWORD,
} from '../../src/embedded/postgres-cluster.js';
import { runPipeline } from '../../src/pipeline/pipeline.js';
import { parseSourceUrl } from '../../src/source/postgres/setup/connection-config.js';
import { TypeRegistry } from '../../src/source/postgres/values/type-registry.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { backlogSql, CHANGES_PER_ROUND } from '../common/backlog.js';
import { callProcedure, DRAIN_CLUSTER_SETTINGS, dropSlots } from '../common/cluster.js';
import { ProbeStats } from '../common/probe-stats.js';
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
import { findRecvLogical, loadText, median } from '../common/tools.js';

const DRAIN_TARGET = 0.5;
const LAG_P99_TARGET_MS = 1000;
const QUERY_TARGET = 30;
const STAGE_TIMEOUT_MS = 30 * 60_000;
const ORDERS_PER_TRANSACTION = 10_000;
const ANALYST_QUERY = 'SELECT country, SUM(total) FROM orders GROUP BY country';

type Part = 'drain' | 'steady' | 'query';

interface Options {
  readonly changes: number;
  readonly runs: number;
  readonly seconds: number;
  readonly rate: number;
  readonly connections: number;
  readonly orders: number;
  readonly queryRuns: number;
  readonly parts: ReadonlySet<Part>;
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      changes: { type: 'string', default: '1000000' },
      runs: { type: 'string', default: '2' },
      seconds: { type: 'string', default: '60' },
      rate: { type: 'string', default: '5000' },
      connections: { type: 'string', default: '4' },
      orders: { type: 'string', default: '10000000' },
      'query-runs': { type: 'string', default: '5' },
      parts: { type: 'string', default: 'drain,steady,query' },
    },
    strict: true,
  });
  const positive = (name: string, text: string): number => {
    const n = Number(text.replaceAll('_', ''));
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
    return n;
  };
  const parts = new Set<Part>();
  for (const p of values.parts.split(',')) {
    if (p !== 'drain' && p !== 'steady' && p !== 'query')
      throw new Error('--parts is a list of drain, steady, query');
    parts.add(p);
  }
  const changes = positive('changes', values.changes);
  if (changes % CHANGES_PER_ROUND !== 0)
    throw new Error(`--changes must be a multiple of ${CHANGES_PER_ROUND}`);
  const orders = positive('orders', values.orders);
  if (orders % ORDERS_PER_TRANSACTION !== 0)
    throw new Error(`--orders must be a multiple of ${ORDERS_PER_TRANSACTION}`);
  return {
    changes,
    runs: positive('runs', values.runs),
    seconds: positive('seconds', values.seconds),
    rate: positive('rate', values.rate),
    connections: positive('connections', values.connections),
    orders,
    queryRuns: positive('query-runs', values['query-runs']),
    parts,
  };
}

// ---------------------------------------------------------------------------------------------
// small helpers

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

interface PipelineHandle {
  readonly stats: ProbeStats;
  readonly warehouse: DuckDBWarehouse;
  readonly done: Promise<void>;
  /** Aborts the pipeline and waits for it to stop; the warehouse stays open. */
  stop(): Promise<void>;
}

let activeChild: ChildProcess | null = null;
const openWarehouses = new Set<DuckDBWarehouse>();

async function startPipeline(
  cluster: PostgresCluster,
  slot: string,
  publication: string,
  table: string,
  warehousePath: string,
  spoolDir: string,
): Promise<PipelineHandle> {
  const types = new TypeRegistry();
  const warehouse = await DuckDBWarehouse.open(warehousePath, { typeInfo: (oid) => types.info(oid) });
  openWarehouses.add(warehouse);
  const stats = new ProbeStats();
  const controller = new AbortController();
  const done = runPipeline(
    {
      source: {
        connection: parseSourceUrl(cluster.url()),
        slot,
        publication,
        tables: [{ schema: 'public', name: table }],
        types,
        spoolDir,
      },
      warehouse,
      // every slot here is created before its backlog is written: stream it, copy nothing (a
      // fresh warehouse on an existing slot otherwise counts as an interrupted first run, whose
      // slot is dropped and made again after the backlog)
      snapshot: { mode: 'never' },
      logger: silentLogger(),
      stats,
    },
    controller.signal,
  );
  done.catch(() => {});
  return {
    stats,
    warehouse,
    done,
    async stop() {
      controller.abort();
      await done;
    },
  };
}

async function closeWarehouse(warehouse: DuckDBWarehouse): Promise<void> {
  openWarehouses.delete(warehouse);
  await warehouse.close();
}

// ---------------------------------------------------------------------------------------------
// part 1: drain

interface DrainRun {
  readonly consumer: 'pg_recvlogical' | 'pipeline';
  readonly seconds: number;
  readonly changesPerSecond: number;
  readonly note: string;
}

async function recvDrain(
  recvPath: string,
  cluster: PostgresCluster,
  slot: string,
  end: Lsn,
  protoVersion: number,
  changes: number,
): Promise<DrainRun> {
  const args = [
    ...['-h', '127.0.0.1', '-p', String(cluster.port), '-U', SUPERUSER, '-d', 'postgres'],
    ...['--slot', slot, '--start', '--endpos', formatLsn(end), '--no-loop', '-f', '/dev/null'],
    ...['-o', `proto_version=${protoVersion}`, '-o', 'publication_names=bench_pub'],
    ...['-o', 'messages=true', '-o', 'streaming=on'],
  ];
  const start = now();
  const child = spawn(recvPath, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PGPASSWORD: SUPERUSER_PASSWORD, PGSSLMODE: 'disable', PGGSSENCMODE: 'disable' },
  });
  activeChild = child;
  try {
    await exitedOk(child, 'pg_recvlogical', STAGE_TIMEOUT_MS);
  } finally {
    activeChild = null;
  }
  const seconds = elapsedSince(start);
  return { consumer: 'pg_recvlogical', seconds, changesPerSecond: changes / seconds, note: '' };
}

async function pipelineDrain(
  cluster: PostgresCluster,
  slot: string,
  workDir: string,
  changes: number,
  expected: { count: string; qty: string },
): Promise<DrainRun> {
  const path = join(workDir, `${slot}.duckdb`);
  const cpuBefore = process.cpuUsage();
  const start = now();
  const pipeline = await startPipeline(
    cluster,
    slot,
    'bench_pub',
    'bench',
    path,
    join(workDir, 'spool', slot),
  );
  try {
    await withTimeout(
      Promise.race([pipeline.stats.reach(changes), pipeline.done]),
      'the pipeline drain',
      STAGE_TIMEOUT_MS,
    );
    const seconds = elapsedSince(start);
    const cpu = process.cpuUsage(cpuBefore);
    if (pipeline.stats.appliedChanges < changes)
      throw new Error(`the pipeline stopped after ${pipeline.stats.appliedChanges} of ${changes} changes`);
    const stopStart = now();
    await pipeline.stop();
    const stopSeconds = elapsedSince(stopStart);
    const answer = await pipeline.warehouse.query('SELECT count(*) AS n, sum(qty) AS q FROM bench');
    const row = answer.rows[0] ?? [];
    const ok = String(row[0]) === expected.count && String(row[1]) === expected.qty;
    if (!ok)
      throw new Error(
        `the warehouse holds count ${row[0]}, sum(qty) ${row[1]}; Postgres ${expected.count}, ${expected.qty}`,
      );
    const cp = pipeline.stats.lastCheckpoint;
    return {
      consumer: 'pipeline',
      seconds,
      changesPerSecond: changes / seconds,
      note:
        `checkpoint ${cp ? formatLsn(cp.commitLsn) : '-'}, ${int(pipeline.stats.snapshot().batches)} batches ` +
        `(DuckDB apply ${(pipeline.stats.applyMillis / 1000).toFixed(1)} s in all), ` +
        `process CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s (JS and DuckDB threads), ` +
        `stop ${stopSeconds.toFixed(2)} s, rows match Postgres, RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
    };
  } finally {
    await pipeline.stop().catch(() => {});
    await closeWarehouse(pipeline.warehouse);
    rmSync(path, { force: true });
    rmSync(`${path}.wal`, { force: true });
  }
}

interface DrainResult {
  readonly recv: number;
  readonly pipeline: number;
  readonly ratio: number;
}

async function partDrain(
  cluster: PostgresCluster,
  options: Options,
  recvPath: string,
  protoVersion: number,
  workDir: string,
): Promise<DrainResult> {
  console.log('');
  console.log(
    `part 1 — drain: ${int(options.changes)} changes, pipeline → DuckDB vs pg_recvlogical → /dev/null`,
  );
  await cluster.sql(backlogSql('bench_pub'));
  const order: { consumer: 'recv' | 'pipeline'; slot: string }[] = [];
  for (let i = 1; i <= options.runs; i++) {
    order.push({ consumer: 'recv', slot: `recv_${i}` });
    order.push({ consumer: 'pipeline', slot: `pipeline_${i}` });
  }
  for (const { slot } of order)
    await cluster.sql("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);
  const loadStart = now();
  await callProcedure(cluster, `CALL bench_backlog(${options.changes / CHANGES_PER_ROUND})`);
  const [backlog] = await cluster.sql<{ lsn: string; wal: string }>(
    `SELECT pg_current_wal_insert_lsn()::text AS lsn,
            pg_size_pretty(pg_current_wal_insert_lsn() - restart_lsn) AS wal
       FROM pg_replication_slots WHERE slot_name = 'recv_1'`,
  );
  if (!backlog) throw new Error('the replication slots are missing');
  const end = parseLsn(backlog.lsn);
  const [facts] = await cluster.sql<{ count: string; qty: string }>(
    'SELECT count(*)::text AS count, sum(qty)::text AS qty FROM bench',
  );
  if (!facts) throw new Error('cannot count the bench table');
  console.log(
    `  backlog written in ${elapsedSince(loadStart).toFixed(1)} s: ${backlog.wal} of WAL, ends at ${backlog.lsn}; ` +
      `${int(options.changes / 100)} transactions of 100 changes, 60/30/10% insert/update/delete; ` +
      `${int(Number(facts.count))} rows remain`,
  );
  await cluster.sql('CHECKPOINT');

  const runs: DrainRun[] = [];
  for (const { consumer, slot } of order) {
    const run =
      consumer === 'recv'
        ? await recvDrain(recvPath, cluster, slot, end, protoVersion, options.changes)
        : await pipelineDrain(cluster, slot, workDir, options.changes, facts);
    runs.push(run);
    console.log(
      `  ${run.consumer.padEnd(14)} ${slot.padEnd(11)} ${run.seconds.toFixed(2).padStart(7)} s ` +
        `${rate(run.changesPerSecond).padStart(8)}  ${run.note}  (load ${loadText()})`,
    );
    await dropSlots(cluster, [slot]);
  }
  await cluster.sql('DROP TABLE bench; DROP PUBLICATION bench_pub');
  const recv = median(runs.filter((r) => r.consumer === 'pg_recvlogical').map((r) => r.changesPerSecond));
  const pipe = median(runs.filter((r) => r.consumer === 'pipeline').map((r) => r.changesPerSecond));
  const ratio = pipe / recv;
  console.log(
    `  medians: pg_recvlogical ${rate(recv)}, pipeline ${rate(pipe)}; ratio ${ratio.toFixed(2)} ` +
      `(target ≥ ${DRAIN_TARGET}): ${verdict(ratio >= DRAIN_TARGET)}`,
  );
  return { recv, pipeline: pipe, ratio };
}

// ---------------------------------------------------------------------------------------------
// part 2: steady state

const STEADY_SQL = `
CREATE TABLE steady (
  id      bigint PRIMARY KEY,
  account integer NOT NULL,
  amount  numeric(12,2) NOT NULL,
  note    text NOT NULL,
  at      timestamptz NOT NULL DEFAULT now()
);
CREATE PUBLICATION steady_pub FOR TABLE steady;
`;
/** Per transaction: 6 inserts, 3 updates of them, 1 delete of another of them. */
const CHANGES_PER_TXN = 10;

interface SteadyResult {
  readonly achievedRate: number;
  readonly changes: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly writerP50: number;
  readonly writerP99: number;
}

async function writer(
  client: pg.Client,
  index: number,
  intervalMs: number,
  until: number,
  latencies: number[],
): Promise<number> {
  let txns = 0;
  const base = index * 1_000_000_000;
  const start = now();
  while (now() < until) {
    const due = start + txns * intervalMs;
    const wait = due - now();
    if (wait > 1) await sleep(wait);
    const first = base + txns * 6 + 1;
    const t0 = now();
    await client.query(
      `BEGIN;
       INSERT INTO steady (id, account, amount, note)
         SELECT n, n % 997, round((n % 10000) * 0.37, 2), 'payment ' || n FROM generate_series(${first}, ${first + 5}) AS n;
       UPDATE steady SET amount = amount + 1, note = note || ' (settled)' WHERE id BETWEEN ${first} AND ${first + 2};
       DELETE FROM steady WHERE id = ${first + 5};
       COMMIT`,
    );
    latencies.push(now() - t0);
    txns++;
  }
  return txns;
}

async function partSteady(
  cluster: PostgresCluster,
  options: Options,
  workDir: string,
): Promise<SteadyResult> {
  console.log('');
  console.log(
    `part 2 — steady state: ${options.connections} connections, ${int(options.rate)} changes/s target for ` +
      `${options.seconds} s, transactions of ${CHANGES_PER_TXN} changes (6 inserts, 3 updates, 1 delete)`,
  );
  await cluster.sql(STEADY_SQL);
  await cluster.sql("SELECT pg_create_logical_replication_slot('steady', 'pgoutput')");
  const path = join(workDir, 'steady.duckdb');
  const pipeline = await startPipeline(
    cluster,
    'steady',
    'steady_pub',
    'steady',
    path,
    join(workDir, 'spool', 'steady'),
  );
  const lags: number[] = [];
  pipeline.stats.onBatch = (items, at) => {
    for (const item of items)
      if (item.kind === 'change') lags.push(at - Number(item.event.commitTime.micros) / 1000);
  };
  const clients: pg.Client[] = [];
  try {
    // the first transaction brings the schema through and proves the pipeline streams
    await cluster.sql("INSERT INTO steady (id, account, amount, note) VALUES (0, 0, 0, 'warm-up')");
    await withTimeout(pipeline.stats.reach(1), 'the first steady-state change', 60_000);
    lags.length = 0;
    for (let i = 0; i < options.connections; i++) clients.push(await cluster.connect());
    const intervalMs = (options.connections * CHANGES_PER_TXN * 1000) / options.rate;
    const latencies: number[] = [];
    const start = now();
    const until = start + options.seconds * 1000;
    const txns = await Promise.all(clients.map((c, i) => writer(c, i + 1, intervalMs, until, latencies)));
    const writeSeconds = elapsedSince(start);
    const written = txns.reduce((a, b) => a + b, 0) * CHANGES_PER_TXN;
    await withTimeout(pipeline.stats.reach(written + 1), 'the steady-state tail', 120_000);
    await pipeline.stop();
    const sorted = Float64Array.from(lags).sort();
    const writerSorted = Float64Array.from(latencies).sort();
    const result: SteadyResult = {
      achievedRate: written / writeSeconds,
      changes: written,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      max: sorted[sorted.length - 1] ?? Number.NaN,
      writerP50: percentile(writerSorted, 50),
      writerP99: percentile(writerSorted, 99),
    };
    const snap = pipeline.stats.snapshot();
    console.log(
      `  wrote ${int(written)} changes in ${int(written / CHANGES_PER_TXN)} transactions over ${writeSeconds.toFixed(1)} s: ` +
        `${rate(result.achievedRate)}; pipeline applied them in ${int(snap.batches)} batches ` +
        `(DuckDB apply ${(pipeline.stats.applyMillis / snap.batches).toFixed(0)} ms per batch on average); ${int(lags.length)} lags measured`,
    );
    console.log(
      `  end-to-end lag (warehouse commit − source commit): p50 ${result.p50.toFixed(0)} ms, ` +
        `p99 ${result.p99.toFixed(0)} ms, max ${result.max.toFixed(0)} ms`,
    );
    console.log(
      `  context: the writer's own transaction latency (one round trip BEGIN…COMMIT): p50 ${result.writerP50.toFixed(1)} ms, ` +
        `p99 ${result.writerP99.toFixed(1)} ms; lag p99 / writer p99 = ${(result.p99 / result.writerP99).toFixed(1)}×`,
    );
    const enough = result.achievedRate >= options.rate * 0.98;
    console.log(
      `  target p99 < ${LAG_P99_TARGET_MS} ms (absolute, as the issue states it) at ≥ ${int(options.rate)} changes/s: ` +
        `${verdict(result.p99 < LAG_P99_TARGET_MS && enough)}${enough ? '' : ' (the writer fell short of the rate)'}`,
    );
    console.log(`  load average: ${loadText()}`);
    return result;
  } finally {
    for (const c of clients) await c.end().catch(() => {});
    await pipeline.stop().catch(() => {});
    await closeWarehouse(pipeline.warehouse);
    rmSync(path, { force: true });
    rmSync(`${path}.wal`, { force: true });
    await dropSlots(cluster, ['steady']);
    await cluster.sql('DROP TABLE steady; DROP PUBLICATION steady_pub');
  }
}

// ---------------------------------------------------------------------------------------------
// part 3: the analyst's query

const ORDERS_SQL = `
CREATE TABLE orders (
  id          bigint PRIMARY KEY,
  customer_id integer NOT NULL,
  country     text NOT NULL,
  total       numeric(12,2) NOT NULL,
  ordered_at  timestamptz NOT NULL
);
CREATE PUBLICATION orders_pub FOR TABLE orders;
CREATE PROCEDURE e2e_orders(batches integer, per_batch integer) LANGUAGE plpgsql AS $$
DECLARE
  countries text[] := ARRAY['US','DE','FR','GB','JP','CN','IN','BR','CA','AU',
                            'ES','IT','NL','SE','PL','MX','KR','ZA','NG','AR'];
BEGIN
  FOR b IN 0 .. batches - 1 LOOP
    INSERT INTO orders
    SELECT n, (n * 7919 % 1000003)::integer, countries[1 + (n * 31 + n / 7) % 20],
           round(((n * 104729) % 1000000) / 100.0 + 0.99, 2),
           timestamptz '2023-01-01 00:00:00+00' + (n % 31536000) * interval '1 second'
      FROM generate_series(b::bigint * per_batch + 1, (b::bigint + 1) * per_batch) AS n;
    COMMIT;
  END LOOP;
END
$$;
`;

interface QueryResultSummary {
  readonly postgresMs: number;
  readonly duckdbMs: number;
  readonly ratio: number;
  readonly equal: boolean;
}

/** A decimal string as an exact integer of hundredths. */
function cents(text: string): bigint {
  const negative = text.startsWith('-');
  const [whole = '0', fraction = ''] = (negative ? text.slice(1) : text).split('.');
  const value = BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0').slice(0, 2));
  return negative ? -value : value;
}

function answerKey(rows: readonly (readonly unknown[])[]): string {
  return rows
    .map((r) => `${String(r[0])}=${cents(String(r[1]))}`)
    .sort()
    .join(',');
}

async function partQuery(
  cluster: PostgresCluster,
  options: Options,
  workDir: string,
): Promise<QueryResultSummary> {
  console.log('');
  console.log(`part 3 — the analyst's query on ${int(options.orders)} orders: ${ANALYST_QUERY}`);
  await cluster.sql(ORDERS_SQL);
  await cluster.sql("SELECT pg_create_logical_replication_slot('orders', 'pgoutput')");
  const loadStart = now();
  await callProcedure(
    cluster,
    `CALL e2e_orders(${options.orders / ORDERS_PER_TRANSACTION}, ${ORDERS_PER_TRANSACTION})`,
  );
  const loadSeconds = elapsedSince(loadStart);
  const [wal] = await cluster.sql<{ wal: string; size: string }>(
    `SELECT pg_size_pretty(pg_current_wal_insert_lsn() - restart_lsn) AS wal,
            pg_size_pretty(pg_total_relation_size('orders')) AS size
       FROM pg_replication_slots WHERE slot_name = 'orders'`,
  );
  console.log(
    `  Postgres: ${int(options.orders)} rows inserted in ${loadSeconds.toFixed(1)} s ` +
      `(${int(options.orders / ORDERS_PER_TRANSACTION)} transactions of ${int(ORDERS_PER_TRANSACTION)}); ` +
      `table + index ${wal?.size}, ${wal?.wal} of WAL for the slot`,
  );
  const path = join(workDir, 'orders.duckdb');
  const drainStart = now();
  const pipeline = await startPipeline(
    cluster,
    'orders',
    'orders_pub',
    'orders',
    path,
    join(workDir, 'spool', 'orders'),
  );
  try {
    await withTimeout(
      Promise.race([pipeline.stats.reach(options.orders), pipeline.done]),
      'the orders load',
      STAGE_TIMEOUT_MS,
    );
    const drainSeconds = elapsedSince(drainStart);
    if (pipeline.stats.appliedChanges < options.orders)
      throw new Error(
        `the pipeline stopped after ${pipeline.stats.appliedChanges} of ${options.orders} orders`,
      );
    await pipeline.stop();
    console.log(
      `  warehouse: brought in through the pipeline as a backlog (slot created before the insert) in ` +
        `${drainSeconds.toFixed(1)} s, ${rate(options.orders / drainSeconds)}; DuckDB file ` +
        `${(fileBytes(path) / 2 ** 20).toFixed(0)} MiB (with its WAL)`,
    );
    await dropSlots(cluster, ['orders']);
    const vacuumStart = now();
    await cluster.sql('VACUUM ANALYZE orders');
    console.log(`  Postgres VACUUM ANALYZE orders: ${elapsedSince(vacuumStart).toFixed(1)} s`);

    const client = await cluster.connect();
    let pgBest = Number.POSITIVE_INFINITY;
    let duckBest = Number.POSITIVE_INFINITY;
    let pgRows: (readonly unknown[])[] = [];
    let duckRows: readonly (readonly unknown[])[] = [];
    const pgTimes: number[] = [];
    const duckTimes: number[] = [];
    try {
      const [settings] = (
        await client.query<{ workers: string }>(
          "SELECT current_setting('max_parallel_workers_per_gather') AS workers",
        )
      ).rows;
      const explain = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${ANALYST_QUERY}`);
      const gather = explain.rows.some((r) => r['QUERY PLAN'].includes('Gather'));
      console.log(
        `  Postgres plan: max_parallel_workers_per_gather=${settings?.workers}, ` +
          `${gather ? 'parallel (Gather)' : 'not parallel'}`,
      );
      // alternate the engines, best of N each
      for (let i = 0; i < options.queryRuns; i++) {
        let t0 = now();
        const result = await client.query({ text: ANALYST_QUERY, rowMode: 'array' });
        const pgMs = now() - t0;
        pgTimes.push(pgMs);
        pgBest = Math.min(pgBest, pgMs);
        pgRows = result.rows as unknown[][];
        t0 = now();
        const answer = await pipeline.warehouse.query(ANALYST_QUERY);
        const duckMs = now() - t0;
        duckTimes.push(duckMs);
        duckBest = Math.min(duckBest, duckMs);
        duckRows = answer.rows;
      }
    } finally {
      await client.end();
    }
    const equal = pgRows.length === duckRows.length && answerKey(pgRows) === answerKey(duckRows);
    const ratio = pgBest / duckBest;
    console.log(
      `  Postgres runs: ${pgTimes.map((t) => t.toFixed(0)).join(', ')} ms; best ${pgBest.toFixed(0)} ms`,
    );
    console.log(
      `  DuckDB runs:   ${duckTimes.map((t) => t.toFixed(1)).join(', ')} ms; best ${duckBest.toFixed(1)} ms`,
    );
    console.log(
      `  answers: ${pgRows.length} countries each, ${equal ? 'equal' : 'DIFFERENT'}; ` +
        `ratio Postgres / DuckDB ${ratio.toFixed(1)}× (target ≥ ${QUERY_TARGET}×): ${verdict(ratio >= QUERY_TARGET && equal)}`,
    );
    console.log(`  load average: ${loadText()}`);
    return { postgresMs: pgBest, duckdbMs: duckBest, ratio, equal };
  } finally {
    await pipeline.stop().catch(() => {});
    await closeWarehouse(pipeline.warehouse);
    rmSync(path, { force: true });
    rmSync(`${path}.wal`, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------

let interrupted = false;

async function main(): Promise<number> {
  const options = readOptions();
  const recv = findRecvLogical();
  if (!recv && options.parts.has('drain')) {
    console.error(
      'bench/e2e: the drain reference is unavailable: pg_recvlogical was not found (looked in ' +
        '/usr/lib/postgresql/*/bin and PATH); install the PostgreSQL client package, or pass --parts steady,query',
    );
    return 2;
  }
  const binaries = newestBinaries();
  // everything on disk (the harness' initdb template, the cluster, spools, DuckDB files) lives
  // under one directory of this run, removed at the end; the cluster may run as another user
  const workDir = mkdtempSync(join(tmpdir(), 'tributary-bench-e2e-'));
  chmodSync(workDir, 0o755);
  process.env.TMPDIR = workDir;
  console.log('bench/e2e: Postgres → Tributary pipeline → DuckDB, end to end');
  console.log(
    `  machine: ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), ` +
      `${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}`,
  );
  console.log(`  load average at start: ${loadText()} (other work on the machine skews every run)`);
  if (recv) console.log(`  drain reference: ${recv.version} (${recv.path})`);

  let cluster: PostgresCluster | null = null;
  const cleanUp = async () => {
    activeChild?.kill('SIGTERM');
    for (const w of openWarehouses) await w.close().catch(() => {});
    openWarehouses.clear();
    await cluster?.stop().catch(() => {});
    cluster = null;
    rmSync(workDir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = true;
    console.error(`bench/e2e: ${signal}, cleaning up`);
    void cleanUp().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const summary: string[] = [];
  try {
    cluster = await PostgresCluster.start({
      binaries,
      settings: DRAIN_CLUSTER_SETTINGS,
    });
    const [facts] = await cluster.sql<{ version: string; num: string }>(
      "SELECT current_setting('server_version') AS version, current_setting('server_version_num') AS num",
    );
    const protoVersion = Number(facts?.num) >= 160000 ? 4 : 2;
    console.log(`  server: PostgreSQL ${facts?.version} (${binaries.binDir}), TCP to 127.0.0.1`);

    if (options.parts.has('drain') && recv) {
      const r = await partDrain(cluster, options, recv.path, protoVersion, workDir);
      summary.push(
        `  1. drain ${int(options.changes)} changes: pipeline ${rate(r.pipeline)} vs pg_recvlogical ${rate(r.recv)} = ` +
          `${r.ratio.toFixed(2)} (target ≥ ${DRAIN_TARGET}): ${verdict(r.ratio >= DRAIN_TARGET)}`,
      );
    }
    if (options.parts.has('steady')) {
      const r = await partSteady(cluster, options, workDir);
      const enough = r.achievedRate >= options.rate * 0.98;
      summary.push(
        `  2. steady ${rate(r.achievedRate)} for ${options.seconds} s: lag p50 ${r.p50.toFixed(0)} ms, p99 ${r.p99.toFixed(0)} ms, ` +
          `max ${r.max.toFixed(0)} ms (writer p99 ${r.writerP99.toFixed(1)} ms) (target p99 < ${LAG_P99_TARGET_MS} ms): ` +
          verdict(r.p99 < LAG_P99_TARGET_MS && enough),
      );
    }
    if (options.parts.has('query')) {
      const r = await partQuery(cluster, options, workDir);
      summary.push(
        `  3. query on ${int(options.orders)} orders: Postgres ${r.postgresMs.toFixed(0)} ms / DuckDB ${r.duckdbMs.toFixed(1)} ms = ` +
          `${r.ratio.toFixed(1)}×, answers ${r.equal ? 'equal' : 'DIFFERENT'} (target ≥ ${QUERY_TARGET}×): ` +
          verdict(r.ratio >= QUERY_TARGET && r.equal),
      );
    }
    console.log('');
    console.log('summary');
    for (const line of summary) console.log(line);
    console.log(`  load average at the end: ${loadText()}`);
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
    console.error('bench/e2e failed:', error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
