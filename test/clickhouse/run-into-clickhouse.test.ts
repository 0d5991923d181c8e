/**
 * `tributary run --warehouse chdb:…` as a user runs it: the first copy and the stream into
 * ClickHouse, `status` and `query` answered by the running process (chdb admits one process per
 * directory), SIGTERM exits 0, and then `query` reads the directory itself. Then kill -9 at
 * random moments under a write load: after every restart the views equal the source, with no
 * duplicate key visible.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { runCli, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { killRunUnderLoad } from '../helpers/kill-run.js';
import { queryWarehouse, waitForWarehouse } from '../helpers/warehouse.js';
import { ITEMS_DDL } from '../helpers/workload.js';

const chdbWarehouse = () => `chdb://${mkdtempSync(join(tmpdir(), 'tributary-chdb-run-'))}?database=shop`;

describe('tributary run into ClickHouse (chdb)', () => {
  const cluster = useCluster({
    binaries: newestBinaries(),
    setup: (c) =>
      c.sql(`CREATE TABLE orders (id bigint PRIMARY KEY, country text NOT NULL, total numeric(12,2) NOT NULL, status text NOT NULL);
             INSERT INTO orders VALUES (1, 'US', 10.00, 'paid'), (2, 'DE', 20.50, 'paid');
             ${ITEMS_DDL}`),
  });

  it('copies, streams, answers status and the analyst query while running and after', async () => {
    const warehouse = chdbWarehouse();
    const run = startCli([
      'run',
      '--source',
      cluster().url(),
      '--warehouse',
      warehouse,
      '--tables',
      'public.orders',
      '--no-http',
    ]);
    await waitFor('the slot', () => /replication slot/.test(run.stderr()) || undefined);
    await cluster().sql(`INSERT INTO orders VALUES (101, 'US', 120.50, 'paid'), (102, 'CA', 80.00, 'paid')`);
    await cluster().sql(`UPDATE orders SET status = 'refunded', total = 79.99 WHERE id = 102`);
    await cluster().sql('DELETE FROM orders WHERE id = 2');
    await waitForWarehouse(cluster(), { warehouse });
    const status = await runCli(['status', '--json', '--warehouse', warehouse]);
    expect(status.code, status.stderr).toBe(0);
    const report = JSON.parse(status.stdout) as {
      running: boolean;
      tables: { table: string; rows: number }[];
    };
    expect(report.running).toBe(true);
    expect(report.tables).toEqual([expect.objectContaining({ table: 'public.orders', rows: 3 })]);
    const query = 'SELECT country, SUM(total) AS total FROM orders GROUP BY country ORDER BY country';
    const expected = [
      { country: 'CA', total: '79.99' },
      { country: 'US', total: '130.50' },
    ];
    expect(await queryWarehouse(warehouse, query)).toEqual(expected);
    run.child.kill('SIGTERM');
    const stopped = await run.exited;
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stderr).not.toMatch(/password/i);
    expect(await queryWarehouse(warehouse, query)).toEqual(expected);
    const written = await runCli(['query', '--warehouse', warehouse, 'INSERT INTO orders VALUES (9)']);
    expect(written.code).toBe(2);
  });

  it('ends exact after kill -9 at random moments under load, no duplicate visible', () =>
    killRunUnderLoad(cluster, 4, { warehouse: chdbWarehouse(), rawZone: false }));
});
