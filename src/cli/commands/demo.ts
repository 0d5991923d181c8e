/**
 * `tributary demo` (`npm start`): the whole story with nothing set up. An embedded Postgres
 * starts, `orders` is created, the pipeline streams into a DuckDB file, four changes flow
 * through and are printed as they arrive with their lag, then the analyst's query runs on the
 * warehouse and on Postgres side by side, and the shipped metric (examples/metrics/net_revenue.yml:
 * net revenue, refunds excluded, per country per day) is served from it. A small live workload keeps going, with a status
 * line, until Ctrl-C. Every step that can take more than a second (starting Postgres, creating
 * the table and opening the warehouse, starting the pipeline, applying, stopping) shows a live
 * line (LiveLine).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import type { StreamItem } from '../../core/change-event.js';
import { rowToJson } from '../../core/event-json.js';
import { silentLogger } from '../../core/logger.js';
import { formatPosition } from '../../core/position.js';
import { displayName } from '../../core/table-ref.js';
import { newestBinaries, PostgresCluster } from '../../embedded/postgres-cluster.js';
import { parseMetricFiles, readMetricDir } from '../../metrics/metric-files.js';
import { Metrics } from '../../metrics/metrics.js';
import { runPipeline } from '../../pipeline/pipeline.js';
import { PipelineStats } from '../../pipeline/pipeline-stats.js';
import { parseSourceUrl } from '../../source/postgres/setup/connection-config.js';
import { TypeRegistry } from '../../source/postgres/values/type-registry.js';
import { DuckDBWarehouse } from '../../warehouse/duckdb/duckdb-warehouse.js';
import { LiveLine } from '../live-line.js';
import { runUntilSignal } from '../run-until-signal.js';
import { asTable } from './query.js';

const ANALYST_QUERY = 'SELECT country, SUM(total) AS total FROM orders GROUP BY country ORDER BY country';

interface DemoFlags {
  readonly keepRunning: boolean;
}

export function demoCommand(): Command {
  return new Command('demo')
    .description(
      'the whole story on an embedded Postgres, no set-up: changes flow into DuckDB, the analyst queries it',
    )
    .option('--no-keep-running', 'stop after the story instead of running a live workload until Ctrl-C')
    .action(async (flags: DemoFlags) => {
      await runUntilSignal((signal) => demo(flags, signal));
    });
}

async function demo(flags: DemoFlags, signal: AbortSignal): Promise<void> {
  const live = new LiveLine(process.stdout);
  const say = (text = '') => live.say(text);
  const dir = mkdtempSync(join(tmpdir(), 'tributary-demo-'));
  const binaries = newestBinaries();
  const cluster = await live.step(
    `▸ starting an embedded PostgreSQL ${binaries.major} (wal_level=logical) …`,
    () => PostgresCluster.start({ binaries }),
    (_, s) => `▸ embedded PostgreSQL ${binaries.major} started (wal_level=logical) in ${s} s`,
  );
  const warehousePath = join(dir, 'warehouse.duckdb');
  const types = new TypeRegistry();
  const stop = new AbortController();
  signal.addEventListener('abort', () => stop.abort(), { once: true });
  const stats = new PipelineStats();
  let pipeline: Promise<void> | null = null;
  let opened: DuckDBWarehouse | undefined;
  try {
    const warehouse = await live.step(
      '▸ creating table orders and the DuckDB warehouse …',
      async () => {
        await cluster.sql(`CREATE TABLE orders (
          id bigint PRIMARY KEY, country text NOT NULL, total numeric(12,2) NOT NULL,
          status text NOT NULL DEFAULT 'paid', created_at timestamptz NOT NULL DEFAULT now())`);
        opened = await DuckDBWarehouse.open(warehousePath, { typeInfo: (oid) => types.info(oid) });
        return opened;
      },
      () => `▸ created table orders; streaming into ${warehousePath}`,
    );
    const seen: StreamItem[] = [];
    const printed = { count: 0 };
    pipeline = runPipeline(
      {
        source: {
          connection: parseSourceUrl(cluster.url()),
          slot: 'tributary',
          publication: 'tributary',
          tables: 'all',
          types,
        },
        warehouse,
        logger: silentLogger(),
        batch: { maxDelayMs: 20 },
        stats,
        observe: (items) => {
          for (const item of items) {
            if (item.kind !== 'change' || printed.count >= 4) continue;
            printed.count++;
            seen.push(item);
            const e = item.event;
            const lagMs = Date.now() - Number(e.commitTime.micros / 1000n);
            const row = rowToJson(e.row ?? e.pk);
            say(
              `  ${e.op.padEnd(6)} ${displayName(e.table)} @ ${formatPosition(e.position)}  ${JSON.stringify(row)}  (${lagMs} ms after commit)`,
            );
          }
        },
      },
      stop.signal,
    );
    pipeline.catch(() => {});
    // changes made before the slot exists are the snapshot's job: wait for the slot
    await live.step(
      '▸ starting the pipeline (publication, replication slot) …',
      async () => {
        for (let tries = 0; (await cluster.sql('SELECT 1 FROM pg_replication_slots')).length === 0; tries++) {
          if (tries > 600) throw new Error('the demo pipeline did not start');
          await sleep(50);
        }
      },
      (_, s) => `▸ pipeline started in ${s} s`,
    );
    say('▸ the application writes four changes:');
    await cluster.sql(`INSERT INTO orders (id, country, total) VALUES (101, 'US', 120.50)`);
    await cluster.sql(`INSERT INTO orders (id, country, total) VALUES (102, 'CA', 80.00)`);
    await cluster.sql(`INSERT INTO orders (id, country, total) VALUES (103, 'US', 42.25)`);
    await cluster.sql(`UPDATE orders SET status = 'refunded' WHERE id = 102`);
    await live.step(
      '▸ applying to the warehouse …',
      () => waitUntil(() => stats.snapshot().changes >= 4, 30_000),
      () => `▸ applied to the warehouse; end-to-end lag ${stats.snapshot().lagMs ?? '?'} ms`,
    );
    say();
    say(`▸ the analyst's query: ${ANALYST_QUERY}`);
    const t0 = performance.now();
    const answer = await warehouse.query(ANALYST_QUERY);
    const warehouseMs = performance.now() - t0;
    const t1 = performance.now();
    await cluster.sql(ANALYST_QUERY);
    const postgresMs = performance.now() - t1;
    say(asTable(answer).replace(/\n$/, ''));
    say(
      `  warehouse (DuckDB): ${warehouseMs.toFixed(1)} ms    production (Postgres): ${postgresMs.toFixed(1)} ms — and production did no analytical work`,
    );
    say();
    const metrics = await Metrics.load(
      warehouse.metricsStore(),
      parseMetricFiles(readMetricDir(exampleMetrics())),
      {
        user: 'demo',
      },
    );
    const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    const metric = await metrics.query({
      metric: 'net_revenue',
      grain: 'day',
      by: ['country'],
      from: day(Date.now() - 5 * 60_000),
      to: day(Date.now() + 86_400_000),
    });
    say(
      `▸ the metric net_revenue@${metric.version} (examples/metrics/net_revenue.yml, owned by finance): refunds excluded, per country per day`,
    );
    say(asTable({ columns: [...metric.columns], rows: metric.rows.map((r) => [...r]) }).replace(/\n$/, ''));
    if (!flags.keepRunning) return;
    say();
    say('▸ a small live workload keeps running; Ctrl-C to stop');
    let id = 1000;
    const countries = ['US', 'CA', 'DE', 'FR', 'JP', 'BR'];
    while (!signal.aborted) {
      await cluster.sql('INSERT INTO orders (id, country, total) VALUES ($1, $2, $3)', [
        id++,
        countries[id % countries.length],
        ((id * 37) % 50_000) / 100,
      ]);
      if (id % 10 === 0) {
        const s = stats.snapshot();
        live.status(`  ${s.changes} changes applied · ${s.changesPerSecond}/s · lag ${s.lagMs ?? '?'} ms`);
      }
      await sleep(50);
    }
  } finally {
    live.end();
    await live.step(
      '▸ stopping the embedded Postgres …',
      async () => {
        stop.abort();
        await pipeline?.catch(() => {});
        await opened?.close();
        await cluster.stop();
        rmSync(dir, { recursive: true, force: true });
      },
      () => '▸ stopped; the embedded Postgres and the demo warehouse are removed',
    );
  }
}

/** The shipped metric definitions (examples/metrics), found from this file up to the package root. */
function exampleMetrics(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, 'examples', 'metrics');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error('examples/metrics is missing from this installation');
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('the demo pipeline did not apply the changes in time');
    await sleep(20);
  }
}
