/**
 * The long suite's snapshot kill loop: `tributary run` on tables that already hold rows, killed
 * with SIGKILL 20 times at random moments while a writer changes the rows being copied — in the
 * first snapshot, in the resumed one, and in backfills asked for between kills. At the end every
 * job is done and the warehouse equals the source, with no duplicate keys.
 */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EACH_MAJOR, useCluster } from '../harness/use-cluster.js';
import { runCli, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { expectRawZoneExact } from '../helpers/kill-run.js';
import { expectWarehouseEqualsSource, preloadSql, writeWhileCopying } from '../helpers/snapshot-workload.js';
import { jobsDoneByStatus, waitForWarehouse } from '../helpers/warehouse.js';

const ROWS = 200_000;
const ROUNDS = 20;

describe.each(EACH_MAJOR)('kill -9 during snapshots and backfills, 20 times (%s)', (_label, binaries) => {
  const cluster = useCluster({ binaries, setup: (c) => c.sql(preloadSql(ROWS)) });

  it('ends with every job done and warehouse = source', { timeout: 1_200_000 }, async () => {
    const warehouse = join(mkdtempSync(join(tmpdir(), 'tributary-snapkill-')), 'w.duckdb');
    const args = ['run', '--source', cluster().url(), '--warehouse', warehouse, '--batch-delay', '20ms'];
    args.push('--snapshot-chunk-rows', '5000');
    const writing = new AbortController();
    const writer = writeWhileCopying(cluster(), ROWS, writing.signal);
    writer.catch(() => {}); // awaited below
    let seed = 17;
    const random = () => {
      seed = (seed * 48_271) % 2_147_483_647;
      return seed / 2_147_483_647;
    };
    let current = startCli(args);
    let backfills = 0;
    for (let round = 0; round < ROUNDS; round++) {
      await waitFor(
        'the run to start',
        () => /replication slot/.test(current.stderr()) || undefined,
        120_000,
      );
      if (round % 4 === 3) {
        // a backfill of part of the table, to be killed too
        const from = Math.floor(random() * ROWS);
        const asked = await runCli([
          'backfill',
          'public.big',
          '--warehouse',
          warehouse,
          '--where',
          `id BETWEEN ${from} AND ${from + 20_000}`,
        ]);
        if (asked.code === 0) backfills++;
      }
      await new Promise((r) => setTimeout(r, 500 + random() * 2500));
      current.child.kill('SIGKILL');
      await current.exited;
      current = startCli(args);
    }
    try {
      await jobsDoneByStatus(warehouse, 2, 600_000);
      writing.abort();
      expect(await writer).toBeGreaterThan(100);
      await waitForWarehouse(cluster());
    } finally {
      writing.abort();
      current.child.kill('SIGTERM');
    }
    const stopped = await current.exited;
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(backfills).toBeGreaterThan(0);
    await expectWarehouseEqualsSource(cluster(), warehouse);
    await expectRawZoneExact(warehouse, 'big');
    await expectRawZoneExact(warehouse, 'tags', true);
  });
});
