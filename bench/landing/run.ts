/**
 * `npm run bench:landing`: what keeping the raw landing zone costs. The same backlog of
 * `--changes` changes (default 1,000,000: bench/common/backlog.ts, 60/30/10% insert/update/
 * delete in transactions of 100) drained by the whole pipeline (`runPipeline`, the in-process
 * feed: what `tributary run` does) into a fresh DuckDB file with the raw zone (the default) and
 * without it (`--no-raw`), in the same run on the same machine; the ratio with / without is the
 * result (target ≥ 0.7).
 *
 * - One throwaway Postgres cluster; every run reads the backlog from a slot of its own, all
 *   created before the backlog is written, so all read the identical WAL.
 * - Runs alternate (without, with, without, with, …), `--runs` of each (default 2); medians.
 * - Each run ends with the warehouse's count(*) and sum(qty) checked against Postgres'; a run with
 *   the raw zone also checks that it holds one row per change, and prints the file's size.
 *
 * Options: --changes N (a multiple of 1,000), --runs N.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { silentLogger } from '../../src/core/logger.js';
import { newestBinaries, PostgresCluster } from '../../src/embedded/postgres-cluster.js';
import { runPipeline } from '../../src/pipeline/pipeline.js';
import { parseSourceUrl } from '../../src/source/postgres/setup/connection-config.js';
import { TypeRegistry } from '../../src/source/postgres/values/type-registry.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { backlogSql, CHANGES_PER_ROUND } from '../common/backlog.js';
import { callProcedure, DRAIN_CLUSTER_SETTINGS } from '../common/cluster.js';
import { ProbeStats } from '../common/probe-stats.js';
import { processCpu } from '../common/proc-cpu.js';
import { elapsedSince, fileBytes, int, now, rate, verdict, withTimeout } from '../common/report.js';
import { loadText, median } from '../common/tools.js';

const TARGET = 0.7;
const STAGE_TIMEOUT_MS = 30 * 60_000;

interface Run {
  readonly raw: boolean;
  readonly round: number;
  readonly seconds: number;
  readonly changesPerSecond: number;
  readonly cpuSeconds: number | null;
  readonly fileMiB: number;
}

function readOptions(): { changes: number; runs: number } {
  const { values } = parseArgs({
    options: { changes: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '2' } },
    strict: true,
  });
  const positive = (name: string, text: string): number => {
    const n = Number(text.replaceAll('_', ''));
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
    return n;
  };
  const changes = positive('changes', values.changes);
  if (changes % CHANGES_PER_ROUND !== 0)
    throw new Error(`--changes must be a multiple of ${CHANGES_PER_ROUND}`);
  return { changes, runs: positive('runs', values.runs) };
}

async function drain(
  cluster: PostgresCluster,
  dir: string,
  slot: string,
  raw: boolean,
  changes: number,
  expected: { count: string; qty: string },
): Promise<Omit<Run, 'round'>> {
  const path = join(dir, `${slot}.duckdb`);
  const cpuBefore = processCpu('self');
  const start = now();
  const types = new TypeRegistry();
  const warehouse = await DuckDBWarehouse.open(path, { typeInfo: (oid) => types.info(oid), raw });
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
      },
      warehouse,
      // the slot was created before the backlog: stream it, copy nothing (see bench/e2e)
      snapshot: { mode: 'never' },
      logger: silentLogger(),
      stats,
    },
    controller.signal,
  );
  done.catch(() => {});
  try {
    await withTimeout(Promise.race([stats.reach(changes), done]), `the drain (raw ${raw})`, STAGE_TIMEOUT_MS);
    const seconds = elapsedSince(start);
    const cpuAfter = processCpu('self');
    if (stats.appliedChanges < changes)
      throw new Error(`the pipeline stopped after ${stats.appliedChanges} of ${changes} changes`);
    controller.abort();
    await done;
    const answer = await warehouse.query('SELECT count(*), sum(qty) FROM bench');
    const row = answer.rows[0] ?? [];
    if (String(row[0]) !== expected.count || String(row[1]) !== expected.qty)
      throw new Error(
        `the warehouse holds ${row[0]} rows, sum ${row[1]}; Postgres ${expected.count}, ${expected.qty}`,
      );
    if (raw) {
      const [rawRows] = (await warehouse.query('SELECT count(*) FROM _tributary_raw.bench')).rows;
      if (Number(rawRows?.[0]) !== changes)
        throw new Error(`the raw zone holds ${rawRows?.[0]} rows, not one per change (${changes})`);
    }
    await warehouse.close();
    const fileMiB = fileBytes(path) / 2 ** 20;
    rmSync(path, { force: true });
    rmSync(`${path}.wal`, { force: true });
    return {
      raw,
      seconds,
      changesPerSecond: changes / seconds,
      cpuSeconds: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore,
      fileMiB,
    };
  } catch (error) {
    controller.abort();
    await done.catch(() => {});
    await warehouse.close().catch(() => {});
    throw error;
  }
}

async function main(): Promise<number> {
  const options = readOptions();
  const workDir = mkdtempSync(join(tmpdir(), 'tributary-bench-landing-'));
  chmodSync(workDir, 0o755);
  process.env.TMPDIR = workDir;
  console.log('bench/landing: the cost of the raw landing zone, the same drain with and without it');
  console.log(
    `  machine: ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), ` +
      `${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}; load at start ${loadText()}`,
  );
  let cluster: PostgresCluster | null = null;
  try {
    const binaries = newestBinaries();
    cluster = await PostgresCluster.start({ binaries, settings: DRAIN_CLUSTER_SETTINGS });
    const order: { raw: boolean; round: number; slot: string }[] = [];
    for (let round = 1; round <= options.runs; round++)
      for (const raw of [false, true]) order.push({ raw, round, slot: `${raw ? 'raw' : 'noraw'}_${round}` });
    await cluster.sql(backlogSql('bench_pub'));
    for (const { slot } of order)
      await cluster.sql("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);
    const written = now();
    await callProcedure(cluster, `CALL bench_backlog(${options.changes / CHANGES_PER_ROUND})`);
    const [facts] = await cluster.sql<{ count: string; qty: string }>(
      'SELECT count(*)::text AS count, sum(qty)::text AS qty FROM bench',
    );
    if (!facts) throw new Error('the bench table is missing');
    console.log(
      `  backlog: ${int(options.changes)} changes in ${int(options.changes / 100)} transactions, written in ` +
        `${elapsedSince(written).toFixed(1)} s; ${int(Number(facts.count))} rows remain; ${order.length} slots`,
    );
    await cluster.sql('CHECKPOINT');
    const runs: Run[] = [];
    for (const { raw, round, slot } of order) {
      const run = { round, ...(await drain(cluster, workDir, slot, raw, options.changes, facts)) };
      runs.push(run);
      await cluster.sql('SELECT pg_drop_replication_slot($1)', [slot]);
      console.log(
        `  ${(raw ? 'with raw zone' : 'without').padEnd(14)} run ${round} ${run.seconds.toFixed(2).padStart(7)} s ` +
          `${rate(run.changesPerSecond).padStart(8)}  process CPU ${run.cpuSeconds === null ? '-' : `${run.cpuSeconds.toFixed(1)} s`}, ` +
          `file ${run.fileMiB.toFixed(0)} MiB  (load ${loadText()})`,
      );
    }
    const of = (raw: boolean) => median(runs.filter((r) => r.raw === raw).map((r) => r.changesPerSecond));
    const ratio = of(true) / of(false);
    console.log('');
    console.log(`summary (medians of ${options.runs} run${options.runs === 1 ? '' : 's'} each)`);
    console.log(`  without the raw zone ${rate(of(false))}, with it ${rate(of(true))}`);
    console.log(
      `  ratio with / without: ${ratio.toFixed(2)} (target ≥ ${TARGET}): ${verdict(ratio >= TARGET)}`,
    );
    return 0;
  } finally {
    await cluster?.stop().catch(() => {});
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`bench/landing failed: ${(error as Error).stack ?? String(error)}`);
    process.exit(1);
  },
);
