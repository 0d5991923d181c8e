/**
 * The story the product promises: orders written to Postgres become rows in the DuckDB
 * warehouse, and the analyst's query runs there as written.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EACH_MAJOR, useCluster } from '../harness/use-cluster.js';
import { startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { queryWarehouse, waitForWarehouse } from '../helpers/warehouse.js';

describe.each(EACH_MAJOR)('seed story (%s)', (_label, binaries) => {
  const cluster = useCluster({
    binaries,
    setup: (c) =>
      c.sql(
        'CREATE TABLE orders (id bigint PRIMARY KEY, country text NOT NULL, total numeric(12,2) NOT NULL, status text NOT NULL)',
      ),
  });

  it('answers the analyst from the warehouse after inserts and an update', async () => {
    const warehouse = join(mkdtempSync(join(tmpdir(), 'tributary-seed-')), 'warehouse.duckdb');
    const run = startCli(['run', '--source', cluster().url(), '--warehouse', warehouse]);
    await waitFor('the slot', () => /replication slot/.test(run.stderr()) || undefined);
    await cluster().sql(`INSERT INTO orders VALUES (101, 'US', 120.50, 'paid'), (102, 'CA', 80.00, 'paid')`);
    await cluster().sql(`INSERT INTO orders VALUES (103, 'US', 42.25, 'paid')`);
    await cluster().sql(`UPDATE orders SET status = 'refunded' WHERE id = 102`);
    await waitForWarehouse(cluster());
    run.child.kill('SIGTERM');
    const stopped = await run.exited;
    expect(stopped.code, stopped.stderr).toBe(0);

    const answer = await queryWarehouse(
      warehouse,
      'SELECT country, SUM(total) AS total FROM orders GROUP BY country ORDER BY country',
    );
    expect(answer).toEqual([
      { country: 'CA', total: '80.00' },
      { country: 'US', total: '162.75' },
    ]);
    const rows = await queryWarehouse(
      warehouse,
      'SELECT id, status, _tributary_lsn IS NOT NULL AS has_lsn FROM orders ORDER BY id',
    );
    expect(rows).toEqual([
      { id: '101', status: 'paid', has_lsn: true },
      { id: '102', status: 'refunded', has_lsn: true },
      { id: '103', status: 'paid', has_lsn: true },
    ]);
  });
});
