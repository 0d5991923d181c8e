/**
 * A column retyped at the source after the rows whose text would not convert were deleted or
 * updated — the usual clean-up before `ALTER … TYPE int USING code::int`. ReplacingMergeTree
 * keeps the superseded versions and the deleted rows' versions until a merge, and MODIFY COLUMN
 * converts them too: the check looks at the rows a reader sees, and the others' values are made
 * convertible first (clickhouse-warehouse.ts #checkConverts). A live value that does not convert
 * is still refused.
 */
import { describe, expect, it } from 'vitest';
import { ClickHouseWarehouse } from '../../../src/warehouse/clickhouse/clickhouse-warehouse.js';
import { useClickHouseWarehouse } from '../../helpers/clickhouse-warehouse.js';
import { change, col, commit, fullChange, keylessSchemaItem, schemaItem } from '../items.js';

const TEXT = [col('id', 23, true), col('code', 25)];
const INT = [col('id', 23, true), col('code', 23)];

describe('ClickHouse retype after the source cleaned the column', () => {
  const t = useClickHouseWarehouse('tributary_retype_clean');
  const load = () =>
    t
      .wh()
      .apply([
        schemaItem(TEXT, 'a'),
        change('insert', 1n, 0, { row: { id: 1, code: '12' } }),
        change('insert', 1n, 1, { row: { id: 2, code: 'n/a' } }),
        change('insert', 1n, 2, { row: { id: 3, code: '-' } }),
        commit(1n),
      ]);

  /** The source's clean-up: the row that was no number deleted, the other updated to one. */
  const cleanUp = () =>
    t
      .wh()
      .apply([
        change('delete', 2n, 0, { pk: { id: 2 } }),
        change('update', 2n, 1, { row: { id: 3, code: '0' } }),
        commit(2n),
      ]);

  it('retypes text to integer after the rows that were not numbers were deleted or updated', async () => {
    await load();
    await cleanUp();
    await t
      .wh()
      .apply([schemaItem(INT, 'b'), change('insert', 3n, 0, { row: { id: 4, code: 7 } }), commit(3n)]);
    expect(await t.rows('SELECT id, code FROM items ORDER BY id')).toEqual([
      [1, 12],
      [3, 0],
      [4, 7],
    ]);
  });

  it('retypes on redelivery after a crash between converting the hidden versions and the DDL', async () => {
    await load();
    await cleanUp();
    const retype = [schemaItem(INT, 'b'), change('insert', 3n, 0, { row: { id: 4, code: 7 } }), commit(3n)];
    const crashing = await ClickHouseWarehouse.open(t.ch().url, {
      failpoint: (point) => {
        if (point === 'after-hidden-versions-converted') throw new Error(`crash at ${point}`);
      },
    });
    try {
      await expect(crashing.apply(retype)).rejects.toThrow(/crash at after-hidden-versions-converted/);
    } finally {
      await crashing.close();
    }
    // what a reader sees did not change: the batch did not land
    expect(await t.rows('SELECT id, code FROM items ORDER BY id')).toEqual([
      [1, '12'],
      [3, '0'],
    ]);
    // the restarted loader (a new instance) gets the batch again: nothing left to convert, it retypes
    const restarted = await ClickHouseWarehouse.open(t.ch().url);
    try {
      await restarted.apply(retype);
      expect((await restarted.query('SELECT id, code FROM items ORDER BY id')).rows).toEqual([
        [1, 12],
        [3, 0],
        [4, 7],
      ]);
      expect(await restarted.checkpoint()).toEqual({ commitLsn: 3n, ordinal: Number.MAX_SAFE_INTEGER });
    } finally {
      await restarted.close();
    }
  });

  it('still refuses a retype that a live value does not survive', async () => {
    await load();
    await t.wh().apply([change('delete', 2n, 0, { pk: { id: 2 } }), commit(2n)]);
    await expect(t.wh().apply([schemaItem(INT, 'b'), commit(3n)])).rejects.toThrow(
      /code: its type changed from .* but 1 stored value\(s\) do not convert exactly/,
    );
  });

  it('retypes a column of a table without a key after its copies that were not numbers were deleted', async () => {
    const cols = [col('code', 25), col('note', 25)];
    await t
      .wh()
      .apply([
        keylessSchemaItem(cols, 'a'),
        fullChange('insert', 1n, 0, { row: { code: '5', note: 'x' } }),
        fullChange('insert', 1n, 1, { row: { code: 'n/a', note: 'y' } }),
        commit(1n),
      ]);
    await t.wh().apply([fullChange('delete', 2n, 0, { before: { code: 'n/a', note: 'y' } }), commit(2n)]);
    await t.wh().apply([keylessSchemaItem([col('code', 23), col('note', 25)], 'b'), commit(3n)]);
    expect(await t.rows('SELECT code, note FROM items')).toEqual([[5, 'x']]);
  });
});
