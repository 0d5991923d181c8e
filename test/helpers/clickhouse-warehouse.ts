/** A ClickHouse warehouse on a fresh database for each test of a file (chdb, test/helpers/clickhouse.ts). */
import { afterEach, beforeEach } from 'vitest';
import { ClickHouseWarehouse } from '../../src/warehouse/clickhouse/clickhouse-warehouse.js';
import { freshClickHouse, type TestClickHouse } from './clickhouse.js';

export interface WarehouseUnderTest {
  readonly ch: () => TestClickHouse;
  readonly wh: () => ClickHouseWarehouse;
  /** The rows of an analyst's query through the warehouse. */
  readonly rows: (sql: string) => Promise<readonly (readonly unknown[])[]>;
}

export function useClickHouseWarehouse(prefix: string): WarehouseUnderTest {
  let ch: TestClickHouse | null = null;
  let wh: ClickHouseWarehouse | null = null;
  beforeEach(async () => {
    ch = await freshClickHouse(prefix);
    wh = await ClickHouseWarehouse.open(ch.url);
  });
  afterEach(async () => {
    await wh?.close();
    await ch?.drop();
    wh = null;
    ch = null;
  });
  const warehouse = (): ClickHouseWarehouse => {
    if (!wh) throw new Error('no warehouse outside a test');
    return wh;
  };
  return {
    ch: () => {
      if (!ch) throw new Error('no ClickHouse outside a test');
      return ch;
    },
    wh: warehouse,
    rows: async (sql) => (await warehouse().query(sql)).rows,
  };
}
