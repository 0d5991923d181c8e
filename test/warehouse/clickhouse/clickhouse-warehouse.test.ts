/**
 * ClickHouseWarehouse on the ClickHouse engine (chdb) where PeerDB-style ClickHouse targets go
 * wrong: unchanged TOAST values carried forward (never NULL), a key deleted and inserted again,
 * big numerics kept exactly, columns dropped at the source dropped here. Each test reads the
 * analyst's view and, where it tells something, the storage table as it is (without FINAL).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ColumnSchema } from '../../../src/core/change-event.js';
import { Decimal } from '../../../src/core/values.js';
import { ClickHouseWarehouse } from '../../../src/warehouse/clickhouse/clickhouse-warehouse.js';
import { freshClickHouse, type TestClickHouse } from '../../helpers/clickhouse.js';
import { committed, del, ins, txn, upd } from '../contract/items.js';
import { col, schemaItem } from '../items.js';

const numeric = (name: string, p: number, s: number): ColumnSchema =>
  col(name, 1700, false, ((p << 16) | s) + 4);
const STORAGE = '`_tributary_rows_items`';

describe('ClickHouseWarehouse', () => {
  let ch: TestClickHouse;
  let wh: ClickHouseWarehouse;
  beforeEach(async () => {
    ch = await freshClickHouse('wh');
    wh = await ClickHouseWarehouse.open(ch.url);
  });
  afterEach(async () => {
    await wh.close();
    await ch.drop();
  });
  const view = async (sql: string) => (await wh.query(sql)).rows.map((r) => [...r]);

  it('keeps an unchanged TOASTed value through 100 updates of other columns, never writing a NULL for it', async () => {
    const big = `doc:${'é'.repeat(20_000)}`;
    await wh.apply([
      schemaItem([col('id', 23, true), col('v', 25), col('doc', 25)], 'docs-1'),
      ...txn(10n, ins({ id: 1, v: 'v0', doc: big }), ins({ id: 2, v: 'w0', doc: 'small' })),
    ]);
    for (let i = 1; i <= 100; i++) {
      await wh.apply(txn(BigInt(10 + i), upd({ id: 1, v: `v${i}` }, ['doc'])));
      expect(
        await view(`SELECT v, doc = concat('doc:', repeat('é', 20000)) FROM items WHERE id = 1`),
      ).toEqual([[`v${i}`, 1]]);
    }
    expect(await wh.checkpoint()).toEqual(committed(110n));
    // every version the storage holds for key 1 carries the full value (merges may have folded some)
    const stored = await ch.rows<{ versions: string; nulls: string; wrong: string }>(
      `SELECT count() AS versions, countIf(doc IS NULL) AS nulls, countIf(doc != {big:String}) AS wrong FROM ${STORAGE} WHERE id = 1`,
      { big },
    );
    expect(Number(stored[0]?.versions)).toBeGreaterThanOrEqual(1);
    expect(Number(stored[0]?.versions)).toBeLessThanOrEqual(101);
    expect(stored[0]).toMatchObject({ nulls: '0', wrong: '0' });
    expect(await view('SELECT id, v, length(doc) FROM items ORDER BY id')).toEqual([
      // length() is a UInt64: text, as every 64-bit integer a query returns
      [1, 'v100', String(Buffer.byteLength(big))],
      [2, 'w0', '5'],
    ]);
  });

  it('answers only queries that read', async () => {
    await wh.apply([
      schemaItem([col('id', 23, true), col('v', 25)], 'items-1'),
      ...txn(10n, ins({ id: 1, v: 'a' })),
    ]);
    for (const sql of [
      'DROP TABLE items',
      'TRUNCATE TABLE `_tributary_rows_items`',
      "INSERT INTO `_tributary_rows_items` (id, v, _tributary_lsn, _tributary_version, _tributary_deleted) VALUES (2, 'x', 1, 1, 0)",
      'ALTER TABLE `_tributary_rows_items` DELETE WHERE 1',
    ]) {
      await expect(wh.query(sql), sql).rejects.toThrow(/only queries that read/);
    }
    await expect(wh.query('SELECT nope FROM items')).rejects.toThrow(/the query failed/);
    expect((await wh.query('SELECT id, v FROM items')).rows).toEqual([[1, 'a']]);
    // the loader still writes: the flag held only for the query
    await wh.apply(txn(20n, ins({ id: 2, v: 'b' })));
    expect((await wh.query('SELECT count() FROM items')).rows).toEqual([['2']]);
  });

  it('deletes a key, inserts it again and deletes it again, across batches and inside one', async () => {
    const items = () => view('SELECT id, v, _tributary_lsn FROM items ORDER BY id');
    await wh.apply([
      schemaItem([col('id', 23, true), col('v', 25)], 'items-1'),
      ...txn(10n, ins({ id: 1, v: 'a' }), ins({ id: 2, v: 'b' })),
    ]);
    await wh.apply(txn(20n, del({ id: 1 })));
    expect(await items()).toEqual([[2, 'b', '10']]);
    await wh.apply(txn(30n, ins({ id: 1, v: 'again' })));
    expect(await items()).toEqual([
      [1, 'again', '30'],
      [2, 'b', '10'],
    ]);
    await wh.apply(txn(40n, del({ id: 1 })));
    expect(await items()).toEqual([[2, 'b', '10']]);
    // inside one batch: delete, insert, delete, insert, delete
    await wh.apply(
      txn(
        50n,
        del({ id: 2 }),
        ins({ id: 2, v: 'x' }),
        del({ id: 2 }),
        ins({ id: 2, v: 'y' }),
        del({ id: 2 }),
      ),
    );
    expect(await items()).toEqual([]);
    await wh.apply(txn(60n, ins({ id: 2, v: 'back' })));
    expect(await items()).toEqual([[2, 'back', '60']]);
    // the storage keeps the tombstones until merges drop them; the view never shows one
    const raw = await ch.rows<{ id: number; deleted: number; n: string }>(
      `SELECT id, _tributary_deleted AS deleted, count() AS n FROM ${STORAGE} GROUP BY id, deleted ORDER BY id, deleted`,
    );
    expect(raw.filter((r) => r.deleted === 1).length).toBeGreaterThan(0);
    await ch.rows(`OPTIMIZE TABLE ${STORAGE} FINAL`);
    expect(await items()).toEqual([[2, 'back', '60']]);
  });

  it('keeps a Decimal(76, 20) value and a numeric beyond 76 digits exactly', async () => {
    const wide = `${'9'.repeat(56)}.${'1'.repeat(19)}7`;
    const negative = `-${'1234567890'.repeat(5)}123456.00000000000000000001`;
    const huge = `${'8'.repeat(120)}.${'3'.repeat(30)}`;
    await wh.apply([
      schemaItem([col('id', 23, true), numeric('d', 76, 20), col('n', 1700)], 'nums-1'),
      ...txn(
        10n,
        ins({ id: 1, d: new Decimal(wide), n: new Decimal(huge) }),
        ins({ id: 2, d: new Decimal(negative), n: new Decimal('0.000000000000000000000000000000000000001') }),
      ),
    ]);
    expect(await view('SELECT id, toString(d), n FROM items ORDER BY id')).toEqual([
      [1, wide, huge],
      [2, negative, '0.000000000000000000000000000000000000001'],
    ]);
    // and as analysts read them: the decimal with its scale, as text (never a float)
    expect(await view('SELECT d FROM items WHERE id = 1')).toEqual([[wide]]);
    const types = await ch.rows<{ name: string; type: string }>(
      `SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = 'items' AND name IN ('d', 'n') ORDER BY name`,
    );
    expect(types).toEqual([
      { name: 'd', type: 'Nullable(Decimal(76, 20))' },
      { name: 'n', type: expect.stringMatching(/String/) },
    ]);
  });

  it('drops in ClickHouse the columns dropped at the source, and empties one dropped and added again', async () => {
    const v1 = [
      { ...col('id', 23, true), attnum: 1 },
      { ...col('a', 25), attnum: 2 },
      { ...col('b', 25), attnum: 3 },
      { ...col('c', 25), attnum: 4 },
    ];
    const v2 = [v1[0], v1[1], { ...col('c', 25), attnum: 5 }] as ColumnSchema[];
    await wh.apply([schemaItem(v1, 'v1'), ...txn(10n, ins({ id: 1, a: 'a1', b: 'b1', c: 'c1' }))]);
    await wh.apply([schemaItem(v2, 'v2'), ...txn(20n, ins({ id: 2, a: 'a2', c: 'c2' }))]);
    const columns = async (table: string) =>
      (
        await ch.rows<{ name: string }>(
          `SELECT name FROM system.columns WHERE database = currentDatabase() AND table = {t:String} ORDER BY position`,
          { t: table },
        )
      ).map((r) => r.name);
    expect(await columns('items')).toEqual(['id', 'a', 'c', '_tributary_lsn', '_tributary_synced_at']);
    expect(await columns('_tributary_rows_items')).not.toContain('b');
    await expect(wh.query('SELECT b FROM items')).rejects.toThrow();
    // c was dropped and added again at the source (another attnum): the old values are gone
    expect(await view('SELECT id, a, c FROM items ORDER BY id')).toEqual([
      [1, 'a1', null],
      [2, 'a2', 'c2'],
    ]);
    // the shape is kept: a reopened warehouse evolves from it
    await wh.close();
    wh = await ClickHouseWarehouse.open(ch.url);
    await wh.apply([
      schemaItem([v1[0], v1[1]] as ColumnSchema[], 'v3'),
      ...txn(30n, upd({ id: 1, a: 'a3' })),
    ]);
    expect(await columns('items')).toEqual(['id', 'a', '_tributary_lsn', '_tributary_synced_at']);
    expect(await view('SELECT id, a FROM items ORDER BY id')).toEqual([
      [1, 'a3'],
      [2, 'a2'],
    ]);
  });
});
