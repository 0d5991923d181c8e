/**
 * `npm run bench:metrics`: a metric query served by Tributary against the same aggregate run on
 * the source Postgres, measured in the same run on the same rows.
 *
 * - Setup (untimed): one throwaway cluster with an `orders` table (`--rows`, default 10,000,000:
 *   id, country of 20, total numeric(12,2), status paid/shipped/refunded — one in ten refunded —
 *   and created_at spread over 2025), vacuumed and analysed; copied into a fresh DuckDB
 *   warehouse by `runPipeline`; the metric `net_revenue` (sum of total, refunds excluded, by
 *   country, per day, event time created_at) loaded into the registry.
 * - Tributary: `Metrics.query` (what `tributary metrics query` and `GET /api/metrics/...` run):
 *   net revenue per country per day over the whole year, compiled to one DuckDB statement with
 *   bound parameters. Timed `--runs` times after one warm-up; the median counts.
 * - Postgres: the same numbers written by hand — `date_trunc('day', created_at AT TIME ZONE $tz)`,
 *   `sum(total)` where status <> 'refunded', grouped by day and country — on the same server
 *   (parallel workers as configured by default), timed the same way.
 * - Both results must agree exactly (every day × country sum, as text), in UTC and in
 *   America/Los_Angeles (`--tz`).
 * - Printed: both medians and the ratio Postgres / Tributary (target ≥ 20).
 *
 * Options: --rows N, --runs N (default 5), --tz Zone (default UTC).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { silentLogger } from '../../src/core/logger.js';
import { newestBinaries, PostgresCluster } from '../../src/embedded/postgres-cluster.js';
import { parseMetricFiles, readMetricDir } from '../../src/metrics/metric-files.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { runPipeline } from '../../src/pipeline/pipeline.js';
import { parseSourceUrl } from '../../src/source/postgres/setup/connection-config.js';
import { TypeRegistry } from '../../src/source/postgres/values/type-registry.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { DRAIN_CLUSTER_SETTINGS } from '../common/cluster.js';
import { firstCopyDone } from '../common/copied.js';
import { elapsedSince, int, now, verdict, withTimeout } from '../common/report.js';
import { median } from '../common/tools.js';

const TARGET = 20;

interface Options {
  readonly rows: number;
  readonly runs: number;
  readonly tz: string;
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '10000000' },
      runs: { type: 'string', default: '5' },
      tz: { type: 'string', default: 'UTC' },
    },
    strict: true,
  });
  const rows = Number(values.rows);
  const runs = Number(values.runs);
  if (!Number.isInteger(rows) || rows < 1000) throw new Error('--rows must be an integer ≥ 1000');
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  return { rows, runs, tz: values.tz };
}

const COUNTRIES = `ARRAY['US','DE','FR','GB','JP','CN','IN','BR','CA','AU',
                         'ES','IT','NL','SE','PL','MX','KR','ZA','NG','AR']`;

const CREATE = `CREATE TABLE orders (
  id bigint NOT NULL, country text NOT NULL, total numeric(12,2) NOT NULL,
  status text NOT NULL, created_at timestamptz NOT NULL)`;

const FILL = `INSERT INTO orders
SELECT n, (${COUNTRIES})[1 + ((n * 31 + n / 7) % 20)::integer],
       round(((n * 104729) % 1000000) / 100.0 + 0.99, 2),
       CASE WHEN n % 10 = 3 THEN 'refunded' WHEN n % 7 = 0 THEN 'shipped' ELSE 'paid' END,
       timestamptz '2025-01-01 00:00:00+00' + ((n * 7919) % 31536000) * interval '1 second'
  FROM generate_series(1::bigint, $1::bigint) AS n`;

const METRIC = `name: net_revenue
description: Revenue of the orders that were not refunded, by the day they were placed
owner: finance
version: 1
model: orders
measure: { agg: sum, expr: total }
filter: status <> 'refunded'
time: { column: created_at, semantics: event }
timezone: UTC
grains: [day, week, month]
dimensions: [country]
`;

const POSTGRES_SQL = `SELECT to_char(date_trunc('day', created_at AT TIME ZONE $1), 'YYYY-MM-DD') AS day, country,
       sum(total)::text AS value
  FROM orders
 WHERE status <> 'refunded'
   AND created_at >= (timestamp '2025-01-01' AT TIME ZONE $1) AND created_at < (timestamp '2026-01-01' AT TIME ZONE $1)
 GROUP BY 1, 2 ORDER BY 1, 2`;

async function main(): Promise<void> {
  const options = readOptions();
  const dir = mkdtempSync(join(tmpdir(), 'tributary-bench-metrics-'));
  console.log(`bench/metrics: ${int(options.rows)} orders, ${options.runs} run(s), zone ${options.tz}`);
  const cluster = await PostgresCluster.start({
    binaries: newestBinaries(),
    settings: DRAIN_CLUSTER_SETTINGS,
  });
  try {
    let start = now();
    await cluster.sql(CREATE);
    await cluster.sql(FILL, [options.rows]);
    await cluster.sql('ALTER TABLE orders ADD PRIMARY KEY (id)');
    await cluster.sql('VACUUM ANALYZE orders');
    console.log(`  source filled in ${elapsedSince(start).toFixed(1)} s (untimed)`);

    const types = new TypeRegistry();
    const warehouse = await DuckDBWarehouse.open(join(dir, 'w.duckdb'), {
      typeInfo: (oid) => types.info(oid),
    });
    const stop = new AbortController();
    start = now();
    const running = runPipeline(
      {
        source: {
          connection: parseSourceUrl(cluster.url()),
          tables: 'all',
          slot: 'bench_metrics',
          publication: 'bench_metrics',
          types,
        },
        warehouse,
        logger: silentLogger(),
      },
      stop.signal,
    );
    await withTimeout(firstCopyDone(warehouse, options.rows), 'the first copy', 60 * 60_000);
    console.log(`  copied into DuckDB in ${elapsedSince(start).toFixed(1)} s (untimed)`);
    stop.abort();
    await running;

    const metricsDir = join(dir, 'metrics');
    mkdirSync(metricsDir);
    writeFileSync(join(metricsDir, 'net_revenue.yml'), METRIC);
    const metrics = await Metrics.load(
      warehouse.metricsStore(),
      parseMetricFiles(readMetricDir(metricsDir)),
      {
        user: 'bench',
      },
    );
    const request = {
      metric: 'net_revenue',
      grain: 'day',
      by: ['country'],
      from: '2025-01-01',
      to: '2026-01-01',
      tz: options.tz,
    };
    const client = await cluster.connect();
    try {
      // one warm-up each, and the answers must be the same numbers
      const ours = await metrics.query(request);
      const theirs = await client.query<{ day: string; country: string; value: string }>(POSTGRES_SQL, [
        options.tz,
      ]);
      const ourRows = ours.rows
        .filter((r) => r[2] !== null && String(r[2]) !== '0' && String(r[2]) !== '0.00')
        .map((r) => `${r[0]}|${r[1]}|${String(r[2])}`);
      const theirRows = theirs.rows.map((r) => `${r.day}|${r.country}|${r.value}`);
      if (ourRows.join('\n') !== theirRows.join('\n')) {
        const first = ourRows.findIndex((r, i) => r !== theirRows[i]);
        throw new Error(
          `the answers differ (${ourRows.length} vs ${theirRows.length} rows; first at ${first}: ${ourRows[first]} vs ${theirRows[first]})`,
        );
      }
      console.log(`  both answer ${int(theirRows.length)} day × country sums, identical`);

      const tributary: number[] = [];
      const postgres: number[] = [];
      for (let run = 1; run <= options.runs; run++) {
        start = now();
        await metrics.query(request);
        tributary.push(elapsedSince(start));
        start = now();
        await client.query(POSTGRES_SQL, [options.tz]);
        postgres.push(elapsedSince(start));
        console.log(
          `  run ${run}: tributary ${(tributary.at(-1)! * 1000).toFixed(0)} ms, postgres ${(postgres.at(-1)! * 1000).toFixed(0)} ms`,
        );
      }
      const ratio = median(postgres) / median(tributary);
      console.log(
        `tributary (metrics query, DuckDB): median ${(median(tributary) * 1000).toFixed(0)} ms\n` +
          `postgres (the same aggregate by hand): median ${(median(postgres) * 1000).toFixed(0)} ms\n` +
          `ratio postgres/tributary ${ratio.toFixed(1)}× (target ≥ ${TARGET}×) ${verdict(ratio >= TARGET)}`,
      );
    } finally {
      await client.end();
      await warehouse.close();
    }
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
