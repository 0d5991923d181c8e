/** Analysts' queries read the warehouse; they can neither change it nor disturb the loader. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';

describe('read-only queries', () => {
  it('answers SELECT and refuses statements that would change the warehouse', async () => {
    const warehouse = await DuckDBWarehouse.open(
      join(mkdtempSync(join(tmpdir(), 'tributary-ro-')), 'w.duckdb'),
    );
    try {
      expect(await warehouse.query('SELECT 40 + 2 AS answer')).toEqual({ columns: ['answer'], rows: [[42]] });
      for (const sql of [
        'CREATE TABLE x (i int)',
        'INSERT INTO _tributary.checkpoint VALUES (1, 1, now())',
        'DROP SCHEMA _tributary CASCADE',
      ]) {
        await expect(warehouse.query(sql), sql).rejects.toMatchObject({ code: 'USAGE' });
      }
      await expect(warehouse.query('SELEC 1')).rejects.toMatchObject({ code: 'USAGE' });
      expect(await warehouse.checkpoint()).toBeNull();
    } finally {
      await warehouse.close();
    }
  });
});
