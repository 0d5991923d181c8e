/**
 * The Warehouse contract suite (warehouse-contract.ts) on ClickHouseWarehouse, on the ClickHouse
 * engine embedded by chdb (test/helpers/clickhouse.ts), a fresh database per test. A query
 * names a table by its view: the table's name for `public`, `schema.name` for another schema.
 */

import { ClickHouseWarehouse } from '../../../src/warehouse/clickhouse/clickhouse-warehouse.js';
import { quoteName } from '../../../src/warehouse/clickhouse/connect.js';
import { viewName } from '../../../src/warehouse/clickhouse/layout.js';
import { freshClickHouse } from '../../helpers/clickhouse.js';
import { describeWarehouseContract } from './warehouse-contract.js';

describeWarehouseContract(
  'ClickHouseWarehouse',
  async () => {
    const ch = await freshClickHouse('contract');
    let warehouse = await ClickHouseWarehouse.open(ch.url);
    return {
      warehouse,
      reopen: async () => {
        await warehouse.close();
        warehouse = await ClickHouseWarehouse.open(ch.url);
        return warehouse;
      },
      dialect: { table: (t) => quoteName(viewName(t)) },
      cleanup: async () => {
        try {
          await warehouse.close();
        } finally {
          await ch.drop();
        }
      },
    };
  },
  { knownViolations: [] },
);
