/** The Warehouse contract suite (warehouse-contract.ts) on DuckDBWarehouse, a file of its own per test. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { quoteIdentifier } from '../../../src/core/table-ref.js';
import { DuckDBWarehouse } from '../../../src/warehouse/duckdb/duckdb-warehouse.js';
import { describeWarehouseContract } from './warehouse-contract.js';

describeWarehouseContract(
  'DuckDBWarehouse',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tributary-contract-'));
    const path = join(dir, 'w.duckdb');
    let warehouse = await DuckDBWarehouse.open(path);
    return {
      warehouse,
      reopen: async () => {
        await warehouse.close();
        warehouse = await DuckDBWarehouse.open(path);
        return warehouse;
      },
      // Postgres' public schema is DuckDB's main; the other schemas keep their names
      dialect: {
        table: (t) =>
          `${quoteIdentifier(t.schema === 'public' ? 'main' : t.schema)}.${quoteIdentifier(t.name)}`,
      },
      cleanup: async () => {
        try {
          await warehouse.close();
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  },
  // no known violations: the three the suite found (a replayed older shape, a moved row's
  // unchanged TOAST, a retyped key column) are fixed; list one here as it.fails only with a reason
  { knownViolations: [] },
);
