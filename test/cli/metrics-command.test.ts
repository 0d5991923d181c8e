/**
 * `tributary metrics` as a user types it, on the shipped example (examples/metrics/net_revenue.yml)
 * over the demo's orders table: list, show, log, validate, query as a table, JSON and CSV; hostile
 * flags and malformed files exit 2 saying what to change. With `tributary run` holding the
 * warehouse the commands go through its control endpoint (a new version the command brings is
 * registered there, by the command's user); a malformed metrics directory stops run at start.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { newestBinaries, REPO_ROOT } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { runCli, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { waitForWarehouse } from '../helpers/warehouse.js';

const EXAMPLE = join(REPO_ROOT, 'examples', 'metrics', 'net_revenue.yml');

/** A directory with the example metric and a warehouse file holding the demo's orders. */
async function project(): Promise<{ dir: string; metrics: string; warehouse: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-metrics-cli-'));
  const metrics = join(dir, 'metrics');
  mkdirSync(metrics);
  copyFileSync(EXAMPLE, join(metrics, 'net_revenue.yml'));
  const warehouse = join(dir, 'w.duckdb');
  const opened = await DuckDBWarehouse.open(warehouse);
  await opened.metricsStore().write(async (db) => {
    await db.run(`CREATE TABLE orders (id BIGINT PRIMARY KEY, country VARCHAR NOT NULL, total DECIMAL(12,2) NOT NULL,
      status VARCHAR NOT NULL, created_at TIMESTAMPTZ NOT NULL)`);
    await db.run(`INSERT INTO orders VALUES (101, 'US', 120.50, 'paid', '2026-03-01 07:30:00+00'),
      (102, 'CA', 80.00, 'refunded', '2026-03-01 08:30:00+00'), (103, 'US', 42.25, 'paid', '2026-03-02 12:00:00+00'),
      (104, 'CA', 19.99, 'paid', '2026-03-02 23:10:00+00')`);
  });
  await opened.close();
  return { dir, metrics, warehouse };
}

const QUERY = ['--by', 'country', '--grain', 'day', '--from', '2026-03-01', '--to', '2026-03-03'];

describe('tributary metrics on the warehouse file', () => {
  it('lists, shows, logs, validates and queries the example', async () => {
    const { metrics, warehouse, dir } = await project();
    const at = ['--metrics', metrics, '--warehouse', warehouse];
    const list = await runCli(['metrics', 'list', ...at], { USER: 'carol' });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(
      /^net_revenue │ 1 +│ simple │ finance │ Revenue of the orders that were not refunded/m,
    );

    const table = await runCli(['metrics', 'query', 'net_revenue', ...QUERY, ...at]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toBe(
      [
        'period     │ country │ value  │ provisional',
        '───────────┼─────────┼────────┼────────────',
        '2026-03-01 │ CA      │ 0.00   │ false',
        '2026-03-01 │ US      │ 120.50 │ false',
        '2026-03-02 │ CA      │ 19.99  │ false',
        '2026-03-02 │ US      │ 42.25  │ false',
        '(4 rows)',
        '',
      ].join('\n'),
    );
    // in Los Angeles the 07:30 UTC order is on February 28th, the 23:10 UTC one on March 2nd
    const la = await runCli([
      'metrics',
      'query',
      'net_revenue',
      ...QUERY,
      '--tz',
      'America/Los_Angeles',
      '--json',
      ...at,
    ]);
    expect(la.code, la.stderr).toBe(0);
    const parsed = JSON.parse(la.stdout) as {
      version: number;
      timezone: string;
      warnings: string[];
      rows: unknown[];
    };
    expect(parsed).toMatchObject({
      metric: 'net_revenue',
      version: 1,
      timezone: 'America/Los_Angeles',
      warnings: [],
    });
    expect(parsed.rows).toEqual([
      { period: '2026-03-01', country: 'CA', value: '0.00', provisional: false },
      { period: '2026-03-01', country: 'US', value: '0.00', provisional: false },
      { period: '2026-03-02', country: 'CA', value: '19.99', provisional: false },
      { period: '2026-03-02', country: 'US', value: '42.25', provisional: false },
    ]);
    const csv = await runCli([
      'metrics',
      'query',
      'net_revenue',
      '--grain',
      'month',
      '--from',
      '2026-03-01',
      '--to',
      '2026-04-01',
      '--csv',
      ...at,
    ]);
    expect(csv.stdout).toBe('period,value,provisional\n2026-03-01,182.74,false\n');

    const show = await runCli(['metrics', 'show', 'net_revenue', '--json', ...at]);
    expect(JSON.parse(show.stdout)).toMatchObject({ name: 'net_revenue', version: 1, versions: [1] });
    const log = await runCli(['metrics', 'log', 'net_revenue', ...at]);
    expect(log.stdout).toMatch(
      /^net_revenue@1 {2}\d{4}-\d\d-\d\dT[\d:.]+Z {2}by carol\n {4}\(first version\)/,
    );
    const valid = await runCli(['metrics', 'validate', ...at]);
    expect(valid.code, valid.stderr).toBe(0);

    // the config file's metrics.dir, relative to the file
    writeFileSync(join(dir, 'tributary.yml'), `warehouse: ${warehouse}\nmetrics: { dir: metrics }\n`);
    const viaConfig = await runCli(['metrics', 'list', '--json', '--config', join(dir, 'tributary.yml')]);
    expect(viaConfig.code, viaConfig.stderr).toBe(0);
    expect(JSON.parse(viaConfig.stdout)).toMatchObject([{ name: 'net_revenue', version: 1 }]);
  });

  it('hostile flags exit 2 saying what is accepted', async () => {
    const { metrics, warehouse } = await project();
    const at = ['--metrics', metrics, '--warehouse', warehouse];
    const cases: [string[], RegExp][] = [
      [
        ['--by', 'country"; DROP TABLE orders; --'],
        /net_revenue cannot be broken down by .*\n {2}→ --by takes some of country, status/,
      ],
      [
        ['--grain', "day'); DROP TABLE orders; --"],
        /net_revenue is not served at grain .*\n {2}→ --grain takes one of hour, day/,
      ],
      [['--from', "2026-03-01'; DROP TABLE orders; --"], /--from ".*" is not an ISO 8601 date or local time/],
      [['--to', '2026-02-30'], /--to "2026-02-30" is not an ISO 8601 date/],
      [['--tz', "UTC' OR '1'='1"], /unknown time zone/],
    ];
    for (const [flags, message] of cases) {
      const base = ['--grain', 'day', '--from', '2026-03-01', '--to', '2026-03-03'];
      const result = await runCli(['metrics', 'query', 'net_revenue', ...base, ...flags, ...at]);
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toMatch(message);
    }
    const bad = await runCli([
      'metrics',
      'query',
      "net_revenue'; --",
      '--grain',
      'day',
      '--from',
      '2026-03-01',
      '--to',
      '2026-03-02',
      ...at,
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not a metric name/);
    // the orders are all still there
    const still = await runCli([
      'query',
      '--warehouse',
      warehouse,
      '--csv',
      'SELECT count(*) AS n FROM orders',
    ]);
    expect(still.stdout).toBe('n\n4\n');
  });

  it('a malformed definition, or a changed one under the same version, exits 2 naming the file', async () => {
    const { metrics, warehouse } = await project();
    const at = ['--metrics', metrics, '--warehouse', warehouse];
    expect((await runCli(['metrics', 'list', ...at])).code).toBe(0);
    writeFileSync(join(metrics, 'broken.yml'), 'name: broken\nmeasure: { agg: median }\n');
    const broken = await runCli(['metrics', 'list', ...at]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/broken\.yml: measure\.agg: Invalid option/);
    writeFileSync(
      join(metrics, 'broken.yml'),
      '{ name: broken, description: x, owner: y, version: 1, model: ordres, measure: { agg: count }, time: { column: created_at, semantics: event }, grains: [day] }\n',
    );
    const unknown = await runCli(['metrics', 'validate', ...at]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/broken\.yml: metric broken@1: unknown model "ordres"/);
    writeFileSync(
      join(metrics, 'net_revenue.yml'),
      'name: net_revenue\ndescription: all orders\nowner: finance\nversion: 1\nmodel: orders\nmeasure: { agg: sum, expr: total }\ntime: { column: created_at, semantics: event }\ngrains: [day]\n',
    );
    const changed = await runCli([
      'metrics',
      'query',
      'net_revenue',
      '--grain',
      'day',
      '--from',
      '2026-03-01',
      '--to',
      '2026-03-02',
      ...at,
    ]);
    expect(changed.code).toBe(2);
    expect(changed.stderr).toMatch(/net_revenue@1 changed since it was registered .* raise version: to 2/);
  });
});

describe('tributary metrics while tributary run holds the warehouse', () => {
  const cluster = useCluster({
    binaries: newestBinaries(),
    setup: (c) =>
      c.sql(`CREATE TABLE orders (id bigint PRIMARY KEY, country text NOT NULL, total numeric(12,2) NOT NULL,
          status text NOT NULL DEFAULT 'paid', created_at timestamptz NOT NULL DEFAULT now())`),
  });

  it('a malformed metrics directory stops run at start with exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-metrics-run-bad-'));
    writeFileSync(join(dir, 'bad.yml'), 'name: Bad Name\n');
    const run = await runCli([
      'run',
      '--source',
      cluster().url(),
      '--warehouse',
      join(dir, 'w.duckdb'),
      '--metrics',
      dir,
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/bad\.yml: name: a name of lower-case letters/);
  });

  it('queries and registers through the running process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-metrics-run-'));
    const warehouse = join(dir, 'w.duckdb');
    mkdirSync(join(dir, 'metrics'));
    copyFileSync(EXAMPLE, join(dir, 'metrics', 'net_revenue.yml'));
    const config = join(dir, 'tributary.yml');
    writeFileSync(
      config,
      `source: ${cluster().url()}\nwarehouse: ${warehouse}\nbatch: { delay: 20ms }\nmetrics: { dir: metrics }\n`,
    );
    const run = startCli(['run', '--config', config], { USER: 'runner' });
    try {
      await waitFor('the slot', () => /replication slot/.test(run.stderr()) || undefined);
      await cluster().sql(`INSERT INTO orders (id, country, total, created_at) VALUES
        (1, 'US', 100, '2026-03-01 10:00+00'), (2, 'CA', 50, '2026-03-01 11:00+00'), (3, 'US', 7, '2026-03-02 10:00+00')`);
      await cluster().sql(`UPDATE orders SET status = 'refunded' WHERE id = 2`);
      await waitForWarehouse(cluster());

      const month = [
        '--grain',
        'month',
        '--from',
        '2026-03-01',
        '--to',
        '2026-04-01',
        '--csv',
        '--config',
        config,
      ];
      const v1 = await runCli(['metrics', 'query', 'net_revenue', ...month]);
      expect(v1.code, v1.stderr).toBe(0);
      expect(v1.stdout).toBe('period,value,provisional\n2026-03-01,107.00,false\n');

      // a new version, brought by the command, is registered in the running process by the command's user
      writeFileSync(
        join(dir, 'metrics', 'net_revenue.yml'),
        `${readFileSync(EXAMPLE, 'utf8').replace('version: 1', 'version: 2').replace("filter: status <> 'refunded'", "filter: status <> 'refunded' AND total >= 10")}\nchange: { reason: small orders are tests }\n`,
      );
      const v2 = await runCli(['metrics', 'query', 'net_revenue', ...month], { USER: 'dana' });
      expect(v2.code, v2.stderr).toBe(0);
      expect(v2.stdout).toBe('period,value,provisional\n2026-03-01,100.00,false\n');
      const old = await runCli(['metrics', 'query', 'net_revenue@1', ...month]);
      expect(old.stdout).toBe('period,value,provisional\n2026-03-01,107.00,false\n');
      const log = await runCli(['metrics', 'log', 'net_revenue', '--json', '--config', config]);
      expect(JSON.parse(log.stdout)).toMatchObject([
        { version: 1, by: 'runner' },
        {
          version: 2,
          by: 'dana',
          reason: 'small orders are tests',
          changes: [{ path: 'filter' }, { path: 'version' }],
        },
      ]);
      // a bad request through the running process is still exit 2
      const hostile = await runCli([
        'metrics',
        'query',
        'net_revenue',
        '--by',
        'x; DROP TABLE orders',
        ...month,
      ]);
      expect(hostile.code).toBe(2);
      expect(hostile.stderr).toMatch(/cannot be broken down by/);
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
    }
    expect((await run.exited).code).toBe(0);
  });
});
