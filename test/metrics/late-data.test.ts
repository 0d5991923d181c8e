/**
 * Event time against ingestion time on a row that arrived late: an order placed late on
 * March 1st that reached the warehouse on March 4th counts on March 1st by event time and on
 * March 4th by ingestion time. Event-time periods stay provisional for their late-data window
 * after they end; ingestion-time periods only until they end. Checked against literal numbers
 * and a hand-written SQL oracle.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/metrics/metrics.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';

const common = {
  description: 'revenue',
  owner: 'analytics',
  version: 1,
  model: 'orders',
  measure: { agg: 'sum', expr: 'total' },
  grains: ['day', 'hour'],
};
const DEFINITIONS = [
  { ...common, name: 'by_order_time', time: { column: 'ordered_at', semantics: 'event' }, late: '2d' },
  { ...common, name: 'by_arrival', time: { column: 'ingested_at', semantics: 'ingestion' } },
];

let warehouse: DuckDBWarehouse;
let metrics: Metrics;
const NOW = new Date('2026-03-04T06:00:00Z');
const query = { grain: 'day', from: '2026-03-01', to: '2026-03-06' };

beforeAll(async () => {
  warehouse = await DuckDBWarehouse.open(join(mkdtempSync(join(tmpdir(), 'tributary-late-')), 'w.duckdb'));
  await warehouse.metricsStore().write(async (db) => {
    await db.run(
      'CREATE TABLE orders (id INTEGER, total DECIMAL(12,2), ordered_at TIMESTAMPTZ, ingested_at TIMESTAMPTZ)',
    );
    await db.run(`INSERT INTO orders VALUES
      (1, 10, '2026-03-01 10:00:00+00', '2026-03-01 10:00:05+00'),
      (2, 20, '2026-03-01 23:00:00+00', '2026-03-04 02:00:00+00'),  -- late: placed on the 1st, arrived on the 4th
      (3,  5, '2026-03-03 12:00:00+00', '2026-03-03 12:00:01+00')`);
  });
  metrics = await Metrics.loadFiles(
    warehouse.metricsStore(),
    DEFINITIONS.map((content) => ({ file: `${content.name}.yml`, content })),
    { user: 'test' },
  );
});

afterAll(async () => {
  await warehouse?.close();
});

/** The oracle: per day of `column`, written by hand. */
async function oracle(column: string): Promise<Map<string, number>> {
  const rows = await warehouse.metricsStore().read((db) =>
    db.rows(
      `SELECT strftime(CAST(${column} AT TIME ZONE 'UTC' AS DATE), '%Y-%m-%d'), sum(total)::DOUBLE FROM orders
        WHERE ${column} >= TIMESTAMPTZ '2026-03-01 00:00:00+00' AND ${column} < TIMESTAMPTZ '2026-03-06 00:00:00+00'
        GROUP BY 1`,
    ),
  );
  return new Map(rows.map((r) => [String(r[0]), Number(r[1])]));
}

describe('a late row: event time against ingestion time', () => {
  it('event time counts it on the day it happened; its window keeps recent days provisional', async () => {
    const result = await metrics.query({ metric: 'by_order_time', ...query }, NOW);
    expect(result.rows.map((r) => [r[0], Number(r[1]), r[2]])).toEqual([
      ['2026-03-01', 30, false], // ended 3 Mar 00:00 + 2 d late window = 4 Mar 00:00 < now
      ['2026-03-02', 0, true],
      ['2026-03-03', 5, true],
      ['2026-03-04', 0, true],
      ['2026-03-05', 0, true],
    ]);
    const sql = await oracle('ordered_at');
    for (const r of result.rows) expect(Number(r[1])).toBe(sql.get(String(r[0])) ?? 0);
  });

  it('ingestion time counts it on the day it arrived; only periods not yet ended are provisional', async () => {
    const result = await metrics.query({ metric: 'by_arrival', ...query }, NOW);
    expect(result.rows.map((r) => [r[0], Number(r[1]), r[2]])).toEqual([
      ['2026-03-01', 10, false],
      ['2026-03-02', 0, false],
      ['2026-03-03', 5, false],
      ['2026-03-04', 20, true],
      ['2026-03-05', 0, true],
    ]);
    const sql = await oracle('ingested_at');
    for (const r of result.rows) expect(Number(r[1])).toBe(sql.get(String(r[0])) ?? 0);
  });

  it('hour grain: the late row is in the 23:00 hour of March 1st by event time', async () => {
    const result = await metrics.query(
      { metric: 'by_order_time', grain: 'hour', from: '2026-03-01T22:00', to: '2026-03-02T00:00' },
      NOW,
    );
    expect(result.rows.map((r) => [r[0], Number(r[1])])).toEqual([
      ['2026-03-01T22:00', 0],
      ['2026-03-01T23:00', 20],
    ]);
  });
});
