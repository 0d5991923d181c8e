/**
 * `tributary query` and `tributary metrics` with `--warehouse chdb:…`, as a user types them: the
 * demo's orders in a ClickHouse database (filled by a separate process: chdb admits one data
 * directory per process, and this test process has its own), the analyst's query as a table,
 * JSON and CSV; a statement that writes refused by ClickHouse (exit 2) and the table untouched;
 * the shipped metric listed, queried (in UTC and Los Angeles: the same numbers the DuckDB CLI
 * test prints), logged and validated, its version registered once however often commands run.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../harness/postgres.js';
import { runCli } from '../helpers/cli.js';

const EXAMPLE = join(REPO_ROOT, 'examples', 'metrics', 'net_revenue.yml');
const CONNECT = join(REPO_ROOT, 'dist', 'src', 'warehouse', 'clickhouse', 'connect.js');

/** Runs `sql` statements on the chdb warehouse at `url` in a child process of its own. */
function fillInChild(url: string, statements: readonly string[]): Promise<void> {
  const script = `
    const { connectClickHouse, parseClickHouseUrl, checkReachable } = await import(${JSON.stringify(CONNECT)});
    const c = await connectClickHouse(parseClickHouseUrl(process.env.URL));
    await checkReachable(c, true);
    for (const query of JSON.parse(process.env.STATEMENTS)) await c.client.command({ query });
    await c.close();`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'inherit', 'pipe'],
      env: { ...process.env, URL: url, STATEMENTS: JSON.stringify(statements) },
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`filling failed: ${stderr}`))));
  });
}

async function project(): Promise<{ metrics: string; warehouse: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-ch-cli-'));
  const metrics = join(dir, 'metrics');
  mkdirSync(metrics);
  copyFileSync(EXAMPLE, join(metrics, 'net_revenue.yml'));
  const warehouse = `chdb://${join(dir, 'chdb')}?database=shop`;
  await fillInChild(warehouse, [
    `CREATE TABLE orders (id Int64, country String, total Decimal(12, 2), status String,
      created_at DateTime64(6, 'UTC')) ENGINE = MergeTree ORDER BY id`,
    `INSERT INTO orders VALUES (101, 'US', 120.50, 'paid', '2026-03-01 07:30:00'),
      (102, 'CA', 80.00, 'refunded', '2026-03-01 08:30:00'), (103, 'US', 42.25, 'paid', '2026-03-02 12:00:00'),
      (104, 'CA', 19.99, 'paid', '2026-03-02 23:10:00')`,
  ]);
  return { metrics, warehouse };
}

const QUERY = ['--by', 'country', '--grain', 'day', '--from', '2026-03-01', '--to', '2026-03-03'];

describe('tributary query and metrics on a ClickHouse warehouse', () => {
  it('answers the analyst, refuses writes, and serves the example metric', async () => {
    const { metrics, warehouse } = await project();
    const seed =
      'SELECT country, sum(total) AS revenue, count() AS orders FROM orders GROUP BY country ORDER BY country';

    const table = await runCli(['query', seed, '--warehouse', warehouse]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toBe(
      [
        'country │ revenue │ orders',
        '────────┼─────────┼───────',
        'CA      │ 99.99   │ 2',
        'US      │ 162.75  │ 2',
        '(2 rows)',
        '',
      ].join('\n'),
    );
    const json = await runCli(['query', seed, '--json', '--warehouse', warehouse]);
    expect(json.stdout).toBe(
      '{"country":"CA","revenue":"99.99","orders":"2"}\n{"country":"US","revenue":"162.75","orders":"2"}\n',
    );
    const csv = await runCli(['query', seed, '--csv', '--warehouse', warehouse]);
    expect(csv.stdout).toBe('country,revenue,orders\nCA,99.99,2\nUS,162.75,2\n');

    // ClickHouse itself refuses what would change the warehouse, one statement or several
    for (const write of [
      'DROP TABLE orders',
      "INSERT INTO orders VALUES (105, 'DE', 1, 'paid', now())",
      'SELECT 1; DROP TABLE orders',
      'SELECT 1 SETTINGS readonly = 0',
    ]) {
      const refused = await runCli(['query', write, '--warehouse', warehouse]);
      expect(refused.code, `${write}: ${refused.stdout}`).toBe(2);
      expect(refused.stderr).toMatch(/only queries that read the warehouse are allowed|the query failed/);
    }
    const still = await runCli([
      'query',
      'SELECT count() AS n FROM orders',
      '--csv',
      '--warehouse',
      warehouse,
    ]);
    expect(still.stdout).toBe('n\n4\n');
    const bad = await runCli(['query', 'SELECT nope FROM orders', '--warehouse', warehouse]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/the query failed: .*nope/);

    // the metrics layer: the same numbers as on DuckDB (test/cli/metrics-command.test.ts)
    const at = ['--metrics', metrics, '--warehouse', warehouse];
    const list = await runCli(['metrics', 'list', ...at], { USER: 'carol' });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^net_revenue │ 1 +│ simple │ finance │ Revenue of the orders/m);
    const days = await runCli(['metrics', 'query', 'net_revenue', ...QUERY, ...at]);
    expect(days.code, days.stderr).toBe(0);
    expect(days.stdout).toBe(
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
    expect(JSON.parse(la.stdout)).toMatchObject({
      metric: 'net_revenue',
      version: 1,
      timezone: 'America/Los_Angeles',
      warnings: [],
      rows: [
        { period: '2026-03-01', country: 'CA', value: '0.00', provisional: false },
        { period: '2026-03-01', country: 'US', value: '0.00', provisional: false },
        { period: '2026-03-02', country: 'CA', value: '19.99', provisional: false },
        { period: '2026-03-02', country: 'US', value: '42.25', provisional: false },
      ],
    });
    const month = await runCli([
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
    expect(month.stdout).toBe('period,value,provisional\n2026-03-01,182.74,false\n');
    const valid = await runCli(['metrics', 'validate', ...at]);
    expect(valid.code, valid.stderr).toBe(0);
    const badZone = await runCli([
      'metrics',
      'query',
      'net_revenue',
      ...QUERY,
      '--tz',
      'Mars/Olympus',
      ...at,
    ]);
    expect(badZone.code).toBe(2);
    expect(badZone.stderr).toMatch(/unknown time zone "Mars\/Olympus"/);

    // every command synced the registry; version 1 was registered once, by the first user
    const log = await runCli(['metrics', 'log', 'net_revenue', '--json', ...at], { USER: 'dave' });
    expect(log.code, log.stderr).toBe(0);
    expect(JSON.parse(log.stdout)).toMatchObject([{ name: 'net_revenue', version: 1, by: 'carol' }]);
    const stored = await runCli([
      'query',
      'SELECT name, version, count() AS n FROM _tributary_metric_versions GROUP BY name, version',
      '--csv',
      '--warehouse',
      warehouse,
    ]);
    expect(stored.stdout).toBe('name,version,n\nnet_revenue,1,1\n');
  }, 120_000);
});
