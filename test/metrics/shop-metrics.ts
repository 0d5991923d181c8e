/**
 * The metric definitions the shop's tests query (every type, every grain; shop.ts has the rows)
 * and the range each grain is queried over.
 */
import type { Grain } from '../../src/metrics/grains.js';

export const ALL: Grain[] = ['hour', 'day', 'week', 'month', 'quarter', 'year'];
const base = { owner: 'analytics', version: 1, timezone: 'UTC', dimensions: ['country'] };
const eventTime = { column: 'ordered_at', semantics: 'event' };

export const DEFINITIONS: Record<string, unknown>[] = [
  {
    ...base,
    name: 'revenue',
    description: 'paid revenue',
    model: 'orders',
    measure: { agg: 'sum', expr: 'total' },
    filter: "status <> 'refunded'",
    time: eventTime,
    grains: ALL,
  },
  {
    ...base,
    name: 'orders_count',
    description: 'orders placed',
    model: 'orders',
    measure: { agg: 'count' },
    time: eventTime,
    grains: ALL,
  },
  {
    ...base,
    name: 'buyers',
    description: 'distinct customers',
    model: 'orders',
    measure: { agg: 'count_distinct', expr: 'customer_id' },
    time: eventTime,
    grains: ALL,
  },
  {
    ...base,
    name: 'avg_order',
    description: 'average order',
    model: 'orders',
    measure: { agg: 'avg', expr: 'total' },
    time: eventTime,
    grains: ALL,
  },
  {
    ...base,
    name: 'biggest_order',
    description: 'largest order',
    model: 'orders',
    measure: { agg: 'max', expr: 'total' },
    time: eventTime,
    grains: ALL,
  },
  {
    ...base,
    name: 'refund_rate',
    type: 'ratio',
    description: 'refunded share of orders',
    model: 'orders',
    time: eventTime,
    numerator: { agg: 'count', filter: "status = 'refunded'" },
    denominator: { agg: 'count' },
    grains: ALL,
  },
  {
    ...base,
    name: 'revenue_per_buyer',
    type: 'ratio',
    description: 'revenue per distinct customer',
    numerator: { metric: 'revenue' },
    denominator: { metric: 'buyers' },
    grains: ALL,
  },
  {
    ...base,
    name: 'revenue_7d',
    type: 'cumulative',
    description: 'revenue over the trailing 7 days',
    model: 'orders',
    measure: { agg: 'sum', expr: 'total' },
    filter: "status <> 'refunded'",
    time: eventTime,
    cumulative: { window: '7 days' },
    grains: ['hour', 'day', 'week', 'month'],
  },
  {
    ...base,
    name: 'buyers_mtd',
    type: 'cumulative',
    description: 'distinct customers month to date',
    model: 'orders',
    measure: { agg: 'count_distinct', expr: 'customer_id' },
    time: eventTime,
    cumulative: { to_date: 'month' },
    grains: ['hour', 'day', 'week', 'month'],
  },
  {
    ...base,
    name: 'revenue_yoy',
    type: 'derived',
    description: 'revenue growth against the same period a year before',
    inputs: [
      { metric: 'revenue', as: 'rev' },
      { metric: 'revenue', as: 'rev_ly', offset: '1 year' },
    ],
    expr: '(rev - rev_ly) / rev_ly',
    grains: ALL,
  },
  {
    ...base,
    name: 'refund_rate_mom',
    type: 'derived',
    description: 'refund rate against a month before, in points (an offset carried into a ratio)',
    inputs: [
      { metric: 'refund_rate', as: 'now' },
      { metric: 'refund_rate', as: 'before', offset: '1 month' },
    ],
    expr: '-(before - now) * 100',
    grains: ['day', 'week', 'month'],
  },
];

export interface Query {
  readonly grain: Grain;
  readonly from: string;
  readonly to: string;
}

/** The range each grain is queried over (from deliberately off the period's start). */
export const RANGES: Record<Grain, Query> = {
  hour: { grain: 'hour', from: '2026-03-07T20:00', to: '2026-03-09T06:30' },
  day: { grain: 'day', from: '2026-02-20', to: '2026-03-12' },
  week: { grain: 'week', from: '2026-01-07', to: '2026-03-30' },
  month: { grain: 'month', from: '2025-10-15', to: '2026-04-20' },
  quarter: { grain: 'quarter', from: '2025-02-01', to: '2026-04-01' },
  year: { grain: 'year', from: '2025-01-01', to: '2027-01-01' },
};
