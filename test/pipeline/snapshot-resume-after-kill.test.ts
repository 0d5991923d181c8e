/**
 * kill -9 of `tributary run` in the middle of its first snapshot, with a writer changing the
 * rows being copied: the restart reads only the chunks that were not done (the done ones keep
 * the snapshot they were read at), streams meanwhile, and ends with the warehouse equal to the
 * source. A table without a key, copied first, is complete before the kill.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { runArgs, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { expectRawZoneExact } from '../helpers/kill-run.js';
import { expectWarehouseEqualsSource, preloadSql, writeWhileCopying } from '../helpers/snapshot-workload.js';
import { jobsDoneByStatus, queryWarehouse, waitForWarehouse } from '../helpers/warehouse.js';

const ROWS = 60_000;

describe('kill -9 in the middle of the first snapshot', () => {
  const cluster = useCluster({ binaries: newestBinaries(), setup: (c) => c.sql(preloadSql(ROWS)) });

  it('resumes with the chunks not yet done and ends exact', { timeout: 300_000 }, async () => {
    const warehouse = join(mkdtempSync(join(tmpdir(), 'tributary-resume-')), 'w.duckdb');
    const args = runArgs(
      cluster().url(),
      warehouse,
      '--snapshot-chunk-rows',
      '4000',
      '--snapshot-workers',
      '1',
    );
    const writing = new AbortController();
    const writer = writeWhileCopying(cluster(), ROWS, writing.signal);
    writer.catch(() => {}); // awaited below
    const first = startCli(args, { TRIBUTARY_LOG_LEVEL: 'debug' });
    const chunksOfBig = () =>
      (first.stdout() + first.stderr()).match(/"table":"public\.big".*"msg":"chunk copied"/g) ?? [];
    await waitFor('some chunks of big', () => chunksOfBig().length >= 4 || undefined, 120_000);
    first.child.kill('SIGKILL');
    await first.exited;
    const doneBeforeKill = chunksOfBig().length;

    const second = startCli(args);
    try {
      await jobsDoneByStatus(warehouse, 2, 200_000).catch((error: unknown) => {
        throw new Error(
          `${(error as Error).message}; the restarted run said:\n${second.stderr().slice(-4000)}`,
        );
      });
      writing.abort();
      expect(await writer).toBeGreaterThan(10);
      await waitForWarehouse(cluster());
    } finally {
      writing.abort();
      second.child.kill('SIGTERM');
    }
    const stopped = await second.exited;
    expect(stopped.code, stopped.stderr).toBe(0);
    // the killed run's chunk files are gone: the restart cleared what a dead pid left
    expect(
      readdirSync(tmpdir()).filter((n) => n.startsWith(`tributary-snapshot-${first.child.pid}-`)),
    ).toEqual([]);
    expect(stopped.stderr).not.toMatch(/starting it over/);

    await expectWarehouseEqualsSource(cluster(), warehouse);
    // the raw zone too: the killed attempt's chunks and the resumed ones, each row once
    await expectRawZoneExact(warehouse, 'big');
    await expectRawZoneExact(warehouse, 'tags', true);

    // the chunks done before the kill were not read again: they keep the first snapshot's LSN
    const chunks = await queryWarehouse(
      warehouse,
      `SELECT c.snapshot_lsn::VARCHAR AS lsn, count(*)::INTEGER AS n FROM _tributary.snapshot_chunks c
         JOIN _tributary.snapshot_jobs j ON j.id = c.job_id WHERE j.table_name = 'big' AND c.done
        GROUP BY 1 ORDER BY 1`,
    );
    expect(chunks).toHaveLength(2);
    expect(chunks[0]?.n).toBeGreaterThanOrEqual(doneBeforeKill);
    const [job] = await queryWarehouse(
      warehouse,
      "SELECT attempt, rows_done::BIGINT AS rows FROM _tributary.snapshot_jobs WHERE table_name = 'big'",
    );
    expect(job?.attempt).toBe(2);
    // rows read in all: the table once, plus at most the chunk cut short by the kill
    expect(Number(job?.rows)).toBeLessThan(ROWS + 2 * 4000);
  });
});
