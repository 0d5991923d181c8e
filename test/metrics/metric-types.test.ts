/**
 * Every metric type at every grain, in UTC, in America/Los_Angeles and in Asia/Kolkata (a half-hour offset), against an oracle of
 * JavaScript arithmetic over the generated rows (oracle.ts): simple (sum, count, count_distinct,
 * avg, max), ratio (inline measures; metric references), cumulative (a trailing window; month to
 * date) and derived (year over year, with a period offset). Periods without rows are there (0
 * for sums and counts, null for avg), `--from` is rounded down to its period, `--to` is exclusive.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Grain } from '../../src/metrics/grains.js';
import { type MetricQueryResult, Metrics } from '../../src/metrics/metrics.js';
import { type Agg, add, aggregate, label, localOf, type Naive, naive, periods, trunc } from './oracle.js';
import { generateOrders, type Order, openShop, type Shop } from './shop.js';
import { DEFINITIONS, type Query, RANGES } from './shop-metrics.js';

type Row = Order & { readonly local: Naive };

interface OracleLeaf {
  readonly agg: Agg;
  readonly filter?: (o: Order) => boolean;
  readonly value?: (o: Order) => number;
  readonly window?: { readonly trailing: readonly [number, Grain] } | { readonly toDate: Grain };
}

const paid = (o: Order) => o.status !== 'refunded';
const money = (o: Order) => o.cents / 100;
const LEAVES: Record<string, OracleLeaf> = {
  revenue: { agg: 'sum', filter: paid, value: money },
  orders_count: { agg: 'count' },
  buyers: { agg: 'count_distinct', value: (o) => o.customer },
  avg_order: { agg: 'avg', value: money },
  biggest_order: { agg: 'max', value: money },
  refunded: { agg: 'count', filter: (o) => o.status === 'refunded' },
  revenue_7d: { agg: 'sum', filter: paid, value: money, window: { trailing: [7, 'day'] } },
  buyers_mtd: { agg: 'count_distinct', value: (o) => o.customer, window: { toDate: 'month' } },
};

function leafValue(
  rows: readonly Row[],
  leaf: OracleLeaf,
  p: Naive,
  country: string | null,
  q: Query,
  offset: readonly [number, Grain] | null,
): number | null {
  const at = offset ? trunc(q.grain, add(p, -offset[0], offset[1])) : p;
  const end = add(at, 1, q.grain);
  const w = leaf.window;
  const start = !w ? at : 'trailing' in w ? add(end, -w.trailing[0], w.trailing[1]) : trunc(w.toDate, at);
  const to = naive(q.to);
  const values = between(rows, start, end)
    .filter(
      (r) =>
        (offset || r.local < to) &&
        (country === null || r.country === country) &&
        (!leaf.filter || leaf.filter(r)),
    )
    .map((r) => (leaf.value ? leaf.value(r) : 1));
  return aggregate(leaf.agg, values);
}

/** The rows (sorted by local time) with start <= local < end. */
function between(rows: readonly Row[], start: Naive, end: Naive): readonly Row[] {
  const first = (t: Naive) => {
    let lo = 0;
    let hi = rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((rows[mid] as Row).local < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  return rows.slice(first(start), first(end));
}

const rowsByZone = new Map<string, Row[]>();

function rowsIn(zone: string): Row[] {
  let rows = rowsByZone.get(zone);
  if (!rows) {
    rows = orders.map((o) => ({ ...o, local: localOf(o.orderedAt, zone) })).sort((a, b) => a.local - b.local);
    rowsByZone.set(zone, rows);
  }
  return rows;
}

function expected(
  metric: string,
  rows: readonly Row[],
  p: Naive,
  country: string | null,
  q: Query,
): number | null {
  const leaf = (name: string, offset: readonly [number, Grain] | null = null) =>
    leafValue(rows, LEAVES[name] as OracleLeaf, p, country, q, offset);
  const divide = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? null : a / b);
  switch (metric) {
    case 'refund_rate':
      return divide(leaf('refunded'), leaf('orders_count'));
    case 'revenue_per_buyer':
      return divide(leaf('revenue'), leaf('buyers'));
    case 'revenue_yoy': {
      const rev = leaf('revenue');
      const ly = leaf('revenue', [1, 'year']);
      return rev === null || ly === null ? null : divide(rev - ly, ly);
    }
    case 'refund_rate_mom': {
      const now = divide(leaf('refunded'), leaf('orders_count'));
      const before = divide(leaf('refunded', [1, 'month']), leaf('orders_count', [1, 'month']));
      return now === null || before === null ? null : -(before - now) * 100;
    }
    default:
      return leaf(metric);
  }
}

function close(actual: unknown, want: number | null): boolean {
  if (want === null) return actual === null;
  if (actual === null || actual === undefined) return false;
  const got = Number(actual);
  return Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want));
}

const orders = generateOrders(20261121, 6000);
let shop: Shop;
let metrics: Metrics;

beforeAll(async () => {
  shop = await openShop(orders);
  metrics = await Metrics.loadFiles(
    shop.store,
    DEFINITIONS.map((content) => ({ file: `metrics/${String(content.name)}.yml`, content })),
    { user: 'test' },
  );
});

afterAll(async () => {
  await shop?.warehouse.close();
});

const NOW = new Date('2030-01-01T00:00:00Z');

function check(result: MetricQueryResult, metric: string, q: Query, zone: string, byCountry: boolean): void {
  const rows = rowsIn(zone);
  const all = periods(q.grain, naive(q.from), naive(q.to));
  const countries = byCountry ? [...new Set(result.rows.map((r) => r[1] as string))].sort() : [null];
  const got = new Map(result.rows.map((r) => [`${r[0]}|${byCountry ? r[1] : ''}`, r[byCountry ? 2 : 1]]));
  // every period for every combination returned, each with the oracle's value
  expect(result.rows.length).toBe(all.length * countries.length);
  for (const country of countries)
    for (const p of all) {
      const key = `${label(q.grain, p)}|${country ?? ''}`;
      const want = expected(metric, rows, p, country, q);
      expect(got.has(key), `${metric} ${zone} ${key} missing`).toBe(true);
      expect(
        close(got.get(key), want),
        `${metric} ${zone} ${key}: got ${String(got.get(key))}, want ${want}`,
      ).toBe(true);
    }
  if (byCountry) {
    // a country with a value somewhere in the range is not left out
    for (const country of ['US', 'CA', 'DE'])
      if (all.some((p) => (expected(metric, rows, p, country, q) ?? 0) !== 0))
        expect(countries).toContain(country);
  }
}

const METRICS = DEFINITIONS.map((d) => ({ name: String(d.name), grains: d.grains as Grain[] }));

describe.each(['UTC', 'America/Los_Angeles', 'Asia/Kolkata'])('metrics in %s against the oracle', (zone) => {
  for (const { name, grains } of METRICS)
    it.each(grains)(`${name} per %s, overall and by country`, async (grain) => {
      const q = RANGES[grain];
      const request = { metric: name, grain, from: q.from, to: q.to, tz: zone };
      check(await metrics.query(request, NOW), name, q, zone, false);
      check(await metrics.query({ ...request, by: ['country'] }, NOW), name, q, zone, true);
    });
});

describe('the zone decides the day', () => {
  it('UTC and Los Angeles put the same rows in different days', async () => {
    const q = { metric: 'revenue', grain: 'day', from: '2026-02-20', to: '2026-03-12' };
    const utc = await metrics.query({ ...q, tz: 'UTC' }, NOW);
    const la = await metrics.query({ ...q, tz: 'America/Los_Angeles' }, NOW);
    const differing = utc.rows.filter((r, i) => r[1] !== la.rows[i]?.[1]);
    expect(differing.length).toBeGreaterThan(10);
  });

  it("a metric's own timezone: is the default zone", async () => {
    const la = await Metrics.loadFiles(
      shop.store,
      [
        {
          file: 'la.yml',
          content: { ...DEFINITIONS[0], name: 'revenue_la', timezone: 'America/Los_Angeles' },
        },
      ],
      { user: 'test' },
    );
    const q = { grain: 'day', from: '2026-02-20', to: '2026-03-12' };
    const own = await la.query({ metric: 'revenue_la', ...q }, NOW);
    expect(own.timezone).toBe('America/Los_Angeles');
    expect(own.rows).toEqual(
      (await metrics.query({ metric: 'revenue', ...q, tz: 'America/Los_Angeles' }, NOW)).rows,
    );
  });
});
