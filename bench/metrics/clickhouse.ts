/**
 * `npm run bench:metrics-clickhouse`: the metrics layer on ClickHouse (chdb, the engine in
 * process) against the same queries on DuckDB, measured in the same run on the same rows.
 *
 * - Setup (untimed): `orders` (`--rows`, default 1,000,000: id, country of 20, total
 *   Decimal(12,2), one in ten refunded, created_at spread evenly over 2025) generated inside each
 *   engine from the same formulas, so both hold the same rows; three metrics loaded into each
 *   registry: net revenue (sum, refunds excluded), distinct ids mod 1000 (count_distinct), and
 *   revenue over a trailing 7 days (cumulative).
 * - Each: `Metrics.query` per country per day over the year, in UTC and America/Los_Angeles,
 *   timed `--runs` times after one warm-up; the median counts.
 * - Both answers must be equal, row by row as text (decimals exact).
 * - Printed: each median and the ratio DuckDB / ClickHouse (above 1: ClickHouse is faster).
 *
 * Options: --rows N, --runs N (default 3).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { clickhouseMetricsEngine } from '../../src/metrics/clickhouse/clickhouse-engine.js';
import { type MetricQueryResult, Metrics } from '../../src/metrics/metrics.js';
import {
  checkReachable,
  connectClickHouse,
  parseClickHouseUrl,
} from '../../src/warehouse/clickhouse/connect.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { int } from '../common/report.js';
import { median } from '../common/tools.js';

const { values } = parseArgs({
  options: { rows: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '3' } },
});
const rows = Number(values.rows);
const runs = Number(values.runs);
if (!Number.isSafeInteger(rows) || rows < 1 || !Number.isSafeInteger(runs) || runs < 1)
  throw new Error('--rows and --runs take positive integers');

const base = { description: 'bench', owner: 'bench', version: 1, model: 'orders', dimensions: ['country'] };
const time = { column: 'created_at', semantics: 'event' };
const FILES = [
  {
    name: 'net_revenue',
    measure: { agg: 'sum', expr: 'total' },
    filter: "status <> 'refunded'",
    grains: ['day'],
  },
  { name: 'distinct_ids', measure: { agg: 'count_distinct', expr: 'id % 1000' }, grains: ['day'] },
  {
    name: 'revenue_7d',
    type: 'cumulative',
    cumulative: { window: '7 days' },
    measure: { agg: 'sum', expr: 'total' },
    grains: ['day'],
  },
].map((m) => ({ file: `${m.name}.yml`, content: { ...base, time, ...m } }));

const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-metrics-ch-'));
const connection = await connectClickHouse(parseClickHouseUrl(`chdb://${join(dir, 'chdb')}?database=bench`));
const duck = await DuckDBWarehouse.open(join(dir, 'bench.duckdb'));
try {
  console.log(`bench/metrics clickhouse: ${int(rows)} orders, ${runs} run(s), chdb against DuckDB`);
  await checkReachable(connection, true);
  await connection.client.command({
    query: `CREATE TABLE orders (id Int64, country String, total Decimal(12, 2), status String,
      created_at DateTime64(6, 'UTC')) ENGINE = MergeTree ORDER BY id`,
  });
  await connection.client.command({
    query: `INSERT INTO orders SELECT number, concat('C', toString(number % 20)),
      toDecimal64(concat(toString(intDiv((number * 7919) % 50000, 100)), '.', leftPad(toString((number * 7919) % 100), 2, '0')), 2),
      if(number % 10 = 0, 'refunded', 'paid'),
      toDateTime64('2025-01-01 00:00:00', 6, 'UTC') + toIntervalSecond(intDiv(number * 31536000, ${rows}))
      FROM numbers(${rows})`,
  });
  await duck.metricsStore().write(async (db) => {
    await db.run(`CREATE TABLE orders (id BIGINT, country VARCHAR, total DECIMAL(12,2), status VARCHAR,
      created_at TIMESTAMPTZ)`);
    await db.run(`INSERT INTO orders SELECT i, 'C' || (i % 20)::VARCHAR,
      (((i * 7919) % 50000 // 100)::VARCHAR || '.' || lpad(((i * 7919) % 100)::VARCHAR, 2, '0'))::DECIMAL(12,2),
      CASE WHEN i % 10 = 0 THEN 'refunded' ELSE 'paid' END,
      make_timestamptz((1735689600 + i * 31536000 // ${rows}) * 1000000)
      FROM range(${rows}) t(i)`);
  });
  const onClickHouse = await Metrics.loadFiles(clickhouseMetricsEngine(connection), FILES, { user: 'bench' });
  const onDuckDB = await Metrics.loadFiles(duck.metricsStore(), FILES, { user: 'bench' });
  const now = new Date('2030-01-01T00:00:00Z');
  const timed = async (metrics: Metrics, request: object) => {
    let result = await metrics.query(request, now); // warm-up
    const ms: number[] = [];
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      result = await metrics.query(request, now);
      ms.push(performance.now() - start);
    }
    return { ms: median(ms), result };
  };
  const text = (r: MetricQueryResult) => JSON.stringify(r.rows.map((row) => row.map(String)));
  for (const { content } of FILES)
    for (const tz of ['UTC', 'America/Los_Angeles']) {
      const request = {
        metric: content.name,
        grain: 'day',
        from: '2025-01-01',
        to: '2026-01-01',
        tz,
        by: ['country'],
      };
      const duckdb = await timed(onDuckDB, request);
      const clickhouse = await timed(onClickHouse, request);
      const same = text(duckdb.result) === text(clickhouse.result);
      console.log(
        `  ${content.name.padEnd(12)} ${tz.padEnd(20)} ${int(duckdb.result.rows.length)} rows  ` +
          `DuckDB ${Math.round(duckdb.ms)} ms  ClickHouse ${Math.round(clickhouse.ms)} ms  ` +
          `ratio ${(duckdb.ms / clickhouse.ms).toFixed(2)}  ${same ? 'same answers' : 'ANSWERS DIFFER'}`,
      );
      if (!same) process.exitCode = 1;
    }
} finally {
  await duck.close();
  await connection.close();
  rmSync(dir, { recursive: true, force: true });
}
