/**
 * Schema changes applied to a ClickHouse warehouse mid-stream, beyond the contract suite's add,
 * drop and retype: renames followed by attribute number (values kept, two columns swapped), a
 * key column renamed (the sorting key cannot be altered: the storage is rebuilt), an added
 * column's constant default for the rows stored before it, and a schema change delivered again
 * after a crash between its ALTERs and the record of the new shape.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ColumnSchema } from '../../../src/core/change-event.js';
import { ClickHouseWarehouse } from '../../../src/warehouse/clickhouse/clickhouse-warehouse.js';
import { freshClickHouse, type TestClickHouse } from '../../helpers/clickhouse.js';
import { committed, ins, move, txn, upd } from '../contract/items.js';
import { change, col, schemaItem } from '../items.js';

const at = (c: ColumnSchema, attnum: number): ColumnSchema => ({ ...c, attnum });

describe('ClickHouse schema changes mid-stream', () => {
  let ch: TestClickHouse;
  let wh: ClickHouseWarehouse;
  beforeEach(async () => {
    ch = await freshClickHouse('schema');
    wh = await ClickHouseWarehouse.open(ch.url);
  });
  afterEach(async () => {
    await wh.close();
    await ch.drop();
  });
  const rows = async (sql: string) => (await wh.query(sql)).rows;

  it('renames columns by attnum, swaps two, and renames the key column (a rebuild), keeping every value', async () => {
    const v1 = [at(col('id', 23, true), 1), at(col('a', 25), 2), at(col('b', 25), 3), at(col('doc', 25), 4)];
    await wh.apply([
      schemaItem(v1, 'v1'),
      ...txn(10n, ins({ id: 1, a: 'a1', b: 'b1', doc: 'D1' }), ins({ id: 2, a: 'a2', b: 'b2', doc: 'D2' })),
    ]);
    // a and b swap names; doc becomes body
    const v2 = [at(col('id', 23, true), 1), at(col('b', 25), 2), at(col('a', 25), 3), at(col('body', 25), 4)];
    await wh.apply([schemaItem(v2, 'v2'), ...txn(20n, upd({ id: 1, b: 'a1!', a: 'b1' }, ['body']))]);
    expect(await rows('SELECT id, a, b, body FROM items ORDER BY id')).toEqual([
      [1, 'b1', 'a1!', 'D1'],
      [2, 'b2', 'a2', 'D2'],
    ]);
    // the key column renamed id → item_id (and retyped to int8): rebuilt, still folding by it
    const v3 = [at(col('item_id', 20, true), 1), ...v2.slice(1)];
    await wh.apply([
      schemaItem(v3, 'v3'),
      ...txn(
        30n,
        (lsn, o) =>
          change('update', lsn, o, {
            row: { item_id: 2n, b: 'x', a: 'y' },
            pk: { item_id: 2n },
            unchanged: ['body'],
          }),
        (lsn, o) => change('delete', lsn, o, { pk: { item_id: 1n } }),
      ),
    ]);
    expect(await rows('SELECT item_id, a, b, body FROM items ORDER BY item_id')).toEqual([
      ['2', 'y', 'x', 'D2'],
    ]);
    const key = await ch.rows<{ sorting_key: string }>(
      "SELECT sorting_key FROM system.tables WHERE database = currentDatabase() AND name = '_tributary_rows_items'",
    );
    expect(key[0]?.sorting_key).toMatch(/^\(?item_id\)?$/);
  });

  it('gives rows stored before an added column its constant default, and moves rows after it', async () => {
    const v1 = [col('id', 23, true), col('v', 25)];
    await wh.apply([schemaItem(v1, 'v1'), ...txn(10n, ins({ id: 1, v: 'a' }), ins({ id: 2, v: 'b' }))]);
    const v2 = [
      ...v1,
      { ...col('status', 25), missingValue: "it's new" },
      { ...col('n', 20), missingValue: 2n ** 40n },
    ];
    await wh.apply([
      schemaItem(v2, 'v2'),
      ...txn(
        20n,
        ins({ id: 3, v: 'c', status: null, n: null }),
        move({ id: 2 }, { id: 4, v: 'b', status: 'm', n: 1n }),
      ),
    ]);
    expect(await rows('SELECT id, status, n FROM items ORDER BY id')).toEqual([
      [1, "it's new", '1099511627776'],
      [3, null, null],
      [4, 'm', '1'],
    ]);
  });

  it('applies a schema change again after a crash between its ALTERs and the record of its shape', async () => {
    const v1 = [col('id', 23, true), col('v', 25), col('gone', 25)];
    await wh.apply([schemaItem(v1, 'v1'), ...txn(10n, ins({ id: 1, v: 'a', gone: 'g' }))]);
    const v2 = [col('id', 23, true), col('v', 25), col('note', 25)];
    // the ALTERs of v2 run, the loader dies before it records the shape: run them by hand
    await ch.rows('ALTER TABLE `_tributary_rows_items` DROP COLUMN `gone`');
    await ch.rows('ALTER TABLE `_tributary_rows_items` ADD COLUMN `note` Nullable(String)');
    await wh.close();
    wh = await ClickHouseWarehouse.open(ch.url);
    expect(await wh.apply([schemaItem(v2, 'v2'), ...txn(20n, ins({ id: 2, v: 'b', note: 'n' }))])).toEqual(
      committed(20n),
    );
    expect(await rows('SELECT * EXCEPT _tributary_synced_at FROM items ORDER BY id')).toEqual([
      [1, 'a', null, '10'],
      [2, 'b', 'n', '20'],
    ]);
  });
});
