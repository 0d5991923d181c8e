/**
 * A shop's orders, generated from a seed, in a fresh DuckDB warehouse: many rows near midnight
 * UTC and near midnight in Los Angeles (so days bucket differently in the two zones), a dense
 * stretch over the spring-forward weekend of 2026, and some rows that arrived days late
 * (`ingested_at` well after `ordered_at`).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MetricsStore } from '../../src/metrics/metrics.js';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { xorshift } from '../helpers/random.js';

export interface Order {
  readonly id: number;
  readonly customer: number;
  readonly country: string;
  /** In cents. */
  readonly cents: number;
  readonly status: 'paid' | 'refunded';
  readonly orderedAt: Date;
  readonly ingestedAt: Date;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export function generateOrders(seed: number, count: number): Order[] {
  const next = xorshift(seed);
  const unit = () => next() / 0x1_0000_0000;
  const start = Date.UTC(2025, 0, 1);
  const days = Math.round((Date.UTC(2026, 4, 1) - start) / DAY);
  const orders: Order[] = [];
  for (let id = 1; id <= count; id++) {
    const day = start + Math.floor(unit() * days) * DAY;
    const kind = unit();
    let at: number;
    if (kind < 0.35)
      at = day + 8 * HOUR + Math.round((unit() - 0.5) * 3 * HOUR); // near midnight in LA
    else if (kind < 0.6)
      at = day + Math.round((unit() - 0.5) * 2 * HOUR); // near midnight UTC
    else if (kind < 0.75)
      at = Date.UTC(2026, 2, 7) + Math.floor(unit() * 3 * DAY); // around the DST switch
    else at = day + Math.floor(unit() * DAY);
    at = Math.floor(at / 1000) * 1000;
    const late = unit() < 0.08;
    orders.push({
      id,
      customer: 1 + Math.floor(unit() * 150),
      country: ['US', 'CA', 'DE'][Math.floor(unit() * 3)] as string,
      cents: 100 + Math.floor(unit() * 50_000),
      status: unit() < 0.15 ? 'refunded' : 'paid',
      orderedAt: new Date(at),
      ingestedAt: new Date(at + (late ? DAY + Math.floor(unit() * 3 * DAY) : 5000)),
    });
  }
  return orders;
}

export interface Shop {
  readonly warehouse: DuckDBWarehouse;
  readonly store: MetricsStore;
  readonly path: string;
}

/** A warehouse file holding `orders` (in main, as a replicated public.orders). */
export async function openShop(orders: readonly Order[]): Promise<Shop> {
  const path = join(mkdtempSync(join(tmpdir(), 'tributary-metrics-')), 'shop.duckdb');
  const warehouse = await DuckDBWarehouse.open(path);
  const store = warehouse.metricsStore();
  await store.write(async (db) => {
    await db.run(`CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id INTEGER, country VARCHAR,
      total DECIMAL(12,2), status VARCHAR, ordered_at TIMESTAMPTZ, ingested_at TIMESTAMPTZ)`);
    for (let i = 0; i < orders.length; i += 500) {
      const values = orders
        .slice(i, i + 500)
        .map(
          (o) =>
            `(${o.id}, ${o.customer}, '${o.country}', ${(o.cents / 100).toFixed(2)}, '${o.status}', ` +
            `'${o.orderedAt.toISOString()}'::TIMESTAMPTZ, '${o.ingestedAt.toISOString()}'::TIMESTAMPTZ)`,
        )
        .join(', ');
      await db.run(`INSERT INTO orders VALUES ${values}`);
    }
  });
  return { warehouse, store, path };
}
