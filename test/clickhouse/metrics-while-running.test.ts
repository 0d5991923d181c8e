/**
 * The metrics layer with `tributary run --warehouse chdb:… --metrics <dir>`: run syncs the
 * shipped metric into ClickHouse's registry at start; while it holds the chdb directory (one
 * process per directory), `tributary metrics query` is answered through its control endpoint and
 * the HTTP API serves the metric — the numbers of the DuckDB CLI test, the deleted and updated
 * orders applied; after SIGTERM the commands read the directory themselves and find the version
 * registered once, by the run's user.
 */
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newestBinaries, REPO_ROOT } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { httpPort, runCli, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { waitForWarehouse } from '../helpers/warehouse.js';

const QUERY = ['--by', 'country', '--grain', 'day', '--from', '2026-03-01', '--to', '2026-03-03'];
const EXPECTED = [
  'period     │ country │ value  │ provisional',
  '───────────┼─────────┼────────┼────────────',
  '2026-03-01 │ CA      │ 0.00   │ false',
  '2026-03-01 │ US      │ 120.50 │ false',
  '2026-03-02 │ CA      │ 19.99  │ false',
  '2026-03-02 │ US      │ 42.25  │ false',
  '(4 rows)',
  '',
].join('\n');

describe('metrics with tributary run into ClickHouse (chdb)', () => {
  const cluster = useCluster({
    binaries: newestBinaries(),
    setup: (c) =>
      c.sql(`CREATE TABLE orders (id bigint PRIMARY KEY, country text NOT NULL, total numeric(12,2) NOT NULL,
               status text NOT NULL, created_at timestamptz NOT NULL);
             INSERT INTO orders VALUES (101, 'US', 120.50, 'paid', '2026-03-01 07:30:00+00'),
               (102, 'CA', 80.00, 'paid', '2026-03-01 08:30:00+00'), (103, 'US', 42.25, 'paid', '2026-03-02 12:00:00+00'),
               (105, 'DE', 99.00, 'paid', '2026-03-02 13:00:00+00')`),
  });

  it('syncs at start, answers through the running process and over HTTP, and after it stops', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-ch-metrics-run-'));
    const metrics = join(dir, 'metrics');
    mkdirSync(metrics);
    copyFileSync(join(REPO_ROOT, 'examples', 'metrics', 'net_revenue.yml'), join(metrics, 'net_revenue.yml'));
    const warehouse = `chdb://${join(dir, 'chdb')}?database=shop`;
    const run = startCli(
      [
        'run',
        '--source',
        cluster().url(),
        '--warehouse',
        warehouse,
        '--tables',
        'public.orders',
        '--metrics',
        metrics,
        '--http',
        '127.0.0.1:0',
      ],
      { USER: 'carol' },
    );
    try {
      await waitFor('the slot', () => /replication slot/.test(run.stderr()) || undefined);
      await cluster().sql(`INSERT INTO orders VALUES (104, 'CA', 19.99, 'paid', '2026-03-02 23:10:00+00')`);
      await cluster().sql(`UPDATE orders SET status = 'refunded' WHERE id = 102`);
      await cluster().sql('DELETE FROM orders WHERE id = 105');
      await waitForWarehouse(cluster(), { warehouse });

      const at = ['--metrics', metrics, '--warehouse', warehouse];
      const days = await runCli(['metrics', 'query', 'net_revenue', ...QUERY, ...at], { USER: 'dave' });
      expect(days.code, days.stderr).toBe(0);
      expect(days.stdout).toBe(EXPECTED);

      const port = await httpPort(run);
      const response = await fetch(
        `http://127.0.0.1:${port}/api/metrics/net_revenue/query?grain=day&from=2026-03-01&to=2026-03-03&by=country&tz=America/Los_Angeles`,
      );
      expect(response.status).toBe(200);
      expect(((await response.json()) as { rows: unknown[] }).rows).toEqual([
        { period: '2026-03-01', country: 'CA', value: '0.00', provisional: false },
        { period: '2026-03-01', country: 'US', value: '0.00', provisional: false },
        { period: '2026-03-02', country: 'CA', value: '19.99', provisional: false },
        { period: '2026-03-02', country: 'US', value: '42.25', provisional: false },
      ]);
    } finally {
      run.child.kill('SIGTERM');
    }
    const stopped = await run.exited;
    expect(stopped.code, stopped.stderr).toBe(0);

    const at = ['--metrics', metrics, '--warehouse', warehouse];
    const after = await runCli(['metrics', 'query', 'net_revenue', ...QUERY, ...at]);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toBe(EXPECTED);
    const log = await runCli(['metrics', 'log', 'net_revenue', '--json', ...at]);
    expect(JSON.parse(log.stdout)).toMatchObject([{ name: 'net_revenue', version: 1, by: 'carol' }]);
    const stored = await runCli([
      'query',
      'SELECT count() AS n FROM _tributary_metric_versions',
      '--csv',
      '--warehouse',
      warehouse,
    ]);
    expect(stored.stdout).toBe('n\n1\n');
  }, 180_000);
});
