/**
 * The DDL a ClickHouse warehouse runs with `cluster` set (tables.ts, state.ts), checked as TEXT
 * only: chdb is one process with no Keeper and no remote shards, so ON CLUSTER, the Replicated
 * engines and Distributed tables cannot be run here. What is checked: every statement goes
 * ON CLUSTER, the storage is ReplicatedReplacingMergeTree with the same version and deleted
 * columns, a Distributed table sharded by the key is what the view reads, and names stay quoted.
 */
import { describe, expect, it } from 'vitest';
import { hasPrimaryKey } from '../../../src/core/change-event.js';
import { bootstrapSql } from '../../../src/warehouse/clickhouse/state.js';
import {
  chTable,
  createStorageSql,
  createViewSql,
  evolveStorage,
} from '../../../src/warehouse/clickhouse/tables.js';
import { col, keylessSchemaItem, schemaItem } from '../items.js';

const context = { database: 'ana`lytics', cluster: 'main cluster' };
const orders = (() => {
  const item = schemaItem(
    [col('id', 23, true), col('total', 1700, false, ((12 << 16) | 2) + 4), col('country', 25)],
    'o-1',
    {
      schema: 'public',
      name: 'orders',
    },
  );
  if (item.kind !== 'schema') throw new Error('not a schema item');
  return item.schema;
})();

describe('ClickHouse DDL on a cluster (text only: not runnable on chdb)', () => {
  it('creates a replicated storage, a Distributed table sharded by the key, and a view over it, all ON CLUSTER', () => {
    expect(hasPrimaryKey(orders)).toBe(true);
    const table = chTable(orders, context);
    const [storage, distributed, ...rest] = createStorageSql(table, context);
    expect(rest).toEqual([]);
    expect(storage).toBe(
      "CREATE TABLE IF NOT EXISTS `ana\\`lytics`.`_tributary_rows_orders` ON CLUSTER `main cluster` (`id` Int32, `total` Nullable(Decimal(12, 2)), `country` Nullable(String), `_tributary_lsn` UInt64, `_tributary_synced_at` DateTime64(6, 'UTC') DEFAULT now64(6), `_tributary_version` UInt128, `_tributary_deleted` UInt8) ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', `_tributary_version`, `_tributary_deleted`) ORDER BY (`id`) SETTINGS fsync_after_insert = 1, fsync_part_directory = 1",
    );
    expect(distributed).toBe(
      'CREATE TABLE IF NOT EXISTS `ana\\`lytics`.`_tributary_dist_orders` ON CLUSTER `main cluster` AS `ana\\`lytics`.`_tributary_rows_orders` ENGINE = Distributed(`main cluster`, `ana\\`lytics`, `_tributary_rows_orders`, cityHash64(`id`))',
    );
    expect(table.target).toBe('_tributary_dist_orders');
    expect(createViewSql(table, context)).toBe(
      "CREATE OR REPLACE VIEW `ana\\`lytics`.`orders` ON CLUSTER `main cluster` AS SELECT _tributary_s.`id` AS `id`, _tributary_s.`total` AS `total`, _tributary_s.`country` AS `country`, _tributary_s.`_tributary_lsn` AS `_tributary_lsn`, _tributary_s.`_tributary_synced_at` AS `_tributary_synced_at` FROM `ana\\`lytics`.`_tributary_dist_orders` AS _tributary_s FINAL WHERE _tributary_s.`_tributary_deleted` = 0 AND _tributary_s.`_tributary_version` > (SELECT max(version) FROM `ana\\`lytics`.`_tributary_truncations` WHERE view = 'orders')",
    );
  });

  it('alters ON CLUSTER, and creates the state tables replicated', () => {
    const table = chTable(orders, context);
    const next = {
      ...orders,
      version: 'o-2',
      columns: [...orders.columns.filter((c) => c.name !== 'country'), col('note', 25)],
    };
    expect(evolveStorage(table, next, context).map((d) => d.sql)).toEqual([
      'ALTER TABLE `ana\\`lytics`.`_tributary_rows_orders` ON CLUSTER `main cluster` DROP COLUMN IF EXISTS `country`',
      'ALTER TABLE `ana\\`lytics`.`_tributary_rows_orders` ON CLUSTER `main cluster` ADD COLUMN IF NOT EXISTS `note` Nullable(String)',
    ]);
    const state = bootstrapSql(context);
    expect(state).toHaveLength(3);
    for (const sql of state) {
      expect(sql).toContain('ON CLUSTER `main cluster`');
      expect(sql).toMatch(
        /ENGINE = Replicated(Replacing)?MergeTree\('\/clickhouse\/tables\/\{shard\}\/\{database\}\/\{table\}', '\{replica\}'/,
      );
    }
  });

  it('shards a table without a primary key by its copies', () => {
    const item = keylessSchemaItem([col('seq', 23), col('msg', 25)], 'l-1', { schema: 'sales', name: 'log' });
    if (item.kind !== 'schema') throw new Error('not a schema item');
    const table = chTable(item.schema, context);
    const [storage, distributed] = createStorageSql(table, context);
    expect(storage).toContain('`seq` Nullable(Int32), `msg` Nullable(String)');
    expect(storage).toContain('ORDER BY (`_tributary_copy`, `_tributary_copy_seq`)');
    expect(distributed).toContain('`_tributary_dist_sales.log`');
    expect(distributed).toContain('cityHash64(`_tributary_copy`, `_tributary_copy_seq`)');
  });
});
