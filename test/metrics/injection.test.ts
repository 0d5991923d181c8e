/**
 * Nothing a caller sends reaches SQL: hostile dimension names, grains, filters, dates, zones and
 * metric names are refused with a USAGE error (exit 2 on the command line) saying what is
 * accepted, and the warehouse is untouched afterwards. The request object is what the HTTP API
 * passes in.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTributaryError } from '../../src/core/errors.js';
import { Metrics } from '../../src/metrics/metrics.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';

const REVENUE = {
  name: 'revenue',
  description: 'revenue',
  owner: 'finance',
  version: 1,
  model: 'orders',
  measure: { agg: 'sum', expr: 'total' },
  time: { column: 'ordered_at', semantics: 'event' },
  grains: ['day', 'month'],
  dimensions: ['country'],
};
const GOOD = { metric: 'revenue', grain: 'day', from: '2026-03-01', to: '2026-03-03' };

let warehouse: DuckDBWarehouse;
let metrics: Metrics;

beforeAll(async () => {
  warehouse = await DuckDBWarehouse.open(join(mkdtempSync(join(tmpdir(), 'tributary-inject-')), 'w.duckdb'));
  await warehouse.metricsStore().write(async (db) => {
    await db.run(
      'CREATE TABLE orders (id INTEGER, country VARCHAR, total DECIMAL(12,2), ordered_at TIMESTAMPTZ)',
    );
    await db.run(
      `INSERT INTO orders VALUES (1, 'US', 10, '2026-03-01 10:00:00+00'), (2, 'CA', 20, '2026-03-02 10:00:00+00')`,
    );
  });
  metrics = await Metrics.loadFiles(warehouse.metricsStore(), [{ file: 'revenue.yml', content: REVENUE }], {
    user: 't',
  });
});

afterAll(async () => {
  await warehouse?.close();
});

async function refusal(request: unknown): Promise<string> {
  try {
    await metrics.query(request);
  } catch (error) {
    if (isTributaryError(error, 'USAGE')) return error.message;
    throw error;
  }
  throw new Error(`not refused: ${JSON.stringify(request)}`);
}

describe('hostile requests are refused before SQL', () => {
  it('a good request answers (the refusals below are not for nothing)', async () => {
    const result = await metrics.query({ ...GOOD, by: ['country'] });
    expect(result.rows).toHaveLength(4);
  });

  it.each([
    'country; DROP TABLE orders',
    'country" , (SELECT 1) AS "x',
    '"country"',
    'Country',
    '1=1',
    'total',
    'period',
  ])('dimension %j', async (dim) => {
    expect(await refusal({ ...GOOD, by: [dim] })).toMatch(/^revenue cannot be broken down by ".*"$/);
  });

  it.each(["day'); DROP TABLE orders; --", 'DAY', 'minute', 'week', "month' || '", ''])(
    'grain %j',
    async (grain) => {
      expect(await refusal({ ...GOOD, grain })).toMatch(/^revenue is not served at grain /);
    },
  );

  it.each([
    "2026-03-01'; DROP TABLE orders; --",
    '2026-02-30',
    '2026-03-01T00:00Z',
    '2026-03-01 00:00',
    'now()',
    '2026-3-1',
    '20260301',
    '2026-03-01T25:00',
  ])('date %j', async (from) => {
    expect(await refusal({ ...GOOD, from })).toMatch(/^--from ".*" is not an ISO 8601 date or local time$/);
  });

  it.each(["UTC'; DROP TABLE orders; --", 'Mars/Olympus', "America/Los_Angeles' OR '1'='1"])(
    'zone %j',
    async (tz) => {
      expect(await refusal({ ...GOOD, tz })).toMatch(/^unknown time zone /);
    },
  );

  it('a filter (or any field a query does not take)', async () => {
    expect(await refusal({ ...GOOD, filter: '1=1; DROP TABLE orders' })).toMatch(/Unrecognized key|filter/);
    expect(await refusal({ ...GOOD, sql: 'SELECT 1' })).toMatch(/Unrecognized key|sql/);
  });

  it.each(["revenue'; DROP TABLE orders; --", 'revenue@1 OR 1=1', 'REVENUE', 'revenue@0'])(
    'metric %j',
    async (metric) => {
      expect(await refusal({ ...GOOD, metric })).toMatch(/not a metric name|no metric named/);
    },
  );

  it('a range backwards, or too long for its grain', async () => {
    expect(await refusal({ ...GOOD, from: '2026-03-03', to: '2026-03-01' })).toMatch(/is not before --to/);
    expect(await refusal({ ...GOOD, from: '1000-01-01', to: '9000-01-01' })).toMatch(
      /at most 100000 are served/,
    );
  });

  it('a body that is not a request', async () => {
    expect(await refusal('revenue')).toMatch(/a metric query needs/);
    expect(await refusal({ ...GOOD, by: 'country' })).toMatch(/by: /);
  });

  it('the warehouse is untouched', async () => {
    const rows = await warehouse.metricsStore().read((db) => db.rows('SELECT count(*) FROM orders'));
    expect(Number(rows[0]?.[0])).toBe(2);
  });
});
