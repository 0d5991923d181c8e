/**
 * NULL arrays on ClickHouse (tables.ts, "presence flag"): ClickHouse has no Nullable(Array), so an
 * array column keeps NULL apart from `{}` by a flag beside it, and the view shows NULL for it.
 * Through every path that writes or moves an array column: inserts and TOAST carry-forward,
 * renames, drop and add again, added columns (with and without a default), a retype between
 * array types, a key rebuild, snapshot rows, tables without a key — and the retype between an
 * array and another type, refused.
 */
import { describe, expect, it } from 'vitest';
import type { ColumnSchema } from '../../../src/core/change-event.js';
import { snapshotVersion } from '../../../src/warehouse/clickhouse/layout.js';
import { useClickHouseWarehouse } from '../../helpers/clickhouse-warehouse.js';
import { del, delRow, ins, insRow, txn, upd } from '../contract/items.js';
import { col, keylessSchemaItem, schemaItem } from '../items.js';

const at = (c: ColumnSchema, attnum: number): ColumnSchema => ({ ...c, attnum });
const INT4_ARRAY = 1007;
const TEXT_ARRAY = 1009;
const INT8_ARRAY = 1016;

describe('NULL arrays in ClickHouse', () => {
  const { wh, rows } = useClickHouseWarehouse('nullarr');

  const v1 = [
    at(col('id', 23, true), 1),
    at(col('a', INT4_ARRAY), 2),
    at(col('t', TEXT_ARRAY), 3),
    at(col('n', 23), 4),
  ];

  it('reads NULL as NULL and {} as [], through updates that leave the array unsent', async () => {
    await wh().apply([
      schemaItem(v1, 'v1'),
      ...txn(
        10n,
        ins({ id: 1, a: null, t: null, n: 0 }),
        ins({ id: 2, a: [], t: [], n: 0 }),
        ins({ id: 3, a: [null], t: [null, ''], n: 0 }),
        ins({ id: 4, a: [1, 2], t: ['null', 'NULL'], n: 0 }),
      ),
    ]);
    const expected = [
      [1, null, null, 1],
      [2, [], [], 2],
      [3, [null], [null, ''], 3],
      [4, [1, 2], ['null', 'NULL'], 4],
    ];
    await wh().apply(txn(20n, ...[1, 2, 3, 4].map((id) => upd({ id, n: id }, ['a', 't']))));
    expect(await rows('SELECT id, a, t, n FROM items ORDER BY id')).toEqual(expected);
    expect(await rows('SELECT id FROM items WHERE a IS NULL ORDER BY id')).toEqual([[1]]);
    expect(await rows('SELECT id, length(a) FROM items ORDER BY id')).toEqual([
      [1, null],
      [2, '0'],
      [3, '1'],
      [4, '2'],
    ]);
    // an array set to NULL and back, a NULL array set to {}
    await wh().apply(txn(30n, upd({ id: 4, a: null, t: ['x'], n: 4 }), upd({ id: 1, a: [], t: null, n: 1 })));
    await wh().apply(txn(40n, upd({ id: 4, n: 5 }, ['a', 't']), del({ id: 3 })));
    expect(await rows('SELECT id, a, t, n FROM items ORDER BY id')).toEqual([
      [1, [], null, 1],
      [2, [], [], 2],
      [4, null, ['x'], 5],
    ]);
  });

  it('keeps NULL apart through a rename, a drop and add again, added columns, an array retype and a key rebuild', async () => {
    await wh().apply([
      schemaItem(v1, 'v1'),
      ...txn(10n, ins({ id: 1, a: null, t: ['x'], n: 1 }), ins({ id: 2, a: [5], t: null, n: 2 })),
    ]);
    // a → b (renamed), t dropped and added again under its name (another attnum), c added without
    // a default, d with one; the rows stored before read NULL, NULL, and the default
    const v2 = [
      at(col('id', 23, true), 1),
      at(col('b', INT4_ARRAY), 2),
      at(col('n', 23), 4),
      at(col('t', TEXT_ARRAY), 5),
      at(col('c', INT4_ARRAY), 6),
      { ...at(col('d', TEXT_ARRAY), 7), missingValue: ['dflt'] },
    ];
    await wh().apply([
      schemaItem(v2, 'v2'),
      ...txn(20n, ins({ id: 3, b: [], n: 3, t: [], c: null, d: null })),
    ]);
    expect(await rows('SELECT id, b, t, c, d FROM items ORDER BY id')).toEqual([
      [1, null, null, null, ['dflt']],
      [2, [5], null, null, ['dflt']],
      [3, [], [], null, null],
    ]);
    // b retyped int4[] → int8[]: values and NULLs kept
    const v3 = v2.map((c) => (c.name === 'b' ? { ...c, typeOid: INT8_ARRAY } : c));
    await wh().apply([schemaItem(v3, 'v3'), ...txn(30n, upd({ id: 3, n: 30 }, ['b', 't', 'c', 'd']))]);
    expect(await rows('SELECT id, b, n FROM items ORDER BY id')).toEqual([
      [1, null, 1],
      [2, ['5'], 2],
      [3, [], 30],
    ]);
    // the key column renamed: the storage is rebuilt, flags with it
    const v4 = [at(col('key', 23, true), 1), ...v3.slice(1)];
    await wh().apply([schemaItem(v4, 'v4'), ...txn(40n, upd({ key: 2, n: 40 }, ['b', 't', 'c', 'd']))]);
    expect(await rows('SELECT key, b, t, c, d, n FROM items ORDER BY key')).toEqual([
      [1, null, null, null, ['dflt'], 1],
      [2, ['5'], null, null, ['dflt'], 40],
      [3, [], [], null, null, 30],
    ]);
    // an array retype that would change a stored element is refused (checked element by element)
    await wh().apply(txn(45n, ins({ key: 8, b: [2n ** 40n], n: 8 })));
    const narrow = v4.map((c) => (c.name === 'b' ? { ...c, typeOid: INT4_ARRAY } : c));
    await expect(wh().apply([schemaItem(narrow, 'v4b'), ...txn(46n, del({ key: 8 }))])).rejects.toThrow(
      /items\.b: its type changed from Array\(Nullable\(Int64\)\) to Array\(Nullable\(Int32\)\), but 1 stored value\(s\) do not convert exactly/,
    );
    await wh().apply(txn(46n, del({ key: 8 })));
    // an array retyped to text (or back) is refused before anything is altered
    const v5 = v4.map((c) => (c.name === 'b' ? { ...c, typeOid: 25 } : c));
    await expect(
      wh().apply([schemaItem(v5, 'v5'), ...txn(50n, ins({ key: 9, b: '{1}', n: 9 }))]),
    ).rejects.toThrow(/items\.b: its type changed between an array and another type/);
    expect(await rows('SELECT key, b FROM items ORDER BY key')).toEqual([
      [1, null],
      [2, ['5']],
      [3, []],
    ]);
  });

  it('keeps NULL apart in snapshot rows and in a table without a primary key', async () => {
    const schema = schemaItem(v1, 'v1');
    await wh().apply([schema]);
    if (schema.kind !== 'schema') throw new Error('not a schema item');
    await wh().insertVersioned(
      schema.schema,
      [
        { id: 1, a: null, t: [], n: 1 },
        { id: 2, a: [], t: null, n: 2 },
      ],
      snapshotVersion(5n),
      'chunk-5',
    );
    expect(await rows('SELECT id, a, t FROM items ORDER BY id')).toEqual([
      [1, null, []],
      [2, [], null],
    ]);
    // a multiset: a copy with a NULL array and one with {} otherwise equal; deleting the NULL one
    // ends that copy, not the other
    const LOG = { schema: 'public', name: 'log' };
    await wh().apply([
      keylessSchemaItem([col('msg', 25), col('tags', TEXT_ARRAY)], 'l1', LOG),
      ...txn(
        10n,
        insRow(LOG, { msg: 'm', tags: null }),
        insRow(LOG, { msg: 'm', tags: [] }),
        insRow(LOG, { msg: 'm', tags: null }),
      ),
    ]);
    await wh().apply(txn(20n, delRow(LOG, { msg: 'm', tags: null })));
    expect(await rows('SELECT msg, tags FROM log ORDER BY tags IS NULL')).toEqual([
      ['m', []],
      ['m', null],
    ]);
    await wh().apply(txn(30n, delRow(LOG, { msg: 'm', tags: null })));
    await expect(wh().apply(txn(40n, delRow(LOG, { msg: 'm', tags: null })))).rejects.toThrow(
      /does not hold/,
    );
    expect(await rows('SELECT msg, tags FROM log')).toEqual([['m', []]]);
  });
});
