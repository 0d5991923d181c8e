/**
 * KNOWN BUG (left open), ClickHouse only: a column retyped at the source after the rows whose
 * text would not convert were deleted (or updated) — the usual clean-up before `ALTER … TYPE int
 * USING code::int` — stops the pipeline. The check before MODIFY COLUMN counts every storage row,
 * and ReplacingMergeTree still holds the superseded versions and the deleted row's own version
 * until a merge, so the retype is refused ("1 stored value(s) do not convert exactly"); MODIFY
 * itself would fail on them too. The fix: check live rows only (FINAL, not deleted), and rid the
 * storage of the other versions first (a rebuild from the live rows, or OPTIMIZE … FINAL with
 * cleanup). The DuckDB warehouse does it (test/warehouse/duckdb-warehouse.test.ts). Runs as
 * `it.fails` until then: remove `.fails` with the fix.
 */
import { describe, expect, it } from 'vitest';
import { useClickHouseWarehouse } from '../../helpers/clickhouse-warehouse.js';
import { change, col, commit, schemaItem } from '../items.js';

describe('ClickHouse retype after the source cleaned the column (known bug)', () => {
  const t = useClickHouseWarehouse('tributary_retype_clean');
  it.fails('retypes text to integer after the rows that were not numbers were deleted', async () => {
    await t
      .wh()
      .apply([
        schemaItem([col('id', 23, true), col('code', 25)], 'a'),
        change('insert', 1n, 0, { row: { id: 1, code: '12' } }),
        change('insert', 1n, 1, { row: { id: 2, code: 'n/a' } }),
        commit(1n),
      ]);
    await t.wh().apply([change('delete', 2n, 0, { pk: { id: 2 } }), commit(2n)]);
    await t
      .wh()
      .apply([
        schemaItem([col('id', 23, true), col('code', 23)], 'b'),
        change('insert', 3n, 0, { row: { id: 3, code: 7 } }),
        commit(3n),
      ]);
    expect(await t.rows('SELECT id, code FROM items ORDER BY id')).toEqual([
      [1, 12],
      [3, 7],
    ]);
  });
});
