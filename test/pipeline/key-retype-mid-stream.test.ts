/**
 * A table outgrowing its int4 key is migrated at the source (`ALTER TABLE … ALTER id TYPE
 * bigint`) while `tributary run` streams it. DuckDB cannot retype a PRIMARY KEY column in
 * place, so the warehouse rebuilds the table; the run is then killed with SIGKILL before any
 * checkpoint of the DuckDB file, so the restart must replay the rebuild from DuckDB's WAL, and
 * go on folding by the widened key (a row above 2^31, an update, a delete).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { killRightAfter } from '../helpers/kill-run.js';
import { queryWarehouse } from '../helpers/warehouse.js';

describe('a key column retyped at the source mid-stream', () => {
  const cluster = useCluster({
    binaries: newestBinaries(),
    setup: (c) =>
      c.sql(`CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL);
             INSERT INTO counters SELECT g, g FROM generate_series(1, 5) g;`),
  });

  it('rebuilds the table with the wider key, survives kill -9 right after, and keeps folding by it', async () => {
    const warehouse = join(mkdtempSync(join(tmpdir(), 'tributary-key-retype-')), 'w.duckdb');
    await killRightAfter(
      cluster(),
      warehouse,
      `UPDATE counters SET n = n + 10 WHERE id = 1;
       ALTER TABLE counters ALTER COLUMN id TYPE bigint;
       INSERT INTO counters VALUES (5000000000, 1);
       UPDATE counters SET n = 99 WHERE id = 2;`,
      `DELETE FROM counters WHERE id = 3;
       UPDATE counters SET n = 7 WHERE id = 5000000000;`,
    );
    const source = await cluster().sql<{ id: string; n: number }>(
      'SELECT id::text AS id, n FROM counters ORDER BY id',
    );
    expect(source).toHaveLength(5);
    expect(
      await queryWarehouse(warehouse, 'SELECT id::VARCHAR AS id, n FROM counters ORDER BY counters.id'),
    ).toEqual(source);
    expect(
      await queryWarehouse(
        warehouse,
        `SELECT data_type AS type FROM information_schema.columns WHERE table_schema = 'main' AND table_name = 'counters' AND column_name = 'id'`,
      ),
    ).toEqual([{ type: 'BIGINT' }]);
  });
});
