/**
 * kill -9 of `tributary run --warehouse chdb:…` in the middle of its first copy into ClickHouse,
 * with a writer changing the rows being copied: the restart reads the chunks not done (rows the
 * killed attempt wrote are outranked by the later copy's or the stream's versions), streams
 * meanwhile, and ends with the views equal to the source, no key twice, the keyless table a
 * multiset equal to the source's.
 *
 * KNOWN BUG (expected to fail until fixed; it.fails turns red when the fix lands — then make it
 * `it`): the rows whose TOASTed `doc` the writer left unchanged while the copy ran end with
 * `doc` NULL in ClickHouse (every 500th row, the ones with a doc), though `n` is right: a partial
 * update of a row not copied yet is written and parked (snapshot-store.ts), and something —
 * the park's resolution by the re-read, or the carry-forward of a later update from the partial
 * row — leaves the NULL standing. DuckDB passes the same scenario
 * (test/pipeline/snapshot-resume-after-kill). Not yet known whether the kill is needed.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newestBinaries } from '../harness/postgres.js';
import { useCluster } from '../harness/use-cluster.js';
import { runArgs, startCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/events.js';
import { preloadSql, writeWhileCopying } from '../helpers/snapshot-workload.js';
import { jobsDoneByStatus, queryWarehouse, waitForWarehouse } from '../helpers/warehouse.js';

const ROWS = 60_000;

describe('kill -9 in the middle of the first copy into ClickHouse', () => {
  const cluster = useCluster({ binaries: newestBinaries(), setup: (c) => c.sql(preloadSql(ROWS)) });

  it.fails('resumes and ends exact (known bug: unchanged TOAST values of rows updated during the copy end NULL)', {
    timeout: 300_000,
  }, async () => {
    const warehouse = `chdb://${mkdtempSync(join(tmpdir(), 'tributary-chdb-resume-'))}?database=w`;
    const args = [
      ...runArgs(cluster().url(), warehouse, '--snapshot-chunk-rows', '4000', '--snapshot-workers', '1'),
      '--no-http',
    ];
    const writing = new AbortController();
    const writer = writeWhileCopying(cluster(), ROWS, writing.signal);
    writer.catch(() => {}); // awaited below
    const first = startCli(args, { TRIBUTARY_LOG_LEVEL: 'debug' });
    const chunksOfBig = () =>
      (first.stdout() + first.stderr()).match(/"table":"public\.big".*"msg":"chunk copied"/g) ?? [];
    await waitFor('some chunks of big', () => chunksOfBig().length >= 3 || undefined, 180_000);
    first.child.kill('SIGKILL');
    await first.exited;

    const second = startCli(args);
    try {
      await jobsDoneByStatus(warehouse, 2, 240_000).catch((error: unknown) => {
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

    expect(
      await queryWarehouse(
        warehouse,
        "SELECT toString(id) AS id, n, pad, lower(hex(MD5(ifNull(doc, '')))) AS doc FROM big ORDER BY big.id",
      ),
    ).toEqual(
      await cluster().sql(
        "SELECT id::text AS id, n, pad, md5(coalesce(doc, '')) AS doc FROM big ORDER BY big.id",
      ),
    );
    expect(
      await queryWarehouse(
        warehouse,
        'SELECT label, weight, toInt32(count()) AS n FROM tags GROUP BY 1, 2 ORDER BY 1, 2',
      ),
    ).toEqual(
      await cluster().sql('SELECT label, weight, count(*)::int AS n FROM tags GROUP BY 1, 2 ORDER BY 1, 2'),
    );
    const [counts] = await queryWarehouse(warehouse, 'SELECT count() AS n, uniqExact(id) AS d FROM big');
    expect(counts?.n).toBe(counts?.d);
  });
});
