/**
 * The metrics layer gives the same answers on ClickHouse (chdb) as on DuckDB: the shop's orders
 * (shop.ts) in both warehouses, every metric of the shop (every type: simple sum, count,
 * count_distinct, avg, max; ratios; cumulative windows; derived with offsets) at every grain,
 * overall and by country, in UTC, America/Los_Angeles (DST, whole hours) and Asia/Kolkata (a
 * half-hour offset); late-data and ingestion-time metrics with `now` inside the data, so the
 * provisional flags differ period by period. Decimal sums must be the same text (exact), counts the
 * same integers; averages and ratios the same doubles up to rounding (1e-12).
 *
 * ClickHouse reads `orders` as a plain table in a fresh database: the warehouse's views read the same.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickhouseMetricsEngine } from '../../src/metrics/clickhouse/clickhouse-engine.js';
import type { Grain } from '../../src/metrics/grains.js';
import { type MetricQueryResult, Metrics } from '../../src/metrics/metrics.js';
import { freshClickHouse, type TestClickHouse } from '../helpers/clickhouse.js';
import { generateOrders, type Order, openShop, type Shop } from './shop.js';
import { DEFINITIONS, RANGES } from './shop-metrics.js';

const LATE_DEFINITIONS: Record<string, unknown>[] = [
  {
    name: 'revenue_late',
    description: 'revenue by order time, rows arriving up to 2 days late',
    owner: 'analytics',
    version: 1,
    model: 'orders',
    measure: { agg: 'sum', expr: 'total' },
    time: { column: 'ordered_at', semantics: 'event' },
    late: '2d',
    dimensions: ['country'],
    grains: ['hour', 'day', 'week', 'month'],
  },
  {
    name: 'orders_arrived',
    description: 'orders by arrival',
    owner: 'analytics',
    version: 1,
    model: 'orders',
    measure: { agg: 'count' },
    time: { column: 'ingested_at', semantics: 'ingestion' },
    dimensions: ['country'],
    grains: ['hour', 'day', 'week', 'month'],
  },
];

/** Windows over partial aggregates on ClickHouse: hour-aligned ends, avg and max, week to date. */
const WINDOW_DEFINITIONS: Record<string, unknown>[] = [
  {
    name: 'avg_order_36h',
    type: 'cumulative',
    description: 'average order over the trailing 36 hours',
    owner: 'analytics',
    version: 1,
    model: 'orders',
    measure: { agg: 'avg', expr: 'total' },
    time: { column: 'ordered_at', semantics: 'event' },
    cumulative: { window: '36 hours' },
    dimensions: ['country'],
    grains: ['hour', 'day'],
  },
  {
    name: 'revenue_with_fee',
    type: 'derived',
    description: 'decimal arithmetic: revenue plus a 2.5% fee and 0.99 flat, and its change on a week before',
    owner: 'analytics',
    version: 1,
    inputs: [
      { metric: 'revenue', as: 'rev' },
      { metric: 'revenue', as: 'before', offset: '1 week' },
      { metric: 'orders_count', as: 'n' },
    ],
    expr: 'rev * 1.025 + 0.99 * n - (rev - before) + -before * 2',
    dimensions: ['country'],
    grains: ['day', 'week'],
  },
  {
    name: 'biggest_wtd',
    type: 'cumulative',
    description: 'largest order week to date',
    owner: 'analytics',
    version: 1,
    model: 'orders',
    measure: { agg: 'max', expr: 'total' },
    filter: "status = 'paid'",
    time: { column: 'ordered_at', semantics: 'event' },
    cumulative: { to_date: 'week' },
    dimensions: ['country'],
    grains: ['hour', 'day', 'week'],
  },
];

const files = [...DEFINITIONS, ...LATE_DEFINITIONS, ...WINDOW_DEFINITIONS].map((content) => ({
  file: `metrics/${String(content.name)}.yml`,
  content,
}));

async function fillClickHouse(ch: TestClickHouse, orders: readonly Order[]): Promise<void> {
  const { client } = ch.connection;
  await client.command({
    query: `CREATE TABLE orders (id Int64, customer_id Int32, country String, total Decimal(12, 2), status String,
      ordered_at DateTime64(6, 'UTC'), ingested_at DateTime64(6, 'UTC')) ENGINE = MergeTree ORDER BY id`,
  });
  const stamp = (d: Date) => d.toISOString().replace('T', ' ').replace('Z', '');
  await client.insert({
    table: 'orders',
    format: 'JSONEachRow',
    values: orders.map((o) => ({
      id: o.id,
      customer_id: o.customer,
      country: o.country,
      total: (o.cents / 100).toFixed(2),
      status: o.status,
      ordered_at: stamp(o.orderedAt),
      ingested_at: stamp(o.ingestedAt),
    })),
  });
}

const orders = generateOrders(20261121, 6000);
let shop: Shop;
let ch: TestClickHouse;
let onDuckDB: Metrics;
let onClickHouse: Metrics;

beforeAll(async () => {
  shop = await openShop(orders);
  ch = await freshClickHouse('metrics');
  await fillClickHouse(ch, orders);
  onDuckDB = await Metrics.loadFiles(shop.store, files, { user: 'test' });
  onClickHouse = await Metrics.loadFiles(clickhouseMetricsEngine(ch.connection), files, { user: 'test' });
}, 120_000);

afterAll(async () => {
  await shop?.warehouse.close();
  await ch?.drop();
});

/** A value as both engines should agree on it: decimals and integers as exact text, doubles as numbers. */
function same(duck: unknown, house: unknown): boolean {
  if (duck === null || house === null) return duck === house;
  if (typeof duck === 'number' || typeof house === 'number') {
    const a = Number(duck);
    const b = Number(house);
    return Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(a));
  }
  return String(duck) === String(house);
}

function expectSame(duck: MetricQueryResult, house: MetricQueryResult, what: string): void {
  expect(house.columns).toEqual(duck.columns);
  expect(house.rows.length, what).toBe(duck.rows.length);
  const value = duck.columns.indexOf('value');
  duck.rows.forEach((row, i) => {
    const other = house.rows[i] as readonly unknown[];
    const label = `${what} row ${i}: DuckDB ${JSON.stringify(row)}, ClickHouse ${JSON.stringify(other)}`;
    row.forEach((cell, c) => {
      if (c === value) expect(same(cell, other[c]), label).toBe(true);
      else expect(String(other[c]), label).toBe(String(cell));
    });
  });
}

const FAR = new Date('2030-01-01T00:00:00Z');
/**
 * Every metric at every grain, in three zones (DST nights, a negative offset, a half-hour offset,
 * UTC): the long suite (`npm run test:long`). `npm test` keeps the checks below and
 * metrics-over-both-warehouses.test.ts (keeps `npm test` in its budget).
 */
const ZONES = process.env.TRIBUTARY_LONG ? ['UTC', 'America/Los_Angeles', 'Asia/Kolkata'] : [];

describe.each(ZONES)('the same answers on ClickHouse as on DuckDB in %s', (zone) => {
  for (const definition of [...DEFINITIONS, ...WINDOW_DEFINITIONS]) {
    const name = String(definition.name);
    it.each(definition.grains as Grain[])(`${name} per %s, overall and by country`, async (grain) => {
      const q = RANGES[grain];
      const request = { metric: name, grain, from: q.from, to: q.to, tz: zone };
      for (const by of [[], ['country']]) {
        const duck = await onDuckDB.query({ ...request, by }, FAR);
        const house = await onClickHouse.query({ ...request, by }, FAR);
        expect(duck.rows.length).toBeGreaterThan(0);
        expectSame(duck, house, `${name} ${grain} ${zone} by [${by.join()}]`);
      }
    });
  }
});

describe('a `to` that is not on a quarter hour (DuckDB reads row by row then)', () => {
  it.each(['revenue', 'avg_order', 'buyers_mtd', 'revenue_7d', 'revenue_yoy'])(
    '%s per hour',
    async (metric) => {
      for (const tz of ZONES) {
        const request = {
          metric,
          grain: 'hour',
          from: '2026-03-07T20:00',
          to: '2026-03-09T06:07',
          tz,
          by: ['country'],
        };
        expectSame(
          await onDuckDB.query(request, FAR),
          await onClickHouse.query(request, FAR),
          `${metric} ${tz}`,
        );
      }
    },
  );
});

describe('provisional periods agree while data may still arrive', () => {
  const NOW = new Date('2026-03-09T10:30:00Z');
  const RANGES_NOW = {
    hour: { from: '2026-03-06T20:00', to: '2026-03-09T18:00' },
    day: { from: '2026-02-25', to: '2026-03-12' },
    week: { from: '2026-02-01', to: '2026-03-30' },
    month: { from: '2025-12-01', to: '2026-05-01' },
  } as const;
  it.each(['hour', 'day', 'week', 'month'] as const)(
    'late-data and ingestion-time metrics per %s',
    async (grain) => {
      for (const metric of ['revenue_late', 'orders_arrived'])
        for (const tz of ['UTC', 'America/Los_Angeles']) {
          const request = { metric, grain, ...RANGES_NOW[grain], tz, by: ['country'] };
          const duck = await onDuckDB.query(request, NOW);
          const house = await onClickHouse.query(request, NOW);
          expect(duck.rows.some((r) => r.at(-1) === true)).toBe(true);
          expect(duck.rows.some((r) => r.at(-1) === false)).toBe(true);
          expectSame(duck, house, `${metric} ${grain} ${tz}`);
        }
    },
  );

  // an hour ending at 02:00 on the spring-forward night ends at a local time that does not exist
  it.each([
    ['in the spring-forward hour', '2026-03-08T09:30:00Z', '2026-03-07T20:00', '2026-03-08T06:00'],
    ['in the repeated fall-back hour', '2026-11-01T08:30:00Z', '2026-10-31T20:00', '2026-11-01T06:00'],
  ])('an hour %s in Los Angeles', async (_, now, from, to) => {
    const request = { metric: 'orders_arrived', grain: 'hour', from, to, tz: 'America/Los_Angeles' };
    const duck = await onDuckDB.query(request, new Date(now));
    const house = await onClickHouse.query(request, new Date(now));
    expectSame(duck, house, `orders_arrived at ${now}`);
  });
});
