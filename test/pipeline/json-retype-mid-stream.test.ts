/**
 * A text column cleaned at the source (the rows that were not JSON deleted) and retyped to
 * jsonb while `tributary run` streams it. DuckDB cannot replay an `ALTER … TYPE JSON` with a
 * conversion from its WAL, so the warehouse rebuilds the table from its live rows
 * (tables.ts rebuildWithType); the run is then killed with SIGKILL before any checkpoint of the
 * DuckDB file, so the restart must replay the rebuild from DuckDB's WAL, and go on.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { killRightAfter } from '../helpers/kill-run.js';
import { queryWarehouse } from '../helpers/warehouse.js';

describe('a text column retyped to jsonb at the source mid-stream', () => {
  const cluster = useCluster({
    binaries: newestBinaries(),
    setup: (c) =>
      c.sql(`CREATE TABLE docs (id int PRIMARY KEY, body text);
             INSERT INTO docs VALUES (1, '{"a": 1}'), (2, 'not json'), (3, '[1,2]'), (4, NULL), (5, '{');`),
  });

  it('rebuilds the table as JSON, survives kill -9 right after, and keeps applying changes', async () => {
    const warehouse = join(mkdtempSync(join(tmpdir(), 'tributary-json-retype-')), 'w.duckdb');
    await killRightAfter(
      cluster(),
      warehouse,
      // the usual clean-up, then the retype; a change on either side of it in the same stream
      `UPDATE docs SET body = '{"a": 2}' WHERE id = 1;
       DELETE FROM docs WHERE id IN (2, 5);
       ALTER TABLE docs ALTER COLUMN body TYPE jsonb USING body::jsonb;
       INSERT INTO docs VALUES (10, '{"b": [true, null], "a": "x"}');
       UPDATE docs SET body = '{"c": 3}' WHERE id = 3;`,
      `UPDATE docs SET body = '"s"' WHERE id = 1;
       DELETE FROM docs WHERE id = 10;
       INSERT INTO docs VALUES (11, '[]');`,
    );
    const source = await cluster().sql<{ id: number; body: string | null }>(
      'SELECT id, body::text AS body FROM docs ORDER BY id',
    );
    expect(source).toHaveLength(4);
    expect(
      await queryWarehouse(warehouse, 'SELECT id, body::VARCHAR AS body FROM docs ORDER BY docs.id'),
    ).toEqual(source);
    expect(
      await queryWarehouse(
        warehouse,
        `SELECT data_type AS type FROM information_schema.columns WHERE table_schema = 'main' AND table_name = 'docs' AND column_name = 'body'`,
      ),
    ).toEqual([{ type: 'JSON' }]);
  });
});
