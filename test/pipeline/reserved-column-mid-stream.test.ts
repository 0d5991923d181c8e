/**
 * A column named like Tributary's own (`_tributary_…`) added to a replicated table while `run`
 * runs: setup refuses one that exists at start, but one added later is left out — by the stream
 * and by a backfill alike — rather than stop the stream for good (the historic Relation message
 * keeps the column even after a rename). It stopped the run: DuckDB "Column with name
 * _tributary_lsn already exists", exit 1.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { runArgs, runCli, startCli } from '../helpers/cli.js';
import { queryWarehouse, waitForWarehouse } from '../helpers/warehouse.js';

describe('a _tributary_… column added while running', () => {
  const cluster = useCluster({
    binaries: newestBinaries(),
    setup: (c) =>
      c.sql(`CREATE TABLE items (id int PRIMARY KEY, v text);
             INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, 50) g`),
  });
  const dir = mkdtempSync(join(tmpdir(), 'tributary-reserved-'));
  const warehouse = join(dir, 'w.duckdb');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is left out by the stream and by a backfill; the other columns go on', async () => {
    const run = startCli(runArgs(cluster().url(), warehouse, '--no-http'));
    try {
      await waitForWarehouse(cluster(), { warehouse });
      await cluster().sql(`
        ALTER TABLE items ADD COLUMN _tributary_lsn int;
        INSERT INTO items VALUES (51, 'new', 5);
        UPDATE items SET v = 'changed', _tributary_lsn = 9 WHERE id <= 3;
        ALTER TABLE items ADD COLUMN w int;
        INSERT INTO items VALUES (52, 'later', 1, 52);
        DELETE FROM items WHERE id = 10;`);
      await waitForWarehouse(cluster());
      const backfill = await runCli(['backfill', 'public.items', '--wait', '--warehouse', warehouse]);
      expect(backfill.code, backfill.stderr).toBe(0);
      await cluster().sql(`UPDATE items SET w = id WHERE id > 45`);
      await waitForWarehouse(cluster());

      const source = await cluster().sql<{ r: string }>(
        "SELECT id || '|' || v || '|' || coalesce(w::text, '-') AS r FROM items ORDER BY id",
      );
      const copied = await queryWarehouse(
        warehouse,
        "SELECT CAST(id AS VARCHAR) || '|' || v || '|' || coalesce(CAST(w AS VARCHAR), '-') AS r FROM items ORDER BY id",
      );
      expect(copied.map((row) => String(row.r))).toEqual(source.map((row) => row.r));
      expect(copied.length).toBe(51);
      const lsn = await queryWarehouse(
        warehouse,
        "SELECT data_type FROM information_schema.columns WHERE table_schema = 'main' AND table_name = 'items' AND column_name = '_tributary_lsn'",
      );
      expect(lsn).toEqual([{ data_type: 'UBIGINT' }]);
      const verified = await runCli(['verify', '--warehouse', warehouse]);
      expect(verified.code, verified.stdout + verified.stderr).toBe(0);
      expect(run.child.exitCode).toBeNull();
      expect(run.stderr()).toMatch(/"columns":\["_tributary_lsn"\].*left out of the warehouse/);
    } finally {
      run.child.kill('SIGTERM');
      expect((await run.exited).code).toBe(0);
    }
  });
});
