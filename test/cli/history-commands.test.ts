/**
 * The raw zone's commands as a user types them, while `tributary run` holds the warehouse (they
 * go to the running process) and after it stopped (they open the file): `query --as-of`,
 * `replay`, `export raw`; and bad requests refused with exit 2, changing nothing.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { runCli, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { queryWarehouse, waitForWarehouse } from '../helpers/warehouse.js';

describe('query --as-of, replay and export raw on the command line', () => {
  const cluster = useCluster({
    binaries: newestBinaries(),
    setup: (c) => c.sql('CREATE TABLE orders (id bigint PRIMARY KEY, country text, total numeric(12,2))'),
  });

  it('answers as of a time, rebuilds the tables, exports Parquet, and refuses bad requests with exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-history-cli-'));
    const warehouse = join(dir, 'w.duckdb');
    const run = startCli(['run', '--source', cluster().url(), '--warehouse', warehouse]);
    await waitFor('the slot', () => /replication slot/.test(run.stderr()) || undefined);
    await cluster().sql(`INSERT INTO orders VALUES (1, 'US', 10.00), (2, 'US', 5.50), (3, 'CA', 1.25)`);
    const [{ t } = { t: '' }] = await cluster().sql<{ t: string }>('SELECT clock_timestamp()::text AS t');
    await cluster().sql(`UPDATE orders SET total = 99 WHERE id = 1`);
    await cluster().sql(`DELETE FROM orders WHERE id = 3`);
    await waitForWarehouse(cluster());

    const query = (sql: string, ...more: string[]) =>
      runCli(['query', '--warehouse', warehouse, '--json', ...more, sql]);
    const then = await query('SELECT id, total FROM orders ORDER BY id', '--as-of', t);
    expect(then.code, then.stderr).toBe(0);
    expect(
      then.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual([
      { id: '1', total: '10.00' },
      { id: '2', total: '5.50' },
      { id: '3', total: '1.25' },
    ]);
    for (const bad of [
      ['query', '--warehouse', warehouse, '--as-of', "2026-01-01'; DROP TABLE orders; --", 'SELECT 1'],
      ['replay', '--warehouse', warehouse, '--until', t],
      ['replay', '--warehouse', warehouse, '--into', 'main'],
      ['replay', '--warehouse', warehouse, '--into', '_tributary'],
      ['export', 'everything', '--to', join(dir, 'x'), '--warehouse', warehouse],
    ]) {
      const refused = await runCli(bad);
      expect(refused.code, `${bad.join(' ')}: ${refused.stderr}`).toBe(2);
      expect(refused.stderr).not.toMatch(/at .*\.js:\d+/);
    }

    // through the running process
    const replayed = await runCli(['replay', '--warehouse', warehouse, '--into', 'then', '--until', t]);
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(replayed.stdout).toMatch(/public\.orders → "then"\."orders": 3 rows/);
    const exported = await runCli(['export', 'raw', '--to', join(dir, 'parquet'), '--warehouse', warehouse]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toMatch(/orders: 5 rows/);
    expect(readdirSync(join(dir, 'parquet', 'table=orders'))[0]).toMatch(/^commit_date=\d{4}-\d{2}-\d{2}$/);

    run.child.kill('SIGTERM');
    expect((await run.exited).code).toBe(0);

    // and from the file, with nothing running
    expect(await queryWarehouse(warehouse, 'SELECT id, total FROM "then".orders ORDER BY id')).toEqual([
      { id: '1', total: '10.00' },
      { id: '2', total: '5.50' },
      { id: '3', total: '1.25' },
    ]);
    const local = await query('SELECT count(*) AS n FROM orders', '--as-of', t);
    expect(local.stdout.trim()).toBe('{"n":"3"}');
    const again = await runCli(['export', 'raw', '--to', join(dir, 'parquet'), '--warehouse', warehouse]);
    expect(again.stdout).toMatch(/orders: nothing new/);
    const inPlace = await runCli(['replay', '--warehouse', warehouse]);
    expect(inPlace.code, inPlace.stderr).toBe(0);
    expect(await queryWarehouse(warehouse, 'SELECT id, total FROM orders ORDER BY id')).toEqual([
      { id: '1', total: '99.00' },
      { id: '2', total: '5.50' },
    ]);
  });
});
