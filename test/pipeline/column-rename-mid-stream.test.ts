/**
 * Columns renamed at the source while `tributary run` streams: a plain rename, two columns
 * swapping names through a third, and a column dropped and added again under its old name.
 * The WAL's Relation message carries names only; the warehouse tells a rename from a drop and
 * an add by the columns' attribute numbers (read from the catalog), so stored rows keep their
 * values under the new name, and a re-added column starts empty as it does on the source. The
 * raw zone follows, so a replay still equals the live table.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { runArgs, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { expectRawZoneExact } from '../helpers/kill-run.js';
import { queryWarehouse, waitForWarehouse } from '../helpers/warehouse.js';

describe('columns renamed at the source mid-stream', () => {
  const cluster = useCluster({
    binaries: newestBinaries(),
    setup: (c) =>
      c.sql(`CREATE TABLE people (id int PRIMARY KEY, b text, c int, d text);
             INSERT INTO people VALUES (1, 'b1', 10, 'd1'), (2, 'b2', 20, 'd2'), (3, 'b3', 30, 'd3');`),
  });

  it('keeps stored values under the new names, empties a re-added column, and the raw zone replays', async () => {
    const warehouse = join(mkdtempSync(join(tmpdir(), 'tributary-rename-')), 'w.duckdb');
    const run = startCli(runArgs(cluster().url(), warehouse));
    try {
      await waitFor('the slot', () => /replication slot/.test(run.stderr()) || undefined);
      await cluster().sql(`UPDATE people SET c = 11 WHERE id = 1`);
      await waitForWarehouse(cluster(), { warehouse });
      await cluster().sql(`ALTER TABLE people RENAME COLUMN b TO name;
                           INSERT INTO people VALUES (4, 'b4', 40, 'd4');`);
      await waitForWarehouse(cluster(), { warehouse });
      await cluster().sql(`BEGIN;
                           ALTER TABLE people RENAME COLUMN name TO tmp;
                           ALTER TABLE people RENAME COLUMN d TO name;
                           ALTER TABLE people RENAME COLUMN tmp TO d;
                           COMMIT;
                           UPDATE people SET c = 22 WHERE id = 2;`);
      await waitForWarehouse(cluster(), { warehouse });
      await cluster().sql(`ALTER TABLE people DROP COLUMN c;
                           ALTER TABLE people ADD COLUMN c int;
                           UPDATE people SET c = 3 WHERE id = 3;`);
      await waitForWarehouse(cluster(), { warehouse });
    } finally {
      run.child.kill('SIGTERM');
    }
    const stopped = await run.exited;
    expect(stopped.code, stopped.stderr.slice(-3000)).toBe(0);
    const source = await cluster().sql('SELECT id, name, c, d FROM people ORDER BY id');
    expect(source).toEqual([
      { id: 1, name: 'd1', c: null, d: 'b1' },
      { id: 2, name: 'd2', c: null, d: 'b2' },
      { id: 3, name: 'd3', c: 3, d: 'b3' },
      { id: 4, name: 'd4', c: null, d: 'b4' },
    ]);
    expect(await queryWarehouse(warehouse, 'SELECT id, name, c, d FROM people ORDER BY id')).toEqual(source);
    await expectRawZoneExact(warehouse, 'people');
  });
});
