/**
 * `tributary run` with `alerts: { walRetainedBytes }`: a transaction left open on the source
 * pins the slot's restart_lsn, so the WAL written after it piles up on the server — one
 * `wal_retained` alert, and once the transaction ends and the slot moves on, one recovery.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { waitForWarehouse } from '../helpers/warehouse.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const THRESHOLD = 256 * 1024;

describe('the wal_retained alert of tributary run', () => {
  const cluster = useCluster({
    binaries: newestBinaries(),
    setup: (c) => c.sql('CREATE TABLE notes (id bigint PRIMARY KEY, body text NOT NULL)'),
  });
  let receiver: WebhookReceiver | null = null;
  afterAll(() => receiver?.close());

  it('opens while an open transaction holds WAL back, and recovers once it ends', async () => {
    receiver = await startWebhookReceiver('/hook');
    const { posts } = receiver;
    const dir = mkdtempSync(join(tmpdir(), 'tributary-wal-alert-'));
    const warehouse = join(dir, 'w.duckdb');
    const config = join(dir, 'tributary.yml');
    writeFileSync(config, `alerts: { webhook: '${receiver.url}', walRetainedBytes: 256kB, checks: false }\n`);
    const run = startCli(['run', '--source', cluster().url(), '--warehouse', warehouse, '--config', config]);
    const held = await cluster().connect();
    try {
      await waitFor('the slot', () => /replication slot/.test(run.stderr()) || undefined);
      await cluster().sql(`INSERT INTO notes VALUES (0, 'first')`);
      await waitForWarehouse(cluster(), { warehouse });
      expect(posts).toEqual([]);

      await held.query('BEGIN');
      await held.query(`INSERT INTO notes VALUES (-1, 'held open')`);
      // well over the threshold of WAL, committed after the open transaction began
      await cluster().sql(
        `INSERT INTO notes SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 4000) g`,
      );
      await waitForWarehouse(cluster());
      await waitFor('the alert', () => posts.length > 0 || undefined);
      expect(posts[0]).toMatchObject({ kind: 'alert', alert: 'wal_retained', threshold: THRESHOLD });
      expect(posts[0]?.value).toBeGreaterThan(THRESHOLD);

      await held.query('ROLLBACK');
      // the slot's restart_lsn moves at a running-transactions record the loader then confirms
      await waitFor(
        'the recovery',
        async () => {
          if (posts.length > 1) return true;
          await cluster().sql('CHECKPOINT');
          await cluster().sql(`UPDATE notes SET body = 'touched' WHERE id = 0`);
          await new Promise((resolve) => setTimeout(resolve, 1_000));
          return undefined;
        },
        90_000,
      );
      expect(posts).toHaveLength(2);
      expect(posts[1]).toMatchObject({ kind: 'recovered', alert: 'wal_retained', threshold: THRESHOLD });
      expect(posts[1]?.value).toBeLessThanOrEqual(THRESHOLD);
    } finally {
      await held.end();
      run.child.kill('SIGTERM');
    }
    const exited = await run.exited;
    expect(exited.code, exited.stderr).toBe(0);
    expect(exited.stderr).toMatch(/"alert":"wal_retained".*alert: the server keeps/);
  });
});
