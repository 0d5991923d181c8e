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
  {
    // A row stored by an earlier batch whose key an update changes, with a TOASTed column left
    // unchanged (Postgres sends it so: `UPDATE t SET id = id + 100`, test_decoding prints
    // `doc[text]:unchanged-toast-datum`), fails the batch in merge.ts ("moved to a new key keeping
    // unchanged TOASTed column(s) ..., which the warehouse cannot carry over yet"): the pipeline
    // stops where the contract says the row moves with its value. Reported, not fixed here.
    // A replayed batch's schema item (the feed puts its table's shape in every message, and
    // redelivers after a lost acknowledgement) is applied even though all its changes are at or
    // before the checkpoint: an older shape drops the columns added since, and their values are
    // lost for good (the changes that set them are skipped as replayed). Reported, not fixed here.
    // A key column retyped at the source (ALTER TABLE t ALTER id TYPE bigint) fails the batch:
    // DuckDB refuses ALTER COLUMN TYPE on a PRIMARY KEY column ("Cannot change the type of a
    // column that has a UNIQUE or PRIMARY KEY constraint specified", tables.ts retype).
    knownViolations: ['toast-kept-by-key-move', 'key-column-retyped'],
  },
);
