/**
 * `tributary backfill` as a user types it: sent to the running `run`, which checks the table and
 * the predicate (exit 2 with a message when they are wrong), and followed to the end with
 * `--wait`; with nothing running, queued for the next `run`, which carries it out.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findRunning, remoteBackfill } from '../../src/server/control-client.js';
import type { ControlFile } from '../../src/server/control-server.js';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { runCli, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { queryWarehouse } from '../helpers/warehouse.js';

describe('tributary backfill', () => {
  const cluster = useCluster({
    binaries: newestBinaries(),
    setup: (c) =>
      c.sql(`CREATE TABLE orders (id bigint PRIMARY KEY, country text, total numeric(12,2));
             INSERT INTO orders SELECT i, CASE WHEN i % 2 = 0 THEN 'US' ELSE 'CA' END, i FROM generate_series(1, 500) AS i;`),
  });

  it('re-reads what --where selects through the running process, and refuses bad requests', async () => {
    const warehouse = join(mkdtempSync(join(tmpdir(), 'tributary-bfcli-')), 'w.duckdb');
    const run = startCli(['run', '--source', cluster().url(), '--warehouse', warehouse]);
    try {
      await waitFor('the stream', () => /"msg":"table copied"/.test(run.stderr()) || undefined, 60_000);
      await waitFor('the control endpoint', async () => {
        const status = await runCli(['status', '--json', '--warehouse', warehouse]);
        return (
          (status.code === 0 && (JSON.parse(status.stdout) as { running: boolean }).running) || undefined
        );
      });
      const done = await runCli([
        'backfill',
        'public.orders',
        '--where',
        "country = 'US'",
        '--reason',
        'audit',
        '--wait',
        '--warehouse',
        warehouse,
      ]);
      expect(done.code, done.stderr).toBe(0);
      expect(done.stdout).toMatch(/^backfill \w+ of public\.orders done: 250 rows read$/m);

      const badPredicate = await runCli([
        'backfill',
        'orders',
        '--where',
        'nope > 1',
        '--warehouse',
        warehouse,
      ]);
      expect(badPredicate.code).toBe(2);
      expect(badPredicate.stderr).toMatch(/predicate does not work on public\.orders.*nope/);
      // a --where that would run statements of its own (it dropped the table) or widen the query
      for (const hostile of [
        '1=1); DROP TABLE orders; --',
        '1=1; DROP TABLE orders',
        "country = E'\\'' ; DROP TABLE orders; SELECT '",
        'true) UNION (SELECT 1, 2, 3',
      ]) {
        const refused = await runCli(['backfill', 'orders', '--where', hostile, '--warehouse', warehouse]);
        expect(refused.code, hostile).toBe(2);
        expect(refused.stderr).toMatch(/--where is refused/);
        // the running process refuses it too, whoever asks
        const control = findRunning(warehouse);
        expect(control).not.toBeNull();
        await expect(
          remoteBackfill(control as ControlFile, {
            table: 'public.orders',
            predicate: hostile,
            reason: null,
          }),
        ).rejects.toThrow(/predicate .* is refused/);
      }
      const [{ n }] = (await cluster().sql<{ n: string }>('SELECT count(*)::text AS n FROM orders')) as [
        { n: string },
      ];
      expect(n).toBe('500');
      const unknown = await runCli(['backfill', 'public.missing', '--warehouse', warehouse]);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toMatch(/public\.missing is not replicated by this pipeline/);

      // a predicate that plans but fails while reading: the job fails, the run goes on
      const failing = await runCli([
        'backfill',
        'public.orders',
        '--where',
        '1 / (id - 7) > 0',
        '--wait',
        '--warehouse',
        warehouse,
      ]);
      expect(failing.code).toBe(1);
      expect(failing.stderr).toMatch(/failed: .*division by zero/);
      expect(run.child.exitCode).toBeNull();

      const status = await runCli(['status', '--warehouse', warehouse]);
      expect(status.stdout).toMatch(
        /public\.orders where country = 'US'\s+done \(audit\)\s+250 of ~\d+ rows|public\.orders where country = 'US'\s+done \(audit\)\s+250 rows/,
      );
    } finally {
      run.child.kill('SIGTERM');
    }
    expect((await run.exited).code).toBe(0);

    // nothing running: queued, and the next run carries it out
    const queued = await runCli(['backfill', 'public.orders', '--warehouse', warehouse]);
    expect(queued.code, queued.stderr).toBe(0);
    expect(queued.stdout).toMatch(/queued; it runs when tributary run starts/);
    const again = startCli(['run', '--source', cluster().url(), '--warehouse', warehouse]);
    try {
      await waitFor(
        'the queued backfill',
        () => /"msg":"table copied \(backfill\)"|"msg":"table copied"/.test(again.stderr()) || undefined,
        60_000,
      );
    } finally {
      again.child.kill('SIGTERM');
    }
    expect((await again.exited).code).toBe(0);
    const jobs = await queryWarehouse(
      warehouse,
      'SELECT reason, state, rows_done::INTEGER AS rows FROM _tributary.snapshot_jobs ORDER BY requested_at',
    );
    expect(jobs).toEqual([
      { reason: 'initial', state: 'done', rows: 500 },
      { reason: 'audit', state: 'done', rows: 250 },
      { reason: 'backfill', state: 'failed', rows: 0 },
      { reason: 'backfill', state: 'done', rows: 500 },
    ]);
  });
});
