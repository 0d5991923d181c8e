/**
 * Metrics over what the warehouses themselves hold: the same stream (inserts, an update, a
 * delete and a re-insert of the same key, a batch delivered twice) applied to a DuckDBWarehouse
 * and to a ClickHouseWarehouse (views with FINAL over ReplacingMergeTree storage, on chdb), then
 * the same metric queries on both — `orders` (public) and `sales.orders` — give the same rows:
 * no duplicate from the replay, no deleted row, the updated value.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamItem } from '../../src/core/change-event.js';
import type { TableRef } from '../../src/core/table-ref.js';
import { Decimal, PgTimestamp, PgTimestampTz, type Value } from '../../src/core/values.js';
import { clickhouseMetricsEngine } from '../../src/metrics/clickhouse/clickhouse-engine.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { ClickHouseWarehouse } from '../../src/warehouse/clickhouse/clickhouse-warehouse.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { freshClickHouse, type TestClickHouse } from '../helpers/clickhouse.js';
import { del, ins, txn, upd } from '../warehouse/contract/items.js';
import { col, schemaItem } from '../warehouse/items.js';

const PUBLIC: TableRef = { schema: 'public', name: 'orders' };
const SALES: TableRef = { schema: 'sales', name: 'orders' };
const NUMERIC_12_2 = ((12 << 16) | 2) + 4;
const COLUMNS = [
  col('id', 20, true),
  col('country', 25),
  col('total', 1700, false, NUMERIC_12_2),
  col('created_at', 1184),
  col('created_local', 1114), // timestamp without time zone: taken as UTC by both
];

const at = (iso: string) => new PgTimestampTz(BigInt(Date.parse(iso)) * 1000n);
const order = (id: number, country: string, total: string, time: string): Record<string, Value> => ({
  id: BigInt(id),
  country,
  total: new Decimal(total),
  created_at: at(time),
  created_local: new PgTimestamp(BigInt(Date.parse(time)) * 1000n),
});

/** The table's schema, each table a relation of its own (its own oid). */
function schemaOf(table: TableRef, relationOid: number): StreamItem {
  const item = schemaItem(COLUMNS, `${table.schema}-v1`, table);
  return item.kind === 'schema' ? { kind: 'schema', schema: { ...item.schema, relationOid } } : item;
}

/** The table's stream, its commits at `base` + 0x100, 0x200, 0x300 (positions only grow along a stream). */
function stream(table: TableRef, relationOid: number, base: bigint): StreamItem[][] {
  return [
    [
      schemaOf(table, relationOid),
      ...txn(
        base + 0x100n,
        ins(order(1, 'US', '120.50', '2026-03-01T07:30:00Z'), table),
        ins(order(2, 'CA', '80.00', '2026-03-01T08:30:00Z'), table),
        ins(order(3, 'US', '42.25', '2026-03-02T12:00:00Z'), table),
        ins(order(4, 'CA', '19.99', '2026-03-02T23:10:00Z'), table),
      ),
    ],
    [
      ...txn(
        base + 0x200n,
        upd(order(2, 'CA', '85.10', '2026-03-01T08:30:00Z'), [], table),
        del({ id: 3n }, table),
      ),
      ...txn(base + 0x300n, ins(order(3, 'DE', '7.77', '2026-03-08T09:30:00Z'), table)),
    ],
  ];
}

const REVENUE = {
  description: 'revenue',
  owner: 'finance',
  version: 1,
  measure: { agg: 'sum', expr: 'total' },
  time: { column: 'created_at', semantics: 'event' },
  grains: ['hour', 'day', 'week', 'month'],
  dimensions: ['country'],
};
const FILES = [
  { file: 'revenue.yml', content: { ...REVENUE, name: 'revenue', model: 'orders' } },
  { file: 'sales_revenue.yml', content: { ...REVENUE, name: 'sales_revenue', model: 'sales.orders' } },
  {
    file: 'local.yml',
    content: {
      ...REVENUE,
      name: 'revenue_local',
      model: 'orders',
      time: { column: 'created_local', semantics: 'event' },
    },
  },
  {
    file: 'buyers.yml',
    content: { ...REVENUE, name: 'orders_placed', model: 'orders', measure: { agg: 'count' } },
  },
];

let ch: TestClickHouse;
let house: ClickHouseWarehouse;
let duck: DuckDBWarehouse;
let onDuckDB: Metrics;
let onClickHouse: Metrics;

beforeAll(async () => {
  ch = await freshClickHouse('both');
  house = await ClickHouseWarehouse.open(ch.url);
  duck = await DuckDBWarehouse.open(join(mkdtempSync(join(tmpdir(), 'tributary-both-')), 'w.duckdb'));
  for (const [i, table] of [PUBLIC, SALES].entries()) {
    const [first, second] = stream(table, 16_384 + i, BigInt(i) * 0x1000n) as [StreamItem[], StreamItem[]];
    for (const warehouse of [house, duck]) {
      await warehouse.apply(first);
      await warehouse.apply(second);
      await warehouse.apply(second); // delivered again: applied once
    }
  }
  onDuckDB = await Metrics.loadFiles(duck.metricsStore(), FILES, { user: 'test' });
  onClickHouse = await Metrics.loadFiles(clickhouseMetricsEngine(house.connection), FILES, { user: 'test' });
}, 120_000);

afterAll(async () => {
  await duck?.close();
  await house?.close();
  await ch?.drop();
});

const NOW = new Date('2026-06-01T00:00:00Z');

describe('the same metric answers over both warehouses', () => {
  it.each([
    ['revenue', 'day', 'UTC'],
    ['revenue', 'day', 'America/Los_Angeles'],
    ['revenue', 'hour', 'America/Los_Angeles'],
    ['sales_revenue', 'week', 'UTC'],
    ['orders_placed', 'month', 'Asia/Kolkata'],
    ['revenue_local', 'hour', 'America/Los_Angeles'],
    ['revenue_local', 'day', 'Asia/Kolkata'],
  ])('%s per %s in %s', async (metric, grain, tz) => {
    const request = { metric, grain, from: '2026-03-01', to: '2026-03-09', tz, by: ['country'] };
    const fromDuckDB = await onDuckDB.query(request, NOW);
    const fromClickHouse = await onClickHouse.query(request, NOW);
    expect(fromClickHouse.rows).toEqual(fromDuckDB.rows);
  });

  it('counts the live rows only: the update, the delete and the re-insert applied once', async () => {
    const request = { metric: 'revenue', grain: 'month', from: '2026-03-01', to: '2026-04-01', tz: 'UTC' };
    const result = await onClickHouse.query({ ...request, by: ['country'] }, NOW);
    expect(result.rows).toEqual([
      ['2026-03-01', 'CA', '105.09', false],
      ['2026-03-01', 'DE', '7.77', false],
      ['2026-03-01', 'US', '120.50', false],
    ]);
  });
});
