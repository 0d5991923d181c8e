/**
 * `tributary source` and `tributary load` as two processes: changes written to the source reach
 * the warehouse, `tributary status` (answered by the running loader) reports the feed's stream,
 * its consumer and the consumer's lag, and `query` reads the warehouse meanwhile; both exit 0 on
 * SIGTERM.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { useNatsServer } from '../harness/use-nats-server.js';
import { type RunningCli, runCli, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { queryWarehouse } from '../helpers/warehouse.js';

describe('tributary source + tributary load', () => {
  const nats = useNatsServer();
  const cluster = useCluster({
    binaries: newestBinaries(),
    setup: (c) => c.sql('CREATE TABLE orders (id bigint PRIMARY KEY, country text, total numeric(12,2))'),
  });

  it('carry changes into the warehouse, and status shows the consumer lag', async () => {
    const warehouse = join(mkdtempSync(join(tmpdir(), 'tributary-split-')), 'w.duckdb');
    const source = startCli([
      'source',
      '--source',
      cluster().url(),
      '--feed',
      nats().url,
      '--slot',
      'shop',
      '--lanes',
      '2',
    ]);
    const loader = startCli([
      'load',
      '--feed',
      nats().url,
      '--slot',
      'shop',
      '--warehouse',
      warehouse,
      '--batch-delay',
      '20ms',
    ]);
    try {
      await waitFor('the slot', () => /replication slot/.test(source.stderr()) || undefined, 60_000);
      await cluster().sql(
        "INSERT INTO orders SELECT g, CASE WHEN g % 2 = 0 THEN 'US' ELSE 'CA' END, g * 1.25 FROM generate_series(1, 500) g",
      );
      await cluster().sql('UPDATE orders SET total = total + 1 WHERE id <= 10');
      await cluster().sql('DELETE FROM orders WHERE id > 490');
      const sql =
        'SELECT country, SUM(total)::VARCHAR AS total, count(*)::INTEGER AS n FROM orders GROUP BY country ORDER BY country';
      const expected = await cluster().sql<Record<string, unknown>>(
        'SELECT country, SUM(total)::text AS total, count(*)::int AS n FROM orders GROUP BY country ORDER BY country',
      );
      await waitFor(
        'the warehouse to follow',
        async () => {
          const rows = await queryWarehouse(warehouse, sql).catch(() => []);
          return JSON.stringify(rows) === JSON.stringify(expected) || undefined;
        },
        60_000,
      ).catch(async (error: unknown) => {
        expect(await queryWarehouse(warehouse, sql)).toEqual(expected);
        throw error;
      });

      const status = await runCli(['status', '--warehouse', warehouse, '--json']);
      expect(status.code, status.stderr).toBe(0);
      const report = JSON.parse(status.stdout) as {
        running: boolean;
        feed?: Record<string, unknown>;
      };
      expect(report.running).toBe(true);
      expect(report.feed).toEqual({
        stream: 'TRIBUTARY_shop',
        consumer: 'loader',
        pendingMessages: 0,
        unacknowledgedMessages: 0,
        lanes: 2,
        heldLanes: [0, 1],
        loaders: 1,
      });
      const text = await runCli(['status', '--warehouse', warehouse]);
      expect(text.stdout).toMatch(
        /feed: +JetStream stream TRIBUTARY_shop, consumer loader: 0 messages not yet delivered/,
      );
      expect(text.stdout).toMatch(/lanes: +2; this loader holds 0, 1 \(1 loader in the group\)/);
    } finally {
      await stopBoth(source, loader);
    }
  });

  it('copies the rows a table held before the feed, and backfills, through a loader of a feed of three lanes', async () => {
    // one table, so two lanes stay idle: the copy's rule waits for every lane, which only the
    // watermarks sent to every lane can move
    await cluster().sql('CREATE TABLE before_feed (id bigint PRIMARY KEY, note text)');
    await cluster().sql("INSERT INTO before_feed SELECT g, 'old ' || g FROM generate_series(1, 300) g");
    const warehouse = join(mkdtempSync(join(tmpdir(), 'tributary-split-')), 'w.duckdb');
    const common = ['--feed', nats().url, '--slot', 'old', '--publication', 'old'];
    const source = startCli(['source', '--source', cluster().url(), '--lanes', '3', ...common]);
    await waitFor('the slot', () => /replication slot/.test(source.stderr()) || undefined, 60_000);
    const loader = startCli([
      'load',
      '--source',
      cluster().url(),
      '--warehouse',
      warehouse,
      '--batch-delay',
      '20ms',
      ...common,
    ]);
    try {
      await cluster().sql("UPDATE before_feed SET note = 'new' WHERE id <= 5");
      const sql =
        "SELECT count(*)::INTEGER AS n, count(*) FILTER (WHERE note = 'new')::INTEGER AS changed FROM before_feed";
      await waitFor(
        'the rows from before the feed',
        async () => {
          const rows = await queryWarehouse(warehouse, sql).catch(() => []);
          return JSON.stringify(rows) === JSON.stringify([{ n: 300, changed: 5 }]) || undefined;
        },
        60_000,
      );
      const backfill = await runCli(['backfill', 'public.before_feed', '--warehouse', warehouse, '--wait']);
      expect(backfill.code, backfill.stderr).toBe(0);
      const status = JSON.parse((await runCli(['status', '--warehouse', warehouse, '--json'])).stdout) as {
        snapshotJobs?: { table: string; state: string }[];
        feed?: { lanes: number; heldLanes: number[] };
      };
      expect(status.feed?.lanes).toBe(3);
      expect(status.feed?.heldLanes).toEqual([0, 1, 2]);
      expect(await queryWarehouse(warehouse, sql)).toEqual([{ n: 300, changed: 5 }]);
      // a point between two batches of one loader: not with three lanes
      const verify = await runCli(['verify', '--warehouse', warehouse]);
      expect(verify.code, verify.stderr).toBe(2);
      expect(verify.stderr).toMatch(/needs a feed of one lane/);
    } finally {
      await stopBoth(source, loader);
    }
  });
});

describe('tributary verify through a loader of a one-lane feed', () => {
  const cluster = useCluster({
    binaries: newestBinaries(),
    setup: (c) => c.sql('CREATE TABLE accounts (id bigint PRIMARY KEY, balance numeric(12,2))'),
  });
  const nats = useNatsServer();

  it('pins the point in the loader and compares, while the source writes', async () => {
    const warehouse = join(mkdtempSync(join(tmpdir(), 'tributary-split-verify-')), 'w.duckdb');
    const common = ['--feed', nats().url, '--slot', 'one', '--publication', 'one'];
    const source = startCli(['source', '--source', cluster().url(), ...common]);
    await waitFor('the slot', () => /replication slot/.test(source.stderr()) || undefined, 60_000);
    const loader = startCli([
      'load',
      '--source',
      cluster().url(),
      '--warehouse',
      warehouse,
      '--batch-delay',
      '20ms',
      ...common,
    ]);
    const writer = setInterval(() => {
      cluster()
        .sql(
          `INSERT INTO accounts VALUES ((random() * 1e9)::bigint, 1.50) ON CONFLICT (id) DO UPDATE SET balance = accounts.balance + 1`,
        )
        .catch(() => {});
    }, 20);
    try {
      await cluster().sql('INSERT INTO accounts SELECT g, g / 100.0 FROM generate_series(1, 2000) g');
      await waitFor(
        'the rows',
        async () => {
          const rows = await queryWarehouse(warehouse, 'SELECT count(*)::INTEGER AS n FROM accounts').catch(
            () => [],
          );
          return Number((rows[0] as { n?: number } | undefined)?.n ?? 0) >= 2000 || undefined;
        },
        60_000,
      );
      const verify = await runCli(['verify', '--warehouse', warehouse, '--json']);
      expect(verify.code, `${verify.stdout}\n${verify.stderr}`).toBe(0);
      const report = JSON.parse(verify.stdout) as {
        ok: boolean;
        tables: { table: string; status: string }[];
      };
      expect(report.ok).toBe(true);
      expect(report.tables).toEqual([expect.objectContaining({ table: 'public.accounts', status: 'match' })]);
    } finally {
      clearInterval(writer);
      await stopBoth(source, loader);
    }
  });
});

/** SIGTERM to both halves: each applies or flushes what it holds and exits 0. */
async function stopBoth(source: RunningCli, loader: RunningCli): Promise<void> {
  source.child.kill('SIGTERM');
  loader.child.kill('SIGTERM');
  const [s, l] = [await source.exited, await loader.exited];
  expect(s.code, s.stderr).toBe(0);
  expect(l.code, l.stderr).toBe(0);
}
