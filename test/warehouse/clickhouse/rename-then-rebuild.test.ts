/**
 * A batch that renames a column after a retype of another, then a later batch that rebuilds the
 * storage (a key column retyped): the renamed column's values must survive in every row, also in
 * rows whose last change came before the rename. (Found by the pipeline test with 1 ms batches.)
 */
import { describe, expect, it } from 'vitest';
import type { ColumnSchema } from '../../../src/core/change-event.js';
import { ClickHouseWarehouse } from '../../../src/warehouse/clickhouse/clickhouse-warehouse.js';
import { freshClickHouse } from '../../helpers/clickhouse.js';
import { ins, txn, upd } from '../contract/items.js';
import { schemaItem } from '../items.js';

const c = (
  name: string,
  typeOid: number,
  attnum: number,
  isKey = false,
  typeModifier = -1,
): ColumnSchema => ({
  name,
  typeOid,
  typeModifier,
  isKey,
  attnum,
});
const NUMERIC = 1700;
const mod = (p: number, s: number) => ((p << 16) | s) + 4;

describe('ClickHouse: rename in one batch, storage rebuilt in the next', () => {
  it('keeps the renamed column of every row', async () => {
    const ch = await freshClickHouse('rename');
    const wh = await ClickHouseWarehouse.open(ch.url);
    try {
      const s1 = [
        c('id', 23, 1, true),
        c('a', 23, 2),
        c('v', 1043, 3),
        c('amount', NUMERIC, 4, false, mod(10, 2)),
        c('gone', 25, 5),
      ];
      await wh.apply([
        schemaItem(s1, 's1'),
        ...txn(
          100n,
          ins({ id: 1, a: 10, v: 'ten', amount: null, gone: 'g1' }),
          ins({ id: 3, a: 30, v: 'thirty', amount: null, gone: 'g3' }),
        ),
      ]);
      const s2 = s1.filter((x) => x.name !== 'gone');
      const s3 = [
        c('id', 23, 1, true),
        c('a', 20, 2),
        c('v', 1043, 3),
        c('amount', NUMERIC, 4, false, mod(14, 3)),
      ];
      const s4 = [
        c('id', 23, 1, true),
        c('a', 20, 2),
        c('label', 1043, 3),
        c('amount', NUMERIC, 4, false, mod(14, 3)),
      ];
      await wh.apply([
        schemaItem(s2, 's2'),
        ...txn(200n, upd({ id: 1, a: 11, v: 'ten', amount: null })),
        schemaItem(s3, 's3'),
        ...txn(300n, ins({ id: 4, a: 9_000_000_000n, v: 'big', amount: null })),
        schemaItem(s4, 's4'),
        ...txn(400n, upd({ id: 3, a: 30n, label: 'THIRTY', amount: null })),
      ]);
      expect(
        await ch.rows('SELECT id, label FROM evolving ORDER BY id'.replace('evolving', 'items')),
      ).toEqual([
        { id: 1, label: 'ten' },
        { id: 3, label: 'THIRTY' },
        { id: 4, label: 'big' },
      ]);
      const s5 = [
        c('id', 20, 1, true),
        c('a', 20, 2),
        c('label', 1043, 3),
        c('amount', NUMERIC, 4, false, mod(14, 3)),
      ];
      await wh.apply([
        schemaItem(s5, 's5'),
        ...txn(500n, ins({ id: 5_000_000_000n, a: 5n, label: 'five', amount: null })),
      ]);
      expect(await ch.rows('SELECT toString(id) AS id, label FROM items ORDER BY id')).toEqual([
        { id: '1', label: 'ten' },
        { id: '3', label: 'THIRTY' },
        { id: '4', label: 'big' },
        { id: '5000000000', label: 'five' },
      ]);
    } finally {
      await wh.close();
      await ch.drop();
    }
  });
});
