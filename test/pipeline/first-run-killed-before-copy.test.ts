/**
 * A first run killed after it created its slot but before any job's first attempt began (the
 * window in which it has not yet learnt which tables lack a key): the restart must not go on
 * with the copy online, which a table without a key cannot take ("can only be copied at the
 * first start"), but start the first run over. The state is set up as the kill leaves it: the
 * slot exists (no exported snapshot on restart), no checkpoint, and the warehouse holds the jobs,
 * pending, attempt 0 (found by the long kill loop, test/long/kill-snapshot-loop.test.ts) — or no
 * job at all (killed between creating the slot and recording the jobs).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDBWarehouse } from '../../src/warehouse/duckdb/duckdb-warehouse.js';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { runArgs, startCli } from '../helpers/cli.js';
import { jobsDoneByStatus, queryWarehouse } from '../helpers/warehouse.js';

describe.each([
  { when: 'after recording its jobs', jobs: true },
  { when: 'before recording its jobs', jobs: false },
])('a first run killed before its copy began, $when', ({ jobs }) => {
  const cluster = useCluster({
    binaries: newestBinaries(),
    setup: async (c) => {
      await c.sql('CREATE TABLE bag (v integer NOT NULL, note text)');
      await c.sql('ALTER TABLE bag REPLICA IDENTITY FULL');
      await c.sql("INSERT INTO bag SELECT g % 7, 'n' || (g % 3) FROM generate_series(1, 500) g");
      await c.sql('CREATE TABLE keyed (id bigint PRIMARY KEY, note text)');
      await c.sql("INSERT INTO keyed SELECT g, 'k' || g FROM generate_series(1, 300) g");
      await c.sql('CREATE PUBLICATION tributary FOR TABLE bag, keyed');
      await c.sql("SELECT pg_create_logical_replication_slot('tributary', 'pgoutput')");
    },
  });

  it('starts the first run over and copies the table without a key exactly', {
    timeout: 180_000,
  }, async () => {
    const warehouse = join(mkdtempSync(join(tmpdir(), 'tributary-firstkill-')), 'w.duckdb');
    const wh = await DuckDBWarehouse.open(warehouse);
    if (jobs)
      for (const name of ['bag', 'keyed'])
        await wh.createSnapshotJob({
          table: { schema: 'public', name },
          predicate: null,
          reason: 'initial',
          keyless: false,
        });
    await wh.close();

    const run = startCli(runArgs(cluster().url(), warehouse));
    try {
      await jobsDoneByStatus(warehouse, 2, 120_000).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}; run said:\n${run.stderr().slice(-3000)}`);
      });
      await cluster().sql("INSERT INTO bag VALUES (1, 'after')");
      const bag = 'SELECT v, note, count(*)::INTEGER AS n FROM bag GROUP BY v, note ORDER BY v, note';
      const expected = await cluster().sql<Record<string, unknown>>(
        'SELECT v, note, count(*)::int AS n FROM bag GROUP BY v, note ORDER BY v, note',
      );
      await expect
        .poll(async () => JSON.stringify(await queryWarehouse(warehouse, bag)), { timeout: 60_000 })
        .toBe(JSON.stringify(expected));
      expect(await queryWarehouse(warehouse, 'SELECT count(*)::INTEGER AS n FROM keyed')).toEqual([
        { n: 300 },
      ]);
      expect(run.stderr()).toMatch(/starting it over/);
    } finally {
      run.child.kill('SIGTERM');
      const stopped = await run.exited;
      expect(stopped.code, stopped.stderr).toBe(0);
    }
  });
});
