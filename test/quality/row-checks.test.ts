/**
 * Checks on tables the real pipeline replicates (Postgres → DuckDB): unique, not_null,
 * accepted_values and custom each catch a planted failure, keep a sample of the failing rows in
 * `_tributary.check_results`, and pass once the source is clean again. A relationships check
 * forgives an orphan while it is younger than its grace window (its parent may be on its way)
 * and fails on one older than that; the clock is passed in to judge "older" without sleeping.
 */
import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../src/quality/check-result.js';
import { ChecksSchema } from '../../src/quality/check-spec.js';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { type InProcessPipeline, startPipeline } from '../pipeline/in-process-pipeline.js';

const CHECKS = ChecksSchema.parse([
  { name: 'emails-unique', type: 'unique', table: 'customers', columns: ['email'] },
  { name: 'emails-present', type: 'not_null', table: 'public.customers', columns: ['email', 'tier'] },
  {
    name: 'order-states',
    type: 'accepted_values',
    table: 'orders',
    column: 'state',
    values: ['new', 'paid'],
  },
  { name: 'no-negative', type: 'custom', sql: 'SELECT id, total FROM orders WHERE total < 0 ORDER BY id;' },
]);

const byName = (results: CheckResult[]) => Object.fromEntries(results.map((r) => [r.name, r]));

async function stored(pipeline: InProcessPipeline, runId: string) {
  const result = await pipeline.warehouse.query(
    `SELECT check_name, status, sample::VARCHAR FROM _tributary.check_results WHERE run_id = '${runId}' ORDER BY check_name`,
  );
  return Object.fromEntries(
    result.rows.map((r) => [String(r[0]), { status: r[1], sample: JSON.parse(String(r[2])) as unknown[] }]),
  );
}

describe('row checks on replicated tables', () => {
  const cluster = useCluster({
    binaries: newestBinaries(),
    setup: (c) =>
      c.sql(`CREATE TABLE customers (id int PRIMARY KEY, email text, tier text);
             CREATE TABLE orders (id int PRIMARY KEY, customer_id int, state text, total numeric(10,2))`),
  });

  it('unique, not_null, accepted_values and custom catch planted failures and pass when clean', async () => {
    const pipeline = await startPipeline(cluster());
    try {
      await cluster().sql(`INSERT INTO customers VALUES (1, 'a@x', 'gold'), (2, 'b@x', 'free'), (3, NULL, 'free');
                           INSERT INTO orders VALUES (10, 1, 'new', 5.00), (11, 2, 'paid', 7.50)`);
      await cluster().sql(`UPDATE customers SET email = 'c@x' WHERE id = 3`);
      await pipeline.caughtUp();
      const clean = byName(await pipeline.warehouse.check(CHECKS));
      expect(Object.values(clean).map((r) => [r.name, r.status, r.message])).toEqual([
        ['emails-unique', 'pass', expect.any(String)],
        ['emails-present', 'pass', expect.any(String)],
        ['order-states', 'pass', expect.any(String)],
        ['no-negative', 'pass', expect.any(String)],
      ]);

      // plant one failure for each
      await cluster().sql(`INSERT INTO customers VALUES (4, 'a@x', 'gold'), (5, NULL, 'free'), (6, 'f@x', NULL);
                           INSERT INTO orders VALUES (12, 1, 'lost', 1.00), (13, 2, 'new', -3.00)`);
      await pipeline.caughtUp();
      const planted = await pipeline.warehouse.check(CHECKS);
      const failed = byName(planted);
      expect(failed['emails-unique']).toMatchObject({
        status: 'fail',
        observed: { failingRows: 2, duplicateKeys: 1 },
      });
      expect(failed['emails-unique']?.sample.map((r) => r.id)).toEqual([1, 4]);
      expect(failed['emails-present']).toMatchObject({ status: 'fail', observed: { failingRows: 2 } });
      expect(failed['emails-present']?.sample.map((r) => r.id).sort()).toEqual([5, 6]);
      expect(failed['order-states']).toMatchObject({ status: 'fail', observed: { failingRows: 1 } });
      expect(failed['order-states']?.sample).toEqual([expect.objectContaining({ id: 12, state: 'lost' })]);
      expect(failed['no-negative']).toMatchObject({ status: 'fail', observed: { failingRows: 1 } });
      expect(failed['no-negative']?.sample).toEqual([{ id: 13, total: '-3.00' }]);

      // the results and their samples are kept
      const kept = await stored(pipeline, planted[0]?.runId as string);
      expect(kept['no-negative']).toEqual({ status: 'fail', sample: [{ id: 13, total: '-3.00' }] });
      expect(kept['emails-unique']?.sample).toHaveLength(2);
      expect(kept['order-states']?.status).toBe('fail');

      // clean the source again
      await cluster().sql(`DELETE FROM customers WHERE id IN (4, 5, 6);
                           UPDATE orders SET state = 'new' WHERE id = 12; UPDATE orders SET total = 3 WHERE id = 13`);
      await pipeline.caughtUp();
      const again = await pipeline.warehouse.check(CHECKS);
      expect(again.map((r) => r.status)).toEqual(['pass', 'pass', 'pass', 'pass']);
      expect(again.every((r) => r.sample.length === 0)).toBe(true);
    } finally {
      await pipeline.stop();
    }
  });

  it('a custom check that writes, or a check on a missing table, is an error, not a run that stops', async () => {
    const pipeline = await startPipeline(cluster());
    try {
      await cluster().sql(`INSERT INTO orders VALUES (30, 1, 'new', 1)`);
      await pipeline.caughtUp();
      const results = await pipeline.warehouse.check(
        ChecksSchema.parse([
          { name: 'sneaky', type: 'custom', sql: 'DELETE FROM orders RETURNING *' },
          { name: 'gone', type: 'not_null', table: 'nowhere', columns: ['x'], severity: 'warn' },
          { name: 'fine', type: 'custom', sql: 'SELECT * FROM orders WHERE false' },
        ]),
      );
      expect(results.map((r) => [r.name, r.status])).toEqual([
        ['sneaky', 'error'],
        ['gone', 'error'],
        ['fine', 'pass'],
      ]);
      expect(results[0]?.message).toMatch(/one SELECT/);
      expect(results[1]?.message).toMatch(/no table public\.nowhere/);
      expect((await pipeline.rows('SELECT count(*) FROM orders'))[0]?.[0]).not.toBe('0');
    } finally {
      await pipeline.stop();
    }
  });

  it('relationships forgive a young orphan whose parent arrives, and fail an old one', async () => {
    const pipeline = await startPipeline(cluster());
    try {
      await cluster().sql('TRUNCATE orders, customers');
      const check = ChecksSchema.parse([
        {
          name: 'order-customer',
          type: 'relationships',
          table: 'orders',
          column: 'customer_id',
          to: 'customers',
          field: 'id',
          grace: '10m',
        },
      ]);
      await cluster().sql(`INSERT INTO customers VALUES (1, 'a@x', 'gold');
                           INSERT INTO orders VALUES (20, 1, 'new', 1), (21, 99, 'new', 1), (22, 2, 'new', 1),
                                                     (23, NULL, 'new', 1)`);
      await pipeline.caughtUp();
      // both orphans (21 → 99, 22 → 2) arrived just now: within the grace window
      const [young] = await pipeline.warehouse.check(check);
      expect(young).toMatchObject({ status: 'pass', observed: { failingRows: 0, forgiven: 2 } });

      // 22's parent arrives
      await cluster().sql(`INSERT INTO customers VALUES (2, 'b@x', 'free')`);
      await pipeline.caughtUp();
      const [arrived] = await pipeline.warehouse.check(check);
      expect(arrived).toMatchObject({ status: 'pass', observed: { failingRows: 0, forgiven: 1 } });

      // eleven minutes on, 21 is still an orphan: older than the grace window, it fails
      const later = () => new Date(Date.now() + 11 * 60_000);
      const [old] = await pipeline.warehouse.check(check, later);
      expect(old).toMatchObject({ status: 'fail', observed: { failingRows: 1, forgiven: 0 } });
      expect(old?.sample).toEqual([expect.objectContaining({ id: 21, customer_id: 99 })]);

      // without a grace window the orphan fails at once
      const strict = ChecksSchema.parse([{ ...check[0], grace: undefined, name: 'strict' }]);
      const [now] = await pipeline.warehouse.check(strict);
      expect(now).toMatchObject({ status: 'fail', observed: { failingRows: 1 } });
    } finally {
      await pipeline.stop();
    }
  });
});
