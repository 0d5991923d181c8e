/**
 * An analyst queries the warehouse while `tributary run` holds it (DuckDB admits one process
 * per file): the query goes to the running process. Its control endpoint is on loopback and
 * refuses requests without the token. `status` reports from the running process, and from
 * the file once it stopped.
 */
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { runCli, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { queryWarehouse, waitForWarehouse } from '../helpers/warehouse.js';

describe('query while running', () => {
  const cluster = useCluster({
    binaries: newestBinaries(),
    setup: (c) => c.sql('CREATE TABLE orders (id bigint PRIMARY KEY, country text, total numeric(12,2))'),
  });

  it('answers queries and status from the running pipeline, and refuses requests without the token', async () => {
    const warehouse = join(mkdtempSync(join(tmpdir(), 'tributary-live-')), 'w.duckdb');
    const run = startCli(['run', '--source', cluster().url(), '--warehouse', warehouse]);
    await waitFor('the slot', () => /replication slot/.test(run.stderr()) || undefined);
    await cluster().sql(`INSERT INTO orders VALUES (1, 'US', 10.00), (2, 'US', 5.50), (3, 'CA', 1.25)`);
    await waitForWarehouse(cluster());

    const answer = await queryWarehouse(
      warehouse,
      'SELECT country, SUM(total) AS total FROM orders GROUP BY country ORDER BY 1',
    );
    expect(answer).toEqual([
      { country: 'CA', total: '1.25' },
      { country: 'US', total: '15.50' },
    ]);
    const refused = await runCli(['query', '--warehouse', warehouse, 'DELETE FROM orders']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/only queries that read/);

    const status = await runCli(['status', '--json', '--warehouse', warehouse]);
    expect(status.code, status.stderr).toBe(0);
    const report = JSON.parse(status.stdout) as Record<string, unknown>;
    expect(report.running).toBe(true);
    expect(report.tables).toEqual([expect.objectContaining({ table: 'public.orders', rows: 3 })]);
    expect(typeof report.slotLagBytes).toBe('number');

    const controlPath = `${warehouse}.control.json`;
    expect(statSync(controlPath).mode & 0o077).toBe(0);
    const control = JSON.parse(readFileSync(controlPath, 'utf8')) as { port: number };
    const anonymous = await fetch(`http://127.0.0.1:${control.port}/status`);
    expect(anonymous.status).toBe(401);
    const wrong = await fetch(`http://127.0.0.1:${control.port}/status`, {
      headers: { authorization: 'Bearer 00' },
    });
    expect(wrong.status).toBe(401);

    run.child.kill('SIGTERM');
    expect((await run.exited).code).toBe(0);
    const offline = await runCli(['status', '--json', '--warehouse', warehouse]);
    expect(JSON.parse(offline.stdout)).toMatchObject({
      running: false,
      tables: [{ table: 'public.orders', rows: 3 }],
    });
  });
});
