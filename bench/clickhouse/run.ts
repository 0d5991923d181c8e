/**
 * `npm run bench:clickhouse`: the ClickHouse warehouse (issue 10, chdb: ClickHouse's engine in
 * this process) set beside DuckDB and Postgres, same run, same machine, ratios printed.
 *
 * 1. Drain (drain.ts): a backlog of `--changes` (default 1,000,000; the bench/e2e mix) drained by
 *    `runPipeline` into a fresh ClickHouse database and into a fresh DuckDB file, alternating,
 *    `--runs` each; changes/s of each and ClickHouse / DuckDB; every run checked against Postgres.
 * 2. Query (query.ts): `SELECT country, SUM(total) FROM orders GROUP BY country` on `--orders`
 *    rows (default 10,000,000) copied into each warehouse by Tributary's first copy; Postgres,
 *    DuckDB and ClickHouse (the view, FINAL), best of `--query-runs`, answers equal; then the
 *    ClickHouse storage table after OPTIMIZE … FINAL, through the view and read plainly.
 *
 * chdb admits one data directory per process: this process opens one, under the run's work
 * directory, and each ClickHouse side is a database in it (sides.ts).
 *
 * Options: --changes N (a multiple of 1,000), --runs N (default 2), --orders N (default
 * 10,000,000), --query-runs N (default 5), --parts drain,query, --sides clickhouse,duckdb (the
 * drain's warehouses: one side alone is for profiling and prints no ratio).
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { newestBinaries, PostgresCluster } from '../../src/embedded/postgres-cluster.js';
import { CHANGES_PER_ROUND } from '../common/backlog.js';
import { DRAIN_CLUSTER_SETTINGS } from '../common/cluster.js';
import { int, rate } from '../common/report.js';
import { loadText } from '../common/tools.js';
import { partDrain } from './drain.js';
import { partQuery } from './query.js';
import { type Side, Sides } from './sides.js';

type Part = 'drain' | 'query';

interface Options {
  readonly changes: number;
  readonly runs: number;
  readonly orders: number;
  readonly queryRuns: number;
  readonly parts: ReadonlySet<Part>;
  readonly sides: readonly Side[];
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      changes: { type: 'string', default: '1000000' },
      runs: { type: 'string', default: '2' },
      orders: { type: 'string', default: '10000000' },
      'query-runs': { type: 'string', default: '5' },
      parts: { type: 'string', default: 'drain,query' },
      sides: { type: 'string', default: 'clickhouse,duckdb' },
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
    if (p !== 'drain' && p !== 'query') throw new Error('--parts is a list of drain, query');
    parts.add(p);
  }
  const sides: Side[] = [];
  for (const s of values.sides.split(',')) {
    if (s !== 'clickhouse' && s !== 'duckdb') throw new Error('--sides is a list of clickhouse, duckdb');
    if (!sides.includes(s)) sides.push(s);
  }
  const changes = positive('changes', values.changes);
  if (changes % CHANGES_PER_ROUND !== 0)
    throw new Error(`--changes must be a multiple of ${CHANGES_PER_ROUND}`);
  const orders = positive('orders', values.orders);
  if (orders < 1000) throw new Error('--orders must be at least 1,000');
  return {
    changes,
    runs: positive('runs', values.runs),
    orders,
    queryRuns: positive('query-runs', values['query-runs']),
    parts,
    sides,
  };
}

let interrupted = false;

async function main(): Promise<number> {
  const options = readOptions();
  const binaries = newestBinaries();
  // everything on disk (initdb template, cluster, spools, DuckDB files, the chdb directory)
  // lives under one directory of this run, removed at the end; the cluster may run as another user
  const workDir = mkdtempSync(join(tmpdir(), 'tributary-bench-clickhouse-'));
  chmodSync(workDir, 0o755);
  process.env.TMPDIR = workDir;
  const sides = new Sides(workDir);
  console.log('bench/clickhouse: the ClickHouse warehouse (chdb, in process) beside DuckDB and Postgres');
  console.log(
    `  machine: ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), ` +
      `${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}`,
  );
  console.log(`  load average at start: ${loadText()} (other work on the machine skews every run)`);

  let cluster: PostgresCluster | null = null;
  const cleanUp = async () => {
    await sides.discardAll();
    await cluster?.stop().catch(() => {});
    cluster = null;
    rmSync(workDir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = true;
    console.error(`bench/clickhouse: ${signal}, cleaning up`);
    void cleanUp().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const summary: string[] = [];
  try {
    cluster = await PostgresCluster.start({ binaries, settings: DRAIN_CLUSTER_SETTINGS });
    const [facts] = await cluster.sql<{ version: string }>(
      "SELECT current_setting('server_version') AS version",
    );
    console.log(`  server: PostgreSQL ${facts?.version} (${binaries.binDir}), TCP to 127.0.0.1`);
    if (options.parts.has('drain')) {
      const r = await partDrain(cluster, sides, options, workDir);
      summary.push(
        options.sides.length === 2
          ? `  1. drain ${int(options.changes)} changes: ClickHouse ${rate(r.clickhouse)}, DuckDB ${rate(r.duckdb)}; ` +
              `ClickHouse / DuckDB ${r.ratio.toFixed(2)} (process CPU ClickHouse / DuckDB ${r.cpuRatio.toFixed(2)})`
          : `  1. drain ${int(options.changes)} changes into ${options.sides[0]} only (no ratio)`,
      );
    }
    if (options.parts.has('query')) {
      const r = await partQuery(cluster, sides, options);
      summary.push(
        `  2. first copy of ${int(options.orders)} orders: DuckDB ${r.duckdbCopyS.toFixed(1)} s (${rate(options.orders / r.duckdbCopyS)} rows), ` +
          `ClickHouse ${r.clickhouseCopyS.toFixed(1)} s (${rate(options.orders / r.clickhouseCopyS)} rows); ` +
          `ClickHouse / DuckDB time ${(r.clickhouseCopyS / r.duckdbCopyS).toFixed(2)}×`,
        `     seed query on ${int(options.orders)} orders (best of ${options.queryRuns}): Postgres ${r.postgresMs.toFixed(0)} ms, ` +
          `DuckDB ${r.duckdbMs.toFixed(1)} ms, ClickHouse ${r.clickhouseMs.toFixed(1)} ms (view, FINAL, as copied); ` +
          `Postgres / ClickHouse ${(r.postgresMs / r.clickhouseMs).toFixed(1)}×, DuckDB / ClickHouse ${(r.duckdbMs / r.clickhouseMs).toFixed(2)}×; ` +
          `answers ${r.equal ? 'equal' : 'DIFFERENT'}`,
        `     after OPTIMIZE FINAL: ClickHouse view ${r.mergedViewMs.toFixed(1)} ms (Postgres / ClickHouse ` +
          `${(r.postgresMs / r.mergedViewMs).toFixed(1)}×, DuckDB / ClickHouse ${(r.duckdbMs / r.mergedViewMs).toFixed(2)}×), ` +
          `storage without FINAL ${r.mergedPlainMs.toFixed(1)} ms`,
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
    console.error(
      'bench/clickhouse failed:',
      error instanceof Error ? (error.stack ?? error.message) : error,
    );
    process.exit(1);
  },
);
