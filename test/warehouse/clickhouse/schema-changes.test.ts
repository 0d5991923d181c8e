/**
 * Schema changes applied to a ClickHouse warehouse mid-stream, beyond the contract suite's add,
 * drop and retype: renames followed by attribute number (values kept, two columns swapped), a
 * key column renamed (the sorting key cannot be altered: the storage is rebuilt), an added
 * column's constant default for the rows stored before it, and a schema change delivered again
 * after a crash between its ALTERs and the record of the new shape.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ColumnSchema } from '../../../src/core/change-event.js';
import type { TableRef } from '../../../src/core/table-ref.js';
import { Decimal } from '../../../src/core/values.js';
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
      ...txn(
        10n,
        ins({ id: 1, a: 'a1', b: 'b1', doc: 'D1' }),
        ins({ id: 2, a: 'a2', b: 'b2', doc: 'D2' }),
        ins({ id: 3, a: 'a3', b: 'b3', doc: 'D3' }),
      ),
    ]);
    // a and b swap names; doc becomes body
    const v2 = [at(col('id', 23, true), 1), at(col('b', 25), 2), at(col('a', 25), 3), at(col('body', 25), 4)];
    await wh.apply([schemaItem(v2, 'v2'), ...txn(20n, upd({ id: 1, b: 'a1!', a: 'b1' }, ['body']))]);
    expect(await rows('SELECT id, a, b, body FROM items ORDER BY id')).toEqual([
      [1, 'b1', 'a1!', 'D1'],
      [2, 'b2', 'a2', 'D2'],
      [3, 'b3', 'a3', 'D3'],
    ]);
    // the key column renamed id → item_id (and retyped to int8): rebuilt, still folding by it
    // with a column added at the same time, whose constant default the rows stored before it get
    const v3 = [
      at(col('item_id', 20, true), 1),
      ...v2.slice(1),
      { ...at(col('extra', 25), 5), missingValue: 'x' },
    ];
    await wh.apply([
      schemaItem(v3, 'v3'),
      ...txn(
        30n,
        (lsn, o) =>
          change('update', lsn, o, {
            row: { item_id: 2n, b: 'x', a: 'y', extra: 'e' },
            pk: { item_id: 2n },
            unchanged: ['body'],
          }),
        (lsn, o) => change('delete', lsn, o, { pk: { item_id: 1n } }),
      ),
    ]);
    expect(await rows('SELECT item_id, a, b, body, extra FROM items ORDER BY item_id')).toEqual([
      ['2', 'y', 'x', 'D2', 'e'],
      ['3', 'b3', 'a3', 'D3', 'x'],
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

  it('swaps two columns exactly once however a crash cut the renames (flags with them)', async () => {
    const v1 = [
      at(col('id', 23, true), 1),
      at(col('a', 25), 2),
      at(col('b', 25), 3),
      at(col('tags', 1009), 4),
    ];
    // a ↔ b swapped, tags → labels
    const v2 = [
      at(col('id', 23, true), 1),
      at(col('b', 25), 2),
      at(col('a', 25), 3),
      at(col('labels', 1009), 4),
    ];
    const start = (table: TableRef, lsn: bigint) =>
      wh.apply([
        schemaItem(v1, 'v1', table),
        ...txn(
          lsn,
          ins({ id: 1, a: 'A1', b: 'B1', tags: null }, table),
          ins({ id: 2, a: 'A2', b: 'B2', tags: [] }, table),
        ),
      ]);
    const swap = (table: TableRef, lsn: bigint) => [
      schemaItem(v2, 'v2', table),
      ...txn(lsn, ins({ id: 3, b: 'A3', a: 'B3', labels: ['x'] }, table)),
    ];
    const swapped = async (table: TableRef) =>
      expect(await rows(`SELECT id, b, a, labels FROM ${table.name} ORDER BY id`)).toEqual([
        [1, 'A1', 'B1', null],
        [2, 'A2', 'B2', []],
        [3, 'A3', 'B3', ['x']],
      ]);
    const restart = async (options = {}) => {
      await wh.close();
      wh = await ClickHouseWarehouse.open(ch.url, options);
    };
    // 1. every rename done, the shape not recorded yet: applied again, nothing is renamed twice
    const whole = { schema: 'public', name: 'whole' };
    await start(whole, 10n);
    await restart({
      failpoint: (point: string) => {
        if (point === 'before-schema-record') throw new Error('crash');
      },
    });
    await expect(wh.apply(swap(whole, 20n))).rejects.toThrow('crash');
    await restart();
    expect(await wh.apply(swap(whole, 20n))).toEqual(committed(20n));
    await swapped(whole);
    // 2. cut half-way: a (and tags with its flag) at temporary names, b not moved yet
    const half = { schema: 'public', name: 'half' };
    await start(half, 30n);
    await ch.rows('ALTER TABLE `_tributary_rows_half` RENAME COLUMN `a` TO `_tributary_rename_0`');
    await ch.rows(
      'ALTER TABLE `_tributary_rows_half` RENAME COLUMN `tags` TO `_tributary_rename_2`, RENAME COLUMN `_tributary_set_tags` TO `_tributary_set__tributary_rename_2`',
    );
    await restart();
    expect(await wh.apply(swap(half, 40n))).toEqual(committed(40n));
    await swapped(half);
  });

  it('finishes a key rebuild interrupted after the tables were swapped, before the shape was recorded', async () => {
    const v1 = [at(col('id', 23, true), 1), at(col('v', 25), 2)];
    await wh.apply([schemaItem(v1, 'v1'), ...txn(10n, ins({ id: 1, v: 'a' }), ins({ id: 2, v: 'b' }))]);
    await wh.close();
    wh = await ClickHouseWarehouse.open(ch.url, {
      failpoint: (point) => {
        if (point === 'before-schema-record') throw new Error('crash');
      },
    });
    // the key renamed (and retyped): a second rebuild would read a column that is gone
    const v2 = [at(col('item_id', 20, true), 1), at(col('v', 25), 2)];
    const batch = [
      schemaItem(v2, 'v2'),
      ...txn(
        20n,
        (lsn, o) => change('insert', lsn, o, { row: { item_id: 3n, v: 'c' }, pk: { item_id: 3n } }),
        (lsn, o) => change('update', lsn, o, { row: { item_id: 1n, v: 'a2' }, pk: { item_id: 1n } }),
      ),
    ];
    await expect(wh.apply(batch)).rejects.toThrow('crash');
    await wh.close();
    wh = await ClickHouseWarehouse.open(ch.url);
    expect(await wh.apply(batch)).toEqual(committed(20n));
    expect(await rows('SELECT item_id, v FROM items ORDER BY item_id')).toEqual([
      ['1', 'a2'],
      ['2', 'b'],
      ['3', 'c'],
    ]);
  });

  it('refuses a retype that would change stored values, before altering anything', async () => {
    const numeric = (name: string, p: number, sc: number) => col(name, 1700, false, ((p << 16) | sc) + 4);
    const v1 = [col('id', 23, true), numeric('amount', 12, 2), col('code', 25)];
    await wh.apply([
      schemaItem(v1, 'v1'),
      ...txn(10n, ins({ id: 1, amount: new Decimal('123456.78'), code: '007' })),
    ]);
    // numeric(12,2) → numeric(12,1): 123456.78 would lose its last digit
    const narrower = [col('id', 23, true), numeric('amount', 12, 1), col('code', 25)];
    await expect(
      wh.apply([schemaItem(narrower, 'v2'), ...txn(20n, ins({ id: 2, amount: null, code: null }))]),
    ).rejects.toThrow(/amount: its type changed .* 1 stored value\(s\) do not convert exactly/);
    // text → int4: '007' would become 7
    const coded = [col('id', 23, true), numeric('amount', 12, 2), col('code', 23)];
    await expect(
      wh.apply([schemaItem(coded, 'v3'), ...txn(20n, ins({ id: 2, amount: null, code: null }))]),
    ).rejects.toThrow(/code: its type changed/);
    expect(await wh.checkpoint()).toEqual(committed(10n));
    expect(await rows('SELECT id, amount, code FROM items')).toEqual([[1, '123456.78', '007']]);
    // a widening converts
    const wider = [col('id', 23, true), numeric('amount', 20, 4), col('code', 25)];
    expect(
      await wh.apply([
        schemaItem(wider, 'v4'),
        ...txn(20n, ins({ id: 2, amount: new Decimal('1.2345'), code: 'x' })),
      ]),
    ).toEqual(committed(20n));
    expect(await rows('SELECT id, amount FROM items ORDER BY id')).toEqual([
      [1, '123456.7800'],
      [2, '1.2345'],
    ]);
  });
});
