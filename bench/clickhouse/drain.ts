/**
 * bench/clickhouse part 1, the drain: one backlog (bench/common/backlog.ts, the bench/e2e mix),
 * drained by the full pipeline (`runPipeline`, as bench/e2e) into a fresh ClickHouse (chdb)
 * database and into a fresh DuckDB file, runs alternating; every slot is created before the
 * backlog is written, so every run drains the identical backlog. Each run must end with the
 * warehouse equal to Postgres — count, sum(qty), sum(price) and sum(length(label)) of `bench` —
 * or the bench throws. Result: the median changes/s of each side and ClickHouse / DuckDB.
 */
import { join } from 'node:path';
import { createLogger, silentLogger } from '../../src/core/logger.js';
import { formatLsn } from '../../src/core/lsn.js';
import type { PostgresCluster } from '../../src/embedded/postgres-cluster.js';
import { runPipeline } from '../../src/pipeline/pipeline.js';
import { parseSourceUrl } from '../../src/source/postgres/setup/connection-config.js';
import { TypeRegistry } from '../../src/source/postgres/values/type-registry.js';
import { ClickHouseWarehouse } from '../../src/warehouse/clickhouse/clickhouse-warehouse.js';
import { backlogSql, CHANGES_PER_ROUND } from '../common/backlog.js';
import { callProcedure, dropSlots } from '../common/cluster.js';
import { ProbeStats } from '../common/probe-stats.js';
import { mainThreadCpu } from '../common/proc-cpu.js';
import { elapsedSince, int, now, rate, withTimeout } from '../common/report.js';
import { loadText, median } from '../common/tools.js';
import { ClientTiming } from './client-timing.js';
import { activeParts, cents, type OpenSide, SIDE_NAMES, type Side, type Sides, sideBytes } from './sides.js';

const STAGE_TIMEOUT_MS = 60 * 60_000;

/** What a drained warehouse must agree with Postgres on, as text. */
interface DrainFacts {
  readonly count: string;
  readonly qty: string;
  readonly price: string;
  readonly labelChars: string;
}

const FACTS_PG =
  'SELECT count(*)::text AS count, sum(qty)::text AS qty, sum(price)::text AS price, ' +
  'sum(length(label))::text AS "labelChars" FROM bench';
const FACTS_WAREHOUSE: Readonly<Record<Side, string>> = {
  duckdb:
    'SELECT count(*)::VARCHAR, sum(qty)::VARCHAR, sum(price)::VARCHAR, sum(length(label))::VARCHAR FROM bench',
  clickhouse:
    'SELECT toString(count()), toString(sum(qty)), toString(sum(price)), toString(sum(lengthUTF8(label))) FROM bench',
};

async function warehouseFacts(open: OpenSide): Promise<DrainFacts> {
  const answer = await open.warehouse.query(FACTS_WAREHOUSE[open.side]);
  const [count = '', qty = '', price = '', labelChars = ''] = (answer.rows[0] ?? []).map(String);
  return { count, qty, price, labelChars };
}

function sameFacts(a: DrainFacts, b: DrainFacts): boolean {
  return (
    a.count === b.count &&
    a.qty === b.qty &&
    /^-?\d+(\.\d+)?$/.test(a.price) &&
    cents(a.price) === cents(b.price) &&
    a.labelChars === b.labelChars
  );
}

export interface DrainRun {
  readonly side: Side;
  readonly seconds: number;
  readonly changesPerSecond: number;
  /** CPU seconds of the whole process (JS thread and the engine's threads) over the drain. */
  readonly cpuSeconds: number;
}

async function drainOnce(
  cluster: PostgresCluster,
  sides: Sides,
  side: Side,
  slot: string,
  workDir: string,
  changes: number,
  expected: DrainFacts,
): Promise<DrainRun> {
  const types = new TypeRegistry();
  const cpuBefore = process.cpuUsage();
  const mainBefore = mainThreadCpu() ?? 0;
  const start = now();
  const open = await sides.open(side, slot, types);
  const timing =
    open.warehouse instanceof ClickHouseWarehouse ? new ClientTiming(open.warehouse.client) : null;
  const stats = new ProbeStats();
  const controller = new AbortController();
  const done = runPipeline(
    {
      source: {
        connection: parseSourceUrl(cluster.url()),
        slot,
        publication: 'bench_pub',
        tables: [{ schema: 'public', name: 'bench' }],
        types,
        spoolDir: join(workDir, 'spool', slot),
      },
      warehouse: open.warehouse,
      // the slot already holds the backlog: stream it, copy nothing (a fresh warehouse on an
      // existing slot would otherwise count as an interrupted first run and start over)
      snapshot: { mode: 'never' },
      logger: process.env.BENCH_LOG ? createLogger({ level: process.env.BENCH_LOG }) : silentLogger(),
      stats,
    },
    controller.signal,
  );
  done.catch(() => {});
  try {
    await withTimeout(Promise.race([stats.reach(changes), done]), `the ${side} drain`, STAGE_TIMEOUT_MS);
    const seconds = elapsedSince(start);
    const cpu = process.cpuUsage(cpuBefore);
    const mainCpu = (mainThreadCpu() ?? 0) - mainBefore;
    if (stats.appliedChanges < changes)
      throw new Error(
        `the pipeline into ${side} stopped after ${stats.appliedChanges} of ${changes} changes`,
      );
    controller.abort();
    await done;
    timing?.restore();
    const facts = await warehouseFacts(open);
    if (!sameFacts(facts, expected))
      throw new Error(
        `LOST OR EXTRA ROWS: ${SIDE_NAMES[side]} holds count ${facts.count}, sum(qty) ${facts.qty}, ` +
          `sum(price) ${facts.price}, sum(length(label)) ${facts.labelChars}; Postgres ${expected.count}, ` +
          `${expected.qty}, ${expected.price}, ${expected.labelChars}`,
      );
    const parts =
      open.warehouse instanceof ClickHouseWarehouse
        ? `, ${await activeParts(open.warehouse, slot, '_tributary_rows_bench')} active parts`
        : '';
    const bytes = await sideBytes(open, slot);
    const snap = stats.snapshot();
    const cp = stats.lastCheckpoint;
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const run: DrainRun = { side, seconds, changesPerSecond: changes / seconds, cpuSeconds };
    console.log(
      `  ${SIDE_NAMES[side].padEnd(10)} ${slot.padEnd(13)} ${seconds.toFixed(2).padStart(7)} s ` +
        `${rate(run.changesPerSecond).padStart(8)}  checkpoint ${cp ? formatLsn(cp.commitLsn) : '-'}, ` +
        `${int(snap.batches)} batches (apply ${(stats.applyMillis / 1000).toFixed(1)} s in all, ` +
        `${(stats.applyMillis / Math.max(1, snap.batches)).toFixed(0)} ms a batch), process CPU ` +
        `${((cpu.user + cpu.system) / 1e6).toFixed(1)} s of which the JS thread ${mainCpu.toFixed(1)} s, ` +
        `${(bytes / 2 ** 20).toFixed(0)} MiB on disk${parts}, RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB, ` +
        `rows match Postgres  (load ${loadText()})`,
    );
    if (timing) {
      const applyMs = stats.applyMillis;
      console.log(
        `    where the ClickHouse apply's ${(applyMs / 1000).toFixed(1)} s went: ${(timing.totalMs / 1000).toFixed(1)} s in client calls ` +
          `(call to settled: JSON encoding, the engine's parse and write), ${((applyMs - timing.totalMs) / 1000).toFixed(1)} s outside them (fold, plan, encode in JS):`,
      );
      for (const line of timing.lines()) console.log(`      ${line}`);
    }
    return run;
  } finally {
    timing?.restore();
    controller.abort();
    await done.catch(() => {});
    await open.discard();
  }
}

export interface DrainResult {
  readonly clickhouse: number;
  readonly duckdb: number;
  readonly ratio: number;
  /** Median process CPU of a ClickHouse drain / of a DuckDB drain. */
  readonly cpuRatio: number;
}

export async function partDrain(
  cluster: PostgresCluster,
  sides: Sides,
  options: { readonly changes: number; readonly runs: number; readonly sides: readonly Side[] },
  workDir: string,
): Promise<DrainResult> {
  console.log('');
  console.log(
    `part 1 — drain: ${int(options.changes)} changes by runPipeline into ${options.sides.map((s) => SIDE_NAMES[s]).join(' and ')}`,
  );
  await cluster.sql(backlogSql('bench_pub'));
  const order: { side: Side; slot: string }[] = [];
  for (let i = 1; i <= options.runs; i++)
    for (const side of options.sides) order.push({ side, slot: `drain_${side}_${i}` });
  for (const { slot } of order)
    await cluster.sql("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);
  const loadStart = now();
  await callProcedure(cluster, `CALL bench_backlog(${options.changes / CHANGES_PER_ROUND})`);
  const [backlog] = await cluster.sql<{ lsn: string; wal: string }>(
    `SELECT pg_current_wal_insert_lsn()::text AS lsn,
            pg_size_pretty(pg_current_wal_insert_lsn() - restart_lsn) AS wal
       FROM pg_replication_slots WHERE slot_name = $1`,
    [order[0]?.slot],
  );
  const [expected] = await cluster.sql<DrainFacts>(FACTS_PG);
  if (!backlog || !expected) throw new Error('cannot read the backlog back');
  console.log(
    `  backlog written in ${elapsedSince(loadStart).toFixed(1)} s: ${backlog.wal} of WAL, ends at ${backlog.lsn}; ` +
      `${int(options.changes / 100)} transactions of 100 changes, 60/30/10% insert/update/delete; ` +
      `${int(Number(expected.count))} rows remain`,
  );
  await cluster.sql('CHECKPOINT');
  const runs: DrainRun[] = [];
  try {
    for (const { side, slot } of order) {
      runs.push(await drainOnce(cluster, sides, side, slot, workDir, options.changes, expected));
      await dropSlots(cluster, [slot]);
    }
  } finally {
    await dropSlots(
      cluster,
      order.map((o) => o.slot),
    ).catch(() => {});
    await cluster.sql('DROP TABLE bench; DROP PUBLICATION bench_pub');
  }
  const of = (side: Side, what: (r: DrainRun) => number) => {
    const values = runs.filter((r) => r.side === side).map(what);
    return values.length > 0 ? median(values) : Number.NaN;
  };
  const speed = (r: DrainRun) => r.changesPerSecond;
  const cpu = (r: DrainRun) => r.cpuSeconds;
  const result: DrainResult = {
    clickhouse: of('clickhouse', speed),
    duckdb: of('duckdb', speed),
    ratio: of('clickhouse', speed) / of('duckdb', speed),
    cpuRatio: of('clickhouse', cpu) / of('duckdb', cpu),
  };
  console.log(
    `  medians: ClickHouse ${rate(result.clickhouse)}, DuckDB ${rate(result.duckdb)}; ` +
      `ratio ClickHouse / DuckDB ${result.ratio.toFixed(2)}; process CPU per drain ClickHouse / DuckDB ` +
      `${result.cpuRatio.toFixed(2)} (CPU moves less with the machine's load than wall time)  (load ${loadText()})`,
  );
  return result;
}
