/**
 * The source server restarts while `tributary run` is in its first copy (its exported snapshot
 * dies with the server): run must not exit. It connects again, finds its slot and its jobs (the
 * table without a key done, the keyed one part way), resumes the keyed table online with the
 * chunks not yet done, streams what was written meanwhile, and ends with the warehouse equal to
 * the source, each change once in the raw zone.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { runArgs, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { expectRawZoneExact } from '../helpers/kill-run.js';
import { expectWarehouseEqualsSource, preloadSql, writeWhileCopying } from '../helpers/snapshot-workload.js';
import { waitForWarehouse } from '../helpers/warehouse.js';

const ROWS = 60_000;

describe('a server restart during the first copy', () => {
  const cluster = useCluster({ binaries: newestBinaries(), setup: (c) => c.sql(preloadSql(ROWS)) });

  it('does not stop run: the copy resumes and ends exact', { timeout: 300_000 }, async () => {
    const warehouse = join(mkdtempSync(join(tmpdir(), 'tributary-restart-copy-')), 'w.duckdb');
    const run = startCli(
      runArgs(cluster().url(), warehouse, '--snapshot-chunk-rows', '2000', '--snapshot-workers', '1'),
      { TRIBUTARY_LOG_LEVEL: 'debug' },
    );
    try {
      const before = new AbortController();
      const writing = writeWhileCopying(cluster(), ROWS, before.signal).catch(() => -1);
      const chunksOfBig = () => run.stderr().match(/"table":"public\.big".*"msg":"chunk copied"/g) ?? [];
      await waitFor('some chunks of big', () => chunksOfBig().length >= 3 || undefined, 120_000);
      expect(chunksOfBig().length, 'the copy ended before the restart').toBeLessThan(ROWS / 2000);
      await cluster().restart('fast');
      before.abort();
      await writing;
      expect(run.child.exitCode, run.stderr().slice(-3000)).toBeNull();

      const after = new AbortController();
      const written = writeWhileCopying(cluster(), ROWS, after.signal);
      await new Promise((r) => setTimeout(r, 1500));
      after.abort();
      expect(await written).toBeGreaterThan(0);
      await waitForWarehouse(cluster(), { warehouse, timeoutMs: 200_000 }).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}; run said:\n${run.stderr().slice(-4000)}`);
      });
      expect(run.child.exitCode, run.stderr().slice(-3000)).toBeNull();
    } finally {
      run.child.kill('SIGTERM');
    }
    const stopped = await run.exited;
    expect(stopped.code, stopped.stderr.slice(-3000)).toBe(0);
    expect(stopped.stderr).toMatch(/source connection lost/);
    await expectWarehouseEqualsSource(cluster(), warehouse);
    await expectRawZoneExact(warehouse, 'big');
  });
});
