/**
 * Table and column names that could collide or break SQL on ClickHouse: `public."a.b"` and
 * `a.b` (one view name each, layout.ts viewName), backslashes, backticks, quotes, spaces,
 * unicode — every table keeps its own rows under its own view.
 */
import { describe, expect, it } from 'vitest';
import type { TableRef } from '../../../src/core/table-ref.js';
import { quoteName } from '../../../src/warehouse/clickhouse/connect.js';
import { viewName } from '../../../src/warehouse/clickhouse/layout.js';
import { useClickHouseWarehouse } from '../../helpers/clickhouse-warehouse.js';
import { ins, txn, upd } from '../contract/items.js';
import { col, schemaItem } from '../items.js';

const TABLES: TableRef[] = [
  { schema: 'public', name: 'a.b' },
  { schema: 'a', name: 'b' },
  { schema: 'a.b', name: 'c' },
  { schema: 'a', name: 'b.c' },
  { schema: 'public', name: 'x\\y' },
  { schema: 'public', name: 'back`tick' },
  { schema: 'we"ird', name: "it's" },
  { schema: 'public', name: 'sp ace ünï' },
];

describe('hostile table names on ClickHouse', () => {
  const { wh } = useClickHouseWarehouse('names');

  it('gives every table its own view and rows', async () => {
    expect(new Set(TABLES.map(viewName)).size).toBe(TABLES.length);
    const columns = [col('id', 23, true), col('who"se `col`', 25), col('doc', 25)];
    for (const [i, table] of TABLES.entries()) {
      await wh().apply([
        schemaItem(columns, `v${i}`, table),
        ...txn(BigInt(10 + i), ins({ id: i, 'who"se `col`': `row of ${i}`, doc: `doc ${i}` }, table)),
      ]);
    }
    // a TOAST carry-forward reads each table's own stored row
    await wh().apply(
      txn(100n, ...TABLES.map((table, i) => upd({ id: i, 'who"se `col`': `again ${i}` }, ['doc'], table))),
    );
    for (const [i, table] of TABLES.entries()) {
      const { rows } = await wh().query(
        `SELECT id, \`who"se \\\`col\\\`\`, doc FROM ${quoteName(viewName(table))}`,
      );
      expect(rows, viewName(table)).toEqual([[i, `again ${i}`, `doc ${i}`]]);
    }
  });
});
